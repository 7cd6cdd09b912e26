// The service account controller (upstream pkg/controller/serviceaccount): every active namespace
// has the service accounts in `SERVICE_ACCOUNTS` (just `default`), recreated when deleted.
//
// Keys are namespace names. A namespace that is not Active (Terminating) gets nothing created; a
// create refused because the namespace is going away is not retried.
import type { KObject } from '../../api/meta.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { ItemExponentialFailureRateLimiter } from '../../client/workqueue.ts';
import { runWorkers, type Controller } from '../controller.ts';
import { isAlreadyExists, isNamespaceGoneOrTerminating } from '../cluster/errors.ts';

export const SERVICE_ACCOUNTS = ['default'];

export const serviceAccountController: Controller = {
  name: 'serviceaccount',
  setup(ctx) {
    const namespaces = ctx.informers.informerFor('', 'namespaces');
    const accounts = ctx.informers.informerFor('', 'serviceaccounts');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'serviceaccount', rateLimiter: new ItemExponentialFailureRateLimiter(5, 300_000) });
    accounts.addEventHandler({
      onDelete: (sa) => {
        if (SERVICE_ACCOUNTS.includes(sa.metadata.name!)) queue.add(sa.metadata.namespace!);
      },
    });
    namespaces.addEventHandler({
      onAdd: (ns) => queue.add(ns.metadata.name!),
      onUpdate: (_old, ns) => queue.add(ns.metadata.name!),
    });
    const client = ctx.client.resource('', 'serviceaccounts');

    const sync = async (name: string): Promise<void> => {
      const ns = namespaces.lister().get(name);
      if (!ns) return;
      if ((ns.status as { phase?: string } | undefined)?.phase !== 'Active') return;
      const lister = accounts.lister().namespace(name);
      for (const sa of SERVICE_ACCOUNTS) {
        if (lister.get(sa)) continue;
        const obj: KObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: name } };
        try {
          await client.namespace(name).create(obj);
        } catch (e) {
          if (isAlreadyExists(e) || isNamespaceGoneOrTerminating(e)) continue;
          throw e;
        }
      }
    };
    return { run: (signal) => runWorkers(queue, 1, sync, signal, ctx.log, 'serviceaccount') };
  },
};

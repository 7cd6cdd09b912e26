// The root CA publisher (upstream pkg/controller/certificates/rootcacertpublisher): a ConfigMap
// `kube-root-ca.crt` in every namespace whose `ca.crt` is the cluster CA bundle
// (config.rootCaCert), so pods can verify the API server. Edits and deletions are undone.
//
// Keys are namespace names. Terminating namespaces are left alone (creates there are refused).
import type { KObject } from '../../api/meta.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, type Controller } from '../controller.ts';
import { isAlreadyExists, isNamespaceGoneOrTerminating, isNotFound } from '../cluster/errors.ts';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. ' +
  'No other usage is guaranteed across distributions of Kubernetes clusters.';

/** The ConfigMap's wanted contents; answers undefined when `cur` already has them. */
export function desiredRootCAConfigMap(namespace: string, caBundle: string, cur: KObject | undefined): KObject | undefined {
  const data = { 'ca.crt': caBundle };
  if (!cur) {
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } }, data };
  }
  const curData = (cur.data ?? {}) as Record<string, string>;
  const same = Object.keys(curData).length === 1 && curData['ca.crt'] === caBundle;
  if (same && cur.metadata.annotations?.[DESCRIPTION_ANNOTATION]) return undefined;
  const next = structuredClone(cur) as KObject;
  next.data = data;
  next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [DESCRIPTION_ANNOTATION]: DESCRIPTION };
  return next;
}

export const rootCACertPublisher: Controller = {
  name: 'root-ca-cert-publisher',
  setup(ctx) {
    const namespaces = ctx.informers.informerFor('', 'namespaces');
    const configmaps = ctx.informers.informerFor('', 'configmaps');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'root_ca_cert_publisher' });
    configmaps.addEventHandler({
      onUpdate: (_old, cm) => {
        if (cm.metadata.name === ROOT_CA_CONFIGMAP) queue.add(cm.metadata.namespace!);
      },
      onDelete: (cm) => {
        if (cm.metadata.name === ROOT_CA_CONFIGMAP) queue.add(cm.metadata.namespace!);
      },
    });
    namespaces.addEventHandler({
      onAdd: (ns) => queue.add(ns.metadata.name!),
      onUpdate: (_old, ns) => {
        if ((ns.status as { phase?: string } | undefined)?.phase === 'Active') queue.add(ns.metadata.name!);
      },
    });
    const client = ctx.client.resource('', 'configmaps');

    const sync = async (name: string): Promise<void> => {
      const ns = namespaces.lister().get(name);
      if (!ns || ns.metadata.deletionTimestamp) return;
      const cur = configmaps.lister().namespace(name).get(ROOT_CA_CONFIGMAP);
      const want = desiredRootCAConfigMap(name, ctx.config.rootCaCert, cur);
      if (!want) return;
      try {
        if (cur) await client.namespace(name).update(want);
        else await client.namespace(name).create(want);
      } catch (e) {
        if (!cur && (isAlreadyExists(e) || isNamespaceGoneOrTerminating(e))) return;
        if (cur && isNotFound(e)) {
          queue.add(name);
          return;
        }
        throw e;
      }
    };
    return { run: (signal) => runWorkers(queue, 1, sync, signal, ctx.log, 'root-ca-cert-publisher') };
  },
};

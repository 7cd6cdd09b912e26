// Garbage collection of joining credentials, as upstream:
//
// - "tokencleaner" (pkg/controller/bootstrap/tokencleaner.go): a bootstrap token Secret in
//   kube-system is deleted once its expiration has passed (with the Secret's uid as precondition,
//   so a token re-created under the same name survives), and looked at again when it will expire.
// - "csrcleaner" (pkg/controller/certificates/cleaner): every hour, CertificateSigningRequests are
//   deleted when issued and approved more than an hour ago, denied more than an hour ago, pending
//   for more than a day, or whose certificate has expired.
import { X509Certificate } from 'node:crypto';
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  bootstrapTokenExpiry,
} from '../../api/bootstrap-token.ts';
import type { KObject } from '../../api/meta.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { isConflict, isNotFound } from '../cluster/errors.ts';
import { runWorkers, splitKey, keyOf, type Controller } from '../controller.ts';
import { CSR_GROUP, CSR_PLURAL, type Csr } from './csr.ts';

interface SecretLike extends KObject {
  type?: string;
  data?: Record<string, string>;
}

export const tokenCleanerController: Controller = {
  name: 'tokencleaner',
  setup(ctx) {
    const secrets = ctx.informers.informerFor<SecretLike>('', 'secrets');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'token_cleaner' });
    const enqueue = (s: SecretLike) => {
      if (s.metadata.namespace === BOOTSTRAP_TOKEN_NAMESPACE && s.type === BOOTSTRAP_TOKEN_SECRET_TYPE) queue.add(keyOf(s));
    };
    secrets.addEventHandler({ onAdd: enqueue, onUpdate: (_o, s) => enqueue(s) });
    const client = ctx.client.resource<SecretLike>('', 'secrets').namespace(BOOTSTRAP_TOKEN_NAMESPACE);

    const sync = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const s = secrets.lister().namespace(namespace).get(name);
      if (!s || s.metadata.deletionTimestamp || s.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) return;
      const expiry = bootstrapTokenExpiry(s);
      if (expiry === undefined) return;
      const left = expiry - ctx.clock.now();
      if (!Number.isNaN(expiry) && left > 0) {
        queue.addAfter(key, left);
        return;
      }
      ctx.log(`tokencleaner: deleting expired secret ${key}`);
      try {
        await client.delete(name, { preconditions: { uid: s.metadata.uid } });
      } catch (e) {
        if (isNotFound(e) || isConflict(e)) return;
        throw e;
      }
    };
    return { run: (signal) => runWorkers(queue, 1, sync, signal, ctx.log, 'tokencleaner') };
  },
};

const HOUR = 3600_000;
export const CSR_CLEANER_POLL_MS = HOUR;

const olderThan = (t: string | null | undefined, ms: number, now: number) => !!t && now - Date.parse(t) > ms;

/** Why upstream's cleaner deletes this request now, or undefined. */
export function csrCleanupReason(csr: Csr, now: number): string | undefined {
  const conds = csr.status?.conditions ?? [];
  const issued = !!csr.status?.certificate;
  if (issued && conds.some((c) => c.type === 'Approved')) {
    try {
      const pem = Buffer.from(csr.status!.certificate!, 'base64').toString('utf8');
      if (Date.parse(new X509Certificate(pem).validTo) < now) return 'the associated certificate is expired';
    } catch {
      // not a certificate: the other rules decide
    }
  }
  if (issued && conds.some((c) => c.type === 'Approved' && olderThan(c.lastUpdateTime, HOUR, now))) return 'it is more than 1h0m0s old and approved';
  if (conds.some((c) => c.type === 'Denied' && olderThan(c.lastUpdateTime, HOUR, now))) return 'it is more than 1h0m0s old and denied';
  if (conds.length === 0 && olderThan(csr.metadata.creationTimestamp, 24 * HOUR, now)) return 'it is more than 24h0m0s old and unhandled';
  return undefined;
}

export const csrCleanerController: Controller = {
  name: 'csrcleaner',
  setup(ctx) {
    const csrs = ctx.informers.informerFor<Csr>(CSR_GROUP, CSR_PLURAL);
    const client = ctx.client.resource<Csr>(CSR_GROUP, CSR_PLURAL);
    const sweep = async () => {
      for (const csr of csrs.lister().list()) {
        const why = csrCleanupReason(csr, ctx.clock.now());
        if (!why) continue;
        ctx.log(`csrcleaner: cleaning CSR "${csr.metadata.name}" as ${why}`);
        await client.delete(csr.metadata.name!).catch((e) => {
          if (!isNotFound(e)) ctx.log(`csrcleaner: unable to delete CSR "${csr.metadata.name}": ${(e as Error).message}`);
        });
      }
    };
    return {
      async run(signal) {
        while (!signal.aborted) {
          await sweep();
          await ctx.clock.after(CSR_CLEANER_POLL_MS, signal).catch(() => undefined);
        }
      },
    };
  },
};

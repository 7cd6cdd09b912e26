// The kubelet's view of the pods bound to its node: the API's pods without metadata.managedFields.
// The kubelet never reads them (it writes status by patch, and server-side apply's bookkeeping is
// the API server's), yet they are the largest part of a parsed pod: one object per field set by
// each manager, ~70 objects for a one-container pod. A node's informer, and a hollow node's in
// `rudder sim` times 30,000 pods, keeps one copy of every pod (BENCHMARKS.md, "Kubelet and agent").
import type { KObject, WatchEvent } from '../api/meta.ts';
import type { Client } from '../client/client.ts';
import type { Clock } from '../client/clock.ts';
import { SharedInformer, type ListerWatcher } from '../client/informer.ts';

/** The object without metadata.managedFields: a shallow copy when it has them (objects are read-only, maybe shared). */
export function withoutManagedFields<T extends KObject>(obj: T): T {
  const md = obj?.metadata as (KObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (!md || md.managedFields === undefined) return obj;
  const { managedFields: _drop, ...rest } = md;
  return { ...obj, metadata: rest };
}

/** A lister-watcher whose lists and watch events carry objects without managedFields. */
export function stripManagedFields<T extends KObject>(lw: ListerWatcher<T>): ListerWatcher<T> {
  return {
    async list(opts) {
      const l = await lw.list(opts);
      return { ...l, items: l.items.map(withoutManagedFields) };
    },
    watch(opts, cb) {
      return lw.watch(opts, {
        onEvent: (ev) => cb.onEvent(ev.type === 'ERROR' || ev.type === 'BOOKMARK' ? ev : ({ ...ev, object: withoutManagedFields(ev.object) } as WatchEvent<T>)),
        onClose: (err) => cb.onClose(err),
      });
    },
  };
}

/** The informer of the pods bound to `nodeName` (field selector spec.nodeName), managedFields left out. */
export function nodePodInformer<T extends KObject>(client: Client, nodeName: string, o: { clock?: Clock; log?: (msg: string) => void }): SharedInformer<T> {
  return new SharedInformer<T>(stripManagedFields(client.resource<T>('', 'pods')), { clock: o.clock, log: o.log, fieldSelector: `spec.nodeName=${nodeName}`, name: 'pods' });
}

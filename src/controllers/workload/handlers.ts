// Mapping a dependent's informer events (a pod, a ControllerRevision, a Job) to the keys of the
// controllers that care: the one its controller reference names (same kind, same uid), or, for
// an orphan, every controller in its namespace whose selector matches it (to consider adoption).
import { labelSelectorAsSelector, matchesLabels } from '../../api/labels.ts';
import type { KObject, OwnerReference } from '../../api/meta.ts';
import type { EventHandler } from '../../client/informer.ts';
import type { Lister } from '../../client/store.ts';
import { keyOf } from '../controller.ts';
import { controllerOf, type Json } from './pods.ts';

export interface DependentHandlerOptions<O extends KObject> {
  /** The owner kind ("StatefulSet", …); references to other kinds are not ours. */
  kind: string;
  owners: Lister<O>;
  enqueue(ownerKey: string, owner: O): void;
  /** Called for a dependent the named owner controls, on add (observed=add) and delete. */
  observed?(what: 'add' | 'delete', ownerKey: string, obj: KObject): void;
  /** Orphans are offered to matching owners only if this holds (default: always). */
  considerOrphans?: boolean;
}

export function resolveOwner<O extends KObject>(owners: Lister<O>, kind: string, namespace: string | undefined, ref: OwnerReference | undefined): O | undefined {
  if (!ref || ref.kind !== kind) return undefined;
  const o = owners.namespace(namespace ?? '').get(ref.name);
  return o && o.metadata.uid === ref.uid ? o : undefined;
}

function selecting<O extends KObject>(owners: Lister<O>, obj: KObject): O[] {
  const out: O[] = [];
  for (const o of owners.namespace(obj.metadata.namespace ?? '').list()) {
    const sel = (o as Json).spec?.selector;
    if (!sel) continue;
    try {
      const s = labelSelectorAsSelector(sel);
      if (s.requirements.length === 0 && !s.nothing) continue; // an empty selector adopts nothing
      if (matchesLabels(s, obj.metadata.labels)) out.push(o);
    } catch {
      /* an invalid selector selects nothing */
    }
  }
  return out;
}

export function dependentHandler<O extends KObject>(o: DependentHandlerOptions<O>): EventHandler<KObject> {
  const considerOrphans = o.considerOrphans ?? true;
  const owned = (obj: KObject, ref: OwnerReference | undefined) => resolveOwner(o.owners, o.kind, obj.metadata.namespace, ref);
  return {
    onAdd(obj) {
      const ref = controllerOf(obj);
      if (ref) {
        const owner = owned(obj, ref);
        if (!owner) return;
        const key = keyOf(owner);
        o.observed?.(obj.metadata.deletionTimestamp ? 'delete' : 'add', key, obj);
        o.enqueue(key, owner);
        return;
      }
      if (considerOrphans) for (const owner of selecting(o.owners, obj)) o.enqueue(keyOf(owner), owner);
    },
    onUpdate(oldObj, obj) {
      if (oldObj.metadata.resourceVersion === obj.metadata.resourceVersion) return;
      const ref = controllerOf(obj);
      const oldRef = controllerOf(oldObj);
      const refChanged = ref?.uid !== oldRef?.uid;
      if (refChanged && oldRef) {
        const oldOwner = owned(oldObj, oldRef);
        if (oldOwner) o.enqueue(keyOf(oldOwner), oldOwner);
      }
      if (ref) {
        const owner = owned(obj, ref);
        if (!owner) return;
        const key = keyOf(owner);
        if (obj.metadata.deletionTimestamp && !oldObj.metadata.deletionTimestamp) o.observed?.('delete', key, obj);
        o.enqueue(key, owner);
        return;
      }
      const labelsChanged = JSON.stringify(oldObj.metadata.labels ?? {}) !== JSON.stringify(obj.metadata.labels ?? {});
      if (considerOrphans && (labelsChanged || refChanged)) for (const owner of selecting(o.owners, obj)) o.enqueue(keyOf(owner), owner);
    },
    onDelete(obj) {
      const owner = owned(obj, controllerOf(obj));
      if (!owner) return;
      const key = keyOf(owner);
      // Counting a deletion twice (at its deletionTimestamp and at its removal) only satisfies
      // expectations early; missing one would stall the owner, so both count.
      o.observed?.('delete', key, obj);
      o.enqueue(key, owner);
    },
  };
}

// Ownership of dependents, as upstream's ControllerRefManager: a controller claims the objects
// it controls, adopts orphans its selector matches, and releases objects it controls that its
// selector no longer matches. Adoption and release are strategic merge patches of
// metadata.ownerReferences guarded by the dependent's uid, so a recreated object is never
// adopted by mistake.
import { StatusError } from '../../api/errors.ts';
import { matchesLabels, type Selector } from '../../api/labels.ts';
import type { KObject, OwnerReference } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import { controllerOf } from './pods.ts';

export interface ClaimOptions<T extends KObject> {
  owner: KObject;
  ownerRef: OwnerReference;
  selector: Selector;
  /** Writes go through this client (namespaced to the owner's namespace). */
  client: ResourceClient<T>;
  /** Extra condition for adoption (e.g. a StatefulSet adopts only pods named for it). */
  canClaim?: (obj: T) => boolean;
  /**
   * Rechecks, once per claim, that the owner still exists with the same uid and is not being
   * deleted (upstream's RecheckDeletionTimestamp through an uncached read).
   */
  recheckOwner: () => Promise<void>;
  /** Finalizers added along with the owner reference on adoption (Job's tracking finalizer). */
  adoptFinalizers?: string[];
}

/**
 * The objects `owner` controls after adopting and releasing. Objects whose patch fails with
 * NotFound are skipped; other errors are collected and the first is thrown after the pass (the
 * objects claimed so far are still returned through `claimed` for the caller's status).
 */
export async function claimObjects<T extends KObject>(objects: readonly T[], o: ClaimOptions<T>): Promise<T[]> {
  const claimed: T[] = [];
  const errors: unknown[] = [];
  let ownerChecked: Promise<void> | undefined;
  const uid = o.owner.metadata.uid;
  const ownerDeleting = !!o.owner.metadata.deletionTimestamp;
  for (const obj of objects) {
    const ref = controllerOf(obj);
    const matches = matchesLabels(o.selector, obj.metadata.labels) && (o.canClaim?.(obj) ?? true);
    if (ref) {
      if (ref.uid !== uid) continue;
      if (matches) {
        claimed.push(obj);
        continue;
      }
      // ours but no longer selected: release, unless the owner itself is going away
      if (ownerDeleting) continue;
      try {
        await o.client.patch(obj.metadata.name!, 'strategic', {
          metadata: { ownerReferences: [{ $patch: 'delete', uid }], uid: obj.metadata.uid },
        });
      } catch (e) {
        if (!(e instanceof StatusError && (e.code === 404 || e.code === 422))) errors.push(e);
      }
      continue;
    }
    if (!matches || ownerDeleting || obj.metadata.deletionTimestamp) continue;
    try {
      ownerChecked ??= o.recheckOwner();
      await ownerChecked;
    } catch (e) {
      errors.push(e);
      break;
    }
    try {
      const meta: Record<string, unknown> = { ownerReferences: [o.ownerRef], uid: obj.metadata.uid };
      if (o.adoptFinalizers?.length) meta.finalizers = o.adoptFinalizers;
      claimed.push(await o.client.patch(obj.metadata.name!, 'strategic', { metadata: meta }));
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) errors.push(e);
    }
  }
  if (errors.length) throw errors[0];
  return claimed;
}

/** A recheck that GETs the owner and fails when it is gone, replaced or being deleted. */
export function ownerRecheck(client: ResourceClient, owner: KObject, kind: string): () => Promise<void> {
  return async () => {
    const fresh = await client.get(owner.metadata.name!);
    if (fresh.metadata.uid !== owner.metadata.uid) {
      throw new Error(`original ${kind} ${owner.metadata.namespace}/${owner.metadata.name} is gone: got uid ${fresh.metadata.uid}, wanted ${owner.metadata.uid}`);
    }
    if (fresh.metadata.deletionTimestamp) {
      throw new Error(`${owner.metadata.namespace}/${owner.metadata.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    }
  };
}

// Controller references: who controls an object, and claiming (upstream's
// BaseControllerRefManager.ClaimObject). A controller owns the objects whose controller
// reference names its UID; it adopts orphans its selector matches and releases owned objects the
// selector no longer matches, by strategic-merge patches of metadata.ownerReferences that carry
// the object's UID as a precondition.
import { StatusError } from '../../api/errors.ts';
import type { KObject, OwnerReference } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import { controllerRefTo } from './pods.ts';

export function controllerOf(o: KObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** upstream's ownerRefControllerPatch: add the controller reference, guarded by the object's UID. */
export function adoptPatch(owner: KObject, childUid: string): unknown {
  return { metadata: { ownerReferences: [controllerRefTo(owner)], uid: childUid } };
}

/** upstream's GenerateDeleteOwnerRefStrategicMergeBytes: remove the owner's reference. */
export function releasePatch(ownerUid: string, childUid: string): unknown {
  return { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: childUid } };
}

export interface ClaimOptions<T extends KObject> {
  owner: KObject;
  /** Whether the owner's selector matches the object. */
  match(o: T): boolean;
  /** The client of the children's resource (namespaced or not). */
  children: ResourceClient<T>;
  /**
   * Called once before the first adoption: rejects when the owner may not adopt (deleted, or
   * replaced by a new object of the same name), read fresh from the server as upstream's
   * RecheckDeletionTimestamp does.
   */
  canAdopt(): Promise<void>;
}

function ignorable(e: unknown, ...codes: number[]): boolean {
  return e instanceof StatusError && codes.includes(e.code);
}

/**
 * The objects the owner controls after adopting and releasing. An error adopting or releasing
 * one object does not stop the others; the first such error is thrown after all were tried
 * (the caller requeues), with the claimed list lost: a controller must not act on a partial view.
 */
export async function claimObjects<T extends KObject>(objs: readonly T[], o: ClaimOptions<T>): Promise<T[]> {
  const ownerUid = o.owner.metadata.uid!;
  const ownerDeleting = !!o.owner.metadata.deletionTimestamp;
  const claimed: T[] = [];
  const errors: unknown[] = [];
  let adoptCheck: Promise<void> | undefined;
  const work: Promise<void>[] = [];
  for (const obj of objs) {
    const ref = controllerOf(obj);
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (o.match(obj)) {
        claimed.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      work.push(
        o.children
          .patch(obj.metadata.name!, 'strategic', releasePatch(ownerUid, obj.metadata.uid!))
          .then(() => undefined)
          .catch((e) => {
            // gone, or its UID changed (a new object of the same name): nothing to release
            if (!ignorable(e, 404, 422)) errors.push(e);
          }),
      );
      continue;
    }
    if (ownerDeleting || !o.match(obj) || obj.metadata.deletionTimestamp) continue;
    if (o.owner.metadata.namespace && o.owner.metadata.namespace !== obj.metadata.namespace) continue;
    adoptCheck ??= o.canAdopt();
    work.push(
      adoptCheck
        .then(() => o.children.patch(obj.metadata.name!, 'strategic', adoptPatch(o.owner, obj.metadata.uid!)))
        .then((adopted) => {
          claimed.push(adopted);
        })
        .catch((e) => {
          if (!ignorable(e, 404)) errors.push(e);
        }),
    );
  }
  await Promise.all(work);
  if (errors.length) throw errors[0];
  return claimed;
}

/**
 * upstream's RecheckDeletionTimestamp over a fresh GET: the owner may adopt only while it exists
 * with the same UID and is not being deleted.
 */
export function recheckOwner(get: () => Promise<KObject>, owner: KObject): () => Promise<void> {
  return async () => {
    const fresh = await get();
    const m = owner.metadata;
    if (fresh.metadata.uid !== m.uid) {
      throw new Error(`original ${owner.kind} ${m.namespace}/${m.name} is gone: got uid ${fresh.metadata.uid}, wanted ${m.uid}`);
    }
    if (fresh.metadata.deletionTimestamp) {
      throw new Error(`${m.namespace}/${m.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    }
  };
}

// A read-modify-write of one stored object under a subresource's own strategy, for the
// subresources whose writes the kind's strategy would undo (binding sets spec.nodeName and a
// status condition at once; namespaces/finalize changes spec.finalizers, which the Namespace
// strategy freezes; certificatesigningrequests/approval adds conditions the status strategy
// forbids). It is upstream's GuaranteedUpdate with a per-subresource UpdateStrategy: the caller's
// `apply` builds the new object from a private copy of the current one, optional admission and
// validation run, and the write carries the read revision (a lost race is retried with the fresh
// object, or is a 409 when the client sent a resourceVersion).
//
// This belongs in ResourceRegistry (it uses only its public surface: the cache, the store, the
// key layout, admission and the managedFields hook); it lives here so the registry's owner can
// adopt it as `ResourceRegistry.updateWithStrategy`.
import { conflict, field, invalid, notFound, OBJECT_MODIFIED, requestEntityTooLarge, type FieldError } from '../../api/errors.ts';
import { clone, type KObject } from '../../api/meta.ts';
import { StoreError } from '../../storage/store.ts';
import { translateStoreError, type Registry, type ResourceRegistry, type UserInfo } from '../registry.ts';

export interface StrategyUpdate {
  subresource: string;
  /**
   * Builds the object to store from a private copy of the current one; may throw a StatusError.
   * With copyOnWrite it is given the current object itself (frozen, shared with the cache) and
   * returns a new one that shares what it leaves unchanged and copies what it changes.
   */
  apply(current: KObject): KObject;
  /** apply copies only what it changes (see apply); the metadata is always copied here. */
  copyOnWrite?: boolean;
  /**
   * The caller drops the written object (it answers the request with something else): the watch
   * cache may take that very object instead of decoding the stored bytes (WriteOptions.handOff).
   */
  handOff?: boolean;
  /** Field validation of the result against the stored object. */
  validate?(obj: KObject, old: KObject): FieldError[];
  /** Runs UPDATE admission for the subresource (upstream does for finalize and approval, not for binding's storage write). */
  admit?: boolean;
  /** Removes the object instead of writing it when true (a Namespace finalized while terminating). */
  deleteIf?(obj: KObject): boolean;
  /** The client's resourceVersion precondition: a mismatch is a 409, never retried. */
  resourceVersion?: string;
  /** The client's uid precondition. */
  uid?: string;
  dryRun?: boolean;
  user?: UserInfo;
  fieldManager?: string;
  userAgent?: string;
  /** Record field ownership (upstream's field manager runs for finalize and approval, not for binding). */
  managedFields?: boolean;
}

/** Returns the object as written (or as it would be, for a dry run) and whether it was deleted. */
export async function updateWithStrategy(reg: Registry, r: ResourceRegistry, namespace: string, name: string, u: StrategyUpdate): Promise<{ obj: KObject; deleted: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const cur = await r.current(namespace, name);
    if (!cur) throw notFound(r.gr, name);
    if (u.uid && u.uid !== cur.obj.metadata.uid) {
      throw conflict(r.gr, name, `Precondition failed: UID in precondition: ${u.uid}, UID in object meta: ${cur.obj.metadata.uid}`);
    }
    if (u.resourceVersion && u.resourceVersion !== String(cur.rev)) throw conflict(r.gr, name, OBJECT_MODIFIED);
    const old = cur.obj;
    const obj = u.apply(u.copyOnWrite ? old : clone(old));
    if (obj === old) throw new Error(`${u.subresource}: a copy-on-write apply must return a new object`);
    // The system fields below are set on the result's own metadata, never on the cached one.
    const m = u.copyOnWrite ? (obj.metadata = { ...obj.metadata }) : (obj.metadata ??= {});
    if (m.name !== undefined && m.name !== name) {
      throw invalid({ group: r.decl.group, kind: r.decl.kind }, name, [field.invalid('metadata.name', m.name, 'field is immutable')]);
    }
    // System fields are the stored object's.
    m.name = name;
    if (r.decl.namespaced) m.namespace = namespace;
    m.uid = old.metadata.uid;
    m.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) m.deletionTimestamp = old.metadata.deletionTimestamp;
    else delete m.deletionTimestamp;
    if (old.metadata.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    else delete m.deletionGracePeriodSeconds;
    if (old.metadata.generation !== undefined) m.generation = old.metadata.generation;
    obj.apiVersion = r.storageApiVersion;
    obj.kind = r.decl.kind;
    if (u.admit) {
      await reg.admit({ operation: 'UPDATE', resource: r.decl, subresource: u.subresource, namespace, name, object: obj, oldObject: old, dryRun: !!u.dryRun, user: u.user });
    }
    const errs = u.validate?.(obj, old) ?? [];
    if (errs.length) throw invalid({ group: r.decl.group, kind: r.decl.kind }, name, errs);
    if (u.managedFields) reg.managedFields?.(r, old, obj, { user: u.user, fieldManager: u.fieldManager, userAgent: u.userAgent, subresource: u.subresource });
    m.resourceVersion = String(cur.rev);
    const value = r.encode(obj);
    const remove = u.deleteIf?.(obj) ?? false;
    if (u.dryRun) return { obj, deleted: remove };
    if (!remove && r.sameAsStored(obj, old)) return { obj: old, deleted: false };
    try {
      if (remove) {
        const res = await reg.store.delete(cur.key, cur.rev);
        m.resourceVersion = String(res.revision);
        return { obj, deleted: true };
      }
      const sealed = r.seal(cur.key, value);
      if (u.handOff) reg.offerWritten(cur.key, sealed, obj);
      const rev = await reg.store.update(cur.key, sealed, cur.rev);
      // Frozen already when the watch cache took the object (it set the same resourceVersion).
      if (m.resourceVersion !== String(rev)) m.resourceVersion = String(rev);
      return { obj, deleted: false };
    } catch (e) {
      if (u.handOff) reg.withdrawWritten(cur.key, obj);
      if (e instanceof StoreError && (e.code === 'Conflict' || e.code === 'NotFound')) {
        if (u.resourceVersion || attempt >= 20) throw conflict(r.gr, name, OBJECT_MODIFIED);
        continue;
      }
      throw translateStoreError(e, r.gr, name);
    }
  }
}

// The garbage collector (upstream pkg/controller/garbagecollector): deletes objects whose owners
// are gone, and carries out the two deletion modes that wait on dependents.
//
// - One informer per served resource that can be listed, watched and deleted (events excluded, as
//   upstream's ignoredResources) feeds the dependency graph (graph.ts) synchronously.
// - attemptToDelete workers look at one node: a virtual node the API says is absent becomes a
//   virtual delete event; an object whose owners are all dangling (absent, or present with another
//   uid) is deleted, honouring an orphan or foregroundDeletion finalizer it already has; owners that
//   are themselves deleting their dependents make a dependent with dependents go Foreground; dangling
//   references next to a live owner are removed. An object being deleted in the foreground loses its
//   foregroundDeletion finalizer once no dependent blocks it (blockOwnerDeletion).
// - attemptToOrphan workers remove an owner's reference from every dependent, then the owner's
//   orphan finalizer.
//
// The queues hold uids; a worker acts on the graph's node for that uid at the time it runs.
import type { KObject, OwnerReference } from '../../api/meta.ts';
import { groupVersion, parseGroupVersion, RESOURCES, resourceByKind, type ResourceDecl } from '../../api/resources.ts';
import { EVENT_TYPE_WARNING } from '../../client/events.ts';
import type { ResourceClient } from '../../client/client.ts';
import type { SharedInformer } from '../../client/informer.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, type Controller, type ControllerContext } from '../controller.ts';
import { isConflict, isNotFound } from '../cluster/errors.ts';
import { DependencyGraph, FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN, identityString, type GraphNode, type Identity } from './graph.ts';

/** Resources the collector never watches (upstream's default ignoredResources). */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);

/** Resources the collector watches: listable, watchable and deletable, stored under their own name. */
export function monitoredResources(resources: readonly ResourceDecl[] = RESOURCES): ResourceDecl[] {
  return resources.filter((r) => {
    if (r.storedAs || IGNORED.has(`${r.group}/${r.plural}`)) return false;
    const verbs = r.verbs ?? ['list', 'watch', 'delete'];
    return verbs.includes('list') && verbs.includes('watch') && verbs.includes('delete');
  });
}

export class RestMappingError extends Error {}
/** A cluster-scoped object naming a namespaced owner: never resolves, so the item is dropped. */
class NamespacedOwnerOfClusterScopedObject extends Error {}
/** The item is gone; a virtual delete event was applied instead. */
class EnqueuedVirtualDelete extends Error {}

const ABSENT_CACHE_SIZE = 500;
const WORKERS = 5;

/** A size-bounded set of identities verified absent (upstream's ReferenceCache, an LRU). */
class AbsentOwnerCache {
  private readonly m = new Map<string, true>();
  add(i: Identity): void {
    const k = identityKey(i);
    this.m.delete(k);
    this.m.set(k, true);
    if (this.m.size > ABSENT_CACHE_SIZE) this.m.delete(this.m.keys().next().value!);
  }
  has(i: Identity): boolean {
    const k = identityKey(i);
    if (!this.m.has(k)) return false;
    this.m.delete(k);
    this.m.set(k, true);
    return true;
  }
}

function identityKey(i: Identity): string {
  return `${i.apiVersion}\u0000${i.kind}\u0000${i.namespace}\u0000${i.name}\u0000${i.uid}`;
}

function hasFinalizer(o: KObject, f: string): boolean {
  return !!o.metadata.finalizers?.includes(f);
}

/** upstream's GenerateDeleteOwnerRefStrategicMergeBytes: removes references by uid; the dependent's uid is a precondition. */
export function deleteOwnerRefPatch(dependentUid: string, ownerUids: readonly string[]): unknown {
  return { metadata: { ownerReferences: ownerUids.map((uid) => ({ $patch: 'delete', uid })), uid: dependentUid } };
}

/** upstream's unblockOwnerReferencesStrategicMergePatch: every blocking reference set to blockOwnerDeletion false. */
export function unblockOwnerRefsPatch(uid: string, owners: readonly OwnerReference[]): unknown {
  const refs = owners.filter((r) => r.blockOwnerDeletion === true).map((r) => ({ ...r, blockOwnerDeletion: false }));
  return { metadata: { ownerReferences: refs, uid } };
}

export const garbageCollectorController: Controller = {
  name: 'garbagecollector',
  setup(ctx: ControllerContext) {
    return new GarbageCollector(ctx);
  },
};

export class GarbageCollector {
  private readonly ctx: ControllerContext;
  readonly graph: DependencyGraph;
  private readonly absent = new AbsentOwnerCache();
  private readonly attemptToDelete: WorkQueue<string>;
  private readonly attemptToOrphan: WorkQueue<string>;
  private readonly informers = new Map<string, SharedInformer>();

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.attemptToDelete = new WorkQueue<string>({ clock: ctx.clock, name: 'garbage_collector_attempt_to_delete' });
    this.attemptToOrphan = new WorkQueue<string>({ clock: ctx.clock, name: 'garbage_collector_attempt_to_orphan' });
    const recorder = ctx.recorder('garbage-collector-controller');
    this.graph = new DependencyGraph({
      attemptToDelete: (n) => this.attemptToDelete.add(n.identity.uid),
      attemptToDeleteRateLimited: (n) => this.attemptToDelete.addRateLimited(n.identity.uid),
      attemptToOrphan: (n) => this.attemptToOrphan.add(n.identity.uid),
      absent: (i) => this.absent.add(i),
      invalidNamespaceOwnerRef: (dep, ref) => {
        const invalid: Identity = { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: dep.identity.namespace };
        recorder.event(
          { kind: dep.identity.kind, apiVersion: dep.identity.apiVersion, namespace: dep.identity.namespace, name: dep.identity.name, uid: dep.identity.uid },
          EVENT_TYPE_WARNING,
          'OwnerRefInvalidNamespace',
          `ownerRef ${identityString(invalid)} does not exist in namespace ${JSON.stringify(dep.identity.namespace)}`,
        );
      },
    });
    for (const decl of monitoredResources()) {
      const inf = ctx.informers.informerFor(decl.group, decl.plural);
      this.informers.set(`${decl.group}/${decl.kind}`, inf);
      const apiVersion = groupVersion(decl.group, decl.versions[0]!);
      const kind = decl.kind;
      inf.addEventHandler({
        onAdd: (obj) => this.graph.process({ type: 'add', obj, apiVersion, kind }),
        onUpdate: (oldObj, obj) => this.graph.process({ type: 'update', obj, oldObj, apiVersion, kind }),
        onDelete: (obj) => this.graph.process({ type: 'delete', obj, apiVersion, kind }),
      });
    }
  }

  run(signal: AbortSignal): Promise<void> {
    return Promise.all([
      runWorkers(this.attemptToDelete, WORKERS, (uid) => this.attemptToDeleteWorker(uid), signal, this.ctx.log, 'garbagecollector'),
      runWorkers(this.attemptToOrphan, WORKERS, (uid) => this.attemptToOrphanWorker(uid), signal, this.ctx.log, 'garbagecollector-orphan'),
    ]).then(() => undefined);
  }

  /** The resource of an apiVersion/kind (upstream's RESTMapping); RestMappingError when not served. */
  private mapping(apiVersion: string, kind: string): { decl: ResourceDecl; version: string } {
    const { group, version } = parseGroupVersion(apiVersion);
    const decl = resourceByKind(group, kind);
    if (!decl || !decl.versions.includes(version)) throw new RestMappingError(`unable to get REST mapping for ${kind}.${apiVersion}`);
    return { decl, version };
  }

  private clientFor(i: Identity, namespaceOfItem = i.namespace): { rc: ResourceClient; decl: ResourceDecl } {
    const { decl, version } = this.mapping(i.apiVersion, i.kind);
    let rc = this.ctx.client.resource(decl.group, decl.plural, version);
    if (decl.namespaced) rc = rc.namespace(namespaceOfItem);
    return { rc, decl };
  }

  private async getObject(i: Identity): Promise<KObject> {
    return this.clientFor(i).rc.get(i.name);
  }

  private virtualDelete(i: Identity): never {
    this.graph.process({ type: 'delete', virtual: true, apiVersion: i.apiVersion, kind: i.kind, obj: { apiVersion: i.apiVersion, kind: i.kind, metadata: { name: i.name, namespace: i.namespace || undefined, uid: i.uid } } });
    throw new EnqueuedVirtualDelete();
  }

  private async attemptToDeleteWorker(uid: string): Promise<void> {
    const n = this.graph.get(uid);
    if (!n) return;
    try {
      await this.attemptToDeleteItem(n);
    } catch (e) {
      if (e instanceof EnqueuedVirtualDelete || e instanceof NamespacedOwnerOfClusterScopedObject) return;
      throw e;
    }
    // a virtual node whose object exists: look again until an informer shows it
    if (this.graph.get(uid)?.virtual) throw new Error(`item ${identityString(n.identity)} hasn't been observed via informer yet`);
  }

  /**
   * Whether the reference points at nothing: absent, or present with another uid. Answers the
   * owner (cache or API) when it exists.
   */
  private async isDangling(ref: OwnerReference, item: GraphNode): Promise<{ dangling: boolean; owner?: KObject }> {
    const clusterKey: Identity = { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: '' };
    if (this.absent.has(clusterKey)) return { dangling: true };
    const nsKey: Identity = { ...clusterKey, namespace: item.identity.namespace };
    if (this.absent.has(nsKey)) return { dangling: true };
    const { decl, version } = this.mapping(ref.apiVersion, ref.kind);
    const absentKey = decl.namespaced ? nsKey : clusterKey;
    if (!item.identity.namespace && decl.namespaced) throw new NamespacedOwnerOfClusterScopedObject(`cluster-scoped objects cannot refer to namespaced owners`);
    // The cache answers for owners it holds with the same uid; anything else asks the API.
    const inf = this.informers.get(`${decl.group}/${decl.kind}`);
    const cached = inf && (decl.namespaced ? inf.lister().namespace(item.identity.namespace).get(ref.name) : inf.lister().get(ref.name));
    if (cached && cached.metadata.uid === ref.uid) return { dangling: false, owner: cached };
    let owner: KObject;
    try {
      let rc = this.ctx.client.resource(decl.group, decl.plural, version);
      if (decl.namespaced) rc = rc.namespace(item.identity.namespace);
      owner = await rc.get(ref.name);
    } catch (e) {
      if (isNotFound(e)) {
        this.absent.add(absentKey);
        return { dangling: true };
      }
      throw e;
    }
    if (owner.metadata.uid !== ref.uid) {
      this.absent.add(absentKey);
      return { dangling: true };
    }
    return { dangling: false, owner };
  }

  private async attemptToDeleteItem(item: GraphNode): Promise<void> {
    // being deleted is a one-way trip: wait for the final deletion, then process the dependents
    if (item.beingDeleted && !item.deletingDependents) return;
    let latest: KObject;
    try {
      latest = await this.getObject(item.identity);
    } catch (e) {
      if (isNotFound(e)) this.virtualDelete(item.identity);
      throw e;
    }
    if (latest.metadata.uid !== item.identity.uid) this.virtualDelete(item.identity);
    if (item.deletingDependents) return this.processDeletingDependentsItem(item);
    const refs = latest.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of refs) {
      const r = await this.isDangling(ref, item);
      if (r.dangling) dangling.push(ref);
      else if (r.owner!.metadata.deletionTimestamp && hasFinalizer(r.owner!, FINALIZER_DELETE_DEPENDENTS)) waiting.push(ref);
      else solid.push(ref);
    }
    const { rc } = this.clientFor(item.identity);
    if (solid.length > 0) {
      if (dangling.length === 0 && waiting.length === 0) return;
      // references to owners that wait for their dependents must go too, or those owners never finish
      const uids = [...dangling, ...waiting].map((r) => r.uid);
      try {
        await rc.patch(item.identity.name, 'strategic', deleteOwnerRefPatch(item.identity.uid, uids));
      } catch (e) {
        if (isNotFound(e)) this.virtualDelete(item.identity);
        throw e;
      }
      return;
    }
    if (waiting.length > 0 && item.dependents.size > 0) {
      for (const dep of item.dependents) {
        if (!dep.deletingDependents) continue;
        // a possible cycle: make this item's references non-blocking before going Foreground
        await rc.patch(item.identity.name, 'strategic', unblockOwnerRefsPatch(item.identity.uid, item.owners));
        break;
      }
      return this.deleteItem(item, latest, 'Foreground');
    }
    const policy = hasFinalizer(latest, FINALIZER_ORPHAN) ? 'Orphan' : hasFinalizer(latest, FINALIZER_DELETE_DEPENDENTS) ? 'Foreground' : 'Background';
    this.ctx.log(`garbagecollector: deleting ${identityString(item.identity)} (propagationPolicy ${policy})`);
    return this.deleteItem(item, latest, policy);
  }

  /**
   * Deletes with uid and resourceVersion preconditions; a conflict caused by changes other than
   * to ownerReferences retries without the resourceVersion, so busy objects are not starved.
   */
  private async deleteItem(item: GraphNode, latest: KObject, policy: 'Orphan' | 'Foreground' | 'Background'): Promise<void> {
    const { rc } = this.clientFor(item.identity);
    const rv = latest.metadata.resourceVersion;
    try {
      await rc.delete(item.identity.name, { propagationPolicy: policy, preconditions: { uid: item.identity.uid, resourceVersion: rv } });
      return;
    } catch (e) {
      if (isNotFound(e)) this.virtualDelete(item.identity);
      if (!isConflict(e) || !rv) throw e;
    }
    let live: KObject;
    try {
      live = await rc.get(item.identity.name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (live.metadata.uid === item.identity.uid && live.metadata.resourceVersion !== rv && JSON.stringify(live.metadata.ownerReferences ?? []) === JSON.stringify(latest.metadata.ownerReferences ?? [])) {
      try {
        await rc.delete(item.identity.name, { propagationPolicy: policy, preconditions: { uid: item.identity.uid } });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      return;
    }
    throw new Error(`the ownerReferences of ${identityString(item.identity)} changed while it was being deleted; will look again`);
  }

  private async processDeletingDependentsItem(item: GraphNode): Promise<void> {
    const blocking = item.blockingDependents();
    if (blocking.length === 0) {
      this.ctx.log(`garbagecollector: removing the foregroundDeletion finalizer of ${identityString(item.identity)}`);
      return this.removeFinalizer(item, FINALIZER_DELETE_DEPENDENTS);
    }
    for (const dep of blocking) if (!dep.deletingDependents) this.attemptToDelete.add(dep.identity.uid);
  }

  /** Removes one finalizer with a merge patch guarded by resourceVersion, retrying conflicts a few times. */
  private async removeFinalizer(item: GraphNode, finalizer: string): Promise<void> {
    const { rc } = this.clientFor(item.identity);
    for (let attempt = 0; ; attempt++) {
      let obj: KObject;
      try {
        obj = await rc.get(item.identity.name);
      } catch (e) {
        if (isNotFound(e)) return;
        throw new Error(`cannot finalize owner ${identityString(item.identity)}, because cannot get it: ${(e as Error).message}. The garbage collector will retry later.`);
      }
      const finalizers = obj.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      try {
        await rc.patch(item.identity.name, 'merge', { metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== finalizer) } });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 3) throw e;
      }
    }
  }

  private async attemptToOrphanWorker(uid: string): Promise<void> {
    const owner = this.graph.get(uid);
    if (!owner) return;
    const errors: string[] = [];
    await Promise.all(
      [...owner.dependents].map(async (dep) => {
        try {
          const { rc } = this.clientFor(dep.identity);
          await rc.patch(dep.identity.name, 'strategic', deleteOwnerRefPatch(dep.identity.uid, [owner.identity.uid]));
        } catch (e) {
          if (isNotFound(e)) return;
          errors.push(`orphaning ${identityString(dep.identity)} failed, ${(e as Error).message}`);
        }
      }),
    );
    if (errors.length) throw new Error(`failed to orphan dependents of owner ${identityString(owner.identity)}, got errors: ${errors.join(', ')}`);
    await this.removeFinalizer(owner, FINALIZER_ORPHAN);
  }
}

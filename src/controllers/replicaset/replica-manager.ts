// The replica controller loop shared by ReplicaSets and ReplicationControllers, as upstream runs
// the ReplicationController through the ReplicaSet controller with a kind adapter: keep exactly
// spec.replicas active pods matching the owner's selector and controlled by it.
//
// sync(namespace/name):
// 1. read the owner from the cache (gone: forget its expectations);
// 2. its pods: those whose controller reference names it, plus the namespace's orphans (an
//    index lookup, never a relist), active ones only; adopt matching orphans, release owned pods
//    the selector no longer matches;
// 3. when every create and delete it issued earlier has been observed (expectations), create the
//    missing pods in slow-start batches, or delete the surplus, worst-ranked first, at most
//    burstReplicas per sync;
// 4. write status (counts, observedGeneration, ReplicaFailure) when it changed; requeue after
//    minReadySeconds while ready pods are not yet available.
import { StatusError } from '../../api/errors.ts';
import { matchesLabels, isEmptySelector, type Selector } from '../../api/labels.ts';
import type { KObject } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, type EventRecorder } from '../../client/events.ts';
import type { SharedInformer } from '../../client/informer.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { keyOf, runWorkers, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { slowStartBatch } from './batch.ts';
import { claimObjects, controllerOf, recheckOwner } from './controllerref.ts';
import { Expectations } from './expectations.ts';
import { BY_CONTROLLER_UID, controllerUidIndexers, orphanKey } from './indexes.ts';
import { controllerRefTo, isPodActive, isPodReady, podFromTemplate, podsToDelete } from './pods.ts';
import { calculateReplicaStatus, replicaStatusChanged } from './status.ts';
import type { Pod, PodTemplateSpec, ReplicaStatus } from './types.ts';

/** What the loop needs to know about the owner kind. */
export interface ReplicaKind {
  /** upstream's controller name ("replicaset", "replicationcontroller"). */
  name: string;
  /** The event source component ("replicaset-controller", "replication-controller"). */
  component: string;
  group: string;
  plural: string;
  kind: string;
  /** The owner's pod selector; throws when it is invalid. */
  selector(owner: ReplicaOwnerObject): Selector;
}

export interface ReplicaOwnerObject extends KObject {
  spec: { replicas?: number; minReadySeconds?: number; template?: PodTemplateSpec; [k: string]: unknown };
  status?: ReplicaStatus;
}

export interface ReplicaControllerOptions {
  /** Concurrent syncs (upstream's --concurrent-replicaset-syncs, 5). */
  workers?: number;
  /** Creates or deletes per sync (upstream's BurstReplicas, 500). */
  burstReplicas?: number;
}

/** upstream's SlowStartInitialBatchSize. */
const SLOW_START_INITIAL_BATCH = 1;

export function namespaceTerminating(e: unknown): boolean {
  return e instanceof StatusError && !!e.status.details?.causes?.some((c) => c.reason === 'NamespaceTerminating');
}

function podKey(p: Pod): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

function sameRef(a: KObject, b: KObject): boolean {
  return JSON.stringify(controllerOf(a) ?? null) === JSON.stringify(controllerOf(b) ?? null);
}

class ReplicaManager {
  private readonly kind: ReplicaKind;
  private readonly ctx: ControllerContext;
  private readonly burst: number;
  private readonly owners: SharedInformer<ReplicaOwnerObject>;
  private readonly pods: SharedInformer<Pod>;
  readonly queue: WorkQueue<string>;
  private readonly expectations: Expectations;
  private readonly recorder: EventRecorder;

  constructor(kind: ReplicaKind, ctx: ControllerContext, o: ReplicaControllerOptions) {
    this.kind = kind;
    this.ctx = ctx;
    this.burst = o.burstReplicas ?? 500;
    this.owners = ctx.informers.informerFor<ReplicaOwnerObject>(kind.group, kind.plural, { indexers: controllerUidIndexers });
    this.pods = ctx.informers.informerFor<Pod>('', 'pods', { indexers: controllerUidIndexers });
    this.queue = new WorkQueue<string>({ clock: ctx.clock, name: kind.name });
    this.expectations = new Expectations(ctx.clock);
    this.recorder = ctx.recorder(kind.component);

    this.owners.addEventHandler({
      onAdd: (o) => this.queue.add(keyOf(o)),
      onUpdate: (old, cur) => {
        if (old.metadata.uid !== cur.metadata.uid) this.expectations.delete(keyOf(old));
        this.queue.add(keyOf(cur));
      },
      onDelete: (o) => {
        this.expectations.delete(keyOf(o));
        this.queue.add(keyOf(o));
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.addPod(p),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (p) => this.deletePod(p),
    });
  }

  private ownersClient(ns: string): ResourceClient<ReplicaOwnerObject> {
    return this.ctx.client.resource<ReplicaOwnerObject>(this.kind.group, this.kind.plural).namespace(ns);
  }

  private podsClient(ns: string): ResourceClient<Pod> {
    return this.ctx.client.resource<Pod>('', 'pods').namespace(ns);
  }

  /** The owner a controller reference names, if it is of our kind and still the same object. */
  private resolve(ns: string | undefined, ref: { kind: string; name: string; uid: string }): ReplicaOwnerObject | undefined {
    if (ref.kind !== this.kind.kind) return undefined;
    const o = this.owners.lister().namespace(ns ?? '').get(ref.name);
    return o && o.metadata.uid === ref.uid ? o : undefined;
  }

  /** Owners in the pod's namespace whose (non-empty) selector matches it: candidates to adopt an orphan. */
  private ownersSelecting(p: Pod): ReplicaOwnerObject[] {
    const out: ReplicaOwnerObject[] = [];
    for (const o of this.owners.lister().namespace(p.metadata.namespace ?? '').list()) {
      let sel: Selector;
      try {
        sel = this.kind.selector(o);
      } catch {
        continue;
      }
      if (!isEmptySelector(sel) && matchesLabels(sel, p.metadata.labels)) out.push(o);
    }
    return out;
  }

  private addPod(p: Pod): void {
    if (p.metadata.deletionTimestamp) {
      // seen for the first time already terminating (e.g. after a restart): not a creation
      this.deletePod(p);
      return;
    }
    const ref = controllerOf(p);
    if (ref) {
      const owner = this.resolve(p.metadata.namespace, ref);
      if (!owner) return;
      const key = keyOf(owner);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    for (const o of this.ownersSelecting(p)) this.queue.add(keyOf(o));
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const labelChanged = !sameLabels(old.metadata.labels, cur.metadata.labels);
    if (cur.metadata.deletionTimestamp) {
      // graceful deletion started: the owner can act now instead of after the grace period
      this.deletePod(cur);
      if (labelChanged) this.deletePod(old);
      return;
    }
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = !sameRef(old, cur);
    if (refChanged && oldRef) {
      const o = this.resolve(old.metadata.namespace, oldRef);
      if (o) this.queue.add(keyOf(o));
    }
    if (curRef) {
      const o = this.resolve(cur.metadata.namespace, curRef);
      if (!o) return;
      const key = keyOf(o);
      this.queue.add(key);
      const minReady = o.spec.minReadySeconds ?? 0;
      // a pod that just turned ready becomes available minReadySeconds later: look again then
      // (one second more, as upstream, against clock skew at the boundary)
      if (!isPodReady(old) && isPodReady(cur) && minReady > 0) this.queue.addAfter(key, minReady * 1000 + 1000);
      return;
    }
    if (labelChanged || refChanged) for (const o of this.ownersSelecting(cur)) this.queue.add(keyOf(o));
  }

  private deletePod(p: Pod): void {
    const ref = controllerOf(p);
    if (!ref) return;
    const o = this.resolve(p.metadata.namespace, ref);
    if (!o) return;
    const key = keyOf(o);
    this.expectations.deletionObserved(key, podKey(p));
    this.queue.add(key);
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const owner = this.owners.lister().namespace(namespace).get(name);
    if (!owner) {
      this.expectations.delete(key);
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    let selector: Selector;
    try {
      selector = this.kind.selector(owner);
    } catch (e) {
      this.ctx.log(`${this.kind.name}: ${key} has an invalid selector: ${(e as Error).message}`);
      return;
    }
    const candidates = [...this.pods.indexer.byIndex(BY_CONTROLLER_UID, owner.metadata.uid!), ...this.pods.indexer.byIndex(BY_CONTROLLER_UID, orphanKey(namespace))].filter(isPodActive);
    const pods = await claimObjects(candidates, {
      owner,
      match: (p) => matchesLabels(selector, p.metadata.labels),
      children: this.podsClient(namespace),
      canAdopt: recheckOwner(() => this.ownersClient(namespace).get(name), owner),
    });

    let manageError: Error | undefined;
    if (needsSync && !owner.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, owner, pods);
      } catch (e) {
        manageError = e instanceof Error ? e : new Error(String(e));
      }
    }
    const now = this.ctx.clock.now();
    const status = calculateReplicaStatus(owner, pods, manageError, now);
    const updated = await this.updateStatus(owner, status);
    const minReady = updated.spec.minReadySeconds ?? 0;
    const replicas = updated.spec.replicas ?? 1;
    if (!manageError && minReady > 0 && (updated.status?.readyReplicas ?? 0) === replicas && (updated.status?.availableReplicas ?? 0) !== replicas) {
      this.queue.addAfter(key, minReady * 1000);
    }
    if (manageError) throw manageError;
  }

  private async manageReplicas(key: string, owner: ReplicaOwnerObject, pods: Pod[]): Promise<void> {
    const ns = owner.metadata.namespace!;
    const diff = pods.length - (owner.spec.replicas ?? 1);
    if (diff < 0) {
      const n = Math.min(-diff, this.burst);
      this.expectations.expectCreations(key, n);
      const ref = controllerRefTo(owner);
      const client = this.podsClient(ns);
      const { successes, error } = await slowStartBatch(n, SLOW_START_INITIAL_BATCH, async () => {
        try {
          await this.createPod(client, owner, ref);
        } catch (e) {
          // every create in a terminating namespace fails; nothing to retry
          if (namespaceTerminating(e)) return;
          throw e;
        }
      });
      // creates that were skipped or failed will never be observed
      for (let i = successes; i < n; i++) this.expectations.creationObserved(key);
      if (error) throw error;
    } else if (diff > 0) {
      const n = Math.min(diff, this.burst);
      const victims = podsToDelete(pods, this.relatedPods(owner), n, this.ctx.clock.now());
      this.expectations.expectDeletions(key, victims.map(podKey));
      const client = this.podsClient(ns);
      const errors = await Promise.all(
        victims.map(async (p) => {
          try {
            await this.deletePodOf(client, owner, p);
            return undefined;
          } catch (e) {
            // the informer will not see this deletion
            this.expectations.deletionObserved(key, podKey(p));
            return e instanceof StatusError && e.code === 404 ? undefined : e;
          }
        }),
      );
      const first = errors.find((e) => e !== undefined);
      if (first) throw first;
    }
  }

  /** Pods of every owner controlled by the same controller (a Deployment's ReplicaSets), for ranking. */
  private relatedPods(owner: ReplicaOwnerObject): Pod[] {
    const ref = controllerOf(owner);
    if (!ref) return [];
    const out: Pod[] = [];
    for (const sibling of this.owners.indexer.byIndex(BY_CONTROLLER_UID, ref.uid)) {
      for (const p of this.pods.indexer.byIndex(BY_CONTROLLER_UID, sibling.metadata.uid!)) out.push(p);
    }
    return out;
  }

  private async createPod(client: ResourceClient<Pod>, owner: ReplicaOwnerObject, ref: ReturnType<typeof controllerRefTo>): Promise<void> {
    const pod = podFromTemplate(owner.spec.template ?? {}, owner, ref);
    if (!pod.metadata.labels || Object.keys(pod.metadata.labels).length === 0) throw new Error('unable to create pods, no labels');
    let created: Pod;
    try {
      created = await client.create(pod);
    } catch (e) {
      if (!namespaceTerminating(e)) this.recorder.event(owner, EVENT_TYPE_WARNING, 'FailedCreate', `Error creating: ${(e as Error).message}`);
      throw e;
    }
    this.recorder.event(owner, EVENT_TYPE_NORMAL, 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
  }

  private async deletePodOf(client: ResourceClient<Pod>, owner: ReplicaOwnerObject, p: Pod): Promise<void> {
    const name = p.metadata.name!;
    try {
      await client.delete(name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) throw e;
      this.recorder.event(owner, EVENT_TYPE_WARNING, 'FailedDelete', `Error deleting: ${(e as Error).message}`);
      throw new Error(`unable to delete pods: ${(e as Error).message}`);
    }
    this.recorder.event(owner, EVENT_TYPE_NORMAL, 'SuccessfulDelete', `Deleted pod: ${name}`);
  }

  /**
   * Writes the status when it changed, with observedGeneration set to the generation it was
   * computed for. A conflict (the owner changed meanwhile) is retried once on a fresh read, as
   * upstream's statusUpdateRetries; the change that caused it queues another sync anyway.
   */
  private async updateStatus(owner: ReplicaOwnerObject, status: ReplicaStatus): Promise<ReplicaOwnerObject> {
    if (!replicaStatusChanged(owner, status)) return owner;
    const next: ReplicaStatus = { ...status, observedGeneration: owner.metadata.generation ?? 0 };
    const client = this.ownersClient(owner.metadata.namespace!);
    let base: ReplicaOwnerObject = owner;
    for (let attempt = 0; ; attempt++) {
      try {
        return await client.updateStatus({ ...base, status: next });
      } catch (e) {
        if (attempt >= 1 || !(e instanceof StatusError) || e.code !== 409) throw e;
        base = await client.get(owner.metadata.name!);
      }
    }
  }
}

/** A Controller running the replica loop for one kind. */
export function replicaController(kind: ReplicaKind, o: ReplicaControllerOptions = {}): Controller {
  return {
    name: kind.name,
    setup(ctx) {
      const m = new ReplicaManager(kind, ctx, o);
      return {
        run: (signal) => runWorkers(m.queue, o.workers ?? 5, (key) => m.sync(key), signal, ctx.log, kind.name),
      };
    },
  };
}

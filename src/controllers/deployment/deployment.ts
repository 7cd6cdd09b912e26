// The Deployment controller (upstream's "deployment" controller, events from
// "deployment-controller"): a Deployment owns ReplicaSets, one per pod template it has had; the
// "new" one runs its current template, the "old" ones are scaled down as the new one becomes
// available (RollingUpdate within maxSurge/maxUnavailable) or all at once first (Recreate).
//
// sync(namespace/name), in upstream's order of precedence:
// 1. claim ReplicaSets (adopt matching orphans, release those no longer matching);
// 2. being deleted: status only; paused: scale (proportionally) and status, no rollout;
//    a deprecated rollback request: roll the template back; a scaling event (an active
//    ReplicaSet's desired-replicas annotation differs from spec.replicas): scale;
// 3. otherwise roll out by the strategy, then clean up old ReplicaSets beyond
//    revisionHistoryLimit once complete, and write status with the Progressing and Available
//    conditions (requeueing to notice a progress deadline).
//
// Every write goes through the API with the resourceVersion it was computed from, so a stale
// cache read fails with Conflict and the key is retried instead of acting twice. The copies
// kept while a sync runs are refreshed from each answer, so one sync's writes build on each other.
import { StatusError } from '../../api/errors.ts';
import { isEmptySelector, labelSelectorAsSelector, matchesLabels, type LabelSelectorJSON } from '../../api/labels.ts';
import { clone, type KObject } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, type EventRecorder } from '../../client/events.ts';
import type { SharedInformer } from '../../client/informer.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { keyOf, runWorkers, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { claimObjects, controllerOf, recheckOwner } from '../replicaset/controllerref.ts';
import { BY_CONTROLLER_UID, controllerUidIndexers } from '../replicaset/indexes.ts';
import { controllerRefTo } from '../replicaset/pods.ts';
import { namespaceTerminating } from '../replicaset/replica-manager.ts';
import type { Pod } from '../replicaset/types.ts';
import { canonicalJson, computeHash } from './hash.ts';
import type { Deployment, ReplicaSet } from './types.ts';
import {
  DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
  DEPRECATED_ROLLBACK_TO,
  FAILED_RS_CREATE_REASON,
  FOUND_NEW_RS_REASON,
  NEW_REPLICA_SET_REASON,
  PAUSED_DEPLOY_REASON,
  RESUMED_DEPLOY_REASON,
  REVISION_ANNOTATION,
  ROLLBACK_DONE,
  ROLLBACK_REVISION_NOT_FOUND,
  ROLLBACK_TEMPLATE_UNCHANGED,
  TIMED_OUT_REASON,
  byCreation,
  byRevision,
  calculateStatus,
  deploymentComplete,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  filterActive,
  findNewReplicaSet,
  findOldReplicaSets,
  getCondition,
  hasProgressDeadline,
  hasRevisionHistoryLimit,
  isRollingUpdate,
  isSaturated,
  lastRevision,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newCondition,
  newRSNewReplicas,
  normalizeStatus,
  proportionalSizes,
  replicasAnnotationsNeedUpdate,
  replicasOf,
  revisionOf,
  rolloutStatus,
  setCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  skipCopyAnnotation,
  stuckRequeueDelay,
  sumReplicas,
  sumAvailableWithinSpec,
  sumStatus,
} from './util.ts';

export interface DeploymentControllerOptions {
  /** Concurrent syncs (upstream's --concurrent-deployment-syncs, 5). */
  workers?: number;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}

/** One sync's working state: a mutable copy of the Deployment and its claimed ReplicaSets, kept current as it writes. */
interface SyncState {
  d: Deployment;
  rsList: ReplicaSet[];
}

class DeploymentSyncer {
  private readonly ctx: ControllerContext;
  private readonly deployments: SharedInformer<Deployment>;
  private readonly replicaSets: SharedInformer<ReplicaSet>;
  private readonly pods: SharedInformer<Pod>;
  readonly queue: WorkQueue<string>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.deployments = ctx.informers.informerFor<Deployment>('apps', 'deployments');
    this.replicaSets = ctx.informers.informerFor<ReplicaSet>('apps', 'replicasets', { indexers: controllerUidIndexers });
    this.pods = ctx.informers.informerFor<Pod>('', 'pods', { indexers: controllerUidIndexers });
    this.queue = new WorkQueue<string>({ clock: ctx.clock, name: 'deployment' });
    this.recorder = ctx.recorder('deployment-controller');

    this.deployments.addEventHandler({
      onAdd: (d) => this.queue.add(keyOf(d)),
      onUpdate: (_old, cur) => this.queue.add(keyOf(cur)),
      onDelete: (d) => this.queue.add(keyOf(d)),
    });
    this.replicaSets.addEventHandler({
      onAdd: (rs) => this.addReplicaSet(rs),
      onUpdate: (old, cur) => this.updateReplicaSet(old, cur),
      onDelete: (rs) => this.deleteReplicaSet(rs),
    });
    this.pods.addEventHandler({ onDelete: (p) => this.deletePod(p) });
  }

  // ---------------------------------------------------------------------------- event handlers

  private resolve(ns: string | undefined, ref: { kind: string; name: string; uid: string }): Deployment | undefined {
    if (ref.kind !== 'Deployment') return undefined;
    const d = this.deployments.lister().namespace(ns ?? '').get(ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  private deploymentsSelecting(rs: ReplicaSet): Deployment[] {
    if (!rs.metadata.labels || Object.keys(rs.metadata.labels).length === 0) return [];
    return this.deployments
      .lister()
      .namespace(rs.metadata.namespace ?? '')
      .list()
      .filter((d) => {
        try {
          const sel = labelSelectorAsSelector(d.spec.selector);
          return !isEmptySelector(sel) && matchesLabels(sel, rs.metadata.labels);
        } catch {
          return false;
        }
      });
  }

  private addReplicaSet(rs: ReplicaSet): void {
    if (rs.metadata.deletionTimestamp) {
      this.deleteReplicaSet(rs);
      return;
    }
    const ref = controllerOf(rs);
    if (ref) {
      const d = this.resolve(rs.metadata.namespace, ref);
      if (d) this.queue.add(keyOf(d));
      return;
    }
    for (const d of this.deploymentsSelecting(rs)) this.queue.add(keyOf(d));
  }

  private updateReplicaSet(old: ReplicaSet, cur: ReplicaSet): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = canonicalJson(curRef ?? null) !== canonicalJson(oldRef ?? null);
    if (refChanged && oldRef) {
      const d = this.resolve(old.metadata.namespace, oldRef);
      if (d) this.queue.add(keyOf(d));
    }
    if (curRef) {
      const d = this.resolve(cur.metadata.namespace, curRef);
      if (d) this.queue.add(keyOf(d));
      return;
    }
    if (refChanged || !sameLabels(old.metadata.labels, cur.metadata.labels)) for (const d of this.deploymentsSelecting(cur)) this.queue.add(keyOf(d));
  }

  private deleteReplicaSet(rs: ReplicaSet): void {
    const ref = controllerOf(rs);
    if (!ref) return;
    const d = this.resolve(rs.metadata.namespace, ref);
    if (d) this.queue.add(keyOf(d));
  }

  /** A Recreate rollout waits for the old pods to be gone: look again when the last one goes. */
  private deletePod(p: Pod): void {
    const ref = controllerOf(p);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.replicaSets.lister().namespace(p.metadata.namespace ?? '').get(ref.name);
    if (!rs || rs.metadata.uid !== ref.uid) return;
    const dref = controllerOf(rs);
    const d = dref && this.resolve(rs.metadata.namespace, dref);
    if (!d || d.spec.strategy?.type !== 'Recreate') return;
    const owned = this.replicaSets.indexer.byIndex(BY_CONTROLLER_UID, d.metadata.uid!);
    const remaining = owned.reduce((n, r) => n + this.pods.indexer.byIndex(BY_CONTROLLER_UID, r.metadata.uid!).length, 0);
    if (remaining === 0) this.queue.add(keyOf(d));
  }

  // ---------------------------------------------------------------------------- clients

  private dClient(ns: string): ResourceClient<Deployment> {
    return this.ctx.client.resource<Deployment>('apps', 'deployments').namespace(ns);
  }

  private rsClient(ns: string): ResourceClient<ReplicaSet> {
    return this.ctx.client.resource<ReplicaSet>('apps', 'replicasets').namespace(ns);
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private event(d: Deployment, type: string, reason: string, message: string): void {
    this.recorder.event(d as KObject, type, reason, message);
  }

  /**
   * UpdateStatus of the working copy; its resourceVersion follows the answer. Upstream's
   * Deployment status strategy keeps annotations, which is how the controller records the
   * Deployment's revision; when the server resets them on status writes, the revision is written
   * with a separate metadata patch instead.
   */
  private async writeStatus(s: SyncState): Promise<void> {
    const d = s.d;
    const res = await this.dClient(d.metadata.namespace!).updateStatus(d);
    d.metadata.resourceVersion = res.metadata.resourceVersion;
    const want = d.metadata.annotations?.[REVISION_ANNOTATION];
    if (want !== undefined && res.metadata.annotations?.[REVISION_ANNOTATION] !== want) {
      const p = await this.dClient(d.metadata.namespace!).patch(d.metadata.name!, 'merge', { metadata: { resourceVersion: d.metadata.resourceVersion, annotations: { [REVISION_ANNOTATION]: want } } });
      d.metadata.resourceVersion = p.metadata.resourceVersion;
    }
  }

  /** Update of the working copy (spec and metadata), e.g. after a rollback. */
  private async writeDeployment(s: SyncState): Promise<void> {
    const res = await this.dClient(s.d.metadata.namespace!).update(s.d);
    s.d.metadata.resourceVersion = res.metadata.resourceVersion;
  }

  private replaceRS(s: SyncState, rs: ReplicaSet): void {
    const i = s.rsList.findIndex((r) => r.metadata.uid === rs.metadata.uid);
    if (i >= 0) s.rsList[i] = rs;
    else s.rsList.push(rs);
  }

  // ---------------------------------------------------------------------------- sync

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cached = this.deployments.lister().namespace(namespace).get(name);
    if (!cached) return;
    const d = clone(cached);
    const sel = d.spec.selector as LabelSelectorJSON | undefined;
    if (sel && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0) {
      this.event(d, EVENT_TYPE_WARNING, 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        d.status = { ...(d.status ?? {}), observedGeneration: d.metadata.generation };
        await this.dClient(namespace).updateStatus(d);
      }
      return;
    }
    const s: SyncState = { d, rsList: await this.claimReplicaSets(d) };
    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(s);
    await this.checkPausedConditions(s);
    if (d.spec.paused) return this.syncScale(s);
    if (rollbackTo(d) !== undefined) return this.rollback(s);
    if (await this.isScalingEvent(s)) return this.syncScale(s);
    switch (d.spec.strategy?.type) {
      case 'Recreate':
        return this.rolloutRecreate(s);
      case 'RollingUpdate':
        return this.rolloutRolling(s);
      default:
        throw new Error(`unexpected deployment strategy type: ${d.spec.strategy?.type}`);
    }
  }

  private async claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const ns = d.metadata.namespace!;
    const selector = labelSelectorAsSelector(d.spec.selector);
    const all = this.replicaSets.lister().namespace(ns).list();
    return claimObjects(all, {
      owner: d,
      match: (rs) => matchesLabels(selector, rs.metadata.labels),
      children: this.rsClient(ns),
      canAdopt: recheckOwner(() => this.dClient(ns).get(d.metadata.name!), d),
    });
  }

  private async checkPausedConditions(s: SyncState): Promise<void> {
    const d = s.d;
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, 'Progressing');
    if (cond?.reason === TIMED_OUT_REASON) return;
    const pausedCondExists = cond?.reason === PAUSED_DEPLOY_REASON;
    d.status ??= {};
    if (d.spec.paused && !pausedCondExists) {
      setCondition(d.status, newCondition('Progressing', 'Unknown', PAUSED_DEPLOY_REASON, 'Deployment is paused', this.now()));
    } else if (!d.spec.paused && pausedCondExists) {
      setCondition(d.status, newCondition('Progressing', 'Unknown', RESUMED_DEPLOY_REASON, 'Deployment is resumed', this.now()));
    } else return;
    await this.writeStatus(s);
  }

  /**
   * The new ReplicaSet (created when asked and missing) and the old ones, with the new one's
   * revision raised above every old one and the Deployment's revision annotation following it.
   */
  private async getAllReplicaSetsAndSyncRevision(s: SyncState, create: boolean): Promise<{ newRS?: ReplicaSet; oldRSs: ReplicaSet[] }> {
    const oldRSs = findOldReplicaSets(s.d, s.rsList);
    const newRS = await this.getNewReplicaSet(s, oldRSs, create);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(s: SyncState, oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
    const d = s.d;
    const existing = findNewReplicaSet(d, s.rsList);
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const rsCopy = clone(existing);
      const annotationsUpdated = setNewReplicaSetAnnotations(d, rsCopy, newRevision, true);
      const minReadyNeedsUpdate = (rsCopy.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      if (annotationsUpdated || minReadyNeedsUpdate) {
        if (d.spec.minReadySeconds) rsCopy.spec.minReadySeconds = d.spec.minReadySeconds;
        else delete rsCopy.spec.minReadySeconds;
        const updated = await this.rsClient(d.metadata.namespace!).update(rsCopy);
        this.replaceRS(s, updated);
        return updated;
      }
      let needsUpdate = this.setDeploymentRevision(d, rsCopy.metadata.annotations?.[REVISION_ANNOTATION]);
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        d.status ??= {};
        setCondition(d.status, newCondition('Progressing', 'True', FOUND_NEW_RS_REASON, `Found new replica set "${rsCopy.metadata.name}"`, this.now()));
        needsUpdate = true;
      }
      if (needsUpdate) await this.writeStatus(s);
      return existing;
    }
    if (!create) return undefined;

    const template = clone(d.spec.template ?? {});
    const hash = computeHash(template, d.status?.collisionCount);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash } };
    const selector = clone(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash };
    const name = `${d.metadata.name}-${hash}`;
    const newRS: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: d.metadata.namespace, ownerReferences: [controllerRefTo(d)], labels: { ...template.metadata.labels } },
      spec: { replicas: 0, selector, template },
    };
    if (d.spec.minReadySeconds) newRS.spec.minReadySeconds = d.spec.minReadySeconds;
    const count = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    newRS.spec.replicas = count;
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);

    let created: ReplicaSet;
    let alreadyExists = false;
    try {
      created = await this.rsClient(d.metadata.namespace!).create(newRS);
    } catch (e) {
      if (e instanceof StatusError && e.reason === 'AlreadyExists') {
        // a slow cache, or a hash collision with a ReplicaSet of another template
        alreadyExists = true;
        const rs = this.replicaSets.lister().namespace(d.metadata.namespace!).get(name);
        if (!rs) throw e;
        const ref = controllerOf(rs);
        if (ref?.uid === d.metadata.uid && equalIgnoreHash(d.spec.template, rs.spec.template)) {
          created = rs;
        } else {
          d.status ??= {};
          const before = d.status.collisionCount ?? 0;
          d.status.collisionCount = before + 1;
          try {
            await this.writeStatus(s);
            this.ctx.log(`deployment: found a hash collision for ${keyOf(d)}; bumping collisionCount from ${before} to ${before + 1}`);
          } catch {
            // the retry will find the collision again
          }
          throw e;
        }
      } else if (namespaceTerminating(e)) {
        throw e;
      } else {
        const msg = `Failed to create new replica set "${name}": ${(e as Error).message}`;
        if (hasProgressDeadline(d)) {
          d.status ??= {};
          setCondition(d.status, newCondition('Progressing', 'False', FAILED_RS_CREATE_REASON, msg, this.now()));
          await this.writeStatus(s).catch(() => undefined);
        }
        this.event(d, EVENT_TYPE_WARNING, FAILED_RS_CREATE_REASON, msg);
        throw e;
      }
    }
    this.replaceRS(s, created);
    if (!alreadyExists && count > 0) this.event(d, EVENT_TYPE_NORMAL, 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} to ${count}`);
    let needsUpdate = this.setDeploymentRevision(d, String(newRevision));
    if (!alreadyExists && hasProgressDeadline(d)) {
      d.status ??= {};
      setCondition(d.status, newCondition('Progressing', 'True', NEW_REPLICA_SET_REASON, `Created new replica set "${created.metadata.name}"`, this.now()));
      needsUpdate = true;
    }
    if (needsUpdate) await this.writeStatus(s);
    return created;
  }

  private setDeploymentRevision(d: Deployment, revision: string | undefined): boolean {
    if (revision === undefined) revision = '';
    const a = (d.metadata.annotations ??= {});
    if (a[REVISION_ANNOTATION] === revision) return false;
    a[REVISION_ANNOTATION] = revision;
    return true;
  }

  /** A scaling event: an active ReplicaSet's desired-replicas annotation differs from spec.replicas. */
  private async isScalingEvent(s: SyncState): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    for (const rs of filterActive([...oldRSs, newRS])) {
      const desired = desiredReplicasAnnotation(rs);
      if (desired !== undefined && desired !== replicasOf(s.d)) return true;
    }
    return false;
  }

  private async syncStatusOnly(s: SyncState): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    await this.syncDeploymentStatus(s, [...oldRSs, newRS], newRS);
  }

  /** Scaling and paused Deployments: resize without rolling out. */
  private async syncScale(s: SyncState): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    await this.scale(s, newRS, oldRSs);
    if (s.d.spec.paused && rollbackTo(s.d) === undefined) await this.cleanupDeployment(s, this.currentOld(s, oldRSs));
    await this.syncDeploymentStatus(s, [...this.currentOld(s, oldRSs), this.current(s, newRS)], this.current(s, newRS));
  }

  private current(s: SyncState, rs: ReplicaSet | undefined): ReplicaSet | undefined {
    return rs && (s.rsList.find((r) => r.metadata.uid === rs.metadata.uid) ?? rs);
  }

  private currentOld(s: SyncState, rss: ReplicaSet[]): ReplicaSet[] {
    return rss.map((rs) => this.current(s, rs)!);
  }

  /**
   * upstream's scale(): one active (or, with none, the newest) ReplicaSet takes spec.replicas;
   * a saturated new ReplicaSet scales the old ones to 0; otherwise a rolling Deployment spreads
   * the difference proportionally over its active ReplicaSets.
   */
  private async scale(s: SyncState, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const d = s.d;
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if (replicasOf(activeOrLatest) === replicasOf(d)) return;
      await this.scaleReplicaSetAndRecordEvent(s, activeOrLatest, replicasOf(d));
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of filterActive(oldRSs)) await this.scaleReplicaSetAndRecordEvent(s, old, 0);
      return;
    }
    if (isRollingUpdate(d)) {
      const { sizes, order, op } = proportionalSizes(d, filterActive([...oldRSs, newRS]));
      for (const rs of order) await this.scaleReplicaSet(s, rs, sizes.get(rs.metadata.name!)!, op);
    }
  }

  private async scaleReplicaSetAndRecordEvent(s: SyncState, rs: ReplicaSet, newScale: number): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    if (replicasOf(rs) === newScale) return { scaled: false, rs };
    return this.scaleReplicaSet(s, rs, newScale, replicasOf(rs) < newScale ? 'up' : 'down');
  }

  private async scaleReplicaSet(s: SyncState, rs: ReplicaSet, newScale: number, op: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const d = s.d;
    const sizeNeedsUpdate = replicasOf(rs) !== newScale;
    const desired = replicasOf(d);
    const max = desired + maxSurge(d);
    if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const oldScale = replicasOf(rs);
    const copy = clone(rs);
    copy.spec.replicas = newScale;
    setReplicasAnnotations(copy, desired, max);
    const updated = await this.rsClient(rs.metadata.namespace!).update(copy);
    this.replaceRS(s, updated);
    if (sizeNeedsUpdate) this.event(d, EVENT_TYPE_NORMAL, 'ScalingReplicaSet', `Scaled ${op} replica set ${updated.metadata.name} to ${newScale} from ${oldScale}`);
    return { scaled: sizeNeedsUpdate, rs: updated };
  }

  /** Deletes the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private async cleanupDeployment(s: SyncState, oldRSs: ReplicaSet[]): Promise<void> {
    const d = s.d;
    if (!hasRevisionHistoryLimit(d)) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - d.spec.revisionHistoryLimit!;
    if (diff <= 0) return;
    cleanable.sort(byRevision);
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i]!;
      if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0) || rs.metadata.deletionTimestamp) continue;
      try {
        await this.rsClient(rs.metadata.namespace!).delete(rs.metadata.name!);
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
  }

  private statusUnchanged(d: Deployment, next: ReturnType<typeof normalizeStatus>): boolean {
    return canonicalJson(normalizeStatus(d.status)) === canonicalJson(next);
  }

  private async syncDeploymentStatus(s: SyncState, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
    const next = calculateStatus(allRSs, newRS, s.d, this.now());
    if (this.statusUnchanged(s.d, next)) return;
    s.d.status = next;
    await this.writeStatus(s);
  }

  private async syncRolloutStatus(s: SyncState, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
    const d = s.d;
    const now = this.now();
    const next = rolloutStatus(allRSs, newRS, d, now);
    if (this.statusUnchanged(d, next)) {
      const delay = stuckRequeueDelay(d, next, now);
      if (delay === 0) this.queue.addRateLimited(keyOf(d));
      else if (delay > 0) this.queue.addAfter(keyOf(d), delay);
      return;
    }
    d.status = next;
    await this.writeStatus(s);
  }

  // ---------------------------------------------------------------------------- rolling update

  private async rolloutRolling(s: SyncState): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, true);
    const all = () => [...this.currentOld(s, oldRSs), this.current(s, newRS)];
    if (await this.reconcileNewReplicaSet(s, all(), this.current(s, newRS)!)) return this.syncRolloutStatus(s, all(), this.current(s, newRS));
    if (await this.reconcileOldReplicaSets(s, all(), filterActive(this.currentOld(s, oldRSs)), this.current(s, newRS)!)) return this.syncRolloutStatus(s, all(), this.current(s, newRS));
    if (deploymentComplete(s.d, normalizeStatus(s.d.status))) await this.cleanupDeployment(s, this.currentOld(s, oldRSs));
    return this.syncRolloutStatus(s, all(), this.current(s, newRS));
  }

  private async reconcileNewReplicaSet(s: SyncState, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet): Promise<boolean> {
    const d = s.d;
    if (replicasOf(newRS) === replicasOf(d)) return false;
    if (replicasOf(newRS) > replicasOf(d)) return (await this.scaleReplicaSetAndRecordEvent(s, newRS, replicasOf(d))).scaled;
    const count = newRSNewReplicas(d, allRSs.filter((r): r is ReplicaSet => !!r), newRS);
    return (await this.scaleReplicaSetAndRecordEvent(s, newRS, count)).scaled;
  }

  /**
   * Scale old ReplicaSets down as far as availability allows: at most
   * allPods - minAvailable - (new pods not yet available), unhealthy old pods first.
   */
  private async reconcileOldReplicaSets(s: SyncState, allRSs: (ReplicaSet | undefined)[], oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    const d = s.d;
    if (sumReplicas(oldRSs) === 0) return false;
    const allPods = sumReplicas(allRSs);
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    let cleaned: { rss: ReplicaSet[]; count: number };
    try {
      cleaned = await this.cleanupUnhealthyReplicas(s, oldRSs, maxScaledDown);
    } catch (e) {
      // upstream gives up this round (e.g. a status not yet caught up with its spec)
      this.ctx.log(`deployment: ${keyOf(d)}: ${(e as Error).message}`);
      return false;
    }
    let scaledDown: number;
    try {
      scaledDown = await this.scaleDownOldReplicaSetsForRollingUpdate(s, [...cleaned.rss, newRS], cleaned.rss);
    } catch (e) {
      this.ctx.log(`deployment: ${keyOf(d)}: ${(e as Error).message}`);
      return false;
    }
    return cleaned.count + scaledDown > 0;
  }

  /** Scales down the old ReplicaSets' unavailable pods first (they cost no availability), oldest first. */
  private async cleanupUnhealthyReplicas(s: SyncState, oldRSs: ReplicaSet[], maxCleanup: number): Promise<{ rss: ReplicaSet[]; count: number }> {
    const rss = [...oldRSs].sort(byCreation);
    let total = 0;
    for (let i = 0; i < rss.length; i++) {
      if (total >= maxCleanup) break;
      const rs = rss[i]!;
      const replicas = replicasOf(rs);
      const available = rs.status?.availableReplicas ?? 0;
      if (replicas === 0 || replicas === available) continue;
      const count = Math.min(maxCleanup - total, replicas - available);
      const next = replicas - count;
      if (next > replicas) throw new Error(`when cleaning up unhealthy replicas, got invalid request to scale down ${rs.metadata.namespace}/${rs.metadata.name} ${replicas} -> ${next}`);
      const r = await this.scaleReplicaSetAndRecordEvent(s, rs, next);
      total += count;
      rss[i] = r.rs;
    }
    return { rss, count: total };
  }

  /** Scales old ReplicaSets down, oldest first, by what availability above minAvailable allows. */
  private async scaleDownOldReplicaSetsForRollingUpdate(s: SyncState, allRSs: ReplicaSet[], oldRSs: ReplicaSet[]): Promise<number> {
    const d = s.d;
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const available = sumAvailableWithinSpec(allRSs);
    if (available <= minAvailable) return 0;
    const rss = [...oldRSs].sort(byCreation);
    const toScaleDown = available - minAvailable;
    let total = 0;
    for (const rs of rss) {
      if (total >= toScaleDown) break;
      const replicas = replicasOf(rs);
      if (replicas === 0) continue;
      const count = Math.min(replicas, toScaleDown - total);
      const next = replicas - count;
      if (next > replicas) throw new Error(`when scaling down old RS, got invalid request to scale down ${rs.metadata.namespace}/${rs.metadata.name} ${replicas} -> ${next}`);
      await this.scaleReplicaSetAndRecordEvent(s, rs, next);
      total += count;
    }
    return total;
  }

  // ---------------------------------------------------------------------------- recreate

  private async rolloutRecreate(s: SyncState): Promise<void> {
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, false);
    const all = () => [...this.currentOld(s, oldRSs), this.current(s, newRS)];
    // scale every old ReplicaSet down first; do not create the new one before they are gone
    let scaledDown = false;
    for (const rs of filterActive(oldRSs)) {
      if ((await this.scaleReplicaSetAndRecordEvent(s, rs, 0)).scaled) scaledDown = true;
    }
    if (scaledDown) return this.syncRolloutStatus(s, all(), this.current(s, newRS));
    if (this.oldPodsRunning(newRS, this.currentOld(s, oldRSs))) return this.syncRolloutStatus(s, all(), this.current(s, newRS));
    if (!newRS) ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, true));
    await this.scaleReplicaSetAndRecordEvent(s, this.current(s, newRS)!, replicasOf(s.d));
    if (deploymentComplete(s.d, normalizeStatus(s.d.status))) await this.cleanupDeployment(s, this.currentOld(s, oldRSs));
    return this.syncRolloutStatus(s, all(), this.current(s, newRS));
  }

  /** Whether any pod of an old ReplicaSet may still run (terminal pods do not count). */
  private oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
    if (sumStatus(oldRSs, 'replicas') > 0) return true;
    for (const rs of oldRSs) {
      if (newRS && rs.metadata.uid === newRS.metadata.uid) continue;
      for (const p of this.pods.indexer.byIndex(BY_CONTROLLER_UID, rs.metadata.uid!)) {
        const phase = p.status?.phase;
        if (phase === 'Failed' || phase === 'Succeeded') continue;
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------------------- rollback (deprecated annotation)

  /**
   * The apps/v1beta1 rollback request (the deprecated.deployment.rollback.to annotation):
   * copy the template of the requested revision (0: the previous one) into the Deployment.
   * `kubectl rollout undo` patches the template itself and never gets here.
   */
  private async rollback(s: SyncState): Promise<void> {
    const d = s.d;
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(s, true);
    const all = [...this.currentOld(s, oldRSs), this.current(s, newRS)].filter((r): r is ReplicaSet => !!r);
    let to = rollbackTo(d)!;
    if (to === 0) {
      to = lastRevision(all);
      if (to === 0) {
        this.event(d, EVENT_TYPE_WARNING, ROLLBACK_REVISION_NOT_FOUND, 'Unable to find last revision.');
        return this.clearRollbackTo(s);
      }
    }
    for (const rs of all) {
      if (revisionOf(rs) !== to) continue;
      if (!equalIgnoreHash(d.spec.template, rs.spec.template)) {
        const t = clone(rs.spec.template ?? {});
        if (t.metadata?.labels) delete t.metadata.labels[DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY];
        d.spec.template = t;
        const kept = Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => skipCopyAnnotation(k)));
        for (const [k, v] of Object.entries(rs.metadata.annotations ?? {})) if (!skipCopyAnnotation(k)) kept[k] = v;
        d.metadata.annotations = kept;
        await this.clearRollbackTo(s);
        this.event(d, EVENT_TYPE_NORMAL, ROLLBACK_DONE, `Rolled back deployment "${d.metadata.name}" to revision ${to}`);
        return;
      }
      this.event(d, EVENT_TYPE_WARNING, ROLLBACK_TEMPLATE_UNCHANGED, `The rollback revision contains the same template as current deployment "${d.metadata.name}"`);
      return this.clearRollbackTo(s);
    }
    this.event(d, EVENT_TYPE_WARNING, ROLLBACK_REVISION_NOT_FOUND, 'Unable to find the revision to rollback to.');
    return this.clearRollbackTo(s);
  }

  private async clearRollbackTo(s: SyncState): Promise<void> {
    if (s.d.metadata.annotations) delete s.d.metadata.annotations[DEPRECATED_ROLLBACK_TO];
    await this.writeDeployment(s);
  }
}

/** The revision a deprecated rollback request names, if any (invalid values are ignored). */
function rollbackTo(d: Deployment): number | undefined {
  const v = d.metadata.annotations?.[DEPRECATED_ROLLBACK_TO];
  if (!v || !/^[+-]?\d+$/.test(v)) return undefined;
  return Number(v);
}

/** upstream's FindActiveOrLatest: the only active ReplicaSet, the newest when none is; undefined when several are. */
function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const olds = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = filterActive([...olds, newRS]);
  if (active.length === 0) return newRS ?? olds[0];
  if (active.length === 1) return active[0];
  return undefined;
}

export function deploymentController(o: DeploymentControllerOptions = {}): Controller {
  return {
    name: 'deployment',
    setup(ctx) {
      const syncer = new DeploymentSyncer(ctx);
      return {
        run: (signal) =>
          runWorkers(
            syncer.queue,
            o.workers ?? 5,
            async (key) => {
              try {
                await syncer.sync(key);
              } catch (e) {
                // a namespace being deleted refuses every create: nothing to retry
                if (namespaceTerminating(e)) return;
                throw e;
              }
            },
            signal,
            ctx.log,
            'deployment',
          ),
      };
    },
  };
}

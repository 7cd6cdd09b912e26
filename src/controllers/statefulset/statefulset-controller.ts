// The StatefulSet controller (upstream's pkg/controller/statefulset): pods with stable names
// `<set>-<ordinal>`, created in order and each only once its predecessors are Running and Ready
// (OrderedReady) or all at once (Parallel); a PersistentVolumeClaim `<template>-<set>-<ordinal>`
// per claim template, created before the pod; rolling updates from the highest ordinal down to
// the partition, one pod at a time, waiting for each replacement to be Ready; OnDelete updates
// only what users delete; ControllerRevisions for every template; status and events as upstream.
import { StatusError } from '../../api/errors.ts';
import { labelSelectorAsSelector, type Selector } from '../../api/labels.ts';
import { clone, type KObject, type OwnerReference } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, type EventRecorder } from '../../client/events.ts';
import type { Lister } from '../../client/store.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { keyOf, runWorkers, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { claimObjects, ownerRecheck } from '../workload/claim.ts';
import { dependentHandler } from '../workload/handlers.ts';
import { availableAt, controllerOf, isTerminating, newControllerRef, podPhase, slowStartBatch, type Json, type Pod } from '../workload/pods.ts';
import {
  applyRevision,
  createControllerRevision,
  equalRevision,
  newControllerRevision,
  nextRevision,
  sortRevisions,
  templatePatch,
  updateRevisionNumber,
  type ControllerRevision,
} from '../workload/revisions.ts';
import { updateStatusWithRetry } from '../workload/status.ts';
import {
  allowsBurst,
  claimIsStale,
  claimOwnerRefsFor,
  claimsFor,
  completeRollingUpdate,
  endOrdinal,
  identityMatches,
  inOrdinalRange,
  isCreated,
  isHealthy,
  isMemberOf,
  isRunningAndAvailable,
  isRunningAndReady,
  ordinalOf,
  podRevision,
  replicaCounts,
  replicasOf,
  retentionPolicy,
  revisionsToTruncate,
  startOrdinal,
  statusDiffers,
  statusObject,
  storageMatches,
  updateIdentity,
  updateStorage,
  newVersionedStatefulSetPod,
  type StatefulSet,
} from './statefulset-utils.ts';

const KIND = 'StatefulSet';
const API_VERSION = 'apps/v1';

interface Ctx {
  ctx: ControllerContext;
  recorder: EventRecorder;
  sets: Lister<StatefulSet>;
  pods: Lister<Pod>;
  revisions: Lister<ControllerRevision>;
  claims: Lister<KObject>;
  queue: WorkQueue<string>;
}

/** The StatefulSet controller ("statefulset", events from "statefulset-controller"). */
export function statefulSetController(): Controller {
  return {
    name: 'statefulset',
    setup(ctx) {
      const setInf = ctx.informers.informerFor<StatefulSet>('apps', 'statefulsets');
      const podInf = ctx.informers.informerFor<Pod>('', 'pods');
      const revInf = ctx.informers.informerFor<ControllerRevision>('apps', 'controllerrevisions');
      const pvcInf = ctx.informers.informerFor('', 'persistentvolumeclaims');
      const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'statefulset' });
      const c: Ctx = {
        ctx,
        recorder: ctx.recorder('statefulset-controller'),
        sets: setInf.lister(),
        pods: podInf.lister(),
        revisions: revInf.lister(),
        claims: pvcInf.lister(),
        queue,
      };
      setInf.addEventHandler({
        onAdd: (s) => queue.add(keyOf(s)),
        onUpdate: (_o, s) => queue.add(keyOf(s)),
        onDelete: (s) => queue.add(keyOf(s)),
      });
      podInf.addEventHandler(dependentHandler({ kind: KIND, owners: c.sets, enqueue: (k) => queue.add(k) }));
      revInf.addEventHandler(dependentHandler({ kind: KIND, owners: c.sets, enqueue: (k) => queue.add(k) }));
      return { run: (signal) => runWorkers(queue, 5, (key) => syncStatefulSet(c, key), signal, ctx.log, 'statefulset') };
    },
  };
}

function setsClient(c: Ctx, ns: string): ResourceClient<StatefulSet> {
  return c.ctx.client.resource<StatefulSet>('apps', 'statefulsets').namespace(ns);
}

function podsClient(c: Ctx, ns: string): ResourceClient<Pod> {
  return c.ctx.client.resource<Pod>('', 'pods').namespace(ns);
}

function revisionsClient(c: Ctx, ns: string): ResourceClient<ControllerRevision> {
  return c.ctx.client.resource<ControllerRevision>('apps', 'controllerrevisions').namespace(ns);
}

function claimsClient(c: Ctx, ns: string): ResourceClient<KObject> {
  return c.ctx.client.resource('', 'persistentvolumeclaims').namespace(ns);
}

function errText(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

function recordPodEvent(c: Ctx, verb: string, set: StatefulSet, pod: KObject, err?: unknown): void {
  const title = verb[0]!.toUpperCase() + verb.slice(1);
  if (err === undefined) c.recorder.event(set, EVENT_TYPE_NORMAL, `Successful${title}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`);
  else c.recorder.event(set, EVENT_TYPE_WARNING, `Failed${title}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${errText(err)}`);
}

function recordClaimEvent(c: Ctx, verb: string, set: StatefulSet, pod: KObject, claim: KObject, err?: unknown): void {
  const title = verb[0]!.toUpperCase() + verb.slice(1);
  if (err === undefined) c.recorder.event(set, EVENT_TYPE_NORMAL, `Successful${title}`, `${verb} Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`);
  else c.recorder.event(set, EVENT_TYPE_WARNING, `Failed${title}`, `${verb} Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${errText(err)}`);
}

async function syncStatefulSet(c: Ctx, key: string): Promise<void> {
  const { namespace, name } = splitKey(key);
  const shared = c.sets.namespace(namespace).get(name);
  if (!shared) return;
  let selector: Selector;
  try {
    selector = labelSelectorAsSelector(shared.spec?.selector);
  } catch (e) {
    c.recorder.event(shared, EVENT_TYPE_WARNING, 'InvalidSelector', `Invalid selector: ${errText(e)}`);
    return;
  }
  if (selector.requirements.length === 0) return; // an empty selector would claim every pod
  const set = clone(shared);
  const ref = newControllerRef(set, API_VERSION, KIND);
  const recheck = ownerRecheck(setsClient(c, namespace), set, KIND);

  // adopt orphaned revisions, then claim member pods
  const orphanRevs = c.revisions.namespace(namespace).list(selector).filter((r) => !controllerOf(r));
  if (orphanRevs.length && !set.metadata.deletionTimestamp) await claimObjects(orphanRevs, { owner: set, ownerRef: ref, selector, client: revisionsClient(c, namespace), recheckOwner: recheck });
  const pods = await claimObjects(c.pods.namespace(namespace).list(), {
    owner: set,
    ownerRef: ref,
    selector,
    client: podsClient(c, namespace),
    canClaim: (p) => isMemberOf(set, p),
    recheckOwner: recheck,
  });

  const status = await updateStatefulSet(c, set, selector, ref, pods);
  const minReady = set.spec?.minReadySeconds ?? 0;
  if (minReady > 0 && status && status.availableReplicas !== replicasOf(set)) {
    // pods become available with time alone: look again when the first ready one would be
    const now = c.ctx.clock.now();
    const waits = pods.map((p) => availableAt(p, minReady)).filter((t): t is number => t !== undefined && t > now);
    c.queue.addAfter(key, waits.length ? Math.min(...waits) - now + 1 : minReady * 1000);
  }
}

/** The revisions this set owns (ListControllerRevisions: matching the selector, controlled by it or orphans). */
function ownedRevisions(c: Ctx, set: StatefulSet, selector: Selector): ControllerRevision[] {
  return c.revisions
    .namespace(set.metadata.namespace!)
    .list(selector)
    .filter((r) => {
      const ref = controllerOf(r);
      return !ref || ref.uid === set.metadata.uid;
    });
}

async function updateStatefulSet(c: Ctx, set: StatefulSet, selector: Selector, ref: OwnerReference, pods: Pod[]): Promise<Json | undefined> {
  const ns = set.metadata.namespace!;
  const revisions = sortRevisions(ownedRevisions(c, set, selector));
  const collision = { count: set.status?.collisionCount ?? 0 };

  // current and update revisions (getStatefulSetRevisions)
  let updateRevision = newControllerRevision(set, ref, set.spec?.template?.metadata?.labels, templatePatch(set), nextRevision(revisions), collision.count);
  const equal = revisions.filter((r) => equalRevision(r, updateRevision));
  const revClient = revisionsClient(c, ns);
  if (equal.length && equalRevision(revisions[revisions.length - 1], equal[equal.length - 1])) {
    updateRevision = revisions[revisions.length - 1]!;
  } else if (equal.length) {
    // a rollback to an earlier template: that revision becomes the newest
    updateRevision = await updateRevisionNumber(revClient, equal[equal.length - 1]!, updateRevision.revision);
  } else {
    updateRevision = await createControllerRevision(revClient, set, updateRevision, collision);
  }
  const currentRevision = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? updateRevision;

  let result: { status: Json; error?: unknown };
  try {
    result = await reconcilePods(c, set, currentRevision, updateRevision, collision.count, pods);
  } catch (e) {
    await truncateHistory(c, set, pods, revisions, currentRevision, updateRevision).catch(() => undefined);
    throw e;
  }
  let statusErr: unknown;
  try {
    await writeStatus(c, set, result.status);
  } catch (e) {
    statusErr = e;
  }
  await truncateHistory(c, set, pods, revisions, currentRevision, updateRevision);
  if (result.error !== undefined) throw result.error;
  if (statusErr !== undefined) throw statusErr;
  return result.status;
}

async function truncateHistory(c: Ctx, set: StatefulSet, pods: Pod[], sorted: ControllerRevision[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
  const limit = set.spec?.revisionHistoryLimit ?? 10;
  const client = revisionsClient(c, set.metadata.namespace!);
  for (const r of revisionsToTruncate(sorted, pods, current.metadata.name!, update.metadata.name!, limit)) {
    try {
      await client.delete(r.metadata.name!);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
  }
}

async function writeStatus(c: Ctx, set: StatefulSet, status: Json): Promise<void> {
  completeRollingUpdate(set, status);
  if (!statusDiffers(set, status)) return;
  await updateStatusWithRetry(setsClient(c, set.metadata.namespace!), set, (cur) => statusObject(status, cur.status?.conditions));
}

/**
 * Creates, fixes and deletes pods toward the target (updateStatefulSet). Answers the status to
 * record, and the error that stopped progress, if any (the status is written either way).
 */
async function reconcilePods(c: Ctx, set: StatefulSet, currentRevision: ControllerRevision, updateRevision: ControllerRevision, collisionCount: number, pods: Pod[]): Promise<{ status: Json; error?: unknown }> {
  const currentSet = applyRevision(set, currentRevision);
  const updateSet = applyRevision(set, updateRevision);
  const now = c.ctx.clock.now();
  const minReady = set.spec?.minReadySeconds ?? 0;
  const cur = currentRevision.metadata.name!;
  const upd = updateRevision.metadata.name!;
  const status: Json = { observedGeneration: set.metadata.generation, currentRevision: cur, updateRevision: upd, collisionCount };
  const recount = (...lists: (Pod | undefined)[][]) => Object.assign(status, replicaCounts(lists.flat().filter((p): p is Pod => !!p), minReady, cur, upd, now));
  recount(pods);

  const start = startOrdinal(set);
  const replicaCount = replicasOf(set);
  const replicas: (Pod | undefined)[] = new Array(replicaCount).fill(undefined);
  const condemned: Pod[] = [];
  for (const pod of pods) {
    if (inOrdinalRange(pod, set)) replicas[ordinalOf(pod) - start] = pod;
    else if (ordinalOf(pod) >= 0) condemned.push(pod);
  }
  const ref = newControllerRef(set, API_VERSION, KIND);
  for (let ord = start; ord <= endOrdinal(set); ord++) {
    if (!replicas[ord - start]) replicas[ord - start] = newVersionedStatefulSetPod(currentSet, updateSet, cur, upd, ord, ref);
  }
  condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
  const live = replicas as Pod[];
  let firstUnhealthy: Pod | undefined = live.find((p) => !isHealthy(p));
  if (!firstUnhealthy) for (let i = condemned.length - 1; i >= 0; i--) if (!isHealthy(condemned[i]!)) { firstUnhealthy = condemned[i]; break; }

  if (set.metadata.deletionTimestamp) return { status };
  const monotonic = !allowsBurst(set);
  const done = (error?: unknown) => {
    recount(live, condemned);
    return { status, error };
  };

  // 1. every replica exists, has its identity and storage; in order when monotonic
  const replicaStep = (i: number) => processReplica(c, set, updateSet, monotonic, live, i, minReady);
  const r1 = await runForAll(live.length, replicaStep, monotonic);
  if (r1.exit || r1.error !== undefined) return done(r1.error);

  // 2. claims of condemned pods follow the retention policy before the pods go
  const fixClaims = async (i: number) => {
    await fixPodClaims(c, updateSet, condemned[i]!);
    return false;
  };
  const r2 = await runForAll(condemned.length, fixClaims, monotonic);
  if (r2.exit || r2.error !== undefined) return done(r2.error);

  // 3. scale down, highest ordinal first
  const condemnedStep = (i: number) => processCondemned(c, set, firstUnhealthy, monotonic, condemned, i, minReady);
  const r3 = await runForAll(condemned.length, condemnedStep, monotonic);
  if (r3.exit || r3.error !== undefined) return done(r3.error);
  recount(live, condemned);

  if (set.spec?.updateStrategy?.type === 'OnDelete') return { status };

  // 4. rolling update: delete the highest-ordinal pod not at the update revision, down to the partition
  const updateMin = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  for (let target = live.length - 1; target >= updateMin; target--) {
    const pod = live[target]!;
    if (podRevision(pod) !== upd && !isTerminating(pod)) {
      try {
        await deletePod(c, set, pod);
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) return { status, error: e };
      }
      status.currentReplicas--;
      return { status };
    }
    if (!isHealthy(pod)) return { status };
  }
  return { status };
}

async function runForAll(n: number, fn: (i: number) => Promise<boolean>, monotonic: boolean): Promise<{ exit: boolean; error?: unknown }> {
  if (monotonic) {
    for (let i = 0; i < n; i++) {
      try {
        if (await fn(i)) return { exit: true };
      } catch (e) {
        return { exit: true, error: e };
      }
    }
    return { exit: false };
  }
  const r = await slowStartBatch(
    Array.from({ length: n }, (_, i) => i),
    1,
    async (i) => {
      await fn(i);
    },
  );
  return r.error !== undefined ? { exit: true, error: r.error } : { exit: false };
}

async function deletePod(c: Ctx, set: StatefulSet, pod: KObject): Promise<void> {
  try {
    await podsClient(c, set.metadata.namespace!).delete(pod.metadata.name!);
  } catch (e) {
    recordPodEvent(c, 'delete', set, pod, e);
    throw e;
  }
  recordPodEvent(c, 'delete', set, pod);
}

/** Answers true when the ordered walk must stop at this replica. */
async function processReplica(c: Ctx, set: StatefulSet, updateSet: StatefulSet, monotonic: boolean, replicas: Pod[], i: number, minReady: number): Promise<boolean> {
  const pod = replicas[i]!;
  // a finished pod is replaced: delete it, the next sync creates it again
  const phase = podPhase(pod);
  if (phase === 'Failed' || phase === 'Succeeded') {
    if (!pod.metadata.deletionTimestamp) await deletePod(c, set, pod);
    return true;
  }
  if (!isCreated(pod)) {
    if (retentionPolicy(set).whenScaled !== 'Retain' && claimsAreStale(c, set, pod)) return true;
    await createStatefulPod(c, set, pod);
    return monotonic;
  }
  if (phase === 'Pending') await createClaims(c, set, pod);
  const now = c.ctx.clock.now();
  if (monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !isRunningAndAvailable(pod, minReady, now))) return true;
  const claimsMatch = claimsMatchPolicy(c, updateSet, pod);
  if (identityMatches(set, pod) && storageMatches(set, pod) && claimsMatch) return false;
  await updateStatefulPod(c, updateSet, pod);
  return false;
}

async function processCondemned(c: Ctx, set: StatefulSet, firstUnhealthy: Pod | undefined, monotonic: boolean, condemned: Pod[], i: number, minReady: number): Promise<boolean> {
  const pod = condemned[i]!;
  if (isTerminating(pod)) return monotonic;
  const now = c.ctx.clock.now();
  if (monotonic && pod !== firstUnhealthy && (!isRunningAndReady(pod) || !isRunningAndAvailable(pod, minReady, now))) return true;
  await deletePod(c, set, pod);
  return true;
}

function claimsAreStale(c: Ctx, set: StatefulSet, pod: Pod): boolean {
  for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
    const existing = c.claims.namespace(set.metadata.namespace!).get(claim.metadata.name);
    if (existing && claimIsStale(existing, pod)) return true;
  }
  return false;
}

/** Creates the pod's missing claims (owner references per the retention policy), recording events. */
async function createClaims(c: Ctx, set: StatefulSet, pod: Pod): Promise<void> {
  const errors: string[] = [];
  const client = claimsClient(c, set.metadata.namespace!);
  for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
    const existing = c.claims.namespace(set.metadata.namespace!).get(claim.metadata.name);
    if (existing) {
      if (existing.metadata.deletionTimestamp) errors.push(`pvc ${claim.metadata.name} is being deleted`);
      continue;
    }
    const refs = claimOwnerRefsFor(claim, set, pod);
    if (refs?.length) claim.metadata.ownerReferences = refs;
    try {
      await client.create(claim);
      recordClaimEvent(c, 'create', set, pod, claim);
    } catch (e) {
      if (e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists') continue; // our cache is behind
      errors.push(`failed to create PVC ${claim.metadata.name}: ${errText(e)}`);
      recordClaimEvent(c, 'create', set, pod, claim, e);
    }
  }
  if (errors.length) throw new Error(errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`);
}

async function createStatefulPod(c: Ctx, set: StatefulSet, pod: Pod): Promise<void> {
  try {
    await createClaims(c, set, pod);
  } catch (e) {
    recordPodEvent(c, 'create', set, pod, e);
    throw e;
  }
  try {
    await podsClient(c, set.metadata.namespace!).create(pod);
  } catch (e) {
    if (e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists') throw e;
    recordPodEvent(c, 'create', set, pod, e);
    throw e;
  }
  recordPodEvent(c, 'create', set, pod);
}

function claimsMatchPolicy(c: Ctx, set: StatefulSet, pod: Pod): boolean {
  for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
    const existing = c.claims.namespace(set.metadata.namespace!).get(claim.metadata.name);
    if (existing && claimOwnerRefsFor(existing, set, pod)) return false;
  }
  return true;
}

/** Sets the claims' owner references to what the retention policy says for this pod. */
async function fixPodClaims(c: Ctx, set: StatefulSet, pod: Pod): Promise<void> {
  const client = claimsClient(c, set.metadata.namespace!);
  for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
    const existing = c.claims.namespace(set.metadata.namespace!).get(claim.metadata.name);
    if (!existing) continue;
    const refs = claimOwnerRefsFor(existing, set, pod);
    if (!refs) continue;
    const body = clone(existing);
    body.metadata.ownerReferences = refs;
    await client.update(body);
  }
}

/** Restores identity labels and claims of an existing pod (UpdateStatefulPod). */
async function updateStatefulPod(c: Ctx, set: StatefulSet, pod: Pod): Promise<void> {
  const client = podsClient(c, set.metadata.namespace!);
  let cur = pod;
  for (let attempt = 0; ; attempt++) {
    const body = clone(cur);
    let changed = false;
    if (!identityMatches(set, body)) {
      updateIdentity(set, body);
      changed = true;
    }
    if (!storageMatches(set, body)) {
      // volumes of a running pod cannot change; create the claims it should have
      const want = clone(body);
      updateStorage(set, want);
      await createClaims(c, set, want);
    }
    await fixPodClaims(c, set, body);
    if (!changed) return;
    try {
      await client.update(body);
      recordPodEvent(c, 'update', set, body);
      return;
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409) || attempt >= 4) {
        recordPodEvent(c, 'update', set, body, e);
        throw e;
      }
      cur = (c.pods.namespace(set.metadata.namespace!).get(pod.metadata.name!) as Pod | undefined) ?? cur;
    }
  }
}

// The Job controller (upstream's pkg/controller/job): runs pods until `completions` succeed
// (parallelism at a time), replaces failed pods after an exponential back-off, fails the Job past
// backoffLimit, activeDeadlineSeconds or a FailJob pod failure policy rule, gives Indexed pods
// their completion index, and honours suspend.
//
// Pods are tracked with the batch.kubernetes.io/job-tracking finalizer, as upstream: every pod is
// created with it; a finished pod's uid is first recorded in status.uncountedTerminatedPods, then
// its finalizer removed, then it moves into status.succeeded/failed. So a pod is counted exactly
// once even if the controller restarts or the pod is deleted right after finishing. Terminal
// conditions are two-step: SuccessCriteriaMet / FailureTarget first, Complete / Failed once no
// pod is left running or uncounted.
import { StatusError } from '../../api/errors.ts';
import { labelSelectorAsSelector, matchesLabels, type Selector } from '../../api/labels.ts';
import { clone, rfc3339 } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, type EventRecorder } from '../../client/events.ts';
import type { EventHandler } from '../../client/informer.ts';
import type { Lister } from '../../client/store.ts';
import { ItemExponentialFailureRateLimiter, WorkQueue } from '../../client/workqueue.ts';
import { keyOf, runWorkers, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { claimObjects, ownerRecheck } from '../workload/claim.ts';
import { Expectations, UidExpectations } from '../workload/expectations.ts';
import { resolveOwner } from '../workload/handlers.ts';
import { controllerOf, isPodActive, isPodReady, isPodTerminatingNotTerminal, newControllerRef, podFromTemplate, podsPrefix, type Json, type Pod } from '../workload/pods.ts';
import {
  activePodsForRemoval,
  addCompletionIndexEnv,
  completionIndex,
  COMPLETION_INDEX_KEY,
  ensureCondition,
  findCondition,
  firstPendingIndexes,
  formatIntervals,
  hasTrackingFinalizer,
  intervalsHave,
  intervalsTotal,
  isIndexed,
  isJobFinished,
  isPodFailed,
  JOB_CONTROLLER_NAME,
  JOB_TRACKING_FINALIZER,
  matchPodFailurePolicy,
  matchSuccessPolicy,
  MAX_POD_CREATE_DELETE_PER_SYNC,
  MAX_UNCOUNTED_PODS,
  newCondition,
  nextBackoffRecord,
  onlyReplaceFailedPods,
  parseIndexes,
  pastBackoffLimitOnFailure,
  podGenerateNameWithIndex,
  remainingBackoffMs,
  withIndexes,
  type BackoffRecord,
  type Interval,
  type Job,
  type JobCondition,
} from './job-utils.ts';

const KIND = 'Job';
const API_VERSION = 'batch/v1';
/** Pod events are batched: a Job syncs at most about once a second for them (syncJobBatchPeriod). */
const SYNC_BATCH_MS = 1000;

interface Ctx {
  ctx: ControllerContext;
  recorder: EventRecorder;
  jobs: Lister<Job>;
  pods: Lister<Pod>;
  queue: WorkQueue<string>;
  orphanQueue: WorkQueue<string>;
  expectations: Expectations;
  finalizerExpectations: UidExpectations;
  backoff: Map<string, BackoffRecord>;
}

/** The Job controller ("job", events from "job-controller"). */
export function jobController(): Controller {
  return {
    name: 'job',
    setup(ctx) {
      const jobInf = ctx.informers.informerFor<Job>('batch', 'jobs');
      const podInf = ctx.informers.informerFor<Pod>('', 'pods');
      // API errors back off 1 s doubling to a minute (DefaultJobApiBackOff, MaxJobApiBackOff)
      const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'job', rateLimiter: new ItemExponentialFailureRateLimiter(1000, 60_000) });
      const orphanQueue = new WorkQueue<string>({ clock: ctx.clock, name: 'job_orphan_pod', rateLimiter: new ItemExponentialFailureRateLimiter(1000, 60_000) });
      const c: Ctx = {
        ctx,
        recorder: ctx.recorder('job-controller'),
        jobs: jobInf.lister(),
        pods: podInf.lister(),
        queue,
        orphanQueue,
        expectations: new Expectations(ctx.clock),
        finalizerExpectations: new UidExpectations(),
        backoff: new Map(),
      };
      jobInf.addEventHandler({
        onAdd: (job) => queue.add(keyOf(job)),
        onUpdate: (old, job) => {
          const key = keyOf(job);
          if (old.metadata.generation === job.metadata.generation) queue.addAfter(key, SYNC_BATCH_MS);
          else queue.add(key);
          if (isJobFinished(job)) cleanupPodFinalizers(c, job);
          // a new activeDeadlineSeconds needs its own wake-up
          const ads = job.spec?.activeDeadlineSeconds;
          if (job.status?.startTime && ads != null && ads !== old.spec?.activeDeadlineSeconds) {
            queue.addAfter(key, ads * 1000 - (ctx.clock.now() - Date.parse(job.status.startTime)));
          }
        },
        onDelete: (job) => {
          queue.add(keyOf(job));
          cleanupPodFinalizers(c, job);
        },
      });
      podInf.addEventHandler(podHandler(c));
      return {
        run: (signal) =>
          Promise.all([
            runWorkers(queue, 5, (key) => syncJob(c, key), signal, ctx.log, 'job'),
            runWorkers(orphanQueue, 1, (key) => syncOrphanPod(c, key), signal, ctx.log, 'job_orphan_pod'),
          ]).then(() => undefined),
      };
    },
  };
}

function jobsClient(c: Ctx, ns: string): ResourceClient<Job> {
  return c.ctx.client.resource<Job>('batch', 'jobs').namespace(ns);
}

function podsClient(c: Ctx, ns: string): ResourceClient<Pod> {
  return c.ctx.client.resource<Pod>('', 'pods').namespace(ns);
}

function errText(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

function podHandler(c: Ctx): EventHandler<Pod> {
  const owner = (pod: Pod) => resolveOwner(c.jobs, KIND, pod.metadata.namespace, controllerOf(pod));
  const matching = (pod: Pod) =>
    c.jobs
      .namespace(pod.metadata.namespace ?? '')
      .list()
      .filter((j) => {
        try {
          const s = labelSelectorAsSelector(j.spec?.selector);
          return s.requirements.length > 0 && matchesLabels(s, pod.metadata.labels);
        } catch {
          return false;
        }
      });
  const batched = (job: Job) => c.queue.addAfter(keyOf(job), SYNC_BATCH_MS);
  const onDeleted = (pod: Pod, final: boolean) => {
    const ref = controllerOf(pod);
    if (!ref) {
      if (hasTrackingFinalizer(pod)) c.orphanQueue.add(keyOf(pod));
      return;
    }
    const job = owner(pod);
    if (!job || isJobFinished(job)) {
      if (hasTrackingFinalizer(pod)) c.orphanQueue.add(keyOf(pod));
      return;
    }
    const key = keyOf(job);
    c.expectations.deletionObserved(key);
    if (final || !hasTrackingFinalizer(pod)) c.finalizerExpectations.observed(key, pod.metadata.uid!);
    batched(job);
  };
  return {
    onAdd(pod) {
      if (pod.metadata.deletionTimestamp) {
        onDeleted(pod, false);
        return;
      }
      if (controllerOf(pod)) {
        const job = owner(pod);
        if (!job) return;
        c.expectations.creationObserved(keyOf(job));
        batched(job);
        return;
      }
      if (hasTrackingFinalizer(pod)) c.orphanQueue.add(keyOf(pod));
      for (const job of matching(pod)) batched(job);
    },
    onUpdate(old, pod) {
      if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
      if (pod.metadata.deletionTimestamp) {
        onDeleted(pod, false);
        return;
      }
      const finalizerRemoved = !hasTrackingFinalizer(pod);
      const ref = controllerOf(pod);
      const oldRef = controllerOf(old);
      if (oldRef && oldRef.uid !== ref?.uid) {
        const oldJob = resolveOwner(c.jobs, KIND, old.metadata.namespace, oldRef);
        if (oldJob) {
          if (finalizerRemoved) c.finalizerExpectations.observed(keyOf(oldJob), pod.metadata.uid!);
          batched(oldJob);
        }
      }
      if (ref) {
        const job = owner(pod);
        if (!job) return;
        if (finalizerRemoved) c.finalizerExpectations.observed(keyOf(job), pod.metadata.uid!);
        batched(job);
        return;
      }
      if (hasTrackingFinalizer(pod)) c.orphanQueue.add(keyOf(pod));
      if (JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {}) || oldRef) for (const job of matching(pod)) batched(job);
    },
    onDelete(pod) {
      onDeleted(pod, true);
    },
  };
}

/** Orphaned and finished-Job pods still carrying the tracking finalizer get it removed. */
function cleanupPodFinalizers(c: Ctx, job: Job): void {
  for (const pod of c.pods.namespace(job.metadata.namespace ?? '').list()) {
    if (controllerOf(pod)?.uid === job.metadata.uid && hasTrackingFinalizer(pod)) c.orphanQueue.add(keyOf(pod));
  }
}

const REMOVE_FINALIZER_PATCH = { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } };

async function syncOrphanPod(c: Ctx, key: string): Promise<void> {
  const { namespace, name } = splitKey(key);
  const pod = c.pods.namespace(namespace).get(name);
  if (!pod || !hasTrackingFinalizer(pod)) return;
  const ref = controllerOf(pod);
  if (ref) {
    if (ref.kind !== KIND || ref.apiVersion !== API_VERSION) return;
    const job = resolveOwner(c.jobs, KIND, namespace, ref);
    if (job && managedByOther(job)) return;
    if (job && !isJobFinished(job)) return; // adopted: its Job counts it
  }
  try {
    await podsClient(c, namespace).patch(name, 'strategic', REMOVE_FINALIZER_PATCH);
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 404)) throw e;
  }
}

function managedByOther(job: Job): boolean {
  const m = job.spec?.managedBy;
  return m != null && m !== JOB_CONTROLLER_NAME;
}

interface SyncCtx {
  job: Job;
  pods: Pod[];
  activePods: Pod[];
  succeeded: number;
  failed: number;
  prevSucceededIndexes: Interval[];
  succeededIndexes: Interval[];
  finishedCondition?: JobCondition;
  newBackoff: BackoffRecord;
  expectedRm: ReadonlySet<string>;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  terminating: number;
  ready: number;
}

async function syncJob(c: Ctx, key: string): Promise<void> {
  const { namespace, name } = splitKey(key);
  const shared = c.jobs.namespace(namespace).get(name);
  if (!shared) {
    c.expectations.delete(key);
    c.finalizerExpectations.delete(key);
    c.backoff.delete(key);
    return;
  }
  if (managedByOther(shared)) return;
  if (isJobFinished(shared)) {
    c.backoff.delete(key);
    return;
  }
  const mode = shared.spec?.completionMode;
  if (mode != null && mode !== 'NonIndexed' && mode !== 'Indexed') {
    c.recorder.event(shared, EVENT_TYPE_WARNING, 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
    return;
  }
  const job = clone(shared);
  job.status = job.status ?? {};
  job.status.uncountedTerminatedPods = job.status.uncountedTerminatedPods ?? {};
  const now = c.ctx.clock.now();
  const satisfied = c.expectations.satisfied(key);

  const pods = await podsForJob(c, job);
  const activePods = pods.filter(isPodActive);
  const uncounted = job.status.uncountedTerminatedPods;
  const sc: SyncCtx = {
    job,
    pods,
    activePods,
    succeeded: 0,
    failed: 0,
    prevSucceededIndexes: [],
    succeededIndexes: [],
    newBackoff: { failuresAfterLastSuccess: 0 },
    expectedRm: c.finalizerExpectations.get(key),
    uncountedSucceeded: new Set(uncounted.succeeded ?? []),
    uncountedFailed: new Set(uncounted.failed ?? []),
    terminating: pods.filter(isPodTerminatingNotTerminal).length,
    ready: activePods.filter(isPodReady).length,
  };
  let active = activePods.length;
  const valid = (p: Pod, uncountedSet: Set<string>) => {
    if (!hasTrackingFinalizer(p) || uncountedSet.has(p.metadata.uid!) || sc.expectedRm.has(p.metadata.uid!)) return false;
    if (isIndexed(job)) {
      const ix = completionIndex(p);
      if (ix < 0 || ix >= (job.spec.completions ?? 0)) return false;
    }
    return true;
  };
  const newSucceeded = pods.filter((p) => valid(p, sc.uncountedSucceeded) && p.status?.phase === 'Succeeded');
  const newFailed = pods.filter((p) => valid(p, sc.uncountedFailed) && isPodFailed(p, job));
  const nonIgnored = job.spec?.podFailurePolicy ? newFailed.filter((p) => matchPodFailurePolicy(job.spec.podFailurePolicy, p).countFailed).length : newFailed.length;
  sc.succeeded = (job.status.succeeded ?? 0) + newSucceeded.length + sc.uncountedSucceeded.size;
  sc.failed = (job.status.failed ?? 0) + nonIgnored + sc.uncountedFailed.size;

  const suspended = job.spec?.suspend === true;
  if (!job.status.startTime && !suspended) job.status.startTime = rfc3339(new Date(now));
  sc.newBackoff = nextBackoffRecord(c.backoff.get(key), newSucceeded, newFailed);

  let manageErr: unknown;
  const successMet = findCondition(job.status.conditions, 'SuccessCriteriaMet');
  if (successMet?.status === 'True') sc.finishedCondition = successMet;
  if (!sc.finishedCondition) {
    const failureTarget = findCondition(job.status.conditions, 'FailureTarget');
    if (failureTarget?.status === 'True') sc.finishedCondition = newCondition('Failed', 'True', failureTarget.reason ?? '', failureTarget.message ?? '', now);
    else {
      const msg = failJobMessage(job, pods);
      if (msg) sc.finishedCondition = newCondition('FailureTarget', 'True', 'PodFailurePolicy', msg, now);
    }
  }
  if (!sc.finishedCondition) {
    const ads = job.spec?.activeDeadlineSeconds;
    if (sc.failed > (job.spec?.backoffLimit ?? 6) || pastBackoffLimitOnFailure(job, pods)) {
      sc.finishedCondition = newCondition('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now);
    } else if (ads != null && job.status.startTime && !suspended && now - Date.parse(job.status.startTime) >= ads * 1000) {
      sc.finishedCondition = newCondition('FailureTarget', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline', now);
    } else if (ads != null && !suspended && job.status.startTime) {
      c.queue.addAfter(key, ads * 1000 - (now - Date.parse(job.status.startTime)));
    }
  }
  if (isIndexed(job)) {
    const completions = job.spec?.completions ?? 0;
    sc.prevSucceededIndexes = parseIndexes(job.status.completedIndexes, completions);
    const fresh = pods.filter((p) => p.status?.phase === 'Succeeded' && hasTrackingFinalizer(p)).map(completionIndex).filter((ix) => ix >= 0 && ix < completions);
    sc.succeededIndexes = withIndexes(sc.prevSucceededIndexes, fresh);
    sc.succeeded = intervalsTotal(sc.succeededIndexes);
    if (!sc.finishedCondition && job.spec?.successPolicy) {
      const msg = matchSuccessPolicy(job.spec.successPolicy, completions, sc.succeededIndexes);
      if (msg) sc.finishedCondition = newCondition('SuccessCriteriaMet', 'True', 'SuccessPolicy', msg, now);
    }
  }

  let suspendChanged = false;
  if (sc.finishedCondition) {
    const { deletedReady, deleted, error } = await deleteActivePods(c, job, sc.activePods);
    if (deleted !== active || !satisfied) sc.finishedCondition = undefined;
    active -= deleted;
    sc.terminating += deleted;
    sc.ready -= deletedReady;
    manageErr = error;
  } else {
    let manageCalled = false;
    if (satisfied && !job.metadata.deletionTimestamp) {
      const r = await manageJob(c, job, sc, key);
      active = r.active;
      manageErr = r.error;
      manageCalled = true;
    }
    const completions = job.spec?.completions;
    const complete = completions == null ? sc.succeeded > 0 && active === 0 : sc.succeeded >= completions && active === 0;
    if (complete) {
      sc.finishedCondition = newCondition('SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
    } else if (manageCalled) {
      const conds = job.status.conditions ?? [];
      if (suspended) {
        const r = ensureCondition(conds, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now);
        job.status.conditions = r.list;
        if (r.changed) {
          suspendChanged = true;
          c.recorder.event(job, EVENT_TYPE_NORMAL, 'Suspended', 'Job suspended');
        }
      } else {
        const r = ensureCondition(conds, 'Suspended', 'False', 'JobResumed', 'Job resumed', now);
        if (r.changed) {
          job.status.conditions = r.list;
          suspendChanged = true;
          c.recorder.event(job, EVENT_TYPE_NORMAL, 'Resumed', 'Job resumed');
          // the deadline counts time active, so a resumed Job starts again
          job.status.startTime = rfc3339(new Date(now));
        }
      }
    }
  }

  const needsUpdate = suspendChanged || active !== (job.status.active ?? 0) || sc.ready !== job.status.ready || sc.terminating !== job.status.terminating;
  job.status.active = active;
  job.status.ready = sc.ready;
  job.status.terminating = sc.terminating;
  try {
    await trackStatusAndRemoveFinalizers(c, sc, key, needsUpdate);
  } catch (e) {
    throw new Error(`tracking status: ${errText(e)}`);
  }
  if (manageErr !== undefined) throw manageErr;
}

function failJobMessage(job: Job, pods: Pod[]): string | undefined {
  if (!job.spec?.podFailurePolicy) return undefined;
  for (const p of pods) {
    if (!isPodFailed(p, job)) continue;
    const m = matchPodFailurePolicy(job.spec.podFailurePolicy, p);
    if (m.failJobMessage) return m.failJobMessage;
  }
  return undefined;
}

async function podsForJob(c: Ctx, job: Job): Promise<Pod[]> {
  let selector: Selector;
  try {
    selector = labelSelectorAsSelector(job.spec?.selector);
  } catch (e) {
    throw new Error(`couldn't convert Job selector: ${errText(e)}`);
  }
  const ns = job.metadata.namespace!;
  const pods = await claimObjects(c.pods.namespace(ns).list(), {
    owner: job,
    ownerRef: newControllerRef(job, API_VERSION, KIND),
    selector,
    client: podsClient(c, ns),
    recheckOwner: ownerRecheck(jobsClient(c, ns), job, KIND),
    adoptFinalizers: [JOB_TRACKING_FINALIZER],
  });
  // a just-adopted pod is answered as patched, with the finalizer
  return pods;
}

async function deletePod(c: Ctx, job: Job, pod: Pod): Promise<void> {
  try {
    await podsClient(c, job.metadata.namespace!).delete(pod.metadata.name!);
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 404)) c.recorder.event(job, EVENT_TYPE_WARNING, 'FailedDelete', `Error deleting: ${errText(e)}`);
    throw e;
  }
  c.recorder.event(job, EVENT_TYPE_NORMAL, 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
}

/** Deletes the active pods of a finishing Job, keeping their finalizers (counted afterwards). */
async function deleteActivePods(c: Ctx, job: Job, pods: Pod[]): Promise<{ deletedReady: number; deleted: number; error?: unknown }> {
  let deleted = pods.length;
  let deletedReady = 0;
  let error: unknown;
  await Promise.all(
    pods.map(async (pod) => {
      try {
        await deletePod(c, job, pod);
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) {
          deleted--;
          error ??= e;
        }
      }
      if (isPodReady(pod)) deletedReady++;
    }),
  );
  return { deletedReady, deleted, error };
}

/** Removes the finalizer, then deletes (pods no longer wanted: suspend, too many active). */
async function deleteJobPods(c: Ctx, job: Job, key: string, pods: Pod[]): Promise<{ removedReady: number; removed: number; error?: unknown }> {
  let removed = pods.length;
  let removedReady = 0;
  let error: unknown;
  const client = podsClient(c, job.metadata.namespace!);
  await Promise.all(
    pods.map(async (pod) => {
      const fail = (e: unknown) => {
        c.expectations.deletionObserved(key);
        if (!(e instanceof StatusError && e.code === 404)) {
          removed--;
          error ??= e;
        }
      };
      if (hasTrackingFinalizer(pod)) {
        try {
          await client.patch(pod.metadata.name!, 'strategic', REMOVE_FINALIZER_PATCH);
        } catch (e) {
          fail(new Error(`removing completion finalizer: ${errText(e)}`));
          return;
        }
      }
      try {
        await deletePod(c, job, pod);
      } catch (e) {
        fail(e);
      }
      if (isPodReady(pod)) removedReady++;
    }),
  );
  return { removedReady, removed, error };
}

/** Creates or deletes pods toward the wanted number of active ones (manageJob). */
async function manageJob(c: Ctx, job: Job, sc: SyncCtx, key: string): Promise<{ active: number; error?: unknown }> {
  let active = sc.activePods.length;
  const parallelism = job.spec?.parallelism ?? 1;
  if (job.spec?.suspend === true) {
    const toDelete = activePodsForRemoval(job, sc.activePods, active);
    c.expectations.expect(key, 0, toDelete.length);
    const r = await deleteJobPods(c, job, key, toDelete);
    sc.terminating += r.removed;
    sc.ready -= r.removedReady;
    return { active: active - r.removed, error: r.error };
  }
  let wantActive: number;
  const completions = job.spec?.completions;
  if (completions == null) wantActive = sc.succeeded > 0 ? active : parallelism;
  else wantActive = Math.max(0, Math.min(completions - sc.succeeded, parallelism));

  const rmAtLeast = Math.max(0, active - wantActive);
  const toDelete = activePodsForRemoval(job, sc.activePods, rmAtLeast).slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
  if (toDelete.length) {
    c.expectations.expect(key, 0, toDelete.length);
    const r = await deleteJobPods(c, job, key, toDelete);
    sc.terminating += r.removed;
    sc.ready -= r.removedReady;
    return { active: active - r.removed, error: r.error };
  }

  const terminating = onlyReplaceFailedPods(job) ? sc.terminating : 0;
  let diff = wantActive - terminating - active;
  if (diff <= 0) return { active };
  const remaining = remainingBackoffMs(sc.newBackoff, c.ctx.clock.now());
  if (remaining > 0) {
    c.queue.addAfter(key, Math.max(remaining, SYNC_BATCH_MS));
    return { active: 0 };
  }
  diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);
  let indexes: number[] = [];
  if (isIndexed(job)) {
    const busy = new Set(sc.activePods.map(completionIndex).filter((i) => i >= 0));
    if (onlyReplaceFailedPods(job)) for (const p of sc.pods) if (isPodTerminatingNotTerminal(p)) busy.add(completionIndex(p));
    indexes = firstPendingIndexes(sc.succeededIndexes, busy, diff, job.spec?.completions ?? 0);
    diff = indexes.length;
  }
  if (diff <= 0) return { active };
  c.expectations.expect(key, diff, 0);
  active += diff;
  const template = clone(job.spec?.template ?? {});
  if (isIndexed(job)) addCompletionIndexEnv(template);
  template.metadata = template.metadata ?? {};
  const fins: string[] = Array.isArray(template.metadata.finalizers) ? template.metadata.finalizers : [];
  if (!fins.includes(JOB_TRACKING_FINALIZER)) template.metadata.finalizers = [...fins, JOB_TRACKING_FINALIZER];
  const ref = newControllerRef(job, API_VERSION, KIND);
  const client = podsClient(c, job.metadata.namespace!);
  let error: unknown;
  let pos = 0;
  for (let batch = Math.min(diff, 1); pos < diff; batch = Math.min(2 * batch, diff - pos)) {
    const slice = Array.from({ length: batch }, (_, i) => (indexes.length ? indexes[pos + i]! : -1));
    pos += batch;
    const results = await Promise.allSettled(
      slice.map(async (ix) => {
        let pod: Pod;
        if (ix >= 0) {
          pod = podFromTemplate(template, job, ref, podGenerateNameWithIndex(job.metadata.name!, ix));
          pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [COMPLETION_INDEX_KEY]: String(ix) };
          pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [COMPLETION_INDEX_KEY]: String(ix) };
          pod.spec.hostname = `${job.metadata.name}-${ix}`;
        } else pod = podFromTemplate(template, job, ref, podsPrefix(job.metadata.name!));
        try {
          const created = await client.create(pod);
          c.recorder.event(job, EVENT_TYPE_NORMAL, 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
        } catch (e) {
          if (isNamespaceTerminating(e)) return;
          c.recorder.event(job, EVENT_TYPE_WARNING, 'FailedCreate', `Error creating: ${errText(e)}`);
          c.expectations.creationObserved(key);
          active--;
          throw e;
        }
      }),
    );
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) {
      error = failed.reason;
      const skipped = diff - pos;
      active -= skipped;
      for (let i = 0; i < skipped; i++) c.expectations.creationObserved(key);
      break;
    }
  }
  return { active, error };
}

function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof StatusError && (e.status.details?.causes ?? []).some((cause) => cause.reason === 'NamespaceTerminating');
}

function canRemoveFinalizer(sc: SyncCtx, pod: Pod, considerFailed: boolean): boolean {
  return !!sc.job.metadata.deletionTimestamp || !!sc.finishedCondition || pod.status?.phase === 'Succeeded' || considerFailed;
}

/** Moves uids whose finalizer is gone from uncountedTerminatedPods into the counters. */
function cleanUncounted(status: Json, withFinalizer: ReadonlySet<string>): boolean {
  let changed = false;
  const u = (status.uncountedTerminatedPods = status.uncountedTerminatedPods ?? {});
  for (const [k, counter] of [
    ['succeeded', 'succeeded'],
    ['failed', 'failed'],
  ] as const) {
    const list: string[] = u[k] ?? [];
    const keep = list.filter((uid) => withFinalizer.has(uid));
    if (keep.length !== list.length) {
      changed = true;
      status[counter] = (status[counter] ?? 0) + list.length - keep.length;
      if (keep.length) u[k] = keep;
      else delete u[k];
    }
  }
  return changed;
}

/**
 * Records finished pods in status.uncountedTerminatedPods, removes their finalizers, moves them
 * into the counters, and sets the final condition once nothing is left uncounted or terminating
 * (trackJobStatusAndRemoveFinalizers).
 */
async function trackStatusAndRemoveFinalizers(c: Ctx, sc: SyncCtx, key: string, needsFlush0: boolean): Promise<void> {
  let needsFlush = needsFlush0;
  const job = sc.job;
  const indexed = isIndexed(job);
  const completions = job.spec?.completions ?? 0;
  const pods = indexed ? [...sc.pods].sort((a, b) => completionIndex(a) - completionIndex(b)) : sc.pods;
  const withFinalizer = new Set<string>();
  for (const p of pods) if (hasTrackingFinalizer(p) && !sc.expectedRm.has(p.metadata.uid!)) withFinalizer.add(p.metadata.uid!);
  if (cleanUncounted(job.status, withFinalizer)) needsFlush = true;
  const u = job.status.uncountedTerminatedPods;
  const toRemove: Pod[] = [];
  const newSucceededIndexes: number[] = [];
  let reachedMax = false;
  for (const pod of pods) {
    const uid = pod.metadata.uid!;
    if (!hasTrackingFinalizer(pod) || sc.expectedRm.has(uid)) continue;
    const considerFailed = isPodFailed(pod, job);
    if (!canRemoveFinalizer(sc, pod, considerFailed)) continue;
    toRemove.push(pod);
    if (pod.status?.phase === 'Succeeded' && !sc.uncountedFailed.has(uid)) {
      if (indexed) {
        const ix = completionIndex(pod);
        if (ix >= 0 && ix < completions && !intervalsHave(sc.prevSucceededIndexes, ix)) {
          newSucceededIndexes.push(ix);
          needsFlush = true;
        }
      } else if (!sc.uncountedSucceeded.has(uid)) {
        needsFlush = true;
        u.succeeded = [...(u.succeeded ?? []), uid];
      }
    } else if (considerFailed || (sc.finishedCondition && sc.finishedCondition.type !== 'SuccessCriteriaMet')) {
      const ix = completionIndex(pod);
      if (!sc.uncountedFailed.has(uid) && (!indexed || (ix >= 0 && ix < completions))) {
        const count = job.spec?.podFailurePolicy ? matchPodFailurePolicy(job.spec.podFailurePolicy, pod).countFailed : true;
        if (count) {
          needsFlush = true;
          u.failed = [...(u.failed ?? []), uid];
        }
      }
    }
    if (newSucceededIndexes.length + (u.succeeded?.length ?? 0) + (u.failed?.length ?? 0) >= MAX_UNCOUNTED_PODS) {
      reachedMax = true;
      break;
    }
  }
  if (indexed) {
    sc.succeededIndexes = withIndexes(sc.succeededIndexes, newSucceededIndexes);
    const s = formatIntervals(sc.succeededIndexes);
    if (s !== (job.status.completedIndexes ?? '')) needsFlush = true;
    job.status.succeeded = intervalsTotal(sc.succeededIndexes);
    if (s) job.status.completedIndexes = s;
    else delete job.status.completedIndexes;
  }
  const now = c.ctx.clock.now();
  if (sc.finishedCondition?.type === 'FailureTarget') {
    job.status.conditions = [...(job.status.conditions ?? []), sc.finishedCondition];
    needsFlush = true;
    sc.finishedCondition = newCondition('Failed', 'True', sc.finishedCondition.reason ?? '', sc.finishedCondition.message ?? '', now);
  }
  if (sc.finishedCondition?.type === 'SuccessCriteriaMet') {
    if (findCondition(job.status.conditions, 'SuccessCriteriaMet')?.status !== 'True') {
      job.status.conditions = [...(job.status.conditions ?? []), sc.finishedCondition];
      needsFlush = true;
    }
    sc.finishedCondition = newCondition('Complete', 'True', sc.finishedCondition.reason ?? '', sc.finishedCondition.message ?? '', now);
  }

  // flush: record the uncounted uids before any finalizer goes
  let cur = job;
  if (needsFlush) {
    cur = await writeJobStatus(c, cur);
    c.backoff.set(key, sc.newBackoff);
    needsFlush = false;
  }
  let rmError: unknown;
  if (toRemove.length) {
    c.finalizerExpectations.expect(key, toRemove.map((p) => p.metadata.uid!));
    const client = podsClient(c, job.metadata.namespace!);
    await Promise.all(
      toRemove.map(async (pod) => {
        try {
          await client.patch(pod.metadata.name!, 'strategic', REMOVE_FINALIZER_PATCH);
          withFinalizer.delete(pod.metadata.uid!);
        } catch (e) {
          c.finalizerExpectations.observed(key, pod.metadata.uid!);
          if (e instanceof StatusError && e.code === 404) withFinalizer.delete(pod.metadata.uid!);
          else rmError ??= e;
        }
      }),
    );
  }
  if (cleanUncounted(cur.status, withFinalizer)) needsFlush = true;
  if (rmError !== undefined) {
    if (needsFlush) await writeJobStatus(c, cur);
    throw rmError;
  }
  const finished = !reachedMax && enactJobFinished(cur, sc, now);
  if (finished) needsFlush = true;
  if (needsFlush) {
    cur = await writeJobStatus(c, cur);
    if (finished) recordJobFinished(c, cur, sc.finishedCondition!);
  }
}

function enactJobFinished(job: Job, sc: SyncCtx, now: number): boolean {
  const cond = sc.finishedCondition;
  if (!cond) return false;
  const u = job.status.uncountedTerminatedPods ?? {};
  if ((u.succeeded?.length ?? 0) + (u.failed?.length ?? 0) > 0) return false;
  if (sc.terminating > 0) return false;
  const r = ensureCondition(job.status.conditions ?? [], cond.type, cond.status, cond.reason ?? '', cond.message ?? '', now);
  job.status.conditions = r.list;
  if (cond.type === 'Complete') job.status.completionTime = findCondition(r.list, 'Complete')?.lastTransitionTime ?? cond.lastTransitionTime;
  return true;
}

function recordJobFinished(c: Ctx, job: Job, cond: JobCondition): void {
  if (cond.type === 'Complete') {
    const completions = job.spec?.completions;
    if (completions != null && (job.status?.succeeded ?? 0) > completions) {
      c.recorder.event(job, EVENT_TYPE_WARNING, 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
    }
    c.recorder.event(job, EVENT_TYPE_NORMAL, 'Completed', 'Job completed');
  } else {
    c.recorder.event(job, EVENT_TYPE_WARNING, cond.reason ?? 'Failed', cond.message ?? '');
  }
}

/** The status as upstream serializes it; PUT to the status subresource. Answers a mutable copy of what the server stored. */
async function writeJobStatus(c: Ctx, job: Job): Promise<Job> {
  const s = job.status ?? {};
  const out: Json = {};
  if (s.conditions?.length) out.conditions = s.conditions;
  if (s.startTime) out.startTime = s.startTime;
  if (s.completionTime) out.completionTime = s.completionTime;
  if (s.active) out.active = s.active;
  if (s.succeeded) out.succeeded = s.succeeded;
  if (s.failed) out.failed = s.failed;
  out.terminating = s.terminating ?? 0;
  if (s.completedIndexes) out.completedIndexes = s.completedIndexes;
  if (s.failedIndexes != null) out.failedIndexes = s.failedIndexes;
  const u: Json = {};
  if (s.uncountedTerminatedPods?.succeeded?.length) u.succeeded = s.uncountedTerminatedPods.succeeded;
  if (s.uncountedTerminatedPods?.failed?.length) u.failed = s.uncountedTerminatedPods.failed;
  out.uncountedTerminatedPods = u;
  out.ready = s.ready ?? 0;
  const body = { ...job, status: out };
  const stored = await jobsClient(c, job.metadata.namespace!).updateStatus(body as Job);
  const copy = clone(stored);
  copy.status = copy.status ?? {};
  copy.status.uncountedTerminatedPods = copy.status.uncountedTerminatedPods ?? {};
  return copy;
}

// The CronJob controller (upstream's cronjob_controllerv2): for each CronJob, wakes at its next
// schedule slot (on the injected clock), creates the Job `<cronjob>-<slot in minutes>` unless
// the slot was already handled, is too late for startingDeadlineSeconds, or concurrencyPolicy
// forbids it (Forbid: skip while one runs; Replace: delete the running ones first); tracks its
// Jobs in status.active, lastScheduleTime and lastSuccessfulTime; deletes finished Jobs beyond
// the history limits; emits upstream's events.
import { StatusError } from '../../api/errors.ts';
import { clone, type KObject } from '../../api/meta.ts';
import { isKnownTimeZone } from '../../api/validation/cron.ts';
import type { ResourceClient } from '../../client/client.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, type EventRecorder } from '../../client/events.ts';
import type { Lister } from '../../client/store.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { keyOf, runWorkers, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { resolveOwner } from '../workload/handlers.ts';
import { controllerOf, type Json } from '../workload/pods.ts';
import {
  compareJobsByStartTime,
  finishedStatus,
  jobFromTemplate,
  jobName,
  mostRecentScheduleTime,
  nextScheduleTimeDuration,
  parseSchedule,
  timeString,
  type CronJob,
  type ParsedSchedule,
} from './cronjob-utils.ts';

const KIND = 'CronJob';

interface Ctx {
  ctx: ControllerContext;
  recorder: EventRecorder;
  cronJobs: Lister<CronJob>;
  jobs: Lister<KObject>;
  queue: WorkQueue<string>;
  /** The zone schedules without a time zone use (the process's local zone by default). */
  defaultZone?: string;
}

export interface CronJobControllerOptions {
  /** Zone for CronJobs without spec.timeZone; default the process's local zone, as upstream. */
  defaultTimeZone?: string;
}

/** The CronJob controller ("cronjob", events from "cronjob-controller"). */
export function cronJobController(o: CronJobControllerOptions = {}): Controller {
  return {
    name: 'cronjob',
    setup(ctx) {
      const cjInf = ctx.informers.informerFor<CronJob>('batch', 'cronjobs');
      const jobInf = ctx.informers.informerFor('batch', 'jobs');
      const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'cronjob' });
      const c: Ctx = { ctx, recorder: ctx.recorder('cronjob-controller'), cronJobs: cjInf.lister(), jobs: jobInf.lister(), queue, defaultZone: o.defaultTimeZone };
      cjInf.addEventHandler({
        onAdd: (cj) => queue.add(keyOf(cj)),
        onUpdate: (old, cj) => {
          if (old.spec?.schedule !== cj.spec?.schedule || (old.spec?.timeZone ?? null) !== (cj.spec?.timeZone ?? null)) {
            let sched: ParsedSchedule;
            try {
              sched = parseSchedule(cj, undefined, c.defaultZone);
            } catch {
              c.recorder.event(cj, EVENT_TYPE_WARNING, 'UnParseableCronJobSchedule', `unparseable schedule for cronjob: ${cj.spec?.schedule}`);
              return;
            }
            queue.addAfter(keyOf(cj), nextScheduleTimeDuration(cj, ctx.clock.now(), sched));
            return;
          }
          queue.add(keyOf(cj));
        },
        onDelete: (cj) => queue.add(keyOf(cj)),
      });
      const ownerOf = (job: KObject) => resolveOwner(c.cronJobs, KIND, job.metadata.namespace, controllerOf(job));
      jobInf.addEventHandler({
        onAdd: (job) => {
          const cj = ownerOf(job);
          if (cj) queue.add(keyOf(cj));
        },
        onUpdate: (old, job) => {
          if (old.metadata.resourceVersion === job.metadata.resourceVersion) return;
          const oldCj = ownerOf(old);
          const cj = ownerOf(job);
          if (oldCj && oldCj !== cj) queue.add(keyOf(oldCj));
          if (cj) queue.add(keyOf(cj));
        },
        onDelete: (job) => {
          const cj = ownerOf(job);
          if (cj) queue.add(keyOf(cj));
        },
      });
      return { run: (signal) => runWorkers(queue, 5, (key) => syncCronJobKey(c, key), signal, ctx.log, 'cronjob') };
    },
  };
}

function cjClient(c: Ctx, ns: string): ResourceClient<CronJob> {
  return c.ctx.client.resource<CronJob>('batch', 'cronjobs').namespace(ns);
}

function jobsClient(c: Ctx, ns: string): ResourceClient {
  return c.ctx.client.resource('batch', 'jobs').namespace(ns);
}

function errText(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
export function rfc1123z(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

async function syncCronJobKey(c: Ctx, key: string): Promise<void> {
  const { namespace, name } = splitKey(key);
  const shared = c.cronJobs.namespace(namespace).get(name);
  if (!shared) return;
  const jobs = c.jobs.namespace(namespace).list().filter((j) => {
    const ref = controllerOf(j);
    return ref?.kind === KIND && ref.uid === shared.metadata.uid;
  });
  const cj = clone(shared);
  cj.status = cj.status ?? {};
  let requeueAfter: number | undefined;
  let updateStatus = false;
  let syncErr: unknown;
  try {
    const r = await syncCronJob(c, cj, jobs);
    requeueAfter = r.requeueAfter;
    updateStatus = r.updateStatus;
  } catch (e) {
    syncErr = e;
    c.ctx.log(`cronjob: error reconciling ${key}: ${errText(e)}`);
  }
  if (await cleanupFinishedJobs(c, cj, jobs)) updateStatus = true;
  if (updateStatus) {
    const status: Json = {};
    if (cj.status.active?.length) status.active = cj.status.active;
    if (cj.status.lastScheduleTime) status.lastScheduleTime = cj.status.lastScheduleTime;
    if (cj.status.lastSuccessfulTime) status.lastSuccessfulTime = cj.status.lastSuccessfulTime;
    await cjClient(c, namespace).updateStatus({ ...cj, status });
  }
  if (requeueAfter !== undefined) {
    c.queue.addAfter(key, Math.max(0, requeueAfter));
    return;
  }
  if (syncErr !== undefined) throw syncErr;
}

function inActiveList(cj: CronJob, uid: string | undefined): boolean {
  return (cj.status?.active ?? []).some((r: Json) => r?.uid === uid);
}

function deleteFromActiveList(cj: CronJob, uid: string | undefined): void {
  cj.status.active = (cj.status?.active ?? []).filter((r: Json) => r?.uid !== uid);
}

/** One reconcile (syncCronJob): mutates cj.status; answers when to look again and whether status changed. */
async function syncCronJob(c: Ctx, cj: CronJob, jobs: KObject[]): Promise<{ requeueAfter?: number; updateStatus: boolean }> {
  const now = c.ctx.clock.now();
  let updateStatus = false;
  const ns = cj.metadata.namespace!;
  const children = new Set<string>();
  for (const j of jobs) {
    children.add(j.metadata.uid!);
    const found = inActiveList(cj, j.metadata.uid);
    const finished = finishedStatus(j);
    if (!found && !finished) {
      const fresh = await cjClient(c, ns).get(cj.metadata.name!);
      if (inActiveList(fresh, j.metadata.uid)) {
        cj.status = clone(fresh.status ?? {});
        continue;
      }
      c.recorder.event(cj, EVENT_TYPE_WARNING, 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata.name}`);
    } else if (found && finished) {
      deleteFromActiveList(cj, j.metadata.uid);
      c.recorder.event(cj, EVENT_TYPE_NORMAL, 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, status: ${finished}`);
      updateStatus = true;
    }
    if (finished === 'Complete') {
      // a successful Job need not be active to move lastSuccessfulTime
      const done = (j as Json).status?.completionTime;
      if (done && (!cj.status.lastSuccessfulTime || Date.parse(done) > Date.parse(cj.status.lastSuccessfulTime))) {
        cj.status.lastSuccessfulTime = done;
        updateStatus = true;
      }
    }
  }
  for (const ref of [...(cj.status.active ?? [])]) {
    if (children.has(ref?.uid)) continue;
    try {
      await jobsClient(c, ref.namespace ?? ns).get(ref.name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) {
        c.recorder.event(cj, EVENT_TYPE_NORMAL, 'MissingJob', `Active job went missing: ${ref.name}`);
        deleteFromActiveList(cj, ref.uid);
        updateStatus = true;
      } else throw e;
    }
  }
  if (cj.metadata.deletionTimestamp) return { updateStatus };

  const tz = cj.spec?.timeZone;
  if (tz != null && !isKnownTimeZone(tz)) {
    c.recorder.event(cj, EVENT_TYPE_WARNING, 'UnknownTimeZone', `invalid timeZone: ${JSON.stringify(tz)}: unknown time zone ${tz}`);
    return { updateStatus };
  }
  if (cj.spec?.suspend === true) return { updateStatus };
  let sched: ParsedSchedule;
  try {
    sched = parseSchedule(cj, (msg) => c.recorder.event(cj, EVENT_TYPE_WARNING, 'UnsupportedSchedule', msg), c.defaultZone);
  } catch (e) {
    c.recorder.event(cj, EVENT_TYPE_WARNING, 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(cj.spec?.schedule)} : ${errText(e)}`);
    return { updateStatus };
  }
  let scheduled: number | undefined;
  try {
    const r = mostRecentScheduleTime(cj, now, sched, true);
    if (r.mostRecent !== undefined && r.mostRecent <= now) {
      scheduled = r.mostRecent;
      if (r.missed === 'many') c.recorder.event(cj, EVENT_TYPE_WARNING, 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    }
  } catch (e) {
    c.recorder.event(cj, EVENT_TYPE_WARNING, 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule} : ${errText(e)}`);
    return { updateStatus };
  }
  if (scheduled === undefined) return { requeueAfter: nextScheduleTimeDuration(cj, now, sched), updateStatus };

  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline != null && scheduled + deadline * 1000 < now) {
    c.recorder.event(cj, EVENT_TYPE_WARNING, 'MissSchedule', `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`);
    return { requeueAfter: nextScheduleTimeDuration(cj, now, sched), updateStatus };
  }
  const name = jobName(cj, scheduled);
  const last = cj.status.lastScheduleTime ? Date.parse(cj.status.lastScheduleTime) : undefined;
  if ((cj.status.active ?? []).some((r: Json) => r?.name === name && (r?.namespace ?? ns) === ns) || last === scheduled) {
    return { requeueAfter: nextScheduleTimeDuration(cj, now, sched), updateStatus };
  }
  if (cj.spec?.concurrencyPolicy === 'Forbid' && (cj.status.active ?? []).length > 0) {
    c.recorder.event(cj, EVENT_TYPE_NORMAL, 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
    return { requeueAfter: nextScheduleTimeDuration(cj, now, sched), updateStatus };
  }
  if (cj.spec?.concurrencyPolicy === 'Replace') {
    for (const ref of [...(cj.status.active ?? [])]) {
      let job: KObject;
      try {
        job = await jobsClient(c, ref.namespace ?? ns).get(ref.name);
      } catch (e) {
        c.recorder.event(cj, EVENT_TYPE_WARNING, 'FailedGet', `Get job: ${errText(e)}`);
        throw e;
      }
      if (!(await deleteJob(c, cj, job))) throw new Error(`could not replace job ${job.metadata.namespace}/${job.metadata.name}`);
      updateStatus = true;
    }
  }

  const req = jobFromTemplate(cj, scheduled);
  let created: KObject;
  try {
    created = await jobsClient(c, ns).create(req);
    c.recorder.event(cj, EVENT_TYPE_NORMAL, 'SuccessfulCreate', `Created job ${created.metadata.name}`);
  } catch (e) {
    if (e instanceof StatusError && (e.status.details?.causes ?? []).some((x) => x.reason === 'NamespaceTerminating')) throw e;
    if (!(e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists')) {
      c.recorder.event(cj, EVENT_TYPE_WARNING, 'FailedCreate', `Error creating job: ${errText(e)}`);
      throw e;
    }
    // created earlier, but the status update after it was lost: record it now if it is ours
    const existing = await jobsClient(c, ns).get(name);
    if (controllerOf(existing)?.uid !== cj.metadata.uid) return { updateStatus };
    if (inActiveList(cj, existing.metadata.uid)) return { updateStatus };
    created = existing;
  }
  cj.status.active = [
    ...(cj.status.active ?? []),
    { kind: 'Job', namespace: created.metadata.namespace, name: created.metadata.name, uid: created.metadata.uid, apiVersion: 'batch/v1', resourceVersion: created.metadata.resourceVersion },
  ];
  cj.status.lastScheduleTime = timeString(scheduled);
  return { requeueAfter: nextScheduleTimeDuration(cj, now, sched), updateStatus: true };
}

/** Deletes a Job (and, by background propagation, its pods); drops it from status.active. */
async function deleteJob(c: Ctx, cj: CronJob, job: KObject): Promise<boolean> {
  try {
    await jobsClient(c, job.metadata.namespace!).delete(job.metadata.name!, { propagationPolicy: 'Background' });
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 404)) {
      c.recorder.event(cj, EVENT_TYPE_WARNING, 'FailedDelete', `Deleted job: ${errText(e)}`);
      return false;
    }
  }
  deleteFromActiveList(cj, job.metadata.uid);
  c.recorder.event(cj, EVENT_TYPE_NORMAL, 'SuccessfulDelete', `Deleted job ${job.metadata.name}`);
  return true;
}

/** Deletes the oldest finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit. */
async function cleanupFinishedJobs(c: Ctx, cj: CronJob, jobs: KObject[]): Promise<boolean> {
  const sLimit = cj.spec?.successfulJobsHistoryLimit;
  const fLimit = cj.spec?.failedJobsHistoryLimit;
  if (sLimit == null && fLimit == null) return false;
  const succeeded = jobs.filter((j) => finishedStatus(j) === 'Complete' && !j.metadata.deletionTimestamp);
  const failed = jobs.filter((j) => finishedStatus(j) === 'Failed' && !j.metadata.deletionTimestamp);
  let changed = false;
  for (const [list, limit] of [
    [succeeded, sLimit],
    [failed, fLimit],
  ] as const) {
    if (limit == null) continue;
    const n = list.length - limit;
    if (n <= 0) continue;
    for (const j of [...list].sort(compareJobsByStartTime).slice(0, n)) if (await deleteJob(c, cj, j)) changed = true;
  }
  return changed;
}

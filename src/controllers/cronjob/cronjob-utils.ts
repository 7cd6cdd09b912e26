// The pure part of the CronJob controller (upstream's pkg/controller/cronjob/utils.go): which
// scheduled time is due, how many were missed, when to look again, and the Job a schedule slot
// creates.
import { clone, rfc3339, type KObject } from '../../api/meta.ts';
import { parseCronSchedule, type CronSchedule } from '../../api/validation/cron.ts';
import type { Json } from '../workload/pods.ts';
import { formatInZone, localZone, nextFire } from './cron-schedule.ts';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Requeue padding after the next slot, for clock skew (nextScheduleDelta). */
export const NEXT_SCHEDULE_DELTA_MS = 100;

export interface CronJob extends KObject {
  spec: Json;
  status?: Json;
}

export interface ParsedSchedule {
  schedule: CronSchedule;
  /** The zone fire times are computed in. */
  zone: string;
  next(afterMs: number): number | undefined;
}

/**
 * The schedule with spec.timeZone applied (formatSchedule + cron.ParseStandard). A TZ= prefix in
 * the schedule itself wins; `warn` is told when both are given (upstream's UnsupportedSchedule).
 */
export function parseSchedule(cj: CronJob, warn?: (msg: string) => void, defaultZone: string = localZone()): ParsedSchedule {
  let spec: string = cj.spec?.schedule ?? '';
  const tz: string | undefined = cj.spec?.timeZone ?? undefined;
  if (tz != null && /TZ=/.test(spec)) {
    warn?.(`CRON_TZ or TZ used in schedule ${JSON.stringify(spec)} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`);
  } else if (tz != null) spec = `TZ=${tz} ${spec}`;
  const schedule = parseCronSchedule(spec);
  const zone = schedule.timeZone ?? defaultZone;
  return { schedule, zone, next: (after) => nextFire(schedule, after, zone) };
}

export type Missed = 'none' | 'few' | 'many';

/**
 * mostRecentScheduleTime: from the last schedule time (or creation), optionally no earlier than
 * now − startingDeadlineSeconds, the latest slot at or before now (undefined if none), and how
 * many were missed (more than 100 is "many"). Throws when two slots are less than a second apart.
 */
export function mostRecentScheduleTime(cj: CronJob, nowMs: number, sched: ParsedSchedule, includeStartingDeadline: boolean): { earliest: number; mostRecent?: number; missed: Missed } {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '') || 0;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && deadline != null) {
    const schedulingDeadline = nowMs - deadline * 1000;
    if (schedulingDeadline > earliest) earliest = schedulingDeadline;
  }
  const t1 = sched.next(earliest);
  if (t1 === undefined || nowMs < t1) return { earliest, missed: 'none' };
  const t2 = sched.next(t1);
  if (t2 === undefined || nowMs < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new Error('time difference between two schedules is less than 1 second');
  const elapsed = Math.trunc((nowMs - t1) / 1000);
  const missedCount = Math.trunc(elapsed / between) + 1;
  let mostRecent: number | undefined;
  const potentialEarliest = t1 + (missedCount - 2) * between * 1000;
  for (let t = sched.next(potentialEarliest); t !== undefined && t <= nowMs; t = sched.next(t)) mostRecent = t;
  const missed: Missed = missedCount > 100 ? 'many' : missedCount > 0 ? 'few' : 'none';
  return { earliest, mostRecent, missed };
}

/** How long until the next slot after the most recent one, plus 100 ms (nextScheduleTimeDuration). */
export function nextScheduleTimeDuration(cj: CronJob, nowMs: number, sched: ParsedSchedule): number {
  let base: number;
  try {
    const r = mostRecentScheduleTime(cj, nowMs, sched, false);
    base = r.mostRecent ?? (r.missed === 'none' ? r.earliest : nowMs);
  } catch {
    base = nowMs;
  }
  const next = sched.next(base);
  return next === undefined ? 24 * 3600_000 : next + NEXT_SCHEDULE_DELTA_MS - nowMs;
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`: one name per slot, so a slot runs once. */
export function jobName(cj: KObject, scheduledMs: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduledMs / 60_000)}`;
}

/** The Job a slot creates (getJobFromTemplate2): the template's labels, annotations (plus the scheduled time) and spec. */
export function jobFromTemplate(cj: CronJob, scheduledMs: number): KObject {
  const t = cj.spec?.jobTemplate ?? {};
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(cj, scheduledMs),
      namespace: cj.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}) },
      annotations: { ...(t.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: formatInZone(scheduledMs, cj.spec?.timeZone ?? 'UTC') },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name!, uid: cj.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: clone(t.spec ?? {}),
  };
}

/** Complete or Failed, from a True condition. */
export function finishedStatus(job: KObject): string | undefined {
  for (const c of ((job as Json).status?.conditions ?? []) as Json[]) if ((c?.type === 'Complete' || c?.type === 'Failed') && c?.status === 'True') return c.type;
  return undefined;
}

/** By status.startTime (unstarted last), then name (byJobStartTime). */
export function compareJobsByStartTime(a: KObject, b: KObject): number {
  const sa = (a as Json).status?.startTime;
  const sb = (b as Json).status?.startTime;
  if (!sa && sb) return 1;
  if (sa && !sb) return -1;
  if (sa && sb && sa !== sb) return Date.parse(sa) - Date.parse(sb);
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : (a.metadata.name ?? '') > (b.metadata.name ?? '') ? 1 : 0;
}

export function timeString(ms: number): string {
  return rfc3339(new Date(ms));
}

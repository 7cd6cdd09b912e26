// The pure part of the Job controller (upstream's pkg/controller/job): completion indexes and
// their interval notation, pod failure policy matching, failure back-off, conditions, and which
// active pods to remove first.
import { clone, rfc3339, type KObject } from '../../api/meta.ts';
import { compareActivePodsForDeletion, podCondition, podPhase, type Json, type Pod } from '../workload/pods.ts';

export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const COMPLETION_INDEX_KEY = 'batch.kubernetes.io/job-completion-index';
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
export const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';
/** Pods created or deleted per sync at most, and the cap of uncounted uids in status. */
export const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
export const MAX_UNCOUNTED_PODS = 500;
export const DEFAULT_POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 10 * 60_000;

export interface Job extends KObject {
  spec: Json;
  status?: Json;
}

// ------------------------------------------------------------------ completion indexes

export interface Interval {
  first: number;
  last: number;
}

/** Parses "1,3-5,7" (status.completedIndexes), dropping indexes at or beyond completions. */
export function parseIndexes(s: string | undefined, completions: number): Interval[] {
  if (!s) return [];
  const out: Interval[] = [];
  for (const part of s.split(',')) {
    const [a, b] = part.split('-');
    const first = Number.parseInt(a ?? '', 10);
    if (!Number.isFinite(first) || !/^\d+$/.test(a ?? '')) continue;
    if (first >= completions) break;
    let last = first;
    if (b !== undefined) {
      if (!/^\d+$/.test(b)) continue;
      last = Math.min(Number(b), completions - 1);
    }
    const prev = out[out.length - 1];
    if (prev && prev.last === first - 1) prev.last = last;
    else out.push({ first, last });
  }
  return out;
}

/** Merges two ordered interval lists, joining adjacent ones. */
export function mergeIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  const push = (iv: Interval) => {
    const last = out[out.length - 1];
    if (!last || iv.first > last.last + 1) out.push({ ...iv });
    else if (last.last < iv.last) last.last = iv.last;
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]!.first < b[j]!.first) push(a[i++]!);
    else push(b[j++]!);
  }
  while (i < a.length) push(a[i++]!);
  while (j < b.length) push(b[j++]!);
  return out;
}

export function withIndexes(ivs: readonly Interval[], indexes: Iterable<number>): Interval[] {
  const sorted = [...new Set(indexes)].sort((x, y) => x - y).map((n) => ({ first: n, last: n }));
  return mergeIntervals(ivs, sorted);
}

export function intervalsTotal(ivs: readonly Interval[]): number {
  return ivs.reduce((n, iv) => n + iv.last - iv.first + 1, 0);
}

/** "1,3-5,7"; two adjacent indexes are written "3,4" as upstream does. */
export function formatIntervals(ivs: readonly Interval[]): string {
  return ivs.map((iv) => (iv.last === iv.first ? `${iv.first}` : iv.last === iv.first + 1 ? `${iv.first},${iv.last}` : `${iv.first}-${iv.last}`)).join(',');
}

export function intervalsHave(ivs: readonly Interval[], ix: number): boolean {
  return ivs.some((iv) => iv.first <= ix && ix <= iv.last);
}

/** The pod's completion index from its annotation; -1 when absent or invalid. */
export function completionIndex(pod: KObject): number {
  const v = pod.metadata.annotations?.[COMPLETION_INDEX_KEY];
  if (v === undefined || !/^\+?\d+$/.test(v)) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : -1;
}

/** The first `count` indexes below completions not succeeded, active (or terminating when only failed pods are replaced). */
export function firstPendingIndexes(succeeded: readonly Interval[], busy: Iterable<number>, count: number, completions: number): number[] {
  if (count <= 0) return [];
  const nonPending = withIndexes(succeeded, busy);
  const out: number[] = [];
  let candidate = 0;
  for (const iv of nonPending) {
    for (; candidate < completions && out.length < count && candidate < iv.first; candidate++) out.push(candidate);
    if (candidate < iv.last + 1) candidate = iv.last + 1;
  }
  for (; candidate < completions && out.length < count; candidate++) out.push(candidate);
  return out;
}

/** upstream's podGenerateNameWithIndex: `<job>-<index>-`, the job name cut so the whole stays within 58 characters. */
export function podGenerateNameWithIndex(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const prefix = jobName + suffix;
  return prefix.length > 58 ? jobName.slice(0, 58 - suffix.length) + suffix : prefix;
}

/** Adds JOB_COMPLETION_INDEX (from the completion index label) to every container that lacks it. */
export function addCompletionIndexEnv(template: Json): void {
  const env = { name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COMPLETION_INDEX_KEY}']` } } };
  for (const list of [template?.spec?.initContainers, template?.spec?.containers]) {
    for (const c of Array.isArray(list) ? list : []) {
      c.env = Array.isArray(c.env) ? c.env : [];
      if (!c.env.some((e: Json) => e?.name === COMPLETION_INDEX_ENV)) c.env.push(clone(env));
    }
  }
}

// ------------------------------------------------------------------ pods and failure policy

export function hasTrackingFinalizer(pod: KObject): boolean {
  return pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
}

export function isIndexed(job: Job): boolean {
  return job.spec?.completionMode === 'Indexed';
}

/** Only failed pods are replaced (terminating ones are waited for): podReplacementPolicy Failed or a pod failure policy. */
export function onlyReplaceFailedPods(job: Job): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || job.spec?.podFailurePolicy != null;
}

/** A pod counts as failed when Failed, or (unless only failed pods are replaced) when deleted before succeeding. */
export function isPodFailed(pod: KObject, job: Job): boolean {
  const phase = podPhase(pod);
  if (phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!pod.metadata.deletionTimestamp && phase !== 'Succeeded';
}

export interface PolicyMatch {
  /** Set when a FailJob rule matched: the Job's failure message. */
  failJobMessage?: string;
  /** False when an Ignore rule matched. */
  countFailed: boolean;
  action?: string;
}

function terminatedMatching(statuses: Json[] | undefined, req: Json): Json | undefined {
  for (const cs of statuses ?? []) {
    const t = cs?.state?.terminated;
    if (!t) continue;
    if (req.containerName != null && req.containerName !== cs.name) continue;
    const code = t.exitCode ?? 0;
    if (code === 0) continue;
    const values: number[] = req.values ?? [];
    const ok = req.operator === 'In' ? values.includes(code) : req.operator === 'NotIn' ? !values.includes(code) : false;
    if (ok) return cs;
  }
  return undefined;
}

/** Matches a failed pod against spec.podFailurePolicy rules, first match wins (matchPodFailurePolicy). */
export function matchPodFailurePolicy(policy: Json, pod: Pod): PolicyMatch {
  if (!policy) return { countFailed: true };
  const rules: Json[] = Array.isArray(policy.rules) ? policy.rules : [];
  for (let index = 0; index < rules.length; index++) {
    const rule = rules[index];
    let matched: string | undefined;
    if (rule?.onExitCodes) {
      const cs = terminatedMatching(pod.status?.containerStatuses, rule.onExitCodes) ?? terminatedMatching(pod.status?.initContainerStatuses, rule.onExitCodes);
      if (cs) matched = `Container ${cs.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${cs.state.terminated.exitCode} matching ${rule.action} rule at index ${index}`;
    } else if (Array.isArray(rule?.onPodConditions)) {
      let cond: Json;
      for (const c of pod.status?.conditions ?? []) {
        if (rule.onPodConditions.some((p: Json) => p?.type === c?.type && (p?.status ?? 'True') === c?.status)) {
          cond = c;
          break;
        }
      }
      if (cond) matched = `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${cond.type} matching ${rule.action} rule at index ${index}`;
    }
    if (matched === undefined) continue;
    switch (rule.action) {
      case 'Ignore':
        return { countFailed: false, action: 'Ignore' };
      case 'Count':
        return { countFailed: true, action: 'Count' };
      case 'FailJob':
        return { failJobMessage: matched, countFailed: true, action: 'FailJob' };
      case 'FailIndex':
        return { countFailed: true, action: 'FailIndex' };
    }
  }
  return { countFailed: true };
}

// ------------------------------------------------------------------ back-off of failed pods

/** When a pod finished (getFinishedTime): its containers' last finish, its Ready=False transition, its deletion, or its creation. */
export function finishedTime(pod: Pod): number {
  const statuses: Json[] = pod.status?.containerStatuses ?? [];
  if (statuses.length) {
    let max: number | undefined;
    let all = true;
    for (const cs of statuses) {
      const t = Date.parse(cs?.state?.terminated?.finishedAt ?? '');
      if (!Number.isFinite(t)) {
        all = false;
        break;
      }
      max = max === undefined ? t : Math.max(max, t);
    }
    if (all && max !== undefined) return max;
  }
  const ready = podCondition(pod, 'Ready');
  if (ready?.status === 'False') {
    const t = Date.parse(ready.lastTransitionTime ?? '');
    if (Number.isFinite(t)) return t;
  }
  if (pod.metadata.deletionTimestamp) return Date.parse(pod.metadata.deletionTimestamp) - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
  return Date.parse(pod.metadata.creationTimestamp ?? '') || 0;
}

export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/** The back-off record after newly finished pods (newBackoffRecord): failures since the last success, and the last failure's time. */
export function nextBackoffRecord(prev: BackoffRecord | undefined, newSucceeded: Pod[], newFailed: Pod[]): BackoffRecord {
  const rec: BackoffRecord = prev ? { ...prev } : { failuresAfterLastSuccess: 0 };
  const byTime = (a: Pod, b: Pod) => finishedTime(a) - finishedTime(b);
  const s = [...newSucceeded].sort(byTime);
  const f = [...newFailed].sort(byTime);
  if (s.length === 0) {
    if (f.length === 0) return rec;
    rec.failuresAfterLastSuccess += f.length;
    rec.lastFailureTime = finishedTime(f[f.length - 1]!);
    return rec;
  }
  rec.failuresAfterLastSuccess = 0;
  rec.lastFailureTime = undefined;
  if (f.length === 0) return rec;
  const lastSuccess = finishedTime(s[s.length - 1]!);
  for (let i = f.length - 1; i >= 0; i--) {
    const t = finishedTime(f[i]!);
    if (t <= lastSuccess) break;
    rec.lastFailureTime ??= t;
    rec.failuresAfterLastSuccess++;
  }
  return rec;
}

/** How long pod creation still waits: 10 s doubling per failure since the last success, at most 10 min, from the last failure. */
export function remainingBackoffMs(rec: BackoffRecord, nowMs: number, initialMs = DEFAULT_POD_FAILURE_BACKOFF_MS, maxMs = MAX_POD_FAILURE_BACKOFF_MS): number {
  if (rec.failuresAfterLastSuccess === 0 || rec.lastFailureTime === undefined) return 0;
  let backoff = initialMs;
  for (let i = 1; i < rec.failuresAfterLastSuccess; i++) {
    backoff *= 2;
    if (backoff >= maxMs) {
      backoff = maxMs;
      break;
    }
  }
  const elapsed = nowMs - rec.lastFailureTime;
  return backoff < elapsed ? 0 : backoff - elapsed;
}

/** Restarts of running or pending pods reach backoffLimit (restartPolicy OnFailure only). */
export function pastBackoffLimitOnFailure(job: Job, pods: readonly Pod[]): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    const phase = podPhase(p);
    if (phase !== 'Running' && phase !== 'Pending') continue;
    for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += cs?.restartCount ?? 0;
  }
  const limit = job.spec?.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

// ------------------------------------------------------------------ conditions

export interface JobCondition {
  type: string;
  status: string;
  lastProbeTime: string;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export function newCondition(type: string, status: string, reason: string, message: string, nowMs: number): JobCondition {
  const t = rfc3339(new Date(nowMs));
  const c: JobCondition = { type, status, lastProbeTime: t, lastTransitionTime: t };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

export function findCondition(list: readonly Json[] | undefined, type: string): Json | undefined {
  return (list ?? []).find((c) => c?.type === type);
}

/**
 * Sets a condition's status, reason and message (ensureJobConditionStatus): replaces a differing
 * one, appends a missing one unless its status would be False. Answers the list and whether it
 * changed.
 */
export function ensureCondition(list: Json[], type: string, status: string, reason: string, message: string, nowMs: number): { list: Json[]; changed: boolean } {
  const i = list.findIndex((c) => c?.type === type);
  if (i >= 0) {
    const c = list[i];
    if (c.status !== status || (c.reason ?? '') !== reason || (c.message ?? '') !== message) {
      const out = [...list];
      out[i] = newCondition(type, status, reason, message, nowMs);
      return { list: out, changed: true };
    }
    return { list, changed: false };
  }
  if (status !== 'False') return { list: [...list, newCondition(type, status, reason, message, nowMs)], changed: true };
  return { list, changed: false };
}

/** Complete=True or Failed=True. */
export function finishedConditionOf(job: Job): string | undefined {
  for (const c of job.status?.conditions ?? []) if ((c?.type === 'Complete' || c?.type === 'Failed') && c?.status === 'True') return c.type;
  return undefined;
}

export function isJobFinished(job: Job): boolean {
  return finishedConditionOf(job) !== undefined;
}

// ------------------------------------------------------------------ removal order

/**
 * The active pods to remove (activePodsForRemoval): for Indexed jobs first duplicates of an index
 * (keeping the best one) and pods with no or an out-of-range index; then, if more must go, the
 * least advanced ones (unscheduled, pending, not ready first).
 */
export function activePodsForRemoval(job: Job, pods: readonly Pod[], rmAtLeast: number): Pod[] {
  let rm: Pod[] = [];
  let left: Pod[] = [...pods];
  if (isIndexed(job)) {
    const completions = job.spec?.completions ?? 0;
    rm = [];
    left = [];
    const byIndex = new Map<number, Pod[]>();
    for (const p of pods) {
      const ix = completionIndex(p);
      if (ix < 0 || ix >= completions) {
        rm.push(p);
        continue;
      }
      let l = byIndex.get(ix);
      if (!l) byIndex.set(ix, (l = []));
      l.push(p);
    }
    for (const ix of [...byIndex.keys()].sort((a, b) => a - b)) {
      const l = byIndex.get(ix)!.sort(compareActivePodsForDeletion);
      rm.push(...l.slice(0, -1));
      left.push(l[l.length - 1]!);
    }
  }
  if (rm.length < rmAtLeast) {
    left.sort(compareActivePodsForDeletion);
    rm.push(...left.slice(0, rmAtLeast - rm.length));
  }
  return rm;
}

// ------------------------------------------------------------------ success policy

/** The first success policy rule the succeeded indexes satisfy, as the SuccessCriteriaMet message. */
export function matchSuccessPolicy(policy: Json, completions: number, succeeded: readonly Interval[]): string | undefined {
  const rules: Json[] = Array.isArray(policy?.rules) ? policy.rules : [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    const required = r?.succeededIndexes != null ? parseIndexes(r.succeededIndexes, completions) : undefined;
    let count: number;
    if (required) {
      const all = required.every((iv) => {
        for (let ix = iv.first; ix <= iv.last; ix++) if (!intervalsHave(succeeded, ix)) return false;
        return true;
      });
      if (r.succeededCount == null && !all) continue;
      count = 0;
      for (const iv of required) for (let ix = iv.first; ix <= iv.last; ix++) if (intervalsHave(succeeded, ix)) count++;
      if (r.succeededCount == null) return `Matched rules at index ${i}`;
    } else count = intervalsTotal(succeeded);
    if (r?.succeededCount != null && count >= r.succeededCount) return `Matched rules at index ${i}`;
  }
  return undefined;
}

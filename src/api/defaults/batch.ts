// batch/v1 defaulting: upstream's pkg/apis/batch/v1/defaults.go (1.33: pod replacement policy
// and manualSelector included) plus the core/v1 defaults of the pod template; and the Job
// registry's create-time selector generation.

import { defaultPodTemplateSpec } from './core.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_INT32 = 2147483647;

/** SetDefaults_Job for a JobSpec; `meta` receives the template's labels when it has none. */
export function defaultJobSpec(spec: Json, meta: Json | undefined): void {
  if (!isObj(spec)) return;
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (spec.parallelism == null) spec.parallelism = 1;
  if (spec.backoffLimit == null) spec.backoffLimit = spec.backoffLimitPerIndex != null ? MAX_INT32 : 6;
  const labels = spec.template?.metadata?.labels;
  if (meta && labels != null && (!isObj(meta.labels) || Object.keys(meta.labels).length === 0)) meta.labels = { ...labels };
  if (spec.completionMode == null) spec.completionMode = 'NonIndexed';
  if (spec.suspend == null) spec.suspend = false;
  for (const rule of Array.isArray(spec.podFailurePolicy?.rules) ? spec.podFailurePolicy.rules : []) {
    for (const p of Array.isArray(rule?.onPodConditions) ? rule.onPodConditions : []) if (isObj(p) && !p.status) p.status = 'True';
  }
  if (spec.podReplacementPolicy == null) spec.podReplacementPolicy = spec.podFailurePolicy != null ? 'Failed' : 'TerminatingOrFailed';
  if (spec.manualSelector == null) spec.manualSelector = false;
  defaultPodTemplateSpec(spec.template ?? (spec.template = {}));
}

export function defaultJob(job: Json): void {
  if (!isObj(job)) return;
  defaultJobSpec(job.spec ?? (job.spec = {}), job.metadata ?? (job.metadata = {}));
}

export function defaultCronJob(cj: Json): void {
  if (!isObj(cj)) return;
  const spec = isObj(cj.spec) ? cj.spec : (cj.spec = {});
  if (!spec.concurrencyPolicy) spec.concurrencyPolicy = 'Allow';
  if (spec.suspend == null) spec.suspend = false;
  if (spec.successfulJobsHistoryLimit == null) spec.successfulJobsHistoryLimit = 3;
  if (spec.failedJobsHistoryLimit == null) spec.failedJobsHistoryLimit = 1;
  // SetDefaults_Job takes a Job, so a job template gets only its pod template's defaults
  const jt = isObj(spec.jobTemplate) ? spec.jobTemplate : (spec.jobTemplate = {});
  const jspec = isObj(jt.spec) ? jt.spec : (jt.spec = {});
  defaultPodTemplateSpec(jspec.template ?? (jspec.template = {}));
}

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

/**
 * The Job registry's PrepareForCreate: unless spec.manualSelector is true, add the job-name and
 * controller-uid labels (legacy and batch.kubernetes.io/ forms) to the pod template and select
 * on batch.kubernetes.io/controller-uid; status cleared, generation 1. Needs metadata.name and
 * metadata.uid already assigned.
 */
export function prepareJobForCreate(job: Json): void {
  if (!isObj(job)) return;
  const meta = isObj(job.metadata) ? job.metadata : (job.metadata = {});
  const spec = isObj(job.spec) ? job.spec : (job.spec = {});
  if (spec.manualSelector !== true) {
    const tpl = isObj(spec.template) ? spec.template : (spec.template = {});
    const tmeta = isObj(tpl.metadata) ? tpl.metadata : (tpl.metadata = {});
    const labels = isObj(tmeta.labels) ? tmeta.labels : (tmeta.labels = {});
    for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!Object.hasOwn(labels, k)) labels[k] = String(meta.name ?? '');
    for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!Object.hasOwn(labels, k)) labels[k] = String(meta.uid ?? '');
    const sel = isObj(spec.selector) ? spec.selector : (spec.selector = {});
    const ml = isObj(sel.matchLabels) ? sel.matchLabels : (sel.matchLabels = {});
    if (!Object.hasOwn(ml, CONTROLLER_UID_LABEL)) ml[CONTROLLER_UID_LABEL] = String(meta.uid ?? '');
  }
  delete job.status;
  meta.generation = 1;
}

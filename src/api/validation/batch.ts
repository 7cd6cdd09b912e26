// batch/v1 validation (pkg/apis/batch/validation), registered with batch/v1 defaulting and the
// Job registry's selector generation (prepareForCreate).

import { field, goQuote, goSyntax, OMIT_VALUE, type FieldError } from '../errors.ts';
import * as defaults from '../defaults/batch.ts';
import { register } from './registry.ts';
import {
  goLabelSelector, jsonEqual, labelSelectorMatches, validateImmutableField, validateLabelSelector, validateObjectMeta,
  validateObjectMetaUpdate, type Json,
} from './meta.ts';
import { isDNS1123Label, isDNS1123Subdomain, nameIsDNSSubdomain, validateNonnegativeField, validateQualifiedName, FIELD_IMMUTABLE_ERROR_MSG } from './names.ts';
import { templateLabelsMismatch, validatePodTemplateSpec } from './podspec.ts';
import { cronScheduleError, isKnownTimeZone } from './cron.ts';

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
const goStrings = (xs: string[]) => `[${xs.map(goQuote).join(' ')}]`;

const POD_FAILURE_ACTIONS = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
const EXIT_CODE_OPERATORS = ['In', 'NotIn'];
const CONDITION_STATUSES = ['False', 'True', 'Unknown'];

function validateHasLabel(meta: Json, fld: string, key: string, expected: string): FieldError[] {
  const labels = meta?.labels ?? {};
  if (!Object.hasOwn(labels, key)) return [field.required(`${fld}.labels[${key}]`, `must be '${expected}'`)];
  if (labels[key] !== expected) return [field.invalid(`${fld}.labels[${key}]`, goSyntax(goMapText(labels)), `must be '${expected}'`)];
  return [];
}

function goMapText(m: Record<string, string>): string {
  return `map[string]string{${Object.keys(m).sort().map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`).join(', ')}}`;
}

function validateGeneratedSelector(job: Json, requirePrefixed: boolean): FieldError[] {
  const spec = job.spec ?? {};
  if (spec.manualSelector === true || spec.selector == null) return [];
  const errs: FieldError[] = [];
  const uid = str(job.metadata?.uid);
  const name = str(job.metadata?.name);
  if (!uid) errs.push(field.required('metadata.uid'));
  const tm = spec.template?.metadata;
  errs.push(...validateHasLabel(tm, 'spec.template.metadata', defaults.LEGACY_CONTROLLER_UID_LABEL, uid));
  errs.push(...validateHasLabel(tm, 'spec.template.metadata', defaults.LEGACY_JOB_NAME_LABEL, name));
  const expected: Record<string, string> = {};
  if (requirePrefixed) {
    errs.push(...validateHasLabel(tm, 'spec.template.metadata', defaults.CONTROLLER_UID_LABEL, uid));
    errs.push(...validateHasLabel(tm, 'spec.template.metadata', defaults.JOB_NAME_LABEL, name));
    expected[defaults.CONTROLLER_UID_LABEL] = uid;
    expected[defaults.JOB_NAME_LABEL] = name;
  }
  expected[defaults.LEGACY_CONTROLLER_UID_LABEL] = uid;
  expected[defaults.LEGACY_JOB_NAME_LABEL] = name;
  if (!labelSelectorMatches(spec.selector, expected)) errs.push(field.invalid('spec.selector', goLabelSelector(spec.selector), '`selector` not auto-generated'));
  return errs;
}

function parseIndexInterval(s: string, completions: number): [number, number] {
  const parts = s.split('-');
  if (parts.length > 2) throw new Error(`the fragment "${s}" violates the requirement that an index interval can have at most two parts separated by '-'`);
  const num = (x: string) => {
    if (!/^[+-]?[0-9]+$/.test(x)) throw new Error(`cannot convert string to integer for index: "${x}"`);
    return Number(x);
  };
  const x = num(parts[0]!);
  if (x >= completions) throw new Error(`too large index: "${parts[0]}"`);
  if (parts.length > 1) {
    const y = num(parts[1]!);
    if (y >= completions) throw new Error(`too large index: "${parts[1]}"`);
    if (x >= y) throw new Error(`non-increasing order, previous: ${x}, current: ${y}`);
    return [x, y];
  }
  return [x, x];
}

function validateIndexesFormat(s: string, completions: number): number {
  if (!s) return 0;
  let last: number | undefined;
  let total = 0;
  for (const interval of s.split(',')) {
    const [x, y] = parseIndexInterval(interval, completions);
    if (last !== undefined && last >= x) throw new Error(`non-increasing order, previous: ${last}, current: ${x}`);
    total += y - x + 1;
    last = y;
  }
  return total;
}

function validatePodFailurePolicy(spec: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const rules = arr(spec.podFailurePolicy?.rules);
  if (rules.length > 20) errs.push(field.tooMany(`${fld}.rules`, rules.length, 20));
  const names = new Set([...arr(spec.template?.spec?.containers), ...arr(spec.template?.spec?.initContainers)].map((c) => c?.name));
  rules.forEach((r0, i) => {
    const r = r0 ?? {};
    const rp = `${fld}.rules[${i}]`;
    if (!r.action) errs.push(field.required(`${rp}.action`, `valid values: ${goStrings(POD_FAILURE_ACTIONS)}`));
    else if (r.action === 'FailIndex') {
      if (spec.backoffLimitPerIndex == null) errs.push(field.invalid(`${rp}.action`, r.action, 'requires the backoffLimitPerIndex to be set'));
    } else if (!POD_FAILURE_ACTIONS.includes(r.action)) errs.push(field.notSupported(`${rp}.action`, r.action, POD_FAILURE_ACTIONS));
    if (r.onExitCodes != null) {
      const ep = `${rp}.onExitCodes`;
      const ec = r.onExitCodes;
      if (!ec.operator) errs.push(field.required(`${ep}.operator`, `valid values: ${goStrings(EXIT_CODE_OPERATORS)}`));
      else if (!EXIT_CODE_OPERATORS.includes(ec.operator)) errs.push(field.notSupported(`${ep}.operator`, ec.operator, EXIT_CODE_OPERATORS));
      if (ec.containerName != null && !names.has(ec.containerName)) {
        errs.push(field.invalid(`${ep}.containerName`, ec.containerName, 'must be one of the container or initContainer names in the pod template'));
      }
      const values = arr(ec.values);
      const valuesGo = goSyntax(`[]int32{${values.join(', ')}}`);
      if (values.length === 0) errs.push(field.invalid(`${ep}.values`, goSyntax('[]int32(nil)'), 'at least one value is required'));
      else if (values.length > 255) errs.push(field.tooMany(`${ep}.values`, values.length, 255));
      let ordered = true;
      const seen = new Set<number>();
      values.forEach((v, j) => {
        if (ec.operator === 'In' && v === 0) errs.push(field.invalid(`${ep}.values[${j}]`, v, 'must not be 0 for the In operator'));
        if (seen.has(v)) errs.push(field.duplicate(`${ep}.values[${j}]`, v));
        else seen.add(v);
        if (j > 0 && values[j - 1] > v) ordered = false;
      });
      if (!ordered) errs.push(field.invalid(`${ep}.values`, valuesGo, 'must be ordered'));
    }
    const conds = arr(r.onPodConditions);
    if (conds.length) {
      const cp = `${rp}.onPodConditions`;
      if (conds.length > 20) errs.push(field.tooMany(cp, conds.length, 20));
      conds.forEach((c, j) => {
        errs.push(...validateQualifiedName(str(c?.type), `${cp}[${j}].type`));
        if (!c?.status) errs.push(field.required(`${cp}[${j}].status`, `valid values: ${goStrings(CONDITION_STATUSES)}`));
        else if (!CONDITION_STATUSES.includes(c.status)) errs.push(field.notSupported(`${cp}[${j}].status`, c.status, CONDITION_STATUSES));
      });
    }
    const omit = OMIT_VALUE;
    if (r.onExitCodes != null && conds.length > 0) errs.push({ type: 'FieldValueInvalid', field: rp, badValue: omit, detail: 'specifying both OnExitCodes and OnPodConditions is not supported' });
    if (r.onExitCodes == null && conds.length === 0) errs.push({ type: 'FieldValueInvalid', field: rp, badValue: omit, detail: 'specifying one of OnExitCodes and OnPodConditions is required' });
  });
  return errs;
}

/** upstream's validateJobSpec (shared by Jobs and CronJob job templates). */
function validateJobSpecCommon(spec: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex']) {
    if (spec[k] != null) errs.push(...validateNonnegativeField(spec[k], `${fld}.${k}`));
  }
  if (spec.maxFailedIndexes != null) {
    errs.push(...validateNonnegativeField(spec.maxFailedIndexes, `${fld}.maxFailedIndexes`));
    if (spec.backoffLimitPerIndex == null) errs.push(field.required(`${fld}.backoffLimitPerIndex`, 'when maxFailedIndexes is specified'));
  }
  if (spec.managedBy != null) {
    const mb = str(spec.managedBy);
    const segs = mb.split('/');
    if (!mb) errs.push(field.required(`${fld}.managedBy`));
    else if (segs.length < 2 || !segs[0] || !segs.slice(1).join('/')) errs.push(field.invalid(`${fld}.managedBy`, mb, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    else {
      for (const m of isDNS1123Subdomain(segs[0]!)) errs.push(field.invalid(`${fld}.managedBy`, segs[0], m));
      const path = segs.slice(1).join('/');
      if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(path)) errs.push(field.invalid(`${fld}.managedBy`, path, "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')"));
    }
    if (mb.length > 63) errs.push(field.tooLong(`${fld}.managedBy`, '', 63));
  }
  const mode = spec.completionMode;
  if (mode != null) {
    if (mode !== 'NonIndexed' && mode !== 'Indexed') errs.push(field.notSupported(`${fld}.completionMode`, mode, ['NonIndexed', 'Indexed']));
    if (mode === 'Indexed') {
      if (spec.completions == null) errs.push(field.required(`${fld}.completions`, 'when completion mode is Indexed'));
      if (spec.parallelism != null && spec.parallelism > 100000) {
        errs.push(field.invalid(`${fld}.parallelism`, spec.parallelism, 'must be less than or equal to 100000 when completion mode is Indexed'));
      }
      if (spec.completions != null && spec.maxFailedIndexes != null && spec.maxFailedIndexes > spec.completions) {
        errs.push(field.invalid(`${fld}.maxFailedIndexes`, spec.maxFailedIndexes, 'must be less than or equal to completions'));
      }
      if (spec.maxFailedIndexes != null && spec.maxFailedIndexes > 100000) errs.push(field.invalid(`${fld}.maxFailedIndexes`, spec.maxFailedIndexes, 'must be less than or equal to 100000'));
      if (spec.completions != null && spec.completions > 100000 && spec.backoffLimitPerIndex != null) {
        if (spec.maxFailedIndexes == null) errs.push(field.required(`${fld}.maxFailedIndexes`, 'must be specified when completions is above 100000'));
        if (spec.parallelism != null && spec.parallelism > 10000) {
          errs.push(field.invalid(`${fld}.parallelism`, spec.parallelism, 'must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index'));
        }
        if (spec.maxFailedIndexes != null && spec.maxFailedIndexes > 10000) {
          errs.push(field.invalid(`${fld}.maxFailedIndexes`, spec.maxFailedIndexes, 'must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index'));
        }
      }
    }
  }
  if (mode == null || mode === 'NonIndexed') {
    if (spec.backoffLimitPerIndex != null) errs.push(field.invalid(`${fld}.backoffLimitPerIndex`, spec.backoffLimitPerIndex, 'requires indexed completion mode'));
    if (spec.maxFailedIndexes != null) errs.push(field.invalid(`${fld}.maxFailedIndexes`, spec.maxFailedIndexes, 'requires indexed completion mode'));
  }
  if (spec.podFailurePolicy != null) errs.push(...validatePodFailurePolicy(spec, `${fld}.podFailurePolicy`));
  if (spec.successPolicy != null) {
    const sp = `${fld}.successPolicy`;
    if ((mode ?? 'NonIndexed') !== 'Indexed') errs.push(field.invalid(sp, goSyntax('batch.SuccessPolicy{...}'), 'requires indexed completion mode'));
    else {
      const rules = arr(spec.successPolicy.rules);
      if (rules.length === 0) errs.push(field.required(`${sp}.rules`, 'at least one rules must be specified when the successPolicy is specified'));
      if (rules.length > 20) errs.push(field.tooMany(`${sp}.rules`, rules.length, 20));
      rules.forEach((r0, i) => {
        const r = r0 ?? {};
        const rp = `${sp}.rules[${i}]`;
        if (r.succeededCount == null && r.succeededIndexes == null) errs.push(field.required(rp, 'at least one of succeededCount or succeededIndexes must be specified'));
        let total = 0;
        if (r.succeededIndexes != null) {
          if (str(r.succeededIndexes).length > 64 * 1024) errs.push(field.tooLong(`${rp}.succeededIndexes`, '', 64 * 1024));
          try {
            total = validateIndexesFormat(str(r.succeededIndexes), spec.completions ?? 0);
          } catch (e) {
            errs.push(field.invalid(`${rp}.succeededIndexes`, r.succeededIndexes, `error parsing succeededIndexes: ${(e as Error).message}`));
          }
        }
        if (r.succeededCount != null) {
          const cp = `${rp}.succeededCount`;
          errs.push(...validateNonnegativeField(r.succeededCount, cp));
          if (r.succeededCount > (spec.completions ?? 0)) errs.push(field.invalid(cp, r.succeededCount, `must be less than or equal to ${spec.completions ?? 0} (the number of specified completions)`));
          if (r.succeededIndexes != null && r.succeededCount > total) {
            errs.push(field.invalid(cp, r.succeededCount, `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`));
          }
        }
      });
    }
  }
  if (spec.podReplacementPolicy != null) {
    const pp = `${fld}.podReplacementPolicy`;
    if (spec.podFailurePolicy != null) {
      if (spec.podReplacementPolicy !== 'Failed') errs.push(field.notSupported(pp, spec.podReplacementPolicy, ['Failed']));
    } else if (spec.podReplacementPolicy !== 'Failed' && spec.podReplacementPolicy !== 'TerminatingOrFailed') {
      errs.push(field.notSupported(pp, spec.podReplacementPolicy, ['Failed', 'TerminatingOrFailed']));
    }
  }
  errs.push(...validatePodTemplateSpec(spec.template, `${fld}.template`));
  const rp = spec.template?.spec?.restartPolicy;
  const rpPath = `${fld}.template.spec.restartPolicy`;
  if (rp === 'Always' || !rp) errs.push(field.required(rpPath, 'valid values: "OnFailure", "Never"'));
  else if (rp !== 'OnFailure' && rp !== 'Never') errs.push(field.notSupported(rpPath, rp, ['OnFailure', 'Never']));
  else if (spec.podFailurePolicy != null && rp !== 'Never') errs.push(field.invalid(rpPath, rp, 'only "Never" is supported when podFailurePolicy is specified'));
  return errs;
}

function validateJobSpec(spec: Json, fld: string): FieldError[] {
  const errs = validateJobSpecCommon(spec, fld);
  if (spec.selector == null) errs.push(field.required(`${fld}.selector`));
  else errs.push(...validateLabelSelector(spec.selector, {}, `${fld}.selector`));
  if (spec.selector != null && !labelSelectorMatches(spec.selector, spec.template?.metadata?.labels) && Object.keys(spec.selector.matchLabels ?? {}).length + arr(spec.selector.matchExpressions).length > 0) {
    errs.push(templateLabelsMismatch(`${fld}.template.metadata.labels`, spec.template?.metadata?.labels));
  }
  return errs;
}

export function validateJob(job: Json, requirePrefixedLabels = true): FieldError[] {
  const errs = validateObjectMeta(job.metadata, true, nameIsDNSSubdomain);
  errs.push(...validateGeneratedSelector(job, requirePrefixedLabels));
  errs.push(...validateJobSpec(job.spec ?? {}, 'spec'));
  const spec = job.spec ?? {};
  if (spec.completionMode === 'Indexed' && (spec.completions ?? 0) > 0) {
    const host = `${str(job.metadata?.name)}-${spec.completions - 1}`;
    if (isDNS1123Label(host).length) {
      errs.push(field.invalid('metadata.name', str(job.metadata?.name), `will not able to create pod with invalid DNS label: ${host}`));
    }
  }
  return errs;
}

function validateJobUpdate(job: Json, old: Json): FieldError[] {
  const oldLabels = old.spec?.template?.metadata?.labels ?? {};
  const requirePrefixed = Object.hasOwn(oldLabels, defaults.JOB_NAME_LABEL) && Object.hasOwn(oldLabels, defaults.CONTROLLER_UID_LABEL);
  const errs = validateJob(job, requirePrefixed);
  errs.push(...validateObjectMetaUpdate(job.metadata, old.metadata));
  const spec = job.spec ?? {};
  const oldSpec = old.spec ?? {};
  errs.push(...validateJobSpec(spec, 'spec'));
  // completions are immutable, except for Indexed jobs scaled with parallelism (ElasticIndexedJob)
  if (!jsonEqual(spec.completions, oldSpec.completions)) {
    if (spec.completionMode !== 'Indexed') errs.push(...validateImmutableField(spec.completions, oldSpec.completions, 'spec.completions'));
    else if (spec.completions != null && spec.completions !== spec.parallelism) {
      errs.push(field.invalid('spec.completions', spec.completions, 'can only be modified in tandem with spec.parallelism'));
    }
  }
  if (!jsonEqual(spec.selector, oldSpec.selector)) errs.push(field.invalid('spec.selector', goLabelSelector(spec.selector), FIELD_IMMUTABLE_ERROR_MSG));
  // the pod template is immutable, except scheduling directives of suspended jobs that never started
  let oldTpl = oldSpec.template;
  const tpl = spec.template;
  if (oldSpec.suspend === true && old.status?.startTime == null && tpl != null && oldTpl != null) {
    oldTpl = structuredClone(oldTpl);
    oldTpl.spec = { ...oldTpl.spec };
    const na = tpl.spec?.affinity?.nodeAffinity;
    if (tpl.spec?.affinity == null && oldTpl.spec.affinity != null) {
      const rest = { ...oldTpl.spec.affinity, nodeAffinity: undefined };
      oldTpl.spec.affinity = Object.values(rest).every((v) => v == null) ? undefined : rest;
    } else if (tpl.spec?.affinity != null) {
      oldTpl.spec.affinity = { ...(oldTpl.spec.affinity ?? {}), nodeAffinity: na };
    }
    oldTpl.spec.nodeSelector = tpl.spec?.nodeSelector;
    oldTpl.spec.tolerations = tpl.spec?.tolerations;
    oldTpl.spec.schedulingGates = tpl.spec?.schedulingGates;
    oldTpl.metadata = { ...oldTpl.metadata, annotations: tpl.metadata?.annotations, labels: tpl.metadata?.labels };
  }
  if (!jsonEqual(tpl, oldTpl)) errs.push(field.invalid('spec.template', goSyntax('core.PodTemplateSpec{...}'), FIELD_IMMUTABLE_ERROR_MSG));
  for (const k of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy']) {
    if (!jsonEqual(spec[k], oldSpec[k])) errs.push(field.invalid(`spec.${k}`, typeof spec[k] === 'object' && spec[k] !== null ? goSyntax('{...}') : (spec[k] ?? null), FIELD_IMMUTABLE_ERROR_MSG));
  }
  return errs;
}

function conditionTrue(job: Json, type: string): boolean {
  return arr(job.status?.conditions).some((c) => c?.type === type && c?.status === 'True');
}

function validateJobStatusUpdate(job: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(job.metadata, old.metadata);
  const s = job.status ?? {};
  const fp = 'status';
  for (const k of ['active', 'succeeded', 'failed']) errs.push(...validateNonnegativeField(s[k] ?? 0, `${fp}.${k}`));
  for (const k of ['ready', 'terminating']) if (s[k] != null) errs.push(...validateNonnegativeField(s[k], `${fp}.${k}`));
  const u = s.uncountedTerminatedPods;
  if (u != null) {
    const seen = new Set<string>();
    for (const k of ['succeeded', 'failed']) {
      arr(u[k]).forEach((uid, i) => {
        const p = `${fp}.uncountedTerminatedPods.${k}[${i}]`;
        if (!uid) errs.push(field.invalid(p, '', 'must not be empty'));
        else if (seen.has(uid)) errs.push(field.duplicate(p, uid));
        else seen.add(uid);
      });
    }
  }
  const omit = OMIT_VALUE;
  const inv = (fld: string, detail: string) => errs.push({ type: 'FieldValueInvalid', field: fld, badValue: omit, detail });
  const complete = conditionTrue(job, 'Complete');
  const failed = conditionTrue(job, 'Failed');
  const finished = complete || failed;
  if (complete && failed) inv(`${fp}.conditions`, 'cannot set Complete=True and Failed=true conditions');
  if (complete && conditionTrue(job, 'FailureTarget')) inv(`${fp}.conditions`, 'cannot set Complete=True and FailureTarget=true conditions');
  if (s.completionTime != null && !complete) errs.push(field.invalid(`${fp}.completionTime`, s.completionTime, 'cannot set completionTime when there is no Complete=True condition'));
  if (s.completionTime == null && complete) errs.push(field.required(`${fp}.completionTime`, 'completionTime is required for Complete jobs'));
  if (s.startTime != null && s.completionTime != null && Date.parse(s.completionTime) < Date.parse(s.startTime)) {
    errs.push(field.invalid(`${fp}.completionTime`, s.completionTime, 'completionTime cannot be set before startTime'));
  }
  if (finished && (s.active ?? 0) > 0) errs.push(field.invalid(`${fp}.active`, s.active, 'active>0 is invalid for finished job'));
  if (finished && s.startTime == null) errs.push(field.required(`${fp}.startTime`, 'startTime is required for finished job'));
  if (s.ready != null && s.ready > (s.active ?? 0)) errs.push(field.invalid(`${fp}.ready`, s.ready, 'cannot set more ready pods than active'));
  for (const t of ['Failed', 'Complete', 'FailureTarget']) {
    if (conditionTrue(old, t) && !conditionTrue(job, t)) inv(`${fp}.conditions`, `cannot disable the terminal ${t}=True condition`);
  }
  if ((s.failed ?? 0) < (old.status?.failed ?? 0)) errs.push(field.invalid(`${fp}.failed`, s.failed ?? 0, 'cannot decrease the failed counter'));
  if ((s.succeeded ?? 0) < (old.status?.succeeded ?? 0)) errs.push(field.invalid(`${fp}.succeeded`, s.succeeded ?? 0, 'cannot decrease the succeeded counter'));
  if (s.completionTime != null && old.status?.completionTime != null && s.completionTime !== old.status.completionTime) {
    errs.push(field.invalid(`${fp}.completionTime`, s.completionTime, 'completionTime cannot be mutated'));
  }
  const spec = job.spec ?? {};
  if (spec.completions != null && s.completedIndexes !== old.status?.completedIndexes) {
    try {
      validateIndexesFormat(str(s.completedIndexes), spec.completions);
    } catch (e) {
      errs.push(field.invalid(`${fp}.completedIndexes`, str(s.completedIndexes), `error parsing completedIndexes: ${(e as Error).message}`));
    }
  }
  if (s.completedIndexes && spec.completionMode !== 'Indexed') {
    errs.push(field.invalid(`${fp}.completedIndexes`, s.completedIndexes, 'cannot set non-empty completedIndexes when non-indexed completion mode'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// CronJob

const TZ_PART = /^[A-Za-z.\-_0-9+]{1,14}$/;

function validateTimeZone(tz: unknown, fld: string): FieldError[] {
  if (tz == null) return [];
  const s = str(tz);
  if (s.length === 0) return [field.invalid(fld, s, 'timeZone must be nil or non-empty string')];
  for (const part of s.split('/')) {
    if (part === '.' || part === '..' || part.startsWith('-') || !TZ_PART.test(part)) return [field.invalid(fld, s, `unknown time zone ${s}`)];
  }
  const errs: FieldError[] = [];
  if (s.toLowerCase() === 'local') errs.push(field.invalid(fld, s, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
  else if (!isKnownTimeZone(s)) errs.push(field.invalid(fld, s, `unknown time zone ${s}`));
  return errs;
}

function validateCronJobSpec(spec: Json, oldSpec: Json | undefined, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const schedule = str(spec.schedule);
  if (!schedule) errs.push(field.required(`${fld}.schedule`));
  else {
    const allowTZ = oldSpec != null && str(oldSpec.schedule).includes('TZ');
    const e = cronScheduleError(schedule);
    if (e) errs.push(field.invalid(`${fld}.schedule`, schedule, e));
    if (allowTZ && schedule.includes('TZ') && spec.timeZone != null) {
      errs.push(field.invalid(`${fld}.schedule`, schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
    } else if (!allowTZ && schedule.includes('TZ')) {
      errs.push(field.invalid(`${fld}.schedule`, schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
    }
  }
  if (spec.startingDeadlineSeconds != null) errs.push(...validateNonnegativeField(spec.startingDeadlineSeconds, `${fld}.startingDeadlineSeconds`));
  if (oldSpec == null || (oldSpec.timeZone ?? null) !== (spec.timeZone ?? null)) errs.push(...validateTimeZone(spec.timeZone, `${fld}.timeZone`));
  const cp = spec.concurrencyPolicy;
  if (!cp) errs.push(field.required(`${fld}.concurrencyPolicy`));
  else if (!['Allow', 'Forbid', 'Replace'].includes(cp)) errs.push(field.notSupported(`${fld}.concurrencyPolicy`, cp, ['Allow', 'Forbid', 'Replace']));
  const jt = spec.jobTemplate ?? {};
  const jp = `${fld}.jobTemplate`;
  errs.push(...validateJobSpecCommon(jt.spec ?? {}, `${jp}.spec`));
  if (jt.spec?.selector != null) errs.push(field.invalid(`${jp}.spec.selector`, goLabelSelector(jt.spec.selector), '`selector` will be auto-generated'));
  if (jt.spec?.manualSelector === true) errs.push(field.notSupported(`${jp}.spec.manualSelector`, true, ['nil', 'false']));
  for (const k of ['successfulJobsHistoryLimit', 'failedJobsHistoryLimit']) if (spec[k] != null) errs.push(...validateNonnegativeField(spec[k], `${fld}.${k}`));
  return errs;
}

function validateCronJobCreate(cj: Json): FieldError[] {
  const errs = validateObjectMeta(cj.metadata, true, nameIsDNSSubdomain);
  errs.push(...validateCronJobSpec(cj.spec ?? {}, undefined, 'spec'));
  if (str(cj.metadata?.name).length > 52) errs.push(field.invalid('metadata.name', str(cj.metadata?.name), 'must be no more than 52 characters'));
  return errs;
}

register('batch/Job', {
  defaults: defaults.defaultJob,
  prepareForCreate: defaults.prepareJobForCreate,
  validateCreate: (o) => validateJob(o),
  validateUpdate: validateJobUpdate,
  validateStatusUpdate: validateJobStatusUpdate,
});
register('batch/CronJob', {
  defaults: defaults.defaultCronJob,
  validateCreate: validateCronJobCreate,
  validateUpdate: (o, old) => [...validateObjectMetaUpdate(o.metadata, old.metadata), ...validateCronJobSpec(o.spec ?? {}, old.spec ?? {}, 'spec')],
  validateStatusUpdate: (o, old) => validateObjectMetaUpdate(o.metadata, old.metadata),
});


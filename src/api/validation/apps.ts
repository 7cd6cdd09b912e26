// apps/v1 validation (pkg/apis/apps/validation plus the apps/v1 strategies' selector
// immutability), registered with the apps/v1 defaulting.

import { field, goQuote, goSyntax, type FieldError, type GoSyntax } from '../errors.ts';
import * as defaults from '../defaults/apps.ts';
import { register } from './registry.ts';
import {
  goLabelSelector, jsonEqual, labelSelectorMatches, validateAnnotations, validateImmutableField, validateLabels, validateLabelSelector,
  validateObjectMeta, validateObjectMetaUpdate, type Json,
} from './meta.ts';
import { isValidPercent, nameIsDNSLabel, nameIsDNSSubdomain, validateNonnegativeField, IS_NEGATIVE_ERROR_MSG, FIELD_IMMUTABLE_ERROR_MSG } from './names.ts';
import { templateLabelsMismatch, validatePodSpecificAnnotations, validatePodTemplateSpec } from './podspec.ts';

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));

/** Go's %#v of an intstr.IntOrString. */
export function goIntOrString(v: unknown): GoSyntax {
  if (typeof v === 'number') return goSyntax(`intstr.IntOrString{Type:0, IntVal:${v}, StrVal:""}`);
  return goSyntax(`intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(str(v))}}`);
}

function percentValue(v: unknown): number | undefined {
  if (typeof v !== 'string' || isValidPercent(v).length) return undefined;
  return Number(v.slice(0, -1));
}

function intOrPercentValue(v: unknown): number {
  const p = percentValue(v);
  if (p !== undefined) return p;
  if (typeof v === 'number') return v;
  const n = Number.parseInt(str(v), 10);
  return Number.isNaN(n) ? 0 : n;
}

export function validatePositiveIntOrPercent(v: unknown, fld: string): FieldError[] {
  if (typeof v === 'string') return isValidPercent(v).map((m) => field.invalid(fld, goIntOrString(v), m));
  if (typeof v === 'number') return v < 0 ? [field.invalid(fld, v, IS_NEGATIVE_ERROR_MSG)] : [];
  return [field.invalid(fld, goIntOrString(v), "must be an integer or percentage (e.g '5%%')")];
}

export function isNotMoreThan100Percent(v: unknown, fld: string): FieldError[] {
  const p = percentValue(v);
  return p !== undefined && p > 100 ? [field.invalid(fld, goIntOrString(v), 'must not be greater than 100%')] : [];
}

function validateSelectorAndTemplate(spec: Json, fld: string, kind: string, validateTemplate: (tpl: Json, fld: string) => FieldError[]): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec.selector;
  if (sel == null) errs.push(field.required(`${fld}.selector`));
  else {
    errs.push(...validateLabelSelector(sel, {}, `${fld}.selector`));
    const n = Object.keys(sel.matchLabels ?? {}).length + (Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0);
    if (n === 0) errs.push(field.invalid(`${fld}.selector`, goLabelSelector(sel), `empty selector is invalid for ${kind}`));
  }
  const tpl = spec.template ?? {};
  const tp = `${fld}.template`;
  const selectsAll = sel == null || (Object.keys(sel.matchLabels ?? {}).length === 0 && !(Array.isArray(sel.matchExpressions) && sel.matchExpressions.length));
  if (!selectsAll && !labelSelectorMatches(sel, tpl.metadata?.labels)) errs.push(templateLabelsMismatch(`${tp}.metadata.labels`, tpl.metadata?.labels));
  errs.push(...validateTemplate(tpl, tp));
  return errs;
}

function validateReplicaSetTemplate(kind: string) {
  return (tpl: Json, tp: string): FieldError[] => {
    const errs = validatePodTemplateSpec(tpl, tp);
    if (tpl.spec?.restartPolicy !== 'Always') errs.push(field.notSupported(`${tp}.spec.restartPolicy`, str(tpl.spec?.restartPolicy), ['Always']));
    if (tpl.spec?.activeDeadlineSeconds != null) errs.push(field.forbidden(`${tp}.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${kind} is not Supported`));
    return errs;
  };
}

// ---------------------------------------------------------------------------------------------
// Deployment

function validateDeploymentStrategy(s: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  switch (s?.type) {
    case 'Recreate':
      if (s.rollingUpdate != null) errs.push(field.forbidden(`${fld}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'"));
      break;
    case 'RollingUpdate': {
      const ru = s.rollingUpdate;
      if (ru == null) {
        errs.push(field.required(`${fld}.rollingUpdate`, 'this should be defaulted and never be nil'));
        break;
      }
      const rp = `${fld}.rollingUpdate`;
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable ?? 0, `${rp}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge ?? 0, `${rp}.maxSurge`));
      if (intOrPercentValue(ru.maxUnavailable ?? 0) === 0 && intOrPercentValue(ru.maxSurge ?? 0) === 0) {
        errs.push(field.invalid(`${rp}.maxUnavailable`, goIntOrString(ru.maxUnavailable ?? 0), 'may not be 0 when `maxSurge` is 0'));
      }
      errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, `${rp}.maxUnavailable`));
      break;
    }
    default:
      errs.push(
        field.notSupported(fld, goSyntax(`apps.DeploymentStrategy{Type:${goQuote(str(s?.type))}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}`), ['Recreate', 'RollingUpdate']),
      );
  }
  return errs;
}

function validateDeploymentSpec(spec: Json, fld: string): FieldError[] {
  const errs = validateNonnegativeField(spec.replicas ?? 0, `${fld}.replicas`);
  errs.push(...validateSelectorAndTemplate(spec, fld, 'deployment', validateReplicaSetTemplate('ReplicaSet')));
  errs.push(...validateDeploymentStrategy(spec.strategy, `${fld}.strategy`));
  errs.push(...validateNonnegativeField(spec.minReadySeconds ?? 0, `${fld}.minReadySeconds`));
  if (spec.revisionHistoryLimit != null) errs.push(...validateNonnegativeField(spec.revisionHistoryLimit, `${fld}.revisionHistoryLimit`));
  if (spec.progressDeadlineSeconds != null) {
    errs.push(...validateNonnegativeField(spec.progressDeadlineSeconds, `${fld}.progressDeadlineSeconds`));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(field.invalid(`${fld}.progressDeadlineSeconds`, spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

function validateDeploymentStatus(s: Json, fld: string): FieldError[] {
  const st = s ?? {};
  const errs: FieldError[] = [];
  for (const k of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']) {
    errs.push(...validateNonnegativeField(st[k] ?? 0, `${fld}.${k}`));
  }
  if (st.collisionCount != null) errs.push(...validateNonnegativeField(st.collisionCount, `${fld}.collisionCount`));
  const msg = 'cannot be greater than status.replicas';
  for (const k of ['updatedReplicas', 'readyReplicas', 'availableReplicas']) if ((st[k] ?? 0) > (st.replicas ?? 0)) errs.push(field.invalid(`${fld}.${k}`, st[k], msg));
  if ((st.availableReplicas ?? 0) > (st.readyReplicas ?? 0)) errs.push(field.invalid(`${fld}.availableReplicas`, st.availableReplicas, 'cannot be greater than readyReplicas'));
  return errs;
}

function collisionCountDecremented(o: Json, old: Json): FieldError[] {
  const n = o.status?.collisionCount;
  const p = old.status?.collisionCount;
  if ((n == null && p != null) || (n != null && p != null && n < p)) return [field.invalid('status.collisionCount', n ?? 0, 'cannot be decremented')];
  return [];
}

function selectorImmutable(o: Json, old: Json): FieldError[] {
  if (jsonEqual(o.spec?.selector, old.spec?.selector)) return [];
  return [field.invalid('spec.selector', goLabelSelector(o.spec?.selector), FIELD_IMMUTABLE_ERROR_MSG)];
}

// ---------------------------------------------------------------------------------------------
// ReplicaSet

function validateReplicaSetSpec(spec: Json, fld: string): FieldError[] {
  const errs = validateNonnegativeField(spec.replicas ?? 0, `${fld}.replicas`);
  errs.push(...validateNonnegativeField(spec.minReadySeconds ?? 0, `${fld}.minReadySeconds`));
  errs.push(...validateSelectorAndTemplate(spec, fld, 'deployment', validateReplicaSetTemplate('ReplicaSet')));
  return errs;
}

function validateReplicaSetStatus(s: Json, fld: string): FieldError[] {
  const st = s ?? {};
  const errs: FieldError[] = [];
  for (const k of ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']) errs.push(...validateNonnegativeField(st[k] ?? 0, `${fld}.${k}`));
  const msg = 'cannot be greater than status.replicas';
  for (const k of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas']) if ((st[k] ?? 0) > (st.replicas ?? 0)) errs.push(field.invalid(`${fld}.${k}`, st[k], msg));
  if ((st.availableReplicas ?? 0) > (st.readyReplicas ?? 0)) errs.push(field.invalid(`${fld}.availableReplicas`, st.availableReplicas, 'cannot be greater than readyReplicas'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// DaemonSet

function validateDaemonSetSpec(spec: Json, fld: string): FieldError[] {
  const errs = validateLabelSelector(spec.selector, {}, `${fld}.selector`);
  const tpl = spec.template ?? {};
  if (spec.selector != null && !labelSelectorMatches(spec.selector, tpl.metadata?.labels) && !(Object.keys(spec.selector.matchLabels ?? {}).length === 0 && !(spec.selector.matchExpressions ?? []).length)) {
    errs.push(templateLabelsMismatch(`${fld}.template.metadata.labels`, tpl.metadata?.labels));
  }
  if (spec.selector != null && Object.keys(spec.selector.matchLabels ?? {}).length + (spec.selector.matchExpressions ?? []).length === 0) {
    errs.push(field.invalid(`${fld}.selector`, goLabelSelector(spec.selector), 'empty selector is invalid for daemonset'));
  }
  errs.push(...validatePodTemplateSpec(tpl, `${fld}.template`));
  if (tpl.spec?.restartPolicy !== 'Always') errs.push(field.notSupported(`${fld}.template.spec.restartPolicy`, str(tpl.spec?.restartPolicy), ['Always']));
  if (tpl.spec?.activeDeadlineSeconds != null) errs.push(field.forbidden(`${fld}.template.spec.activeDeadlineSeconds`, 'activeDeadlineSeconds in DaemonSet is not Supported'));
  errs.push(...validateNonnegativeField(spec.minReadySeconds ?? 0, `${fld}.minReadySeconds`));
  const us = spec.updateStrategy ?? {};
  const up = `${fld}.updateStrategy`;
  switch (us.type) {
    case 'OnDelete':
      break;
    case 'RollingUpdate': {
      const ru = us.rollingUpdate;
      if (ru == null) {
        errs.push(field.required(`${up}.rollingUpdate`));
        break;
      }
      const rp = `${up}.rollingUpdate`;
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable ?? 0, `${rp}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge ?? 0, `${rp}.maxSurge`));
      errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, `${rp}.maxUnavailable`));
      errs.push(...isNotMoreThan100Percent(ru.maxSurge, `${rp}.maxSurge`));
      const hasUnavailable = intOrPercentValue(ru.maxUnavailable ?? 0) !== 0;
      const hasSurge = intOrPercentValue(ru.maxSurge ?? 0) !== 0;
      if (hasUnavailable && hasSurge) errs.push(field.invalid(`${rp}.maxSurge`, goIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'));
      else if (!hasUnavailable && !hasSurge) errs.push(field.required(`${rp}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
      break;
    }
    default:
      errs.push(field.notSupported(up, goSyntax(`&apps.DaemonSetUpdateStrategy{Type:${goQuote(str(us.type))}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}`), ['RollingUpdate', 'OnDelete']));
  }
  if (spec.revisionHistoryLimit != null) errs.push(...validateNonnegativeField(spec.revisionHistoryLimit, `${fld}.revisionHistoryLimit`));
  return errs;
}

function validateDaemonSetStatus(s: Json, fld: string): FieldError[] {
  const st = s ?? {};
  const errs: FieldError[] = [];
  for (const k of ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable']) {
    errs.push(...validateNonnegativeField(st[k] ?? 0, `${fld}.${k}`));
  }
  if (st.collisionCount != null) errs.push(...validateNonnegativeField(st.collisionCount, `${fld}.collisionCount`));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// StatefulSet

function validateStatefulSetSpec(spec: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  switch (spec.podManagementPolicy) {
    case undefined:
    case null:
    case '':
      errs.push(field.required(`${fld}.podManagementPolicy`));
      break;
    case 'OrderedReady':
    case 'Parallel':
      break;
    default:
      errs.push(field.invalid(`${fld}.podManagementPolicy`, str(spec.podManagementPolicy), "must be 'OrderedReady' or 'Parallel'"));
  }
  const us = spec.updateStrategy ?? {};
  const up = `${fld}.updateStrategy`;
  switch (us.type) {
    case undefined:
    case null:
    case '':
      errs.push(field.required(up));
      break;
    case 'OnDelete':
      if (us.rollingUpdate != null) errs.push(field.invalid(`${up}.rollingUpdate`, goSyntax('&apps.RollingUpdateStatefulSetStrategy{...}'), "only allowed for updateStrategy 'RollingUpdate'"));
      break;
    case 'RollingUpdate':
      if (us.rollingUpdate != null) {
        const rp = `${up}.rollingUpdate`;
        errs.push(...validateNonnegativeField(us.rollingUpdate.partition ?? 0, `${rp}.partition`));
        const mu = us.rollingUpdate.maxUnavailable;
        if (mu != null) {
          errs.push(...validatePositiveIntOrPercent(mu, `${rp}.maxUnavailable`));
          if (intOrPercentValue(mu) === 0) errs.push(field.invalid(`${rp}.maxUnavailable`, goIntOrString(mu), 'cannot be 0'));
          errs.push(...isNotMoreThan100Percent(mu, `${rp}.maxUnavailable`));
        }
      }
      break;
    default:
      errs.push(field.invalid(up, goSyntax(`apps.StatefulSetUpdateStrategy{Type:${goQuote(str(us.type))}, RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}`), "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const rp = spec.persistentVolumeClaimRetentionPolicy;
  if (rp != null) {
    for (const k of ['whenDeleted', 'whenScaled']) {
      if (rp[k] !== 'Retain' && rp[k] !== 'Delete') errs.push(field.notSupported(`${fld}.persistentVolumeClaimRetentionPolicy.${k}`, str(rp[k]), ['Retain', 'Delete']));
    }
  }
  errs.push(...validateNonnegativeField(spec.replicas ?? 0, `${fld}.replicas`));
  errs.push(...validateNonnegativeField(spec.minReadySeconds ?? 0, `${fld}.minReadySeconds`));
  if (spec.ordinals != null) errs.push(...validateNonnegativeField(spec.ordinals.start ?? 0, `${fld}.ordinals.start`));
  const sel = spec.selector;
  if (sel == null) errs.push(field.required(`${fld}.selector`));
  else {
    errs.push(...validateLabelSelector(sel, {}, `${fld}.selector`));
    if (Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0) {
      errs.push(field.invalid(`${fld}.selector`, goLabelSelector(sel), 'empty selector is invalid for statefulset'));
    }
  }
  // upstream validates only the template's labels and annotations here (its pod spec is not validated)
  const tpl = spec.template ?? {};
  const tp = `${fld}.template`;
  const selectsAll = sel == null || Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0;
  if (!selectsAll && !labelSelectorMatches(sel, tpl.metadata?.labels)) errs.push(templateLabelsMismatch(`${tp}.metadata.labels`, tpl.metadata?.labels));
  errs.push(...validateLabels(tpl.metadata?.labels, `${tp}.labels`));
  errs.push(...validateAnnotations(tpl.metadata?.annotations, `${tp}.annotations`));
  errs.push(...validatePodSpecificAnnotations(tpl.metadata?.annotations, tpl.spec, `${tp}.annotations`));
  if (tpl.spec?.restartPolicy !== 'Always') errs.push(field.notSupported(`${tp}.spec.restartPolicy`, str(tpl.spec?.restartPolicy), ['Always']));
  if (tpl.spec?.activeDeadlineSeconds != null) errs.push(field.forbidden(`${tp}.spec.activeDeadlineSeconds`, 'activeDeadlineSeconds in StatefulSet is not Supported'));
  return errs;
}

function validateStatefulSetUpdate(o: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(o.metadata, old.metadata);
  errs.push(...validateStatefulSetSpec(o.spec ?? {}, 'spec'));
  const a = { ...(o.spec ?? {}) };
  const b = { ...(old.spec ?? {}) };
  for (const k of ['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'persistentVolumeClaimRetentionPolicy']) {
    delete a[k];
    delete b[k];
  }
  if (!jsonEqual(a, b)) {
    errs.push(field.forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
  }
  return errs;
}

function validateStatefulSetStatus(s: Json, fld: string): FieldError[] {
  const st = s ?? {};
  const errs: FieldError[] = [];
  for (const k of ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas']) errs.push(...validateNonnegativeField(st[k] ?? 0, `${fld}.${k}`));
  if (st.observedGeneration != null) errs.push(...validateNonnegativeField(st.observedGeneration, `${fld}.observedGeneration`));
  if (st.collisionCount != null) errs.push(...validateNonnegativeField(st.collisionCount, `${fld}.collisionCount`));
  const msg = 'cannot be greater than status.replicas';
  for (const k of ['readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas']) if ((st[k] ?? 0) > (st.replicas ?? 0)) errs.push(field.invalid(`${fld}.${k}`, st[k], msg));
  if ((st.availableReplicas ?? 0) > (st.readyReplicas ?? 0)) errs.push(field.invalid(`${fld}.availableReplicas`, st.availableReplicas, 'cannot be greater than status.readyReplicas'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// ControllerRevision

function validateControllerRevision(cr: Json): FieldError[] {
  const errs = validateObjectMeta(cr.metadata, true, nameIsDNSSubdomain);
  if (cr.data == null) errs.push(field.required('data', 'data is mandatory'));
  errs.push(...validateNonnegativeField(cr.revision ?? 0, 'revision'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Registration

const metaUpdate = (o: Json, old: Json) => validateObjectMetaUpdate(o.metadata, old.metadata);

register('apps/Deployment', {
  defaults: defaults.defaultDeployment,
  validateCreate: (o) => [...validateObjectMeta(o.metadata, true, nameIsDNSSubdomain), ...validateDeploymentSpec(o.spec ?? {}, 'spec')],
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateDeploymentSpec(o.spec ?? {}, 'spec'), ...selectorImmutable(o, old)],
  validateStatusUpdate: (o, old) => [...metaUpdate(o, old), ...validateDeploymentStatus(o.status, 'status'), ...collisionCountDecremented(o, old)],
});
register('apps/ReplicaSet', {
  defaults: defaults.defaultReplicaSet,
  validateCreate: (o) => [...validateObjectMeta(o.metadata, true, nameIsDNSSubdomain), ...validateReplicaSetSpec(o.spec ?? {}, 'spec')],
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateReplicaSetSpec(o.spec ?? {}, 'spec'), ...selectorImmutable(o, old)],
  validateStatusUpdate: (o, old) => [...metaUpdate(o, old), ...validateReplicaSetStatus(o.status, 'status')],
});
register('apps/DaemonSet', {
  defaults: defaults.defaultDaemonSet,
  validateCreate: (o) => [...validateObjectMeta(o.metadata, true, nameIsDNSSubdomain), ...validateDaemonSetSpec(o.spec ?? {}, 'spec')],
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateDaemonSetSpec(o.spec ?? {}, 'spec'), ...selectorImmutable(o, old)],
  validateStatusUpdate: (o, old) => [...metaUpdate(o, old), ...validateDaemonSetStatus(o.status, 'status'), ...collisionCountDecremented(o, old)],
});
register('apps/StatefulSet', {
  defaults: defaults.defaultStatefulSet,
  validateCreate: (o) => [...validateObjectMeta(o.metadata, true, nameIsDNSLabel), ...validateStatefulSetSpec(o.spec ?? {}, 'spec')],
  validateUpdate: validateStatefulSetUpdate,
  validateStatusUpdate: (o, old) => [...validateStatefulSetStatus(o.status, 'status'), ...metaUpdate(o, old), ...collisionCountDecremented(o, old)],
});
register('apps/ControllerRevision', {
  validateCreate: validateControllerRevision,
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateControllerRevision(o), ...validateImmutableField(o.data, old.data, 'data')],
});

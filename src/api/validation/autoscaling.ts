// autoscaling validation (pkg/apis/autoscaling/validation). Upstream validates its internal form,
// which is autoscaling/v2's shape; a v1 object is validated through the same rules with the paths
// its conversion produces (targetCPUUtilizationPercentage is spec.metrics[0].resource.target...).

import { field, goSyntax, type FieldError } from '../errors.ts';
import { quantityString } from '../quantity.ts';
import { defaultHPA } from '../defaults/autoscaling.ts';
import { register } from './registry.ts';
import { validateObjectMeta, validateObjectMetaUpdate, type Json } from './meta.ts';
import { nameIsDNSSubdomain, validateDNS1123Label, validateNonnegativeField, validatePathSegmentName } from './names.ts';
import { quantityAt, validateContainerResourceName } from './resources.ts';

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const SELECT_POLICIES = ['Disabled', 'Max', 'Min'];
const POLICY_TYPES = ['Percent', 'Pods'];

function validateCrossVersionObjectReference(ref: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!ref?.kind) errs.push(field.required(`${fld}.kind`));
  else for (const m of validatePathSegmentName(ref.kind, false)) errs.push(field.invalid(`${fld}.kind`, ref.kind, m));
  if (!ref?.name) errs.push(field.required(`${fld}.name`));
  else for (const m of validatePathSegmentName(ref.name, false)) errs.push(field.invalid(`${fld}.name`, ref.name, m));
  return errs;
}

function validateMetricIdentifier(id: Json, fld: string): FieldError[] {
  if (!id?.name) return [field.required(`${fld}.name`, 'must specify a metric name')];
  return validatePathSegmentName(id.name, false).map((m) => field.invalid(`${fld}.name`, id.name, m));
}

function validateMetricTarget(t0: Json, fld: string): FieldError[] {
  const t = t0 ?? {};
  const errs: FieldError[] = [];
  if (!t.type) errs.push(field.required(`${fld}.type`, 'must specify a metric target type'));
  if (!['Utilization', 'Value', 'AverageValue'].includes(t.type)) errs.push(field.invalid(`${fld}.type`, str(t.type), 'must be either Utilization, Value, or AverageValue'));
  for (const k of ['value', 'averageValue']) {
    if (t[k] == null) continue;
    const q = quantityAt(t[k], `${fld}.${k}`, errs);
    if (q && q.nanos <= 0n) errs.push(field.invalid(`${fld}.${k}`, goSyntax(quantityString(q)), 'must be positive'));
  }
  if (t.averageUtilization != null && t.averageUtilization < 1) errs.push(field.invalid(`${fld}.averageUtilization`, t.averageUtilization, 'must be greater than 0'));
  return errs;
}

function validateMetricSpec(m: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!m.type) errs.push(field.required(`${fld}.type`, 'must specify a metric source type'));
  if (!METRIC_TYPES.includes(m.type)) errs.push(field.notSupported(`${fld}.type`, str(m.type), METRIC_TYPES));
  const present: string[] = [];
  const tp = (k: string) => `${fld}.${k}.target`;
  if (m.object != null) {
    present.push('object');
    if (present.length === 1) {
      const s = m.object;
      errs.push(...validateCrossVersionObjectReference(s.describedObject, `${fld}.object.describedObject`));
      errs.push(...validateMetricIdentifier(s.metric, `${fld}.object.metric`));
      errs.push(...validateMetricTarget(s.target, tp('object')));
      if (s.target?.value == null && s.target?.averageValue == null) errs.push(field.required(`${tp('object')}.averageValue`, 'must set either a target value or averageValue'));
    }
  }
  if (m.external != null) {
    present.push('external');
    if (present.length === 1) {
      const s = m.external;
      errs.push(...validateMetricIdentifier(s.metric, `${fld}.external.metric`));
      errs.push(...validateMetricTarget(s.target, tp('external')));
      if (s.target?.value == null && s.target?.averageValue == null) errs.push(field.required(`${tp('external')}.averageValue`, 'must set either a target value for metric or a per-pod target'));
      if (s.target?.value != null && s.target?.averageValue != null) errs.push(field.forbidden(`${tp('external')}.value`, 'may not set both a target value for metric and a per-pod target'));
    }
  }
  if (m.pods != null) {
    present.push('pods');
    if (present.length === 1) {
      const s = m.pods;
      errs.push(...validateMetricIdentifier(s.metric, `${fld}.pods.metric`));
      errs.push(...validateMetricTarget(s.target, tp('pods')));
      if (s.target?.averageValue == null) errs.push(field.required(`${tp('pods')}.averageValue`, 'must specify a positive target averageValue'));
    }
  }
  const resourceLike = (k: 'resource' | 'containerResource') => {
    const s = m[k];
    if (!s.name) errs.push(field.required(`${fld}.${k}.name`, 'must specify a resource name'));
    else if (k === 'containerResource') errs.push(...validateContainerResourceName(s.name, `${fld}.${k}.name`));
    if (k === 'containerResource') {
      if (!s.container) errs.push(field.required(`${fld}.${k}.container`, 'must specify a container'));
      else errs.push(...validateDNS1123Label(s.container, `${fld}.${k}.container`));
    }
    errs.push(...validateMetricTarget(s.target, tp(k)));
    if (s.target?.averageUtilization == null && s.target?.averageValue == null) errs.push(field.required(`${tp(k)}.averageUtilization`, 'must set either a target raw value or a target utilization'));
    if (s.target?.averageUtilization != null && s.target?.averageValue != null) errs.push(field.forbidden(`${tp(k)}.averageValue`, 'may not set both a target raw value and a target utilization'));
  };
  if (m.resource != null) {
    present.push('resource');
    if (present.length === 1) resourceLike('resource');
  }
  if (m.containerResource != null) {
    present.push('containerResource');
    if (present.length === 1) resourceLike('containerResource');
  }
  const expected: Record<string, string> = { Object: 'object', Pods: 'pods', Resource: 'resource', External: 'external', ContainerResource: 'containerResource' };
  const exp = expected[m.type];
  if (exp) {
    if (m[exp] == null) errs.push(field.required(`${fld}.${exp}`, 'must populate information for the given metric source'));
  } else errs.push(field.notSupported(`${fld}.type`, str(m.type), METRIC_TYPES));
  if (present.length !== 1) for (const t of present.filter((p) => p !== exp)) errs.push(field.forbidden(`${fld}.${t}`, 'must populate the given metric source only'));
  return errs;
}

function validateScalingRules(r: Json, fld: string): FieldError[] {
  if (r == null) return [];
  const errs: FieldError[] = [];
  const sw = r.stabilizationWindowSeconds;
  if (sw != null && sw < 0) errs.push(field.invalid(`${fld}.stabilizationWindowSeconds`, sw, 'must be greater than or equal to zero'));
  if (sw != null && sw > 3600) errs.push(field.invalid(`${fld}.stabilizationWindowSeconds`, sw, 'must be less than or equal to 3600'));
  if (r.selectPolicy != null && !SELECT_POLICIES.includes(r.selectPolicy)) errs.push(field.notSupported(`${fld}.selectPolicy`, r.selectPolicy, SELECT_POLICIES));
  const policies = arr(r.policies);
  if (policies.length === 0) errs.push(field.required(`${fld}.policies`, 'must specify at least one Policy'));
  policies.forEach((p0, i) => {
    const p = p0 ?? {};
    const pp = `${fld}.policies[${i}]`;
    if (p.type !== 'Pods' && p.type !== 'Percent') errs.push(field.notSupported(`${pp}.type`, str(p.type), POLICY_TYPES));
    if (!((p.value ?? 0) > 0)) errs.push(field.invalid(`${pp}.value`, p.value ?? 0, 'must be greater than zero'));
    if (!((p.periodSeconds ?? 0) > 0)) errs.push(field.invalid(`${pp}.periodSeconds`, p.periodSeconds ?? 0, 'must be greater than zero'));
    if ((p.periodSeconds ?? 0) > 1800) errs.push(field.invalid(`${pp}.periodSeconds`, p.periodSeconds, 'must be less than or equal to 1800'));
  });
  return errs;
}

/** The v2 (internal) form's spec validation; `minLower` is 1 unless scale-to-zero applies. */
function validateSpecV2(spec: Json, minLower: number): FieldError[] {
  const errs: FieldError[] = [];
  if (spec.minReplicas != null && spec.minReplicas < minLower) errs.push(field.invalid('spec.minReplicas', spec.minReplicas, `must be greater than or equal to ${minLower}`));
  if ((spec.maxReplicas ?? 0) < 1) errs.push(field.invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than 0'));
  if (spec.minReplicas != null && (spec.maxReplicas ?? 0) < spec.minReplicas) errs.push(field.invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than or equal to `minReplicas`'));
  errs.push(...validateCrossVersionObjectReference(spec.scaleTargetRef, 'spec.scaleTargetRef'));
  arr(spec.metrics).forEach((m, i) => errs.push(...validateMetricSpec(m ?? {}, `spec.metrics[${i}]`)));
  if (spec.minReplicas === 0 && !arr(spec.metrics).some((m) => m?.type === 'Object' || m?.type === 'External')) {
    errs.push(field.forbidden('spec.metrics', 'must specify at least one Object or External metric to support scaling to zero replicas'));
  }
  if (spec.behavior != null) {
    errs.push(...validateScalingRules(spec.behavior.scaleUp, 'spec.behavior.scaleUp'));
    errs.push(...validateScalingRules(spec.behavior.scaleDown, 'spec.behavior.scaleDown'));
  }
  return errs;
}

/** A v1 spec seen through its conversion: the CPU target becomes metrics[0]. */
function v1AsV2Spec(spec: Json): Json {
  const out: Json = { minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas, scaleTargetRef: spec.scaleTargetRef };
  if (spec.targetCPUUtilizationPercentage != null) {
    out.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }];
  }
  return out;
}

function specFor(o: Json, version: string): Json {
  return version === 'v1' ? v1AsV2Spec(o.spec ?? {}) : (o.spec ?? {});
}

function validateHPA(o: Json, version: string): FieldError[] {
  return [...validateObjectMeta(o.metadata, true, nameIsDNSSubdomain), ...validateSpecV2(specFor(o, version), 1)];
}

function validateHPAUpdate(o: Json, old: Json, version: string): FieldError[] {
  const lower = old.spec?.minReplicas === 0 ? 0 : 1;
  return [...validateObjectMetaUpdate(o.metadata, old.metadata), ...validateSpecV2(specFor(o, version), lower)];
}

function validateHPAStatusUpdate(o: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(o.metadata, old.metadata);
  errs.push(...validateNonnegativeField(o.status?.currentReplicas ?? 0, 'status.currentReplicas'));
  errs.push(...validateNonnegativeField(o.status?.desiredReplicas ?? 0, 'status.desiredReplicas'));
  return errs;
}

register('autoscaling/HorizontalPodAutoscaler', {
  defaults: defaultHPA,
  validateCreate: validateHPA,
  validateUpdate: validateHPAUpdate,
  validateStatusUpdate: validateHPAStatusUpdate,
});

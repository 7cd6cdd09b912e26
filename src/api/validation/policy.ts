// policy/v1 validation (pkg/apis/policy/validation). PodDisruptionBudgets have no defaults in
// policy/v1; their metadata gets only the generic registry checks (see index.ts).

import { field, goQuote, goSyntax, type FieldError } from '../errors.ts';
import { register } from './registry.ts';
import { validateLabelSelector, validateObjectMetaUpdate, type Json } from './meta.ts';
import { isQualifiedName, validateNonnegativeField } from './names.ts';
import { isNotMoreThan100Percent, validatePositiveIntOrPercent } from './apps.ts';

const UNHEALTHY_POD_EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'];
const CONDITION_STATUSES = ['False', 'True', 'Unknown'];
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));

function goIntOrStringPtr(v: unknown): string {
  if (v == null) return '(*intstr.IntOrString)(nil)';
  return typeof v === 'number' ? `&intstr.IntOrString{Type:0, IntVal:${v}, StrVal:""}` : `&intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(str(v))}}`;
}

export function validatePodDisruptionBudgetSpec(spec: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (spec.minAvailable != null && spec.maxUnavailable != null) {
    errs.push(
      field.invalid(
        fld,
        goSyntax(`policy.PodDisruptionBudgetSpec{MinAvailable:${goIntOrStringPtr(spec.minAvailable)}, Selector:(*v1.LabelSelector)(...), MaxUnavailable:${goIntOrStringPtr(spec.maxUnavailable)}, UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}`),
        'minAvailable and maxUnavailable cannot be both set',
      ),
    );
  }
  for (const k of ['minAvailable', 'maxUnavailable']) {
    if (spec[k] == null) continue;
    errs.push(...validatePositiveIntOrPercent(spec[k], `${fld}.${k}`));
    errs.push(...isNotMoreThan100Percent(spec[k], `${fld}.${k}`));
  }
  errs.push(...validateLabelSelector(spec.selector, {}, `${fld}.selector`));
  if (spec.unhealthyPodEvictionPolicy != null && !UNHEALTHY_POD_EVICTION_POLICIES.includes(spec.unhealthyPodEvictionPolicy)) {
    errs.push(field.notSupported(`${fld}.unhealthyPodEvictionPolicy`, spec.unhealthyPodEvictionPolicy, UNHEALTHY_POD_EVICTION_POLICIES));
  }
  return errs;
}

/** metav1 conditions, as upstream's ValidateConditions. */
function validateConditions(conds: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  arr(conds).forEach((c0, i) => {
    const c = c0 ?? {};
    const p = `${fld}[${i}]`;
    if (!c.type) errs.push(field.required(`${p}.type`, 'must be set'));
    else for (const m of isQualifiedName(c.type)) errs.push(field.invalid(`${p}.type`, c.type, m));
    if (seen.has(c.type)) errs.push(field.duplicate(`${p}.type`, c.type));
    seen.add(c.type);
    if (!CONDITION_STATUSES.includes(c.status)) errs.push(field.notSupported(`${p}.status`, str(c.status), CONDITION_STATUSES));
    if (c.observedGeneration != null && c.observedGeneration < 0) errs.push(field.invalid(`${p}.observedGeneration`, c.observedGeneration, 'must be greater than or equal to zero'));
    if (!c.lastTransitionTime) errs.push(field.required(`${p}.lastTransitionTime`, 'must be set'));
    if (!c.reason) errs.push(field.required(`${p}.reason`, 'must be set'));
    else {
      if (str(c.reason).length > 1024) errs.push(field.tooLong(`${p}.reason`, '', 1024));
      if (!/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/.test(c.reason)) {
        errs.push(field.invalid(`${p}.reason`, c.reason, "a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName',  or 'ReasonA,ReasonB',  or 'ReasonA:ReasonB', regex used for validation is '[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?')"));
      }
    }
    if (str(c.message).length > 32768) errs.push(field.tooLong(`${p}.message`, '', 32768));
  });
  return errs;
}

function validatePDBStatusUpdate(o: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(o.metadata, old.metadata);
  const s = o.status ?? {};
  errs.push(...validateConditions(s.conditions, 'status.conditions'));
  for (const k of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods']) errs.push(...validateNonnegativeField(s[k] ?? 0, `status.${k}`));
  return errs;
}

register('policy/PodDisruptionBudget', {
  validateCreate: (o) => validatePodDisruptionBudgetSpec(o.spec ?? {}, 'spec'),
  validateUpdate: (o) => validatePodDisruptionBudgetSpec(o.spec ?? {}, 'spec'),
  validateStatusUpdate: validatePDBStatusUpdate,
});

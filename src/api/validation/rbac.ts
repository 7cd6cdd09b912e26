// rbac.authorization.k8s.io/v1 validation with upstream's field paths and wording
// (pkg/apis/rbac/validation/validation.go): Role, ClusterRole (aggregationRule),
// RoleBinding, ClusterRoleBinding (roleRef immutable, subject kinds).
//
// Objects arrive defaulted (defaults/rbac.ts): subjects' and roleRef's apiGroup are filled in.

import '../defaults/rbac.ts';
import { field, goQuote, goStringSlice, goSyntax, type FieldError } from '../errors.ts';
import { labelSelectorAsSelector } from '../labels.ts';
import { register } from './registry.ts';
import { validateObjectMeta, validateObjectMetaUpdate, validateLabelSelector, type Json, type LabelSelectorOptions } from './meta.ts';
import { validatePathSegmentName, validateServiceAccountName } from './names.ts';
import { RBAC_GROUP } from '../defaults/rbac.ts';

/** upstream's ValidateRBACName: names only need to be usable as a path segment. */
export const validateRBACName = validatePathSegmentName;

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);

export function validatePolicyRule(rule: Json, isNamespaced: boolean, fld: string): FieldError[] {
  const r = rule ?? {};
  const errs: FieldError[] = [];
  if (arr(r.verbs).length === 0) errs.push(field.required(`${fld}.verbs`, 'verbs must contain at least one value'));
  const urls = arr(r.nonResourceURLs);
  if (urls.length > 0) {
    if (isNamespaced) errs.push(field.invalid(`${fld}.nonResourceURLs`, goStringSlice(urls), 'namespaced rules cannot apply to non-resource URLs'));
    if (arr(r.apiGroups).length > 0 || arr(r.resources).length > 0 || arr(r.resourceNames).length > 0) {
      errs.push(field.invalid(`${fld}.nonResourceURLs`, goStringSlice(urls), 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return errs;
  }
  if (arr(r.apiGroups).length === 0) errs.push(field.required(`${fld}.apiGroups`, 'resource rules must supply at least one api group'));
  if (arr(r.resources).length === 0) errs.push(field.required(`${fld}.resources`, 'resource rules must supply at least one resource'));
  return errs;
}

function validateRules(rules: unknown, isNamespaced: boolean): FieldError[] {
  return arr(rules).flatMap((r, i) => validatePolicyRule(r, isNamespaced, `rules[${i}]`));
}

export function validateRole(role: Json): FieldError[] {
  return [...validateObjectMeta(role?.metadata, true, validateRBACName), ...validateRules(role?.rules, true)];
}

export function validateRoleUpdate(role: Json, old: Json): FieldError[] {
  return [...validateRole(role), ...validateObjectMetaUpdate(role?.metadata, old?.metadata)];
}

export function validateClusterRole(role: Json, opts: LabelSelectorOptions = {}): FieldError[] {
  const errs = [...validateObjectMeta(role?.metadata, false, validateRBACName), ...validateRules(role?.rules, false)];
  const agg = role?.aggregationRule;
  if (agg != null) {
    const selectors = arr(agg.clusterRoleSelectors);
    if (selectors.length === 0) {
      errs.push(field.required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
    }
    selectors.forEach((sel, i) => {
      const p = `aggregationRule.clusterRoleSelectors[${i}]`;
      errs.push(...validateLabelSelector(sel, opts, p));
      try {
        labelSelectorAsSelector(sel);
      } catch {
        // upstream reports the (nil) selector it failed to build, which prints as "null".
        errs.push(field.invalid(p, 'null', 'invalid label selector.'));
      }
    });
  }
  return errs;
}

function hasInvalidSelector(role: Json): boolean {
  return arr(role?.aggregationRule?.clusterRoleSelectors).some((sel, i) => validateLabelSelector(sel, {}, `s[${i}]`).length > 0);
}

export function validateClusterRoleUpdate(role: Json, old: Json): FieldError[] {
  // Stored selectors with label values that are no longer valid stay updatable.
  const opts: LabelSelectorOptions = { allowInvalidLabelValueInSelector: hasInvalidSelector(old) };
  return [...validateClusterRole(role, opts), ...validateObjectMetaUpdate(role?.metadata, old?.metadata)];
}

export function validateSubject(subject: Json, isNamespaced: boolean, fld: string): FieldError[] {
  const s = subject ?? {};
  const errs: FieldError[] = [];
  const name = String(s.name ?? '');
  const apiGroup = String(s.apiGroup ?? '');
  if (name.length === 0) errs.push(field.required(`${fld}.name`, ''));
  switch (s.kind) {
    case 'ServiceAccount':
      if (name.length > 0) for (const m of validateServiceAccountName(name, false)) errs.push(field.invalid(`${fld}.name`, name, m));
      if (apiGroup.length > 0) errs.push(field.notSupported(`${fld}.apiGroup`, apiGroup, ['']));
      if (!isNamespaced && !s.namespace) errs.push(field.required(`${fld}.namespace`, ''));
      break;
    case 'User':
    case 'Group':
      if (apiGroup !== RBAC_GROUP) errs.push(field.notSupported(`${fld}.apiGroup`, apiGroup, [RBAC_GROUP]));
      break;
    default:
      errs.push(field.notSupported(`${fld}.kind`, String(s.kind ?? ''), ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

function validateRoleRef(ref: Json, kinds: string[]): FieldError[] {
  const r = ref ?? {};
  const errs: FieldError[] = [];
  const apiGroup = String(r.apiGroup ?? '');
  if (apiGroup !== RBAC_GROUP) errs.push(field.notSupported('roleRef.apiGroup', apiGroup, [RBAC_GROUP]));
  if (!kinds.includes(r.kind)) errs.push(field.notSupported('roleRef.kind', String(r.kind ?? ''), kinds));
  const name = String(r.name ?? '');
  if (name.length === 0) errs.push(field.required('roleRef.name', ''));
  else for (const m of validateRBACName(name, false)) errs.push(field.invalid('roleRef.name', name, m));
  return errs;
}

function validateBinding(b: Json, isNamespaced: boolean, kinds: string[]): FieldError[] {
  const errs = validateObjectMeta(b?.metadata, isNamespaced, validateRBACName);
  errs.push(...validateRoleRef(b?.roleRef, kinds));
  arr(b?.subjects).forEach((s, i) => errs.push(...validateSubject(s, isNamespaced, `subjects[${i}]`)));
  return errs;
}

/** Go's %#v of the internal rbac.RoleRef, as upstream prints the changed roleRef. */
function roleRefGo(r: Json): unknown {
  const q = (v: unknown) => goQuote(String(v ?? ''));
  return goSyntax(`rbac.RoleRef{APIGroup:${q(r?.apiGroup)}, Kind:${q(r?.kind)}, Name:${q(r?.name)}}`);
}

function roleRefChanged(a: Json, b: Json): boolean {
  return ['apiGroup', 'kind', 'name'].some((k) => String(a?.[k] ?? '') !== String(b?.[k] ?? ''));
}

function validateBindingUpdate(b: Json, old: Json, isNamespaced: boolean, kinds: string[]): FieldError[] {
  const errs = [...validateBinding(b, isNamespaced, kinds), ...validateObjectMetaUpdate(b?.metadata, old?.metadata)];
  if (roleRefChanged(b?.roleRef, old?.roleRef)) errs.push(field.invalid('roleRef', roleRefGo(b?.roleRef), 'cannot change roleRef'));
  return errs;
}

const ROLE_BINDING_KINDS = ['Role', 'ClusterRole'];
const CLUSTER_ROLE_BINDING_KINDS = ['ClusterRole'];

export const validateRoleBinding = (b: Json) => validateBinding(b, true, ROLE_BINDING_KINDS);
export const validateRoleBindingUpdate = (b: Json, old: Json) => validateBindingUpdate(b, old, true, ROLE_BINDING_KINDS);
export const validateClusterRoleBinding = (b: Json) => validateBinding(b, false, CLUSTER_ROLE_BINDING_KINDS);
export const validateClusterRoleBindingUpdate = (b: Json, old: Json) => validateBindingUpdate(b, old, false, CLUSTER_ROLE_BINDING_KINDS);

register(`${RBAC_GROUP}/Role`, { validateCreate: validateRole, validateUpdate: validateRoleUpdate });
register(`${RBAC_GROUP}/ClusterRole`, { validateCreate: (o) => validateClusterRole(o), validateUpdate: validateClusterRoleUpdate });
register(`${RBAC_GROUP}/RoleBinding`, { validateCreate: validateRoleBinding, validateUpdate: validateRoleBindingUpdate });
register(`${RBAC_GROUP}/ClusterRoleBinding`, { validateCreate: validateClusterRoleBinding, validateUpdate: validateClusterRoleBindingUpdate });

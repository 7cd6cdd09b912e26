// ObjectMeta and LabelSelector validation with upstream's field paths and wording
// (k8s.io/apimachinery/pkg/api/validation/objectmeta.go, pkg/apis/meta/v1/validation, and the
// finalizer-name rule pkg/apis/core/validation adds for every built-in kind).
//
// Objects arrive as decoded JSON; every function tolerates absent fields and never mutates.

import { field, goQuote, goSyntax, goStringSlice, type FieldError, type GoSyntax } from '../errors.ts';
import {
  isQualifiedName, isValidLabelValue, validateNamespaceName, byteLength, IS_NEGATIVE_ERROR_MSG,
  FIELD_IMMUTABLE_ERROR_MSG, type NameValidator,
} from './names.ts';

// Decoded JSON: validation reads arbitrary shapes, so fields are typed loosely on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * 1024;
export const FINALIZER_ORPHAN_DEPENDENTS = 'orphan';
export const FINALIZER_DELETE_DEPENDENTS = 'foregroundDeletion';
export const FINALIZER_KUBERNETES = 'kubernetes';
const STANDARD_FINALIZERS = new Set([FINALIZER_KUBERNETES, FINALIZER_ORPHAN_DEPENDENTS, FINALIZER_DELETE_DEPENDENTS]);

/** Object entries in document order; non-objects read as empty. */
export function entries(m: unknown): [string, unknown][] {
  return m && typeof m === 'object' && !Array.isArray(m) ? Object.entries(m as Record<string, unknown>) : [];
}

export function validateLabelName(name: string, fld: string): FieldError[] {
  return isQualifiedName(name).map((m) => field.invalid(fld, name, m));
}

/** Label keys and values. Errors name the map itself (`metadata.labels`), as upstream's do. */
export function validateLabels(labels: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of entries(labels)) {
    errs.push(...validateLabelName(k, fld));
    const value = String(v ?? '');
    for (const m of isValidLabelValue(value)) errs.push(field.invalid(fld, value, m));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of entries(annotations)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(field.invalid(fld, k, m));
    total += byteLength(k) + byteLength(String(v ?? ''));
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT_B) errs.push(field.tooLong(fld, '', TOTAL_ANNOTATION_SIZE_LIMIT_B));
  return errs;
}

export interface LabelSelectorOptions {
  allowInvalidLabelValueInSelector?: boolean;
  allowUnknownOperatorInRequirement?: boolean;
}

/** metav1.LabelSelector; a null/absent selector is valid here (callers require it when needed). */
export function validateLabelSelector(sel: Json, opts: LabelSelectorOptions, fld: string): FieldError[] {
  if (sel == null) return [];
  const errs = validateLabels(sel.matchLabels, `${fld}.matchLabels`);
  const exprs: Json[] = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : [];
  exprs.forEach((e, i) => errs.push(...validateLabelSelectorRequirement(e ?? {}, opts, `${fld}.matchExpressions[${i}]`)));
  return errs;
}

export function validateLabelSelectorRequirement(req: Json, opts: LabelSelectorOptions, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const values: string[] = Array.isArray(req.values) ? req.values : [];
  switch (req.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(field.required(`${fld}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(field.forbidden(`${fld}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    default:
      if (!opts.allowUnknownOperatorInRequirement) errs.push(field.invalid(`${fld}.operator`, req.operator ?? '', 'not a valid selector operator'));
  }
  errs.push(...validateLabelName(req.key ?? '', `${fld}.key`));
  if (!opts.allowInvalidLabelValueInSelector) {
    values.forEach((v, i) => {
      for (const m of isValidLabelValue(String(v))) errs.push(field.invalid(`${fld}.values[${i}]`, v, m));
    });
  }
  return errs;
}

/** True when a selector selects nothing useful: no matchLabels and no matchExpressions. */
export function labelSelectorIsEmpty(sel: Json): boolean {
  return sel != null && entries(sel.matchLabels).length === 0 && !(Array.isArray(sel.matchExpressions) && sel.matchExpressions.length > 0);
}

/** Whether `labels` satisfy a metav1.LabelSelector (upstream's LabelSelectorAsSelector().Matches). */
export function labelSelectorMatches(sel: Json, labels: Record<string, string> | undefined): boolean {
  if (sel == null) return false;
  const l = labels ?? {};
  for (const [k, v] of entries(sel.matchLabels)) if (!Object.hasOwn(l, k) || l[k] !== v) return false;
  for (const e of Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) {
    const has = Object.hasOwn(l, e.key);
    const vals: string[] = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !vals.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function apiVersionParts(apiVersion: string): { group: string; version: string } {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0]! };
  if (parts.length === 2) return { group: parts[0]!, version: parts[1]! };
  return { group: '', version: '' };
}

function ownerReferenceGo(r: Json): string {
  const q = (s: unknown) => JSON.stringify(String(s ?? ''));
  const ptr = (b: unknown) => (b == null ? '(*bool)(nil)' : `(*bool)(${b})`);
  return `v1.OwnerReference{APIVersion:${q(r.apiVersion)}, Kind:${q(r.kind)}, Name:${q(r.name)}, UID:${q(r.uid)}, Controller:${ptr(r.controller)}, BlockOwnerDeletion:${ptr(r.blockOwnerDeletion)}}`;
}

export function validateOwnerReferences(refs: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const list: Json[] = Array.isArray(refs) ? refs : [];
  let firstController = '';
  for (const ref of list) {
    const r = ref ?? {};
    const apiVersion = String(r.apiVersion ?? '');
    const gv = apiVersionParts(apiVersion);
    if (!gv.version) errs.push(field.invalid(`${fld}.apiVersion`, apiVersion, 'version must not be empty'));
    if (!r.kind) errs.push(field.invalid(`${fld}.kind`, r.kind ?? '', 'kind must not be empty'));
    if (!r.name) errs.push(field.invalid(`${fld}.name`, r.name ?? '', 'name must not be empty'));
    if (!r.uid) errs.push(field.invalid(`${fld}.uid`, r.uid ?? '', 'uid must not be empty'));
    if (gv.group === '' && gv.version === 'v1' && r.kind === 'Event') {
      errs.push(field.invalid(fld, goSyntax(ownerReferenceGo(r)), '/v1, Kind=Event is disallowed from being an owner'));
    }
    if (r.controller === true) {
      const cur = `${r.kind ?? ''}/${r.name ?? ''}`;
      if (firstController) {
        errs.push(
          field.invalid(
            fld,
            goSyntax(`[]v1.OwnerReference{${list.map((x) => ownerReferenceGo(x ?? {})).join(', ')}}`),
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      } else firstController = cur;
    }
  }
  return errs;
}

export function validateFinalizerName(name: string, fld: string): FieldError[] {
  return isQualifiedName(name).map((m) => field.invalid(fld, name, m));
}

/** The extra rule pkg/apis/core/validation adds: unqualified names must be standard finalizers. */
export function validateKubeFinalizerName(name: string, fld: string): FieldError[] {
  if (!name.includes('/') && !STANDARD_FINALIZERS.has(name)) {
    return [field.invalid(fld, name, 'name is neither a standard finalizer name nor is it fully qualified')];
  }
  return [];
}

export function validateFinalizers(finalizers: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const list: string[] = Array.isArray(finalizers) ? finalizers.map((f) => String(f)) : [];
  for (const f of list) errs.push(...validateFinalizerName(f, fld));
  if (list.includes(FINALIZER_ORPHAN_DEPENDENTS) && list.includes(FINALIZER_DELETE_DEPENDENTS)) {
    errs.push(
      field.invalid(fld, goStringSlice(list), `finalizer ${FINALIZER_ORPHAN_DEPENDENTS} and ${FINALIZER_DELETE_DEPENDENTS} cannot be both set`),
    );
  }
  return errs;
}

export function validateManagedFields(entriesList: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const list: Json[] = Array.isArray(entriesList) ? entriesList : [];
  list.forEach((e, i) => {
    const p = `${fld}[${i}]`;
    const entry = e ?? {};
    if (entry.operation !== 'Apply' && entry.operation !== 'Update') {
      errs.push(field.invalid(`${p}.operation`, entry.operation ?? '', 'must be `Apply` or `Update`'));
    }
    if (entry.fieldsType && entry.fieldsType !== 'FieldsV1') errs.push(field.invalid(`${p}.fieldsType`, entry.fieldsType, 'must be `FieldsV1`'));
    const manager = String(entry.manager ?? '');
    if (manager.length > 128) errs.push(field.tooLong(`${p}.manager`, '', 128));
    if (String(entry.subresource ?? '').length > 256) errs.push(field.tooLong(`${p}.subresource`, '', 256));
  });
  return errs;
}

export interface ObjectMetaOptions {
  /** Skip the built-in-kind finalizer rule (upstream's generic ValidateObjectMeta, used for custom resources). */
  genericFinalizers?: boolean;
}

/**
 * ObjectMeta on create, as core's ValidateObjectMeta: name (or generateName), namespace per scope,
 * generation, labels, annotations, ownerReferences, finalizers, managedFields.
 */
export function validateObjectMeta(
  meta: Json,
  requiresNamespace: boolean,
  nameFn: NameValidator,
  fld = 'metadata',
  opts: ObjectMetaOptions = {},
): FieldError[] {
  const m = meta ?? {};
  const errs: FieldError[] = [];
  if (m.generateName) for (const msg of nameFn(m.generateName, true)) errs.push(field.invalid(`${fld}.generateName`, m.generateName, msg));
  if (!m.name) errs.push(field.required(`${fld}.name`, 'name or generateName is required'));
  else for (const msg of nameFn(m.name, false)) errs.push(field.invalid(`${fld}.name`, m.name, msg));
  if (requiresNamespace) {
    if (!m.namespace) errs.push(field.required(`${fld}.namespace`, ''));
    else for (const msg of validateNamespaceName(m.namespace, false)) errs.push(field.invalid(`${fld}.namespace`, m.namespace, msg));
  } else if (m.namespace) {
    errs.push(field.forbidden(`${fld}.namespace`, 'not allowed on this type'));
  }
  if (typeof m.generation === 'number' && m.generation < 0) errs.push(field.invalid(`${fld}.generation`, m.generation, IS_NEGATIVE_ERROR_MSG));
  errs.push(...validateLabels(m.labels, `${fld}.labels`));
  errs.push(...validateAnnotations(m.annotations, `${fld}.annotations`));
  errs.push(...validateOwnerReferences(m.ownerReferences, `${fld}.ownerReferences`));
  errs.push(...validateFinalizers(m.finalizers, `${fld}.finalizers`));
  errs.push(...validateManagedFields(m.managedFields, `${fld}.managedFields`));
  if (!opts.genericFinalizers) {
    (Array.isArray(m.finalizers) ? m.finalizers : []).forEach((f: unknown, i: number) =>
      errs.push(...validateKubeFinalizerName(String(f), `${fld}.finalizers[${i}]`)),
    );
  }
  return errs;
}

/** Go's time.Time String() for an RFC 3339 timestamp, as upstream prints immutable times. */
function goTime(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return v;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return goSyntax(
    `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`,
  );
}

/** Deep equality of decoded JSON values, treating absent and null alike (upstream's Semantic.DeepEqual on pointers). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return a == null && b == null;
  if (typeof a !== typeof b) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (typeof a === 'object') {
    if (Array.isArray(b)) return false;
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
    return true;
  }
  return false;
}

export function validateImmutableField(newVal: unknown, oldVal: unknown, fld: string): FieldError[] {
  return jsonEqual(newVal, oldVal) ? [] : [field.invalid(fld, newVal ?? null, FIELD_IMMUTABLE_ERROR_MSG)];
}

/** ObjectMeta on update, as core's ValidateObjectMetaUpdate. */
export function validateObjectMetaUpdate(newMeta: Json, oldMeta: Json, fld = 'metadata', opts: ObjectMetaOptions = {}): FieldError[] {
  const n = newMeta ?? {};
  const o = oldMeta ?? {};
  const errs: FieldError[] = [];
  if (o.deletionTimestamp) {
    const oldF = new Set<string>(Array.isArray(o.finalizers) ? o.finalizers : []);
    const extra = [...new Set<string>(Array.isArray(n.finalizers) ? n.finalizers : [])].filter((f) => !oldF.has(f)).sort();
    if (extra.length) {
      errs.push(
        field.forbidden(
          `${fld}.finalizers`,
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map(goQuote).join(', ')}}`,
        ),
      );
    }
  }
  if (!n.resourceVersion) errs.push(field.invalid(`${fld}.resourceVersion`, n.resourceVersion ?? '', 'must be specified for an update'));
  if ((n.generation ?? 0) < (o.generation ?? 0)) errs.push(field.invalid(`${fld}.generation`, n.generation ?? 0, 'must not be decremented'));
  errs.push(...validateImmutableField(n.name ?? '', o.name ?? '', `${fld}.name`));
  errs.push(...validateImmutableField(n.namespace ?? '', o.namespace ?? '', `${fld}.namespace`));
  errs.push(...validateImmutableField(n.uid ?? '', o.uid ?? '', `${fld}.uid`));
  if (!jsonEqual(n.creationTimestamp, o.creationTimestamp)) {
    errs.push(field.invalid(`${fld}.creationTimestamp`, goTime(n.creationTimestamp) ?? null, FIELD_IMMUTABLE_ERROR_MSG));
  }
  if (!jsonEqual(n.deletionTimestamp, o.deletionTimestamp)) {
    errs.push(field.invalid(`${fld}.deletionTimestamp`, goTime(n.deletionTimestamp) ?? null, FIELD_IMMUTABLE_ERROR_MSG));
  }
  errs.push(...validateImmutableField(n.deletionGracePeriodSeconds, o.deletionGracePeriodSeconds, `${fld}.deletionGracePeriodSeconds`));
  errs.push(...validateLabels(n.labels, `${fld}.labels`));
  errs.push(...validateAnnotations(n.annotations, `${fld}.annotations`));
  errs.push(...validateOwnerReferences(n.ownerReferences, `${fld}.ownerReferences`));
  errs.push(...validateManagedFields(n.managedFields, `${fld}.managedFields`));
  if (!opts.genericFinalizers) {
    (Array.isArray(n.finalizers) ? n.finalizers : []).forEach((f: unknown, i: number) =>
      errs.push(...validateKubeFinalizerName(String(f), `${fld}.finalizers[${i}]`)),
    );
  }
  return errs;
}

/**
 * The metadata of an embedded template that only carries labels and annotations
 * (PersistentVolumeClaimTemplate): anything else is "cannot be set".
 */
export function validateTemplateObjectMeta(meta: Json, fld: string): FieldError[] {
  const m = meta ?? {};
  const errs = validateAnnotations(m.annotations, `${fld}.annotations`);
  errs.push(...validateLabels(m.labels, `${fld}.labels`));
  for (const [k, v] of entries(m)) {
    if (k === 'labels' || k === 'annotations' || v == null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    errs.push(field.forbidden(`${fld}.${k}`, 'cannot be set'));
  }
  return errs;
}

/**
 * Go's %#v of a metav1.LabelSelector, as upstream prints a selector in field errors:
 * `v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`.
 */
export function goLabelSelector(sel: Json): GoSyntax | null {
  if (sel == null) return null;
  const ml = sel.matchLabels == null ? 'map[string]string(nil)' : goStringMapText(sel.matchLabels);
  const exprs: Json[] | undefined = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : undefined;
  const me =
    exprs === undefined
      ? '[]v1.LabelSelectorRequirement(nil)'
      : `[]v1.LabelSelectorRequirement{${exprs
          .map((e) => {
            const vals = Array.isArray(e?.values) ? `[]string{${e.values.map((v: unknown) => goQuote(String(v))).join(', ')}}` : '[]string(nil)';
            return `v1.LabelSelectorRequirement{Key:${goQuote(String(e?.key ?? ''))}, Operator:${goQuote(String(e?.operator ?? ''))}, Values:${vals}}`;
          })
          .join(', ')}}`;
  return goSyntax(`v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`);
}

function goStringMapText(m: Record<string, unknown>): string {
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`).join(', ')}}`;
}

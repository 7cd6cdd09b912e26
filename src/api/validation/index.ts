// What the apiserver calls to validate a request object: dispatches by group and kind to the
// strategies each group module registers (see registry.ts). Kinds nobody registered get the
// generic metadata checks (name a DNS subdomain, namespace per the resource's scope).
//
// To add a group: write src/api/validation/<group>.ts calling register('<group>/<Kind>', {...})
// at import, and add one import line below.

import { invalid, type FieldError, type StatusError } from '../errors.ts';
import { resourceByKind, type GroupVersionKind } from '../resources.ts';
import { lookup } from './registry.ts';
import { validateObjectMeta, validateObjectMetaUpdate, type Json } from './meta.ts';
import { nameIsDNSSubdomain, validatePathSegmentName } from './names.ts';

export { register, lookup, registeredKinds, type KindStrategy } from './registry.ts';

// Group modules (each registers its kinds at import).
import './core.ts';
import './apps.ts';
import './batch.ts';
import './autoscaling.ts';
import './policy.ts';
import './networking.ts';
import './rbac.ts';
import './storage.ts';
import './scheduling.ts';
import './coordination.ts';
import './discovery.ts';
import './certificates.ts';
import './node.ts';
import './events.ts';

function namespaced(gvk: GroupVersionKind): boolean {
  return resourceByKind(gvk.group, gvk.kind)?.namespaced ?? true;
}

// The checks upstream's generic registry runs for every kind (rest.BeforeCreate/BeforeUpdate):
// names as URL path segments, namespace per scope, labels, annotations, owner references.
function genericMeta(gvk: GroupVersionKind, obj: Json): FieldError[] {
  return validateObjectMeta(obj?.metadata, namespaced(gvk), validatePathSegmentName, 'metadata', { genericFinalizers: true });
}

function genericMetaUpdate(gvk: GroupVersionKind, obj: Json, old: Json): FieldError[] {
  return [...genericMeta(gvk, obj), ...validateObjectMetaUpdate(obj?.metadata, old?.metadata, 'metadata', { genericFinalizers: true })];
}

/** Create: the kind's validation, then (only when it passed) the generic metadata checks. */
export function validateCreate(gvk: GroupVersionKind, obj: Json): FieldError[] {
  const s = lookup(gvk.group, gvk.kind);
  if (!s?.validateCreate) return validateObjectMeta(obj?.metadata, namespaced(gvk), nameIsDNSSubdomain);
  const errs = s.validateCreate(obj, gvk.version);
  return errs.length ? errs : genericMeta(gvk, obj);
}

/** Update: the generic metadata checks first, then the kind's (duplicates read once in the message). */
export function validateUpdate(gvk: GroupVersionKind, obj: Json, old: Json): FieldError[] {
  const s = lookup(gvk.group, gvk.kind);
  const common = genericMetaUpdate(gvk, obj, old);
  if (!s?.validateUpdate) return common;
  return [...common, ...s.validateUpdate(obj, old, gvk.version)];
}

/** A write to the status subresource. */
export function validateStatusUpdate(gvk: GroupVersionKind, obj: Json, old: Json): FieldError[] {
  const s = lookup(gvk.group, gvk.kind);
  const common = genericMetaUpdate(gvk, obj, old);
  if (!s?.validateStatusUpdate) return common;
  return [...common, ...s.validateStatusUpdate(obj, old, gvk.version)];
}

/** The 422 upstream answers with for these errors: `Kind "name" is invalid: ...`. */
export function invalidError(gvk: GroupVersionKind, obj: Json, errs: FieldError[]): StatusError {
  return invalid({ group: gvk.group, kind: gvk.kind }, String(obj?.metadata?.name ?? ''), errs);
}

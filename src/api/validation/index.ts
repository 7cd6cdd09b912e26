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
import { nameIsDNSSubdomain } from './names.ts';

export { register, lookup, registeredKinds, type KindStrategy } from './registry.ts';

// Group modules (each registers its kinds at import).

function namespaced(gvk: GroupVersionKind): boolean {
  return resourceByKind(gvk.group, gvk.kind)?.namespaced ?? true;
}

export function validateCreate(gvk: GroupVersionKind, obj: Json): FieldError[] {
  const s = lookup(gvk.group, gvk.kind);
  if (s?.validateCreate) return s.validateCreate(obj, gvk.version);
  return validateObjectMeta(obj?.metadata, namespaced(gvk), nameIsDNSSubdomain);
}

export function validateUpdate(gvk: GroupVersionKind, obj: Json, old: Json): FieldError[] {
  const s = lookup(gvk.group, gvk.kind);
  if (s?.validateUpdate) return s.validateUpdate(obj, old, gvk.version);
  return validateObjectMetaUpdate(obj?.metadata, old?.metadata);
}

export function validateStatusUpdate(gvk: GroupVersionKind, obj: Json, old: Json): FieldError[] {
  const s = lookup(gvk.group, gvk.kind);
  if (s?.validateStatusUpdate) return s.validateStatusUpdate(obj, old, gvk.version);
  return validateObjectMetaUpdate(obj?.metadata, old?.metadata);
}

/** The 422 upstream answers with for these errors: `Kind "name" is invalid: ...`. */
export function invalidError(gvk: GroupVersionKind, obj: Json, errs: FieldError[]): StatusError {
  return invalid({ group: gvk.group, kind: gvk.kind }, String(obj?.metadata?.name ?? ''), errs);
}

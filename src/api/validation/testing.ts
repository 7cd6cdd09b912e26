// Test helpers shared by the validation tests: run an object through the apiserver's sequence
// (defaulting, create-time preparation, validation) and read the errors as upstream prints them.

import { fieldErrorString, type FieldError } from '../errors.ts';
import { defaultObject, prepareForCreate } from '../defaults/index.ts';
import type { GroupVersionKind } from '../resources.ts';
import { invalidError, validateCreate, validateStatusUpdate, validateUpdate } from './index.ts';
import type { Json } from './meta.ts';

export function gvk(apiVersion: string, kind: string): GroupVersionKind {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion, kind } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1), kind };
}

export function kindOf(obj: Json): GroupVersionKind {
  return gvk(obj.apiVersion, obj.kind);
}

/** Defaults (and prepares, with a uid) a new object and returns its create-validation errors as strings. */
export function createErrors(obj: Json): string[] {
  const k = kindOf(obj);
  defaultObject(k, obj);
  obj.metadata ??= {};
  obj.metadata.uid ??= 'uid-1';
  prepareForCreate(k, obj);
  return validateCreate(k, obj).map(fieldErrorString);
}

/** The aggregated 422 message for a new object. */
export function createMessage(obj: Json): string {
  const k = kindOf(obj);
  defaultObject(k, obj);
  obj.metadata ??= {};
  obj.metadata.uid ??= 'uid-1';
  prepareForCreate(k, obj);
  return invalidError(k, obj, validateCreate(k, obj)).message;
}

/** A stored copy of a valid new object: defaulted, prepared, with server metadata. */
export function stored(obj: Json): Json {
  const k = kindOf(obj);
  const o = structuredClone(obj);
  defaultObject(k, o);
  o.metadata = { uid: 'uid-1', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', ...o.metadata };
  prepareForCreate(k, o);
  const errs = validateCreate(k, o);
  if (errs.length) throw new Error(`fixture is invalid: ${errs.map(fieldErrorString).join('; ')}`);
  return o;
}

export function updateErrors(obj: Json, old: Json): string[] {
  const k = kindOf(obj);
  defaultObject(k, obj);
  return dedupe(validateUpdate(k, obj, old));
}

export function statusErrors(obj: Json, old: Json): string[] {
  return dedupe(validateStatusUpdate(kindOf(obj), obj, old));
}

function dedupe(errs: FieldError[]): string[] {
  return [...new Set(errs.map(fieldErrorString))];
}

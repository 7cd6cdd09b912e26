// What the apiserver calls on a freshly decoded request object: the decode-time work upstream
// does before admission and validation. Quantities are parsed and re-serialized in canonical
// form (a malformed one fails the decode with upstream's 400), then the kind's SetDefaults_*
// for the request's version runs (registered by each group module, see validation/registry.ts).

import { badRequest } from '../errors.ts';
import type { GroupVersionKind } from '../resources.ts';
import { lookup } from '../validation/index.ts';
import { canonicalizeQuantities } from './quantities.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * Mutates `obj` in place. Throws a 400 StatusError when a quantity does not parse, worded as
 * upstream's decoder: `Pod in version "v1" cannot be handled as a Pod: quantities must match ...`.
 */
export function defaultObject(gvk: GroupVersionKind, obj: Json): void {
  const err = canonicalizeQuantities(gvk, obj);
  if (err) throw badRequest(`${gvk.kind} in version "${gvk.version}" cannot be handled as a ${gvk.kind}: ${err}`);
  lookup(gvk.group, gvk.kind)?.defaults?.(obj, gvk.version);
}

/**
 * The registry's create-only preparation for kinds that have one (Namespace: status and the
 * `kubernetes` finalizer; Job: the generated selector and labels). Call after the server has
 * assigned metadata (name, uid) and before validateCreate. Mutates `obj`.
 */
export function prepareForCreate(gvk: GroupVersionKind, obj: Json): void {
  lookup(gvk.group, gvk.kind)?.prepareForCreate?.(obj, gvk.version);
}

export { canonicalizeQuantities };

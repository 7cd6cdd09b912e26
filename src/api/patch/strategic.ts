// Strategic merge patch (application/strategic-merge-patch+json), applied as upstream's apiserver
// applies it (apimachinery strategicpatch.StrategicMergeMapPatch, server side: parallel lists
// merged, unmatched nulls ignored).
//
// Per field, the schema's x-kubernetes-patch-strategy decides: "merge" lists of maps merge items
// by x-kubernetes-patch-merge-key, "merge" lists of scalars take the union, lists without it are
// replaced; "replace" replaces a map whole; maps merge by default. A null deletes a member.
// Directives: `$patch: replace|delete` (in a map or as a list item, `$patch: merge` is refused),
// `$retainKeys`, `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`. Kinds without a
// schema (the deduced type) carry no strategies, which makes this a merge patch that still
// honours directives.
//
// Errors follow upstream's interpretStrategicMergePatchError: malformed directives are a 400,
// lists of lists and retainKeys mismatches the generic 422, anything else a 500 with the text.
import { badRequest, patchRejected, serverError } from './errors.ts';
import { type JsonObject, type JsonValue, deepClone, goFormat, goTypeName, isObject, jsonKindWord } from './json.ts';
import type { ObjectType, TypeModel, TypeRef } from './schema.ts';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

// upstream's mergepatch error values
const ErrBadPatchFormatForPrimitiveList = 'invalid patch format of primitive list';
const ErrBadPatchFormatForRetainKeys = 'invalid patch format of retainKeys';
const ErrBadPatchFormatForSetElementOrderList = 'invalid patch format of setElementOrder list';
const ErrNoListOfLists = 'lists of lists are not supported';

const BAD_REQUEST = new Set([ErrBadPatchFormatForPrimitiveList, ErrBadPatchFormatForRetainKeys, ErrBadPatchFormatForSetElementOrderList]);
const UNPROCESSABLE = new Set([ErrNoListOfLists, "patch content doesn't match retainKeys list"]);

class SmpError extends Error {}

/**
 * Applies `patch` (the decoded request body) to a copy of `doc` under the kind's schema; with
 * `consume`, to `doc` itself (the caller's private copy, which it gives up). The patch is never changed.
 */
export function applyStrategicMergePatch(doc: object, patch: unknown, type: ObjectType, opts: { consume?: boolean } = {}): JsonObject {
  if (patch === null || patch === undefined) return opts.consume ? (doc as JsonObject) : deepClone(doc as JsonObject);
  if (!isObject(patch)) {
    throw badRequest(`json: cannot unmarshal ${jsonKindWord(patch)} into Go value of type map[string]interface {}`);
  }
  const ctx: Ctx = { model: type.model };
  try {
    return mergeMap(ctx, opts.consume ? (doc as JsonObject) : deepClone(doc as JsonObject), deepClone(patch), type.ref);
  } catch (e) {
    if (!(e instanceof SmpError)) throw e;
    if (BAD_REQUEST.has(e.message)) throw badRequest(e.message);
    if (UNPROCESSABLE.has(e.message)) throw patchRejected(e.message);
    throw serverError(e.message);
  }
}

interface Ctx {
  model: TypeModel;
}

interface Meta {
  strategies: string[];
  mergeKey: string;
}
const NO_META: Meta = { strategies: [], mergeKey: '' };

function lookupStruct(ctx: Ctx, ref: TypeRef | undefined, key: string): [TypeRef | undefined, Meta] {
  const m = ref ? ctx.model.resolve(ref)?.map : undefined;
  if (!m) return [undefined, NO_META];
  const f = m.fields.get(key);
  if (f) return [f.type, { strategies: f.patchStrategies, mergeKey: f.patchMergeKey ?? '' }];
  return [m.elementType, NO_META];
}

function lookupSlice(ctx: Ctx, ref: TypeRef | undefined, key: string): [TypeRef | undefined, Meta] {
  const [t, meta] = lookupStruct(ctx, ref, key);
  // A field declared as an object but patched as a list (a pointer to a slice) is its own element.
  return [t ? (ctx.model.resolve(t)?.list?.elementType ?? t) : undefined, meta];
}

/** The non-retainKeys strategy of a field ("" when none). */
function patchStrategy(strategies: string[]): string {
  switch (strategies.length) {
    case 0:
      return '';
    case 1:
      return strategies[0] === 'retainKeys' ? '' : strategies[0];
    case 2:
      if (strategies[0] === 'retainKeys') return strategies[1];
      if (strategies[1] === 'retainKeys') return strategies[0];
  }
  throw new SmpError(`unexpected patch strategy: [${strategies.join(' ')}]`);
}

/** Go's reflect type of a decoded JSON value, which decides whether two values merge. */
function goKind(v: JsonValue): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  return typeof v;
}

function badArgType(expected: string, actual: unknown): SmpError {
  return new SmpError(`expected a ${expected}, but received a ${goTypeName(actual)}`);
}

function noMergeKey(m: JsonObject, key: string): SmpError {
  return new SmpError(`map: ${goFormat(m)} does not contain declared merge key: ${key}`);
}

function extractKey(s: string, prefix: string): string {
  const i = s.indexOf('/');
  if (i < 0 || s.slice(0, i) !== prefix) {
    if (prefix === DELETE_FROM_PRIMITIVE_LIST) throw new SmpError(ErrBadPatchFormatForPrimitiveList);
    throw new SmpError(ErrBadPatchFormatForSetElementOrderList);
  }
  return s.slice(i + 1);
}

function mergeMap(ctx: Ctx, original: JsonObject | undefined, patch: JsonObject, ref: TypeRef | undefined): JsonObject {
  if (Object.hasOwn(patch, DIRECTIVE)) return mapDirective(patch[DIRECTIVE], patch);
  original ??= {};
  applyRetainKeys(original, patch);
  mergeElementOrderLists(ctx, original, patch, ref);

  // Deletion lists go last so that they win over an addition of the same item.
  const keys = Object.keys(patch);
  const ordered = [...keys.filter((k) => !k.startsWith(DELETE_FROM_PRIMITIVE_LIST)), ...keys.filter((k) => k.startsWith(DELETE_FROM_PRIMITIVE_LIST))];
  for (let k of ordered) {
    const patchV = patch[k];
    let isDeleteList = false;
    if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      k = extractKey(k, DELETE_FROM_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete original[k];
      continue;
    }
    if (!Object.hasOwn(original, k) || goKind(original[k]) !== goKind(patchV)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        const [v, keep] = removeDirectives(patchV);
        if (keep) original[k] = v;
        else delete original[k];
      }
      continue;
    }
    const origV = original[k];
    if (isObject(origV)) {
      const [sub, meta] = lookupStruct(ctx, ref, k);
      const strategy = patchStrategy(meta.strategies);
      original[k] = strategy === 'replace' ? (patchV as JsonObject) : mergeMap(ctx, origV, patchV as JsonObject, sub);
    } else if (Array.isArray(origV)) {
      const [sub, meta] = lookupSlice(ctx, ref, k);
      const strategy = patchStrategy(meta.strategies);
      original[k] = mergeSliceHandler(ctx, origV, patchV as JsonValue[], sub, strategy, meta.mergeKey, isDeleteList);
    } else {
      const [v, keep] = removeDirectives(patchV);
      if (keep) original[k] = v;
      else delete original[k];
    }
  }
  return original;
}

function mapDirective(directive: JsonValue, patch: JsonObject): JsonObject {
  if (directive === 'replace') {
    delete patch[DIRECTIVE];
    return patch;
  }
  if (directive === 'delete') return {};
  throw new SmpError(`unknown patch type: ${goFormat(directive)} in map: ${goFormat(patch)}`);
}

/** `$retainKeys`: members of the original not listed are cleared; the patch may only set listed ones. */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw new SmpError(ErrBadPatchFormatForRetainKeys);
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw new SmpError(ErrBadPatchFormatForRetainKeys);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/**
 * `$setElementOrder/<field>`: merges the field's list now and orders the result: listed items in
 * the listed order, items only the server has kept where they were relative to those.
 */
function mergeElementOrderLists(ctx: Ctx, original: JsonObject, patch: JsonObject, ref: TypeRef | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw badArgType('[]interface {}', order);
    const field = extractKey(key, SET_ELEMENT_ORDER);
    const foundOriginal = Object.hasOwn(original, field);
    const foundPatch = Object.hasOwn(patch, field);
    const originalList = original[field];
    const patchList = patch[field];
    if (foundOriginal && !Array.isArray(originalList)) throw badArgType('[]interface {}', originalList);
    if (foundPatch && !Array.isArray(patchList)) throw badArgType('[]interface {}', patchList);
    const origItems = foundOriginal ? (originalList as JsonValue[]) : [];
    const patchItems = foundPatch ? (patchList as JsonValue[]) : [];
    const [sub, meta] = lookupSlice(ctx, ref, field);
    const strategy = patchStrategy(meta.strategies);
    validateElementOrder(patchItems, order, meta.mergeKey);

    let merged: JsonValue[];
    if (foundOriginal && !foundPatch) merged = origItems;
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchItems)[0] as JsonValue[];
    else if (foundOriginal && foundPatch) {
      merged = mergeSliceHandler(ctx, [...origItems], patchItems, sub, strategy, meta.mergeKey, false);
    } else continue;

    const [inPatch, serverOnly] = partition(merged, order, meta.mergeKey);
    const kind = sliceElementKind([origItems, patchItems]);
    const serverOrder =
      foundOriginal && foundPatch && kind === 'map' && strategy === 'merge' ? goAliasedOriginal(origItems, patchItems, meta.mergeKey) : origItems;
    original[field] = normalizeElementOrder(inPatch, serverOnly, order, serverOrder, meta.mergeKey, kind);
    delete patch[field];
  }
}

/**
 * What upstream's `originalFieldValue` holds once the list merge has run. Go's merge deletes
 * items by shifting the backing array in place and appends new items into its spare capacity
 * (a decoded list of n items has capacity n rounded up to a power of two), so the original
 * slice, used afterwards to place server-only items, sees those writes. Reproduced because it
 * decides where server-only items land when one patch deletes and adds items.
 */
function goAliasedOriginal(original: JsonValue[], patch: JsonValue[], mergeKey: string): JsonValue[] {
  const n = original.length;
  const backing = [...original];
  const cap = n === 0 ? 0 : 2 ** Math.ceil(Math.log2(n));
  let len = n;
  let replaced = false;
  for (const v of patch) {
    if (!isObject(v) || !Object.hasOwn(v, DIRECTIVE)) continue;
    if (v[DIRECTIVE] === 'replace') replaced = true;
    if (v[DIRECTIVE] !== 'delete') continue;
    for (;;) {
      let k = -1;
      for (let i = 0; i < len; i++) {
        const x = backing[i];
        if (isObject(x) && Object.hasOwn(x, mergeKey) && x[mergeKey] === v[mergeKey]) {
          k = i;
          break;
        }
      }
      if (k < 0) break;
      backing.copyWithin(k, k + 1, len);
      len--;
    }
  }
  if (!replaced) {
    for (const v of patch) {
      if (!isObject(v) || Object.hasOwn(v, DIRECTIVE)) continue;
      const found = backing.slice(0, len).some((x) => isObject(x) && Object.hasOwn(x, mergeKey) && x[mergeKey] === v[mergeKey]);
      if (found) continue;
      if (len >= cap) break; // reallocated: later appends no longer touch the original array
      backing[len++] = v;
    }
  }
  return backing.slice(0, n);
}

/** The relative order of patch items must match the $setElementOrder list. */
function validateElementOrder(patchList: JsonValue[], order: JsonValue[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey ? extractToDelete(patchList)[0] : patchList;
  let pi = 0;
  let oi = 0;
  while (pi < nonDelete.length && oi < order.length) {
    const item = nonDelete[pi];
    if (isObject(item) && Object.hasOwn(item, DIRECTIVE)) {
      pi++;
      continue;
    }
    if (mergeKeyEqual(item, order[oi], mergeKey)) pi++;
    oi++;
  }
  if (pi < nonDelete.length && oi >= order.length) {
    throw new SmpError(`The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(order)}\n`);
  }
}

function mergeKeyEqual(left: JsonValue, right: JsonValue, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isObject(left)) throw badArgType('map[string]interface {}', left);
  if (!isObject(right)) throw badArgType('map[string]interface {}', right);
  if (!Object.hasOwn(left, mergeKey)) throw noMergeKey(left, mergeKey);
  if (!Object.hasOwn(right, mergeKey)) throw noMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

function extractToDelete(l: JsonValue[]): [JsonValue[], JsonValue[]] {
  const keep: JsonValue[] = [];
  const del: JsonValue[] = [];
  for (const v of l) {
    if (!isObject(v)) throw badArgType('map[string]interface {}', v);
    if (v[DIRECTIVE] === 'delete') del.push(v);
    else keep.push(v);
  }
  return [keep, del];
}

function mergeSliceHandler(
  ctx: Ctx,
  original: JsonValue[],
  patch: JsonValue[],
  sub: TypeRef | undefined,
  strategy: string,
  mergeKey: string,
  isDeleteList: boolean,
): JsonValue[] {
  if (strategy === 'merge' || isDeleteList) return mergeSlice(ctx, original, patch, sub, mergeKey, isDeleteList);
  return patch;
}

function mergeSlice(ctx: Ctx, original: JsonValue[], patch: JsonValue[], sub: TypeRef | undefined, mergeKey: string, isDeleteList: boolean): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind([original, patch]);
  let merged: JsonValue[];
  if (kind !== 'map') {
    if (isDeleteList) return original.filter((v) => !patch.includes(v));
    merged = dedupeScalars([...original, ...patch]);
  } else {
    if (mergeKey === '') throw new SmpError('cannot merge lists without merge key for struct');
    [original, patch] = mergeSpecialElements(original, patch, mergeKey);
    merged = mergeByKey(ctx, [...original], patch, mergeKey, sub);
  }
  const [inPatch, serverOnly] = partition(merged, patch, mergeKey);
  return normalizeElementOrder(inPatch, serverOnly, patch, original, mergeKey, kind);
}

/** Applies `$patch: delete|replace` items of a list of maps; returns the list and the rest of the patch. */
function mergeSpecialElements(original: JsonValue[], patch: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const rest: JsonValue[] = [];
  let replace = false;
  for (const v of patch) {
    const m = v as JsonObject;
    if (!Object.hasOwn(m, DIRECTIVE)) {
      rest.push(v);
      continue;
    }
    const d = m[DIRECTIVE];
    if (d === 'delete') {
      if (!Object.hasOwn(m, mergeKey)) throw noMergeKey(m, mergeKey);
      original = deleteMatching(original, mergeKey, m[mergeKey]);
    } else if (d === 'replace') {
      replace = true;
    } else if (d === 'merge') {
      throw new SmpError('merging lists cannot yet be specified in the patch');
    } else {
      throw new SmpError(`unknown patch type: ${goFormat(d)} in map: ${goFormat(m)}`);
    }
  }
  return replace ? [rest, []] : [original, rest];
}

function deleteMatching(original: JsonValue[], mergeKey: string, value: JsonValue): JsonValue[] {
  return original.filter((v, i) => {
    if (!isObject(v)) throw new SmpError(`value for key ${i} is not a map`);
    return !(Object.hasOwn(v, mergeKey) && v[mergeKey] === value);
  });
}

function mergeByKey(ctx: Ctx, original: JsonValue[], patch: JsonValue[], mergeKey: string, sub: TypeRef | undefined): JsonValue[] {
  for (const v of patch) {
    const m = v as JsonObject;
    if (!Object.hasOwn(m, mergeKey)) throw noMergeKey(m, mergeKey);
    const idx = findByKey(original, mergeKey, m[mergeKey]);
    if (idx >= 0) original[idx] = mergeMap(ctx, original[idx] as JsonObject, m, sub);
    else original.push(v);
  }
  return original;
}

function findByKey(l: JsonValue[], key: string, value: JsonValue): number {
  for (let i = 0; i < l.length; i++) {
    const v = l[i];
    if (!isObject(v)) throw new SmpError(`value for key ${i} is not a map`);
    if (Object.hasOwn(v, key) && v[key] === value) return i;
  }
  return -1;
}

/** Go's in-place deduplication (keeps the first occurrence; order is fixed up afterwards). */
function dedupeScalars(s: JsonValue[]): JsonValue[] {
  const out: JsonValue[] = [];
  for (const v of s) if (!out.includes(v)) out.push(v);
  return out;
}

function sliceElementKind(slices: JsonValue[][]): string {
  let prev: string | undefined;
  for (const s of slices) {
    for (const v of s) {
      const k = goKind(v);
      if (prev === undefined) {
        prev = k;
        if (k === 'slice') throw new SmpError(ErrNoListOfLists);
      } else if (prev !== k) {
        throw new SmpError(`list element types are not identical: [${slices.map((x) => goFormat(x)).join(' ')}]`);
      }
    }
  }
  if (prev === undefined) throw new SmpError('no elements in any of the given slices');
  return prev;
}

function mergeKeyValue(item: JsonValue, mergeKey: string, kind: string): JsonValue | undefined {
  if (kind !== 'map') return item;
  return isObject(item) ? item[mergeKey] : undefined;
}

function indexOf(l: JsonValue[], v: JsonValue, mergeKey: string, kind: string): number {
  const want = mergeKeyValue(v, mergeKey, kind);
  return l.findIndex((x) => mergeKeyValue(x, mergeKey, kind) === want);
}

/** Splits `merged` into items present in `by` (by merge key for maps) and the others. */
function partition(merged: JsonValue[], by: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const inBy: JsonValue[] = [];
  const others: JsonValue[] = [];
  if (!mergeKey) {
    const set = new Set(by);
    for (const v of merged) (set.has(v) ? inBy : others).push(v);
    return [inBy, others];
  }
  for (const v of merged) {
    if (!isObject(v)) throw badArgType('map[string]interface {}', v);
    if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
    const found = by.some((b) => {
      if (!isObject(b)) throw new SmpError('value for key 0 is not a map');
      return Object.hasOwn(b, mergeKey) && b[mergeKey] === v[mergeKey];
    });
    (found ? inBy : others).push(v);
  }
  return [inBy, others];
}

function normalizeElementOrder(
  patch: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: string,
): JsonValue[] {
  const p = sortByOrder(patch, patchOrder, mergeKey, kind);
  const s = sortByOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSorted(s, p, serverOrder, mergeKey, kind);
}

function sortByOrder(toSort: JsonValue[], order: JsonValue[], mergeKey: string, kind: string): JsonValue[] {
  let del: JsonValue[] = [];
  if (kind === 'map') {
    for (const l of [toSort, order]) {
      for (const v of l) {
        if (!isObject(v)) throw badArgType('map[string]interface {}', v);
        if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
      }
    }
    [toSort, del] = extractToDelete(toSort);
  }
  const idx = new Map(toSort.map((v) => [v, indexOf(order, v, mergeKey, kind)] as const));
  const sorted = [...toSort].sort((a, b) => {
    const ia = idx.get(a)!;
    const ib = idx.get(b)!;
    return ia >= 0 && ib >= 0 ? ia - ib : 0;
  });
  return [...sorted, ...del];
}

/**
 * Interleaves server-only items (`left`) into the patch items (`right`): a server-only item goes
 * before the next patch item when the live list had it before that item.
 */
function mergeSorted(left: JsonValue[], right: JsonValue[], serverOrder: JsonValue[], mergeKey: string, kind: string): JsonValue[] {
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexOf(serverOrder, left[i], mergeKey, kind);
      const ri = indexOf(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** Drops maps carrying a `$patch` directive (returns keep=false for one itself). */
function removeDirectives(v: JsonValue): [JsonValue, boolean] {
  if (isObject(v)) {
    if (Object.hasOwn(v, DIRECTIVE)) return [null, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]);
      if (keep) v[k] = nv;
      else delete v[k];
    }
    return [v, true];
  }
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v) {
      const [nv, keep] = removeDirectives(x);
      if (keep) out.push(nv);
    }
    return [out, true];
  }
  return [v, true];
}

function discardNulls(v: JsonValue): void {
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNulls(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) discardNulls(x);
  }
}

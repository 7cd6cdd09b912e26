// JSON patch (RFC 6902, application/json-patch+json) with the semantics of the library upstream's
// apiserver uses (evanphx/json-patch v4), including its departures from the RFC that clients rely
// on: "replace" of a missing object member adds it, negative array indices count from the end,
// "copy" of a missing member copies null, and a path of "" is only accepted by replace and test.
//
// Errors: a body that is not a list of operations is a 400; more than 10000 operations is a 413;
// an operation that does not apply is upstream's generic 422 (the library's message becomes the
// error's cause, as upstream does not send it).
import { requestEntityTooLarge } from '../errors.ts';
import { badRequest, patchRejected } from './errors.ts';
import { type JsonValue, type JsonObject, isObject, deepClone, deepEqual, jsonKindWord } from './json.ts';

const MAX_OPERATIONS = 10000;

/** Applies `ops` (the decoded request body) to a copy of `doc`. */
export function applyJsonPatch(doc: unknown, ops: unknown): JsonValue {
  if (ops === null || ops === undefined) return deepClone(doc as JsonValue);
  if (!Array.isArray(ops)) {
    throw badRequest(`json: cannot unmarshal ${jsonKindWord(ops)} into Go value of type jsonpatch.Patch`);
  }
  for (const op of ops) {
    if (op !== null && !isObject(op)) {
      throw badRequest(`json: cannot unmarshal ${jsonKindWord(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  if (ops.length > MAX_OPERATIONS) {
    throw requestEntityTooLarge(`The allowed maximum operations in a JSON patch is ${MAX_OPERATIONS}, got ${ops.length}`);
  }
  const state = { root: deepClone(doc as JsonValue) };
  for (const op of ops as (JsonObject | null)[]) {
    const failure = applyOne(state, op ?? {});
    if (failure !== undefined) throw patchRejected(failure);
  }
  return state.root;
}

type Container = JsonObject | JsonValue[];

/** The reason an operation failed (upstream's library wording), or undefined when it applied. */
function applyOne(state: { root: JsonValue }, op: JsonObject): string | undefined {
  const kind = typeof op.op === 'string' ? op.op : 'unknown';
  switch (kind) {
    case 'add': {
      const path = readString(op, 'path');
      if (typeof path !== 'string') return 'add operation failed to decode path: missing value';
      const [con, key] = findObject(state.root, path);
      if (!con) return `add operation does not apply: doc is missing path: "${path}": missing value`;
      const err = add(con, key, valueOf(op));
      return err && `error in add for path: '${path}': ${err}`;
    }
    case 'remove': {
      const path = readString(op, 'path');
      if (typeof path !== 'string') return 'remove operation failed to decode path: missing value';
      const [con, key] = findObject(state.root, path);
      if (!con) return `remove operation does not apply: doc is missing path: "${path}": missing value`;
      const err = remove(con, key);
      return err && `error in remove for path: '${path}': ${err}`;
    }
    case 'replace': {
      const path = readString(op, 'path');
      if (typeof path !== 'string') return `replace operation failed to decode path: ${path.error}`;
      if (path === '') {
        const v = valueOf(op);
        if (!Array.isArray(v) && !isObject(v)) return 'replace operation value must be object or array: %!w(<nil>)';
        state.root = v;
        return undefined;
      }
      const [con, key] = findObject(state.root, path);
      if (!con) return `replace operation does not apply: doc is missing path: ${path}: missing value`;
      if (Array.isArray(con) && typeof arrayIndex(key, con.length) !== 'number') {
        return `replace operation does not apply: doc is missing key: ${path}: missing value`;
      }
      set(con, key, valueOf(op));
      return undefined;
    }
    case 'move': {
      const from = readString(op, 'from');
      if (typeof from !== 'string') return `move operation failed to decode from: ${from.error}`;
      const [fcon, fkey] = findObject(state.root, from);
      if (!fcon) return `move operation does not apply: doc is missing from path: ${from}: missing value`;
      const got = get(fcon, fkey);
      if (typeof got === 'string') return `error in move for path: '${fkey}': ${got}`;
      const rerr = remove(fcon, fkey);
      if (rerr) return `error in move for path: '${fkey}': ${rerr}`;
      const path = readString(op, 'path');
      if (typeof path !== 'string') return `move operation failed to decode path: ${path.error}`;
      const [con, key] = findObject(state.root, path);
      if (!con) return `move operation does not apply: doc is missing destination path: ${path}: missing value`;
      const err = add(con, key, got.value ?? null);
      return err && `error in move for path: '${path}': ${err}`;
    }
    case 'test': {
      const path = readString(op, 'path');
      if (typeof path !== 'string') return `test operation failed to decode path: ${path.error}`;
      const hasValue = Object.hasOwn(op, 'value') && op.value !== null;
      if (path === '') {
        return deepEqual(state.root, op.value) ? undefined : `testing value ${path} failed: test failed`;
      }
      const [con, key] = findObject(state.root, path);
      if (!con) return `test operation does not apply: is missing path: ${path}: missing value`;
      const got = get(con, key);
      if (typeof got === 'string') return `error in test for path: '${path}': ${got}`;
      if (got.value === undefined || got.value === null) {
        return hasValue ? `testing value ${path} failed: test failed` : undefined;
      }
      if (!hasValue) return `testing value ${path} failed: test failed`;
      return deepEqual(got.value, op.value) ? undefined : `testing value ${path} failed: test failed`;
    }
    case 'copy': {
      const from = readString(op, 'from');
      if (typeof from !== 'string') return `copy operation failed to decode from: ${from.error}`;
      const [fcon, fkey] = findObject(state.root, from);
      if (!fcon) return `copy operation does not apply: doc is missing from path: ${from}: missing value`;
      const got = get(fcon, fkey);
      if (typeof got === 'string') return `error in copy for from: '${from}': ${got}`;
      const path = readString(op, 'path');
      if (typeof path !== 'string') return 'copy operation failed to decode path: missing value';
      const [con, key] = findObject(state.root, path);
      if (!con) return `copy operation does not apply: doc is missing destination path: ${path}: missing value`;
      const err = add(con, key, deepClone(got.value ?? null));
      return err && `error while adding value during copy: ${err}`;
    }
    default:
      return `Unexpected kind: ${kind}`;
  }
}

function readString(op: JsonObject, field: 'path' | 'from'): string | { error: string } {
  const v = op[field];
  if (v === undefined || v === null) {
    return { error: field === 'path' ? 'operation missing path field: missing value' : 'operation, missing from field: missing value' };
  }
  if (typeof v !== 'string') return { error: `json: cannot unmarshal ${jsonKindWord(v)} into Go value of type string` };
  return v;
}

/** A missing "value" member adds null, as the library stores a nil node. */
function valueOf(op: JsonObject): JsonValue {
  return Object.hasOwn(op, 'value') ? deepClone(op.value) : null;
}

function decodeToken(t: string): string {
  return t.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * The container holding the last token of `path`, and that token. Like the library, the path is
 * split on "/" without checking that it starts with one, and a null or scalar on the way means
 * the path is missing.
 */
function findObject(root: JsonValue, path: string): [Container | undefined, string] {
  const split = path.split('/');
  if (split.length < 2 || (!Array.isArray(root) && !isObject(root))) return [undefined, ''];
  let cur: Container = root;
  for (const part of split.slice(1, -1)) {
    const got = get(cur, decodeToken(part));
    if (typeof got === 'string') return [undefined, ''];
    const next = got.value;
    if (!Array.isArray(next) && !isObject(next)) return [undefined, ''];
    cur = next;
  }
  return [cur, decodeToken(split[split.length - 1])];
}

/** Go's strconv.Atoi, then the library's negative-index rule against `size`. */
function arrayIndex(key: string, size: number): number | string {
  if (!/^[+-]?\d+$/.test(key)) return `strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`;
  let idx = Number(key);
  if (!Number.isSafeInteger(idx)) return `strconv.Atoi: parsing ${JSON.stringify(key)}: value out of range`;
  if (idx < 0) {
    if (idx < -size) return `Unable to access invalid index: ${idx}: invalid index referenced`;
    idx += size;
  }
  if (idx >= size) return `Unable to access invalid index: ${idx}: invalid index referenced`;
  return idx;
}

function get(con: Container, key: string): { value: JsonValue | undefined } | string {
  if (!Array.isArray(con)) return { value: Object.hasOwn(con, key) ? con[key] : undefined };
  const idx = arrayIndex(key, con.length);
  return typeof idx === 'string' ? idx : { value: con[idx] };
}

function set(con: Container, key: string, val: JsonValue): void {
  if (!Array.isArray(con)) con[key] = val;
  else con[arrayIndex(key, con.length) as number] = val;
}

function add(con: Container, key: string, val: JsonValue): string | undefined {
  if (!Array.isArray(con)) {
    con[key] = val;
    return undefined;
  }
  if (key === '-') {
    con.push(val);
    return undefined;
  }
  if (!/^[+-]?\d+$/.test(key)) {
    return `value was not a proper array index: '${key}': strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`;
  }
  const idx = arrayIndex(key, con.length + 1);
  if (typeof idx === 'string') return idx;
  con.splice(idx, 0, val);
  return undefined;
}

function remove(con: Container, key: string): string | undefined {
  if (!Array.isArray(con)) {
    if (!Object.hasOwn(con, key)) return `Unable to remove nonexistent key: ${key}: missing value`;
    delete con[key];
    return undefined;
  }
  const idx = arrayIndex(key, con.length);
  if (typeof idx === 'string') return idx;
  con.splice(idx, 1);
  return undefined;
}

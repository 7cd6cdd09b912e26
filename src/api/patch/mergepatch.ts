// JSON merge patch (RFC 7386, application/merge-patch+json) with the semantics of the library
// upstream's apiserver uses (evanphx/json-patch v4 MergePatch): null deletes a member, objects
// merge recursively, anything else replaces. Nulls inside values that are added are pruned from
// objects (but kept as array elements), as the library does.
//
// Errors: a patch that is null or a scalar is a 400 "Invalid JSON Patch". A patch that is an array
// replaces the document with that array (the caller's decoding then rejects it, as upstream's).
import { badRequest } from './errors.ts';
import { type JsonValue, type JsonObject, isObject, deepClone } from './json.ts';

/** Applies `patch` (the decoded request body) to a copy of `doc`. */
export function applyMergePatch(doc: unknown, patch: unknown): JsonValue {
  if (Array.isArray(patch)) return pruneArray(deepClone(patch) as JsonValue[]);
  if (!isObject(patch)) throw badRequest('Invalid JSON Patch');
  const p = deepClone(patch);
  if (!isObject(doc)) return pruneObject(p);
  const out = deepClone(doc as JsonObject);
  mergeInto(out, p);
  return out;
}

function mergeInto(doc: JsonObject, patch: JsonObject): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete doc[k];
      continue;
    }
    const cur = doc[k];
    if (cur === undefined || cur === null) {
      doc[k] = prune(v);
    } else if (!isObject(cur)) {
      doc[k] = prune(v);
    } else if (!isObject(v)) {
      // The library returns a non-object patch value as it is, without pruning.
      doc[k] = v;
    } else {
      mergeInto(cur, v);
    }
  }
}

function prune(v: JsonValue): JsonValue {
  if (isObject(v)) return pruneObject(v);
  if (Array.isArray(v)) return pruneArray(v);
  return v;
}

function pruneObject(o: JsonObject): JsonObject {
  for (const [k, v] of Object.entries(o)) {
    if (v === null) delete o[k];
    else prune(v);
  }
  return o;
}

function pruneArray(a: JsonValue[]): JsonValue[] {
  for (const v of a) if (v !== null) prune(v);
  return a;
}

// Wires the API model's codecs and transformations (src/api) into the handlers' Codecs seam.
import { badRequest } from '../api/errors.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, managerFromRequest, serverSideApply, typeForGVK, updateManagedFields, type JsonValue } from '../api/patch/index.ts';
import { convert } from '../api/conversion/index.ts';
import { decode as decodeProtobuf, encode as encodeProtobuf, encodeWatchEvent } from '../api/protobuf/codec.ts';
import { defaultObject } from '../api/defaults/index.ts';
import { fieldSelectorForList, fieldsOf, matchesFields } from '../api/fields.ts';
import { matchesLabels, parseLabelSelector, SelectorError } from '../api/labels.ts';
import type { KObject } from '../api/meta.ts';
import { decodeTypeError } from '../api/schema/decode.ts';
import { fieldProblems } from '../api/schema/strict.ts';
import { lookup, validateCreate, validateStatusUpdate, validateUpdate } from '../api/validation/index.ts';
import { resetFieldsFor, type Codecs } from './handlers.ts';
import type { Hooks, Registry } from './registry.ts';
import { buildTable, parseIncludeObject } from './tables/index.ts';

export function apiHooks(): Hooks {
  return {
    defaults: (group, version, kind, obj) => defaultObject({ group, version, kind }, obj),
    prepareForCreate: (group, version, kind, obj) => lookup(group, kind)?.prepareForCreate?.(obj, version),
    validateCreate: (group, version, kind, obj) => validateCreate({ group, version, kind }, obj),
    validateUpdate: (group, version, kind, obj, old) => validateUpdate({ group, version, kind }, obj, old),
    validateStatusUpdate: (group, version, kind, obj, old) => validateStatusUpdate({ group, version, kind }, obj, old),
  };
}

/**
 * Field ownership of non-apply writes: the fields a create/update/patch sets become its manager's
 * (operation Update), as upstream's fieldmanager does on every write.
 */
export function managedFieldsHook(now: () => Date): NonNullable<Registry['managedFields']> {
  return (r, old, obj, opts) => {
    const gvk = { group: r.decl.group, version: r.storageVersion, kind: r.decl.kind };
    const sub = opts.subresource ?? '';
    const out = updateManagedFields({
      old,
      next: obj,
      manager: managerFromRequest(opts.fieldManager, opts.userAgent),
      gvk,
      type: typeForGVK(gvk),
      subresource: sub || undefined,
      now: now(),
      resetFields: resetFieldsFor(r.decl, sub),
    }) as { metadata?: { managedFields?: unknown } };
    const mf = out.metadata?.managedFields;
    if (mf === undefined) delete obj.metadata.managedFields;
    else obj.metadata.managedFields = mf as KObject['metadata']['managedFields'];
  };
}

/** Removes null-valued object properties, recursively (arrays keep their length). */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) {
    for (const x of v) dropNulls(x);
  } else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (o[k] === null) delete o[k];
      else dropNulls(o[k]);
    }
  }
  return v;
}

export function apiCodecs(): Codecs {
  return {
    decodeProtobuf: (body) => decodeProtobuf(body),
    encodeProtobuf: (obj) => encodeProtobuf(obj as Record<string, unknown>),
    encodeProtobufWatchEvent: (type, obj) => encodeWatchEvent(type, obj as Record<string, unknown>),
    fieldProblems: (group, version, kind, obj, body) => fieldProblems({ group, version, kind }, obj, body),
    decodeError: (group, version, kind, obj) => decodeTypeError(group, version, kind, obj),
    convert: (obj, apiVersion) => convert(obj, apiVersion),
    table: (group, plural, objects, o) =>
      buildTable(group, plural, objects, {
        includeObject: parseIncludeObject(o.includeObject),
        now: o.now,
        listMeta: o.resourceVersion !== undefined && objects.length !== 1 ? { resourceVersion: o.resourceVersion, continue: o.continue, remainingItemCount: o.remainingItemCount } : o.continue ? { resourceVersion: o.resourceVersion, continue: o.continue, remainingItemCount: o.remainingItemCount } : undefined,
      }),
    labelFilter(selector) {
      try {
        const sel = parseLabelSelector(selector);
        return (labels) => matchesLabels(sel, labels);
      } catch (e) {
        if (e instanceof SelectorError) throw badRequest(e.message);
        throw e;
      }
    },
    fieldFilter(group, plural, selector) {
      const sel = fieldSelectorForList(group, plural, selector);
      return (obj: KObject) => matchesFields(sel, fieldsOf(group, plural, obj));
    },
    patch(kind, gvk, current, patch) {
      let out: unknown;
      switch (kind) {
        case 'json':
          out = applyJsonPatch(current as unknown as JsonValue, patch);
          break;
        case 'merge':
          out = applyMergePatch(current as unknown as JsonValue, patch);
          break;
        case 'strategic':
          out = applyStrategicMergePatch(current, patch, typeForGVK(gvk), { consume: true });
          break;
      }
      // Typed decoding drops nulls (a nil pointer, map or slice is simply absent); do the same.
      return dropNulls(out) as KObject;
    },
    apply: (a) =>
      serverSideApply({
        live: a.live,
        applied: a.applied,
        manager: a.manager,
        force: a.force,
        gvk: a.gvk,
        type: typeForGVK(a.gvk),
        now: a.now,
        subresource: a.subresource,
        resetFields: a.resetFields,
      }).object as unknown as KObject,
  };
}

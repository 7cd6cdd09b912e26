// Wires the API model's codecs and transformations (src/api) into the handlers' Codecs seam.
import { badRequest, unsupportedMediaType } from '../api/errors.ts';
import { convert } from '../api/conversion/index.ts';
import { decode as decodeProtobuf, encode as encodeProtobuf, encodeWatchEvent } from '../api/protobuf/codec.ts';
import { defaultObject } from '../api/defaults/index.ts';
import { fieldSelectorForList, fieldsOf, matchesFields } from '../api/fields.ts';
import { matchesLabels, parseLabelSelector, SelectorError } from '../api/labels.ts';
import type { KObject } from '../api/meta.ts';
import { decodeTypeError } from '../api/schema/decode.ts';
import { fieldProblems } from '../api/schema/strict.ts';
import { validateCreate, validateStatusUpdate, validateUpdate } from '../api/validation/index.ts';
import type { Codecs } from './handlers.ts';
import type { Hooks } from './registry.ts';
import { buildTable, parseIncludeObject } from './tables/index.ts';

export function apiHooks(): Hooks {
  return {
    defaults: (group, version, kind, obj) => defaultObject({ group, version, kind }, obj),
    validateCreate: (group, version, kind, obj) => validateCreate({ group, version, kind }, obj),
    validateUpdate: (group, version, kind, obj, old) => validateUpdate({ group, version, kind }, obj, old),
    validateStatusUpdate: (group, version, kind, obj, old) => validateStatusUpdate({ group, version, kind }, obj, old),
  };
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
        if (e instanceof SelectorError) throw badRequest(`unable to parse requirement: ${e.message}`);
        throw e;
      }
    },
    fieldFilter(group, plural, selector) {
      const sel = fieldSelectorForList(group, plural, selector);
      return (obj: KObject) => matchesFields(sel, fieldsOf(group, plural, obj));
    },
    patch() {
      throw unsupportedMediaType('patch');
    },
    apply() {
      throw unsupportedMediaType('application/apply-patch+yaml');
    },
  };
}

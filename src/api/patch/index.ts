// Patches and field ownership, as pure functions over plain JSON objects. The apiserver decodes
// the request body, calls one of these with the stored object, then defaults, validates and
// stores the result. Nothing here mutates its arguments. Failures are StatusErrors with
// upstream's codes and wording.
//
//   applyJsonPatch(doc, ops)                   application/json-patch+json (RFC 6902)
//   applyMergePatch(doc, patch)                application/merge-patch+json (RFC 7386)
//   applyStrategicMergePatch(doc, patch, type) application/strategic-merge-patch+json
//   decodeApplyPatch(body)                     the application/apply-patch+yaml body (YAML or JSON)
//   serverSideApply({live?, applied, manager, force, gvk, type, now, subresource?, resetFields?})
//       → {object, changed}; creates when `live` is undefined; 409 on conflicts
//   updateManagedFields({old?, next, manager, gvk, type, now, subresource?, resetFields?})
//       → next with managedFields recording a create/update/patch (never throws)
//   managerFromRequest(fieldManager, userAgent) the manager of a non-apply write
//   typeForGVK(gvk)                            the schema of a kind (deduced when unknown)
//
// Integration contract:
// - Non-apply writes: apply the patch (or take the PUT/POST body), then call updateManagedFields
//   with the stored object (`old`, none for create), after defaulting — upstream records the
//   fields a write's defaulting sets as owned by its manager.
// - Apply: serverSideApply, then default and validate the object. `changed` false means only
//   managedFields may differ (store nothing if they are equal too).
// - resetFields are the paths the write's strategy resets: [['status']] for the main resource of a
//   kind with a status subresource, [['spec'], ['metadata', 'labels']]-style lists for status.
// - A subresource write passes `subresource` ('status', 'scale') with the parent objects; its
//   entries carry it, and the request's own managedFields are ignored, as upstream does.
import YAML from 'yaml';
import { badRequest } from '../errors.ts';
import { type JsonObject, isObject, jsonKindWord } from './json.ts';

export { applyJsonPatch } from './jsonpatch.ts';
export { applyMergePatch } from './mergepatch.ts';
export { applyStrategicMergePatch } from './strategic.ts';
export {
  serverSideApply,
  updateManagedFields,
  managerFromRequest,
  LAST_APPLIED_ANNOTATION,
  type ManagedFieldsEntry,
  type ServerSideApplyOptions,
  type ServerSideApplyResult,
  type UpdateManagedFieldsOptions,
} from './managedfields.ts';
export { typeForGVK, deducedType, OpenAPIModel, type ObjectType, type GroupVersionKind } from './schema.ts';
export type { JsonObject, JsonValue } from './json.ts';

/**
 * Decodes an apply patch body (YAML, of which JSON is a subset). Errors are upstream's 400s:
 * "error encoding patch: …" for unreadable YAML, "error decoding patch: …" for a body that is not
 * an object. An empty or null body is an empty object (the kind check then refuses it).
 */
export function decodeApplyPatch(body: string): JsonObject {
  let v: unknown;
  try {
    const docs = YAML.parseAllDocuments(body);
    if (Array.isArray(docs) && docs.length > 1) throw new Error('expected a single YAML document');
    const doc = Array.isArray(docs) ? docs[0] : docs;
    if (doc && doc.errors.length > 0) throw doc.errors[0];
    v = doc ? doc.toJS({ maxAliasCount: 100 }) : null;
  } catch (e) {
    throw badRequest(`error encoding patch: ${(e as Error).message}`);
  }
  if (v === null || v === undefined) return {};
  if (!isObject(v)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonKindWord(v)} into Go value of type map[string]interface {}`);
  }
  return v;
}

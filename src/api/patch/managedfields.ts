// Field ownership (metadata.managedFields) and server-side apply, following upstream's
// k8s.io/apimachinery managedfields package and structured-merge-diff's merge.Updater.
//
// Upstream composes the field manager from layers; this file keeps them, innermost first:
//   structured merge   compares/merges typed objects and moves ownership (updater*)
//   strip meta         nobody owns apiVersion, kind, metadata.{name,namespace,uid,…}
//   fields updater     an update's changes join its manager's entry; times are set
//   manager info       entries are keyed by {manager, operation, apiVersion (Update only), subresource}
//   cap managers       more than 10 Update entries fold the oldest into "ancient-changes"
//   skip non-applied   an existing object without managedFields is not tracked by updates; the
//                      first apply first records its fields as owned by "before-first-apply"
//   last-applied       for the "kubectl" manager, conflicts with fields that the client-side apply
//                      annotation shows unchanged are taken over, and the annotation is kept current
//   field manager      decode/encode managedFields; conflicts become a 409
import { StatusError, badRequest } from '../errors.ts';
import { deepFreeze } from '../meta.ts';
import { serverError } from './errors.ts';
import { FieldSet, type Path, fieldPath, pathString } from './fieldpath.ts';
import { type JsonObject, type JsonValue, deepClone, deepEqual, goJSON, goJSONString, isObject } from './json.ts';
import type { GroupVersionKind, ObjectType } from './schema.ts';
import { TypedErrors, compare, ensureNamedFieldsAreMembers, formatTypedErrors, merge, removeItems, toFieldSet, validate } from './typed.ts';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: JsonObject;
  subresource?: string;
}

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
const MAX_UPDATE_MANAGERS = 10;
const ANCIENT_CHANGES = 'ancient-changes';
const BEFORE_FIRST_APPLY = 'before-first-apply';
const CURRENT_OPERATION = 'current-operation';
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
const FIELD_MANAGER_MAX_LENGTH = 128;

interface VersionedSet {
  set: FieldSet;
  apiVersion: string;
  applied: boolean;
}

/** Ownership keyed by manager identifier, with each identifier's time. */
interface Managed {
  fields: Map<string, VersionedSet>;
  times: Map<string, string | undefined>;
}

interface Ctx {
  type: ObjectType;
  gvk: GroupVersionKind;
  /** The group/version of the request; recorded as each written entry's apiVersion. */
  apiVersion: string;
  subresource: string;
  now: string;
  /** Fields the strategy resets (status on the main resource, spec on status): owned by nobody. */
  reset?: FieldSet;
  /** reset as text, for keys of sets that depend on it. */
  resetKey?: string;
}

// ---------------------------------------------------------------------------------------------
// Public entry points

export interface UpdateManagedFieldsOptions {
  /** The stored object; undefined for a create. */
  old?: object;
  /** The object about to be stored (its managedFields are honoured when valid and not cleared). */
  next: object;
  /** The field manager (see managerFromRequest). */
  manager: string;
  gvk: GroupVersionKind;
  type: ObjectType;
  subresource?: string;
  now?: Date;
  /** Field paths the write's strategy resets, e.g. [['status']] for the main resource. */
  resetFields?: string[][];
}

/**
 * Records a non-apply write (create, update, JSON/merge/strategic patch, subresource write):
 * the fields it changed become owned by `manager` with operation Update and are removed from
 * other managers. Returns `next` with its managedFields set. Never throws: like upstream's
 * UpdateNoErrors, a failure keeps the stored object's managedFields.
 */
export function updateManagedFields(opts: UpdateManagedFieldsOptions): JsonObject {
  const ctx = makeCtx(opts);
  const old = opts.old as JsonObject | undefined;
  const managed = decodeLiveOrNew(old, opts.next as JsonObject, ctx.subresource !== '');
  const next = withoutManagedFields(opts.next as JsonObject);
  try {
    if (managed.fields.size === 0 && old !== undefined) return next;
    if (old === undefined && managed.fields.size === 0) return withManagedFields(next, createdEntries(ctx, next, opts.manager));
    const live = old !== undefined ? withoutManagedFields(old) : ctx.type.model.zero(ctx.type.ref);
    const result = innerUpdate(ctx, live, next, managed, opts.manager);
    return withManagedFields(next, encodeManaged(result));
  } catch {
    const keep = old ? metadataOf(old)?.managedFields : undefined;
    return keep === undefined ? next : withManagedFields(next, deepClone(keep));
  }
}

/**
 * The general path (innerUpdate against the type's zero value) specialized to a create that
 * brings no managedFields of its own: nobody else owns anything, so nothing moves between
 * managers and the creator's set is simply what the object adds to or changes from the zero
 * value. Produces exactly the general path's entries (managedfields.test.ts compares them).
 */
function createdEntries(ctx: Ctx, next: JsonObject, manager: string): JsonValue | undefined {
  const fields = createdFieldsV1(ctx, next);
  if (fields === null) return undefined;
  const e: ManagedFieldsEntry = { manager: manager || 'unknown', operation: 'Update', apiVersion: ctx.apiVersion, time: ctx.now, fieldsType: 'FieldsV1', fieldsV1: fields };
  if (ctx.subresource) e.subresource = ctx.subresource;
  return [e] as unknown as JsonValue;
}

/**
 * A create's set depends on the object's content alone, and not at all on the values of the
 * metadata fields stripped from every set (name, uid, creationTimestamp, …): the objects made from
 * one template (a ReplicaSet's or a Job's pods, a benchmark's) all have the same set. Computing it
 * is most of a create's bookkeeping (~150 µs for a pod), keying it one JSON.stringify (~10 µs), so
 * the sets of the most recent distinct contents are kept, per model, in FieldsV1 form (null: empty).
 * The objects created share that one FieldsV1 value: it is deep-frozen, as every stored object is
 * once cached, so none can change it for the others (and a cache of 10,000 such pods holds it once).
 */
const createdSets = new WeakMap<ObjectType['model'], Map<string, JsonObject | null>>();
const CREATED_SETS_KEPT = 64;

function createdFieldsV1(ctx: Ctx, next: JsonObject): JsonObject | null {
  const meta = metadataOf(next);
  let keyed: JsonObject = next;
  if (meta) {
    const m: JsonObject = {};
    for (const k in meta) if (!STRIPPED_METADATA.has(k)) m[k] = meta[k];
    keyed = { ...next, metadata: m };
  }
  // A type is its model and a name in it; a type with no name (deduced for a kind the model does
  // not know) comes with a model of its own.
  const key = `${ctx.type.ref.named ?? ''}\n${ctx.resetKey ?? ''}\n${ctx.subresource}\n${JSON.stringify(keyed)}`;
  let sets = createdSets.get(ctx.type.model);
  if (!sets) createdSets.set(ctx.type.model, (sets = new Map()));
  let fields = sets.get(key);
  if (fields === undefined) {
    fields = computeCreatedFieldsV1(ctx, next);
    if (sets.size >= CREATED_SETS_KEPT) sets.delete(sets.keys().next().value!);
  } else {
    sets.delete(key); // kept as the most recently used
  }
  sets.set(key, fields);
  return fields;
}

function computeCreatedFieldsV1(ctx: Ctx, next: JsonObject): JsonObject | null {
  const { model, ref } = ctx.type;
  const c = compare(model, ref, zeroFilled(model, ref), model.withZero(ref, next));
  // The comparison's sets are private: combine and trim them in place instead of copying.
  const set = c.added;
  addInPlace(set, c.modified);
  if (ctx.reset) removeRecursiveInPlace(set, ctx.reset);
  removeInPlace(set, STRIP);
  return set.empty() ? null : deepFreeze(set.toFieldsV1());
}

/** a ∪= b; b's subtrees are shared into a where a has none (neither is used again). */
function addInPlace(a: FieldSet, b: FieldSet): void {
  for (const [id, pe] of b.members) a.members.set(id, pe);
  for (const [id, c] of b.children) {
    const mine = a.children.get(id);
    if (mine) addInPlace(mine.set, c.set);
    else a.children.set(id, c);
  }
}

/** a.recursiveDifference(o), in place. */
function removeRecursiveInPlace(a: FieldSet, o: FieldSet): void {
  for (const id of o.members.keys()) {
    a.members.delete(id);
    a.children.delete(id);
  }
  for (const [id, c] of o.children) {
    const mine = a.children.get(id);
    if (!mine) continue;
    removeRecursiveInPlace(mine.set, c.set);
    if (mine.set.empty()) a.children.delete(id);
  }
}

/** a.difference(o), in place. */
function removeInPlace(a: FieldSet, o: FieldSet): void {
  for (const id of o.members.keys()) a.members.delete(id);
  for (const [id, c] of o.children) {
    const mine = a.children.get(id);
    if (!mine) continue;
    removeInPlace(mine.set, c.set);
    if (mine.set.empty()) a.children.delete(id);
  }
}

const zeroCache = new WeakMap<object, Map<string, JsonValue>>();

/** withZero(zero) of a type, computed once per model and type; shared, never mutated. */
function zeroFilled(model: ObjectType['model'], ref: ObjectType['ref']): JsonValue {
  if (ref.named === undefined) return model.withZero(ref, model.zero(ref));
  let m = zeroCache.get(model);
  if (!m) zeroCache.set(model, (m = new Map()));
  let z = m.get(ref.named);
  if (z === undefined) m.set(ref.named, (z = model.withZero(ref, model.zero(ref))));
  return z;
}

/** The general path of updateManagedFields, for tests that check the specialized ones against it. */
export function updateManagedFieldsGeneral(opts: UpdateManagedFieldsOptions): JsonObject {
  const ctx = makeCtx(opts);
  const old = opts.old as JsonObject | undefined;
  const managed = decodeLiveOrNew(old, opts.next as JsonObject, ctx.subresource !== '');
  const next = withoutManagedFields(opts.next as JsonObject);
  if (managed.fields.size === 0 && old !== undefined) return next;
  const live = old !== undefined ? withoutManagedFields(old) : ctx.type.model.zero(ctx.type.ref);
  return withManagedFields(next, encodeManaged(innerUpdate(ctx, live, next, managed, opts.manager)));
}

export interface ServerSideApplyOptions {
  /** The stored object; undefined when the apply creates it. */
  live?: object;
  /** The applied configuration (the decoded apply patch). */
  applied: object;
  manager: string;
  force?: boolean;
  gvk: GroupVersionKind;
  type: ObjectType;
  subresource?: string;
  now?: Date;
  resetFields?: string[][];
}

export interface ServerSideApplyResult {
  /** The object to store, with managedFields set. */
  object: JsonObject;
  /** False when the apply changed nothing but (possibly) managedFields. */
  changed: boolean;
}

/**
 * Server-side apply: merges `applied` into `live` per the schema, removes fields this manager
 * applied before and no longer applies (unless another manager owns them), and records ownership.
 * Throws StatusError: 409 Conflict when another manager owns a field applied with a different
 * value (unless `force`), 400 for a wrong kind or a managedFields in the configuration, 500 for
 * a configuration that does not fit the schema (as upstream).
 */
export function serverSideApply(opts: ServerSideApplyOptions): ServerSideApplyResult {
  const ctx = makeCtx(opts);
  const liveIn = opts.live as JsonObject | undefined;
  const applied = opts.applied as JsonObject;
  if (!isObject(applied)) throw badRequest('error decoding patch: the apply configuration must be an object');
  let managed: Managed;
  try {
    managed = decodeManaged(liveIn ? metadataOf(liveIn)?.managedFields : undefined, true);
  } catch (e) {
    throw serverError(`failed to decode managed fields: ${(e as Error).message}`);
  }
  const appliedGVK = gvkOf(applied);
  if (appliedGVK.group !== ctx.gvk.group || appliedGVK.version !== ctx.gvk.version || appliedGVK.kind !== ctx.gvk.kind) {
    throw badRequest(`invalid object type: ${gvkString(appliedGVK)}`);
  }
  const live = liveIn !== undefined ? withoutManagedFields(liveIn) : undefined;
  let out: { object: JsonObject; managed: Managed; changed: boolean };
  try {
    out = applyLastApplied(ctx, live, applied, managed, opts.manager, opts.force ?? false);
  } catch (e) {
    if (e instanceof ApplyConflicts) throw conflictError(e.conflicts);
    throw e;
  }
  return { object: withManagedFields(out.object, encodeManaged(out.managed)), changed: out.changed };
}

/** The field manager of a request: `fieldManager`, else the User-Agent up to its first "/". */
export function managerFromRequest(fieldManager: string | undefined, userAgent: string | undefined): string {
  if (fieldManager) return fieldManager;
  let out = '';
  let bytes = 0;
  for (const ch of (userAgent ?? '').split('/')[0]) {
    if (!isPrintable(ch)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function isPrintable(ch: string): boolean {
  // Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
  return ch === ' ' || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch);
}

// ---------------------------------------------------------------------------------------------
// Context and object helpers

function makeCtx(o: { gvk: GroupVersionKind; type: ObjectType; subresource?: string; now?: Date; resetFields?: string[][] }): Ctx {
  const ctx: Ctx = {
    type: o.type,
    gvk: o.gvk,
    apiVersion: o.gvk.group ? `${o.gvk.group}/${o.gvk.version}` : o.gvk.version,
    subresource: o.subresource ?? '',
    now: formatTime(o.now ?? new Date()),
  };
  if (o.resetFields && o.resetFields.length > 0) {
    ctx.reset = FieldSet.of(...o.resetFields.map((p) => fieldPath(...p)));
    ctx.resetKey = JSON.stringify(o.resetFields);
  }
  return ctx;
}

/** metav1.Time's wire form: RFC 3339 in UTC with whole seconds. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function gvkOf(obj: JsonObject): GroupVersionKind {
  const av = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const i = av.indexOf('/');
  // upstream's ParseGroupVersion: "" is the empty version, "v1" the core group
  return i < 0 ? { group: '', version: av, kind } : { group: av.slice(0, i), version: av.slice(i + 1), kind };
}

function gvkString(g: GroupVersionKind): string {
  return `${g.group}/${g.version}, Kind=${g.kind}`;
}

function metadataOf(obj: JsonObject): JsonObject | undefined {
  return isObject(obj.metadata) ? obj.metadata : undefined;
}

// Copies only the top level and metadata: the rest is shared with the argument, which nothing
// here mutates (a deep copy of every object on every write was the hottest path of a create).
function withoutManagedFields(obj: JsonObject): JsonObject {
  const out = { ...obj };
  const md = metadataOf(obj);
  if (md) {
    const { managedFields: _drop, ...rest } = md;
    out.metadata = rest;
  }
  return out;
}

function withManagedFields(obj: JsonObject, entries: JsonValue | undefined): JsonObject {
  const out: JsonObject = { ...obj };
  if (isObject(out.metadata)) out.metadata = { ...out.metadata };
  if (!isObject(out.metadata)) {
    if (entries === undefined) return out;
    out.metadata = {};
  }
  const md = out.metadata as JsonObject;
  // Entries are always freshly built (or copied by the caller): no copy here.
  if (entries === undefined) delete md.managedFields;
  else md.managedFields = entries;
  return out;
}

function filterReset(ctx: Ctx, s: FieldSet): FieldSet {
  return ctx.reset ? s.recursiveDifference(ctx.reset) : s;
}

// ---------------------------------------------------------------------------------------------
// managedFields encoding

/** upstream's BuildManagerIdentifier: the JSON of the entry's identifying members. */
function managerIdentifier(e: { manager?: string; operation?: string; apiVersion?: string; subresource?: string }): string {
  const parts: string[] = [];
  if (e.manager) parts.push(`"manager":${goJSONString(e.manager)}`);
  if (e.operation) parts.push(`"operation":${goJSONString(e.operation)}`);
  if (e.apiVersion && e.operation !== 'Apply') parts.push(`"apiVersion":${goJSONString(e.apiVersion)}`);
  if (e.subresource) parts.push(`"subresource":${goJSONString(e.subresource)}`);
  return '{' + parts.join(',') + '}';
}

function parseIdentifier(id: string): { manager?: string; operation?: string; apiVersion?: string; subresource?: string } {
  try {
    const v = JSON.parse(id) as unknown;
    return isObject(v) ? (v as { manager?: string; operation?: string; apiVersion?: string; subresource?: string }) : {};
  } catch {
    return {};
  }
}

/**
 * The FieldsV1 a set was decoded from, for sets read from a stored object (which this encoder or
 * upstream's wrote: canonical). A set that comes through a write unchanged (the same instance)
 * is written back as that very value instead of being encoded again: a kubelet's status write
 * leaves the creator's large spec set as it was. Never changed: both are shared, read-only.
 */
const storedFieldsV1 = new WeakMap<FieldSet, JsonValue>();

function decodeManaged(entries: JsonValue | undefined, stored = false): Managed {
  const m: Managed = { fields: new Map(), times: new Map() };
  if (entries === undefined || entries === null) return m;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((raw, i) => {
    const e = (isObject(raw) ? raw : {}) as ManagedFieldsEntry & JsonObject;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (typeof e.apiVersion !== 'string' || e.apiVersion.length < 1) throw new Error('apiVersion must not be empty');
    if (e.fieldsType === undefined || e.fieldsType === '') throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    const id = managerIdentifier({
      manager: typeof e.manager === 'string' ? e.manager : undefined,
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: typeof e.subresource === 'string' ? e.subresource : undefined,
    });
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(e.fieldsV1 ?? {});
      if (stored && e.fieldsV1 !== undefined) storedFieldsV1.set(set, e.fieldsV1);
    } catch (err) {
      throw new Error(`error decoding versioned set from ${goJSON(raw)}: error decoding set: ${(err as Error).message}`);
    }
    m.fields.set(id, { set, apiVersion: e.apiVersion, applied: e.operation === 'Apply' });
    m.times.set(id, typeof e.time === 'string' ? e.time : undefined);
  });
  return m;
}

/** `[]` or a single empty entry: the client asks for managedFields to be reset. */
function isResetManagedFields(v: JsonValue | undefined): boolean {
  if (!Array.isArray(v)) return false;
  if (v.length === 0) return true;
  return v.length === 1 && isObject(v[0]) && Object.values(v[0]).every((x) => x === '' || x === null || x === undefined);
}

function decodeLiveOrNew(live: JsonObject | undefined, next: JsonObject, ignoreRequest: boolean): Managed {
  const liveMF = live ? metadataOf(live)?.managedFields : undefined;
  const fromLive = (): Managed => {
    try {
      return decodeManaged(liveMF, true);
    } catch {
      return { fields: new Map(), times: new Map() };
    }
  };
  if (ignoreRequest) return fromLive();
  const nextMF = metadataOf(next)?.managedFields;
  if (isResetManagedFields(nextMF)) return { fields: new Map(), times: new Map() };
  try {
    const m = decodeManaged(nextMF);
    if (m.fields.size > 0) return m;
  } catch {
    // an invalid request value falls back to the stored one
  }
  return fromLive();
}

function timeSeconds(t: string | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** Entries in upstream's order: Apply before Update, then by time, manager, apiVersion, subresource. */
function encodeManaged(m: Managed): JsonValue | undefined {
  if (m.fields.size === 0) return undefined;
  const entries: ManagedFieldsEntry[] = [];
  for (const [id, vs] of m.fields) {
    const info = parseIdentifier(id);
    const e: ManagedFieldsEntry = {};
    if (info.manager) e.manager = info.manager;
    e.operation = vs.applied ? 'Apply' : (info.operation as 'Apply' | 'Update' | undefined) ?? 'Update';
    e.apiVersion = vs.apiVersion;
    const t = m.times.get(id);
    if (t) e.time = t;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = (storedFieldsV1.get(vs.set) as JsonObject | undefined) ?? vs.set.toFieldsV1();
    if (info.subresource) e.subresource = info.subresource;
    entries.push(e);
  }
  const str = (s: string | undefined) => s ?? '';
  entries.sort((p, q) => {
    if (p.operation !== q.operation) return str(p.operation) < str(q.operation) ? -1 : 1;
    const ps = timeSeconds(p.time);
    const qs = timeSeconds(q.time);
    if (ps !== qs) return ps - qs;
    if (p.manager !== q.manager) return str(p.manager) < str(q.manager) ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return str(p.apiVersion) < str(q.apiVersion) ? -1 : 1;
    return str(p.subresource) < str(q.subresource) ? -1 : str(p.subresource) > str(q.subresource) ? 1 : 0;
  });
  return entries as unknown as JsonValue;
}

function copyManaged(m: Managed): Managed {
  return { fields: new Map(m.fields), times: new Map(m.times) };
}

// ---------------------------------------------------------------------------------------------
// Conflicts

interface Conflict {
  /** Manager identifier. */
  manager: string;
  path: Path;
}

class ApplyConflicts extends Error {
  readonly conflicts: Conflict[];
  constructor(conflicts: Conflict[]) {
    super('apply conflicts');
    this.conflicts = conflicts;
  }
}

function conflictsFromSets(sets: Map<string, FieldSet>): Conflict[] {
  const out: Conflict[] = [];
  for (const id of [...sets.keys()].sort()) sets.get(id)!.iterate((path) => out.push({ manager: id, path }));
  return out;
}

/** upstream's printManager: `"name"`, plus the subresource, plus `using <apiVersion>` for updaters. */
function printManager(id: string): string {
  const e = parseIdentifier(id);
  if (!e.operation) return JSON.stringify(id);
  let s = JSON.stringify(e.manager ?? '');
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion ?? ''}`;
  return s;
}

/** upstream's NewConflictError: 409 Conflict listing each field with its manager. */
function conflictError(conflicts: Conflict[]): StatusError {
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0].manager)}: ${pathString(conflicts[0].path)}`;
  } else {
    const byManager = new Map<string, Path[]>();
    for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.path]);
    const lines: string[] = [];
    for (const id of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${printManager(id)}:`);
      for (const p of byManager.get(id)!) lines.push(`- ${pathString(p)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError({
    reason: 'Conflict',
    code: 409,
    message,
    details: {
      causes: conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with ${printManager(c.manager)}`,
        field: pathString(c.path),
      })),
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Structured merge (merge.Updater)

/**
 * Moves ownership for the change old → next made by `workflow`: fields it modified or added leave
 * other managers (a conflict unless `force`), removed fields leave everyone. Mutates `fields`.
 */
function updateOwnership(ctx: Ctx, oldObj: JsonObject, newObj: JsonObject, fields: Map<string, VersionedSet>, workflow: string, force: boolean) {
  const { model, ref } = ctx.type;
  const c = compare(model, ref, model.withZero(ref, oldObj), model.withZero(ref, newObj));
  const cmp = { added: filterReset(ctx, c.added), modified: filterReset(ctx, c.modified), removed: filterReset(ctx, c.removed) };
  const changed = cmp.modified.union(cmp.added);
  const conflicts = new Map<string, FieldSet>();
  for (const [id, vs] of fields) {
    if (id === workflow) continue;
    const s = vs.set.intersection(changed);
    if (!s.empty()) conflicts.set(id, s);
  }
  if (!force && conflicts.size > 0) throw new ApplyConflicts(conflictsFromSets(conflicts));
  for (const [id, s] of conflicts) {
    const vs = fields.get(id)!;
    fields.set(id, { ...vs, set: vs.set.difference(s) });
  }
  if (!cmp.removed.empty()) {
    for (const [id, vs] of fields) if (id !== workflow) fields.set(id, { ...vs, set: vs.set.difference(cmp.removed) });
  }
  for (const [id, vs] of fields) if (vs.set.empty()) fields.delete(id);
  return cmp;
}

function updaterUpdate(ctx: Ctx, live: JsonObject, next: JsonObject, fields: Map<string, VersionedSet>, manager: string): void {
  const cmp = updateOwnership(ctx, live, next, fields, manager, true);
  const prev = fields.get(manager)?.set ?? new FieldSet();
  const set = filterReset(ctx, prev.difference(cmp.removed).union(cmp.modified).union(cmp.added));
  if (set.empty()) fields.delete(manager);
  else fields.set(manager, { set, apiVersion: ctx.apiVersion, applied: false });
}

/** Returns the new object, or undefined when the apply leaves the object as it was. */
function updaterApply(
  ctx: Ctx,
  live: JsonObject,
  config: JsonObject,
  fields: Map<string, VersionedSet>,
  manager: string,
  force: boolean,
): JsonObject | undefined {
  const { model, ref } = ctx.type;
  let merged: JsonObject;
  try {
    merged = merge(model, ref, live, config) as JsonObject;
  } catch (e) {
    if (e instanceof TypedErrors) throw serverError(`failed to merge config: ${e.message}`);
    throw e;
  }
  if (!isObject(merged)) merged = {};
  const lastSet = fields.get(manager);
  fields.set(manager, { set: filterReset(ctx, toFieldSet(model, ref, config)), apiVersion: ctx.apiVersion, applied: true });
  const pruned = prune(ctx, merged, fields, lastSet);
  updateOwnership(ctx, live, pruned, fields, manager, force);
  return deepEqual(live, pruned) ? undefined : pruned;
}

/**
 * Removes what the applier applied last time and no longer applies, unless a manager (the
 * applier's new configuration included) still owns it; fields below a removed one that the
 * applier never owned stay.
 */
function prune(ctx: Ctx, merged: JsonObject, fields: Map<string, VersionedSet>, lastSet: VersionedSet | undefined): JsonObject {
  if (!lastSet || lastSet.set.empty()) return merged;
  const { model, ref } = ctx.type;
  const ensure = (s: FieldSet) => ensureNamedFieldsAreMembers(model, ref, s);
  const last = ensure(lastSet.set);
  let pruned = removeItems(model, ref, merged, last);
  let managed = new FieldSet();
  for (const vs of fields.values()) managed = managed.union(vs.set);
  const mergedSet = ensure(toFieldSet(model, ref, merged));
  pruned = removeItems(model, ref, merged, mergedSet.difference(ensure(toFieldSet(model, ref, pruned)).union(ensure(managed))));
  const prunedSet = ensure(toFieldSet(model, ref, pruned));
  // The result is stored: members the removal empties are dropped rather than left null (upstream's
  // typed objects omit them on the way out, so stored JSON looks the same).
  const result = removeItems(model, ref, merged, mergedSet.difference(prunedSet).intersection(last), true);
  return isObject(result) ? result : {};
}

// ---------------------------------------------------------------------------------------------
// The layers (innermost first)

/** The metadata fields no manager owns (upstream's stripMeta). */
const STRIPPED_METADATA = new Set(['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion']);

const STRIP = FieldSet.of(fieldPath('apiVersion'), fieldPath('kind'), fieldPath('metadata'), ...[...STRIPPED_METADATA].map((k) => fieldPath('metadata', k)));

function stripMeta(fields: Map<string, VersionedSet>, manager: string): void {
  const vs = fields.get(manager);
  if (!vs) return;
  const set = vs.set.difference(STRIP);
  if (set.empty()) fields.delete(manager);
  else fields.set(manager, { ...vs, set });
}

function capManagers(m: Managed): void {
  const updaters = [...m.fields].filter(([, vs]) => !vs.applied).map(([id]) => id);
  if (updaters.length <= MAX_UPDATE_MANAGERS) return;
  updaters.sort((a, b) => timeSeconds(m.times.get(a)) - timeSeconds(m.times.get(b)) || (a < b ? -1 : a > b ? 1 : 0));
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > MAX_UPDATE_MANAGERS; i++) {
    const id = updaters[i];
    const vs = m.fields.get(id)!;
    const time = m.times.get(id);
    const bucket = managerIdentifier({ manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: vs.apiVersion });
    const first = firstByVersion.get(vs.apiVersion);
    if (first === undefined) {
      firstByVersion.set(vs.apiVersion, id);
      continue;
    }
    if (!m.fields.has(bucket)) {
      const s = m.fields.get(first)!;
      m.fields.delete(first);
      m.fields.set(bucket, s);
    }
    m.fields.set(bucket, { set: vs.set.union(m.fields.get(bucket)!.set), apiVersion: vs.apiVersion, applied: vs.applied });
    m.fields.delete(id);
    length--;
    m.times.set(bucket, time);
  }
}

/** build-manager-info + fields-updater + strip-meta + structured merge, for an update; plus the cap. */
function innerUpdate(ctx: Ctx, live: JsonObject, next: JsonObject, managed: Managed, manager: string): Managed {
  const id = managerIdentifier({ manager: manager || 'unknown', operation: 'Update', apiVersion: ctx.apiVersion, subresource: ctx.subresource });
  const m = copyManaged(managed);
  updaterUpdate(ctx, live, next, m.fields, CURRENT_OPERATION);
  stripMeta(m.fields, CURRENT_OPERATION);
  const vs = m.fields.get(CURRENT_OPERATION);
  if (vs) {
    m.fields.delete(CURRENT_OPERATION);
    const prev = m.fields.get(id);
    m.fields.set(id, { set: prev ? vs.set.union(prev.set) : vs.set, apiVersion: vs.apiVersion, applied: vs.applied });
    m.times.set(id, ctx.now);
  }
  capManagers(m);
  return m;
}

/** build-manager-info + fields-updater + strip-meta + structured merge, for an apply. */
function innerApply(
  ctx: Ctx,
  live: JsonObject | undefined,
  config: JsonObject,
  managed: Managed,
  manager: string,
  force: boolean,
): { object: JsonObject; managed: Managed; changed: boolean } {
  const id = managerIdentifier({ manager: manager || 'unknown', operation: 'Apply', subresource: ctx.subresource });
  const md = metadataOf(config);
  if (md && md.managedFields !== undefined && md.managedFields !== null) throw badRequest('metadata.managedFields must be nil');
  const { model, ref } = ctx.type;
  const errs = validate(model, ref, config);
  if (errs.length > 0) {
    throw serverError(`failed to create typed patch object (${objectGVKNN(config, ctx)}): ${formatTypedErrors(errs)}`);
  }
  const m = copyManaged(managed);
  const base = live ?? {};
  const next = updaterApply(ctx, base, config, m.fields, id, force);
  stripMeta(m.fields, id);
  if (next !== undefined) m.times.set(id, ctx.now);
  return { object: next ?? base, managed: m, changed: next !== undefined };
}

function objectGVKNN(obj: JsonObject, ctx: Ctx): string {
  const md = metadataOf(obj);
  const ns = typeof md?.namespace === 'string' ? md.namespace : '';
  const name = typeof md?.name === 'string' ? md.name : '';
  return `${ns}/${name}; ${gvkString(ctx.gvk)}`;
}

/** skip-non-applied: the first apply to an untracked object records what it finds first. */
function applySkipNonApplied(ctx: Ctx, live: JsonObject | undefined, config: JsonObject, managed: Managed, manager: string, force: boolean) {
  if (managed.fields.size === 0 && live !== undefined) {
    managed = innerUpdate(ctx, ctx.type.model.zero(ctx.type.ref), live, managed, BEFORE_FIRST_APPLY);
  }
  return innerApply(ctx, live, config, managed, manager, force);
}

/** last-applied manager and updater (only for the "kubectl" field manager). */
function applyLastApplied(ctx: Ctx, live: JsonObject | undefined, config: JsonObject, managed: Managed, manager: string, force: boolean) {
  let out: { object: JsonObject; managed: Managed; changed: boolean };
  try {
    out = applySkipNonApplied(ctx, live, config, managed, manager, force);
  } catch (e) {
    if (manager !== 'kubectl' || !(e instanceof ApplyConflicts) || live === undefined) throw e;
    const allowed = allowedConflictsFromLastApplied(ctx, live);
    if (!allowed) throw e;
    const rest = e.conflicts.filter((c) => !allowed.has(c.path));
    if (rest.length > 0) throw new ApplyConflicts(rest);
    out = applySkipNonApplied(ctx, live, config, managed, manager, true);
  }
  if (manager === 'kubectl') {
    const annotations = metadataOf(out.object)?.annotations;
    const la = isObject(annotations) ? annotations[LAST_APPLIED_ANNOTATION] : undefined;
    if (typeof la === 'string' && la.length > 0) {
      const object = deepClone(out.object);
      const ann = metadataOf(object)!.annotations as JsonObject;
      ann[LAST_APPLIED_ANNOTATION] = buildLastApplied(config);
      let size = 0;
      for (const [k, v] of Object.entries(ann)) size += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : '');
      if (size > TOTAL_ANNOTATION_SIZE_LIMIT) delete ann[LAST_APPLIED_ANNOTATION];
      const changed = out.changed || !deepEqual(object, out.object);
      out = { ...out, object, changed };
    }
  }
  return out;
}

/** The applied configuration without the annotation itself, as upstream encodes it. */
function buildLastApplied(config: JsonObject): string {
  const c = deepClone(config);
  const md = metadataOf(c);
  if (md && isObject(md.annotations)) delete md.annotations[LAST_APPLIED_ANNOTATION];
  return goJSON(c) + '\n';
}

/** Fields the client-side apply annotation shows with the live value: kubectl may take them over. */
function allowedConflictsFromLastApplied(ctx: Ctx, live: JsonObject): FieldSet | undefined {
  const annotations = metadataOf(live)?.annotations;
  const la = isObject(annotations) ? annotations[LAST_APPLIED_ANNOTATION] : undefined;
  if (typeof la !== 'string' || la === '') return undefined;
  let last: unknown;
  try {
    last = JSON.parse(la);
  } catch {
    return undefined;
  }
  if (!isObject(last) || last.apiVersion !== ctx.apiVersion) return undefined;
  const { model, ref } = ctx.type;
  if (validate(model, ref, last).length > 0 || validate(model, ref, live).length > 0) return undefined;
  const set = toFieldSet(model, ref, last);
  const c = compare(model, ref, last, model.withZero(ref, live));
  return set.difference(c.modified).difference(c.added).difference(c.removed);
}

export { ApplyConflicts };

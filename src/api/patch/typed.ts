// Schema-aware operations on plain JSON objects, following upstream's structured-merge-diff typed
// package: validation, the set of fields an object sets, the comparison of two objects, the
// merge of an applied configuration into a live object, and the removal of a set of fields.
//
// Values are plain JSON; `undefined` means absent, which differs from JSON null. Walkers never
// mutate inputs. A member that is not a declared field of a struct is walked with the deduced
// type (upstream would refuse it); only `validate` reports undeclared fields.
import { type JsonObject, type JsonValue, deepClone, deepEqual, goFormat, goTypeName, isObject } from './json.ts';
import { FieldSet, type Path, type PathElement, peString, serializePE } from './fieldpath.ts';
import { type Atom, type ListAtom, type MapAtom, type TypeModel, type TypeRef, DEDUCED_REF } from './schema.ts';

type V = JsonValue | undefined;

/** A validation error with upstream's path prefix. */
export interface TypedError {
  path: string;
  message: string;
}

/** upstream's ValidationErrors.Error(). */
export function formatTypedErrors(errs: TypedError[]): string {
  const one = (e: TypedError) => (e.path ? `${e.path}: ${e.message}` : e.message);
  if (errs.length === 1) return one(errs[0]);
  return ['errors:', ...errs.map((e) => '  ' + one(e))].join('\n');
}

function prefixed(errs: TypedError[], prefix: string): TypedError[] {
  return errs.map((e) => ({ path: prefix + e.path, message: e.message }));
}

function resolve(model: TypeModel, ref: TypeRef): Atom | undefined {
  return model.resolve(ref);
}

/** upstream's deduceAtom: narrow a union atom to the part matching the value (not for null). */
function deduce(atom: Atom, v: V): Atom {
  if (v === undefined || v === null) return atom;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return atom.scalar ? { scalar: atom.scalar } : atom;
  if (Array.isArray(v)) return atom.list ? { list: atom.list } : atom;
  return atom.map ? { map: atom.map } : atom;
}

function sameAtom(a: Atom, b: Atom): boolean {
  return a.scalar === b.scalar && a.list === b.list && a.map === b.map;
}

function fieldType(m: MapAtom, key: string): TypeRef | undefined {
  return m.fields.get(key)?.type ?? m.elementType;
}

/** Walk type for a member: undeclared members of structs are deduced. */
function memberType(m: MapAtom, key: string): TypeRef {
  return fieldType(m, key) ?? DEDUCED_REF;
}

function asList(v: V): JsonValue[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

function asMap(v: V): JsonObject | undefined {
  return isObject(v) ? v : undefined;
}

/** Go's %v of structured-merge-diff's value wrapper, as its error messages print it. */
function valueV(v: V): string {
  return `&{${goFormat(v)}}`;
}

function scalarErrors(kind: string, v: V, prefix: string): TypedError[] {
  if (v === undefined || v === null) return [];
  const err = (message: string) => [{ path: '', message: prefix + message }];
  switch (kind) {
    case 'numeric':
      return typeof v === 'number' ? [] : err(`expected numeric (int or float), got ${goTypeName(v)}`);
    case 'string':
      return typeof v === 'string' ? [] : err(`expected string, got &value.valueUnstructured{Value:${goFormat(v)}}`);
    case 'boolean':
      return typeof v === 'boolean' ? [] : err(`expected boolean, got ${valueV(v)}`);
    default:
      return typeof v === 'object' ? err(`expected any scalar, got ${valueV(v)}`) : [];
  }
}

// ---------------------------------------------------------------------------------------------
// List item identity

function keyDefault(model: TypeModel, list: ListAtom, field: string): JsonValue | undefined {
  return resolve(model, list.elementType)?.map?.fields.get(field)?.default;
}

/** The path element naming a list item, or the reason it has none. */
export function listItemPE(model: TypeModel, list: ListAtom, child: JsonValue, index: number): PathElement | string {
  if (list.relationship !== 'associative') return { index };
  if (list.keys.length > 0) {
    if (child === null) return 'associative list with keys may not have a null element';
    if (!isObject(child)) return 'associative list with keys may not have non-map elements';
    const key: [string, JsonValue][] = [];
    for (const k of list.keys) {
      if (Object.hasOwn(child, k)) key.push([k, child[k]]);
      else {
        const d = keyDefault(model, list, k);
        if (d !== undefined) key.push([k, d]);
      }
    }
    if (key.length === 0) {
      return `associative list with keys has an element that omits all key fields [${list.keys.map((k) => JSON.stringify(k)).join(' ')}] (and doesn't have default values for any key fields)`;
    }
    key.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { key };
  }
  if (isObject(child)) return "associative list without keys has an element that's a map type";
  if (Array.isArray(child)) return 'not supported: associative list with lists as elements';
  if (child === null) return "associative list without keys has an element that's an explicit null";
  return { value: child };
}

// ---------------------------------------------------------------------------------------------
// Validation

/** upstream's TypedValue.Validate: type errors, undeclared fields, bad or duplicate list keys. */
export function validate(model: TypeModel, ref: TypeRef, v: JsonValue, allowDuplicates = false): TypedError[] {
  const atom0 = resolve(model, ref);
  if (!atom0) return [{ path: '', message: `schema error: no type found matching: ${ref.named ?? 'inlined type'}` }];
  const atom = deduce(atom0, v);
  if (atom.map) {
    if (v === null) return [];
    if (!isObject(v)) return [{ path: '', message: `expected map, got ${valueV(v)}` }];
    const errs: TypedError[] = [];
    for (const [k, child] of Object.entries(v)) {
      const t = fieldType(atom.map, k);
      if (!t) {
        errs.push({ path: '.' + k, message: 'field not declared in schema' });
        break;
      }
      errs.push(...prefixed(validate(model, t, child, allowDuplicates), '.' + k));
    }
    return errs;
  }
  if (atom.scalar) return scalarErrors(atom.scalar, v, '');
  if (atom.list) {
    if (v === null) return [];
    if (!Array.isArray(v)) return [{ path: '', message: `expected list, got ${valueV(v)}` }];
    const errs: TypedError[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < v.length; i++) {
      const pe = listItemPE(model, atom.list, v[i], i);
      if (typeof pe === 'string') {
        errs.push({ path: '', message: `element ${i}: ${pe}` });
        return errs;
      }
      if (atom.list.relationship === 'associative') {
        const id = serializePE(pe);
        if (seen.has(id) && !allowDuplicates) errs.push({ path: '', message: `duplicate entries for key ${peString(pe)}` });
        seen.add(id);
      }
      errs.push(...prefixed(validate(model, atom.list.elementType, v[i], allowDuplicates), peString(pe)));
    }
    return errs;
  }
  return [{ path: '', message: `schema error: invalid atom: ${ref.named ? 'named type: ' + ref.named : 'inlined'}` }];
}

// ---------------------------------------------------------------------------------------------
// The set of fields a value sets

/** upstream's TypedValue.ToFieldSet. */
export function toFieldSet(model: TypeModel, ref: TypeRef, v: JsonValue): FieldSet {
  const set = new FieldSet();
  fieldsOf(model, ref, v, [], set);
  return set;
}

function fieldsOf(model: TypeModel, ref: TypeRef, v: JsonValue, path: Path, set: FieldSet): void {
  const atom0 = resolve(model, ref);
  if (!atom0) return;
  const atom = deduce(atom0, v);
  if (atom.map) {
    if (atom.map.relationship === 'atomic') {
      set.insert(path);
      return;
    }
    const m = asMap(v);
    if (!m) return;
    for (const [k, child] of Object.entries(m)) {
      const p = [...path, { field: k }];
      fieldsOf(model, memberType(atom.map, k), child, p, set);
      if (child === null || (isObject(child) && Object.keys(child).length === 0) || !atom.map.fields.has(k)) set.insert(p);
    }
    return;
  }
  if (atom.scalar) {
    set.insert(path);
    return;
  }
  if (atom.list) {
    if (atom.list.relationship === 'atomic') {
      set.insert(path);
      return;
    }
    const l = asList(v);
    if (!l) return;
    const pes = l.map((c, i) => listItemPE(model, atom.list!, c, i));
    const seen = new Set<string>();
    const dups = new Set<string>();
    for (const pe of pes) {
      if (typeof pe === 'string') continue;
      const id = serializePE(pe);
      if (seen.has(id)) {
        if (!dups.has(id)) {
          set.insert([...path, pe]);
          dups.add(id);
        }
      } else seen.add(id);
    }
    for (let i = 0; i < l.length; i++) {
      const pe = pes[i];
      if (typeof pe === 'string' || dups.has(serializePE(pe))) continue;
      const p = [...path, pe];
      fieldsOf(model, atom.list.elementType, l[i], p, set);
      set.insert(p);
    }
  }
}

/** upstream's Set.EnsureNamedFieldsAreMembers: struct fields with children become members too. */
export function ensureNamedFieldsAreMembers(model: TypeModel, ref: TypeRef | undefined, s: FieldSet): FieldSet {
  const atom = ref ? resolve(model, ref) : undefined;
  const out = new FieldSet();
  for (const [id, pe] of s.members) out.members.set(id, pe);
  for (const [id, c] of s.children) {
    let childRef: TypeRef | undefined;
    if ('field' in c.pe && atom?.map) {
      if (atom.map.fields.has(c.pe.field)) out.members.set(id, c.pe);
      childRef = fieldType(atom.map, c.pe.field);
    } else if ('key' in c.pe && atom?.list) {
      childRef = atom.list.elementType;
    }
    out.children.set(id, { pe: c.pe, set: ensureNamedFieldsAreMembers(model, childRef, c.set) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparison

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** upstream's TypedValue.Compare: leaf-level changes, plus added and removed non-leaf nodes. */
export function compare(model: TypeModel, ref: TypeRef, lhs: JsonValue, rhs: JsonValue): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const root: Cursor = { parent: undefined, pe: { index: 0 }, id: '', added: c.added, modified: c.modified, removed: c.removed };
  compareNode(model, ref, lhs, rhs, root);
  return c;
}

/**
 * A position in the walk: the path to it as a chain of parents, with each element's set key
 * computed once and the set node at this path in each of the three results, created on the first
 * insertion below it (so no set ever holds an empty child, as with FieldSet.insert). Inserting a
 * path is then one map write instead of serializing every element of the path again.
 */
interface Cursor {
  parent: Cursor | undefined;
  pe: PathElement;
  id: string;
  added?: FieldSet;
  modified?: FieldSet;
  removed?: FieldSet;
}

type Which = 'added' | 'modified' | 'removed';

function child(parent: Cursor, pe: PathElement, id: string): Cursor {
  return { parent, pe, id, added: undefined, modified: undefined, removed: undefined };
}

function nodeAt(cur: Cursor, which: Which): FieldSet {
  let n = cur[which];
  if (n) return n;
  const up = nodeAt(cur.parent!, which);
  let ch = up.children.get(cur.id);
  if (!ch) {
    ch = { pe: cur.pe, set: new FieldSet() };
    up.children.set(cur.id, ch);
  }
  n = ch.set;
  cur[which] = n;
  return n;
}

function insertAt(cur: Cursor, which: Which): void {
  if (cur.parent === undefined) return; // the empty path is never a member
  nodeAt(cur.parent, which).members.set(cur.id, cur.pe);
}

function compareNode(model: TypeModel, ref: TypeRef, lhs: V, rhs: V, cur: Cursor): void {
  const atom = resolve(model, ref);
  if (!atom) return;
  const al = deduce(atom, lhs);
  const ar = deduce(atom, rhs);
  const state = { inLeaf: false };
  if (rhs === undefined) compareAtom(model, al, lhs, rhs, cur, state);
  else if (lhs === undefined || sameAtom(al, ar)) compareAtom(model, ar, lhs, rhs, cur, state);
  else {
    compareAtom(model, al, lhs, rhs, cur, { inLeaf: false });
    compareAtom(model, ar, lhs, rhs, cur, state);
  }
  if (!state.inLeaf) {
    if (lhs === undefined) insertAt(cur, 'added');
    else if (rhs === undefined) insertAt(cur, 'removed');
  }
}

function compareLeaf(lhs: V, rhs: V, cur: Cursor, state: { inLeaf: boolean }): void {
  if (state.inLeaf) return;
  state.inLeaf = true;
  if (lhs === undefined) insertAt(cur, 'added');
  else if (rhs === undefined) insertAt(cur, 'removed');
  else if (!deepEqual(lhs, rhs)) insertAt(cur, 'modified');
}

/**
 * An atomic list is one leaf, equal when its items are equal as Go would decode them (zero members
 * filled in, which withZero leaves to here): items equal as sent are equal filled, so the filled
 * copies are made only when the raw items differ (a 1,000-address Endpoints subset rarely does).
 */
function compareAtomicList(model: TypeModel, list: ListAtom, lhs: V, rhs: V, cur: Cursor, state: { inLeaf: boolean }): void {
  if (state.inLeaf) return;
  if (lhs !== undefined && rhs !== undefined && !deepEqual(lhs, rhs)) {
    const filled = (v: V): V => (Array.isArray(v) ? v.map((x) => model.withZero(list.elementType, x)) : v);
    if (deepEqual(filled(lhs), filled(rhs))) {
      state.inLeaf = true;
      return;
    }
  }
  compareLeaf(lhs, rhs, cur, state);
}

function hasKeys(o: JsonObject | undefined): boolean {
  if (o) for (const _ in o) return true;
  return false;
}

function compareAtom(model: TypeModel, atom: Atom, lhs: V, rhs: V, cur: Cursor, state: { inLeaf: boolean }): void {
  if (atom.map) {
    const l = asMap(lhs);
    const r = asMap(rhs);
    const empty = !hasKeys(l) && !hasKeys(r);
    if (atom.map.relationship === 'atomic' || empty) return compareLeaf(lhs, rhs, cur, state);
    const m = atom.map;
    if (l) {
      for (const k in l) compareNode(model, memberType(m, k), l[k], r?.[k], child(cur, { field: k }, 'f:' + k));
    }
    if (r) {
      for (const k in r) {
        if (l && Object.hasOwn(l, k)) continue;
        compareNode(model, memberType(m, k), undefined, r[k], child(cur, { field: k }, 'f:' + k));
      }
    }
    return;
  }
  if (atom.scalar) {
    if (scalarErrors(atom.scalar, lhs, '').length > 0 && scalarErrors(atom.scalar, rhs, '').length > 0) return;
    return compareLeaf(lhs, rhs, cur, state);
  }
  if (atom.list) {
    const l = asList(lhs);
    const r = asList(rhs);
    const empty = (!l || l.length === 0) && (!r || r.length === 0);
    if (atom.list.relationship === 'atomic') return compareAtomicList(model, atom.list, lhs, rhs, cur, state);
    if (empty) return compareLeaf(lhs, rhs, cur, state);
    compareListItems(model, atom.list, l ?? [], r ?? [], cur);
  }
}

function indexItems(model: TypeModel, list: ListAtom, items: JsonValue[]): Map<string, { pe: PathElement; values: JsonValue[] }> {
  const out = new Map<string, { pe: PathElement; values: JsonValue[] }>();
  items.forEach((item, i) => {
    const pe = listItemPE(model, list, item, i);
    if (typeof pe === 'string') return;
    const id = serializePE(pe);
    const e = out.get(id);
    if (e) e.values.push(item);
    else out.set(id, { pe, values: [item] });
  });
  return out;
}

function compareListItems(model: TypeModel, list: ListAtom, lhs: JsonValue[], rhs: JsonValue[], cur: Cursor): void {
  const lv = indexItems(model, list, lhs);
  const rv = indexItems(model, list, rhs);
  const visit = (id: string, l: { pe: PathElement; values: JsonValue[] } | undefined, r: { pe: PathElement; values: JsonValue[] } | undefined) => {
    const pe = (l ?? r)!.pe;
    const ln = l?.values.length ?? 0;
    const rn = r?.values.length ?? 0;
    const p = child(cur, pe, id);
    if (ln <= 1 && rn <= 1) {
      compareNode(model, list.elementType, l?.values[0], r?.values[0], p);
    } else if (ln >= 2 && rn >= 2) {
      // duplicates on both sides compare as one atomic value
      if (!deepEqual(l!.values, r!.values)) insertAt(p, 'modified');
    } else if (ln >= 2) {
      if (rn !== 0) compareNode(model, list.elementType, undefined, r!.values[0], p);
      insertAt(p, 'removed');
    } else {
      if (ln !== 0) compareNode(model, list.elementType, l!.values[0], undefined, p);
      insertAt(p, 'added');
    }
  };
  for (const [id, l] of lv) visit(id, l, rv.get(id));
  for (const [id, r] of rv) if (!lv.has(id)) visit(id, undefined, r);
}

// ---------------------------------------------------------------------------------------------
// Merge (the applied configuration wins every leaf it sets)

/** upstream's TypedValue.Merge with ruleKeepRHS. Throws the typed errors it meets. */
export function merge(model: TypeModel, ref: TypeRef, lhs: JsonValue, rhs: JsonValue): JsonValue {
  const errs: TypedError[] = [];
  const out = mergeNode(model, ref, lhs, rhs, errs);
  if (errs.length > 0) throw new TypedErrors(errs);
  return out === undefined ? null : out;
}

export class TypedErrors extends Error {
  readonly errors: TypedError[];
  constructor(errors: TypedError[]) {
    super(formatTypedErrors(errors));
    this.errors = errors;
  }
}

function mergeNode(model: TypeModel, ref: TypeRef, lhs: V, rhs: V, errs: TypedError[]): V {
  const atom = resolve(model, ref);
  if (!atom) return rhs === undefined ? deepClone(lhs) : deepClone(rhs);
  // With mismatched kinds upstream also walks the live side, but only for its (ignored) output.
  return mergeAtom(model, deduce(atom, rhs === undefined ? lhs : rhs), lhs, rhs, errs);
}

function keepRHS(lhs: V, rhs: V): V {
  return deepClone(rhs !== undefined ? rhs : lhs);
}

function mergeAtom(model: TypeModel, atom: Atom, lhs: V, rhs: V, errs: TypedError[]): V {
  if (atom.map) {
    const l = asMap(lhs);
    const r = asMap(rhs);
    const empty = (!l || Object.keys(l).length === 0) && (!r || Object.keys(r).length === 0);
    if (atom.map.relationship === 'atomic' || empty) return keepRHS(lhs, rhs);
    const out: JsonObject = {};
    const keys = [...Object.keys(l ?? {}), ...Object.keys(r ?? {}).filter((k) => !l || !Object.hasOwn(l, k))];
    for (const k of keys) {
      const sub: TypedError[] = [];
      const v = mergeNode(model, memberType(atom.map, k), l?.[k], r?.[k], sub);
      errs.push(...prefixed(sub, '.' + k));
      if (v !== undefined) out[k] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  if (atom.scalar) return keepRHS(lhs, rhs);
  if (atom.list) {
    const l = asList(lhs);
    const r = asList(rhs);
    const empty = (!l || l.length === 0) && (!r || r.length === 0);
    if (atom.list.relationship === 'atomic' || empty) return keepRHS(lhs, rhs);
    return mergeListItems(model, atom.list, l ?? [], r ?? [], errs);
  }
  return keepRHS(lhs, rhs);
}

interface Indexed {
  pes: PathElement[];
  ids: string[];
  observed: Map<string, JsonValue>;
}

function indexForMerge(model: TypeModel, list: ListAtom, items: JsonValue[], allowDuplicates: boolean, errs: TypedError[]): Indexed {
  const out: Indexed = { pes: [], ids: [], observed: new Map() };
  items.forEach((item, i) => {
    const pe = listItemPE(model, list, item, i);
    if (typeof pe === 'string') {
      errs.push({ path: '', message: `element ${i}: ${pe}` });
      return;
    }
    const id = serializePE(pe);
    if (out.observed.has(id)) {
      if (!allowDuplicates) {
        errs.push({ path: '', message: `duplicate entries for key ${peString(pe)}` });
        return;
      }
      // duplicated live items are not merged with the applied one
      out.observed.set(id, null);
    } else out.observed.set(id, item);
    out.pes.push(pe);
    out.ids.push(id);
  });
  return out;
}

/**
 * upstream's list merge order: live items keep their places, applied items shared with the live
 * list follow the applied order, and new applied items go right after the applied item before
 * them.
 */
function mergeListItems(model: TypeModel, list: ListAtom, lhs: JsonValue[], rhs: JsonValue[], errs: TypedError[]): V {
  const out: JsonValue[] = [];
  const rx = indexForMerge(model, list, rhs, false, errs);
  const lx = indexForMerge(model, list, lhs, true, errs);
  if (errs.length > 0) return undefined;
  const shared = rx.ids.filter((id) => lx.observed.has(id));
  let next: string | undefined = shared.shift();
  const merged = new Set<string>();
  const push = (pe: PathElement, l: V, r: V) => {
    const sub: TypedError[] = [];
    const v = mergeNode(model, list.elementType, l, r, sub);
    errs.push(...prefixed(sub, peString(pe)));
    if (v !== undefined) out.push(v);
  };
  let li = 0;
  let ri = 0;
  while (li < lx.pes.length || ri < rx.pes.length) {
    if (li < lx.pes.length && ri < rx.pes.length) {
      const id = lx.ids[li];
      if (id === rx.ids[ri]) {
        merged.add(id);
        push(lx.pes[li], lx.observed.get(id), rx.observed.get(id));
        li++;
        ri++;
        next = shared.shift();
        continue;
      }
      if (rx.observed.has(id) && next !== undefined && next !== id) {
        li++;
        continue;
      }
    }
    if (li < lx.pes.length) {
      const id = lx.ids[li];
      if (!rx.observed.has(id)) {
        // Every item indexed (errors return above), so li is also the position in lhs.
        push(lx.pes[li], lhs[li], undefined);
        li++;
        continue;
      } else if (merged.has(id)) {
        li++;
      }
    }
    if (ri < rx.pes.length) {
      const id = rx.ids[ri];
      merged.add(id);
      push(rx.pes[ri], lx.observed.has(id) ? lx.observed.get(id) : undefined, rx.observed.get(id));
      ri++;
      if (next === id) next = shared.shift();
    }
  }
  return out.length > 0 ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// Removal

/**
 * upstream's TypedValue.RemoveItems: drops every path in `toRemove` (with what is below it).
 * Like upstream, a map or list left empty by the removal becomes null; with `dropEmptied` the
 * member holding it is dropped instead.
 */
export function removeItems(model: TypeModel, ref: TypeRef, v: JsonValue, toRemove: FieldSet, dropEmptied = false): JsonValue {
  const atom0 = resolve(model, ref);
  if (!atom0) return deepClone(v);
  const atom = deduce(atom0, v);
  if (atom.map) {
    if (!isObject(v) || Object.keys(v).length === 0 || atom.map.relationship === 'atomic') return null;
    const out: JsonObject = {};
    for (const [k, child] of Object.entries(v)) {
      const pe: PathElement = { field: k };
      if (toRemove.members.has(serializePE(pe))) continue;
      const sub = toRemove.withPrefix(pe);
      if (sub.empty()) {
        out[k] = deepClone(child);
        continue;
      }
      const r = removeItems(model, memberType(atom.map, k), child, sub, dropEmptied);
      if (r !== null || child === null || !dropEmptied) out[k] = r;
    }
    return Object.keys(out).length > 0 ? out : null;
  }
  if (atom.scalar) return deepClone(v);
  if (atom.list) {
    if (!Array.isArray(v) || v.length === 0 || atom.list.relationship === 'atomic') return null;
    const out: JsonValue[] = [];
    v.forEach((item, i) => {
      const pe = listItemPE(model, atom.list!, item, i);
      if (typeof pe === 'string') {
        out.push(deepClone(item));
        return;
      }
      if (toRemove.members.has(serializePE(pe))) return;
      const sub = toRemove.withPrefix(pe);
      out.push(sub.empty() ? deepClone(item) : removeItems(model, atom.list!.elementType, item, sub, dropEmptied));
    });
    return out.length > 0 ? out : null;
  }
  return deepClone(v);
}


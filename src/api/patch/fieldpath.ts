// Field paths and sets of them, as upstream's structured-merge-diff fieldpath package defines
// them, with its FieldsV1 wire encoding (the `fieldsV1` of a managedFields entry) and its path
// strings (the `.spec.containers[name="app"].image` of apply conflicts).
//
// FieldsV1: each set level is a JSON object whose keys are serialized path elements — `f:<name>`
// for a struct or map member, `k:{"name":"x"}` for a list-map item (keys sorted by name),
// `v:<json>` for a set item, `i:<n>` for an index — in upstream's element order (fields, then
// keys, then values, then indices; each sorted). A member with no children is `{}`; a member that
// also has children carries `".": {}` first; a node that only has children has no ".".
import { type JsonObject, type JsonValue, compareStrings, goJSON, goJSONString, isObject } from './json.ts';

export type PathElement =
  | { field: string }
  | { key: [string, JsonValue][] }
  | { value: JsonValue }
  | { index: number };

export type Path = PathElement[];

/** The FieldsV1 key of an element; also its identity inside a set. */
export function serializePE(pe: PathElement): string {
  if ('field' in pe) return 'f:' + pe.field;
  if ('key' in pe) return 'k:{' + pe.key.map(([n, v]) => goJSONString(n) + ':' + goJSON(v)).join(',') + '}';
  if ('value' in pe) return 'v:' + goJSON(pe.value);
  return 'i:' + pe.index;
}

/** Parses a FieldsV1 key; undefined for element types this version does not know (skipped). */
export function deserializePE(s: string): PathElement | undefined {
  if (s.length < 2) throw new Error('key must be 2 characters long:');
  if (s[1] !== ':') throw new Error(`missing colon: ${s}`);
  const body = s.slice(2);
  switch (s[0]) {
    case 'f':
      return { field: body };
    case 'v':
      return { value: JSON.parse(body) as JsonValue };
    case 'k': {
      const o = JSON.parse(body) as unknown;
      if (!isObject(o)) throw new Error(`expected an object in ${s}`);
      return { key: Object.entries(o).sort((a, b) => compareStrings(a[0], b[0])) };
    }
    case 'i': {
      if (!/^[+-]?\d+$/.test(body)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(body)}: invalid syntax`);
      return { index: Number(body) };
    }
    default:
      return undefined;
  }
}

function kindRank(pe: PathElement): number {
  return 'field' in pe ? 0 : 'key' in pe ? 1 : 'value' in pe ? 2 : 3;
}

/** upstream's PathElement.Compare. */
export function comparePE(a: PathElement, b: PathElement): number {
  const ra = kindRank(a);
  const rb = kindRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if ('field' in a) return compareStrings(a.field, (b as { field: string }).field);
  if ('key' in a) {
    const bk = (b as { key: [string, JsonValue][] }).key;
    for (let i = 0; ; i++) {
      if (i >= a.key.length && i >= bk.length) return 0;
      if (i >= a.key.length) return -1;
      if (i >= bk.length) return 1;
      const c = compareStrings(a.key[i][0], bk[i][0]) || compareValues(a.key[i][1], bk[i][1]);
      if (c !== 0) return c;
    }
  }
  if ('value' in a) return compareValues(a.value, (b as { value: JsonValue }).value);
  const bi = (b as { index: number }).index;
  return a.index === bi ? 0 : a.index < bi ? -1 : 1;
}

function valueRank(v: JsonValue): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (v !== null) return 4;
  return 5;
}

/** upstream's value.Compare: numbers < strings < booleans < lists < maps < null. */
export function compareValues(a: JsonValue, b: JsonValue): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
    case 1:
      return compareStrings(a as string, b as string);
    case 2:
      return a === b ? 0 : a ? 1 : -1;
    case 3: {
      const al = a as JsonValue[];
      const bl = b as JsonValue[];
      for (let i = 0; ; i++) {
        if (i >= al.length && i >= bl.length) return 0;
        if (i >= al.length) return -1;
        if (i >= bl.length) return 1;
        const c = compareValues(al[i], bl[i]);
        if (c !== 0) return c;
      }
    }
    case 4: {
      const ao = a as JsonObject;
      const bo = b as JsonObject;
      const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort(compareStrings);
      for (const k of keys) {
        if (!(k in ao)) return 1;
        if (!(k in bo)) return -1;
        const c = compareValues(ao[k], bo[k]);
        if (c !== 0) return c;
      }
      return 0;
    }
    default:
      return 0;
  }
}

function valueString(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[' + v.map(valueString).join(',') + ']';
  return Object.keys(v)
    .map((k) => `${k}=${valueString(v[k])}`)
    .join('');
}

/** upstream's PathElement.String: `.name`, `[k=v,…]`, `[=v]`, `[i]`. */
export function peString(pe: PathElement): string {
  if ('field' in pe) return '.' + pe.field;
  if ('key' in pe) return '[' + pe.key.map(([n, v]) => `${n}=${valueString(v)}`).join(',') + ']';
  if ('value' in pe) return `[=${valueString(pe.value)}]`;
  return `[${pe.index}]`;
}

export function pathString(p: Path): string {
  return p.map(peString).join('');
}

/** Builds a path of field names, e.g. fieldPath('spec', 'replicas'). */
export function fieldPath(...names: string[]): Path {
  return names.map((field) => ({ field }));
}

// Quoted set keys, memoized: the same few hundred keys recur on every write of a kind.
const quotedKeys = new Map<string, string>();

function jsonKey(id: string): string {
  let q = quotedKeys.get(id);
  if (q === undefined) {
    q = JSON.stringify(id);
    if (quotedKeys.size >= 50_000) quotedKeys.clear();
    quotedKeys.set(id, q);
  }
  return q;
}

function compareItems(a: { pe: PathElement }, b: { pe: PathElement }): number {
  const x = a.pe;
  const y = b.pe;
  if ('field' in x && 'field' in y) return compareStrings(x.field, y.field);
  return comparePE(x, y);
}

interface Child {
  pe: PathElement;
  set: FieldSet;
}

/**
 * A set of paths stored as a tree: `members` are paths ending at this level, `children` the
 * subtrees below an element. A child set is never empty. Operations return new sets.
 */
export class FieldSet {
  readonly members = new Map<string, PathElement>();
  readonly children = new Map<string, Child>();

  static of(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Adds a path (mutates; only used while building a set). */
  insert(p: Path): void {
    if (p.length === 0) return;
    let cur: FieldSet = this;
    for (let i = 0; i < p.length - 1; i++) {
      const id = serializePE(p[i]);
      let c = cur.children.get(id);
      if (!c) {
        c = { pe: p[i], set: new FieldSet() };
        cur.children.set(id, c);
      }
      cur = c.set;
    }
    const last = p[p.length - 1];
    cur.members.set(serializePE(last), last);
  }

  has(p: Path): boolean {
    if (p.length === 0) return false;
    let cur: FieldSet = this;
    for (let i = 0; i < p.length - 1; i++) {
      const c = cur.children.get(serializePE(p[i]));
      if (!c) return false;
      cur = c.set;
    }
    return cur.members.has(serializePE(p[p.length - 1]));
  }

  empty(): boolean {
    return this.members.size === 0 && this.children.size === 0;
  }

  /** The subtree below one element (empty when there is none). */
  withPrefix(pe: PathElement): FieldSet {
    return this.children.get(serializePE(pe))?.set ?? new FieldSet();
  }

  copy(): FieldSet {
    const s = new FieldSet();
    for (const [id, pe] of this.members) s.members.set(id, pe);
    for (const [id, c] of this.children) s.children.set(id, { pe: c.pe, set: c.set.copy() });
    return s;
  }

  union(o: FieldSet): FieldSet {
    const s = this.copy();
    for (const [id, pe] of o.members) s.members.set(id, pe);
    for (const [id, c] of o.children) {
      const mine = s.children.get(id);
      s.children.set(id, { pe: c.pe, set: mine ? mine.set.union(c.set) : c.set.copy() });
    }
    return s;
  }

  intersection(o: FieldSet): FieldSet {
    const s = new FieldSet();
    for (const [id, pe] of this.members) if (o.members.has(id)) s.members.set(id, pe);
    for (const [id, c] of this.children) {
      const theirs = o.children.get(id);
      if (!theirs) continue;
      const i = c.set.intersection(theirs.set);
      if (!i.empty()) s.children.set(id, { pe: c.pe, set: i });
    }
    return s;
  }

  /** Paths of this set not in `o`; members of `o` do not remove this set's deeper paths. */
  difference(o: FieldSet): FieldSet {
    const s = new FieldSet();
    for (const [id, pe] of this.members) if (!o.members.has(id)) s.members.set(id, pe);
    for (const [id, c] of this.children) {
      const theirs = o.children.get(id);
      if (!theirs) {
        s.children.set(id, { pe: c.pe, set: c.set.copy() });
        continue;
      }
      const d = c.set.difference(theirs.set);
      if (!d.empty()) s.children.set(id, { pe: c.pe, set: d });
    }
    return s;
  }

  /** Like difference, but a member of `o` also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    const s = new FieldSet();
    for (const [id, pe] of this.members) if (!o.members.has(id)) s.members.set(id, pe);
    for (const [id, c] of this.children) {
      if (o.members.has(id)) continue;
      const theirs = o.children.get(id);
      if (!theirs) {
        s.children.set(id, { pe: c.pe, set: c.set.copy() });
        continue;
      }
      const d = c.set.recursiveDifference(theirs.set);
      if (!d.empty()) s.children.set(id, { pe: c.pe, set: d });
    }
    return s;
  }

  equals(o: FieldSet): boolean {
    if (this.members.size !== o.members.size || this.children.size !== o.children.size) return false;
    for (const id of this.members.keys()) if (!o.members.has(id)) return false;
    for (const [id, c] of this.children) {
      const theirs = o.children.get(id);
      if (!theirs || !c.set.equals(theirs.set)) return false;
    }
    return true;
  }

  sortedMembers(): PathElement[] {
    return [...this.members.values()].sort(comparePE);
  }

  sortedChildren(): Child[] {
    return [...this.children.values()].sort((a, b) => comparePE(a.pe, b.pe));
  }

  /** Visits every path in upstream's order: a level's members, then each child subtree. */
  iterate(f: (p: Path) => void, prefix: Path = []): void {
    for (const pe of this.sortedMembers()) f([...prefix, pe]);
    for (const c of this.sortedChildren()) c.set.iterate(f, [...prefix, c.pe]);
  }

  paths(): Path[] {
    const out: Path[] = [];
    this.iterate((p) => out.push(p));
    return out;
  }

  /** The FieldsV1 encoding (see the file comment). */
  toFieldsV1(): JsonObject {
    // Written as JSON text and parsed once: V8 builds the objects of a parse far faster than
    // objects grown key by key with keys it has not seen before. The keys never look like array
    // indices (they start with "f:", "k:", "v:", "i:" or are "."), so the order is the text's.
    return JSON.parse(this.toFieldsV1JSON()) as JsonObject;
  }

  /** The FieldsV1 encoding as compact JSON text. */
  toFieldsV1JSON(): string {
    return this.#emit(false);
  }

  #emit(includeSelf: boolean): string {
    // One sorted run over members and children together; an element that is both a member and
    // has children is written once, with "." first in its object.
    const items: { id: string; pe: PathElement; set: FieldSet | undefined; member: boolean }[] = [];
    for (const [id, pe] of this.members) items.push({ id, pe, set: this.children.get(id)?.set, member: true });
    for (const [id, c] of this.children) if (!this.members.has(id)) items.push({ id, pe: c.pe, set: c.set, member: false });
    items.sort(compareItems);
    let out = includeSelf && items.length > 0 ? '{".":{}' : '{';
    let first = out.length === 1;
    for (const it of items) {
      if (!first) out += ',';
      first = false;
      out += jsonKey(it.id) + ':' + (it.set ? it.set.#emit(it.member) : '{}');
    }
    return out + '}';
  }

  /** Decodes FieldsV1; throws on malformed input. Unknown element types are dropped. */
  static fromFieldsV1(v: unknown): FieldSet {
    if (!isObject(v)) throw new Error('expected an object');
    return readLevel(v).children ?? new FieldSet();
  }
}

function readLevel(o: JsonObject): { children?: FieldSet; isMember: boolean } {
  let children: FieldSet | undefined;
  let isMember = false;
  for (const [k, v] of Object.entries(o)) {
    if (k === '.') {
      isMember = true;
      continue;
    }
    const pe = deserializePE(k);
    if (pe === undefined) continue;
    if (!isObject(v)) throw new Error(`expected an object for ${k}`);
    const sub = readLevel(v);
    const id = serializePE(pe);
    if (sub.isMember) {
      children ??= new FieldSet();
      children.members.set(id, pe);
    }
    if (sub.children) {
      children ??= new FieldSet();
      const prev = children.children.get(id);
      children.children.set(id, { pe, set: prev ? prev.set.union(sub.children) : sub.children });
    }
  }
  if (children === undefined) isMember = true;
  return { children, isMember };
}

// Field validation (`?fieldValidation=Strict|Warn|Ignore`) as upstream's decoders do it: unknown
// and duplicate fields of a request body, worded and ordered as upstream reports them, and the
// pruning of unknown fields that upstream's typed decoding does silently in every mode.
//
// Where upstream's problems come from, and so what each function mirrors:
// - JSON bodies: sigs.k8s.io/json's strict unmarshal into the Go type. Problems come in document
//   order, each path once, at most 100: `unknown field "spec.foo"`, `duplicate field "spec.replicas"`,
//   paths like `spec.template.spec.containers[0].foo`. A duplicate is reported for known fields
//   and map keys (never for unknown keys, which are only unknown); nothing inside an unknown field
//   or inside raw values (RawExtension, FieldsV1) is looked at.
// - YAML bodies: first the YAML decoder's duplicate keys, as one problem
//   `yaml: unmarshal errors:\n  line 5: key "replicas" already set in map` (line of the duplicate's
//   value), then the unknown fields of the JSON the YAML converts to, whose keys are sorted.
// - Decoded objects (protobuf bodies have none; patch results): upstream's unstructured converter,
//   which reports unknown fields only, sorted by message.
// Type mismatches (a string where an object is due, …) are not field-validation problems and are
// not reported here; the values concerned are not looked into.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { badRequest, field, invalid, type FieldError, type StatusError } from '../errors.ts';
import {
  definitions,
  fieldSchema,
  hasField,
  listItemSchema,
  mapValueSchema,
  resolveRef,
  schemaForGVK,
  shapeOf,
  type GroupVersionKind,
  type SchemaNode,
} from './index.ts';
import { takeNoUnknownFieldsProof } from './decode.ts';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** The schema to validate against: a kind of the table, or a schema (e.g. a CRD's). */
export type SchemaRoot = GroupVersionKind | SchemaNode;

const MAX_ERRORS = 100;

function rootOf(r: SchemaRoot): SchemaNode | undefined {
  if (typeof (r as GroupVersionKind).kind === 'string' && typeof (r as GroupVersionKind).version === 'string') {
    const g = r as GroupVersionKind;
    return schemaForGVK(g.group, g.version, g.kind);
  }
  definitions(); // a caller-supplied schema may refer into the table
  return r as SchemaNode;
}

/** Go's strconv.Quote, for the strings upstream quotes in these messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if ((c >= 0x80 && c < 0xa0) || (c >= 0xd800 && c < 0xe000)) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

class Problems {
  readonly list: string[] = [];
  private readonly seen = new Set<string>();
  add(kind: 'unknown field' | 'duplicate field', path: string): void {
    const m = `${kind} ${goQuote(path)}`;
    if (this.seen.has(m) || this.list.length >= MAX_ERRORS) return;
    this.seen.add(m);
    this.list.push(m);
  }
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

// ---------------------------------------------------------------------------------------------
// JSON text

/** A JSON value with object members kept in order, duplicates included. */
type JNode = { t: 'obj'; members: [string, JNode][] } | { t: 'arr'; items: JNode[] } | { t: 'val' };

class JSONSyntaxError extends Error {}

function parseJSONTree(text: string): JNode {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): string => {
    if (text[i] !== '"') throw new JSONSyntaxError();
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) throw new JSONSyntaxError();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): JNode => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const members: [string, JNode][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { t: 'obj', members };
      }
      for (;;) {
        ws();
        const k = str();
        ws();
        if (text[i] !== ':') throw new JSONSyntaxError();
        i++;
        members.push([k, value()]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { t: 'obj', members };
        }
        throw new JSONSyntaxError();
      }
    }
    if (c === '[') {
      i++;
      const items: JNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { t: 'arr', items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { t: 'arr', items };
        }
        throw new JSONSyntaxError();
      }
    }
    if (c === '"') {
      str();
      return { t: 'val' };
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) throw new JSONSyntaxError();
    i += m[0].length;
    return { t: 'val' };
  };
  const v = value();
  ws();
  if (i !== text.length) throw new JSONSyntaxError();
  return v;
}

function walkJSON(n: JNode, s: SchemaNode | undefined, path: string, out: Problems): void {
  if (s === undefined) return walkUntypedJSON(n, path, out);
  switch (shapeOf(s)) {
    case 'struct': {
      if (n.t !== 'obj') return;
      const r = resolveRef(s);
      const known = new Set<string>();
      const loose = new Set<string>();
      for (const [k, v] of n.members) {
        if (hasField(r, k)) {
          if (known.has(k)) out.add('duplicate field', join(path, k));
          known.add(k);
          walkJSON(v, fieldSchema(r, k), join(path, k), out);
        } else if (r['x-kubernetes-preserve-unknown-fields']) {
          if (loose.has(k)) out.add('duplicate field', join(path, k));
          loose.add(k);
          walkUntypedJSON(v, join(path, k), out);
        } else {
          out.add('unknown field', join(path, k));
        }
      }
      return;
    }
    case 'map': {
      if (n.t !== 'obj') return;
      const vs = mapValueSchema(s);
      const keys = new Set<string>();
      for (const [k, v] of n.members) {
        if (keys.has(k)) out.add('duplicate field', join(path, k));
        keys.add(k);
        walkJSON(v, vs, join(path, k), out);
      }
      return;
    }
    case 'list': {
      if (n.t !== 'arr') return;
      const is = listItemSchema(s);
      n.items.forEach((v, i) => walkJSON(v, is, `${path}[${i}]`, out));
      return;
    }
    case 'untyped':
      return walkUntypedJSON(n, path, out);
    default:
      return;
  }
}

function walkUntypedJSON(n: JNode, path: string, out: Problems): void {
  if (n.t === 'obj') {
    const keys = new Set<string>();
    for (const [k, v] of n.members) {
      if (keys.has(k)) out.add('duplicate field', join(path, k));
      keys.add(k);
      walkUntypedJSON(v, join(path, k), out);
    }
  } else if (n.t === 'arr') {
    n.items.forEach((v, i) => walkUntypedJSON(v, `${path}[${i}]`, out));
  }
}

/**
 * Unknown and duplicate fields of a JSON body, as upstream's strict JSON decoding reports them.
 * Empty for kinds the table does not know and for text that is not JSON (whose decoding fails
 * with its own error).
 */
export function jsonStrictErrors(root: SchemaRoot, text: string): string[] {
  const s = rootOf(root);
  if (!s) return [];
  let tree: JNode;
  try {
    tree = parseJSONTree(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    if (e instanceof JSONSyntaxError || e instanceof SyntaxError) return [];
    throw e;
  }
  const out = new Problems();
  walkJSON(tree, s, '', out);
  return out.list;
}

/**
 * True when no object of a JSON text repeats a key, as far as a scan of the text can tell: keys
 * are compared as written, so a key written with an escape answers false (it might equal another
 * once unescaped). For a text JSON.parse accepts (outside strings there are no quotes, so the
 * scan stays in step with the strings); other text may answer either way.
 */
export function jsonKeysUnique(text: string): boolean {
  // The keys of each open object; null for arrays. Small objects keep an array, big ones a Set.
  const stack: (string[] | Set<string> | null)[] = [];
  let cur: string[] | Set<string> | null = null;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = ++i;
      let escaped = false;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) {
          escaped = true;
          i += 2;
        } else if (d === 0x22) break;
        else i++;
      }
      const end = i++;
      let j = i;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d !== 0x20 && d !== 0x0a && d !== 0x0d && d !== 0x09) break;
        j++;
      }
      if (text.charCodeAt(j) !== 0x3a) continue; // a value, not a key
      if (escaped || cur === null) return false;
      const k = text.slice(start, end);
      if (Array.isArray(cur)) {
        if (cur.includes(k)) return false;
        cur.push(k);
        if (cur.length > 16) cur = new Set(cur);
      } else {
        if (cur.has(k)) return false;
        cur.add(k);
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b) {
      stack.push(cur);
      cur = [];
    } else if (c === 0x5b) {
      stack.push(cur);
      cur = null;
    } else if (c === 0x7d || c === 0x5d) {
      cur = stack.pop() ?? null;
    }
    i++;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// YAML text

const YAML_ERRORS_PREFIX = 'yaml: unmarshal errors:\n';

/** Go's %#v of a YAML key as the YAML decoder holds it. */
function goKey(v: unknown): string {
  if (typeof v === 'string') return goQuote(v);
  if (v === null || v === undefined) return '<nil>';
  return String(v);
}

function yamlDuplicates(doc: Document, lc: LineCounter): string[] {
  const out: string[] = [];
  const lineOf = (offset: number) => lc.linePos(offset).line;
  const visit = (node: unknown, depth: number): void => {
    if (depth > 512) return;
    if (isAlias(node)) return visit(node.resolve(doc), depth + 1);
    if (isSeq(node)) {
      for (const it of node.items) visit(it, depth + 1);
      return;
    }
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      // the value is decoded first, then the key is checked (so nested problems come first)
      visit(pair.value, depth + 1);
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (key === '<<') continue; // merge keys are not map entries
      const id = `${typeof key}:${String(key)}`;
      if (seen.has(id)) {
        const v = pair.value as { range?: [number, number, number]; source?: unknown } | null;
        const k = pair.key as { range?: [number, number, number] } | null;
        const empty = !v || !v.range || (isScalar(v) && v.source === '' && v.range[0] === v.range[1]);
        const at = empty ? (k?.range?.[1] ?? 0) : v!.range![0];
        out.push(`line ${lineOf(at)}: key ${goKey(key)} already set in map`);
      }
      seen.add(id);
    }
  };
  visit(doc.contents, 0);
  return out;
}

function walkSorted(v: unknown, s: SchemaNode | undefined, path: string, out: Problems): void {
  if (s === undefined) return;
  switch (shapeOf(s)) {
    case 'struct': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return;
      const r = resolveRef(s);
      for (const k of Object.keys(v).sort()) {
        if (hasField(r, k)) walkSorted((v as Record<string, unknown>)[k], fieldSchema(r, k), join(path, k), out);
        else if (!r['x-kubernetes-preserve-unknown-fields']) out.add('unknown field', join(path, k));
      }
      return;
    }
    case 'map': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return;
      const vs = mapValueSchema(s);
      for (const k of Object.keys(v).sort()) walkSorted((v as Record<string, unknown>)[k], vs, join(path, k), out);
      return;
    }
    case 'list': {
      if (!Array.isArray(v)) return;
      const is = listItemSchema(s);
      v.forEach((x, i) => walkSorted(x, is, `${path}[${i}]`, out));
      return;
    }
    default:
      return;
  }
}

/**
 * Unknown and duplicate fields of a YAML body (the first document), as upstream's strict YAML
 * decoding reports them. Empty for unknown kinds and for text that does not parse.
 */
export function yamlStrictErrors(root: SchemaRoot, text: string): string[] {
  const s = rootOf(root);
  if (!s) return [];
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { uniqueKeys: false, version: '1.1', lineCounter: lc });
  if (!Array.isArray(docs) || docs.length === 0 || docs[0].errors.length) return [];
  const doc = docs[0];
  const errors: string[] = [];
  const dups = yamlDuplicates(doc, lc);
  if (dups.length) errors.push(YAML_ERRORS_PREFIX + dups.map((d) => `  ${d}`).join('\n'));
  const out = new Problems();
  walkSorted(doc.toJS({ maxAliasCount: 1000 }), s, '', out);
  return [...errors, ...out.list];
}

// ---------------------------------------------------------------------------------------------
// Decoded objects

function walkObject(v: unknown, s: SchemaNode | undefined, path: string, out: string[]): void {
  if (s === undefined || v === null || typeof v !== 'object') return;
  switch (shapeOf(s)) {
    case 'struct': {
      if (Array.isArray(v)) return;
      const r = resolveRef(s);
      for (const [k, x] of Object.entries(v)) {
        if (hasField(r, k)) walkObject(x, fieldSchema(r, k), join(path, k), out);
        else if (!r['x-kubernetes-preserve-unknown-fields']) out.push(`unknown field ${goQuote(join(path, k))}`);
      }
      return;
    }
    case 'map': {
      if (Array.isArray(v)) return;
      const vs = mapValueSchema(s);
      for (const [k, x] of Object.entries(v)) walkObject(x, vs, join(path, k), out);
      return;
    }
    case 'list': {
      if (!Array.isArray(v)) return;
      const is = listItemSchema(s);
      v.forEach((x, i) => walkObject(x, is, `${path}[${i}]`, out));
      return;
    }
    default:
      return;
  }
}

/**
 * Unknown fields of an already decoded object (a patch result, a protobuf-decoded object), as
 * upstream's unstructured converter reports them: sorted by message.
 */
export function objectStrictErrors(root: SchemaRoot, obj: unknown): string[] {
  const s = rootOf(root);
  if (!s) return [];
  const out: string[] = [];
  walkObject(obj, s, '', out);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The object without its unknown fields, which is what upstream's typed decoding keeps in every
 * mode (Ignore and Warn silently, Strict after having refused any). Returns a new object where
 * something was dropped and shares the untouched parts; unknown kinds come back unchanged.
 */
export function pruneUnknownFields<T>(root: SchemaRoot, obj: T): T {
  const s = rootOf(root);
  return s ? (prune(obj, s) as T) : obj;
}

function prune(v: unknown, s: SchemaNode | undefined): unknown {
  if (s === undefined || v === null || typeof v !== 'object') return v;
  switch (shapeOf(s)) {
    case 'struct': {
      if (Array.isArray(v)) return v;
      const r = resolveRef(s);
      let changed = false;
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (hasField(r, k)) {
          const y = prune(x, fieldSchema(r, k));
          if (y !== x) changed = true;
          o[k] = y;
        } else if (r['x-kubernetes-preserve-unknown-fields']) {
          o[k] = x;
        } else {
          changed = true;
        }
      }
      return changed ? o : v;
    }
    case 'map': {
      if (Array.isArray(v)) return v;
      const vs = mapValueSchema(s);
      let changed = false;
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const y = prune(x, vs);
        if (y !== x) changed = true;
        o[k] = y;
      }
      return changed ? o : v;
    }
    case 'list': {
      if (!Array.isArray(v)) return v;
      const is = listItemSchema(s);
      let changed = false;
      const a = v.map((x) => {
        const y = prune(x, is);
        if (y !== x) changed = true;
        return y;
      });
      return changed ? a : v;
    }
    default:
      return v;
  }
}

/** pruneUnknownFields, but deleting from the given object itself (for callers that own it). */
export function pruneUnknownFieldsInPlace(root: SchemaRoot, obj: unknown): void {
  const s = rootOf(root);
  if (s) pruneInPlace(obj, s);
}

function pruneInPlace(v: unknown, s: SchemaNode | undefined): void {
  if (s === undefined || v === null || typeof v !== 'object') return;
  switch (shapeOf(s)) {
    case 'struct': {
      if (Array.isArray(v)) return;
      const r = resolveRef(s);
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (hasField(r, k)) pruneInPlace(o[k], fieldSchema(r, k));
        else if (!r['x-kubernetes-preserve-unknown-fields']) delete o[k];
      }
      return;
    }
    case 'map': {
      if (Array.isArray(v)) return;
      const vs = mapValueSchema(s);
      for (const x of Object.values(v)) pruneInPlace(x, vs);
      return;
    }
    case 'list': {
      if (!Array.isArray(v)) return;
      const is = listItemSchema(s);
      for (const x of v) pruneInPlace(x, is);
      return;
    }
    default:
      return;
  }
}

/**
 * What a create or update needs in one call: the strict-decoding problems of the body (from its
 * text when given, which is the only way to see duplicates; else from the decoded object) and the
 * decoded object with its unknown fields deleted in place. `body.mediaType` selects JSON or YAML
 * rules; without it, a text starting with "{" is taken for JSON.
 */
export function fieldProblems(root: SchemaRoot, obj: Record<string, unknown>, body?: { text: string; mediaType?: string }): string[] {
  // decodeTypeError's walk of this object may already have proved it has no unknown fields: then
  // nothing is left to prune, a decoded object has no problems, and a JSON text has none unless
  // it repeats a key (which the decoded object cannot show).
  const s = rootOf(root);
  if (s !== undefined && takeNoUnknownFieldsProof(obj, s)) {
    if (body === undefined) return [];
    const mt = (body.mediaType ?? (/^\s*\{/.test(body.text) ? 'application/json' : 'application/yaml')).split(';')[0]!.trim().toLowerCase();
    if ((mt === 'application/json' || mt === '') && jsonKeysUnique(body.text)) return [];
  }
  let problems: string[];
  if (body === undefined) problems = objectStrictErrors(root, obj);
  else {
    const mt = body.mediaType ?? (/^\s*\{/.test(body.text) ? 'application/json' : 'application/yaml');
    problems = bodyStrictErrors(root, body.text, mt);
  }
  pruneUnknownFieldsInPlace(root, obj);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Directives, messages and warnings

const DIRECTIVES = ['', 'Ignore', 'Strict', 'Warn'];

/** Problems with the fieldValidation query parameter (upstream's ValidateFieldValidation). */
export function validateFieldValidation(value: string | null | undefined): FieldError[] {
  const v = value ?? '';
  return DIRECTIVES.includes(v) ? [] : [field.notSupported('fieldValidation', v, DIRECTIVES)];
}

/** The directive in effect: Warn when unset, as upstream (1.27+) defaults. Assumes a valid value. */
export function fieldValidationDirective(value: string | null | undefined): FieldValidation {
  return value === 'Ignore' || value === 'Strict' ? value : 'Warn';
}

/** upstream's StrictDecodingError text: "strict decoding error: <problem>, <problem>". */
export function strictDecodingError(problems: readonly string[]): string {
  return `strict decoding error: ${problems.join(', ')}`;
}

/**
 * The 400 a create or update answers under Strict (upstream's transformDecodeError):
 * `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: …`.
 * `decoded` is the kind and version the body decoded as, `into` the kind of the endpoint.
 */
export function strictBadRequest(decoded: { kind: string; version: string }, into: string, problems: readonly string[]): StatusError {
  return badRequest(`${decoded.kind} in version ${goQuote(decoded.version)} cannot be handled as a ${into}: ${strictDecodingError(problems)}`);
}

/**
 * The 422 a non-apply patch answers under Strict (upstream's patch handler):
 * ` "" is invalid: patch: Invalid value: "<patched object JSON>": strict decoding error: …`.
 */
export function strictPatchInvalid(patchedJSON: string, problems: readonly string[]): StatusError {
  return invalid({ group: '', kind: '' }, '', [field.invalid('patch', patchedJSON, strictDecodingError(problems))]);
}

/**
 * The Warning headers' texts for Warn: one per problem, the YAML decoder's combined problem split
 * into its lines (upstream's parseYAMLWarnings).
 */
export function strictWarnings(problems: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of problems) {
    const rest = p.startsWith(YAML_ERRORS_PREFIX)
      ? p.slice(YAML_ERRORS_PREFIX.length)
      : p.startsWith('error converting YAML to JSON: ' + YAML_ERRORS_PREFIX)
        ? p.slice(('error converting YAML to JSON: ' + YAML_ERRORS_PREFIX).length)
        : undefined;
    if (rest === undefined) out.push(p);
    else for (const line of rest.split('\n')) out.push(line.trim());
  }
  return out;
}

/**
 * The strict-decoding problems of a create or update body in the given media type: JSON and YAML
 * bodies are checked from their text; other bodies (protobuf) have none, as upstream. Patches
 * are checked differently upstream (see jsonDuplicateErrors, yamlDuplicateProblem and
 * objectStrictErrors).
 */
export function bodyStrictErrors(root: SchemaRoot, body: string | Buffer, mediaType: string): string[] {
  const mt = mediaType.split(';')[0].trim().toLowerCase();
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (mt === 'application/json' || mt === '') return jsonStrictErrors(root, text);
  if (mt === 'application/yaml') return yamlStrictErrors(root, text);
  return [];
}

/**
 * Duplicate keys anywhere in a JSON text, as upstream's strict decoding into an untyped map
 * reports them (merge and strategic merge patches): `duplicate field "spec.replicas"`, document
 * order. Empty for text that is not JSON.
 */
export function jsonDuplicateErrors(text: string): string[] {
  let tree: JNode;
  try {
    tree = parseJSONTree(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    if (e instanceof JSONSyntaxError || e instanceof SyntaxError) return [];
    throw e;
  }
  const out = new Problems();
  walkUntypedJSON(tree, '', out);
  return out.list;
}

/**
 * The YAML decoder's duplicate-key problem for a YAML (or JSON) text, or undefined:
 * `yaml: unmarshal errors:\n  line 3: key "a" already set in map`. Server-side apply reports it
 * through sigs.k8s.io/yaml.UnmarshalStrict, which prefixes "error converting YAML to JSON: ".
 */
export function yamlDuplicateProblem(text: string): string | undefined {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { uniqueKeys: false, version: '1.1', lineCounter: lc });
  if (!Array.isArray(docs) || docs.length === 0 || docs[0].errors.length) return undefined;
  const dups = yamlDuplicates(docs[0], lc);
  return dups.length ? YAML_ERRORS_PREFIX + dups.map((d) => `  ${d}`).join('\n') : undefined;
}

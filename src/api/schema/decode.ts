// Type checking of decoded request bodies against the schema, the way upstream's typed decoding
// fails: a value of the wrong JSON type for a field is a decode error (400), worded as Go's
// encoding/json reports it (`json: cannot unmarshal string into Go struct field
// DeploymentSpec.spec.replicas of type int32`); malformed quantities, times and base64 bytes fail
// with the messages of their own decoders.
import { QUANTITY, INT_OR_STRING, TIME, MICRO_TIME, RAW_EXTENSION, FIELDS_V1, namedType, resolveRef, schemaForGVK, shapeOf, type SchemaNode } from './index.ts';

const QUANTITY_RE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
export const QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

const goTypes = new WeakMap<SchemaNode, string>();
const structNames = new WeakMap<SchemaNode, string>();

/** Go's reflect type name for a schema node: int32, string, v1.PodSpec, []v1.Container, map[string]string. */
function goType(node: SchemaNode): string {
  let t = goTypes.get(node);
  if (t === undefined) goTypes.set(node, (t = computeGoType(node)));
  return t;
}

function computeGoType(node: SchemaNode): string {
  const named = namedType(node);
  const n = resolveRef(node);
  if (named) {
    const parts = named.split('.');
    const name = parts[parts.length - 1]!;
    const pkg = parts[parts.length - 2]!;
    return `${pkg}.${name}`;
  }
  switch (n.type) {
    case 'integer':
      return n.format === 'int64' ? 'int64' : 'int32';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'string':
      return n.format === 'byte' ? '[]uint8' : 'string';
    case 'array':
      return `[]${n.items ? goType(n.items as SchemaNode) : 'interface {}'}`;
    case 'object':
      if (n.additionalProperties && typeof n.additionalProperties === 'object') return `map[string]${goType(n.additionalProperties as SchemaNode)}`;
      return 'map[string]interface {}';
    default:
      return 'interface {}';
  }
}

function structName(node: SchemaNode | undefined): string {
  if (!node) return '';
  let n = structNames.get(node);
  if (n === undefined) structNames.set(node, (n = computeStructName(node)));
  return n;
}

function computeStructName(node: SchemaNode | undefined): string {
  const named = node ? namedType(node) : undefined;
  if (!named) return '';
  const parts = named.split('.');
  return parts[parts.length - 1]!;
}

/** Where a check is: the keys from the root, as a chain built only when an error names it. */
interface Walk {
  up: Walk | undefined;
  key: string;
  struct: string;
}

function pathOf(w: Walk): string[] {
  const p: string[] = [];
  for (let x: Walk | undefined = w; x?.up !== undefined; x = x.up) p.push(x.key);
  return p.reverse();
}

/**
 * What a check learns on the side: `unsure` once it meets a key the struct does not declare, or a
 * value it does not look into where field validation and pruning would (preserve-unknown-fields,
 * too deep). A check that ends with an error or `unsure` proves nothing.
 */
interface Seen {
  unsure: boolean;
}

/** Go's error context: a struct field once the walk is inside one, else the value itself. */
function into(w: Walk): string {
  return w.up !== undefined ? ` into Go struct field ${w.struct}.${pathOf(w).join('.')}` : ' into Go value';
}

function typeError(value: unknown, node: SchemaNode, w: Walk): string {
  const where = into(w);
  return `json: cannot unmarshal ${jsonKind(value)}${where} of type ${goType(node)}`;
}

function check(value: unknown, node: SchemaNode, w: Walk, depth: number, seen: Seen): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (depth > 200) {
    if (typeof value === 'object') seen.unsure = true;
    return undefined;
  }
  const named = namedType(node);
  if (named === QUANTITY) {
    if (typeof value === 'string') return QUANTITY_RE.test(value.trim()) ? undefined : QUANTITY_ERROR;
    if (typeof value === 'number') return undefined;
    return QUANTITY_ERROR;
  }
  if (named === INT_OR_STRING || resolveRef(node).format === 'int-or-string') {
    if (typeof value === 'string') return undefined;
    if (typeof value === 'number') return Number.isInteger(value) ? undefined : `json: cannot unmarshal number ${value} into Go value of type int32`;
    return `json: cannot unmarshal ${jsonKind(value)} into Go value of type int32`;
  }
  if (named === TIME || named === MICRO_TIME) {
    if (typeof value !== 'string') return `json: cannot unmarshal ${jsonKind(value)} into Go value of type string`;
    if (value !== '' && Number.isNaN(Date.parse(value))) return `parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(value)} as "2006"`;
    return undefined;
  }
  if (named === RAW_EXTENSION || named === FIELDS_V1) return undefined;
  const n = resolveRef(node);
  if (n['x-kubernetes-preserve-unknown-fields'] || n['x-kubernetes-int-or-string']) {
    if (typeof value === 'object') seen.unsure = true;
    return undefined;
  }
  switch (n.type) {
    case 'integer':
      if (typeof value !== 'number') return typeError(value, node, w);
      if (!Number.isInteger(value)) return `json: cannot unmarshal number ${value}${into(w)} of type ${goType(node)}`;
      if (n.format !== 'int64' && (value > 2147483647 || value < -2147483648)) {
        return `json: cannot unmarshal number ${value}${into(w)} of type int32`;
      }
      return undefined;
    case 'number':
      return typeof value === 'number' ? undefined : typeError(value, node, w);
    case 'boolean':
      return typeof value === 'boolean' ? undefined : typeError(value, node, w);
    case 'string':
      if (typeof value !== 'string') return typeError(value, node, w);
      if (n.format === 'byte' && !/^[A-Za-z0-9+/]*={0,2}$/.test(value.replace(/\s/g, ''))) {
        const i = [...value].findIndex((c) => !/[A-Za-z0-9+/=]/.test(c));
        return `illegal base64 data at input byte ${i < 0 ? value.length : i}`;
      }
      return undefined;
    case 'array': {
      if (!Array.isArray(value)) return typeError(value, node, w);
      const items = n.items as SchemaNode | undefined;
      if (!items) return undefined;
      for (const v of value) {
        const e = check(v, items, w, depth + 1, seen);
        if (e) return e;
      }
      return undefined;
    }
    default:
      break;
  }
  const shape = shapeOf(node);
  if (shape === 'struct' || shape === 'map') {
    if (typeof value !== 'object' || Array.isArray(value)) return typeError(value, node, w);
    if (shape === 'map') {
      const vs = n.additionalProperties as SchemaNode | undefined;
      if (!vs || typeof vs !== 'object') return undefined;
      // Go's decoder names struct fields only: a map's keys are not part of the path, and the
      // struct stays the one that holds the map.
      for (const v of Object.values(value as Record<string, unknown>)) {
        const e = check(v, vs, w, depth + 1, seen);
        if (e) return e;
      }
      return undefined;
    }
    // The struct Go names is the innermost one holding the field: this node's own type (kept by
    // reaching properties through their $ref), or the walk's root kind.
    const sname = structName(node) || w.struct;
    const props = n.properties;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      // Own properties only ("constructor" is no field of any kind).
      const ps = props !== undefined && Object.hasOwn(props, k) ? props[k] : undefined;
      if (!ps) {
        seen.unsure = true;
        continue; // unknown fields are strict validation's business
      }
      const e = check(v, ps, { up: w, key: k, struct: sname }, depth + 1, seen);
      if (e) return e;
    }
  }
  return undefined;
}

/**
 * The first decode error of a body for a kind, or undefined. The caller wraps it as upstream does:
 * `<Kind> in version "<v>" cannot be handled as a <Kind>: <error>`.
 */
export function decodeTypeError(group: string, version: string, kind: string, obj: unknown): string | undefined {
  const root = schemaForGVK(group, version, kind);
  if (!root) return undefined;
  const seen: Seen = { unsure: false };
  const e = check(obj, root, { up: undefined, key: '', struct: kind }, 0, seen);
  if (e === undefined && !seen.unsure && obj !== null && typeof obj === 'object') noUnknownFields.set(obj, root);
  return e;
}

/**
 * Objects a decodeTypeError call found free of unknown fields, with the schema it checked them
 * against: every key of every struct it reached is a declared property, and it reached every
 * value field validation and pruning look into. Valid only while the object is unchanged.
 */
const noUnknownFields = new WeakMap<object, SchemaNode>();

/**
 * Whether the last decodeTypeError of `obj` (without an error) proved it has no unknown fields
 * under `root`. The proof is taken: a second call answers false. Contract: the caller has not
 * changed the object since that decodeTypeError (the API server checks types, then strictness,
 * of the same decoded body).
 */
export function takeNoUnknownFieldsProof(obj: object, root: SchemaNode): boolean {
  const r = noUnknownFields.get(obj);
  if (r === undefined) return false;
  noUnknownFields.delete(obj);
  return r === root;
}

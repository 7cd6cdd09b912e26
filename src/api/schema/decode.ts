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

/**
 * What check needs of a schema node, worked out once per node (schema nodes are shared and never
 * change): a request body meets the same few hundred nodes thousands of times (a 1,000-address
 * Endpoints reaches Endpoints' address nodes 2,000 times).
 */
type Kind = 'quantity' | 'int-or-string' | 'time' | 'skip' | 'preserve' | 'integer' | 'number' | 'boolean' | 'string' | 'array' | 'struct' | 'map' | 'other';
interface NodeInfo {
  kind: Kind;
  int64: boolean;
  bytes: boolean;
  /** array: the items' node; map: the values' node (undefined: not checked). */
  inner: SchemaNode | undefined;
  props: Record<string, SchemaNode> | undefined;
  /** The Go struct this node's own type names ('' when it has no name of its own). */
  struct: string;
}

const infos = new WeakMap<SchemaNode, NodeInfo>();

function infoOf(node: SchemaNode): NodeInfo {
  let i = infos.get(node);
  if (i === undefined) infos.set(node, (i = computeInfo(node)));
  return i;
}

function computeInfo(node: SchemaNode): NodeInfo {
  const named = namedType(node);
  const n = resolveRef(node);
  const info: NodeInfo = { kind: 'other', int64: n.format === 'int64', bytes: n.format === 'byte', inner: undefined, props: undefined, struct: structName(node) };
  const kind = (k: Kind): NodeInfo => ((info.kind = k), info);
  if (named === QUANTITY) return kind('quantity');
  if (named === INT_OR_STRING || n.format === 'int-or-string') return kind('int-or-string');
  if (named === TIME || named === MICRO_TIME) return kind('time');
  if (named === RAW_EXTENSION || named === FIELDS_V1) return kind('skip');
  if (n['x-kubernetes-preserve-unknown-fields'] || n['x-kubernetes-int-or-string']) return kind('preserve');
  switch (n.type) {
    case 'integer':
    case 'number':
    case 'boolean':
    case 'string':
      return kind(n.type);
    case 'array':
      info.inner = n.items as SchemaNode | undefined;
      return kind('array');
    default:
      break;
  }
  const shape = shapeOf(node);
  if (shape === 'map') {
    const vs = n.additionalProperties;
    info.inner = vs && typeof vs === 'object' ? (vs as SchemaNode) : undefined;
    return kind('map');
  }
  if (shape === 'struct') {
    info.props = n.properties as Record<string, SchemaNode> | undefined;
    return kind('struct');
  }
  return info;
}

/**
 * The first type error under `value`, or undefined. The value sits at (up, key, struct): the
 * walk of the value holding it (undefined at the root), its key there and the struct Go would
 * name; a Walk for it is built only when an error names it or a struct below needs it.
 */
function check(value: unknown, node: SchemaNode, up: Walk | undefined, key: string, struct: string, depth: number, seen: Seen): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (depth > 200) {
    if (typeof value === 'object') seen.unsure = true;
    return undefined;
  }
  const i = infoOf(node);
  switch (i.kind) {
    case 'quantity':
      if (typeof value === 'string') return QUANTITY_RE.test(value.trim()) ? undefined : QUANTITY_ERROR;
      if (typeof value === 'number') return undefined;
      return QUANTITY_ERROR;
    case 'int-or-string':
      if (typeof value === 'string') return undefined;
      if (typeof value === 'number') return Number.isInteger(value) ? undefined : `json: cannot unmarshal number ${value} into Go value of type int32`;
      return `json: cannot unmarshal ${jsonKind(value)} into Go value of type int32`;
    case 'time':
      if (typeof value !== 'string') return `json: cannot unmarshal ${jsonKind(value)} into Go value of type string`;
      if (value !== '' && Number.isNaN(Date.parse(value))) return `parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(value)} as "2006"`;
      return undefined;
    case 'skip':
      return undefined;
    case 'preserve':
      if (typeof value === 'object') seen.unsure = true;
      return undefined;
    case 'integer':
      if (typeof value !== 'number') return typeError(value, node, { up, key, struct });
      if (!Number.isInteger(value)) return `json: cannot unmarshal number ${value}${into({ up, key, struct })} of type ${goType(node)}`;
      if (!i.int64 && (value > 2147483647 || value < -2147483648)) {
        return `json: cannot unmarshal number ${value}${into({ up, key, struct })} of type int32`;
      }
      return undefined;
    case 'number':
      return typeof value === 'number' ? undefined : typeError(value, node, { up, key, struct });
    case 'boolean':
      return typeof value === 'boolean' ? undefined : typeError(value, node, { up, key, struct });
    case 'string':
      if (typeof value !== 'string') return typeError(value, node, { up, key, struct });
      if (i.bytes && !/^[A-Za-z0-9+/]*={0,2}$/.test(value.replace(/\s/g, ''))) {
        const at = [...value].findIndex((c) => !/[A-Za-z0-9+/=]/.test(c));
        return `illegal base64 data at input byte ${at < 0 ? value.length : at}`;
      }
      return undefined;
    case 'array': {
      if (!Array.isArray(value)) return typeError(value, node, { up, key, struct });
      const items = i.inner;
      if (!items) return undefined;
      for (const v of value) {
        const e = check(v, items, up, key, struct, depth + 1, seen);
        if (e) return e;
      }
      return undefined;
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) return typeError(value, node, { up, key, struct });
      const vs = i.inner;
      if (!vs) return undefined;
      // Go's decoder names struct fields only: a map's keys are not part of the path, and the
      // struct stays the one that holds the map.
      for (const v of Object.values(value as Record<string, unknown>)) {
        const e = check(v, vs, up, key, struct, depth + 1, seen);
        if (e) return e;
      }
      return undefined;
    }
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) return typeError(value, node, { up, key, struct });
      // The struct Go names is the innermost one holding the field: this node's own type (kept by
      // reaching properties through their $ref), or the walk's root kind.
      const sname = i.struct || struct;
      const props = i.props;
      const here: Walk = { up, key, struct };
      for (const k in value as Record<string, unknown>) {
        if (!Object.hasOwn(value, k)) continue;
        // Own properties only ("constructor" is no field of any kind).
        const ps = props !== undefined && Object.hasOwn(props, k) ? props[k] : undefined;
        if (!ps) {
          seen.unsure = true;
          continue; // unknown fields are strict validation's business
        }
        const e = check((value as Record<string, unknown>)[k], ps, here, k, sname, depth + 1, seen);
        if (e) return e;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The first decode error of a body for a kind, or undefined. The caller wraps it as upstream does:
 * `<Kind> in version "<v>" cannot be handled as a <Kind>: <error>`.
 */
export function decodeTypeError(group: string, version: string, kind: string, obj: unknown): string | undefined {
  const root = schemaForGVK(group, version, kind);
  if (!root) return undefined;
  const seen: Seen = { unsure: false };
  const e = check(obj, root, undefined, '', kind, 0, seen);
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

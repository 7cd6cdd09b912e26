// The type model the patch code walks: upstream's structured-merge-diff schema (scalars, lists that
// are atomic or associative by keys, maps that are atomic or granular), built from OpenAPI
// definitions the way upstream's kube-openapi schemaconv builds it, plus the strategic-merge-patch
// metadata (x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key) carried per struct field.
//
// Built-in kinds come from rudder's schema table (src/api/schema). A kind with no schema gets the
// "deduced" type upstream uses for schemaless custom resources: every map granular, every list
// atomic, every scalar untyped.
import { definitions } from '../schema/index.ts';
import { type JsonObject, type JsonValue, isObject } from './json.ts';

export type ScalarKind = 'string' | 'numeric' | 'boolean' | 'untyped';

export interface TypeRef {
  /** A named definition (or one of the two untyped names below). */
  named?: string;
  inlined?: Atom;
  /** A field-level x-kubernetes-map-type that overrides the named type's. */
  relationship?: 'atomic' | 'separable';
}

export interface StructField {
  type: TypeRef;
  /** Used for list-map keys an item omits, as upstream does with OpenAPI defaults. */
  default?: JsonValue;
  patchStrategies: string[];
  patchMergeKey?: string;
}

export interface MapAtom {
  fields: Map<string, StructField>;
  /** Type of members that are not declared fields; absent for structs (unknown fields). */
  elementType?: TypeRef;
  relationship: 'atomic' | 'separable';
}

export interface ListAtom {
  elementType: TypeRef;
  relationship: 'atomic' | 'associative';
  keys: string[];
}

export interface Atom {
  scalar?: ScalarKind;
  list?: ListAtom;
  map?: MapAtom;
}

/** Resolves type references; one model per set of definitions. */
export interface TypeModel {
  resolve(ref: TypeRef): Atom | undefined;
  /** Go's zero value of a named struct as the JSON upstream's typed objects encode it. */
  zero(ref: TypeRef): JsonObject;
  /**
   * `v` as upstream's typed objects hold it: members a Go struct always encodes (struct values,
   * fields without omitempty) are added where missing, at every depth. Comparisons of stored
   * objects use this so that ownership matches upstream's for objects rudder stores sparser.
   */
  withZero(ref: TypeRef, v: JsonValue): JsonValue;
}

/** The type of a whole object: what every function in src/api/patch takes as its schema. */
export interface ObjectType {
  model: TypeModel;
  ref: TypeRef;
  /** True for the deduced type (no schema): strategic merge patch then acts as merge patch. */
  deduced: boolean;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export const UNTYPED_ATOMIC = '__untyped_atomic_';
export const UNTYPED_DEDUCED = '__untyped_deduced_';

const untypedAtomic: Atom = {
  scalar: 'untyped',
  list: { elementType: { named: UNTYPED_ATOMIC }, relationship: 'atomic', keys: [] },
  map: { fields: new Map(), elementType: { named: UNTYPED_ATOMIC }, relationship: 'atomic' },
};
const untypedDeduced: Atom = {
  scalar: 'untyped',
  list: { elementType: { named: UNTYPED_ATOMIC }, relationship: 'atomic', keys: [] },
  map: { fields: new Map(), elementType: { named: UNTYPED_DEDUCED }, relationship: 'separable' },
};

export const DEDUCED_REF: TypeRef = { named: UNTYPED_DEDUCED };

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const RAW_EXTENSION = 'io.k8s.apimachinery.pkg.runtime.RawExtension';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

// Defaults of list-map key fields ("+default" in upstream's Go types). The v2 OpenAPI rudder's
// definitions come from omits defaults, and upstream keys ports by protocol "TCP" when it is unset.
const KEY_DEFAULTS: Record<string, Record<string, JsonValue>> = {
  'io.k8s.api.core.v1.ContainerPort': { protocol: 'TCP' },
  'io.k8s.api.core.v1.ServicePort': { protocol: 'TCP' },
};

// Facts about the Go types' zero values (what upstream's typed "empty object" encodes to, which
// decides whether a created field's parent counts as added). Struct-typed fields named metadata,
// spec, status or template, and required struct fields, are values; these are the exceptions.
const POINTER_STRUCT_FIELDS = new Set([
  'io.k8s.api.apps.v1.DaemonSetSpec.selector',
  'io.k8s.api.apps.v1.DeploymentSpec.selector',
  'io.k8s.api.apps.v1.ReplicaSetSpec.selector',
  'io.k8s.api.apps.v1.StatefulSetSpec.selector',
  'io.k8s.api.core.v1.ScaleIOPersistentVolumeSource.secretRef',
  'io.k8s.api.core.v1.ScaleIOVolumeSource.secretRef',
]);
const VALUE_STRUCT_FIELDS = new Set([
  'io.k8s.api.apps.v1.DaemonSetSpec.updateStrategy',
  'io.k8s.api.apps.v1.DeploymentSpec.strategy',
  'io.k8s.api.apps.v1.StatefulSetSpec.updateStrategy',
  'io.k8s.api.authentication.v1.SelfSubjectReviewStatus.userInfo',
  'io.k8s.api.authentication.v1.TokenReviewStatus.user',
  'io.k8s.api.core.v1.Container.resources',
  'io.k8s.api.core.v1.ContainerStatus.lastState',
  'io.k8s.api.core.v1.ContainerStatus.state',
  'io.k8s.api.core.v1.EphemeralContainer.resources',
  'io.k8s.api.core.v1.Event.source',
  'io.k8s.api.core.v1.NodeDaemonEndpoints.kubeletEndpoint',
  'io.k8s.api.core.v1.NodeStatus.daemonEndpoints',
  'io.k8s.api.core.v1.NodeStatus.nodeInfo',
  'io.k8s.api.core.v1.PersistentVolumeClaimSpec.resources',
  'io.k8s.api.core.v1.ServiceStatus.loadBalancer',
  'io.k8s.api.discovery.v1.Endpoint.conditions',
  'io.k8s.api.events.v1.Event.deprecatedSource',
  'io.k8s.api.events.v1.Event.regarding',
  'io.k8s.api.flowcontrol.v1.LimitedPriorityLevelConfiguration.limitResponse',
  'io.k8s.api.networking.v1.IngressServiceBackend.port',
  'io.k8s.api.networking.v1.IngressStatus.loadBalancer',
  'io.k8s.api.networking.v1.NetworkPolicySpec.podSelector',
]);
const VALUE_STRUCT_NAMES = new Set(['metadata', 'spec', 'status', 'template']);

type OpenAPISchema = Record<string, any>;

/** A type model over OpenAPI v2 definitions (as in definitions.json). */
function deepFreezeJson<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreezeJson((v as Record<string, unknown>)[k]);
  }
  return v;
}

export class OpenAPIModel implements TypeModel {
  readonly #defs: Record<string, OpenAPISchema>;
  readonly #atoms = new Map<string, Atom | undefined>();
  readonly #byGVK = new Map<string, string>();
  readonly #zeros = new Map<string, JsonObject>();

  constructor(defs: Record<string, OpenAPISchema>) {
    this.#defs = defs;
    for (const [name, d] of Object.entries(defs)) {
      if (name.startsWith(META)) continue; // meta types list every group; they are never roots
      for (const g of (d['x-kubernetes-group-version-kind'] ?? []) as GroupVersionKind[]) {
        const k = gvkKey(g);
        if (!this.#byGVK.has(k)) this.#byGVK.set(k, name);
      }
    }
  }

  /** The definition name of a kind, or undefined when the model has none. */
  definitionFor(gvk: GroupVersionKind): string | undefined {
    return this.#byGVK.get(gvkKey(gvk));
  }

  resolve(ref: TypeRef): Atom | undefined {
    let atom: Atom | undefined;
    if (ref.named !== undefined) {
      if (ref.named === UNTYPED_ATOMIC) atom = untypedAtomic;
      else if (ref.named === UNTYPED_DEDUCED) atom = untypedDeduced;
      else atom = this.#named(ref.named);
    } else {
      atom = ref.inlined;
    }
    if (!atom || ref.relationship === undefined) return atom;
    if (atom.map) return { ...atom, map: { ...atom.map, relationship: ref.relationship } };
    return atom;
  }

  /** A fresh (mutable) zero value of a type. */
  zero(ref: TypeRef): JsonObject {
    return ref.named ? (JSON.parse(JSON.stringify(this.#zeroOf(ref.named, 0))) as JsonObject) : {};
  }

  withZero(ref: TypeRef, v: JsonValue): JsonValue {
    const atom = this.resolve(ref);
    if (!atom) return v;
    // Nothing below this type has a zero member to add: the value is its own filled form (callers
    // only read it), and copying it would cost as much as the rest of a create's bookkeeping.
    if (!this.#fills(ref, atom)) return v;
    if (atom.map && isObject(v)) {
      const out: JsonObject = {};
      for (const [k, child] of Object.entries(v)) {
        const t = atom.map.fields.get(k)?.type ?? atom.map.elementType;
        out[k] = t ? this.withZero(t, child) : child;
      }
      if (ref.named && atom.map.fields.size > 0) {
        for (const [k, z] of Object.entries(this.#zeroOf(ref.named, 0))) if (!Object.hasOwn(out, k)) out[k] = z;
      }
      return out;
    }
    // An atomic list is compared whole (typed.ts fills its items only when the raw items differ).
    if (atom.list && Array.isArray(v)) return atom.list.relationship === 'atomic' ? v : v.map((x) => this.withZero(atom.list!.elementType, x));
    return v;
  }

  readonly #fillsByName = new Map<string, boolean>();

  /** Whether withZero can add anything to a value of this type, at any depth. */
  #fills(ref: TypeRef, atom: Atom): boolean {
    if (ref.named === undefined) return this.#atomFills(atom, new Set());
    return this.#fillsByName.get(ref.named) ?? this.#namedFills(ref.named, new Set());
  }

  #namedFills(name: string, visiting: Set<string>): boolean {
    const known = this.#fillsByName.get(name);
    if (known !== undefined) return known;
    // A type that refers back to itself adds nothing through that reference that it does not
    // add already; the answer is cached only once the outermost walk has completed.
    if (visiting.has(name)) return false;
    const atom = this.resolve({ named: name });
    if (!atom) return false;
    visiting.add(name);
    const own = atom.map !== undefined && atom.map.fields.size > 0 && Object.keys(this.#zeroOf(name, 0)).length > 0;
    const out = own || this.#atomFills(atom, visiting);
    visiting.delete(name);
    if (visiting.size === 0 || out) this.#fillsByName.set(name, out);
    return out;
  }

  #atomFills(atom: Atom, visiting: Set<string>): boolean {
    const refFills = (r: TypeRef): boolean => {
      if (r.named !== undefined) return this.#namedFills(r.named, visiting);
      return r.inlined ? this.#atomFills(r.inlined, visiting) : false;
    };
    if (atom.map) {
      for (const f of atom.map.fields.values()) if (refFills(f.type)) return true;
      if (atom.map.elementType && refFills(atom.map.elementType)) return true;
    }
    if (atom.list && refFills(atom.list.elementType)) return true;
    return false;
  }

  #named(name: string): Atom | undefined {
    if (this.#atoms.has(name)) return this.#atoms.get(name);
    const def = this.#defs[name];
    // Reserve the slot first: definitions refer to themselves (JSONSchemaProps).
    this.#atoms.set(name, undefined);
    const atom = def ? this.#convert(def, name) : undefined;
    this.#atoms.set(name, atom);
    return atom;
  }

  /** kube-openapi's proto parsing followed by schemaconv's visitors. */
  #convert(s: OpenAPISchema, name?: string): Atom {
    const type = s.type as string | undefined;
    if (name === QUANTITY) return { scalar: 'untyped' };
    const isKind = (type === 'object' && s.additionalProperties === undefined) || (type === undefined && s.properties !== undefined);
    const isMap = (type === 'object' || type === undefined) && !isKind && s.additionalProperties !== undefined;
    if (isKind) {
      const fields = new Map<string, StructField>();
      const defaults = name ? KEY_DEFAULTS[name] : undefined;
      for (const [fname, fs] of Object.entries((s.properties ?? {}) as Record<string, OpenAPISchema>)) {
        const strategy = fs['x-kubernetes-patch-strategy'] as string | undefined;
        const f: StructField = {
          type: this.#makeRef(fs),
          patchStrategies: strategy ? strategy.split(',') : [],
        };
        if (fs['x-kubernetes-patch-merge-key']) f.patchMergeKey = fs['x-kubernetes-patch-merge-key'];
        if (fs.default !== undefined) f.default = fs.default;
        else if (defaults && Object.hasOwn(defaults, fname)) f.default = defaults[fname];
        fields.set(fname, f);
      }
      const map: MapAtom = { fields, relationship: mapRelationship(s) ?? 'separable' };
      if (s['x-kubernetes-preserve-unknown-fields'] === true) map.elementType = DEDUCED_REF;
      return { map };
    }
    if (isMap) {
      const ap = s.additionalProperties;
      const elementType = typeof ap === 'object' && ap !== null ? this.#makeRef(ap) : DEDUCED_REF;
      return { map: { fields: new Map(), elementType, relationship: mapRelationship(s) ?? 'separable' } };
    }
    if (type === 'array') {
      const [relationship, keys] = listRelationship(s);
      return { list: { elementType: s.items ? this.#makeRef(s.items) : { named: UNTYPED_ATOMIC }, relationship, keys } };
    }
    if (type === undefined) return untypedDeduced; // arbitrary
    return { scalar: scalarKind(type, s.format) };
  }

  #makeRef(s: OpenAPISchema): TypeRef {
    if (typeof s.$ref === 'string') {
      const name = s.$ref.replace('#/definitions/', '');
      if (name === RAW_EXTENSION) return { named: UNTYPED_ATOMIC };
      const ref: TypeRef = { named: name };
      const rel = mapRelationship(s);
      if (rel) ref.relationship = rel;
      return ref;
    }
    const atom = this.#convert(s);
    if (!atom.scalar && !atom.list && !atom.map) return { named: UNTYPED_ATOMIC };
    return { inlined: atom };
  }

  /**
   * A type's zero value. Shared and deep-frozen: callers only read it (typed comparisons) and
   * copy before changing — one copy per list element was the hottest part of a large write.
   */
  #zeroOf(name: string, depth: number): JsonObject {
    let z = this.#zeros.get(name);
    if (!z) {
      z = deepFreezeJson(this.#buildZero(name, depth));
      if (depth === 0) this.#zeros.set(name, z);
    }
    return z;
  }

  #buildZero(name: string, depth: number): JsonObject {
    const def = this.#defs[name];
    const out: JsonObject = {};
    if (!def?.properties || depth > 16) return out;
    const required = new Set<string>(def.required ?? []);
    for (const [p, ps] of Object.entries(def.properties as Record<string, OpenAPISchema>)) {
      const id = `${name}.${p}`;
      const refName = typeof ps.$ref === 'string' ? (ps.$ref as string).replace('#/definitions/', '') : undefined;
      const isStruct = refName !== undefined && this.#defs[refName]?.properties !== undefined;
      if (isStruct && !POINTER_STRUCT_FIELDS.has(id) && (VALUE_STRUCT_NAMES.has(p) || required.has(p) || VALUE_STRUCT_FIELDS.has(id))) {
        out[p] = this.#zeroOf(refName, depth + 1);
      } else if (required.has(p)) {
        out[p] = zeroScalar(ps, refName, isStruct);
      } else if (id === `${META}ObjectMeta.creationTimestamp`) {
        out[p] = null; // a struct-typed time: never omitted, encodes as null
      }
    }
    return out;
  }
}

function zeroScalar(ps: OpenAPISchema, refName: string | undefined, isStruct: boolean): JsonValue {
  if (refName === QUANTITY) return '0';
  if (refName === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString') return 0;
  if (refName !== undefined || isStruct) return null; // times, pointers
  switch (ps.type) {
    case 'string':
      return ps.format === 'byte' ? null : '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

function mapRelationship(s: OpenAPISchema): 'atomic' | 'separable' | undefined {
  const v = s['x-kubernetes-map-type'];
  return v === 'atomic' ? 'atomic' : v === 'granular' ? 'separable' : undefined;
}

function listRelationship(s: OpenAPISchema): ['atomic' | 'associative', string[]] {
  const lt = s['x-kubernetes-list-type'];
  if (lt !== undefined) {
    if (lt === 'set') return ['associative', []];
    if (lt === 'map') return ['associative', [...((s['x-kubernetes-list-map-keys'] ?? []) as string[])]];
    return ['atomic', []];
  }
  const ps = s['x-kubernetes-patch-strategy'];
  if (ps === 'merge' || ps === 'merge,retainKeys') {
    const key = s['x-kubernetes-patch-merge-key'];
    return ['associative', typeof key === 'string' ? [key] : []];
  }
  return ['atomic', []];
}

function scalarKind(type: string, format: string | undefined): ScalarKind {
  switch (type) {
    case 'integer':
    case 'number':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'string':
      return !format || format === 'byte' ? 'string' : 'untyped';
    default:
      return 'untyped';
  }
}

function gvkKey(g: GroupVersionKind): string {
  return `${g.group}/${g.version}/${g.kind}`;
}

let builtin: OpenAPIModel | undefined;

/** The model of rudder's built-in kinds (loaded on first use). */
export function builtinModel(): OpenAPIModel {
  if (!builtin) builtin = new OpenAPIModel(definitions() as Record<string, OpenAPISchema>);
  return builtin;
}

/** The type for objects that have no schema (custom resources without one). */
export function deducedType(gvk?: GroupVersionKind): ObjectType {
  const model = builtinModel();
  return {
    model: {
      resolve: (ref) => model.resolve(ref),
      // upstream's empty object of a schemaless kind carries only its apiVersion and kind
      zero: (): JsonObject => (gvk ? { apiVersion: gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version, kind: gvk.kind } : {}),
      withZero: (_ref, v) => v,
    },
    ref: DEDUCED_REF,
    deduced: true,
  };
}

/** The type of a built-in kind, or the deduced type when rudder has no schema for it. */
export function typeForGVK(gvk: GroupVersionKind): ObjectType {
  const model = builtinModel();
  const name = model.definitionFor(gvk);
  return name ? { model, ref: { named: name }, deduced: false } : deducedType(gvk);
}

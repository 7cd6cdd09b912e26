// Finds every resource.Quantity in an object through the schema facts (src/api/schema) and
// rewrites it in upstream's serialized form, as a decode/encode round trip through the apiserver
// would. Works for every kind the schema describes, including groups other modules own.

import definitions from '../schema/definitions.json' with { type: 'json' };
import type { GroupVersionKind } from '../resources.ts';
import { quantityFromJSON, quantityString, roundUpToMilli, QuantityError } from '../quantity.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface SchemaNode {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

const defs = definitions as unknown as Record<string, SchemaNode>;
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const DEFS_PREFIX = '#/definitions/';
const refName = (ref: string) => (ref.startsWith(DEFS_PREFIX) ? ref.slice(DEFS_PREFIX.length) : ref);

const byGVK = new Map<string, string>();
for (const [name, d] of Object.entries(defs)) {
  for (const g of d['x-kubernetes-group-version-kind'] ?? []) byGVK.set(`${g.group}/${g.version}/${g.kind}`, name);
}

// Whether a definition (transitively) holds a quantity; memoized, cycles count as "no".
const holds = new Map<string, boolean>();
function definitionHolds(name: string): boolean {
  const known = holds.get(name);
  if (known !== undefined) return known;
  holds.set(name, false);
  const r = name === QUANTITY || nodeHolds(defs[name]);
  holds.set(name, r);
  return r;
}
const nodeHoldsMemo = new WeakMap<SchemaNode, boolean>();
function nodeHolds(n: SchemaNode | boolean | undefined): boolean {
  if (!n || typeof n !== 'object') return false;
  if (n.$ref) return definitionHolds(refName(n.$ref));
  let r = nodeHoldsMemo.get(n);
  if (r === undefined) {
    r = (!!n.items && nodeHolds(n.items)) || nodeHolds(n.additionalProperties) || Object.values(n.properties ?? {}).some(nodeHolds);
    nodeHoldsMemo.set(n, r);
  }
  return r;
}

// The properties of a node that can hold a quantity: the only ones a walk looks into (a PodSpec
// has some forty properties and quantities under three).
const holdingPropsMemo = new WeakMap<SchemaNode, [string, SchemaNode][]>();
function holdingProps(n: SchemaNode): [string, SchemaNode][] {
  let r = holdingPropsMemo.get(n);
  if (r === undefined) holdingPropsMemo.set(n, (r = Object.entries(n.properties ?? {}).filter(([, p]) => nodeHolds(p))));
  return r;
}

class Malformed extends Error {}

// Canonicalizes the value at holder[key]. `inList`: the quantity is a value of a map of quantities
// (a v1.ResourceList), which upstream's defaulting rounds up to milli precision. Only a quantity
// whose canonical form differs is written (an object already canonical may be frozen).
function walk(node: SchemaNode | boolean | undefined, holder: Json, key: string | number, inList = false): void {
  const v = holder[key];
  if (!node || typeof node !== 'object' || v == null) return;
  if (node.$ref) {
    const name = refName(node.$ref);
    if (name === QUANTITY) {
      if (typeof v !== 'string' && typeof v !== 'number') return; // a type error, not ours to report
      try {
        const q = quantityFromJSON(v);
        const s = quantityString(inList ? roundUpToMilli(q) : q);
        if (s !== v) holder[key] = s;
      } catch (e) {
        if (e instanceof QuantityError) throw new Malformed(e.message);
        throw e;
      }
      return;
    }
    if (definitionHolds(name)) walk(defs[name], holder, key);
    return;
  }
  if (Array.isArray(v)) {
    if (node.items && nodeHolds(node.items)) for (let i = 0; i < v.length; i++) walk(node.items, v, i);
    return;
  }
  if (typeof v !== 'object') return;
  const ap = node.additionalProperties;
  if (ap && typeof ap === 'object' && nodeHolds(ap)) {
    const list = !!ap.$ref && refName(ap.$ref) === QUANTITY;
    for (const k of Object.keys(v)) walk(ap, v, k, list);
  }
  for (const [k, p] of holdingProps(node)) if (k in v) walk(p, v, k);
}

/** Canonicalizes quantities in place; returns upstream's parse error message for the first malformed one. */
export function canonicalizeQuantities(gvk: GroupVersionKind, obj: Json): string | undefined {
  const name = byGVK.get(`${gvk.group}/${gvk.version}/${gvk.kind}`);
  if (!name || !definitionHolds(name)) return undefined;
  try {
    walk(defs[name], { obj }, 'obj');
    return undefined;
  } catch (e) {
    if (e instanceof Malformed) return e.message;
    throw e;
  }
}

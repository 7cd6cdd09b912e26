// The parts of the object model every kind shares (metav1.TypeMeta, ObjectMeta, ListMeta).
// Objects are plain JSON values in their versioned wire form; kind-specific fields are read
// through the schema facts and the per-kind modules, not through TypeScript classes.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  selfLink?: string;
}

export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  selfLink?: string;
}

export interface KList<T = KObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = unknown> {
  type: WatchEventType;
  object: T;
}

/** RFC 3339 with seconds precision in UTC, as metav1.Time serializes. */
export function rfc3339(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds, as metav1.MicroTime serializes. */
export function rfc3339Micro(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Deep-freezes a JSON value in place; returns it. Cached objects are shared and must never change. */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/**
 * Whether two JSON values serialize to the same text (JSON.stringify's): object keys compared in
 * order, keys whose value is undefined left out, as JSON.stringify leaves them out; nothing is
 * built. The cheap way to ask whether a write changes a stored object.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      // JSON.stringify writes undefined array members as null
      const x = a[i] === undefined ? null : a[i];
      const y = b[i] === undefined ? null : b[i];
      if (!jsonEqual(x, y)) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < ka.length && oa[ka[i]!] === undefined) i++;
    while (j < kb.length && ob[kb[j]!] === undefined) j++;
    if (i === ka.length || j === kb.length) return i === ka.length && j === kb.length;
    if (ka[i] !== kb[j] || !jsonEqual(oa[ka[i]!], ob[kb[j]!])) return false;
    i++;
    j++;
  }
}

/**
 * A deep copy of a JSON value: the only way to change an object read from a cache. API objects
 * are plain JSON, and a JSON round trip copies them about twice as fast as structuredClone
 * (measured here on pods and on 1,000-address Endpoints).
 */
export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

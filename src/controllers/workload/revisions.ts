// ControllerRevisions, as upstream's pkg/controller/history: a StatefulSet or DaemonSet records
// each pod template it has run as an apps/v1 ControllerRevision owned by it, holding a patch
// `{"spec":{"template":{…,"$patch":"replace"}}}` that restores that template, and a revision
// number that only grows (a rollback bumps an old revision's number instead of copying it).
//
// Names are `<parent>-<hash>`; the hash is FNV-32 over the patch as Go's encoding/json writes it
// (keys sorted, <>& escaped) plus the collision count, encoded with upstream's safe alphabet, so
// a template yields the same name here as upstream would for the same bytes.
import { StatusError } from '../../api/errors.ts';
import { clone, type KObject, type OwnerReference } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import type { Json } from './pods.ts';

export const CONTROLLER_REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

export interface ControllerRevision extends KObject {
  data?: Json;
  revision: number;
}

/** Go's json.Marshal of a JSON value decoded into interface{}: map keys sorted, HTML-safe escaping. */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${goString(k)}:${goJson(o[k])}`).join(',')}}`;
}

function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** FNV-1 32-bit (Go's hash/fnv New32), not FNV-1a. */
export function fnv32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** upstream's rand.SafeEncodeString: every character mapped into an alphabet without vowels or look-alikes. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

/** upstream's HashControllerRevision over the revision's data and an optional collision count. */
export function hashRevisionData(data: unknown, collisionCount?: number): string {
  const enc = new TextEncoder();
  let bytes = enc.encode(goJson(data));
  if (collisionCount !== undefined) {
    const probe = enc.encode(String(collisionCount));
    const all = new Uint8Array(bytes.length + probe.length);
    all.set(bytes);
    all.set(probe, bytes.length);
    bytes = all;
  }
  return safeEncodeString(String(fnv32(bytes)));
}

export function revisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/** The patch a revision stores: the parent's pod template, replacing whatever is there. */
export function templatePatch(parent: KObject): Json {
  const template = clone(((parent as Json).spec?.template ?? {}) as Json);
  template.$patch = 'replace';
  return { spec: { template } };
}

/** The parent with the revision's template in place (upstream's ApplyRevision for template patches). */
export function applyRevision<T extends KObject>(parent: T, revision: ControllerRevision): T {
  const out = clone(parent) as Json;
  const tpl = clone(revision.data?.spec?.template ?? {});
  delete tpl.$patch;
  out.spec = { ...(out.spec ?? {}), template: tpl };
  return out as T;
}

/**
 * A ControllerRevision for `parent` (history.NewControllerRevision): the template's labels plus
 * the hash label, a controller reference, the data and revision number, named by hash.
 */
export function newControllerRevision(parent: KObject, ownerRef: OwnerReference, templateLabels: Record<string, string> | undefined, data: Json, revision: number, collisionCount: number): ControllerRevision {
  const hash = hashRevisionData(data, collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName(parent.metadata.name!, hash),
      namespace: parent.metadata.namespace,
      labels: { ...(templateLabels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
      ownerReferences: [ownerRef],
    },
    data,
    revision,
  };
}

/** Revisions hold the same state (upstream compares the raw bytes; ours are canonical JSON). */
export function equalRevision(a: ControllerRevision | undefined, b: ControllerRevision | undefined): boolean {
  if (!a || !b) return a === b;
  return goJson(a.data) === goJson(b.data);
}

/** Ascending by revision, then creation time, then name (history.SortControllerRevisions). */
export function sortRevisions<T extends ControllerRevision>(revs: readonly T[]): T[] {
  return [...revs].sort((a, b) => {
    if (a.revision !== b.revision) return a.revision - b.revision;
    const ca = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const cb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    if (ca !== cb) return ca - cb;
    return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  });
}

/** One more than the highest revision number (1 for none); `sorted` ascending. */
export function nextRevision(sorted: readonly ControllerRevision[]): number {
  return sorted.length ? sorted[sorted.length - 1]!.revision + 1 : 1;
}

/**
 * Creates the revision, probing new names while a different revision holds the name
 * (history.CreateControllerRevision). `collision` is incremented on each collision; answers the
 * created revision, or the existing one when it already holds the same data.
 */
export async function createControllerRevision(client: ResourceClient<ControllerRevision>, parent: KObject, revision: ControllerRevision, collision: { count: number }): Promise<ControllerRevision> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const hash = hashRevisionData(revision.data, collision.count);
    const body = clone(revision) as ControllerRevision;
    body.metadata.name = revisionName(parent.metadata.name!, hash);
    try {
      return await client.create(body);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists')) throw e;
      const existing = await client.get(body.metadata.name);
      if (equalRevision(existing, body)) return existing;
      collision.count++;
    }
  }
  throw new Error(`could not find a free ControllerRevision name for ${parent.metadata.namespace}/${parent.metadata.name}`);
}

/** Sets an existing revision's number (history.UpdateControllerRevision), retrying conflicts. */
export async function updateRevisionNumber(client: ResourceClient<ControllerRevision>, rev: ControllerRevision, revision: number): Promise<ControllerRevision> {
  let cur = rev;
  for (let attempt = 0; ; attempt++) {
    if (cur.revision === revision) return cur;
    const body = clone(cur);
    body.revision = revision;
    try {
      return await client.update(body);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409) || attempt >= 5) throw e;
      cur = await client.get(cur.metadata.name!);
    }
  }
}

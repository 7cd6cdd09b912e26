// Shared pieces of the admission plugins: upstream's admission.NewForbidden wording, error
// aggregation, and the informer-cache-with-live-lookup reads upstream's plugins do.
import { StatusError, forbidden, qualifiedResource } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { Entry } from '../cache.ts';
import type { AdmissionAttributes, Registry, ResourceRegistry } from '../registry.ts';

/**
 * The name upstream's admission errors print: the object's name, or its generateName when the
 * name is still to be generated, else "Unknown". rudder's registry generates names before
 * admission (upstream after), so a name that is generateName plus five generated characters is
 * taken as generated.
 */
export function admissionObjectName(a: AdmissionAttributes): string {
  const m = a.object?.metadata ?? a.oldObject?.metadata;
  const name = m?.name || a.name;
  const gen = m?.generateName;
  if (gen && name && name.length === gen.length + 5 && name.startsWith(gen)) return gen;
  return name || gen || 'Unknown';
}

/** upstream's admission.NewForbidden: `<resource> "<name>" is forbidden: <why>`; never wraps a Forbidden twice. */
export function admissionForbidden(a: AdmissionAttributes, why: string | StatusError): StatusError {
  if (why instanceof StatusError) {
    if (why.code === 403) return why;
    why = why.message;
  }
  return forbidden({ group: a.resource.group, resource: a.resource.plural }, admissionObjectName(a), why);
}

/** The resource as upstream prints a GroupResource (`pods`, `deployments.apps`). */
export function resourceString(a: AdmissionAttributes): string {
  return qualifiedResource({ group: a.resource.group, resource: a.resource.plural });
}

/** upstream's utilerrors.NewAggregate(errs).Error(): one message as is, several deduplicated in brackets. */
export function aggregateMessage(msgs: string[]): string {
  const seen = [...new Set(msgs)];
  if (seen.length === 1) return seen[0]!;
  return `[${seen.join(', ')}]`;
}

export function isPodCreateOrUpdate(a: AdmissionAttributes): boolean {
  return a.resource.group === '' && a.resource.plural === 'pods' && a.subresource === '' && !!a.object;
}

/**
 * A namespace's objects of one kind as an informer lister sees them, with upstream's live
 * lookup on an empty answer: when the cache holds none, the store itself is listed once (at
 * most every `ttlMs` per namespace), so an object created just before is not missed while the
 * common empty case costs nothing. The live lookup never waits for the watch cache: under a
 * lagging etcd watch, admission must not fail a write because the cache is behind.
 */
export class NamespacedLister {
  private readonly lookedUp = new Map<string, number>();
  private readonly group: string;
  private readonly plural: string;
  private readonly ttlMs: number;

  constructor(group: string, plural: string, ttlMs = 30_000) {
    this.group = group;
    this.plural = plural;
    this.ttlMs = ttlMs;
  }

  async list(reg: Registry, namespace: string): Promise<Entry[]> {
    const r = reg.must(this.group, this.plural);
    const items = r.cache.list(namespace);
    if (items.length > 0) return items;
    const now = Date.now();
    const until = this.lookedUp.get(namespace);
    if (until !== undefined && until > now) return items;
    const live = await r.listLive(namespace);
    if (this.lookedUp.size > 10_000) this.lookedUp.clear();
    this.lookedUp.set(namespace, now + this.ttlMs);
    return live;
  }
}

/** An object from the cache, or read from the store when the cache does not hold it (yet). */
export async function getLive(r: ResourceRegistry, namespace: string, name: string): Promise<KObject | undefined> {
  const e = r.cache.get(r.key(namespace, name)) ?? (await r.readLive(namespace, name));
  return e?.obj;
}

/** The system identity the apiserver's own writes (quota status, PDB status) are made as. */
export const APISERVER_USER = { name: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

// What this controller last wrote for each Service's slices (upstream's EndpointSliceTracker, with
// resourceVersions in place of generations): informer events for our own writes are not worth a
// sync, and a cache that has not yet seen our writes is stale.
import type { KObject } from '../../api/meta.ts';
import { LABEL_SERVICE_NAME } from './reconciler.ts';

const DELETION_EXPECTED = -1;

export function serviceKeyOfSlice(slice: KObject): string | undefined {
  const name = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  return name ? `${slice.metadata.namespace}/${name}` : undefined;
}

export class EndpointSliceTracker {
  /** service key → slice uid → resourceVersion we wrote (or DELETION_EXPECTED). */
  private readonly bySvc = new Map<string, Map<string, number>>();

  private forSvc(key: string): Map<string, number> {
    let m = this.bySvc.get(key);
    if (!m) this.bySvc.set(key, (m = new Map()));
    return m;
  }

  /** Records a slice as written (from the API's answer). */
  update(slice: KObject): void {
    const key = serviceKeyOfSlice(slice);
    if (key) this.forSvc(key).set(slice.metadata.uid!, Number(slice.metadata.resourceVersion));
  }

  expectDeletion(slice: KObject): void {
    const key = serviceKeyOfSlice(slice);
    if (key) this.forSvc(key).set(slice.metadata.uid!, DELETION_EXPECTED);
  }

  /** Whether an observed slice differs from what we wrote (unknown, or newer). */
  shouldSync(slice: KObject): boolean {
    const key = serviceKeyOfSlice(slice);
    const rv = key ? this.bySvc.get(key)?.get(slice.metadata.uid!) : undefined;
    return rv === undefined || Number(slice.metadata.resourceVersion) > rv;
  }

  /** Forgets a deleted slice; answers whether the deletion was unexpected (someone else's). */
  handleDeletion(slice: KObject): boolean {
    const key = serviceKeyOfSlice(slice);
    if (!key) return true;
    const m = this.bySvc.get(key);
    const rv = m?.get(slice.metadata.uid!);
    m?.delete(slice.metadata.uid!);
    return rv !== DELETION_EXPECTED;
  }

  /** The cached slices are older than our writes: missing a created one, holding a deleted one, or older versions. */
  stale(serviceKey: string, slices: readonly KObject[]): boolean {
    const m = this.bySvc.get(serviceKey);
    if (!m) return false;
    const seen = new Set<string>();
    for (const s of slices) {
      seen.add(s.metadata.uid!);
      const rv = m.get(s.metadata.uid!);
      if (rv === undefined) continue;
      if (rv === DELETION_EXPECTED) return true;
      if (Number(s.metadata.resourceVersion) < rv) return true;
    }
    for (const [uid, rv] of m) if (!seen.has(uid) && rv !== DELETION_EXPECTED) return true;
    return false;
  }

  deleteService(serviceKey: string): void {
    this.bySvc.delete(serviceKey);
  }
}

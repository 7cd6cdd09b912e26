// What the cluster DNS knows: Services, their ready endpoints (from EndpointSlices), namespaces
// and, for `pods verified`, pod IPs — reduced to the few fields answers need and indexed the way
// queries look them up (by namespace/name, by ClusterIP, by endpoint IP).
//
// Contracts:
// - Fed by informer handlers (set/delete), read by the resolver; all keys are lower-cased because
//   DNS names compare case-insensitively (CoreDNS's match() is EqualFold).
// - Every change bumps `generation` (answer caches key on it) and `modified` (the SOA serial, unix
//   seconds, as CoreDNS's Modified()).
// - Endpoints are kept per EndpointSlice, ready ones only (a missing `ready` counts as ready, as
//   the API documents and CoreDNS does); a Service's endpoints are the union of its slices.
import type { KObject } from '../api/meta.ts';

export interface ServicePortRecord {
  /** '' when unnamed; compared case-insensitively. */
  name: string;
  protocol: string;
  /** -1 is CoreDNS's sentinel for "no ports declared" (the name still resolves, SRV skips it). */
  port: number;
}

export interface ServiceRecord {
  namespace: string;
  name: string;
  type: string;
  /** spec.clusterIPs (or [spec.clusterIP]); ['None'] for headless, [''] for ExternalName. */
  clusterIPs: string[];
  externalName: string;
  ports: ServicePortRecord[];
}

export interface EndpointAddress {
  ip: string;
  hostname: string;
  /** The targetRef's name when it is a valid label length (endpoint_pod_names mode). */
  targetRefName: string;
}

export interface EndpointSet {
  /** The slice's name, unique within its namespace. */
  slice: string;
  ports: ServicePortRecord[];
  addresses: EndpointAddress[];
}

export function isHeadless(s: ServiceRecord): boolean {
  return s.clusterIPs[0] === 'None';
}

/** CoreDNS's endpointHostname: the endpoint's hostname, else its IP with dashes. */
export function endpointHostname(a: EndpointAddress, podNames = false): string {
  if (a.hostname) return a.hostname;
  if (podNames && a.targetRefName) return a.targetRefName;
  if (a.ip.includes('.')) return a.ip.replaceAll('.', '-');
  if (a.ip.includes(':')) {
    const h = a.ip.replaceAll(':', '-');
    return h.endsWith('-') ? `${h}0` : h;
  }
  return '';
}

// ------------------------------------------------------------------------------ conversions (pure)

interface ServiceLike extends KObject {
  spec?: { type?: string; clusterIP?: string; clusterIPs?: string[]; externalName?: string; ports?: { name?: string; protocol?: string; port: number }[] };
}

interface EndpointSliceLike extends KObject {
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null }; hostname?: string; targetRef?: { name?: string } }[] | null;
  ports?: { name?: string | null; port?: number | null; protocol?: string | null }[] | null;
}

interface PodLike extends KObject {
  status?: { podIP?: string; podIPs?: { ip: string }[] };
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function serviceRecord(svc: ServiceLike): ServiceRecord {
  const spec = svc.spec ?? {};
  const ports = (spec.ports ?? []).map((p) => ({ name: (p.name ?? '').toLowerCase(), protocol: (p.protocol ?? 'TCP').toLowerCase(), port: p.port }));
  return {
    namespace: (svc.metadata.namespace ?? '').toLowerCase(),
    name: (svc.metadata.name ?? '').toLowerCase(),
    type: spec.type ?? 'ClusterIP',
    clusterIPs: spec.clusterIPs?.length ? [...spec.clusterIPs] : [spec.clusterIP ?? ''],
    externalName: spec.externalName ?? '',
    ports: ports.length ? ports : [{ name: '', protocol: '', port: -1 }],
  };
}

/** The Service a slice belongs to (its kubernetes.io/service-name label), lower-cased; undefined without one. */
export function sliceServiceName(slice: EndpointSliceLike): string | undefined {
  return slice.metadata.labels?.[SERVICE_NAME_LABEL]?.toLowerCase() || undefined;
}

export function endpointSet(slice: EndpointSliceLike): EndpointSet {
  const ports = (slice.ports ?? []).map((p) => ({ name: (p.name ?? '').toLowerCase(), protocol: (p.protocol ?? '').toLowerCase(), port: p.port ?? -1 }));
  const addresses: EndpointAddress[] = [];
  for (const ep of slice.endpoints ?? []) {
    if (ep.conditions?.ready === false) continue;
    const ref = ep.targetRef?.name ?? '';
    for (const ip of ep.addresses ?? []) addresses.push({ ip, hostname: (ep.hostname ?? '').toLowerCase(), targetRefName: ref.length < 64 ? ref.toLowerCase() : '' });
  }
  return { slice: slice.metadata.name ?? '', ports: ports.length ? ports : [{ name: '', protocol: '', port: -1 }], addresses };
}

export function podIPs(pod: PodLike): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? [];
  if (!ips.length && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}

// ------------------------------------------------------------------------------ the store

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (!s.size) m.delete(k);
}

const key = (ns: string, name: string) => `${ns}/${name}`;

export class ClusterRecords {
  /** Bumped on every change. */
  generation = 0;
  /** Unix seconds of the last change (the SOA serial). */
  modified: number;
  /** False until the informers behind the store have synced (NXDOMAIN becomes SERVFAIL until then, as CoreDNS). */
  synced = true;
  private readonly now: () => number;
  private readonly namespaces = new Set<string>();
  private readonly services = new Map<string, ServiceRecord>();
  /** service key → slice name → endpoints */
  private readonly endpointSets = new Map<string, Map<string, EndpointSet>>();
  /** slice key (ns/slice) → service key, to move or drop a slice on change */
  private readonly sliceOwner = new Map<string, string>();
  private readonly byClusterIP = new Map<string, Set<string>>();
  /** endpoint IP → slice keys */
  private readonly byEndpointIP = new Map<string, Set<string>>();
  /** pod IP → namespaces of pods holding it (pods verified) */
  private readonly podsByIP = new Map<string, Map<string, number>>();
  private readonly podIPsOf = new Map<string, { ns: string; ips: string[] }>();

  constructor(now: () => number = () => Date.now()) {
    this.now = now;
    this.modified = Math.floor(now() / 1000);
  }

  private touch(): void {
    this.generation++;
    this.modified = Math.floor(this.now() / 1000);
  }

  // ---- writes

  setNamespace(name: string): void {
    const n = name.toLowerCase();
    if (this.namespaces.has(n)) return;
    this.namespaces.add(n);
    this.touch();
  }

  deleteNamespace(name: string): void {
    if (this.namespaces.delete(name.toLowerCase())) this.touch();
  }

  setService(svc: ServiceLike): void {
    const r = serviceRecord(svc);
    const k = key(r.namespace, r.name);
    this.dropServiceIndex(k);
    this.services.set(k, r);
    for (const ip of r.clusterIPs) if (ip && ip !== 'None') addTo(this.byClusterIP, ip, k);
    this.touch();
  }

  deleteService(namespace: string, name: string): void {
    const k = key(namespace.toLowerCase(), name.toLowerCase());
    if (!this.services.has(k)) return;
    this.dropServiceIndex(k);
    this.services.delete(k);
    this.touch();
  }

  private dropServiceIndex(k: string): void {
    const old = this.services.get(k);
    if (old) for (const ip of old.clusterIPs) removeFrom(this.byClusterIP, ip, k);
  }

  setEndpointSlice(slice: EndpointSliceLike): void {
    const ns = (slice.metadata.namespace ?? '').toLowerCase();
    const sk = key(ns, slice.metadata.name ?? '');
    this.dropSlice(sk);
    const svc = sliceServiceName(slice);
    if (svc) {
      const set = endpointSet(slice);
      const owner = key(ns, svc);
      let m = this.endpointSets.get(owner);
      if (!m) this.endpointSets.set(owner, (m = new Map()));
      m.set(set.slice, set);
      this.sliceOwner.set(sk, owner);
      for (const a of set.addresses) addTo(this.byEndpointIP, a.ip, sk);
    }
    this.touch();
  }

  deleteEndpointSlice(namespace: string, name: string): void {
    if (this.dropSlice(key(namespace.toLowerCase(), name))) this.touch();
  }

  private dropSlice(sk: string): boolean {
    const owner = this.sliceOwner.get(sk);
    if (owner === undefined) return false;
    const m = this.endpointSets.get(owner);
    const sliceName = sk.slice(sk.indexOf('/') + 1);
    const old = m?.get(sliceName);
    if (old) for (const a of old.addresses) removeFrom(this.byEndpointIP, a.ip, sk);
    m?.delete(sliceName);
    if (m && !m.size) this.endpointSets.delete(owner);
    this.sliceOwner.delete(sk);
    return true;
  }

  setPod(pod: PodLike): void {
    const pk = key(pod.metadata.namespace ?? '', pod.metadata.name ?? '');
    this.dropPod(pk);
    const ns = (pod.metadata.namespace ?? '').toLowerCase();
    const ips = podIPs(pod);
    this.podIPsOf.set(pk, { ns, ips });
    for (const ip of ips) {
      let m = this.podsByIP.get(ip);
      if (!m) this.podsByIP.set(ip, (m = new Map()));
      m.set(ns, (m.get(ns) ?? 0) + 1);
    }
    this.touch();
  }

  deletePod(namespace: string, name: string): void {
    if (this.dropPod(key(namespace, name))) this.touch();
  }

  private dropPod(pk: string): boolean {
    const old = this.podIPsOf.get(pk);
    if (!old) return false;
    for (const ip of old.ips) {
      const m = this.podsByIP.get(ip);
      if (!m) continue;
      const n = (m.get(old.ns) ?? 0) - 1;
      if (n > 0) m.set(old.ns, n);
      else m.delete(old.ns);
      if (!m.size) this.podsByIP.delete(ip);
    }
    this.podIPsOf.delete(pk);
    return true;
  }

  // ---- reads (arguments lower-cased by the caller)

  namespaceExists(ns: string): boolean {
    return this.namespaces.has(ns);
  }

  service(ns: string, name: string): ServiceRecord | undefined {
    return this.services.get(key(ns, name));
  }

  /** The Service's endpoint sets (one per slice), in no particular order. */
  endpoints(ns: string, name: string): EndpointSet[] {
    const m = this.endpointSets.get(key(ns, name));
    return m ? [...m.values()] : [];
  }

  servicesByClusterIP(ip: string): ServiceRecord[] {
    const keys = this.byClusterIP.get(ip);
    return keys ? [...keys].map((k) => this.services.get(k)!).filter(Boolean) : [];
  }

  /** Endpoints holding `ip`: the owning Service's namespace and name, and the address. */
  endpointsByIP(ip: string): { namespace: string; service: string; address: EndpointAddress }[] {
    const out: { namespace: string; service: string; address: EndpointAddress }[] = [];
    for (const sk of this.byEndpointIP.get(ip) ?? []) {
      const owner = this.sliceOwner.get(sk);
      if (!owner) continue;
      const set = this.endpointSets.get(owner)?.get(sk.slice(sk.indexOf('/') + 1));
      const i = owner.indexOf('/');
      for (const a of set?.addresses ?? []) if (a.ip === ip) out.push({ namespace: owner.slice(0, i), service: owner.slice(i + 1), address: a });
    }
    return out;
  }

  /** Whether a pod in `ns` holds `ip` (pods verified). */
  podExists(ns: string, ip: string): boolean {
    return (this.podsByIP.get(ip)?.get(ns) ?? 0) > 0;
  }

  /** Every namespace/name of a Service whose endpoints contain one of `ips` (the NS records). */
  servicesWithEndpointIPs(ips: readonly string[]): { service: ServiceRecord; sets: EndpointSet[] }[] {
    const seen = new Set<string>();
    const out: { service: ServiceRecord; sets: EndpointSet[] }[] = [];
    for (const ip of ips) {
      for (const sk of this.byEndpointIP.get(ip) ?? []) {
        const owner = this.sliceOwner.get(sk);
        if (!owner || seen.has(owner)) continue;
        seen.add(owner);
        const svc = this.services.get(owner);
        if (svc) out.push({ service: svc, sets: [...(this.endpointSets.get(owner)?.values() ?? [])] });
      }
    }
    return out;
  }
}

// ------------------------------------------------------------------------------ changes as data

/**
 * One change to a record store, as a message: the informers' side produces them, every store that
 * serves (one per DNS worker thread) applies them in order. Objects are plain API objects.
 */
export type RecordOp =
  | { op: 'namespace'; name: string; deleted?: boolean }
  | { op: 'service'; obj: KObject; deleted?: boolean }
  | { op: 'slice'; obj: KObject; deleted?: boolean }
  | { op: 'pod'; obj: KObject; deleted?: boolean }
  | { op: 'synced' };

export function applyRecordOp(r: ClusterRecords, o: RecordOp): void {
  switch (o.op) {
    case 'namespace':
      if (o.deleted) r.deleteNamespace(o.name);
      else r.setNamespace(o.name);
      return;
    case 'service':
      if (o.deleted) r.deleteService(o.obj.metadata.namespace ?? '', o.obj.metadata.name ?? '');
      else r.setService(o.obj);
      return;
    case 'slice':
      if (o.deleted) r.deleteEndpointSlice(o.obj.metadata.namespace ?? '', o.obj.metadata.name ?? '');
      else r.setEndpointSlice(o.obj);
      return;
    case 'pod':
      if (o.deleted) r.deletePod(o.obj.metadata.namespace ?? '', o.obj.metadata.name ?? '');
      else r.setPod(o.obj);
      return;
    case 'synced':
      r.synced = true;
      r.generation++;
  }
}

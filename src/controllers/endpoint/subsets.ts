// Endpoints subsets in canonical form (upstream's pkg/api/v1/endpoints RepackSubsets): addresses
// grouped by the exact set of ports they serve, an address not ready if any subset says so, addresses
// sorted by IP then target uid. Ports and subsets are put in a stable order (upstream sorts them
// by a hash of their Go representation, which has no meaning beyond stability).

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string; resourceVersion?: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

const addrKey = (a: EndpointAddress) => `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
const portKey = (p: EndpointPort) => `${p.name ?? ''}\u0000${p.port}\u0000${p.protocol ?? ''}\u0000${p.appProtocol ?? ''}`;

function compareAddr(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid ?? '';
  const ub = b.targetRef?.uid ?? '';
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

function comparePort(a: EndpointPort, b: EndpointPort): number {
  const ka = portKey(a);
  const kb = portKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const allAddrs = new Map<string, EndpointAddress>();
  // port (or the no-port sentinel) → address key → ready
  const byPort = new Map<string, { port?: EndpointPort; addrs: Map<string, boolean> }>();
  const note = (port: EndpointPort | undefined, s: EndpointSubset) => {
    const pk = port ? portKey(port) : '\u0001none';
    let e = byPort.get(pk);
    if (!e) byPort.set(pk, (e = { port, addrs: new Map() }));
    const mark = (a: EndpointAddress, ready: boolean) => {
      const k = addrKey(a);
      if (!allAddrs.has(k)) allAddrs.set(k, a);
      // not ready always trumps ready
      const was = e.addrs.get(k);
      if (was === undefined || was) e.addrs.set(k, ready);
    };
    for (const a of s.addresses ?? []) mark(a, true);
    for (const a of s.notReadyAddresses ?? []) mark(a, false);
  };
  for (const s of subsets) {
    if (!s.ports?.length) note(undefined, s);
    else for (const p of s.ports) note(p, s);
  }
  // group ports by the identical address sets they are served on
  const groups = new Map<string, { addrs: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, addrs } of byPort.values()) {
    const key = [...addrs].map(([k, r]) => `${k}\u0002${r ? 1 : 0}`).sort().join('\u0003');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { addrs, ports: [] }));
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [k, r] of g.addrs) (r ? ready : notReady).push(allAddrs.get(k)!);
    const s: EndpointSubset = {};
    if (ready.length) s.addresses = ready.sort(compareAddr);
    if (notReady.length) s.notReadyAddresses = notReady.sort(compareAddr);
    if (g.ports.length) s.ports = g.ports.sort(comparePort);
    out.push(s);
  }
  return out.sort((a, b) => {
    const ka = JSON.stringify([a.ports ?? [], (a.addresses ?? a.notReadyAddresses ?? [])[0]?.ip ?? '']);
    const kb = JSON.stringify([b.ports ?? [], (b.addresses ?? b.notReadyAddresses ?? [])[0]?.ip ?? '']);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/**
 * repackSubsets for the common case of addresses that all serve the same ports (each address once):
 * a single subset, so no grouping is needed. `ports` may be empty (a headless service without
 * ports). The arrays are sorted in place and become the subset's.
 */
export function packSamePorts(ready: EndpointAddress[], notReady: EndpointAddress[], ports: readonly EndpointPort[]): EndpointSubset[] {
  if (ready.length === 0 && notReady.length === 0) return [];
  const s: EndpointSubset = {};
  if (ready.length) s.addresses = ready.sort(compareAddr);
  if (notReady.length) s.notReadyAddresses = notReady.sort(compareAddr);
  if (ports.length) {
    const byKey = new Map<string, EndpointPort>();
    for (const p of ports) if (!byKey.has(portKey(p))) byKey.set(portKey(p), p);
    s.ports = [...byKey.values()].sort(comparePort);
  }
  return [s];
}

/**
 * Equal subsets, ignoring target references' resourceVersion (upstream's semanticIgnoreResourceVersion);
 * absent and empty lists, and absent and empty strings, are the same.
 */
export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const s = x[i]!;
    const t = y[i]!;
    if (!listEqual(s.addresses, t.addresses, addrEqual) || !listEqual(s.notReadyAddresses, t.notReadyAddresses, addrEqual) || !listEqual(s.ports, t.ports, portEqual)) return false;
  }
  return true;
}

function listEqual<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, eq: (x: T, y: T) => boolean): boolean {
  const n = a?.length ?? 0;
  if (n !== (b?.length ?? 0)) return false;
  for (let i = 0; i < n; i++) if (!eq(a![i]!, b![i]!)) return false;
  return true;
}

function addrEqual(a: EndpointAddress, b: EndpointAddress): boolean {
  if (a === b) return true;
  if (a.ip !== b.ip || (a.hostname ?? '') !== (b.hostname ?? '') || (a.nodeName ?? '') !== (b.nodeName ?? '')) return false;
  const r = a.targetRef;
  const q = b.targetRef;
  if (!r || !q) return !r && !q;
  return (r.kind ?? '') === (q.kind ?? '') && (r.namespace ?? '') === (q.namespace ?? '') && (r.name ?? '') === (q.name ?? '') && (r.uid ?? '') === (q.uid ?? '');
}

function portEqual(a: EndpointPort, b: EndpointPort): boolean {
  return (a.name ?? '') === (b.name ?? '') && a.port === b.port && (a.protocol ?? '') === (b.protocol ?? '') && (a.appProtocol ?? '') === (b.appProtocol ?? '');
}

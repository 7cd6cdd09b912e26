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

/** Equal subsets, ignoring target references' resourceVersion (upstream's semanticIgnoreResourceVersion). */
export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  return normalized(a) === normalized(b);
}

/** Normal forms of subset lists read from caches (frozen, so computed once). */
const normalForms = new WeakMap<readonly EndpointSubset[], string>();

function normalized(l: readonly EndpointSubset[] | undefined): string {
  if (!l) return '[]';
  let s = normalForms.get(l);
  if (s === undefined) {
    s = JSON.stringify(normalize(l));
    if (Object.isFrozen(l)) normalForms.set(l, s);
  }
  return s;
}

function normalize(subsets: readonly EndpointSubset[]): unknown {
  const addr = (a: EndpointAddress) => [a.ip, a.hostname ?? '', a.nodeName ?? '', a.targetRef ? [a.targetRef.kind ?? '', a.targetRef.namespace ?? '', a.targetRef.name ?? '', a.targetRef.uid ?? ''] : null];
  return subsets.map((s) => [(s.addresses ?? []).map(addr), (s.notReadyAddresses ?? []).map(addr), (s.ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? ''])]);
}

// The `kube-dns` Service in kube-system (ClusterIP = --cluster-dns) and each agent's endpoint in it.
//
// The Service has upstream's (k3s's) name, labels, annotations and ports — dns 53/UDP, dns-tcp
// 53/TCP, metrics 9153/TCP — but no selector: the DNS is served by the agents on their nodes'
// addresses, not by pods, and a selector would have the EndpointSlice controller own an empty slice
// for pods that never exist.
//
// Endpoints: one EndpointSlice per node (`kube-dns-<node>`, one per address family), written only by
// that node's agent. Why not one shared object: agents come and go independently; with one slice
// every agent would read-modify-write the same object (conflicts under churn) and a node that died
// would stay listed until someone else noticed. With one per node, each agent owns its own slice
// outright, the slice carries an ownerReference to its Node so the garbage collector removes it with
// the Node, and the agent withdraws it when it stops. Consumers (the proxy, DNS itself) already merge
// every slice labelled kubernetes.io/service-name=kube-dns.
import { isIP } from 'node:net';
import type { KObject } from '../api/meta.ts';
import type { Client } from '../client/client.ts';
import { realClock, type Clock, type Timer } from '../client/clock.ts';

export const KUBE_DNS_NAMESPACE = 'kube-system';
export const KUBE_DNS_NAME = 'kube-dns';
/** endpointslice.kubernetes.io/managed-by of the agents' slices (the EndpointSlice controller leaves them alone). */
export const DNS_ENDPOINTS_MANAGER = 'agent.rudder.io';
export const METRICS_PORT = 9153;

const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

export const KUBE_DNS_LABELS: Readonly<Record<string, string>> = Object.freeze({ 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' });
const KUBE_DNS_ANNOTATIONS: Readonly<Record<string, string>> = Object.freeze({ 'prometheus.io/port': String(METRICS_PORT), 'prometheus.io/scrape': 'true' });
const SERVICE_PORTS = [
  { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
  { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
  { name: 'metrics', port: METRICS_PORT, protocol: 'TCP', targetPort: METRICS_PORT },
];

interface ServiceObject extends KObject {
  spec?: { clusterIP?: string; clusterIPs?: string[]; ports?: unknown[]; type?: string; ipFamilies?: string[]; ipFamilyPolicy?: string; selector?: Record<string, string> };
}

interface SliceObject extends KObject {
  addressType: string;
  endpoints: unknown[];
  ports: unknown[];
}

/** The kube-dns Service for the given ClusterIPs (the first is spec.clusterIP). Pure. */
export function kubeDnsService(clusterIPs: readonly string[]): ServiceObject {
  const families = clusterIPs.map((ip) => (isIP(ip) === 6 ? 'IPv6' : 'IPv4'));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: KUBE_DNS_NAMESPACE, name: KUBE_DNS_NAME, labels: { ...KUBE_DNS_LABELS }, annotations: { ...KUBE_DNS_ANNOTATIONS } },
    spec: {
      type: 'ClusterIP',
      clusterIP: clusterIPs[0],
      clusterIPs: [...clusterIPs],
      ipFamilies: families,
      ipFamilyPolicy: clusterIPs.length > 1 ? 'RequireDualStack' : 'SingleStack',
      ports: SERVICE_PORTS.map((p) => ({ ...p })),
    },
  };
}

function statusCode(e: unknown): number | undefined {
  return (e as { code?: number }).code;
}

/**
 * Creates the kube-dns Service, or brings an existing one's labels, annotations and ports to
 * upstream's. A Service holding other ClusterIPs is an error (ClusterIPs are immutable: the
 * cluster's --cluster-dns disagrees with what was created before).
 */
export async function ensureKubeDnsService(client: Client, clusterIPs: readonly string[]): Promise<ServiceObject> {
  const rc = client.resource<ServiceObject>('', 'services').namespace(KUBE_DNS_NAMESPACE);
  const want = kubeDnsService(clusterIPs);
  let cur: ServiceObject;
  try {
    cur = await rc.get(KUBE_DNS_NAME);
  } catch (e) {
    if (statusCode(e) !== 404) throw e;
    try {
      return await rc.create(want);
    } catch (e2) {
      if (statusCode(e2) !== 409) throw e2;
      cur = await rc.get(KUBE_DNS_NAME);
    }
  }
  const have = cur.spec?.clusterIPs?.length ? cur.spec.clusterIPs : [cur.spec?.clusterIP ?? ''];
  if (have[0] !== clusterIPs[0]) throw new Error(`service ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_NAME} has ClusterIP ${have.join(',')}, not the cluster DNS address ${clusterIPs.join(',')}`);
  const labels = { ...cur.metadata.labels, ...KUBE_DNS_LABELS };
  const annotations = { ...cur.metadata.annotations, ...KUBE_DNS_ANNOTATIONS };
  const portsOf = (ps: unknown[] | undefined) => JSON.stringify((ps ?? []).map((p) => { const q = p as Record<string, unknown>; return [q.name, q.port, q.protocol, q.targetPort]; }));
  if (JSON.stringify(labels) === JSON.stringify(cur.metadata.labels) && JSON.stringify(annotations) === JSON.stringify(cur.metadata.annotations) && portsOf(cur.spec?.ports) === portsOf(want.spec!.ports)) return cur;
  return rc.update({ ...cur, metadata: { ...cur.metadata, labels, annotations }, spec: { ...cur.spec, ports: want.spec!.ports } });
}

/** The EndpointSlices publishing a node's DNS addresses, one per address family. Pure. */
export function dnsEndpointSlices(o: { nodeName: string; nodeUid?: string; addresses: readonly string[]; ready: boolean }): SliceObject[] {
  const out: SliceObject[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    const addrs = o.addresses.filter((a) => (isIP(a) === 6 ? 'IPv6' : 'IPv4') === family && isIP(a));
    if (!addrs.length) continue;
    out.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        namespace: KUBE_DNS_NAMESPACE,
        name: family === 'IPv4' ? `${KUBE_DNS_NAME}-${o.nodeName}` : `${KUBE_DNS_NAME}-${o.nodeName}-ipv6`,
        labels: { [LABEL_SERVICE_NAME]: KUBE_DNS_NAME, [LABEL_MANAGED_BY]: DNS_ENDPOINTS_MANAGER, ...KUBE_DNS_LABELS },
        ownerReferences: o.nodeUid ? [{ apiVersion: 'v1', kind: 'Node', name: o.nodeName, uid: o.nodeUid }] : undefined,
      },
      addressType: family,
      // one endpoint per address: each is a server of its own
      endpoints: addrs.map((a) => ({ addresses: [a], nodeName: o.nodeName, conditions: { ready: o.ready, serving: o.ready, terminating: false } })),
      ports: SERVICE_PORTS.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol })),
    });
  }
  return out;
}

export interface DnsEndpointPublisherOptions {
  /** A client allowed to write EndpointSlices in kube-system (and get Nodes, and the Service when clusterIPs is set). */
  client: Client;
  nodeName: string;
  /** The addresses the node's DNS serves on. */
  addresses: readonly string[];
  /** Also ensure the kube-dns Service with these ClusterIPs (--cluster-dns). */
  clusterIPs?: readonly string[];
  /** How often the slices are checked and repaired (ms; default 30 s). */
  resyncMs?: number;
  clock?: Clock;
  log?: (msg: string) => void;
}

export interface DnsEndpointPublisher {
  /** Resolves once the node's slices (and the Service, if asked) are written. */
  ready(): Promise<void>;
  /** Stops; by default deletes the node's slices so no one is sent to a server that is gone. */
  stop(o?: { withdraw?: boolean }): Promise<void>;
}

/** What the publisher owns of a slice, as a string to compare (fields the API adds are left out). */
function sliceShape(s: SliceObject): string {
  const eps = (s.endpoints as { addresses?: string[]; nodeName?: string; conditions?: { ready?: boolean } }[]).map((e) => [e.addresses, e.nodeName, e.conditions?.ready]);
  const ports = (s.ports as { name?: string; port?: number; protocol?: string }[]).map((p) => [p.name, p.port, p.protocol]);
  const labels = Object.entries(s.metadata.labels ?? {}).sort();
  return JSON.stringify([labels, (s.metadata.ownerReferences ?? []).map((r) => r.uid), s.addressType, eps, ports]);
}

/** Keeps this node's endpoint of kube-dns published: written at start, repaired every resyncMs. */
export function startDnsEndpointPublisher(o: DnsEndpointPublisherOptions): DnsEndpointPublisher {
  const clock = o.clock ?? realClock;
  const log = (m: string) => (o.log ?? (() => {}))(`dns endpoints: ${m}`);
  const slices = o.client.resource<SliceObject>('discovery.k8s.io', 'endpointslices').namespace(KUBE_DNS_NAMESPACE);
  let stopped = false;
  let timer: Timer | undefined;
  let running: Promise<void> | undefined;
  let failures = 0;
  let readyResolve!: () => void;
  const readyPromise = new Promise<void>((r) => (readyResolve = r));

  const nodeUid = async (): Promise<string | undefined> => {
    try {
      return (await o.client.resource('', 'nodes').get(o.nodeName)).metadata.uid;
    } catch {
      return undefined; // not registered yet: published without an owner, adopted on a later pass
    }
  };

  const reconcile = async (): Promise<void> => {
    if (o.clusterIPs?.length) await ensureKubeDnsService(o.client, o.clusterIPs);
    const uid = await nodeUid();
    for (const want of dnsEndpointSlices({ nodeName: o.nodeName, nodeUid: uid, addresses: o.addresses, ready: true })) {
      let cur: SliceObject | undefined;
      try {
        cur = await slices.get(want.metadata.name!);
      } catch (e) {
        if (statusCode(e) !== 404) throw e;
      }
      if (!cur) {
        await slices.create(want);
        log(`published ${o.addresses.join(', ')} as ${want.metadata.name}`);
        continue;
      }
      if (sliceShape(cur) === sliceShape(want)) continue;
      await slices.update({ ...want, metadata: { ...want.metadata, resourceVersion: cur.metadata.resourceVersion } });
    }
  };

  const pass = () => {
    if (stopped) return;
    running = reconcile().then(
      () => {
        failures = 0;
        readyResolve();
        schedule(o.resyncMs ?? 30_000);
      },
      (e: Error) => {
        failures++;
        log(`${e.message} (retrying)`);
        schedule(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
      },
    );
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = clock.setTimeout(pass, ms);
  };
  pass();

  return {
    ready: () => readyPromise,
    async stop(so = {}) {
      stopped = true;
      timer?.cancel();
      await running;
      if (so.withdraw === false) return;
      for (const s of dnsEndpointSlices({ nodeName: o.nodeName, addresses: o.addresses, ready: false })) {
        try {
          await slices.delete(s.metadata.name!);
        } catch (e) {
          if (statusCode(e) !== 404) log(`withdrawing ${s.metadata.name}: ${(e as Error).message}`);
        }
      }
    },
  };
}

// The built-in service load balancer (k3s's ServiceLB, without its per-Service pods): every
// LoadBalancer Service without a loadBalancerClass gets the InternalIPs of the Ready nodes as
// status.loadBalancer.ingress (ipMode VIP), so nothing stays <pending>; each node's proxy then
// answers on its own address at the Service's ports (LoadBalancer VIPs in the proxy's rules).
//
// As with ServiceLB, where a node's load balancer pod holds hostPorts, a node serves a port and
// protocol for one LoadBalancer Service only: the oldest (creationTimestamp, then namespace/name)
// wins, and a younger Service wanting the same port does not get that node's address.
//
// Events and controller name are upstream's service controller's (cloud-provider). The status is
// written through the status subresource with a merge patch; a Service that stops being a
// LoadBalancer has its ingress cleared (one with a loadBalancerClass is left to its implementation).
import type { KObject } from '../../api/meta.ts';
import { EVENT_TYPE_NORMAL } from '../../client/events.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { isNotFound } from '../cluster/errors.ts';
import { getCondition } from '../cluster/objects.ts';
import { keyOf, runWorkers, splitKey, type Controller } from '../controller.ts';

export const CONTROLLER_NAME = 'service-lb-controller';

interface ServicePortLike {
  port: number;
  protocol?: string;
}

interface LBService extends KObject {
  spec?: { type?: string; loadBalancerClass?: string; ports?: ServicePortLike[]; ipFamilies?: string[] };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string; ipMode?: string }> } };
}

interface NodeLike extends KObject {
  spec?: { unschedulable?: boolean };
  status?: { addresses?: Array<{ type: string; address: string }> };
}

export interface IngressIP {
  ip: string;
  ipMode: 'VIP';
}

/** Handled here: type LoadBalancer without a loadBalancerClass (a class names another implementation). */
export function wantsLoadBalancer(svc: LBService): boolean {
  return svc.spec?.type === 'LoadBalancer' && !svc.spec.loadBalancerClass;
}

function family(ip: string): 'IPv4' | 'IPv6' {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

function ipSortKey(ip: string): string {
  if (family(ip) === 'IPv4') return '4' + ip.split('.').map((p) => p.padStart(3, '0')).join('.');
  return '6' + ip;
}

/** Ready, not being deleted: the nodes whose addresses serve LoadBalancers, each with its InternalIPs. */
export function servingNodes(nodes: readonly NodeLike[]): Array<{ name: string; ips: string[] }> {
  return nodes
    .filter((n) => !n.metadata.deletionTimestamp && getCondition(n, 'Ready')?.status === 'True')
    .map((n) => ({ name: n.metadata.name ?? '', ips: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address) }))
    .filter((n) => n.ips.length > 0);
}

function age(a: LBService, b: LBService): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  const ka = keyOf(a);
  const kb = keyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The ingress of every handled LoadBalancer Service (by namespace/name): the addresses of the
 * serving nodes none of whose wanted ports an older Service already holds, in the Service's IP
 * families (IPv4 when it names none), sorted.
 */
export function assignIngress(services: readonly LBService[], nodes: readonly NodeLike[]): Map<string, IngressIP[]> {
  const serving = servingNodes(nodes);
  const held = new Set<string>(); // node/protocol/port
  const out = new Map<string, IngressIP[]>();
  for (const svc of services.filter(wantsLoadBalancer).sort(age)) {
    const ports = (svc.spec?.ports ?? []).map((p) => `${(p.protocol ?? 'TCP').toUpperCase()}/${p.port}`);
    const families = new Set(svc.spec?.ipFamilies?.length ? svc.spec.ipFamilies : ['IPv4']);
    const ips: string[] = [];
    for (const n of serving) {
      if (ports.some((p) => held.has(`${n.name}/${p}`))) continue;
      for (const p of ports) held.add(`${n.name}/${p}`);
      for (const ip of n.ips) if (families.has(family(ip))) ips.push(ip);
    }
    ips.sort((a, b) => (ipSortKey(a) < ipSortKey(b) ? -1 : 1));
    out.set(keyOf(svc), [...new Set(ips)].map((ip) => ({ ip, ipMode: 'VIP' as const })));
  }
  return out;
}

function sameIngress(cur: LBService['status'], want: IngressIP[]): boolean {
  const have = cur?.loadBalancer?.ingress ?? [];
  return have.length === want.length && have.every((h, i) => h.ip === want[i]!.ip && !h.hostname && (h.ipMode ?? 'VIP') === want[i]!.ipMode);
}

export const serviceLBController: Controller = {
  name: CONTROLLER_NAME,
  setup(ctx) {
    const services = ctx.informers.informerFor<LBService>('', 'services');
    const nodes = ctx.informers.informerFor<NodeLike>('', 'nodes');
    const recorder = ctx.recorder(CONTROLLER_NAME);
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: CONTROLLER_NAME });
    const client = ctx.client.resource<LBService>('', 'services');

    // A port one Service holds on a node decides what others get: any change to a LoadBalancer
    // Service, or to a node, re-evaluates them all (there are few).
    const enqueueAll = () => {
      for (const s of services.lister().list()) if (wantsLoadBalancer(s) || s.status?.loadBalancer?.ingress?.length) queue.add(keyOf(s));
    };
    services.addEventHandler({
      onAdd: (s) => (wantsLoadBalancer(s) ? enqueueAll() : s.status?.loadBalancer?.ingress?.length ? queue.add(keyOf(s)) : undefined),
      onUpdate: (a, b) => {
        if (wantsLoadBalancer(a) !== wantsLoadBalancer(b) || JSON.stringify(a.spec?.ports) !== JSON.stringify(b.spec?.ports) || JSON.stringify(a.spec?.ipFamilies) !== JSON.stringify(b.spec?.ipFamilies)) enqueueAll();
        else if (wantsLoadBalancer(b)) queue.add(keyOf(b));
      },
      onDelete: (s) => {
        if (wantsLoadBalancer(s)) enqueueAll();
      },
    });
    const nodeFacts = (n: NodeLike) => JSON.stringify([getCondition(n, 'Ready')?.status, n.status?.addresses, !!n.metadata.deletionTimestamp]);
    nodes.addEventHandler({
      onAdd: () => enqueueAll(),
      onUpdate: (a, b) => nodeFacts(a) !== nodeFacts(b) && enqueueAll(),
      onDelete: () => enqueueAll(),
    });

    const sync = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const svc = services.lister().namespace(namespace).get(name);
      if (!svc) return;
      const ensuring = wantsLoadBalancer(svc);
      // a Service with a loadBalancerClass belongs to another implementation; one that is no
      // longer a LoadBalancer keeps no ingress
      if (!ensuring && svc.spec?.loadBalancerClass) return;
      const want = ensuring ? (assignIngress(services.lister().list(), nodes.lister().list()).get(key) ?? []) : [];
      if (sameIngress(svc.status, want)) return;
      if (ensuring) recorder.event(svc, EVENT_TYPE_NORMAL, 'EnsuringLoadBalancer', 'Ensuring load balancer');
      else recorder.event(svc, EVENT_TYPE_NORMAL, 'DeletingLoadBalancer', 'Deleting load balancer');
      try {
        await client.namespace(namespace).patch(name, 'merge', { status: { loadBalancer: want.length ? { ingress: want } : { ingress: null } } }, { subresource: 'status' });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      if (ensuring) recorder.event(svc, EVENT_TYPE_NORMAL, 'EnsuredLoadBalancer', 'Ensured load balancer');
      else recorder.event(svc, EVENT_TYPE_NORMAL, 'DeletedLoadBalancer', 'Deleted load balancer');
    };
    return { run: (signal) => runWorkers(queue, 1, sync, signal, ctx.log, CONTROLLER_NAME) };
  },
};

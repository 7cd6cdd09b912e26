// Host-gateway routing between nodes, as pure functions: which routes this node wants (each other
// node's pod CIDR via that node's InternalIP) and what to change in the kernel's table to get there.
// Only routes this code installs carry ROUTE_PROTOCOL, so nothing else in the table (the agent's
// blackhole routes, the pod bridge's link route, addresses' own routes) is ever touched.
import { isIPv4 } from 'node:net';
import type { Node } from '../proxy/types.ts';

/** The `proto` our routes carry (unassigned in iproute2's rt_protos). */
export const ROUTE_PROTOCOL = '201';

export interface NodeRouteInfo {
  name: string;
  podCIDRs: string[];
  internalIPs: string[];
}

export function nodeRouteInfo(node: Node): NodeRouteInfo {
  const spec = node.spec ?? {};
  const cidrs = spec.podCIDRs?.length ? spec.podCIDRs : spec.podCIDR ? [spec.podCIDR] : [];
  return {
    name: node.metadata.name ?? '',
    podCIDRs: cidrs.filter((c) => isIPv4(c.split('/')[0] ?? '')),
    internalIPs: (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' && isIPv4(a.address)).map((a) => a.address),
  };
}

export interface DesiredRoute {
  /** A pod CIDR of another node. */
  dst: string;
  /** That node's InternalIP. */
  via: string;
  node: string;
}

/** Every other node's IPv4 pod CIDRs via its first IPv4 InternalIP (nodes lacking either are skipped). */
export function desiredRoutes(nodes: readonly NodeRouteInfo[], self: string): DesiredRoute[] {
  const out: DesiredRoute[] = [];
  const taken = new Set<string>();
  for (const n of [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (n.name === self || !n.internalIPs.length) continue;
    for (const dst of n.podCIDRs) {
      // two nodes claiming one CIDR (a transient IPAM state): the first by name keeps it
      if (taken.has(dst)) continue;
      taken.add(dst);
      out.push({ dst, via: n.internalIPs[0]!, node: n.name });
    }
  }
  return out;
}

/** A route as `ip -j route show` prints it. */
export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  type?: string;
}

/** Where the kernel would send a packet to an address (`ip -j route get`); undefined: nowhere (blackhole, unreachable). */
export interface RouteLookup {
  dev?: string;
  gateway?: string;
  type?: string;
}

/**
 * Whether an address is on a directly attached link: the kernel reaches it without a gateway,
 * through a real device, and it is not one of this host's own addresses.
 */
export function onLocalLink(r: RouteLookup | undefined): r is RouteLookup & { dev: string } {
  if (!r || !r.dev || r.gateway) return false;
  if (r.dev === 'lo') return false;
  return r.type === undefined || r.type === 'unicast';
}

export interface RoutePlan {
  /** `ip route replace <dst> via <via> dev <dev> proto ROUTE_PROTOCOL` */
  replace: Array<{ dst: string; via: string; dev: string }>;
  /** our routes to remove */
  remove: KernelRoute[];
  /** wanted, but the gateway is not on a local link: not installed (never route via an unreachable gateway) */
  skipped: DesiredRoute[];
}

/**
 * What to do to the kernel: `current` are the routes carrying our protocol; `lookups` the
 * kernel's answer for each wanted gateway.
 */
export function planRoutes(desired: readonly DesiredRoute[], current: readonly KernelRoute[], lookups: ReadonlyMap<string, RouteLookup | undefined>): RoutePlan {
  const plan: RoutePlan = { replace: [], remove: [], skipped: [] };
  const want = new Map<string, { via: string; dev: string }>();
  for (const d of desired) {
    const l = lookups.get(d.via);
    if (!onLocalLink(l)) {
      plan.skipped.push(d);
      continue;
    }
    want.set(d.dst, { via: d.via, dev: l.dev });
  }
  const have = new Map<string, KernelRoute>();
  for (const r of current) {
    const w = want.get(r.dst);
    if (!w || have.has(r.dst)) plan.remove.push(r);
    else have.set(r.dst, r);
  }
  for (const [dst, w] of want) {
    const h = have.get(dst);
    if (h && h.gateway === w.via && h.dev === w.dev && (h.type === undefined || h.type === 'unicast')) continue;
    plan.replace.push({ dst, via: w.via, dev: w.dev });
  }
  return plan;
}

/** The nft transaction for pod masquerading: traffic from pods leaving the cluster CIDR, not pod-to-pod. */
export function masqueradeScript(table: string, clusterCidrs: readonly string[]): string {
  const v4 = clusterCidrs.filter((c) => isIPv4(c.split('/')[0] ?? ''));
  const lines = [`add table ip ${table}`, `delete table ip ${table}`, `add table ip ${table} { comment "rudder pod network" ; }`, `add chain ip ${table} postrouting { type nat hook postrouting priority 100 ; }`];
  if (v4.length) {
    const set = `{ ${v4.join(', ')} }`;
    // multicast stays unmasqueraded (as flannel does)
    lines.push(`add rule ip ${table} postrouting ip saddr ${set} ip daddr != ${set} ip daddr != 224.0.0.0/4 masquerade fully-random comment "pods reaching outside the cluster CIDR"`);
  }
  return lines.join('\n') + '\n';
}

// A Service port's endpoints from its EndpointSlices (upstream's endpointslicecache.go) and their
// split by traffic policy and topology (upstream's topology.go CategorizeEndpoints).
import { isIPv4, isIPv6 } from 'node:net';
import type { IPFamily, ServicePortInfo } from './service-ports.ts';
import { usesClusterEndpoints, usesLocalEndpoints } from './service-ports.ts';
import { LABEL_TOPOLOGY_ZONE, type EndpointSlice } from './types.ts';

export interface EndpointInfo {
  ip: string;
  port: number;
  /** ready (absent means true) */
  ready: boolean;
  /** serving (absent means true) */
  serving: boolean;
  terminating: boolean;
  /** On this node. */
  local: boolean;
  nodeName: string;
  zone: string;
  zoneHints?: ReadonlySet<string>;
}

/** "ip:port", the endpoint's identity and sort key (upstream's Endpoint.String for IPv4). */
export function endpointString(ep: EndpointInfo): string {
  return ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}

/**
 * The endpoints of one Service port: every slice's endpoint with an address of the family, on the
 * slice port of the same name and protocol, deduplicated by ip:port (a local copy wins), sorted.
 */
export function endpointsForPort(
  slices: readonly EndpointSlice[],
  portName: string,
  protocol: string,
  nodeName: string,
  family: IPFamily = 'IPv4',
): EndpointInfo[] {
  const byKey = new Map<string, EndpointInfo>();
  const wantProto = protocol.toUpperCase();
  for (const slice of slices) {
    if (slice.addressType && slice.addressType !== family) continue;
    for (const p of slice.ports ?? []) {
      if ((p.name ?? '') !== portName || (p.protocol ?? 'TCP').toUpperCase() !== wantProto) continue;
      if (!p.port) continue;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (!ip || !(family === 'IPv4' ? isIPv4(ip) : isIPv6(ip))) continue;
        const local = !!nodeName && ep.nodeName === nodeName;
        const c = ep.conditions ?? {};
        const info: EndpointInfo = {
          ip,
          port: p.port,
          ready: c.ready === undefined || c.ready === null || c.ready === true,
          serving: c.serving === undefined || c.serving === null || c.serving === true,
          terminating: c.terminating === true,
          local,
          nodeName: ep.nodeName ?? '',
          zone: ep.zone ?? '',
          zoneHints: ep.hints?.forZones?.length ? new Set(ep.hints.forZones.map((z) => z.name)) : undefined,
        };
        const key = endpointString(info);
        if (!byKey.has(key) || local) byKey.set(key, info);
      }
    }
  }
  const keys = [...byKey.keys()].sort();
  return keys.map((k) => byKey.get(k)!);
}

export interface CategorizedEndpoints {
  /** Usable endpoints for Cluster traffic policy (empty when the port never uses it). */
  cluster: EndpointInfo[];
  /** Usable endpoints for Local traffic policy (empty when the port never uses it). */
  local: EndpointInfo[];
  /** The union: every endpoint this node may send to. */
  allReachable: EndpointInfo[];
  /** Usable endpoints exist somewhere in the cluster (possibly none reachable from here). */
  hasAnyEndpoints: boolean;
}

/**
 * "Usable" means ready; when no endpoint is ready, serving-and-terminating ones are used instead
 * (separately for Cluster and Local). Zone hints narrow Cluster endpoints when every ready
 * endpoint has one and some are for this node's zone.
 */
export function categorizeEndpoints(endpoints: readonly EndpointInfo[], sp: ServicePortInfo, nodeLabels: Readonly<Record<string, string>> = {}): CategorizedEndpoints {
  const out: CategorizedEndpoints = { cluster: [], local: [], allReachable: [], hasAnyEndpoints: false };
  if (endpoints.length === 0) return out;
  let topologyZone: string | undefined;
  if (usesClusterEndpoints(sp)) {
    topologyZone = zoneFromHints(endpoints, nodeLabels[LABEL_TOPOLOGY_ZONE] ?? '');
    out.cluster = endpoints.filter((ep) => ep.ready && (topologyZone === undefined || !!ep.zoneHints?.has(topologyZone)));
    if (out.cluster.length === 0) out.cluster = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (out.cluster.length > 0) out.hasAnyEndpoints = true;
  }
  if (!usesLocalEndpoints(sp)) {
    out.allReachable = out.cluster;
    return out;
  }
  let localReady = false;
  let localServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      out.hasAnyEndpoints = true;
      if (ep.local) localReady = true;
    } else if (ep.serving && ep.terminating) {
      out.hasAnyEndpoints = true;
      if (ep.local) localServingTerminating = true;
    }
  }
  let usingTerminating = false;
  if (localReady) out.local = endpoints.filter((ep) => ep.local && ep.ready);
  else if (localServingTerminating) {
    usingTerminating = true;
    out.local = endpoints.filter((ep) => ep.local && ep.serving && ep.terminating);
  }
  if (!usesClusterEndpoints(sp)) {
    out.allReachable = out.local;
    return out;
  }
  if (topologyZone === undefined && !usingTerminating) {
    // cluster holds every ready endpoint, so it includes every (ready) local one
    out.allReachable = out.cluster;
    return out;
  }
  const merged = new Map<string, EndpointInfo>();
  for (const ep of out.cluster) merged.set(endpointString(ep), ep);
  for (const ep of out.local) merged.set(endpointString(ep), ep);
  out.allReachable = [...merged.values()];
  return out;
}

/** The zone to prefer, when every ready endpoint has a zone hint and one is for this node's zone. */
function zoneFromHints(endpoints: readonly EndpointInfo[], zone: string): string | undefined {
  let anyReady = false;
  let allHinted = true;
  let forZone = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    anyReady = true;
    if (!ep.zoneHints?.size) allHinted = false;
    else if (ep.zoneHints.has(zone)) forZone = true;
  }
  return anyReady && allHinted && forZone ? zone : undefined;
}

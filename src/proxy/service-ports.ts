// A Service as the proxy sees it: one ServicePortInfo per port, as upstream's
// pkg/proxy/serviceport.go builds them (newBaseServiceInfo), for one IP family.
import { isIPv4, isIPv6 } from 'node:net';
import type { Service } from './types.ts';

export type Protocol = 'tcp' | 'udp' | 'sctp';
export type IPFamily = 'IPv4' | 'IPv6';

export interface ServicePortInfo {
  /** namespace/name of the Service. */
  svcKey: string;
  namespace: string;
  name: string;
  /** The port's name ("" when unnamed); with the protocol it selects EndpointSlice ports. */
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** 0 when the port has none. */
  nodePort: number;
  externalIPs: string[];
  /** status.loadBalancer.ingress IPs in VIP mode (ipMode Proxy is left to the load balancer). */
  loadBalancerVIPs: string[];
  loadBalancerSourceRanges: string[];
  /** sessionAffinity ClientIP's timeout; 0 when the Service has no session affinity. */
  stickyMaxAgeSeconds: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
}

/** upstream's default for sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
export const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800;

function inFamily(ip: string, family: IPFamily): boolean {
  return family === 'IPv4' ? isIPv4(ip) : isIPv6(ip);
}

function cidrInFamily(cidr: string, family: IPFamily): boolean {
  const slash = cidr.indexOf('/');
  return slash > 0 && inFamily(cidr.slice(0, slash), family);
}

/** upstream's ShouldSkipService: headless (clusterIP None or empty) and ExternalName Services are DNS's business. */
export function shouldSkipService(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  if (!ip || ip === 'None') return true;
  return svc.spec?.type === 'ExternalName';
}

/** apiservice.ExternallyAccessible: LoadBalancer, NodePort, or ClusterIP with externalIPs. */
function serviceExternallyAccessible(svc: Service): boolean {
  const t = svc.spec?.type ?? 'ClusterIP';
  return t === 'LoadBalancer' || t === 'NodePort' || (t === 'ClusterIP' && (svc.spec?.externalIPs?.length ?? 0) > 0);
}

function clusterIPForFamily(svc: Service, family: IPFamily): string | undefined {
  const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec?.clusterIP ? [svc.spec.clusterIP] : [];
  return ips.find((ip) => inFamily(ip, family));
}

/** The Service's ports for one family; none for a skipped Service or one without an IP of the family. */
export function servicePorts(svc: Service, family: IPFamily = 'IPv4'): ServicePortInfo[] {
  if (shouldSkipService(svc)) return [];
  const clusterIP = clusterIPForFamily(svc, family);
  if (!clusterIP) return [];
  const spec = svc.spec ?? {};
  const namespace = svc.metadata.namespace ?? '';
  const name = svc.metadata.name ?? '';
  const externalPolicyLocal = serviceExternallyAccessible(svc) && spec.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  const sticky = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_CLIENT_IP_TIMEOUT_SECONDS) : 0;
  const externalIPs = (spec.externalIPs ?? []).filter((ip) => inFamily(ip, family));
  // LoadBalancerSourceRanges validation allows whitespace padding.
  const sourceRanges = (spec.loadBalancerSourceRanges ?? []).map((s) => s.trim()).filter((c) => cidrInFamily(c, family));
  const vips: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (!ing.ip || ing.ipMode === 'Proxy') continue;
    if (inFamily(ing.ip, family)) vips.push(ing.ip);
  }
  return (spec.ports ?? []).map((p) => ({
    svcKey: `${namespace}/${name}`,
    namespace,
    name,
    portName: p.name ?? '',
    protocol: ((p.protocol ?? 'TCP').toLowerCase() as Protocol),
    clusterIP,
    port: p.port,
    nodePort: p.nodePort ?? 0,
    externalIPs,
    loadBalancerVIPs: vips,
    loadBalancerSourceRanges: sourceRanges,
    stickyMaxAgeSeconds: sticky,
    externalPolicyLocal,
    internalPolicyLocal,
  }));
}

/** Reachable through something other than its ClusterIP (NodePort, ExternalIP, LoadBalancer). */
export function externallyAccessible(sp: ServicePortInfo): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
}

/** Ever sends traffic by the Cluster policy (internal Cluster, or any external traffic: Local short-circuits need it). */
export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

/** Ever sends traffic by the Local policy. */
export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}

// A pod's DNS configuration (what the runtime writes as the sandbox's resolv.conf), as upstream's
// pkg/kubelet/network/dns: by dnsPolicy, from the cluster DNS and domain, the node's resolv.conf
// (--resolv-conf) and the pod's dnsConfig, within the resolver's limits. Pure.
import type { DNSConfig } from './runtime/runtime.ts';
import type { Pod, PodDNSConfig } from './api-types.ts';

/** glibc's limits, as upstream (validation.MaxDNSNameservers etc.). */
export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;

export interface HostDnsConfig {
  nameservers: string[];
  searches: string[];
  options: string[];
}

/** Parses resolv.conf text (the last search/domain line wins, as in glibc). */
export function parseResolvConf(text: string): HostDnsConfig {
  const out: HostDnsConfig = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...fields] = line.split(/\s+/);
    if (key === 'nameserver' && fields[0]) out.nameservers.push(fields[0]);
    else if (key === 'search') out.searches = fields.map((f) => (f.endsWith('.') && f !== '.' ? f.slice(0, -1) : f));
    else if (key === 'domain' && fields[0]) out.searches = [fields[0]];
    else if (key === 'options') out.options.push(...fields);
  }
  return out;
}

export interface DnsSettings {
  clusterDNS: string[];
  clusterDomain: string;
  /** The node's resolver configuration; undefined when --resolv-conf is empty. */
  host?: HostDnsConfig;
  nodeIPs: string[];
}

export type PodDnsType = 'cluster' | 'host' | 'none';

/** upstream's getPodDNSType. */
export function podDnsType(pod: Pod): PodDnsType {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  switch (policy) {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'ClusterFirst':
      return pod.spec.hostNetwork ? 'host' : 'cluster';
    default:
      return 'host';
  }
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function mergeOptions(base: string[], extra: PodDNSConfig['options']): string[] {
  const m = new Map<string, string>();
  for (const o of base) {
    const i = o.indexOf(':');
    m.set(i < 0 ? o : o.slice(0, i), o);
  }
  for (const o of extra ?? []) m.set(o.name, o.value !== undefined && o.value !== '' ? `${o.name}:${o.value}` : o.name);
  return [...m.values()];
}

export interface PodDnsResult {
  config: DNSConfig;
  /** Set when the configuration had to be cut to fit the resolver's limits (upstream's DNSConfigForming event). */
  warning?: string;
  /** Set when ClusterFirst was asked for without a cluster DNS (upstream's MissingClusterDNS event). */
  missingClusterDns?: boolean;
}

/** The pod's DNS configuration (upstream's GetPodDNS). */
export function podDnsConfig(pod: Pod, s: DnsSettings): PodDnsResult {
  let type = podDnsType(pod);
  const host = s.host ?? { nameservers: [], searches: [], options: [] };
  let config: Required<DNSConfig> = { servers: [...host.nameservers], searches: [...host.searches], options: [...host.options] };
  let missingClusterDns = false;
  if (type === 'cluster' && s.clusterDNS.length === 0) {
    missingClusterDns = true;
    type = 'host';
  }
  if (type === 'cluster') {
    const ns = pod.metadata.namespace ?? '';
    const d = s.clusterDomain;
    config = {
      servers: [...s.clusterDNS],
      searches: unique([`${ns}.svc.${d}`, `svc.${d}`, d, ...host.searches]),
      options: ['ndots:5'],
    };
  } else if (type === 'host') {
    if (!s.host) {
      // No resolv.conf: resolve on the local machine only (upstream's behaviour for --resolv-conf="").
      config.servers = s.nodeIPs.some((ip) => ip.includes(':')) ? ['::1'] : ['127.0.0.1'];
      config.searches = ['.'];
    }
  } else {
    config = { servers: [], searches: [], options: [] };
  }
  const dc = pod.spec.dnsConfig;
  if (dc) {
    config = {
      servers: unique([...config.servers, ...(dc.nameservers ?? [])]),
      searches: unique([...config.searches, ...(dc.searches ?? [])]),
      options: mergeOptions(config.options, dc.options),
    };
  }
  const warnings: string[] = [];
  if (config.servers.length > MAX_DNS_NAMESERVERS) {
    config.servers = config.servers.slice(0, MAX_DNS_NAMESERVERS);
    warnings.push(`Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${config.servers.join(' ')}`);
  }
  let searches = config.searches;
  if (searches.length > MAX_DNS_SEARCH_PATHS) searches = searches.slice(0, MAX_DNS_SEARCH_PATHS);
  while (searches.length && searches.join(' ').length > MAX_DNS_SEARCH_LIST_CHARS) searches = searches.slice(0, -1);
  if (searches.length !== config.searches.length) {
    config.searches = searches;
    warnings.push(`Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}`);
  }
  const out: PodDnsResult = { config };
  if (warnings.length) out.warning = warnings.join('; ');
  if (missingClusterDns) out.missingClusterDns = true;
  return out;
}

/** resolv.conf text for a DNS configuration (what a runtime writes; used for hostNetwork checks and tests). */
export function formatResolvConf(c: DNSConfig): string {
  let out = '';
  if (c.searches?.length) out += `search ${c.searches.join(' ')}\n`;
  for (const s of c.servers ?? []) out += `nameserver ${s}\n`;
  if (c.options?.length) out += `options ${c.options.join(' ')}\n`;
  return out;
}

// The rule computation: Services + EndpointSlices + this node → the nftables ruleset, as pure
// functions. Semantics are upstream's nftables proxier (pkg/proxy/nftables/proxier.go); the shape
// differs where upstream's would not scale on this machine's nft (1.0.6), which reads every chain
// of the table before each transaction:
//
// - Most Services own no chain at all. A Service IP (ClusterIP, externalIP, LoadBalancer VIP) or
//   NodePort maps, in @service-ips / @service-nodeports, to a chain shared by every Service with
//   the same policy and endpoint count, e.g. "svc-cluster-3". That chain picks the endpoint with
//   `numgen random mod 3` and DNATs through a map keyed by what the client connected to:
//   (destination IP, protocol, port, index) → endpoint IP . port. So a Service or endpoint change
//   is a handful of map elements, and the table holds a few dozen chains whatever its size.
// - A pod reaching itself through a Service (hairpin) is masqueraded in postrouting through
//   @hairpin-ips (each of this node's endpoint IPs paired with itself), not a rule per endpoint chain.
// - Services with sessionAffinity ClientIP keep upstream's shape exactly: per-Service policy and
//   external chains, one chain and one timeout set per endpoint ("affinity-…"), and `numgen random
//   mod N` into a vmap of endpoint chains. So do LoadBalancerSourceRanges firewall chains.
//
// Endpoint choice (ready, else serving+terminating; Local policies; zone hints), the verdicts for
// Services without usable endpoints (reject when none anywhere, drop when only none local), the
// masquerading decisions and every static chain, set and priority follow upstream.
import { categorizeEndpoints, endpointsForPort, type EndpointInfo } from './endpoints.ts';
import type { ChainSpec, Contribution, Element, Ruleset, SetSpec } from './model.ts';
import { servicePortChainNameBase, servicePortEndpointChainNameBase } from './model.ts';
import { externallyAccessible, servicePorts, usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './service-ports.ts';
import type { EndpointSlice, Service } from './types.ts';

export interface ProxyRulesConfig {
  /** This node's name: endpoints whose nodeName equals it are local. */
  nodeName: string;
  /** The node's IPv4 addresses: NodePorts answer on these (upstream nftables' default, "primary"). */
  nodeIPs: readonly string[];
  /** The node's labels (topology.kubernetes.io/zone selects zone hints). */
  nodeLabels?: Readonly<Record<string, string>>;
  /** The IPv4 cluster (pod) CIDR: traffic from it is "local" (upstream's ClusterCIDR detector). Empty: no detector. */
  clusterCidr?: string;
  /** IPv4 service CIDRs: traffic to an unallocated ClusterIP in them is dropped. */
  serviceCidrs: readonly string[];
  /** The packet mark bit for masquerading (upstream's --masquerade-bit, 14). */
  masqueradeBit?: number;
}

// static chains
export const CHAIN = {
  filterPrerouting: 'filter-prerouting',
  filterPreroutingPostDnat: 'filter-prerouting-post-dnat',
  filterInput: 'filter-input',
  filterForward: 'filter-forward',
  filterOutput: 'filter-output',
  filterOutputPostDnat: 'filter-output-post-dnat',
  natPrerouting: 'nat-prerouting',
  natOutput: 'nat-output',
  natPostrouting: 'nat-postrouting',
  services: 'services',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  reject: 'reject-chain',
  clusterIPsCheck: 'cluster-ips-check',
  firewallCheck: 'firewall-check',
  markMasq: 'mark-for-masquerade',
  masquerading: 'masquerading',
} as const;

// sets and maps
export const SET = {
  clusterIPs: 'cluster-ips',
  nodePortIPs: 'nodeport-ips',
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
  firewallIPs: 'firewall-ips',
  hairpin: 'hairpin-ips',
} as const;

const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
type Policy = 'cluster' | 'local';

const DNAT_BY_ADDRESS_KEY = 'ip daddr . meta l4proto . th dport . numgen random mod';
const DNAT_BY_NODEPORT_KEY = 'meta l4proto . th dport . numgen random mod';

/**
 * The DNAT maps: endpoints by what the client connected to. One per protocol because their value
 * type is declared `ip daddr . tcp dport` (…udp, sctp): nft 1.0.6 cannot read back a map whose
 * value type is `ip daddr . th dport` from the kernel ("conflicting protocols specified"), and the
 * protocol-specific form makes nft add the matching `meta l4proto` check to the DNAT rule.
 */
export function endpointMapName(byNodePort: boolean, policy: Policy, protocol: string): string {
  return `${byNodePort ? 'nodeport-' : ''}${policy}-endpoints-${protocol}`;
}

function endpointMapNames(): string[] {
  const out: string[] = [];
  for (const np of [false, true]) for (const pol of ['cluster', 'local'] as const) for (const p of PROTOCOLS) out.push(endpointMapName(np, pol, p));
  return out;
}

export function masqueradeMark(bit = 14): string {
  return `0x${(1 << bit).toString(16).padStart(6, '0')}`;
}

/** The table's fixed part: base chains and their jumps, helper chains, and the (empty) sets and maps. */
export function baseRuleset(cfg: ProxyRulesConfig): { chains: ChainSpec[]; sets: SetSpec[]; elements: Element[] } {
  const mark = masqueradeMark(cfg.masqueradeBit);
  const ctNew = 'ct state new';
  const svcCidrs = cfg.serviceCidrs.filter((c) => c.includes('.'));
  const chains: ChainSpec[] = [
    // Filter chains see pre-DNAT destinations, so they run before DNAT (dstnat - 10). Upstream
    // rejects Service traffic without endpoints only in input/forward/output (kernels before 5.9
    // cannot reject in prerouting); here it is also done in prerouting, because on a node without
    // a default route, where the agent black-holes the service CIDR, such a packet never gets as
    // far as forward. Likewise for traffic to ClusterIPs that no rule DNATed (post-DNAT, + 10).
    { name: CHAIN.filterPrerouting, base: { type: 'filter', hook: 'prerouting', priority: -110 }, rules: [`${ctNew} jump ${CHAIN.firewallCheck}`, `${ctNew} jump ${CHAIN.serviceEndpointsCheck}`] },
    { name: CHAIN.filterPreroutingPostDnat, base: { type: 'filter', hook: 'prerouting', priority: -90 }, rules: [`${ctNew} jump ${CHAIN.clusterIPsCheck}`] },
    { name: CHAIN.filterInput, base: { type: 'filter', hook: 'input', priority: -110 }, rules: [`${ctNew} jump ${CHAIN.nodePortEndpointsCheck}`, `${ctNew} jump ${CHAIN.serviceEndpointsCheck}`] },
    { name: CHAIN.filterForward, base: { type: 'filter', hook: 'forward', priority: -110 }, rules: [`${ctNew} jump ${CHAIN.serviceEndpointsCheck}`, `${ctNew} jump ${CHAIN.clusterIPsCheck}`] },
    { name: CHAIN.filterOutput, base: { type: 'filter', hook: 'output', priority: -110 }, rules: [`${ctNew} jump ${CHAIN.serviceEndpointsCheck}`, `${ctNew} jump ${CHAIN.firewallCheck}`] },
    { name: CHAIN.filterOutputPostDnat, base: { type: 'filter', hook: 'output', priority: -90 }, rules: [`${ctNew} jump ${CHAIN.clusterIPsCheck}`] },
    { name: CHAIN.natPrerouting, base: { type: 'nat', hook: 'prerouting', priority: -100 }, rules: [`jump ${CHAIN.services}`] },
    { name: CHAIN.natOutput, base: { type: 'nat', hook: 'output', priority: -100 }, rules: [`jump ${CHAIN.services}`] },
    { name: CHAIN.natPostrouting, base: { type: 'nat', hook: 'postrouting', priority: 100 }, rules: [`jump ${CHAIN.masquerading}`] },
    { name: CHAIN.markMasq, rules: [`mark set mark or ${mark}`] },
    {
      name: CHAIN.masquerading,
      rules: [
        `ct status dnat ip saddr . ip daddr @${SET.hairpin} jump ${CHAIN.markMasq} comment "hairpin: a pod reaching itself through a Service"`,
        `mark and ${mark} == 0 return`,
        `mark set mark xor ${mark}`,
        'masquerade fully-random',
      ],
    },
    {
      name: CHAIN.clusterIPsCheck,
      rules: [
        `ip daddr @${SET.clusterIPs} reject comment "Reject traffic to invalid ports of ClusterIPs"`,
        ...(svcCidrs.length ? [`ip daddr { ${svcCidrs.join(', ')} } drop comment "Drop traffic to unallocated ClusterIPs"`] : []),
      ],
    },
    { name: CHAIN.reject, comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports', rules: ['reject'] },
    { name: CHAIN.serviceEndpointsCheck, rules: [`ip daddr . meta l4proto . th dport vmap @${SET.noEndpointServices}`] },
    { name: CHAIN.nodePortEndpointsCheck, rules: [`ip daddr @${SET.nodePortIPs} meta l4proto . th dport vmap @${SET.noEndpointNodePorts}`] },
    { name: CHAIN.firewallCheck, rules: [`ip daddr . meta l4proto . th dport vmap @${SET.firewallIPs}`] },
    {
      name: CHAIN.services,
      rules: [`ip daddr . meta l4proto . th dport vmap @${SET.serviceIPs}`, `ip daddr @${SET.nodePortIPs} meta l4proto . th dport vmap @${SET.serviceNodePorts}`],
    },
  ];
  const addrMap = 'type ipv4_addr . inet_proto . inet_service : verdict';
  const portMap = 'type inet_proto . inet_service : verdict';
  const sets: SetSpec[] = [
    { name: SET.clusterIPs, kind: 'set', type: 'type ipv4_addr', comment: 'Active ClusterIPs' },
    { name: SET.nodePortIPs, kind: 'set', type: 'type ipv4_addr', comment: 'IPs that accept NodePort traffic' },
    { name: SET.noEndpointServices, kind: 'map', type: addrMap, comment: 'vmap to drop or reject packets to services with no endpoints' },
    { name: SET.noEndpointNodePorts, kind: 'map', type: portMap, comment: 'vmap to drop or reject packets to service nodeports with no endpoints' },
    { name: SET.firewallIPs, kind: 'map', type: addrMap, comment: 'destinations that are subject to LoadBalancerSourceRanges' },
    { name: SET.serviceIPs, kind: 'map', type: addrMap, comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic' },
    { name: SET.serviceNodePorts, kind: 'map', type: portMap, comment: 'NodePort traffic' },
    ...endpointMapNames().map((name): SetSpec => {
      const np = name.startsWith('nodeport-');
      const proto = name.slice(name.lastIndexOf('-') + 1);
      const pol = name.includes('local') ? 'Local' : 'Cluster';
      return {
        name,
        kind: 'map',
        type: `typeof ${np ? DNAT_BY_NODEPORT_KEY : DNAT_BY_ADDRESS_KEY} 1 : ip daddr . ${proto} dport`,
        comment: `${pol}-policy ${proto} endpoints by ${np ? 'node port' : 'service IP, port'} and index`,
      };
    }),
    { name: SET.hairpin, kind: 'set', type: 'type ipv4_addr . ipv4_addr', comment: 'Endpoint IPs paired with themselves (hairpin masquerade)' },
  ];
  // Localhost NodePorts are not supported in nftables mode.
  const elements: Element[] = cfg.nodeIPs.filter((ip) => ip.includes('.') && !ip.startsWith('127.')).map((ip) => [SET.nodePortIPs, ip, ''] as const);
  return { chains, sets, elements };
}

// ---- shared dispatch chains ----

/** One DNAT rule per protocol (each only matches its protocol), optionally behind a condition. */
function dnatRules(byNodePort: boolean, policy: Policy, n: number, cond = '', comment = ''): string[] {
  const key = byNodePort ? DNAT_BY_NODEPORT_KEY : DNAT_BY_ADDRESS_KEY;
  return PROTOCOLS.map((p) => `${cond}dnat ip to ${key} ${n} map @${endpointMapName(byNodePort, policy, p)}${comment ? ` comment ${JSON.stringify(comment)}` : ''}`);
}

/**
 * Shared chains are the same object for every Service that uses them (per config): cheaper to
 * build, and the state compares them by identity first.
 */
const sharedChains = new WeakMap<ProxyRulesConfig, Map<string, ChainSpec>>();

function shared(cfg: ProxyRulesConfig, name: string, make: () => ChainSpec): ChainSpec {
  let m = sharedChains.get(cfg);
  if (!m) sharedChains.set(cfg, (m = new Map()));
  let c = m.get(name);
  if (!c) m.set(name, (c = make()));
  return c;
}

/** Traffic to a ClusterIP, Cluster or Local policy over n endpoints. */
function internalChain(cfg: ProxyRulesConfig, policy: Policy, n: number): ChainSpec {
  return shared(cfg, `svc-${policy}-${n}`, () => makeInternalChain(cfg, policy, n));
}

function makeInternalChain(cfg: ProxyRulesConfig, policy: Policy, n: number): ChainSpec {
  const rules: string[] = [];
  // Off-cluster traffic to a ClusterIP may bounce off-node: masquerade it.
  if (cfg.clusterCidr) rules.push(`ip saddr != ${cfg.clusterCidr} jump ${CHAIN.markMasq}`);
  rules.push(...dnatRules(false, policy, n));
  return { name: `svc-${policy}-${n}`, rules };
}

/** Traffic to an external IP, LoadBalancer IP (byNodePort false) or NodePort (true). */
function externalChain(cfg: ProxyRulesConfig, byNodePort: boolean, externalLocal: boolean, c: number, l: number): ChainSpec {
  const name = `${byNodePort ? 'np' : 'ext'}-${externalLocal ? `local-${c}-${l}` : `cluster-${c}`}`;
  return shared(cfg, name, () => makeExternalChain(cfg, byNodePort, externalLocal, c, l));
}

function makeExternalChain(cfg: ProxyRulesConfig, byNodePort: boolean, externalLocal: boolean, c: number, l: number): ChainSpec {
  const prefix = byNodePort ? 'np' : 'ext';
  if (!externalLocal) {
    // Cluster policy may send it to another node: masquerade.
    return { name: `${prefix}-cluster-${c}`, rules: [`jump ${CHAIN.markMasq}`, ...dnatRules(byNodePort, 'cluster', c)] };
  }
  const rules: string[] = [];
  // Pods reaching an external address are subject to neither policy (as if out to the load balancer and back).
  if (cfg.clusterCidr) rules.push(...dnatRules(byNodePort, 'cluster', c, `ip saddr ${cfg.clusterCidr} `, 'short-circuit pod traffic'));
  // The node itself: its source would be the external address, so masquerade.
  rules.push(`fib saddr type local jump ${CHAIN.markMasq} comment "masquerade local traffic"`);
  rules.push(...dnatRules(byNodePort, 'cluster', c, 'fib saddr type local ', 'short-circuit local traffic'));
  if (l > 0) rules.push(...dnatRules(byNodePort, 'local', l));
  return { name: `${prefix}-local-${c}-${l}`, rules };
}

/** Shared chain names: "svc-cluster-3", "ext-local-4-1", "np-cluster-2" … */
export function isSharedChainName(name: string): boolean {
  return /^(svc|ext|np)-(cluster|local)-\d+(-\d+)?$/.test(name);
}

// ---- one Service ----

export interface ServiceInput {
  service: Service;
  /** The Service's EndpointSlices (label kubernetes.io/service-name). */
  slices: readonly EndpointSlice[];
}

class Builder {
  readonly chains = new Map<string, ChainSpec>();
  readonly sets = new Map<string, SetSpec>();
  readonly elements: string[] = [];
  el(container: string, key: string, value = ''): void {
    this.elements.push(container, key, value);
  }
  chain(c: ChainSpec): void {
    this.chains.set(c.name, c);
  }
  result(): Contribution {
    return { chains: [...this.chains.values()], sets: [...this.sets.values()], elements: this.elements };
  }
}

/** Everything one Service puts in the table (nothing for headless and ExternalName Services). */
export function serviceContribution(input: ServiceInput, cfg: ProxyRulesConfig): Contribution {
  const b = new Builder();
  for (const sp of servicePorts(input.service, 'IPv4')) {
    const eps = endpointsForPort(input.slices, sp.portName, sp.protocol, cfg.nodeName, 'IPv4');
    servicePortRules(b, sp, eps, cfg);
  }
  return b.result();
}

function servicePortRules(b: Builder, sp: ServicePortInfo, eps: EndpointInfo[], cfg: ProxyRulesConfig): void {
  const { cluster, local, allReachable, hasAnyEndpoints } = categorizeEndpoints(eps, sp, cfg.nodeLabels);
  const proto = sp.protocol;
  const hasInternal = hasAnyEndpoints && !(sp.internalPolicyLocal && local.length === 0);
  const hasExternal = hasAnyEndpoints && !(sp.externalPolicyLocal && local.length === 0);
  // No endpoints anywhere: reject (the client hears "connection refused" at once). Endpoints, but
  // none local for a Local policy: drop.
  const internalVerdict = hasAnyEndpoints ? 'drop' : `goto ${CHAIN.reject}`;
  const externalVerdict = internalVerdict;
  const clusterKey = `${sp.clusterIP} . ${proto} . ${sp.port}`;
  const externalKeys = [...sp.externalIPs, ...sp.loadBalancerVIPs].map((ip) => `${ip} . ${proto} . ${sp.port}`);
  const nodePortKey = sp.nodePort ? `${proto} . ${sp.nodePort}` : '';

  b.el(SET.clusterIPs, sp.clusterIP);
  if (!hasInternal) b.el(SET.noEndpointServices, clusterKey, internalVerdict);
  if (!hasExternal) {
    for (const k of externalKeys) b.el(SET.noEndpointServices, k, externalVerdict);
    if (nodePortKey) b.el(SET.noEndpointNodePorts, nodePortKey, externalVerdict);
  }
  if (sp.loadBalancerVIPs.length && sp.loadBalancerSourceRanges.length) firewallRules(b, sp, cfg);

  if (sp.stickyMaxAgeSeconds > 0) {
    affinityServiceRules(b, sp, cfg, { cluster, local, allReachable, hasAnyEndpoints, hasInternal, hasExternal, clusterKey, externalKeys, nodePortKey });
    return;
  }

  const addEndpoints = (container: string, keyPrefix: string, list: readonly EndpointInfo[]) => {
    list.forEach((ep, i) => {
      b.el(container, `${keyPrefix} . ${i}`, `${ep.ip} . ${ep.port}`);
      // Only a pod on this node can reach itself through this node (an endpoint without a node
      // name might be one).
      if (ep.local || !ep.nodeName) b.el(SET.hairpin, `${ep.ip} . ${ep.ip}`);
    });
  };
  if (hasInternal) {
    const policy: Policy = sp.internalPolicyLocal ? 'local' : 'cluster';
    const list = policy === 'local' ? local : cluster;
    const chain = internalChain(cfg, policy, list.length);
    b.chain(chain);
    b.el(SET.serviceIPs, clusterKey, `goto ${chain.name}`);
    addEndpoints(endpointMapName(false, policy, proto), clusterKey, list);
  }
  if (hasAnyEndpoints && externallyAccessible(sp)) {
    // The external chains exist whenever there are endpoints anywhere: the Local policy's
    // short-circuits for pods and the node need them even with no local endpoint.
    const extLocal = sp.externalPolicyLocal;
    if (externalKeys.length) {
      const chain = externalChain(cfg, false, extLocal, cluster.length, local.length);
      b.chain(chain);
      for (const k of externalKeys) {
        b.el(SET.serviceIPs, k, `goto ${chain.name}`);
        addEndpoints(endpointMapName(false, 'cluster', proto), k, cluster);
        if (extLocal) addEndpoints(endpointMapName(false, 'local', proto), k, local);
      }
    }
    if (nodePortKey) {
      const chain = externalChain(cfg, true, extLocal, cluster.length, local.length);
      b.chain(chain);
      b.el(SET.serviceNodePorts, nodePortKey, `goto ${chain.name}`);
      addEndpoints(endpointMapName(true, 'cluster', proto), nodePortKey, cluster);
      if (extLocal) addEndpoints(endpointMapName(true, 'local', proto), nodePortKey, local);
    }
  }
}

function firewallRules(b: Builder, sp: ServicePortInfo, cfg: ProxyRulesConfig): void {
  const fw = `firewall-${servicePortChainNameBase(sp.namespace, sp.name, sp.protocol, sp.portName)}`;
  const sources = [...sp.loadBalancerSourceRanges];
  // A VIP-style load balancer may loop a node's own request back with the VIP as its source.
  if (cfg.nodeIPs.some((ip) => sp.loadBalancerSourceRanges.some((c) => cidrContains(c, ip)))) sources.push(...sp.loadBalancerVIPs);
  b.chain({ name: fw, rules: [`ip saddr != { ${sources.join(', ')} } drop`] });
  for (const ip of sp.loadBalancerVIPs) b.el(SET.firewallIPs, `${ip} . ${sp.protocol} . ${sp.port}`, `goto ${fw}`);
}

interface PortState {
  cluster: EndpointInfo[];
  local: EndpointInfo[];
  allReachable: EndpointInfo[];
  hasAnyEndpoints: boolean;
  hasInternal: boolean;
  hasExternal: boolean;
  clusterKey: string;
  externalKeys: string[];
  nodePortKey: string;
}

/** sessionAffinity ClientIP: upstream's per-Service chains, endpoint chains and affinity sets. */
function affinityServiceRules(b: Builder, sp: ServicePortInfo, cfg: ProxyRulesConfig, s: PortState): void {
  const base = servicePortChainNameBase(sp.namespace, sp.name, sp.protocol, sp.portName);
  const clusterPolicyChain = `service-${base}`;
  const localPolicyChain = `local-${base}`;
  const externalChainName = `external-${base}`;
  const epBase = (ep: EndpointInfo) => servicePortEndpointChainNameBase(sp.namespace, sp.name, sp.protocol, sp.portName, ep.ip, ep.port);
  const epChain = (ep: EndpointInfo) => `endpoint-${epBase(ep)}`;
  const affinitySet = (ep: EndpointInfo) => `affinity-${epBase(ep)}`;

  const usesClusterPolicy = s.cluster.length > 0 && usesClusterEndpoints(sp);
  const usesLocalPolicy = s.local.length > 0 && usesLocalEndpoints(sp);
  const internalPolicyChain = sp.internalPolicyLocal ? localPolicyChain : clusterPolicyChain;
  const externalPolicyChain = sp.externalPolicyLocal ? localPolicyChain : clusterPolicyChain;
  const usesExternal = s.hasAnyEndpoints && externallyAccessible(sp);

  if (s.hasInternal) b.el(SET.serviceIPs, s.clusterKey, `goto ${internalPolicyChain}`);
  if (usesExternal) {
    for (const k of s.externalKeys) b.el(SET.serviceIPs, k, `goto ${externalChainName}`);
    if (s.nodePortKey) b.el(SET.serviceNodePorts, s.nodePortKey, `goto ${externalChainName}`);
  }

  const policyRules = new Map<string, string[]>();
  const policy = (name: string) => {
    let r = policyRules.get(name);
    if (!r) policyRules.set(name, (r = []));
    return r;
  };
  if (s.hasInternal && cfg.clusterCidr) {
    policy(internalPolicyChain).push(`ip daddr ${sp.clusterIP} ${sp.protocol} dport ${sp.port} ip saddr != ${cfg.clusterCidr} jump ${CHAIN.markMasq}`);
  }
  if (usesExternal) {
    const rules: string[] = [];
    if (!sp.externalPolicyLocal) rules.push(`jump ${CHAIN.markMasq}`);
    else {
      if (cfg.clusterCidr) rules.push(`ip saddr ${cfg.clusterCidr} goto ${clusterPolicyChain} comment "short-circuit pod traffic"`);
      rules.push(`fib saddr type local jump ${CHAIN.markMasq} comment "masquerade local traffic"`);
      rules.push(`fib saddr type local goto ${clusterPolicyChain} comment "short-circuit local traffic"`);
    }
    if (s.hasExternal) rules.push(`goto ${externalPolicyChain}`);
    b.chain({ name: externalChainName, rules });
  }
  const dispatch = (chain: string, eps: readonly EndpointInfo[]) => {
    const rules = policy(chain);
    for (const ep of eps) rules.push(`ip saddr @${affinitySet(ep)} goto ${epChain(ep)}`);
    rules.push(`numgen random mod ${eps.length} vmap { ${eps.map((ep, i) => `${i} : goto ${epChain(ep)}`).join(', ')} }`);
    b.chain({ name: chain, rules });
  };
  if (usesClusterPolicy) dispatch(clusterPolicyChain, s.cluster);
  if (usesLocalPolicy) dispatch(localPolicyChain, s.local);
  for (const ep of s.allReachable) {
    b.sets.set(affinitySet(ep), { name: affinitySet(ep), kind: 'set', type: 'type ipv4_addr', flags: ['dynamic', 'timeout'], timeoutSeconds: sp.stickyMaxAgeSeconds });
    b.chain({
      name: epChain(ep),
      rules: [`ip saddr ${ep.ip} jump ${CHAIN.markMasq}`, `update @${affinitySet(ep)} { ip saddr }`, `meta l4proto ${sp.protocol} dnat to ${ep.ip}:${ep.port}`],
    });
  }
}

/** Whether an IPv4 CIDR contains an IPv4 address. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText ?? 32);
  const a = ipv4ToInt(net ?? '');
  const b = ipv4ToInt(ip);
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false;
  if (bits === 0) return true;
  const mask = bits === 32 ? 0xffffffff : (~((1 << (32 - bits)) - 1)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

function ipv4ToInt(ip: string): number | undefined {
  const p = ip.split('.');
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const x of p) {
    const v = Number(x);
    if (!/^\d+$/.test(x) || v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/**
 * The whole ruleset for a set of Services: the static part and every Service's contribution,
 * merged as the proxier's state merges them (the first Service by key wins a contested element).
 */
export function computeRuleset(services: readonly ServiceInput[], cfg: ProxyRulesConfig): Ruleset {
  const base = baseRuleset(cfg);
  const out: Ruleset = { chains: new Map(), sets: new Map(), elements: new Map() };
  for (const s of base.sets) out.sets.set(s.name, s);
  for (const c of base.chains) out.chains.set(c.name, c);
  const put = (container: string, key: string, value: string) => {
    let m = out.elements.get(container);
    if (!m) out.elements.set(container, (m = new Map()));
    if (!m.has(key)) m.set(key, value);
  };
  for (const [c, k, v] of base.elements) put(c, k, v);
  const sorted = [...services].sort((a, b) => (keyOf(a.service) < keyOf(b.service) ? -1 : 1));
  for (const s of sorted) {
    const contrib = serviceContribution(s, cfg);
    for (const c of contrib.chains) if (!out.chains.has(c.name)) out.chains.set(c.name, c);
    for (const st of contrib.sets) if (!out.sets.has(st.name)) out.sets.set(st.name, st);
    const e = contrib.elements;
    for (let i = 0; i < e.length; i += 3) put(e[i]!, e[i + 1]!, e[i + 2]!);
  }
  return out;
}

export function keyOf(svc: { metadata: { namespace?: string; name?: string } }): string {
  return `${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`;
}

// The NetworkPolicy ruleset of one node, as data: what rules.ts computes, nft.ts writes to the
// `inet rudder-netpol` table, and evaluate() interprets the way the kernel will.
//
// Shape (all in the table's `forward` chain, after `ct state established,related accept` and
// `fib saddr type local accept` — replies and traffic the node itself originates always pass):
//
//   ip saddr vmap @egress    source is an egress-isolated local pod → its chain: a matching rule
//                            returns (go on to ingress), otherwise drop
//   ip daddr vmap @ingress   destination is an ingress-isolated local pod → its chain: a matching
//                            rule accepts, otherwise drop
//
// A chain holds one rule per policy rule that selects its pod (few), and the data — peer addresses,
// ports — lives in sets, so pods and addresses coming and going are element changes, not rules.
import { ipv4ToInt, rangeContains, type Range } from './ranges.ts';

export const TABLE = 'rudder-netpol';
/** The set of (address . protocol . port) every pod may reach whatever its egress policy (the cluster DNS). */
export const ALWAYS_ALLOWED_SET = 'always-allowed';

export type Proto = 'tcp' | 'udp' | 'sctp';

export interface PortRange {
  proto: Proto;
  from: number;
  to: number;
}

export interface AddrPort {
  ip: string;
  proto: Proto;
  port: number;
}

export type SetModel =
  | { kind: 'addr'; ranges: Range[] }
  | { kind: 'ports'; ports: PortRange[] }
  | { kind: 'addrports'; elements: AddrPort[] };

/**
 * One rule of a pod's chain: it matches when every part present matches. `peers` names an addr set
 * (absent: any address), `ports` a ports set (absent: any protocol and port), `addrPorts` an
 * addrports set matched on the peer address, protocol and port together; `self` is the pod's own
 * address (a pod may always reach itself).
 */
export interface RuleModel {
  peers?: string;
  ports?: string;
  addrPorts?: string;
  self?: string;
  /** For logs and tests: the policy and rule it came from ("ns/name ingress[0]"). */
  origin: string;
}

export interface ChainModel {
  direction: 'ingress' | 'egress';
  rules: RuleModel[];
}

export interface Ruleset {
  sets: Map<string, SetModel>;
  chains: Map<string, ChainModel>;
  /** local pod IP → its ingress chain (only pods some policy isolates for ingress) */
  ingress: Map<string, string>;
  /** local pod IP → its egress chain */
  egress: Map<string, string>;
}

export interface Packet {
  src: string;
  dst: string;
  proto: Proto | 'icmp';
  dport?: number;
}

function ruleMatches(m: Ruleset, r: RuleModel, peer: string, p: Packet): boolean {
  if (r.self !== undefined) return r.self === peer;
  if (r.peers) {
    const s = m.sets.get(r.peers);
    if (s?.kind !== 'addr' || !rangeContains(s.ranges, ipv4ToInt(peer))) return false;
  }
  if (r.ports) {
    const s = m.sets.get(r.ports);
    if (s?.kind !== 'ports' || p.proto === 'icmp' || p.dport === undefined) return false;
    if (!s.ports.some((x) => x.proto === p.proto && x.from <= p.dport! && p.dport! <= x.to)) return false;
  }
  if (r.addrPorts) {
    const s = m.sets.get(r.addrPorts);
    if (s?.kind !== 'addrports' || p.proto === 'icmp') return false;
    if (!s.elements.some((e) => e.ip === peer && e.proto === p.proto && e.port === p.dport)) return false;
  }
  return true;
}

/**
 * Whether a new connection's first packet passes the node's rules (what the kernel does with the
 * table nft.ts writes). Only meaningful for pod traffic forwarded by this node.
 */
export function evaluate(m: Ruleset, p: Packet): 'accept' | 'drop' {
  const eg = m.egress.get(p.src);
  if (eg) {
    const chain = m.chains.get(eg)!;
    if (!chain.rules.some((r) => ruleMatches(m, r, p.dst, p))) return 'drop';
  }
  const ing = m.ingress.get(p.dst);
  if (ing) {
    const chain = m.chains.get(ing)!;
    if (!chain.rules.some((r) => ruleMatches(m, r, p.src, p))) return 'drop';
  }
  return 'accept';
}

export function emptyRuleset(): Ruleset {
  return { sets: new Map(), chains: new Map(), ingress: new Map(), egress: new Map() };
}

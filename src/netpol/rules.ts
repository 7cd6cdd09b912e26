// NetworkPolicy (networking.k8s.io/v1) semantics, as a pure function from the cluster's policies,
// pods and namespaces to one node's ruleset (model.ts):
//
// - A pod is isolated for ingress (egress) when some policy of its namespace selects it by
//   podSelector and lists Ingress (Egress) in policyTypes — which defaults to Ingress, plus Egress
//   when the policy has egress rules. An isolated pod admits only what some selecting policy's rule
//   allows (default deny when the rules are none); the policies are additive.
// - A rule's peers: none means any address; a podSelector alone means pods of the policy's
//   namespace; a namespaceSelector alone means every pod of the matching namespaces; both in one
//   peer means the pods matching podSelector within the matching namespaces; ipBlock is the CIDR
//   less its excepts. Selectors match pods by their IPs; host-network pods and finished pods
//   (Succeeded, Failed) are never selected.
// - A rule's ports: none means every protocol and port; a port without a number means every port of
//   its protocol (TCP by default); endPort makes a range; a named port is the container port of
//   that name and protocol on the destination pod — for ingress the selected pod, for egress each
//   destination pod among the peers (addresses that are not pods match no named port).
// - A pod may always reach itself; replies to allowed connections and traffic the node originates
//   are accepted before any of this (nft.ts); every pod may reach the cluster DNS (`alwaysAllowed`),
//   which runs in the agents rather than in pods that a policy could name.
//
// Only IPv4 is enforced (the cluster's pod network is IPv4); IPv6 ipBlocks are ignored.
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { labelSelectorAsSelector, matchesLabels, type LabelSelectorJSON, type Selector } from '../api/labels.ts';
import { ALWAYS_ALLOWED_SET, emptyRuleset, type AddrPort, type ChainModel, type PortRange, type Proto, type RuleModel, type Ruleset } from './model.ts';
import { cidrRange, ipv4ToInt, mergeRanges, rangeContains, subtractRanges, type Range } from './ranges.ts';
import type { Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Pod } from './types.ts';

export interface NetpolInput {
  policies: readonly NetworkPolicy[];
  pods: readonly Pod[];
  namespaces: readonly Namespace[];
  /** This node: its pods are the ones whose traffic it filters. */
  nodeName: string;
  /** (address, protocol, port) every pod may reach regardless of egress policy: the cluster DNS endpoints. */
  alwaysAllowed?: readonly AddrPort[];
}

/** A pod as policies see it: its IPv4 address, labels and named ports. */
interface PodView {
  key: string;
  namespace: string;
  ip: string;
  ipNum: number;
  labels: Record<string, string>;
  node: string;
  /** "name/proto" → container port */
  namedPorts: Map<string, number>;
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);

/** The chain names of a pod (stable across syncs: derived from namespace/name). */
export function podChainNames(namespace: string, name: string): { ingress: string; egress: string } {
  const h = hash(`${namespace}/${name}`);
  return { ingress: `ing-${h}`, egress: `egr-${h}` };
}

function protoOf(p: string | undefined): Proto | undefined {
  const v = (p ?? 'TCP').toLowerCase();
  return v === 'tcp' || v === 'udp' || v === 'sctp' ? v : undefined;
}

function podView(p: Pod): PodView | undefined {
  if (p.spec?.hostNetwork) return undefined;
  const phase = p.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const ips = p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : []);
  const ip = ips.find((x) => isIPv4(x));
  if (!ip) return undefined;
  const namedPorts = new Map<string, number>();
  for (const c of [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])]) {
    for (const port of c.ports ?? []) {
      const proto = protoOf(port.protocol);
      if (port.name && proto && !namedPorts.has(`${port.name}/${proto}`)) namedPorts.set(`${port.name}/${proto}`, port.containerPort);
    }
  }
  return {
    key: `${p.metadata.namespace}/${p.metadata.name}`,
    namespace: p.metadata.namespace ?? '',
    ip,
    ipNum: ipv4ToInt(ip),
    labels: p.metadata.labels ?? {},
    node: p.spec?.nodeName ?? '',
    namedPorts,
  };
}

function selector(ls: LabelSelectorJSON | null | undefined): Selector {
  try {
    return labelSelectorAsSelector(ls);
  } catch {
    // an invalid selector (the API validates them) selects nothing rather than everything
    return labelSelectorAsSelector(null);
  }
}

/** policyTypes as the API defaults them when absent. */
export function policyTypesOf(pol: NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = pol.spec?.policyTypes;
  if (types?.length) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (pol.spec?.egress?.length ?? 0) > 0 };
}

interface Cluster {
  pods: PodView[];
  podsByNs: Map<string, PodView[]>;
  nsLabels: Map<string, Record<string, string>>;
}

/** The pods one peer stands for (selectors), or the address ranges (ipBlock). */
function peerTargets(c: Cluster, policyNs: string, peer: NetworkPolicyPeer): { pods?: PodView[]; ranges?: Range[] } {
  if (peer.ipBlock) {
    const base = cidrRange(peer.ipBlock.cidr);
    if (!base) return { ranges: [] };
    const except = (peer.ipBlock.except ?? []).map(cidrRange).filter((r): r is Range => !!r);
    return { ranges: subtractRanges([base], except) };
  }
  if (!peer.podSelector && !peer.namespaceSelector) return { pods: [] };
  let namespaces: string[];
  if (peer.namespaceSelector) {
    const nsSel = selector(peer.namespaceSelector);
    namespaces = [...c.nsLabels].filter(([, labels]) => matchesLabels(nsSel, labels)).map(([n]) => n);
  } else namespaces = [policyNs];
  const podSel = peer.podSelector ? selector(peer.podSelector) : undefined;
  const pods: PodView[] = [];
  for (const ns of namespaces) for (const p of c.podsByNs.get(ns) ?? []) if (!podSel || matchesLabels(podSel, p.labels)) pods.push(p);
  return { pods };
}

interface ResolvedPeers {
  /** undefined: any address */
  ranges?: Range[];
  /** the pods among the peers (for egress named ports) */
  pods: PodView[];
}

function resolvePeers(c: Cluster, policyNs: string, peers: readonly NetworkPolicyPeer[] | undefined): ResolvedPeers {
  if (!peers?.length) return { pods: c.pods };
  const ranges: Range[] = [];
  const pods = new Map<string, PodView>();
  for (const peer of peers) {
    const t = peerTargets(c, policyNs, peer);
    for (const p of t.pods ?? []) {
      pods.set(p.key, p);
      ranges.push({ from: p.ipNum, to: p.ipNum });
    }
    if (t.ranges) {
      ranges.push(...t.ranges);
      // pods inside an ipBlock are peers for named ports too
      for (const p of c.pods) if (rangeContains(t.ranges, p.ipNum)) pods.set(p.key, p);
    }
  }
  return { ranges: mergeRanges(ranges), pods: [...pods.values()] };
}

/** Numeric ports of a rule, and its named ones. */
function splitPorts(ports: readonly NetworkPolicyPort[]): { numeric: PortRange[]; named: { name: string; proto: Proto }[] } {
  const numeric: PortRange[] = [];
  const named: { name: string; proto: Proto }[] = [];
  for (const p of ports) {
    const proto = protoOf(p.protocol);
    if (!proto) continue;
    if (p.port === undefined || p.port === null) numeric.push({ proto, from: 0, to: 65535 });
    else if (typeof p.port === 'number') numeric.push({ proto, from: p.port, to: Math.max(p.port, p.endPort ?? p.port) });
    else if (/^[0-9]+$/.test(p.port)) numeric.push({ proto, from: Number(p.port), to: Math.max(Number(p.port), p.endPort ?? Number(p.port)) });
    else named.push({ name: p.port, proto });
  }
  return { numeric, named };
}

/** Port ranges sorted, overlapping ones of a protocol merged. */
export function mergePorts(ps: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const proto of ['sctp', 'tcp', 'udp'] as const) {
    for (const r of mergeRanges(ps.filter((p) => p.proto === proto).map((p) => ({ from: p.from, to: p.to })))) out.push({ proto, ...r });
  }
  return out;
}

function sortAddrPorts(es: AddrPort[]): AddrPort[] {
  const seen = new Map<string, AddrPort>();
  for (const e of es) seen.set(`${e.ip}|${e.proto}|${e.port}`, e);
  // Protocol names compared by code unit, not localeCompare: the same order for these ASCII names,
  // without paging in the node binary's ICU collation data (~2.7 MiB of an agent's memory).
  return [...seen.values()].sort((a, b) => ipv4ToInt(a.ip) - ipv4ToInt(b.ip) || (a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : 0) || a.port - b.port);
}

/** One node's ruleset. Deterministic: the same input gives the same names and order. */
export function computeRuleset(input: NetpolInput): Ruleset {
  const m = emptyRuleset();
  const pods: PodView[] = [];
  for (const p of input.pods) {
    const v = podView(p);
    if (v) pods.push(v);
  }
  pods.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const podsByNs = new Map<string, PodView[]>();
  for (const p of pods) {
    let l = podsByNs.get(p.namespace);
    if (!l) podsByNs.set(p.namespace, (l = []));
    l.push(p);
  }
  const nsLabels = new Map<string, Record<string, string>>();
  for (const n of input.namespaces) nsLabels.set(n.metadata.name ?? '', { 'kubernetes.io/metadata.name': n.metadata.name ?? '', ...n.metadata.labels });
  const c: Cluster = { pods, podsByNs, nsLabels };
  const local = pods.filter((p) => p.node === input.nodeName);

  m.sets.set(ALWAYS_ALLOWED_SET, { kind: 'addrports', elements: sortAddrPorts([...(input.alwaysAllowed ?? [])].filter((e) => isIPv4(e.ip))) });

  // per local pod, its chains' rules in policy order
  const chains = new Map<string, { pod: PodView; ingress: RuleModel[]; egress: RuleModel[]; isoIn: boolean; isoEg: boolean }>();
  const chainOf = (p: PodView) => {
    let e = chains.get(p.key);
    if (!e) chains.set(p.key, (e = { pod: p, ingress: [], egress: [], isoIn: false, isoEg: false }));
    return e;
  };

  const policies = [...input.policies].sort((a, b) => {
    const ka = `${a.metadata.namespace}/${a.metadata.name}`;
    const kb = `${b.metadata.namespace}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  for (const pol of policies) {
    const ns = pol.metadata.namespace ?? '';
    const polKey = `${ns}/${pol.metadata.name}`;
    const ph = hash(polKey);
    const types = policyTypesOf(pol);
    const podSel = selector(pol.spec?.podSelector ?? {});
    const selected = local.filter((p) => p.namespace === ns && matchesLabels(podSel, p.labels));
    if (!selected.length) continue;
    for (const dir of ['ingress', 'egress'] as const) {
      if (dir === 'ingress' ? !types.ingress : !types.egress) continue;
      for (const p of selected) chainOf(p)[dir === 'ingress' ? 'isoIn' : 'isoEg'] = true;
      const rules: { from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[] = (dir === 'ingress' ? pol.spec?.ingress : pol.spec?.egress) ?? [];
      rules.forEach((rule, i) => {
        const origin = `${polKey} ${dir}[${i}]`;
        const tag = `np-${ph}-${dir === 'ingress' ? 'i' : 'e'}${i}`;
        const peers = resolvePeers(c, ns, dir === 'ingress' ? rule.from : rule.to);
        let peerSet: string | undefined;
        if (peers.ranges) {
          if (!peers.ranges.length) return; // peers that stand for nothing allow nothing
          peerSet = `${tag}-peers`;
          m.sets.set(peerSet, { kind: 'addr', ranges: peers.ranges });
        }
        const ports = rule.ports ?? [];
        if (!ports.length) {
          for (const p of selected) chainOf(p)[dir].push({ peers: peerSet, origin });
          return;
        }
        const { numeric, named } = splitPorts(ports);
        if (dir === 'ingress') {
          // named ports resolve on the selected pod itself: a set per pod when there are any
          for (const p of selected) {
            const resolved = named.flatMap((n) => {
              const port = p.namedPorts.get(`${n.name}/${n.proto}`);
              return port === undefined ? [] : [{ proto: n.proto, from: port, to: port }];
            });
            const all = mergePorts([...numeric, ...resolved]);
            if (!all.length) continue;
            const setName = named.length ? `${tag}-ports-${hash(p.key)}` : `${tag}-ports`;
            m.sets.set(setName, { kind: 'ports', ports: all });
            chainOf(p).ingress.push({ peers: peerSet, ports: setName, origin });
          }
          return;
        }
        if (numeric.length) {
          const setName = `${tag}-ports`;
          m.sets.set(setName, { kind: 'ports', ports: mergePorts(numeric) });
          for (const p of selected) chainOf(p).egress.push({ peers: peerSet, ports: setName, origin });
        }
        if (named.length) {
          // named ports resolve on each destination pod among the peers
          const elements: AddrPort[] = [];
          for (const dst of peers.pods) {
            for (const n of named) {
              const port = dst.namedPorts.get(`${n.name}/${n.proto}`);
              if (port !== undefined) elements.push({ ip: dst.ip, proto: n.proto, port });
            }
          }
          const setName = `${tag}-named`;
          m.sets.set(setName, { kind: 'addrports', elements: sortAddrPorts(elements) });
          for (const p of selected) chainOf(p).egress.push({ addrPorts: setName, origin });
        }
      });
    }
  }

  for (const e of chains.values()) {
    const names = podChainNames(e.pod.namespace, e.pod.key.slice(e.pod.namespace.length + 1));
    if (e.isoIn) {
      const rules: RuleModel[] = [{ self: e.pod.ip, origin: 'a pod reaches itself' }, ...e.ingress];
      m.chains.set(names.ingress, { direction: 'ingress', rules } satisfies ChainModel);
      m.ingress.set(e.pod.ip, names.ingress);
    }
    if (e.isoEg) {
      const rules: RuleModel[] = [{ self: e.pod.ip, origin: 'a pod reaches itself' }, { addrPorts: ALWAYS_ALLOWED_SET, origin: 'cluster DNS' }, ...e.egress];
      m.chains.set(names.egress, { direction: 'egress', rules });
      m.egress.set(e.pod.ip, names.egress);
    }
  }
  return m;
}

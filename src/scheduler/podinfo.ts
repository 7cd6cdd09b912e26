// PodInfo: what the scheduler derives from a pod object once (requests, affinity terms, host
// ports) so filters and scores never re-parse it. Pod objects from informers are immutable and
// shared, so the derivation is memoized by object identity; an update arrives as a new object.

import { labelSelectorAsSelector, NOTHING, type Labels, type Selector } from '../api/labels.ts';
import { matcherOf, selects, type LabelMatcher } from './selectors.ts';
import { podRequests, resourceFromAmounts, RESOURCE_CPU, RESOURCE_MEMORY, type Amounts, type Resource } from './resources.ts';
import { podKey, podPriority, podUID, type Pod, type PodAffinityTerm, type WeightedPodAffinityTerm } from './types.ts';

/** A pod affinity term with its selectors parsed (upstream's framework.AffinityTerm). */
export interface AffinityTerm {
  /** Namespaces named by the term (the pod's own when neither namespaces nor namespaceSelector is set). */
  namespaces: Set<string>;
  selector: Selector;
  topologyKey: string;
  /** null in the API selects no namespace (NOTHING); {} selects every namespace. */
  namespaceSelector: Selector;
  /** selector, compiled (filled in on first use). */
  match?: LabelMatcher;
  /** Set on interned terms (every term parsed from a pod): a stable identity for indexes. */
  id?: number;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/** upstream's AffinityTerm.Matches: the pod's namespace is covered and its labels match. */
export function affinityTermMatches(t: AffinityTerm, pod: Pod, nsLabels: Labels): boolean {
  if (t.namespaces.has(pod.metadata.namespace ?? '') || (!t.namespaceSelector.nothing && selects(t.namespaceSelector, nsLabels))) {
    return (t.match ??= matcherOf(t.selector))(pod.metadata.labels);
  }
  return false;
}

/**
 * Terms are interned: the replicas of one workload carry identical terms, and sharing one
 * AffinityTerm (its parsed selector, namespace set and compiled matcher) keeps loops over
 * thousands of existing pods on a handful of objects, and lets a cycle match each distinct term
 * once. Interned terms are never modified (callers copy to change one), so sharing is safe;
 * the table is simply dropped when it grows large.
 */
const interned = new Map<string, AffinityTerm>();
let termSeq = 0;

function newAffinityTerm(pod: Pod, term: PodAffinityTerm): AffinityTerm {
  const ownNamespace = !term.namespaces?.length && term.namespaceSelector == null;
  const key = JSON.stringify([ownNamespace ? (pod.metadata.namespace ?? '') : null, term.labelSelector ?? null, term.namespaces ?? null, term.topologyKey, term.namespaceSelector ?? null]);
  let t = interned.get(key);
  if (!t) {
    t = parseAffinityTerm(pod, term);
    t.id = ++termSeq;
    if (interned.size >= 10_000) interned.clear();
    interned.set(key, t);
  }
  return t;
}

function parseAffinityTerm(pod: Pod, term: PodAffinityTerm): AffinityTerm {
  const selector = labelSelectorAsSelector(term.labelSelector ?? null);
  const namespaceSelector = term.namespaceSelector == null ? NOTHING : labelSelectorAsSelector(term.namespaceSelector);
  const namespaces = new Set<string>();
  if (!term.namespaces?.length && term.namespaceSelector == null) namespaces.add(pod.metadata.namespace ?? '');
  else for (const n of term.namespaces ?? []) namespaces.add(n);
  return { namespaces, selector, topologyKey: term.topologyKey, namespaceSelector };
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export interface PodInfo {
  readonly pod: Pod;
  readonly uid: string;
  readonly key: string;
  readonly namespace: string;
  readonly priority: number;
  /** The effective requests (NodeResourcesFit's view). */
  readonly requests: Resource;
  /** Requests by name, with and without the non-zero defaults (scoring's views). */
  readonly requestAmounts: Amounts;
  readonly nonZeroAmounts: Amounts;
  readonly nonZeroCPU: number;
  readonly nonZeroMem: number;
  readonly requiredAffinityTerms: AffinityTerm[];
  readonly requiredAntiAffinityTerms: AffinityTerm[];
  readonly preferredAffinityTerms: WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: WeightedAffinityTerm[];
  readonly hostPorts: HostPort[];
  /** namespace/claimName of every PVC the pod uses (persistentVolumeClaim and ephemeral volumes). */
  readonly pvcKeys: string[];
  /** Set when the pod's affinity terms cannot be parsed; such a pod cannot be scheduled. */
  readonly parseError?: string;
}

function hostPortsOf(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  const visit = (ports: readonly { hostPort?: number; hostIP?: string; protocol?: string }[] | null | undefined) => {
    for (const p of ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  };
  for (const c of pod.spec.containers ?? []) visit(c.ports);
  // sidecars keep running beside the containers, so their host ports are held too
  for (const c of pod.spec.initContainers ?? []) if (c.restartPolicy === 'Always') visit(c.ports);
  return out;
}

function pvcKeysOf(pod: Pod): string[] {
  const ns = pod.metadata.namespace ?? '';
  const out: string[] = [];
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim) out.push(`${ns}/${v.persistentVolumeClaim.claimName}`);
    else if (v.ephemeral) out.push(`${ns}/${pod.metadata.name ?? ''}-${v.name}`);
  }
  return out;
}

const cache = new WeakMap<Pod, PodInfo>();

function terms(pod: Pod, ts: readonly PodAffinityTerm[] | null | undefined): AffinityTerm[] {
  return (ts ?? []).map((t) => newAffinityTerm(pod, t));
}

function weighted(pod: Pod, ts: readonly WeightedPodAffinityTerm[] | null | undefined): WeightedAffinityTerm[] {
  return (ts ?? []).map((t) => ({ ...newAffinityTerm(pod, t.podAffinityTerm), weight: t.weight }));
}

/** Matches a term against one pod, remembering the answer per term object for the cycle. */
export class TermMatchMemo {
  private readonly memo = new Map<AffinityTerm, boolean>();
  private readonly pod: Pod;
  private readonly nsLabels: Labels;
  constructor(pod: Pod, nsLabels: Labels) {
    this.pod = pod;
    this.nsLabels = nsLabels;
  }
  matches(t: AffinityTerm): boolean {
    let m = this.memo.get(t);
    if (m === undefined) {
      m = affinityTermMatches(t, this.pod, this.nsLabels);
      this.memo.set(t, m);
    }
    return m;
  }
}

function build(pod: Pod): PodInfo {
  const requestAmounts = podRequests(pod, false);
  const nonZeroAmounts = podRequests(pod, true);
  let parseError: string | undefined;
  let requiredAffinityTerms: AffinityTerm[] = [];
  let requiredAntiAffinityTerms: AffinityTerm[] = [];
  let preferredAffinityTerms: WeightedAffinityTerm[] = [];
  let preferredAntiAffinityTerms: WeightedAffinityTerm[] = [];
  const aff = pod.spec.affinity;
  if (aff?.podAffinity || aff?.podAntiAffinity) {
    try {
      requiredAffinityTerms = terms(pod, aff.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
      requiredAntiAffinityTerms = terms(pod, aff.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
      preferredAffinityTerms = weighted(pod, aff.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
      preferredAntiAffinityTerms = weighted(pod, aff.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    } catch (e) {
      parseError = `parsing pod: requiredAffinityTerms: ${(e as Error).message}`;
    }
  }
  return {
    pod,
    uid: podUID(pod),
    key: podKey(pod),
    namespace: pod.metadata.namespace ?? '',
    priority: podPriority(pod),
    requests: resourceFromAmounts(requestAmounts),
    requestAmounts,
    nonZeroAmounts,
    nonZeroCPU: nonZeroAmounts.get(RESOURCE_CPU) ?? 0,
    nonZeroMem: nonZeroAmounts.get(RESOURCE_MEMORY) ?? 0,
    requiredAffinityTerms,
    requiredAntiAffinityTerms,
    preferredAffinityTerms,
    preferredAntiAffinityTerms,
    hostPorts: hostPortsOf(pod),
    pvcKeys: pvcKeysOf(pod),
    ...(parseError ? { parseError } : {}),
  };
}

/** The PodInfo of a pod object (computed once per object). */
export function podInfoOf(pod: Pod): PodInfo {
  let pi = cache.get(pod);
  if (!pi) {
    pi = build(pod);
    cache.set(pod, pi);
  }
  return pi;
}

export function hasAffinityTerms(pi: PodInfo): boolean {
  return (
    pi.requiredAffinityTerms.length > 0 ||
    pi.requiredAntiAffinityTerms.length > 0 ||
    pi.preferredAffinityTerms.length > 0 ||
    pi.preferredAntiAffinityTerms.length > 0
  );
}

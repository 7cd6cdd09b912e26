// The scheduler's cache of node state: every node with the pods on it, including pods the
// scheduler has assumed onto a node before the binding is confirmed by a watch event. Fed by
// informers (nodes, assigned pods) and by the scheduling loop (assume, finish binding, forget).
//
// SNAPSHOTS. snapshot() hands out a view over the live NodeInfos instead of a copy: the
// scheduling cycle is synchronous (no await between PreFilter and the assume that ends it), so
// nothing can change the cache underneath it, and a per-cycle copy of 5,000 nodes would cost
// more than the cycle. Anything that must outlive the cycle or change node state for a "what
// if" (preemption, nominated pods) clones the NodeInfos it touches.

import { NodeInfo, type ImageState } from './nodeinfo.ts';
import { podInfoOf, type AffinityTerm, type PodInfo } from './podinfo.ts';
import { TopologyCounts } from './topology-counts.ts';
import type { NodeInfoLister } from './framework/interfaces.ts';
import { LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_ZONE, podKey, podUID, type Node, type Pod } from './types.ts';

interface PodState {
  pi: PodInfo;
  nodeName: string;
  assumed: boolean;
  bindingFinished: boolean;
  /** When an assumed pod whose binding finished expires (ms since epoch); undefined: never. */
  deadline?: number;
}

/** upstream's utilnode.GetZoneKey: region and zone, "" when the node has neither. */
export function zoneKey(node: Node): string {
  const l = node.metadata.labels ?? {};
  const region = l[LABEL_TOPOLOGY_REGION] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l[LABEL_TOPOLOGY_ZONE] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  if (!region && !zone) return '';
  return `${region}:\x00:${zone}`;
}

const MAX_VIEWS = 64;

interface CountView {
  weight: (pi: PodInfo) => number;
  keys: readonly string[];
  counts: TopologyCounts;
  used: number;
}

function sameLabels(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  if (a === b) return true;
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (a![k] !== b?.[k]) return false;
  return true;
}

/** A set of nodes that is also a list, for O(1) add/delete and no copy on read. */
class NodeSet {
  readonly list: NodeInfo[] = [];
  private readonly index = new Map<NodeInfo, number>();
  add(ni: NodeInfo): void {
    if (this.index.has(ni)) return;
    this.index.set(ni, this.list.length);
    this.list.push(ni);
  }
  delete(ni: NodeInfo): void {
    const i = this.index.get(ni);
    if (i === undefined) return;
    const last = this.list.pop()!;
    if (last !== ni) {
      this.list[i] = last;
      this.index.set(last, i);
    }
    this.index.delete(ni);
  }
}

export interface CacheOptions {
  /** How long an assumed pod whose binding finished waits for its watch event; 0: forever (upstream's default). */
  assumedPodTTLMs?: number;
  now?: () => number;
}

export class CacheError extends Error {
  override name = 'CacheError';
}

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  /** Nodes known only because pods are bound to them (the Node object has not arrived). */
  private readonly ghosts = new Set<string>();
  private readonly pods = new Map<string, PodState>();
  private readonly images = new Map<string, ImageState>();
  /** Zone → node names in insertion order; zones in insertion order (upstream's nodeTree). */
  private readonly zones = new Map<string, string[]>();
  private order: NodeInfo[] | null = null;
  /** Nodes holding pods with (anti-)affinity terms, kept incrementally (order carries no meaning). */
  private readonly withAffinity = new NodeSet();
  private readonly withRequiredAnti = new NodeSet();
  private readonly withScoringAffinity = new NodeSet();
  /** Incrementally kept pod counts per topology domain (see podCounts), least recently used evicted. */
  private readonly views = new Map<string, CountView>();
  private viewTick = 0;
  /** topologyKey → value → listed nodes with it (lazily built, dropped on node changes). */
  private readonly domainIndex = new Map<string, { values: Map<string, number>; nodes: number }>();
  /** Required anti-affinity terms of pods on listed nodes → number of pods carrying them. */
  private readonly antiTerms = new Map<AffinityTerm, number>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly view: NodeInfoLister;

  constructor(opts: CacheOptions = {}) {
    this.ttlMs = opts.assumedPodTTLMs ?? 0;
    this.now = opts.now ?? Date.now;
    const self = this;
    this.view = {
      list: () => self.nodeList(),
      get: (name) => (self.ghosts.has(name) ? undefined : self.nodes.get(name)),
      havePodsWithAffinityList: () => self.withAffinity.list,
      havePodsWithRequiredAntiAffinityList: () => self.withRequiredAnti.list,
      havePodsWithScoringAffinityList: () => self.withScoringAffinity.list,
      imageState: (name) => self.images.get(name),
      podCounts: (key, weight, keys) => self.podCounts(key, weight, keys),
      domains: (key) => self.domains(key),
      existingAntiAffinityTerms: () => self.antiTerms.keys(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Nodes

  addNode(node: Node): NodeInfo {
    const name = node.metadata.name ?? '';
    let ni = this.nodes.get(name);
    if (ni) {
      this.removeNodeImages(ni);
      if (this.ghosts.delete(name)) {
        this.treeAdd(node);
        this.invalidateTopology();
        for (const pi of ni.pods) this.countAntiTerms(pi, 1);
      } else {
        this.treeUpdate(ni.node, node);
        if (!sameLabels(ni.node.metadata.labels, node.metadata.labels)) this.invalidateTopology();
      }
      ni.setNode(node);
    } else {
      ni = new NodeInfo(node);
      this.nodes.set(name, ni);
      this.treeAdd(node);
      this.invalidateTopology();
    }
    this.addNodeImages(ni);
    this.trackAffinity(ni);
    return ni;
  }

  updateNode(_old: Node | undefined, node: Node): NodeInfo {
    return this.addNode(node);
  }

  /**
   * Removes a node. Pods still bound to it stay accounted on a ghost entry (not listed) until
   * their own delete events arrive, as upstream keeps them.
   */
  removeNode(node: Node): void {
    const name = node.metadata.name ?? '';
    const ni = this.nodes.get(name);
    if (!ni || this.ghosts.has(name)) return;
    this.removeNodeImages(ni);
    this.treeRemove(ni.node);
    this.invalidateTopology();
    for (const pi of ni.pods) this.countAntiTerms(pi, -1);
    if (ni.pods.length > 0) {
      this.ghosts.add(name);
      this.withAffinity.delete(ni);
      this.withRequiredAnti.delete(ni);
      this.withScoringAffinity.delete(ni);
    } else this.nodes.delete(name);
  }

  private addNodeImages(ni: NodeInfo): void {
    ni.imageStates = new Map();
    for (const img of ni.node.status?.images ?? []) {
      for (const n of img.names ?? []) {
        let st = this.images.get(n);
        if (!st) this.images.set(n, (st = { size: img.sizeBytes ?? 0, nodes: new Set() }));
        st.nodes.add(ni.name);
        ni.imageStates.set(n, st);
      }
    }
  }

  private removeNodeImages(ni: NodeInfo): void {
    for (const [n, st] of ni.imageStates) {
      st.nodes.delete(ni.name);
      if (st.nodes.size === 0) this.images.delete(n);
    }
    ni.imageStates = new Map();
  }

  private treeAdd(node: Node): void {
    const z = zoneKey(node);
    let list = this.zones.get(z);
    if (!list) this.zones.set(z, (list = []));
    list.push(node.metadata.name ?? '');
    this.order = null;
  }

  private treeRemove(node: Node): void {
    const z = zoneKey(node);
    const list = this.zones.get(z);
    if (!list) return;
    const i = list.indexOf(node.metadata.name ?? '');
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.zones.delete(z);
    this.order = null;
  }

  private treeUpdate(oldNode: Node, node: Node): void {
    if (zoneKey(oldNode) === zoneKey(node)) return;
    this.treeRemove(oldNode);
    this.treeAdd(node);
  }

  /** Nodes in upstream's walk order: one node from each zone in turn. */
  private nodeList(): NodeInfo[] {
    if (this.order) return this.order;
    const zones = [...this.zones.values()];
    const out: NodeInfo[] = [];
    let total = 0;
    for (const z of zones) total += z.length;
    for (let i = 0; out.length < total; i++) {
      for (const z of zones) if (i < z.length) out.push(this.nodes.get(z[i]!)!);
    }
    this.order = out;
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Pods

  private nodeFor(name: string): NodeInfo {
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo({ metadata: { name } });
      this.nodes.set(name, ni);
      this.ghosts.add(name);
    }
    return ni;
  }

  private place(pi: PodInfo, nodeName: string): void {
    const ni = this.nodeFor(nodeName);
    ni.addPod(pi);
    this.trackAffinity(ni);
    this.accountTopology(ni, pi, 1);
  }

  private unplace(uid: string, nodeName: string): void {
    const ni = this.nodes.get(nodeName);
    if (!ni) return;
    const pi = ni.removePod(uid);
    this.trackAffinity(ni);
    if (pi) this.accountTopology(ni, pi, -1);
    if (ni.pods.length === 0 && this.ghosts.has(nodeName)) {
      this.ghosts.delete(nodeName);
      this.nodes.delete(nodeName);
    }
  }

  /** Keeps the views and the anti-affinity term counts in step with a pod on a listed node. */
  private accountTopology(ni: NodeInfo, pi: PodInfo, sign: 1 | -1): void {
    if (this.ghosts.has(ni.name)) return;
    for (const v of this.views.values()) {
      const w = v.weight(pi);
      if (w) for (const k of v.keys) v.counts.bump(ni.labels, k, sign * w);
    }
    this.countAntiTerms(pi, sign);
  }

  private countAntiTerms(pi: PodInfo, sign: 1 | -1): void {
    for (const t of pi.requiredAntiAffinityTerms) {
      const n = (this.antiTerms.get(t) ?? 0) + sign;
      if (n > 0) this.antiTerms.set(t, n);
      else this.antiTerms.delete(t);
    }
  }

  private invalidateTopology(): void {
    this.views.clear();
    this.domainIndex.clear();
  }

  /**
   * Pods on listed nodes weighted by `weight` (0: not counted), per domain of each of
   * `topologyKeys` (once per entry), kept up to date from then on as pods come and go. `key`
   * names the weight function: calls with the same key must pass equivalent functions. The
   * answer is shared: read it, never change it (copy first). Dropped when nodes change.
   */
  podCounts(key: string, weight: (pi: PodInfo) => number, topologyKeys: readonly string[]): TopologyCounts {
    let v = this.views.get(key);
    if (!v) {
      const counts = new TopologyCounts();
      for (const ni of this.nodeList()) {
        for (const pi of ni.pods) {
          const w = weight(pi);
          if (w) for (const k of topologyKeys) counts.bump(ni.labels, k, w);
        }
      }
      if (this.views.size >= MAX_VIEWS) {
        let oldest: string | undefined;
        let oldestUse = Infinity;
        for (const [k, x] of this.views) {
          if (x.used < oldestUse) {
            oldestUse = x.used;
            oldest = k;
          }
        }
        if (oldest !== undefined) this.views.delete(oldest);
      }
      v = { weight, keys: topologyKeys, counts, used: 0 };
      this.views.set(key, v);
    }
    v.used = ++this.viewTick;
    return v.counts;
  }

  /** The values of a label among listed nodes (value → nodes), and how many nodes have it. */
  domains(topologyKey: string): { readonly values: ReadonlyMap<string, number>; readonly nodes: number } {
    let d = this.domainIndex.get(topologyKey);
    if (!d) {
      const values = new Map<string, number>();
      let nodes = 0;
      for (const ni of this.nodeList()) {
        const v = ni.labels[topologyKey];
        if (v === undefined) continue;
        values.set(v, (values.get(v) ?? 0) + 1);
        nodes++;
      }
      d = { values, nodes };
      this.domainIndex.set(topologyKey, d);
    }
    return d;
  }


  private trackAffinity(ni: NodeInfo): void {
    if (this.ghosts.has(ni.name)) return;
    if (ni.podsWithAffinity.length > 0) this.withAffinity.add(ni);
    else this.withAffinity.delete(ni);
    if (ni.podsWithRequiredAntiAffinity.length > 0) this.withRequiredAnti.add(ni);
    else this.withRequiredAnti.delete(ni);
    if (ni.podsWithScoringAffinity.length > 0) this.withScoringAffinity.add(ni);
    else this.withScoringAffinity.delete(ni);
  }

  /**
   * Accounts a pod on nodeName before its binding is confirmed (upstream's AssumePod). The pod
   * object is not copied or changed: the cache records the node beside it.
   */
  assumePod(pod: Pod | PodInfo, nodeName: string): void {
    const pi = 'pod' in pod && 'uid' in pod ? (pod as PodInfo) : podInfoOf(pod as Pod);
    if (this.pods.has(pi.uid)) throw new CacheError(`pod ${pi.key}(${pi.uid}) is in the cache, so can't be assumed`);
    this.pods.set(pi.uid, { pi, nodeName, assumed: true, bindingFinished: false });
    this.place(pi, nodeName);
  }

  /** The binding call returned: start the expiry clock of the assumed pod. */
  finishBinding(uid: string): void {
    const st = this.pods.get(uid);
    if (!st || !st.assumed) return;
    st.bindingFinished = true;
    if (this.ttlMs > 0) st.deadline = this.now() + this.ttlMs;
  }

  /** Undoes assumePod (binding failed). */
  forgetPod(uid: string): void {
    const st = this.pods.get(uid);
    if (!st) return;
    if (!st.assumed) throw new CacheError(`pod ${st.pi.key}(${uid}) was added to the cache, so can't be forgotten`);
    this.unplace(uid, st.nodeName);
    this.pods.delete(uid);
  }

  isAssumed(uid: string): boolean {
    return this.pods.get(uid)?.assumed === true;
  }

  /** The node a pod is accounted on (assumed or confirmed). */
  nodeOf(uid: string): string | undefined {
    return this.pods.get(uid)?.nodeName;
  }

  /** An assigned pod seen by the informer (confirms an assumed one). */
  addPod(pod: Pod): void {
    const nodeName = pod.spec.nodeName;
    if (!nodeName) return;
    const uid = podUID(pod);
    const pi = podInfoOf(pod);
    const st = this.pods.get(uid);
    if (st) {
      if (!st.assumed) {
        // Already added: treat as an update (a relist can repeat an add).
        this.unplace(uid, st.nodeName);
        this.place(pi, nodeName);
        st.pi = pi;
        st.nodeName = nodeName;
        return;
      }
      // Confirmation of an assumed pod; it may have landed elsewhere (another scheduler).
      this.unplace(uid, st.nodeName);
      this.place(pi, nodeName);
      this.pods.set(uid, { pi, nodeName, assumed: false, bindingFinished: false });
      return;
    }
    this.pods.set(uid, { pi, nodeName, assumed: false, bindingFinished: false });
    this.place(pi, nodeName);
  }

  updatePod(oldPod: Pod | undefined, newPod: Pod): void {
    const uid = podUID(newPod);
    const st = this.pods.get(uid);
    if (!st) {
      this.addPod(newPod);
      return;
    }
    if (!newPod.spec.nodeName) return;
    this.unplace(uid, st.nodeName);
    const pi = podInfoOf(newPod);
    this.place(pi, newPod.spec.nodeName);
    st.pi = pi;
    st.nodeName = newPod.spec.nodeName;
    st.assumed = false;
    void oldPod;
  }

  removePod(pod: Pod): void {
    const uid = podUID(pod);
    const st = this.pods.get(uid);
    if (!st) return;
    this.unplace(uid, st.nodeName);
    this.pods.delete(uid);
  }

  /** Drops assumed pods whose binding finished longer than the TTL ago; returns their keys. */
  cleanupExpiredAssumedPods(now = this.now()): string[] {
    const expired: string[] = [];
    for (const [uid, st] of this.pods) {
      if (!st.assumed || !st.bindingFinished || st.deadline === undefined || now < st.deadline) continue;
      this.unplace(uid, st.nodeName);
      this.pods.delete(uid);
      expired.push(podKey(st.pi.pod));
    }
    return expired;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /** The current nodes as plugins see them; valid for one synchronous scheduling cycle. */
  snapshot(): NodeInfoLister {
    return this.view;
  }

  get nodeCount(): number {
    return this.nodes.size - this.ghosts.size;
  }

  get podCount(): number {
    return this.pods.size;
  }

  imageState(name: string): ImageState | undefined {
    return this.images.get(name);
  }

  /** For debugging and tests: node name → keys of the pods accounted there. */
  dump(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, ni] of this.nodes) out[name] = ni.pods.map((p) => p.key).sort();
    return out;
  }
}

/** A snapshot of these nodes and (assigned) pods, for tests and offline evaluation. */
export function newSnapshot(nodes: readonly Node[], pods: readonly Pod[] = []): NodeInfoLister {
  const c = new SchedulerCache();
  for (const n of nodes) c.addNode(n);
  for (const p of pods) c.addPod(p);
  return c.snapshot();
}

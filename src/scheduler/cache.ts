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
import { podInfoOf, type PodInfo } from './podinfo.ts';
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
      imageState: (name) => self.images.get(name),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Nodes

  addNode(node: Node): NodeInfo {
    const name = node.metadata.name ?? '';
    let ni = this.nodes.get(name);
    if (ni) {
      this.removeNodeImages(ni);
      if (this.ghosts.delete(name)) this.treeAdd(node);
      else this.treeUpdate(ni.node, node);
      ni.setNode(node);
    } else {
      ni = new NodeInfo(node);
      this.nodes.set(name, ni);
      this.treeAdd(node);
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
    if (ni.pods.length > 0) {
      this.ghosts.add(name);
      this.withAffinity.delete(ni);
      this.withRequiredAnti.delete(ni);
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
  }

  private unplace(uid: string, nodeName: string): void {
    const ni = this.nodes.get(nodeName);
    if (!ni) return;
    ni.removePod(uid);
    this.trackAffinity(ni);
    if (ni.pods.length === 0 && this.ghosts.has(nodeName)) {
      this.ghosts.delete(nodeName);
      this.nodes.delete(nodeName);
    }
  }

  private trackAffinity(ni: NodeInfo): void {
    if (this.ghosts.has(ni.name)) return;
    if (ni.podsWithAffinity.length > 0) this.withAffinity.add(ni);
    else this.withAffinity.delete(ni);
    if (ni.podsWithRequiredAntiAffinity.length > 0) this.withRequiredAnti.add(ni);
    else this.withRequiredAnti.delete(ni);
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

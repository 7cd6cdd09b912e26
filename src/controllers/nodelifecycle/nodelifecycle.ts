// The node lifecycle controller (upstream pkg/controller/nodelifecycle): watches node heartbeats
// (the node's Lease in kube-node-lease, and its Ready condition's lastHeartbeatTime) and, once a
// node has been silent for config.nodeMonitorGracePeriodMs:
// - sets its Ready (and MemoryPressure, DiskPressure, PIDPressure) conditions Unknown with reason
//   NodeStatusUnknown, "Kubelet stopped posting node status." (NodeStatusNeverUpdated for a node
//   that never posted, after a 60 s startup grace);
// - records NodeNotReady on the node, and marks its pods' Ready condition False (NodeNotReady
//   event on each pod);
// - taints it node.kubernetes.io/unreachable:NoExecute (not-ready when Ready=False), through a
//   per-zone rate-limited queue (0.1 node/s; reduced or stopped when a zone is largely or wholly
//   down; no NoExecute taints at all when every zone is down), and removes the taints when Ready
//   comes back. Pods are then evicted by the taint eviction controller.
// It also keeps the NoSchedule taints that mirror node conditions (not-ready, unreachable,
// memory/disk/pid-pressure, network-unavailable) and spec.unschedulable.
import type { KObject } from '../../api/meta.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING } from '../../client/events.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { isNotFound } from '../cluster/errors.ts';
import { nowRfc3339, parseTime, podNodeName, type Condition } from '../cluster/objects.ts';
import { recordNodeEvent, recordNodeStatusChange, zoneKey } from '../cluster/nodes.ts';
import { conditionTaints, managedNoScheduleTaints, NOT_READY_NO_EXECUTE, swapNodeTaints, taintExists, taintSetDiff, taintsOf, UNREACHABLE_NO_EXECUTE } from './taints.ts';

export const NODE_STARTUP_GRACE_PERIOD_MS = 60_000;
export const EVICTION_LIMITER_QPS = 0.1;
export const SECONDARY_EVICTION_LIMITER_QPS = 0.01;
export const LARGE_CLUSTER_THRESHOLD = 50;
export const UNHEALTHY_ZONE_THRESHOLD = 0.55;
export const LABEL_EXCLUDE_DISRUPTION = 'node.kubernetes.io/exclude-disruption';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** The pod index this controller (and taint eviction) reads: pods by spec.nodeName. */
export const PODS_BY_NODE = 'rudder.io/pods-by-node';
export const podsByNodeIndex = (p: KObject): readonly string[] => {
  const n = podNodeName(p);
  return n ? [n] : [];
};

const HEALTH_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export type ZoneState = 'Initial' | 'Normal' | 'FullDisruption' | 'PartialDisruption';

/** upstream's ComputeZoneState over the zone's Ready conditions. */
export function computeZoneState(ready: readonly (Condition | undefined)[]): { notReady: number; state: ZoneState } {
  let readyNodes = 0;
  let notReady = 0;
  for (const c of ready) {
    if (c?.status === 'True') readyNodes++;
    else notReady++;
  }
  if (readyNodes === 0 && notReady > 0) return { notReady, state: 'FullDisruption' };
  if (notReady > 2 && notReady / (notReady + readyNodes) >= UNHEALTHY_ZONE_THRESHOLD) return { notReady, state: 'PartialDisruption' };
  return { notReady, state: 'Normal' };
}

/** A token bucket on the injected clock (burst 1); qps 0 never accepts. */
export class TokenBucket {
  qps: number;
  private tokens = 1;
  private last: number;
  private readonly now: () => number;

  constructor(qps: number, now: () => number) {
    this.qps = qps;
    this.now = now;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(1, this.tokens + ((t - this.last) / 1000) * this.qps);
      this.last = t;
    }
  }

  tryAccept(): boolean {
    if (this.qps <= 0) return false;
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (Infinity when qps is 0). */
  waitMs(): number {
    if (this.qps <= 0) return Infinity;
    this.refill();
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.qps) * 1000;
  }

  swap(qps: number): void {
    this.refill();
    if (qps <= 0) this.tokens = 0;
    this.qps = qps;
  }
}

/** Node names waiting to be tainted, in order, each once (upstream's RateLimitedTimedQueue). */
class TaintQueue {
  readonly limiter: TokenBucket;
  private readonly items = new Map<string, { uid: string; processAt: number }>();

  constructor(limiter: TokenBucket) {
    this.limiter = limiter;
  }

  add(name: string, uid: string, now: number): boolean {
    if (this.items.has(name)) return false;
    this.items.set(name, { uid, processAt: now });
    return true;
  }

  remove(name: string): boolean {
    return this.items.delete(name);
  }

  get size(): number {
    return this.items.size;
  }

  /** Processes due items while the limiter allows; fn answers done, or a retry delay. */
  async try(now: () => number, fn: (name: string) => Promise<true | number>): Promise<void> {
    for (;;) {
      const head = this.items.entries().next();
      if (head.done) return;
      const [name, v] = head.value;
      if (!this.limiter.tryAccept()) return;
      if (now() < v.processAt) return;
      const r = await fn(name);
      if (r === true) this.items.delete(name);
      else {
        this.items.delete(name);
        this.items.set(name, { ...v, processAt: now() + r + 1 });
      }
    }
  }
}

interface NodeHealth {
  /** The Ready condition as last seen (heartbeat and transition time). */
  ready?: { lastHeartbeatTime?: string; lastTransitionTime?: string };
  probeTimestamp: number;
  readyTransitionTimestamp: number;
  leaseRenewTime?: number;
}

function readyCondition(node: KObject): Condition | undefined {
  return ((node.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
}

function sameCondition(a: Condition | undefined, b: Condition | undefined): boolean {
  if (!a || !b) return a === b;
  return a.status === b.status && a.reason === b.reason && a.message === b.message && a.lastHeartbeatTime === b.lastHeartbeatTime && a.lastTransitionTime === b.lastTransitionTime;
}

export const nodeLifecycleController: Controller = {
  name: 'nodelifecycle',
  setup(ctx: ControllerContext) {
    return new NodeLifecycleController(ctx);
  },
};

export class NodeLifecycleController {
  private readonly ctx: ControllerContext;
  private readonly nodes;
  private readonly pods;
  private readonly leases;
  private readonly recorder;
  private readonly health = new Map<string, NodeHealth>();
  private readonly known = new Map<string, KObject>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly tainters = new Map<string, TaintQueue>();
  private readonly nodesToRetry = new Set<string>();
  private readonly noScheduleQueue: WorkQueue<string>;
  private readonly podQueue: WorkQueue<string>;
  private taintTimer?: { cancel(): void };
  private signal?: AbortSignal;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    this.nodes = ctx.informers.informerFor('', 'nodes');
    this.pods = ctx.informers.informerFor('', 'pods', { indexers: { [PODS_BY_NODE]: podsByNodeIndex } });
    this.leases = ctx.informers.informerFor('coordination.k8s.io', 'leases');
    this.recorder = ctx.recorder('node-controller');
    this.noScheduleQueue = new WorkQueue<string>({ clock: ctx.clock, name: 'node_lifecycle_controller' });
    this.podQueue = new WorkQueue<string>({ clock: ctx.clock, name: 'node_lifecycle_controller_pods' });
    this.nodes.addEventHandler({
      onAdd: (n) => this.noScheduleQueue.add(n.metadata.name!),
      onUpdate: (_o, n) => this.noScheduleQueue.add(n.metadata.name!),
    });
    this.pods.addEventHandler({
      onAdd: (p) => {
        if (podNodeName(p)) this.podQueue.add(keyOf(p));
      },
      onUpdate: (o, p) => {
        if (podNodeName(p) && podNodeName(p) !== podNodeName(o)) this.podQueue.add(keyOf(p));
      },
    });
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private nowString(): string {
    return nowRfc3339(this.ctx.clock);
  }

  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    signal.addEventListener('abort', () => this.taintTimer?.cancel(), { once: true });
    const monitor = (async () => {
      while (!signal.aborted) {
        try {
          await this.monitorNodeHealth();
          await this.noExecuteTaintingPass();
        } catch (e) {
          this.ctx.log(`nodelifecycle: monitoring node health: ${(e as Error).message}`);
        }
        try {
          await this.ctx.clock.after(this.ctx.config.nodeMonitorPeriodMs, signal);
        } catch {
          return;
        }
      }
    })();
    await Promise.all([
      monitor,
      runWorkers(this.noScheduleQueue, 4, (n) => this.noScheduleTaintingPass(n), signal, this.ctx.log, 'nodelifecycle-noschedule'),
      runWorkers(this.podQueue, 4, (k) => this.processPod(k), signal, this.ctx.log, 'nodelifecycle-pods'),
    ]);
  }

  // ------------------------------------------------------------------------------ NoSchedule

  private async noScheduleTaintingPass(name: string): Promise<void> {
    const node = this.nodes.lister().get(name);
    if (!node) return;
    const { add, remove } = taintSetDiff(conditionTaints(node), managedNoScheduleTaints(node));
    if (add.length === 0 && remove.length === 0) return;
    await swapNodeTaints(this.ctx.client, node, name, add, remove, () => this.nowString());
  }

  // ------------------------------------------------------------------------------ health

  private tainterFor(zone: string): TaintQueue {
    let q = this.tainters.get(zone);
    if (!q) {
      q = new TaintQueue(new TokenBucket(EVICTION_LIMITER_QPS, () => this.now()));
      this.tainters.set(zone, q);
      this.zoneStates.set(zone, 'Initial');
    }
    return q;
  }

  /** upstream's tryUpdateNodeHealth: answers the Ready condition as observed and as it is now. */
  private async tryUpdateNodeHealth(node: KObject): Promise<{ observed: Condition; current: Condition | undefined }> {
    const name = node.metadata.name!;
    let h = this.health.get(name);
    const now = this.now();
    const created = parseTime(node.metadata.creationTimestamp) ?? now;
    let current = readyCondition(node);
    let observed: Condition;
    let grace: number;
    if (!current) {
      observed = { type: 'Ready', status: 'Unknown', lastHeartbeatTime: node.metadata.creationTimestamp ?? undefined, lastTransitionTime: node.metadata.creationTimestamp ?? undefined };
      grace = NODE_STARTUP_GRACE_PERIOD_MS;
      if (h) h = { ...h, ready: undefined };
      else h = { probeTimestamp: created, readyTransitionTimestamp: created };
    } else {
      observed = { ...current };
      grace = this.ctx.config.nodeMonitorGracePeriodMs;
    }
    const saved = h?.ready;
    const leaseRenew = h?.leaseRenewTime;
    if (!h) {
      h = { ready: current ? { ...current } : undefined, probeTimestamp: now, readyTransitionTimestamp: now };
    } else if (!saved && current) {
      h = { ready: { ...current }, probeTimestamp: now, readyTransitionTimestamp: now };
    } else if (saved && current && saved.lastHeartbeatTime !== current.lastHeartbeatTime) {
      const transition = saved.lastTransitionTime !== current.lastTransitionTime ? now : h.readyTransitionTimestamp;
      h = { ready: { ...current }, probeTimestamp: now, readyTransitionTimestamp: transition };
    }
    h.leaseRenewTime = leaseRenew;
    // a renewed Lease always counts as a heartbeat
    const lease = this.leases.lister().namespace(NODE_LEASE_NAMESPACE).get(name);
    const renew = parseTime((lease?.spec as { renewTime?: string } | undefined)?.renewTime);
    if (lease && renew !== undefined && (h.leaseRenewTime === undefined || h.leaseRenewTime < renew)) {
      h.leaseRenewTime = renew;
      h.probeTimestamp = now;
    }
    this.health.set(name, h);
    if (now > h.probeTimestamp + grace) {
      const nowStr = this.nowString();
      const status = (node.status ??= {}) as { conditions?: Condition[] };
      const conditions = (status.conditions ??= []);
      for (const type of HEALTH_CONDITIONS) {
        const c = conditions.find((x) => x.type === type);
        if (!c) {
          conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata.creationTimestamp ?? undefined, lastTransitionTime: nowStr });
        } else if (c.status !== 'Unknown') {
          c.status = 'Unknown';
          c.reason = 'NodeStatusUnknown';
          c.message = 'Kubelet stopped posting node status.';
          c.lastTransitionTime = nowStr;
        }
      }
      current = readyCondition(node);
      if (!sameCondition(current, observed)) {
        await this.ctx.client.resource('', 'nodes').updateStatus(node);
        this.health.set(name, { ready: current ? { ...current } : undefined, probeTimestamp: h.probeTimestamp, readyTransitionTimestamp: now, leaseRenewTime: h.leaseRenewTime });
      }
    }
    return { observed, current };
  }

  private async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodes.lister().list();
    const seen = new Set<string>();
    for (const n of nodes) {
      const name = n.metadata.name!;
      seen.add(name);
      this.tainterFor(zoneKey(n));
      if (!this.known.has(name)) {
        recordNodeEvent(this.recorder, { name, uid: n.metadata.uid }, EVENT_TYPE_NORMAL, 'RegisteredNode', `Registered Node ${name} in Controller`);
        this.known.set(name, n);
        await this.markNodeAsReachable(n).catch((e) => this.ctx.log(`nodelifecycle: removing taints from ${name}: ${(e as Error).message}`));
      }
    }
    for (const [name, n] of this.known) {
      if (seen.has(name)) continue;
      recordNodeEvent(this.recorder, { name, uid: n.metadata.uid }, EVENT_TYPE_NORMAL, 'RemovingNode', `Removing Node ${name} from Controller`);
      this.known.delete(name);
      this.health.delete(name);
    }
    const zoneConditions = new Map<string, (Condition | undefined)[]>();
    await Promise.all(
      nodes.map(async (cached) => {
        let node = structuredClone(cached) as KObject;
        let r: { observed: Condition; current: Condition | undefined } | undefined;
        for (let attempt = 0; attempt < 5 && !r; attempt++) {
          try {
            r = await this.tryUpdateNodeHealth(node);
          } catch (e) {
            try {
              node = await this.ctx.client.resource('', 'nodes').get(cached.metadata.name!);
              node = structuredClone(node) as KObject;
            } catch {
              this.ctx.log(`nodelifecycle: node ${cached.metadata.name} is gone while updating its health: ${(e as Error).message}`);
              return;
            }
          }
        }
        if (!r) return;
        const { observed, current } = r;
        if (node.metadata.labels?.[LABEL_EXCLUDE_DISRUPTION] === undefined) {
          const z = zoneKey(node);
          zoneConditions.set(z, [...(zoneConditions.get(z) ?? []), current]);
        }
        if (!current) return;
        const name = node.metadata.name!;
        await this.processTaintBasedEviction(node, observed);
        const needsRetry = this.nodesToRetry.has(name);
        const becameNotReady = current.status !== 'True' && observed.status === 'True';
        if (becameNotReady) recordNodeStatusChange(this.recorder, { name, uid: node.metadata.uid }, 'NodeNotReady');
        if (becameNotReady || (needsRetry && observed.status !== 'True')) {
          try {
            await this.markPodsNotReady(this.pods.indexer.byIndex(PODS_BY_NODE, name), name);
          } catch (e) {
            this.ctx.log(`nodelifecycle: unable to mark all pods NotReady on node ${name}: ${(e as Error).message}; queuing for retry`);
            this.nodesToRetry.add(name);
            return;
          }
        }
        this.nodesToRetry.delete(name);
      }),
    );
    await this.handleDisruption(zoneConditions, nodes);
  }

  private async processTaintBasedEviction(node: KObject, observed: Condition): Promise<void> {
    const now = this.now();
    const taints = taintsOf(node);
    const name = node.metadata.name!;
    switch (observed.status) {
      case 'False':
        if (taintExists(taints, UNREACHABLE_NO_EXECUTE)) await swapNodeTaints(this.ctx.client, undefined, name, [NOT_READY_NO_EXECUTE], [UNREACHABLE_NO_EXECUTE], () => this.nowString());
        else this.tainterFor(zoneKey(node)).add(name, node.metadata.uid!, now);
        break;
      case 'Unknown':
        if (taintExists(taints, NOT_READY_NO_EXECUTE)) await swapNodeTaints(this.ctx.client, undefined, name, [UNREACHABLE_NO_EXECUTE], [NOT_READY_NO_EXECUTE], () => this.nowString());
        else this.tainterFor(zoneKey(node)).add(name, node.metadata.uid!, now);
        break;
      case 'True':
        await this.markNodeAsReachable(node);
        break;
    }
  }

  /** Removes both NoExecute health taints and any pending tainting. */
  private async markNodeAsReachable(node: KObject): Promise<void> {
    const name = node.metadata.name!;
    this.tainterFor(zoneKey(node)).remove(name);
    const taints = taintsOf(node);
    if (!taintExists(taints, UNREACHABLE_NO_EXECUTE) && !taintExists(taints, NOT_READY_NO_EXECUTE)) return;
    await swapNodeTaints(this.ctx.client, undefined, name, [], [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE], () => this.nowString());
  }

  /** upstream's MarkPodsNotReady: each pod's Ready condition set False (with a NodeNotReady event). */
  private async markPodsNotReady(pods: readonly KObject[], nodeName: string): Promise<void> {
    const errs: string[] = [];
    for (const p of pods) {
      if (podNodeName(p) !== nodeName) continue;
      const status = (p.status ?? {}) as { conditions?: Condition[] };
      const ready = status.conditions?.find((c) => c.type === 'Ready');
      if (!ready || ready.status === 'False') continue;
      const pod = structuredClone(p) as KObject;
      const c = (pod.status as { conditions: Condition[] }).conditions.find((x) => x.type === 'Ready')!;
      c.status = 'False';
      c.lastTransitionTime = this.nowString();
      try {
        await this.ctx.client.resource('', 'pods').namespace(p.metadata.namespace!).updateStatus(pod);
      } catch (e) {
        if (isNotFound(e)) continue;
        errs.push((e as Error).message);
        continue;
      }
      this.recorder.event(p, EVENT_TYPE_WARNING, 'NodeNotReady', 'Node is not ready');
    }
    if (errs.length) throw new Error(errs.join('; '));
  }

  private async processPod(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.pods.lister().namespace(namespace).get(name);
    if (!pod) return;
    const nodeName = podNodeName(pod);
    const h = this.health.get(nodeName);
    if (!h) return;
    if (!this.nodes.lister().get(nodeName)) throw new Error(`node ${nodeName} not in the cache`);
    if (!h.ready) return;
    const node = this.nodes.lister().get(nodeName)!;
    const ready = readyCondition(node);
    if (ready && ready.status !== 'True') await this.markPodsNotReady([pod], nodeName);
  }

  // ------------------------------------------------------------------------------ NoExecute taints

  /** Taints queued nodes as the zone limiters allow; re-arms itself while nodes wait for tokens. */
  private async noExecuteTaintingPass(): Promise<void> {
    this.taintTimer?.cancel();
    this.taintTimer = undefined;
    let wait = Infinity;
    for (const q of this.tainters.values()) {
      await q.try(
        () => this.now(),
        async (name) => {
          const node = this.nodes.lister().get(name);
          if (!node) return true;
          const c = readyCondition(node);
          if (!c) return 50;
          let add;
          let remove;
          if (c.status === 'False') [add, remove] = [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE];
          else if (c.status === 'Unknown') [add, remove] = [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE];
          else return true;
          try {
            await swapNodeTaints(this.ctx.client, node, name, [add], [remove], () => this.nowString());
            return true;
          } catch (e) {
            this.ctx.log(`nodelifecycle: tainting ${name}: ${(e as Error).message}`);
            return 0;
          }
        },
      );
      if (q.size > 0) wait = Math.min(wait, Math.max(q.limiter.waitMs(), 100));
    }
    if (wait !== Infinity && !this.signal?.aborted) {
      this.taintTimer = this.ctx.clock.setTimeout(() => void this.noExecuteTaintingPass().catch((e) => this.ctx.log(`nodelifecycle: ${(e as Error).message}`)), wait);
    }
  }

  private setLimiterInZone(zone: string, size: number, state: ZoneState): void {
    const q = this.tainterFor(zone);
    if (state === 'Normal' || state === 'FullDisruption' || state === 'Initial') q.limiter.swap(EVICTION_LIMITER_QPS);
    else q.limiter.swap(size > LARGE_CLUSTER_THRESHOLD ? SECONDARY_EVICTION_LIMITER_QPS : 0);
  }

  /** upstream's handleDisruption: zone states drive the taint rate; all zones down stops NoExecute tainting. */
  private async handleDisruption(zoneConditions: Map<string, (Condition | undefined)[]>, nodes: readonly KObject[]): Promise<void> {
    const newStates = new Map<string, ZoneState>();
    let allAreFully = true;
    for (const [zone, conds] of zoneConditions) {
      const { state } = computeZoneState(conds);
      if (state !== 'FullDisruption') allAreFully = false;
      newStates.set(zone, state);
      if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, 'Initial');
    }
    let allWereFully = true;
    for (const [zone, state] of [...this.zoneStates]) {
      if (!zoneConditions.has(zone)) {
        this.zoneStates.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') {
        allWereFully = false;
        break;
      }
    }
    if (allAreFully && allWereFully) return;
    if (allAreFully) {
      this.ctx.log('nodelifecycle: Controller detected that all Nodes are not-Ready. Entering master disruption mode');
      for (const n of nodes) await this.markNodeAsReachable(n).catch((e) => this.ctx.log(`nodelifecycle: ${(e as Error).message}`));
      for (const zone of this.zoneStates.keys()) {
        this.tainterFor(zone).limiter.swap(0);
        this.zoneStates.set(zone, 'FullDisruption');
      }
      return;
    }
    if (allWereFully) {
      this.ctx.log('nodelifecycle: Controller detected that some Nodes are Ready. Exiting master disruption mode');
      const now = this.now();
      for (const n of nodes) {
        const h = this.health.get(n.metadata.name!);
        if (h) this.health.set(n.metadata.name!, { ...h, probeTimestamp: now, readyTransitionTimestamp: now });
      }
      for (const zone of [...this.zoneStates.keys()]) {
        const s = newStates.get(zone) ?? 'Normal';
        this.setLimiterInZone(zone, zoneConditions.get(zone)?.length ?? 0, s);
        this.zoneStates.set(zone, s);
      }
      return;
    }
    for (const [zone, state] of [...this.zoneStates]) {
      const s = newStates.get(zone) ?? state;
      if (s === state) continue;
      this.ctx.log(`nodelifecycle: zone ${JSON.stringify(zone)} is now in state ${s}`);
      this.setLimiterInZone(zone, zoneConditions.get(zone)?.length ?? 0, s);
      this.zoneStates.set(zone, s);
    }
  }
}

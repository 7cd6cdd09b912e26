// The scheduling queue (upstream's PriorityQueue): pods waiting to be scheduled live in exactly
// one of
//   activeQ            ready now, ordered by the profile's QueueSort (priority, then age);
//   backoffQ           failed recently, waiting out an exponential backoff (1 s doubling to 10 s)
//                      ordered by when it ends;
//   unschedulablePods  rejected by some plugins, parked until a cluster event one of those
//                      plugins registered (and its queueing hint) says it may now fit, or five
//                      minutes pass; pods held by PreEnqueue (scheduling gates) wait here too.
// Events that arrive while a pod is being scheduled are remembered, so a pod that fails right
// after the change that would have helped it is not parked.
//
// Also the nominator: pods that preemption nominated to a node, which Filter must count there.

import type { Clock } from '../client/clock.ts';
import { eventMatches, podUpdateActions, UnschedulableTimeout, type ClusterEvent, type ClusterEventWithHint } from './events.ts';
import type { NominatingInfo, PodNominatorView } from './framework/interfaces.ts';
import { KeyedHeap } from './heap.ts';
import { podInfoOf, type PodInfo } from './podinfo.ts';
import { isSuccess, type MaybeStatus } from './status.ts';
import { podUID, type Pod } from './types.ts';

export interface QueuedPodInfo {
  podInfo: PodInfo;
  /** When the pod was last added back to the queue (ms): the backoff starts here. */
  timestamp: number;
  /** When the pod was first popped, for latency metrics. */
  initialAttemptTimestamp?: number;
  /** Scheduling attempts so far. */
  attempts: number;
  /** Plugins that rejected the pod in its last attempt. */
  unschedulablePlugins: Set<string>;
  /** Plugins that answered Pending in its last attempt. */
  pendingPlugins: Set<string>;
  /** Held by a PreEnqueue plugin (e.g. scheduling gates). */
  gated: boolean;
  gatingPlugin?: string;
  gatingMessage?: string;
}

/** What the queue needs to know per profile. */
export interface QueueProfile {
  preEnqueue(pod: Pod): MaybeStatus;
  /** Plugin name → the events it registered. */
  eventRegistrations: ReadonlyMap<string, readonly ClusterEventWithHint[]>;
}

export interface QueueOptions {
  clock: Clock;
  /** QueueSort's less (one for all profiles, as upstream requires). */
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
  /** The profile of a pod (by spec.schedulerName); undefined means the pod is not ours. */
  profileFor(pod: Pod): QueueProfile | undefined;
  /**
   * Every profile; lets events skip parked pods no registered plugin of theirs cares about.
   * Without it every parked pod is checked on every event.
   */
  profiles?(): Iterable<QueueProfile>;
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  podMaxInUnschedulablePodsDurationMs?: number;
  /** Looks a pod up by namespace/name, so the nominator skips pods gone or bound meanwhile. */
  podLister?: (namespace: string, name: string) => Pod | undefined;
}

type Hint = 'skip' | 'backoff' | 'immediately';

interface InFlightEvent {
  seq: number;
  event: ClusterEvent;
  oldObj: unknown;
  newObj: unknown;
}

export type QueueName = 'activeQ' | 'backoffQ' | 'unschedulablePods';

export class SchedulingQueue implements PodNominatorView {
  private readonly clock: Clock;
  private readonly opts: QueueOptions;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly activeQ: KeyedHeap<QueuedPodInfo>;
  private readonly backoffQ: KeyedHeap<QueuedPodInfo>;
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  /** Parked pods by the plugins that rejected them, so an event only visits pods it may concern. */
  private readonly parkedBy = new Map<string, Set<string>>();
  /** Per incoming event kind ("resource/action"): the plugins with a matching registration. */
  private readonly interestCache = new Map<string, Set<string>>();
  /** Popped and being scheduled: uid → the event sequence number at pop. */
  private readonly inFlight = new Map<string, { seq: number; qpi: QueuedPodInfo }>();
  private events: InFlightEvent[] = [];
  private eventSeq = 0;
  private waiters: (() => void)[] = [];
  private timers: { cancel(): void }[] = [];
  private closed = false;
  /** Counts pops (upstream's schedulingCycle). */
  schedulingCycle = 0;

  // nominator
  private readonly nominatedPods = new Map<string, PodInfo[]>();
  private readonly nominatedPodToNode = new Map<string, string>();

  constructor(opts: QueueOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.initialBackoffMs = opts.podInitialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.podMaxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.podMaxInUnschedulablePodsDurationMs ?? 5 * 60_000;
    this.activeQ = new KeyedHeap((q) => q.podInfo.uid, (a, b) => opts.less(a, b));
    this.backoffQ = new KeyedHeap((q) => q.podInfo.uid, (a, b) => this.backoffTime(a) < this.backoffTime(b));
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /** Starts the periodic flushes: backoffQ every second, long-parked pods every 30 s. */
  run(): void {
    const every = (ms: number, fn: () => void) => {
      const tick = () => {
        if (this.closed) return;
        fn();
        const t = this.clock.setTimeout(tick, ms);
        this.timers[idx] = t;
      };
      const idx = this.timers.length;
      this.timers.push(this.clock.setTimeout(tick, ms));
    };
    every(1000, () => this.flushBackoffQCompleted());
    every(30_000, () => this.flushUnschedulablePodsLeftover());
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.wake();
  }

  // -------------------------------------------------------------------------------------------
  // Backoff

  /** upstream's calculateBackoffDuration: 0 before any attempt, then initial × 2^(attempts-1), capped. */
  backoffDuration(q: QueuedPodInfo): number {
    if (q.attempts === 0) return 0;
    let d = this.initialBackoffMs;
    for (let i = 1; i < q.attempts; i++) {
      if (d > this.maxBackoffMs - d) return this.maxBackoffMs;
      d += d;
    }
    return d;
  }

  backoffTime(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDuration(q);
  }

  private isBackingOff(q: QueuedPodInfo): boolean {
    if (q.gated) return false;
    return this.backoffTime(q) > this.clock.now();
  }

  // -------------------------------------------------------------------------------------------
  // Adding and moving

  private newQueued(pod: Pod): QueuedPodInfo {
    return { podInfo: podInfoOf(pod), timestamp: this.clock.now(), attempts: 0, unschedulablePlugins: new Set(), pendingPlugins: new Set(), gated: false };
  }

  /**
   * Into activeQ unless PreEnqueue holds it (then it is parked as gated). Returns whether it
   * landed in activeQ.
   */
  private moveToActiveQ(q: QueuedPodInfo): boolean {
    const profile = this.opts.profileFor(q.podInfo.pod);
    const s = profile?.preEnqueue(q.podInfo.pod);
    if (!isSuccess(s)) {
      q.gated = true;
      q.gatingPlugin = s!.plugin;
      q.gatingMessage = s!.message();
      this.backoffQ.delete(q.podInfo.uid);
      this.activeQ.delete(q.podInfo.uid);
      this.park(q);
      return false;
    }
    q.gated = false;
    q.gatingPlugin = undefined;
    q.gatingMessage = undefined;
    this.unpark(q.podInfo.uid);
    this.backoffQ.delete(q.podInfo.uid);
    this.activeQ.addOrUpdate(q);
    this.wake();
    return true;
  }

  private moveToBackoffQ(q: QueuedPodInfo): void {
    this.unpark(q.podInfo.uid);
    this.activeQ.delete(q.podInfo.uid);
    this.backoffQ.addOrUpdate(q);
  }

  private park(q: QueuedPodInfo): void {
    const uid = q.podInfo.uid;
    const prev = this.unschedulable.get(uid);
    if (prev) this.unindex(prev);
    this.unschedulable.set(uid, q);
    for (const set of [q.unschedulablePlugins, q.pendingPlugins]) {
      for (const plugin of set) {
        let s = this.parkedBy.get(plugin);
        if (!s) this.parkedBy.set(plugin, (s = new Set()));
        s.add(uid);
      }
    }
  }

  private unpark(uid: string): void {
    const q = this.unschedulable.get(uid);
    if (!q) return;
    this.unindex(q);
    this.unschedulable.delete(uid);
  }

  private unindex(q: QueuedPodInfo): void {
    for (const set of [q.unschedulablePlugins, q.pendingPlugins]) {
      for (const plugin of set) {
        const s = this.parkedBy.get(plugin);
        if (!s) continue;
        s.delete(q.podInfo.uid);
        if (s.size === 0) this.parkedBy.delete(plugin);
      }
    }
  }

  /** The plugins (of any profile) that registered an event matching this one. */
  private interestedPlugins(event: ClusterEvent): Set<string> {
    const key = `${event.resource}/${event.action}`;
    let out = this.interestCache.get(key);
    if (!out) {
      out = new Set();
      for (const profile of this.opts.profiles?.() ?? []) {
        for (const [plugin, regs] of profile.eventRegistrations) if (regs.some((r) => eventMatches(r.event, event))) out.add(plugin);
      }
      if (this.interestCache.size > 1024) this.interestCache.clear();
      this.interestCache.set(key, out);
    }
    return out;
  }

  /** A new unscheduled pod (informer add). */
  add(pod: Pod): void {
    const uid = podUID(pod);
    if (this.activeQ.has(uid) || this.backoffQ.has(uid) || this.unschedulable.has(uid) || this.inFlight.has(uid)) {
      this.update(undefined, pod);
      return;
    }
    const q = this.newQueued(pod);
    this.moveToActiveQ(q);
    this.addNominatedPod(q.podInfo, { mode: 'noop', nominatedNodeName: '' });
  }

  /** Forces pods (e.g. of a gang, or after a PodsToActivate) straight to activeQ. */
  activate(pods: readonly Pod[]): void {
    for (const pod of pods) {
      const uid = podUID(pod);
      const q = this.unschedulable.get(uid) ?? this.backoffQ.get(uid);
      if (q && !q.gated) this.moveToActiveQ(q);
    }
  }

  /** An unscheduled pod changed (informer update). */
  update(oldPod: Pod | undefined, newPod: Pod): void {
    const uid = podUID(newPod);
    const pi = podInfoOf(newPod);
    const inFlight = this.inFlight.get(uid);
    if (inFlight) {
      inFlight.qpi.podInfo = pi;
      this.recordEvent({ resource: 'UnscheduledPod', action: oldPod ? podUpdateActions(oldPod, newPod) : 0, label: 'UnscheduledPodUpdate' }, oldPod, newPod);
      this.updateNominatedPod(oldPod, pi);
      return;
    }
    const a = this.activeQ.get(uid);
    if (a) {
      a.podInfo = pi;
      this.activeQ.addOrUpdate(a);
      this.updateNominatedPod(oldPod, pi);
      return;
    }
    const b = this.backoffQ.get(uid);
    if (b) {
      b.podInfo = pi;
      this.backoffQ.addOrUpdate(b);
      this.updateNominatedPod(oldPod, pi);
      return;
    }
    const u = this.unschedulable.get(uid);
    if (u) {
      u.podInfo = pi;
      this.updateNominatedPod(oldPod, pi);
      if (u.gated) {
        // the gates may have been lifted
        this.moveToActiveQ(u);
        return;
      }
      if (oldPod) {
        const event: ClusterEvent = { resource: 'UnscheduledPod', action: podUpdateActions(oldPod, newPod), label: 'UnscheduledPodUpdate' };
        const hint = this.worthRequeuing(u, event, oldPod, newPod);
        this.requeue(u, hint);
      }
      return;
    }
    const q = this.newQueued(newPod);
    this.moveToActiveQ(q);
    this.addNominatedPod(q.podInfo, { mode: 'noop', nominatedNodeName: '' });
  }

  /** The pod was deleted or assigned elsewhere: forget it. */
  delete(pod: Pod): void {
    const uid = podUID(pod);
    this.activeQ.delete(uid);
    this.backoffQ.delete(uid);
    this.unpark(uid);
    this.deleteNominatedPodIfExists(pod);
  }

  // -------------------------------------------------------------------------------------------
  // Popping

  /** The next pod to schedule, or undefined when activeQ is empty (backoffs that ended are moved first). */
  pop(): QueuedPodInfo | undefined {
    this.flushBackoffQCompleted();
    const q = this.activeQ.pop();
    if (!q) return undefined;
    q.attempts++;
    q.initialAttemptTimestamp ??= this.clock.now();
    this.schedulingCycle++;
    this.inFlight.set(q.podInfo.uid, { seq: this.eventSeq, qpi: q });
    return q;
  }

  /** Resolves once activeQ has a pod (or the queue closed, or the signal aborted). */
  waitForPod(signal?: AbortSignal): Promise<void> {
    if (this.activeQ.size > 0 || this.closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** The scheduling attempt of a popped pod is over (scheduled, requeued or dropped). */
  done(uid: string): void {
    this.inFlight.delete(uid);
    if (this.inFlight.size === 0) this.events = [];
    else {
      let min = Infinity;
      for (const f of this.inFlight.values()) if (f.seq < min) min = f.seq;
      if (this.events.length && this.events[0]!.seq <= min) this.events = this.events.filter((e) => e.seq > min);
    }
  }

  /**
   * A popped pod failed: back to the queue. With events recorded while it was in flight that
   * its rejecting plugins care about it goes to backoff/active; otherwise it is parked (a pod
   * that no plugin rejected, e.g. after an API error, always backs off and retries).
   */
  addUnschedulableIfNotPresent(q: QueuedPodInfo): QueueName {
    const uid = q.podInfo.uid;
    const f = this.inFlight.get(uid);
    if (this.activeQ.has(uid) || this.backoffQ.has(uid) || this.unschedulable.has(uid)) {
      this.done(uid);
      return this.activeQ.has(uid) ? 'activeQ' : this.backoffQ.has(uid) ? 'backoffQ' : 'unschedulablePods';
    }
    q.timestamp = this.clock.now();
    let hint: Hint;
    if (q.unschedulablePlugins.size === 0 && q.pendingPlugins.size === 0) hint = 'backoff';
    else {
      hint = 'skip';
      if (f) {
        for (const e of this.events) {
          if (e.seq <= f.seq) continue;
          const h = this.worthRequeuing(q, e.event, e.oldObj, e.newObj);
          if (h === 'immediately') {
            hint = h;
            break;
          }
          if (h === 'backoff') hint = 'backoff';
        }
      }
    }
    this.done(uid);
    this.addNominatedPod(q.podInfo, { mode: 'noop', nominatedNodeName: '' });
    return this.requeue(q, hint);
  }

  private requeue(q: QueuedPodInfo, hint: Hint): QueueName {
    if (hint === 'skip') {
      this.activeQ.delete(q.podInfo.uid);
      this.backoffQ.delete(q.podInfo.uid);
      this.park(q);
      return 'unschedulablePods';
    }
    if (hint === 'backoff' && this.isBackingOff(q)) {
      this.moveToBackoffQ(q);
      return 'backoffQ';
    }
    return this.moveToActiveQ(q) ? 'activeQ' : 'unschedulablePods';
  }

  /** upstream's isPodWorthRequeuing, evaluated with the pod's rejecting plugins' hints. */
  private worthRequeuing(q: QueuedPodInfo, event: ClusterEvent, oldObj: unknown, newObj: unknown): Hint {
    const rejectors = q.unschedulablePlugins.size + q.pendingPlugins.size;
    if (rejectors === 0) return 'backoff';
    if (event.resource === '*') {
      const target = newObj as Pod | undefined;
      if (target?.metadata && podUID(target) !== q.podInfo.uid) return 'skip';
      return 'backoff';
    }
    const profile = this.opts.profileFor(q.podInfo.pod);
    if (!profile) return 'skip';
    let result: Hint = 'skip';
    for (const [plugin, regs] of profile.eventRegistrations) {
      const pending = q.pendingPlugins.has(plugin);
      if (!pending && !q.unschedulablePlugins.has(plugin)) continue;
      for (const r of regs) {
        if (!eventMatches(r.event, event)) continue;
        let h: 'Queue' | 'Skip' = 'Queue';
        if (r.hint) {
          try {
            h = r.hint(q.podInfo.pod, oldObj, newObj);
          } catch {
            h = 'Queue';
          }
        }
        if (h === 'Skip') continue;
        if (pending) return 'immediately';
        if (q.pendingPlugins.size === 0) return 'backoff';
        result = 'backoff';
      }
    }
    return result;
  }

  private recordEvent(event: ClusterEvent, oldObj: unknown, newObj: unknown): void {
    if (this.inFlight.size === 0) return;
    this.events.push({ seq: ++this.eventSeq, event, oldObj, newObj });
  }

  /**
   * A cluster event: parked pods it may help move to backoffQ or activeQ (upstream's
   * MoveAllToActiveOrBackoffQueue); pods in flight will see it when they fail.
   */
  moveAllToActiveOrBackoffQueue(event: ClusterEvent, oldObj?: unknown, newObj?: unknown): number {
    this.recordEvent(event, oldObj, newObj);
    if (this.unschedulable.size === 0) return 0;
    let candidates: Iterable<QueuedPodInfo>;
    if (event.resource === '*' || !this.opts.profiles) candidates = [...this.unschedulable.values()];
    else {
      // only pods rejected by a plugin that registered this event can be moved by it
      const uids = new Set<string>();
      for (const plugin of this.interestedPlugins(event)) for (const uid of this.parkedBy.get(plugin) ?? []) uids.add(uid);
      if (uids.size === 0) return 0;
      candidates = [...uids].map((u) => this.unschedulable.get(u)!).filter(Boolean);
    }
    let moved = 0;
    for (const q of candidates) {
      if (q.gated) continue;
      const hint = this.worthRequeuing(q, event, oldObj, newObj);
      if (hint === 'skip') continue;
      if (this.requeue(q, hint) !== 'unschedulablePods') moved++;
    }
    return moved;
  }

  /** Moves backoffQ pods whose backoff ended to activeQ. */
  flushBackoffQCompleted(): void {
    const now = this.clock.now();
    for (;;) {
      const q = this.backoffQ.peek();
      if (!q || this.backoffTime(q) > now) return;
      this.backoffQ.pop();
      this.moveToActiveQ(q);
    }
  }

  /** Pods parked longer than the maximum get another try (an UnschedulableTimeout event). */
  flushUnschedulablePodsLeftover(): void {
    const now = this.clock.now();
    for (const q of [...this.unschedulable.values()]) {
      if (q.gated) continue;
      if (now - q.timestamp > this.maxUnschedulableMs) this.requeue(q, this.worthRequeuing(q, UnschedulableTimeout, undefined, undefined));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /** Where a pod is, if queued. */
  whereIs(uid: string): QueueName | 'inFlight' | undefined {
    if (this.activeQ.has(uid)) return 'activeQ';
    if (this.backoffQ.has(uid)) return 'backoffQ';
    if (this.unschedulable.has(uid)) return 'unschedulablePods';
    if (this.inFlight.has(uid)) return 'inFlight';
    return undefined;
  }

  get(uid: string): QueuedPodInfo | undefined {
    return this.activeQ.get(uid) ?? this.backoffQ.get(uid) ?? this.unschedulable.get(uid) ?? this.inFlight.get(uid)?.qpi;
  }

  counts(): { active: number; backoff: number; unschedulable: number; inFlight: number } {
    return { active: this.activeQ.size, backoff: this.backoffQ.size, unschedulable: this.unschedulable.size, inFlight: this.inFlight.size };
  }

  /** Pods in activeQ in pop order (for tests and debugging; O(n log n)). */
  activeInOrder(): Pod[] {
    return [...this.activeQ.list()].sort((a, b) => (this.opts.less(a, b) ? -1 : this.opts.less(b, a) ? 1 : 0)).map((q) => q.podInfo.pod);
  }

  // -------------------------------------------------------------------------------------------
  // Nominator

  /**
   * Records where a pod is nominated: `override` sets the node (empty clears it), `noop` keeps
   * the pod's own status.nominatedNodeName.
   */
  addNominatedPod(pi: PodInfo, info: NominatingInfo): void {
    this.removeNominated(pi.uid);
    const nodeName = info.mode === 'override' ? info.nominatedNodeName : (pi.pod.status?.nominatedNodeName ?? '');
    if (!nodeName) return;
    if (this.opts.podLister) {
      const current = this.opts.podLister(pi.namespace, pi.pod.metadata.name ?? '');
      if (!current || current.spec.nodeName) return;
    }
    this.nominatedPodToNode.set(pi.uid, nodeName);
    let list = this.nominatedPods.get(nodeName);
    if (!list) this.nominatedPods.set(nodeName, (list = []));
    if (!list.some((p) => p.uid === pi.uid)) list.push(pi);
  }

  private removeNominated(uid: string): void {
    const node = this.nominatedPodToNode.get(uid);
    if (node === undefined) return;
    this.nominatedPodToNode.delete(uid);
    const list = this.nominatedPods.get(node);
    if (!list) return;
    const i = list.findIndex((p) => p.uid === uid);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.nominatedPods.delete(node);
  }

  deleteNominatedPodIfExists(pod: Pod): void {
    this.removeNominated(podUID(pod));
  }

  /**
   * upstream's UpdateNominatedPod: an update that drops status.nominatedNodeName while the
   * scheduler still holds a nomination keeps the nomination (the update may just race the
   * scheduler's own status write).
   */
  updateNominatedPod(oldPod: Pod | undefined, pi: PodInfo): void {
    let info: NominatingInfo | undefined;
    const oldNom = oldPod?.status?.nominatedNodeName ?? '';
    const newNom = pi.pod.status?.nominatedNodeName ?? '';
    if (oldNom === '' && newNom === '') {
      const held = this.nominatedPodToNode.get(pi.uid);
      if (held) info = { mode: 'override', nominatedNodeName: held };
    }
    this.removeNominated(pi.uid);
    this.addNominatedPod(pi, info ?? { mode: 'noop', nominatedNodeName: '' });
  }

  nominatedPodsForNode(nodeName: string): readonly PodInfo[] {
    return this.nominatedPods.get(nodeName) ?? EMPTY;
  }

  hasNominatedPods(): boolean {
    return this.nominatedPodToNode.size > 0;
  }

  nominatedNodeOf(uid: string): string | undefined {
    return this.nominatedPodToNode.get(uid);
  }
}

const EMPTY: readonly PodInfo[] = Object.freeze([]);

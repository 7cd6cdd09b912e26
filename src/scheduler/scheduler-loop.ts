// The scheduler's loop without I/O: pops a pod, runs the scheduling cycle over the cache,
// assumes the pod onto the chosen node and runs the binding cycle (Reserve, Permit, PreBind,
// Bind) in the background; turns informer changes into cache updates and queue events. What
// leaves the process (binding, status patches, events, evictions) goes through SchedulerEffects
// and the plugins' PodBinder/VolumeBinderAPI, so tests and the benchmark run it in memory.

import type { Clock } from '../client/clock.ts';
import { realClock } from '../client/clock.ts';
import { SchedulingAlgorithm, type CycleResult } from './algorithm.ts';
import { SchedulerCache } from './cache.ts';
import type { SchedulerSettings } from './config.ts';
import { Action, AssignedPodAdd, AssignedPodDelete, NodeAdd, NodeDelete, nodeUpdateEvent, podUpdateActions, type ClusterEvent } from './events.ts';
import { CycleState } from './framework/cycle-state.ts';
import { Framework, type Registry } from './framework/framework.ts';
import type { ClusterListers, Handle, NominatingInfo, PodBinder, PreemptionPlan, VolumeBinderAPI } from './framework/interfaces.ts';
import type { PodInfo } from './podinfo.ts';
import { podInfoOf } from './podinfo.ts';
import { inTreeRegistry } from './plugins/registry.ts';
import { SchedulingQueue, type QueuedPodInfo } from './queue.ts';
import { Code, isSuccess, Status, type MaybeStatus } from './status.ts';
import { DEFAULT_SCHEDULER_NAME, podKey, podUID, type Node, type Pod } from './types.ts';

/** upstream's validation.NoteLengthLimit for event messages. */
export const EVENT_NOTE_LENGTH_LIMIT = 1024;

/** upstream's truncateMessage. */
export function truncateMessage(msg: string): string {
  if (msg.length <= EVENT_NOTE_LENGTH_LIMIT) return msg;
  const suffix = ' ...';
  return msg.slice(0, EVENT_NOTE_LENGTH_LIMIT - suffix.length) + suffix;
}

export interface SchedulingFailure {
  /** PodScheduled=False reason: Unschedulable when plugins rejected the pod, SchedulerError otherwise. */
  reason: 'Unschedulable' | 'SchedulerError';
  /** The condition message (upstream's FitError text for Unschedulable). */
  message: string;
  /** The FailedScheduling event message (the same, truncated to 1024 characters). */
  eventMessage: string;
  /** What to do with status.nominatedNodeName. */
  nominatingInfo?: NominatingInfo;
}

/** The scheduler's writes to the outside world; the loop never awaits them in a cycle. */
export interface SchedulerEffects {
  /** The binding succeeded: a "Scheduled" event ("Successfully assigned ns/pod to node"). */
  scheduled(pod: Pod, nodeName: string, schedulerName: string): void;
  /** The attempt failed: the PodScheduled condition, nominatedNodeName and a FailedScheduling event. */
  failed(pod: Pod, failure: SchedulingFailure, schedulerName: string): void;
  /** Preemption decided: evict the victims and clear lower-priority nominations. */
  preempt(preemptor: Pod, plan: PreemptionPlan, schedulerName: string): void;
}

export interface SchedulerLoopOptions {
  settings: SchedulerSettings;
  effects: SchedulerEffects;
  binder?: PodBinder;
  volumeBinder?: VolumeBinderAPI;
  listers?: ClusterListers;
  /** The informer's view of pods (for the nominator and the failure handler). */
  podLister?: (namespace: string, name: string) => Pod | undefined;
  registry?: Registry;
  clock?: Clock;
  random?: () => number;
  assumedPodTTLMs?: number;
}

/** A pod the informer no longer shows: terminal pods are outside the scheduler's view (upstream's field selector). */
function isTerminal(pod: Pod): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

export interface LoopStats {
  attempts: number;
  scheduled: number;
  unschedulable: number;
  errors: number;
  bindingsInFlight: number;
}

export class SchedulerLoop {
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  readonly algorithm: SchedulingAlgorithm;
  readonly profiles = new Map<string, Framework>();
  readonly stats: LoopStats = { attempts: 0, scheduled: 0, unschedulable: 0, errors: 0, bindingsInFlight: 0 };
  private readonly effects: SchedulerEffects;
  private readonly clock: Clock;
  private readonly podLister?: (namespace: string, name: string) => Pod | undefined;
  private readonly bindings = new Set<Promise<void>>();
  /**
   * One controller per binding in flight, aborted by stop(). Not one signal shared by every
   * binding: transports add an abort listener per request, and on a long-lived shared signal
   * those pile up (each add scans the list, and the in-process transport never removes its own),
   * which cost 8% of the server's time at 10,000 bindings.
   */
  private readonly bindingAborts = new Set<AbortController>();
  private stopped = false;
  private readonly abort = new AbortController();
  private cleanupTimer: { cancel(): void } | undefined;

  constructor(opts: SchedulerLoopOptions) {
    this.clock = opts.clock ?? realClock;
    this.effects = opts.effects;
    this.podLister = opts.podLister;
    this.cache = new SchedulerCache({ assumedPodTTLMs: opts.assumedPodTTLMs ?? 0, now: () => this.clock.now() });
    this.algorithm = new SchedulingAlgorithm({ percentageOfNodesToScore: opts.settings.percentageOfNodesToScore, ...(opts.random ? { random: opts.random } : {}) });
    const registry = opts.registry ?? inTreeRegistry();
    const random = opts.random ?? Math.random;
    let queue: SchedulingQueue | undefined;
    const clock = this.clock;
    for (const p of opts.settings.profiles) {
      const handle: Handle = {
        snapshot: () => this.cache.snapshot(),
        listers: opts.listers ?? {},
        get nominator() {
          return queue;
        },
        binder: opts.binder,
        volumeBinder: opts.volumeBinder,
        framework: undefined,
        random,
        now: () => clock.now(),
      };
      this.profiles.set(p.schedulerName, new Framework(p, registry, handle, clock));
    }
    const first = this.profiles.values().next().value as Framework;
    for (const fw of this.profiles.values()) {
      if (fw.queueSortPlugin.name !== first.queueSortPlugin.name) throw new Error('all profiles must use the same queue sort plugin');
    }
    const profileEntries = new Map([...this.profiles].map(([name, fw]) => [name, { preEnqueue: (pod: Pod) => fw.runPreEnqueuePlugins(pod), eventRegistrations: fw.eventRegistrations() }]));
    this.queue = queue = new SchedulingQueue({
      clock: this.clock,
      less: (a, b) => first.queueSortPlugin.less(a, b),
      profileFor: (pod) => profileEntries.get(pod.spec.schedulerName || DEFAULT_SCHEDULER_NAME),
      profiles: () => profileEntries.values(),
      podInitialBackoffMs: opts.settings.podInitialBackoffMs,
      podMaxBackoffMs: opts.settings.podMaxBackoffMs,
      ...(opts.podLister ? { podLister: opts.podLister } : {}),
    });
  }

  /** Whether a pod names one of this scheduler's profiles. */
  responsibleFor(pod: Pod): boolean {
    return this.profiles.has(pod.spec.schedulerName || DEFAULT_SCHEDULER_NAME);
  }

  private frameworkFor(pod: Pod): Framework | undefined {
    return this.profiles.get(pod.spec.schedulerName || DEFAULT_SCHEDULER_NAME);
  }

  // -------------------------------------------------------------------------------------------
  // Informer events

  onPodAdd(pod: Pod): void {
    if (isTerminal(pod)) return;
    if (pod.spec.nodeName) {
      this.cache.addPod(pod);
      this.queue.delete(pod);
      this.queue.moveAllToActiveOrBackoffQueue(AssignedPodAdd, undefined, pod);
      return;
    }
    if (this.responsibleFor(pod)) this.queue.add(pod);
  }

  onPodUpdate(oldPod: Pod, pod: Pod): void {
    if (isTerminal(pod)) {
      this.onPodDelete(oldPod.spec.nodeName && !pod.spec.nodeName ? oldPod : pod);
      return;
    }
    if (pod.spec.nodeName) {
      if (!oldPod.spec.nodeName) {
        // bound (by us or another scheduler): leaves the queue, enters the cache
        this.queue.delete(pod);
        this.cache.addPod(pod);
        this.queue.moveAllToActiveOrBackoffQueue(AssignedPodAdd, undefined, pod);
        return;
      }
      this.cache.updatePod(oldPod, pod);
      const ev: ClusterEvent = { resource: 'AssignedPod', action: podUpdateActions(oldPod, pod), label: 'AssignedPodUpdate' };
      this.queue.moveAllToActiveOrBackoffQueue(ev, oldPod, pod);
      return;
    }
    if (!this.responsibleFor(pod)) {
      if (this.responsibleFor(oldPod)) this.queue.delete(pod);
      return;
    }
    // An assumed pod whose update arrives before its binding: nothing to requeue.
    if (this.cache.isAssumed(podUID(pod))) return;
    this.queue.update(oldPod, pod);
  }

  onPodDelete(pod: Pod): void {
    const uid = podUID(pod);
    if (pod.spec.nodeName || this.cache.nodeOf(uid)) {
      this.cache.removePod(pod);
      this.queue.moveAllToActiveOrBackoffQueue(AssignedPodDelete, pod, undefined);
    }
    this.queue.delete(pod);
    for (const fw of this.profiles.values()) fw.rejectWaitingPod(uid, '', 'pod deleted');
  }

  onNodeAdd(node: Node): void {
    this.cache.addNode(node);
    this.queue.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, node);
  }

  onNodeUpdate(oldNode: Node, node: Node): void {
    this.cache.updateNode(oldNode, node);
    const ev = nodeUpdateEvent(oldNode, node);
    if (ev) this.queue.moveAllToActiveOrBackoffQueue(ev, oldNode, node);
  }

  onNodeDelete(node: Node): void {
    this.cache.removeNode(node);
    this.queue.moveAllToActiveOrBackoffQueue(NodeDelete, node, undefined);
  }

  /** Any other watched kind (PVC, PV, StorageClass, Namespace, CSINode, PDB). */
  onClusterEvent(resource: ClusterEvent['resource'], action: 'add' | 'update' | 'delete', oldObj?: unknown, newObj?: unknown): void {
    const a = action === 'add' ? Action.Add : action === 'delete' ? Action.Delete : Action.Update;
    this.queue.moveAllToActiveOrBackoffQueue({ resource, action: a, label: `${resource}${action[0]!.toUpperCase()}${action.slice(1)}` }, oldObj, newObj);
  }

  // -------------------------------------------------------------------------------------------
  // The loop

  /**
   * Schedules the next pod in activeQ, if any: the scheduling cycle runs now; the binding cycle
   * is started and not awaited. Returns false when the queue had nothing.
   */
  scheduleOne(): boolean {
    const q = this.queue.pop();
    if (!q) return false;
    this.scheduleQueued(q);
    return true;
  }

  private scheduleQueued(q: QueuedPodInfo): void {
    const pi = q.podInfo;
    const pod = pi.pod;
    const fw = this.frameworkFor(pod);
    if (!fw) {
      this.queue.done(pi.uid);
      return;
    }
    if (pod.metadata.deletionTimestamp || this.cache.isAssumed(pi.uid)) {
      this.queue.done(pi.uid);
      return;
    }
    this.stats.attempts++;
    const state = new CycleState();
    const result = this.algorithm.schedule(fw, this.cache.snapshot(), pi, { state });
    if (result.kind !== 'scheduled') {
      this.handleCycleFailure(fw, q, result);
      return;
    }
    const nodeName = result.nodeName;
    try {
      this.cache.assumePod(pi, nodeName);
    } catch (e) {
      this.handleFailure(fw, q, Status.error(e as Error), { mode: 'override', nominatedNodeName: '' });
      return;
    }
    this.queue.deleteNominatedPodIfExists(pod);
    const reserve = fw.runReservePluginsReserve(state, pi, nodeName);
    if (!isSuccess(reserve)) {
      fw.runReservePluginsUnreserve(state, pi, nodeName);
      this.forget(pi);
      this.handleFailure(fw, q, reserve!, { mode: 'override', nominatedNodeName: '' });
      return;
    }
    const permit = fw.runPermitPlugins(state, pi, nodeName);
    if (!isSuccess(permit) && permit!.code !== Code.Wait) {
      fw.runReservePluginsUnreserve(state, pi, nodeName);
      this.forget(pi);
      this.handleFailure(fw, q, permit!, { mode: 'override', nominatedNodeName: '' });
      return;
    }
    this.stats.bindingsInFlight++;
    const p = this.bindingCycle(fw, state, q, nodeName).finally(() => {
      this.stats.bindingsInFlight--;
      this.bindings.delete(p);
    });
    this.bindings.add(p);
  }

  private async bindingCycle(fw: Framework, state: CycleState, q: QueuedPodInfo, nodeName: string): Promise<void> {
    const pi = q.podInfo;
    const ac = new AbortController();
    if (this.stopped) ac.abort(new Error('scheduler stopped'));
    this.bindingAborts.add(ac);
    let s: MaybeStatus;
    try {
      s = await fw.waitOnPermit(pi);
      if (isSuccess(s)) s = await fw.runPreBindPlugins(state, pi, nodeName, ac.signal);
      if (isSuccess(s)) s = await fw.runBindPlugins(state, pi, nodeName, ac.signal);
    } finally {
      this.bindingAborts.delete(ac);
    }
    if (!isSuccess(s)) {
      fw.runReservePluginsUnreserve(state, pi, nodeName);
      this.forget(pi);
      // the assumed pod had held room: others may fit now
      this.handleFailure(fw, q, s!, { mode: 'override', nominatedNodeName: '' });
      this.queue.moveAllToActiveOrBackoffQueue(AssignedPodDelete, pi.pod, undefined);
      return;
    }
    this.cache.finishBinding(pi.uid);
    fw.runPostBindPlugins(state, pi, nodeName);
    this.stats.scheduled++;
    this.queue.done(pi.uid);
    this.effects.scheduled(pi.pod, nodeName, fw.profileName);
  }

  private forget(pi: PodInfo): void {
    try {
      this.cache.forgetPod(pi.uid);
    } catch {
      // confirmed by the informer meanwhile: nothing to undo
    }
  }

  private handleCycleFailure(fw: Framework, q: QueuedPodInfo, result: Exclude<CycleResult, { kind: 'scheduled' }>): void {
    if (result.kind === 'unschedulable') {
      const d = result.fitError.diagnosis;
      q.unschedulablePlugins = new Set(d.unschedulablePlugins);
      q.pendingPlugins = new Set(d.pendingPlugins);
      if (result.preemption) this.effects.preempt(q.podInfo.pod, result.preemption, fw.profileName);
      this.stats.unschedulable++;
      this.finishFailure(fw, q, 'Unschedulable', result.message, result.nominatingInfo);
      return;
    }
    if (result.status.isRejected()) {
      // no nodes at all: a rejection, not an error
      q.unschedulablePlugins = new Set();
      q.pendingPlugins = new Set();
      this.stats.unschedulable++;
      this.finishFailure(fw, q, 'Unschedulable', result.message, result.nominatingInfo);
      return;
    }
    this.handleFailure(fw, q, result.status, result.nominatingInfo);
  }

  private handleFailure(fw: Framework, q: QueuedPodInfo, s: Status, nominatingInfo: NominatingInfo | undefined): void {
    const rejected = s.isRejected();
    q.unschedulablePlugins = rejected && s.plugin ? new Set([s.plugin]) : new Set();
    q.pendingPlugins = new Set();
    if (rejected) this.stats.unschedulable++;
    else this.stats.errors++;
    this.finishFailure(fw, q, rejected ? 'Unschedulable' : 'SchedulerError', s.message(), nominatingInfo);
  }

  private finishFailure(fw: Framework, q: QueuedPodInfo, reason: SchedulingFailure['reason'], message: string, nominatingInfo: NominatingInfo | undefined): void {
    const pi = q.podInfo;
    const current = this.podLister ? this.podLister(pi.namespace, pi.pod.metadata.name ?? '') : pi.pod;
    if (!current || current.spec.nodeName) {
      // deleted or bound meanwhile: drop it
      this.queue.done(pi.uid);
    } else {
      if (current !== pi.pod) q.podInfo = podInfoOf(current);
      this.queue.addUnschedulableIfNotPresent(q);
    }
    if (nominatingInfo) this.queue.addNominatedPod(q.podInfo, nominatingInfo);
    this.effects.failed(pi.pod, { reason, message, eventMessage: truncateMessage(message), ...(nominatingInfo ? { nominatingInfo } : {}) }, fw.profileName);
  }

  /**
   * Runs until stop(): schedules whenever activeQ has pods, yielding to the event loop every
   * few milliseconds so watch events and binding responses get processed.
   */
  async run(): Promise<void> {
    this.queue.run();
    const cleanup = () => {
      if (this.stopped) return;
      this.cache.cleanupExpiredAssumedPods();
      this.cleanupTimer = this.clock.setTimeout(cleanup, 1000);
    };
    this.cleanupTimer = this.clock.setTimeout(cleanup, 1000);
    let sliceStart = performance.now();
    while (!this.stopped) {
      if (!this.scheduleOne()) {
        await this.queue.waitForPod(this.abort.signal);
        sliceStart = performance.now();
        continue;
      }
      if (performance.now() - sliceStart > 4) {
        await new Promise<void>((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    }
  }

  /** Stops scheduling; in-flight bindings are aborted. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error('scheduler stopped'));
    for (const ac of this.bindingAborts) ac.abort(new Error('scheduler stopped'));
    this.cleanupTimer?.cancel();
    this.queue.close();
    await Promise.allSettled([...this.bindings]);
  }

  /** Resolves when every binding started so far has finished (tests, benchmarks). */
  async drainBindings(): Promise<void> {
    while (this.bindings.size > 0) await Promise.allSettled([...this.bindings]);
  }

  /** For logs: "ns/name". */
  static describe(pod: Pod): string {
    return podKey(pod);
  }
}

// One worker per pod (upstream's pod_workers.go): syncs are serialized per pod and coalesced — a
// trigger while a sync runs makes one more sync afterwards, with the newest pod object. A pod moves
// syncing → terminating → terminated and never back:
// - syncing: PodSyncer.syncPod, again at the time it asks for (back-off end, token refresh) or after
//   the resync period;
// - terminating (deletion requested, pod gone from the API, or Succeeded/Failed): every container
//   stopped with the grace period, then the sandbox; the final status written;
// - terminated: volumes torn down and references released; a pod whose deletion was requested is
//   then deleted from the API (grace 0), and once the API no longer has it, its containers and
//   sandboxes are removed from the runtime and the worker ends.
import type { Clock, Timer } from '../client/clock.ts';
import type { Pod } from './api-types.ts';
import type { PodSyncer } from './pod-sync.ts';
import { allContainersStopped } from './pod-status.ts';
import type { StatusManager } from './status-manager.ts';

export type WorkerPhase = 'syncing' | 'terminating' | 'terminated';

interface Worker {
  uid: string;
  pod?: Pod;
  deletedFromApi: boolean;
  phase: WorkerPhase;
  pending: boolean;
  running?: Promise<void>;
  timer?: Timer;
  abort?: AbortController;
  cleanedUp: boolean;
  errors: number;
}

export interface PodWorkersDeps {
  syncer: PodSyncer;
  statusManager: StatusManager;
  clock: Clock;
  log: (m: string) => void;
  syncFrequencyMs: number;
  random?: () => number;
  /** The pod is about to be synced (register its references, start its probes). */
  onSyncing(pod: Pod): void;
  /** The pod's containers are stopped (stop its probes). */
  onTerminating(uid: string): void;
  /** The pod is done: release volumes and everything held for it. */
  onTerminated(uid: string): Promise<void>;
}

export class PodWorkers {
  readonly #d: PodWorkersDeps;
  readonly #workers = new Map<string, Worker>();
  #stopped = false;

  constructor(d: PodWorkersDeps) {
    this.#d = d;
  }

  #worker(uid: string): Worker {
    let w = this.#workers.get(uid);
    if (!w) {
      w = { uid, deletedFromApi: false, phase: 'syncing', pending: false, cleanedUp: false, errors: 0 };
      this.#workers.set(uid, w);
    }
    return w;
  }

  /** The newest pod object from the API. */
  update(pod: Pod): void {
    const w = this.#worker(pod.metadata.uid ?? '');
    w.pod = pod;
    if (pod.metadata.deletionTimestamp) w.abort?.abort();
    this.#trigger(w);
  }

  /** The pod is gone from the API (deleted for good). */
  remove(pod: Pod): void {
    const w = this.#worker(pod.metadata.uid ?? '');
    w.pod ??= pod;
    w.deletedFromApi = true;
    w.abort?.abort();
    this.#trigger(w);
  }

  /** The runtime has a pod the API does not: stop and remove it. */
  orphan(uid: string): void {
    if (this.#workers.has(uid)) return;
    const w = this.#worker(uid);
    w.deletedFromApi = true;
    this.#trigger(w);
  }

  /** Something about the pod changed (runtime state, probe result, a referenced object). */
  sync(uid: string): void {
    const w = this.#workers.get(uid);
    if (w) this.#trigger(w);
  }

  has(uid: string): boolean {
    return this.#workers.has(uid);
  }

  phase(uid: string): WorkerPhase | undefined {
    return this.#workers.get(uid)?.phase;
  }

  pod(uid: string): Pod | undefined {
    return this.#workers.get(uid)?.pod;
  }

  uids(): string[] {
    return [...this.#workers.keys()];
  }

  /** Resolves when no worker has a sync running or pending. */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.#workers.values()].map((w) => w.running).filter(Boolean);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const w of this.#workers.values()) {
      w.timer?.cancel();
      w.abort?.abort();
    }
    await Promise.all([...this.#workers.values()].map((w) => w.running));
  }

  #trigger(w: Worker): void {
    if (this.#stopped) return;
    w.pending = true;
    if (!w.running) {
      w.running = this.#run(w).finally(() => {
        w.running = undefined;
      });
    }
  }

  #schedule(w: Worker, at: number): void {
    w.timer?.cancel();
    if (this.#stopped) return;
    w.timer = this.#d.clock.setTimeout(() => this.#trigger(w), Math.max(0, at - this.#d.clock.now()));
  }

  async #run(w: Worker): Promise<void> {
    const d = this.#d;
    // Let the caller's turn finish: several triggers in a row make one sync.
    await Promise.resolve();
    while (w.pending && !this.#stopped) {
      w.pending = false;
      try {
        await this.#step(w);
        w.errors = 0;
      } catch (e) {
        w.errors++;
        const name = w.pod ? `${w.pod.metadata.namespace}/${w.pod.metadata.name}` : w.uid;
        d.log(`Error syncing pod ${name} (${w.uid}), skipping: ${(e as Error).message}`);
        this.#schedule(w, d.clock.now() + Math.min(1000 * 2 ** (w.errors - 1), 10_000));
      }
    }
  }

  async #step(w: Worker): Promise<void> {
    const d = this.#d;
    if (w.phase === 'syncing') {
      const pod = w.pod;
      if (!pod || w.deletedFromApi || pod.metadata.deletionTimestamp) {
        w.phase = 'terminating';
        w.pending = true;
        return;
      }
      d.onSyncing(pod);
      const ac = new AbortController();
      w.abort = ac;
      const out = await d.syncer.syncPod(pod, ac.signal);
      w.abort = undefined;
      // A newer object (maybe with a deletion) is handled by the next round.
      let status = out.status;
      if (out.terminal && !allContainersStopped(out.state)) {
        // Never report a pod terminal while containers of it may still run (sidecars, a deadline):
        // the phase changes once terminating has stopped them (upstream's mergePodStatus).
        const old = d.statusManager.status(w.uid) ?? pod.status ?? {};
        status = { ...status, phase: old.phase ?? 'Pending', reason: old.reason, message: old.message };
        if (!status.reason) delete status.reason;
        if (!status.message) delete status.message;
      }
      d.statusManager.setStatus(w.pod ?? pod, status);
      if (out.terminal) {
        w.phase = 'terminating';
        w.pending = true;
        return;
      }
      const resync = d.clock.now() + d.syncFrequencyMs * (1 + 0.5 * (d.random ?? Math.random)());
      this.#schedule(w, Math.min(out.nextSyncAt ?? Infinity, resync));
      return;
    }
    if (w.phase === 'terminating') {
      w.timer?.cancel();
      const state = await d.syncer.terminatePod(w.pod, w.uid);
      d.onTerminating(w.uid);
      if (w.pod && !w.deletedFromApi) await d.statusManager.setStatus(w.pod, d.syncer.status(w.pod, state, true));
      w.phase = 'terminated';
      w.pending = true;
      return;
    }
    // terminated
    if (!w.cleanedUp) {
      await d.onTerminated(w.uid);
      w.cleanedUp = true;
    }
    if (w.pod && !w.deletedFromApi && w.pod.metadata.deletionTimestamp) await d.statusManager.terminated(w.pod);
    if (w.deletedFromApi) {
      await d.syncer.removePod(w.uid);
      d.syncer.forget(w.uid);
      d.statusManager.forget(w.uid);
      this.#workers.delete(w.uid);
    }
  }
}

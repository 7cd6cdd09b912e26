// The probe workers (upstream's pkg/kubelet/prober worker.go and prober_manager.go): one per container
// and probe type, running every periodSeconds on the injected clock. A result flips only after
// failureThreshold failures or successThreshold successes in a row; until then the initial value
// holds (readiness: not ready; liveness: alive; startup: none). Liveness and readiness wait for the
// startup probe to succeed. A liveness or startup failure puts the worker on hold until the
// container is replaced, so the kubelet kills and restarts it exactly once.
import type { Clock, Timer } from '../../client/clock.ts';
import type { Container, Pod, Probe } from '../api-types.ts';
import type { ProbeOutcome } from './prober.ts';

export type ProbeType = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = 'success' | 'failure';

export interface ProbeContainerView {
  containerId: string;
  running: boolean;
  /** When the container started (ms); the initial delay counts from here. */
  startedAt: number;
}

export interface ProbeManagerDeps {
  clock: Clock;
  /** Runs one probe. */
  run(pod: Pod, container: Container, type: ProbeType, probe: Probe, containerId: string): Promise<ProbeOutcome>;
  /** The container's current instance, as the kubelet last saw it. */
  containerView(uid: string, containerName: string): ProbeContainerView | undefined;
  /** A result changed (the pod's status and maybe its containers must be synced). */
  onResultChange(uid: string, type: ProbeType, containerName: string, result: ProbeResult): void;
  /** Every failed or errored probe (upstream's Unhealthy event). */
  onProbeFailure(pod: Pod, container: Container, type: ProbeType, output: string, errored: boolean): void;
  /** A readiness result to start from for a container already running when the kubelet started (adoption). */
  initialReadiness?(uid: string, containerName: string, containerId: string): ProbeResult | undefined;
}

const TYPE_WORD: Record<ProbeType, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };
export const probeTypeWord = (t: ProbeType): string => TYPE_WORD[t];

function probeOf(c: Container, t: ProbeType): Probe | undefined {
  return t === 'liveness' ? c.livenessProbe : t === 'readiness' ? c.readinessProbe : c.startupProbe;
}

class Worker {
  pod: Pod;
  readonly container: Container;
  readonly type: ProbeType;
  readonly probe: Probe;
  readonly #m: ProbeManager;
  #timer?: Timer;
  #running = false;
  #again = false;
  #stopped = false;
  containerId = '';
  #lastResult: ProbeResult | undefined;
  #run = 0;
  #onHold = false;

  constructor(m: ProbeManager, pod: Pod, container: Container, type: ProbeType, probe: Probe) {
    this.#m = m;
    this.pod = pod;
    this.container = container;
    this.type = type;
    this.probe = probe;
  }

  get periodMs(): number {
    return Math.max(1, this.probe.periodSeconds ?? 10) * 1000;
  }

  schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer?.cancel();
    this.#timer = this.#m.deps.clock.setTimeout(() => void this.tick(), ms);
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    if (this.containerId) this.#m.setResult(this.type, this.containerId, undefined);
  }

  /** Runs the probe now (and again after a period), unless a run is under way. */
  async tick(): Promise<void> {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    let next: number | undefined;
    try {
      next = await this.#doProbe();
    } finally {
      this.#running = false;
    }
    if (this.#again) {
      this.#again = false;
      return this.tick();
    }
    this.schedule(next ?? this.periodMs);
  }

  /** One probe; answers when to come back if sooner than a period. */
  async #doProbe(): Promise<number | undefined> {
    const m = this.#m;
    const uid = this.pod.metadata.uid ?? '';
    const v = m.deps.containerView(uid, this.container.name);
    if (!v?.containerId) return;
    if (v.containerId !== this.containerId) {
      if (this.containerId) m.setResult(this.type, this.containerId, undefined);
      this.containerId = v.containerId;
      this.#onHold = false;
      this.#run = 0;
      this.#lastResult = undefined;
      let initial: ProbeResult | undefined;
      if (this.type === 'readiness') initial = m.deps.initialReadiness?.(uid, this.container.name, v.containerId) ?? 'failure';
      else if (this.type === 'liveness') initial = 'success';
      m.setResult(this.type, v.containerId, initial);
    }
    if (this.#onHold) return;
    if (!v.running) {
      if (this.type === 'readiness') m.setResult(this.type, v.containerId, 'failure', uid, this.container.name);
      return;
    }
    if (this.type !== 'startup' && this.container.startupProbe && m.result('startup', v.containerId) !== 'success') return;
    if (this.type === 'startup' && m.result('startup', v.containerId) === 'success') return;
    const now = m.deps.clock.now();
    const delayMs = (this.probe.initialDelaySeconds ?? 0) * 1000;
    // Not yet: come back when the delay is over rather than a period later.
    if (now - v.startedAt < delayMs) return Math.min(this.periodMs, v.startedAt + delayMs - now);
    const out = await m.deps.run(this.pod, this.container, this.type, this.probe, v.containerId);
    if (this.#stopped || this.containerId !== v.containerId) return;
    if (out.result === 'error') {
      m.deps.onProbeFailure(this.pod, this.container, this.type, out.output, true);
      return;
    }
    if (out.result === 'failure') m.deps.onProbeFailure(this.pod, this.container, this.type, out.output, false);
    if (out.result === this.#lastResult) this.#run++;
    else {
      this.#lastResult = out.result;
      this.#run = 1;
    }
    const threshold = out.result === 'failure' ? (this.probe.failureThreshold ?? 3) : (this.probe.successThreshold ?? 1);
    if (this.#run < threshold) return;
    m.setResult(this.type, v.containerId, out.result, uid, this.container.name);
    if (out.result === 'failure' && this.type !== 'readiness') {
      this.#onHold = true;
      this.#run = 0;
    }
  }
}

export class ProbeManager {
  readonly deps: ProbeManagerDeps;
  readonly #workers = new Map<string, Map<string, Worker>>();
  readonly #results: Record<ProbeType, Map<string, ProbeResult>> = { liveness: new Map(), readiness: new Map(), startup: new Map() };

  constructor(deps: ProbeManagerDeps) {
    this.deps = deps;
  }

  /** Starts workers for the pod's probes (idempotent); later calls refresh the pod object they see. */
  addPod(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    let ws = this.#workers.get(uid);
    if (!ws) this.#workers.set(uid, (ws = new Map()));
    // Containers and sidecars (init containers with restartPolicy Always) are probed.
    for (const c of [...(pod.spec.initContainers ?? []).filter((x) => x.restartPolicy === 'Always'), ...pod.spec.containers]) {
      for (const t of ['startup', 'liveness', 'readiness'] as ProbeType[]) {
        const p = probeOf(c, t);
        const key = `${c.name}/${t}`;
        const w = ws.get(key);
        if (w) {
          w.pod = pod;
          continue;
        }
        if (!p) continue;
        const nw = new Worker(this, pod, c, t, p);
        ws.set(key, nw);
        nw.schedule(0);
      }
    }
  }

  removePod(uid: string): void {
    const ws = this.#workers.get(uid);
    if (!ws) return;
    for (const w of ws.values()) w.stop();
    this.#workers.delete(uid);
  }

  /** Runs the pod's probes now (a container started or changed). */
  kick(uid: string): void {
    for (const w of this.#workers.get(uid)?.values() ?? []) void w.tick();
  }

  result(type: ProbeType, containerId: string): ProbeResult | undefined {
    return this.#results[type].get(containerId);
  }

  setResult(type: ProbeType, containerId: string, r: ProbeResult | undefined, uid?: string, containerName?: string): void {
    const prev = this.#results[type].get(containerId);
    if (r === undefined) this.#results[type].delete(containerId);
    else this.#results[type].set(containerId, r);
    if (r !== undefined && prev !== r && uid !== undefined && containerName !== undefined) this.deps.onResultChange(uid, type, containerName, r);
  }

  hasWorkers(uid: string): boolean {
    return (this.#workers.get(uid)?.size ?? 0) > 0;
  }

  stop(): void {
    for (const uid of [...this.#workers.keys()]) this.removePod(uid);
  }
}

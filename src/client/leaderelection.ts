// Leader election on a coordination.k8s.io Lease, with upstream client-go's algorithm, so a
// rudder component and an upstream one would agree on who leads:
// - a candidate acquires the lease when nobody holds it (empty holderIdentity), when it is
//   already its own, or when the record has not changed for leaseDurationSeconds as measured on
//   the candidate's OWN clock since it last saw the record change (clocks need not agree);
// - taking over from another holder increments leaseTransitions and sets acquireTime; renewals
//   keep both and move renewTime;
// - the leader renews every retryPeriod; if it cannot renew within renewDeadline it stops leading
//   (the signal given to onStartedLeading aborts) and run() returns;
// - on a graceful stop (the run signal aborts) a leader releases the lease (holderIdentity "",
//   leaseDurationSeconds 1) unless releaseOnCancel is false, so a successor need not wait.
// Every write is an update with the resourceVersion last read: two candidates never both win.
// Defaults: lease 15 s, renew deadline 10 s, retry 2 s, as kube-controller-manager's.
import { StatusError } from '../api/errors.ts';
import { rfc3339Micro, type KObject } from '../api/meta.ts';
import type { Client, ResourceClient } from './client.ts';
import { realClock, timeoutSignal, type Clock } from './clock.ts';

/** upstream's LeaderElectionRecord: what a lock stores. Times are RFC 3339 with microseconds. */
export interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

export interface ResourceLock {
  readonly identity: string;
  describe(): string;
  /** The record and its raw form (compared to detect change); StatusError 404 when absent. */
  get(signal?: AbortSignal): Promise<{ record: LeaderElectionRecord; raw: string }>;
  create(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void>;
  /** Writes over the version last read or written (a 409 if someone wrote in between). */
  update(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void>;
}

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KObject {
  spec?: LeaseSpec;
}

export function leaseSpecToRecord(spec: LeaseSpec | undefined): LeaderElectionRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: spec?.acquireTime ?? '',
    renewTime: spec?.renewTime ?? '',
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

export function recordToLeaseSpec(r: LeaderElectionRecord): LeaseSpec {
  const spec: LeaseSpec = { holderIdentity: r.holderIdentity, leaseDurationSeconds: r.leaseDurationSeconds, leaseTransitions: r.leaseTransitions };
  if (r.acquireTime) spec.acquireTime = r.acquireTime;
  if (r.renewTime) spec.renewTime = r.renewTime;
  return spec;
}

/** A lock on a coordination.k8s.io/v1 Lease (upstream's LeaseLock). */
export class LeaseLock implements ResourceLock {
  readonly identity: string;
  readonly namespace: string;
  readonly name: string;
  private readonly leases: ResourceClient<Lease>;
  private readonly labels?: Record<string, string>;
  /** The lease as last read or written; never mutated (it may be a shared frozen object). */
  private lease?: Lease;

  constructor(client: Client, opts: { namespace: string; name: string; identity: string; labels?: Record<string, string> }) {
    this.leases = client.resource<Lease>('coordination.k8s.io', 'leases').namespace(opts.namespace);
    this.namespace = opts.namespace;
    this.name = opts.name;
    this.identity = opts.identity;
    this.labels = opts.labels;
  }

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  async get(signal?: AbortSignal): Promise<{ record: LeaderElectionRecord; raw: string }> {
    const lease = await this.leases.get(this.name, { signal });
    this.lease = lease;
    const record = leaseSpecToRecord(lease.spec);
    return { record, raw: JSON.stringify(record) };
  }

  async create(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    this.lease = await this.leases.create(
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.namespace, ...(this.labels ? { labels: this.labels } : {}) },
        spec: recordToLeaseSpec(record),
      },
      { signal },
    );
  }

  async update(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    if (!this.lease) throw new Error('lease not initialized, call get or create first');
    const labels = this.labels ? { ...(this.lease.metadata.labels ?? {}), ...this.labels } : this.lease.metadata.labels;
    this.lease = await this.leases.update({ ...this.lease, metadata: { ...this.lease.metadata, ...(labels ? { labels } : {}) }, spec: recordToLeaseSpec(record) }, { signal });
  }
}

export interface LeaderCallbacks {
  /** Now leading; `signal` aborts when leadership ends. Start the work here; do not block. */
  onStartedLeading(signal: AbortSignal): void;
  /** run() is ending, whether or not this candidate ever led (as upstream). */
  onStoppedLeading(): void;
  /** The observed holder changed (this candidate included). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  lock: ResourceLock;
  callbacks: LeaderCallbacks;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the lease on a graceful stop (default true). */
  releaseOnCancel?: boolean;
  clock?: Clock;
  random?: () => number;
  log?: (msg: string) => void;
  /** For logs. */
  name?: string;
}

/** upstream's JitterFactor: acquisition retries wait retryPeriod × (1 + up to 1.2). */
export const JITTER_FACTOR = 1.2;

export class LeaderElector {
  readonly lock: ResourceLock;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  private readonly callbacks: LeaderCallbacks;
  private readonly releaseOnCancel: boolean;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: (msg: string) => void;
  private observed: LeaderElectionRecord = { holderIdentity: '', leaseDurationSeconds: 0, acquireTime: '', renewTime: '', leaseTransitions: 0 };
  private observedRaw = '';
  private observedTime = 0;
  private reportedLeader = '';
  private running = false;

  constructor(cfg: LeaderElectionConfig) {
    this.lock = cfg.lock;
    this.callbacks = cfg.callbacks;
    this.leaseDurationMs = cfg.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = cfg.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = cfg.retryPeriodMs ?? 2_000;
    this.releaseOnCancel = cfg.releaseOnCancel ?? true;
    this.clock = cfg.clock ?? realClock;
    this.random = cfg.random ?? Math.random;
    this.log = cfg.log ?? ((m) => console.error(`rudder leader election: ${m}`));
    // upstream's validation, with its messages
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs) throw new Error('renewDeadline must be greater than retryPeriod*JitterFactor');
    if (this.leaseDurationMs < 1) throw new Error('leaseDuration must be greater than zero');
    if (this.renewDeadlineMs < 1) throw new Error('renewDeadline must be greater than zero');
    if (this.retryPeriodMs < 1) throw new Error('retryPeriod must be greater than zero');
    if (!this.lock.identity) throw new Error('Lock identity is empty');
  }

  /** The holder last observed ('' if none yet). */
  getLeader(): string {
    return this.observed.holderIdentity;
  }

  isLeader(): boolean {
    return this.observed.holderIdentity === this.lock.identity;
  }

  /**
   * For health checks: an error when this candidate believes it leads but has not renewed for
   * longer than the lease plus the tolerance (it should have stopped leading by then).
   */
  check(maxTolerableExpiredLeaseMs: number): Error | undefined {
    if (!this.isLeader()) return undefined;
    if (this.clock.now() - this.observedTime > this.leaseDurationMs + maxTolerableExpiredLeaseMs) {
      return new Error(`failed election to renew leadership on lease ${this.lock.describe()}`);
    }
    return undefined;
  }

  /**
   * Campaigns until leading, leads until renewal fails or `signal` aborts, then returns.
   * onStoppedLeading is called when it returns, in every case.
   */
  async run(signal?: AbortSignal): Promise<void> {
    if (this.running) throw new Error('leader elector is already running');
    this.running = true;
    const stop = signal ?? new AbortController().signal;
    try {
      if (!(await this.acquire(stop))) return;
      const leading = new AbortController();
      const onStop = () => leading.abort();
      stop.addEventListener('abort', onStop, { once: true });
      try {
        try {
          this.callbacks.onStartedLeading(leading.signal);
        } catch (e) {
          this.log(`onStartedLeading threw: ${(e as Error).message}`);
        }
        await this.renew(leading.signal);
      } finally {
        stop.removeEventListener('abort', onStop);
        leading.abort();
      }
      if (this.releaseOnCancel) await this.release();
    } finally {
      this.running = false;
      try {
        this.callbacks.onStoppedLeading();
      } catch (e) {
        this.log(`onStoppedLeading threw: ${(e as Error).message}`);
      }
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    this.log(`attempting to acquire leader lease ${this.lock.describe()}...`);
    while (!signal.aborted) {
      const ok = await this.attempt(signal, this.renewDeadlineMs);
      this.maybeReportTransition();
      if (ok) {
        this.log(`successfully acquired lease ${this.lock.describe()}`);
        return true;
      }
      const wait = this.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
      try {
        await this.clock.after(wait, signal);
      } catch {
        return false;
      }
    }
    return false;
  }

  private async renew(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let ok = false;
      for (;;) {
        ok = await this.attempt(signal, deadline - this.clock.now());
        if (ok || signal.aborted) break;
        if (this.clock.now() + this.retryPeriodMs >= deadline) break;
        try {
          await this.clock.after(this.retryPeriodMs, signal);
        } catch {
          break;
        }
      }
      this.maybeReportTransition();
      if (signal.aborted) return;
      if (!ok) {
        this.log(`failed to renew lease ${this.lock.describe()}: timed out`);
        return;
      }
      try {
        await this.clock.after(this.retryPeriodMs, signal);
      } catch {
        return;
      }
    }
  }

  /** One tryAcquireOrRenew bounded by ms (a request that hangs counts as a failure). */
  private async attempt(signal: AbortSignal, ms: number): Promise<boolean> {
    const t = timeoutSignal(this.clock, Math.max(0, ms), signal);
    try {
      return await this.tryAcquireOrRenew(t.signal);
    } catch (e) {
      if (!signal.aborted) this.log(`error acquiring or renewing lease ${this.lock.describe()}: ${(e as Error).message}`);
      return false;
    } finally {
      t.cancel();
    }
  }

  private setObserved(record: LeaderElectionRecord): void {
    this.observed = record;
    this.observedTime = this.clock.now();
  }

  private leaseValid(now: number): boolean {
    return this.observedTime + this.observed.leaseDurationSeconds * 1000 > now;
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.clock.now();
    const nowText = rfc3339Micro(new Date(now));
    const desired: LeaderElectionRecord = {
      holderIdentity: this.lock.identity,
      leaseDurationSeconds: Math.floor(this.leaseDurationMs / 1000),
      acquireTime: nowText,
      renewTime: nowText,
      leaseTransitions: 0,
    };

    // 1. Fast path: the leader updates over the version it last wrote.
    if (this.isLeader() && this.leaseValid(now)) {
      const r = { ...desired, acquireTime: this.observed.acquireTime, leaseTransitions: this.observed.leaseTransitions };
      try {
        await raceAbort(this.lock.update(r, signal), signal);
        this.setObserved(r);
        this.observedRaw = JSON.stringify(r);
        return true;
      } catch (e) {
        if (signal.aborted) throw e;
        this.log(`failed to update lease ${this.lock.describe()} optimistically, falling back to slow path: ${(e as Error).message}`);
      }
    }

    // 2. Read (or create) the record.
    let got: { record: LeaderElectionRecord; raw: string };
    try {
      got = await raceAbort(this.lock.get(signal), signal);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
      await raceAbort(this.lock.create(desired, signal), signal);
      this.setObserved(desired);
      this.observedRaw = JSON.stringify(desired);
      return true;
    }

    // 3. Has it changed since we last looked? Expiry is measured from when we saw it change.
    if (got.raw !== this.observedRaw) {
      this.setObserved(got.record);
      this.observedRaw = got.raw;
    }
    if (got.record.holderIdentity && this.leaseValid(now) && !this.isLeader()) return false;

    // 4. Take it (or renew it through the slow path).
    const r = this.isLeader()
      ? { ...desired, acquireTime: got.record.acquireTime, leaseTransitions: got.record.leaseTransitions }
      : { ...desired, leaseTransitions: got.record.leaseTransitions + 1 };
    await raceAbort(this.lock.update(r, signal), signal);
    this.setObserved(r);
    this.observedRaw = JSON.stringify(r);
    return true;
  }

  private async release(): Promise<boolean> {
    const t = timeoutSignal(this.clock, this.renewDeadlineMs);
    try {
      for (;;) {
        let got: { record: LeaderElectionRecord; raw: string };
        try {
          got = await raceAbort(this.lock.get(t.signal), t.signal);
        } catch (e) {
          this.log(`cannot release lease ${this.lock.describe()}: ${(e as Error).message}`);
          return false;
        }
        if (!this.isLeader()) return true;
        const nowText = rfc3339Micro(new Date(this.clock.now()));
        const r: LeaderElectionRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: nowText, renewTime: nowText, leaseTransitions: got.record.leaseTransitions };
        try {
          await raceAbort(this.lock.update(r, t.signal), t.signal);
        } catch (e) {
          if (e instanceof StatusError && e.code === 409 && !t.signal.aborted) continue;
          this.log(`failed to release lease ${this.lock.describe()}: ${(e as Error).message}`);
          return false;
        }
        this.setObserved(r);
        this.observedRaw = JSON.stringify(r);
        return true;
      }
    } finally {
      t.cancel();
    }
  }

  private maybeReportTransition(): void {
    if (this.observed.holderIdentity === this.reportedLeader) return;
    this.reportedLeader = this.observed.holderIdentity;
    try {
      this.callbacks.onNewLeader?.(this.reportedLeader);
    } catch (e) {
      this.log(`onNewLeader threw: ${(e as Error).message}`);
    }
  }
}

/** Rejects when the signal aborts, even if the operation ignores it. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

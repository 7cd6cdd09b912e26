// Runs a sync function on request, no more often than a token bucket allows (upstream's
// BoundedFrequencyRunner: a burst of `burst` runs, then one per minInterval), never two at once,
// and requests arriving during a run coalesce into one more run after it.
import type { Clock, Timer } from '../client/clock.ts';

export interface SyncRunnerOptions {
  minIntervalMs: number;
  burst: number;
  clock: Clock;
}

export class SyncRunner {
  private readonly fn: () => Promise<void>;
  private readonly o: SyncRunnerOptions;
  private tokens: number;
  private lastRefill: number;
  private pending = false;
  private running: Promise<void> | undefined;
  private timer: Timer | undefined;
  private timerDue = Infinity;
  private stopped = false;

  constructor(fn: () => Promise<void>, o: SyncRunnerOptions) {
    this.fn = fn;
    this.o = o;
    this.tokens = o.burst;
    this.lastRefill = o.clock.now();
  }

  /** Asks for a run as soon as the rate allows. */
  run(): void {
    if (this.stopped) return;
    this.pending = true;
    this.schedule();
  }

  /** Asks for a run no sooner than `ms` from now (a retry, a deferred deletion). */
  runAfter(ms: number): void {
    if (this.stopped) return;
    const due = this.o.clock.now() + Math.max(0, ms);
    if (this.timer && this.timerDue <= due) return;
    this.timer?.cancel();
    this.timerDue = due;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.run();
    }, ms);
  }

  /** Stops scheduling; resolves when a run in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
  }

  private refill(): void {
    const now = this.o.clock.now();
    if (this.o.minIntervalMs <= 0) {
      this.tokens = this.o.burst;
      this.lastRefill = now;
      return;
    }
    const gained = Math.floor((now - this.lastRefill) / this.o.minIntervalMs);
    if (gained > 0) {
      this.tokens = Math.min(this.o.burst, this.tokens + gained);
      this.lastRefill = this.tokens === this.o.burst ? now : this.lastRefill + gained * this.o.minIntervalMs;
    }
  }

  private schedule(): void {
    if (this.stopped || this.running || !this.pending) return;
    this.refill();
    if (this.tokens < 1) {
      this.runAfter(this.lastRefill + this.o.minIntervalMs - this.o.clock.now());
      return;
    }
    this.tokens--;
    this.pending = false;
    this.running = (async () => {
      try {
        await this.fn();
      } catch {
        // fn reports its own failures; the runner only keeps going
      } finally {
        this.running = undefined;
        this.schedule();
      }
    })();
  }
}

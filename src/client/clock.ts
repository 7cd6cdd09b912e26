// Time, injected. Everything in src/client that waits (work-queue delays and back-offs, leader
// election, informer resyncs, event retries) asks a Clock, so tests drive hours of schedule in
// milliseconds with a FakeClock instead of sleeping.

export interface Timer {
  /** Stops the timer; idempotent, harmless after it fired. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls fn once, ms milliseconds from now (0 or less: on the next turn). */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Resolves ms milliseconds from now; rejects with the signal's reason when it aborts first. */
  after(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function afterVia(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      t.cancel();
      reject(abortReason(signal!));
    };
    const t = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The machine's clock. */
export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): Timer {
    const h = globalThis.setTimeout(fn, Math.max(0, ms));
    return { cancel: () => globalThis.clearTimeout(h) };
  }
  after(ms: number, signal?: AbortSignal): Promise<void> {
    return afterVia(this, ms, signal);
  }
}

export const realClock: Clock = new RealClock();

interface FakeTimer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets promise chains started by a fired timer run to their next wait (microtasks, then one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * A clock that moves only when told. Timers fire in due order (ties in the order they were set),
 * each seeing now() equal to its due time.
 */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(start: number | Date = Date.UTC(2025, 0, 1)) {
    this.t = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer: FakeTimer = { due: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    // keep sorted by (due, seq): insert after every timer due at or before this one
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.timers[mid]!.due <= timer.due) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    return {
      cancel: () => {
        if (timer.cancelled) return;
        timer.cancelled = true;
        const i = this.timers.indexOf(timer);
        if (i >= 0) this.timers.splice(i, 1);
      },
    };
  }

  after(ms: number, signal?: AbortSignal): Promise<void> {
    return afterVia(this, ms, signal);
  }

  /** Timers not yet fired. */
  pending(): number {
    return this.timers.length;
  }

  /** When the next timer is due, or undefined. */
  nextDue(): number | undefined {
    return this.timers[0]?.due;
  }

  private fireNext(target: number): boolean {
    const next = this.timers[0];
    if (!next || next.due > target) return false;
    this.timers.shift();
    this.t = Math.max(this.t, next.due);
    next.cancelled = true;
    next.fn();
    return true;
  }

  /**
   * Moves time forward by ms synchronously, firing every timer that falls due on the way, in
   * order (including timers those callbacks set inside the window). Async work a callback starts
   * runs only after step returns; use advance() to let it schedule follow-up timers.
   */
  step(ms: number): void {
    const target = this.t + ms;
    while (this.fireNext(target));
    this.t = target;
  }

  /**
   * Like step, but lets async work settle after each fired timer, so follow-up timers set by
   * promise chains (a retry after a failed request, the next renew) fire within the same window.
   */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    while (this.fireNext(target)) await settle();
    this.t = target;
    await settle();
  }

  /** Sets the time (never backwards); fires nothing. */
  set(ms: number): void {
    this.t = Math.max(this.t, ms);
  }
}

/** An AbortSignal that aborts after ms on the given clock, or when parent aborts. cancel() frees its timer. */
export function timeoutSignal(clock: Clock, ms: number, parent?: AbortSignal): { signal: AbortSignal; cancel(): void } {
  const ac = new AbortController();
  const onParent = () => ac.abort(parent!.reason);
  const t = clock.setTimeout(() => ac.abort(new DOMException('The operation timed out', 'TimeoutError')), ms);
  if (parent) {
    if (parent.aborted) ac.abort(parent.reason);
    else parent.addEventListener('abort', onParent, { once: true });
  }
  return {
    signal: ac.signal,
    cancel() {
      t.cancel();
      parent?.removeEventListener('abort', onParent);
    },
  };
}

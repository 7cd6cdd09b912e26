// The controller work queue, with upstream client-go's semantics (util/workqueue):
// - de-duplication: an item added while it waits is queued once; an item added while a worker
//   processes it is queued again only after done(), so no two workers ever hold the same item;
// - delays: addAfter(item, ms) adds it later (the earliest of several pending delays wins);
// - rate limiting: addRateLimited asks a RateLimiter how long to wait (per-item exponential
//   back-off and an overall token bucket by default); forget() ends an item's back-off;
// - shutDown(): get() resolves undefined once the queue is drained, new adds are ignored.
// Time comes from the injected Clock only.
import { realClock, type Clock, type Timer } from './clock.ts';

export interface RateLimiter<T> {
  /** How long (ms) to wait before the item may be processed again; records a failure. */
  when(item: T): number;
  /** Ends the item's back-off (it succeeded or was given up). */
  forget(item: T): void;
  /** Failures recorded for the item since the last forget. */
  numRequeues(item: T): number;
}

/** Per-item exponential back-off: base·2^failures, capped at max (upstream's 5 ms → 1000 s for controllers). */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(baseMs: number, maxMs: number) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(item: T): number {
    const exp = this.failures.get(item) ?? 0;
    this.failures.set(item, exp + 1);
    const backoff = this.baseMs * 2 ** exp;
    return backoff > this.maxMs || !Number.isFinite(backoff) ? this.maxMs : backoff;
  }

  forget(item: T): void {
    this.failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * A token bucket (golang.org/x/time/rate's reservation semantics): `burst` tokens, refilled at
 * qps per second; every when() takes a token, possibly borrowing ahead, and answers the wait
 * until that token exists. Shared by all items.
 */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;

  constructor(qps: number, burst: number, clock: Clock = realClock) {
    this.qps = qps;
    this.burst = burst;
    this.clock = clock;
    this.tokens = burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
    }
  }

  when(_item: T): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  /** Takes a token only if one is available now (a passive limiter's TryAccept). */
  tryAccept(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** The longest wait any of the limiters asks for. */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  private readonly limiters: RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    this.limiters = limiters;
  }

  when(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }

  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/** Upstream's DefaultControllerRateLimiter: per item 5 ms doubling to 1000 s, overall 10 qps with a burst of 100. */
export function defaultControllerRateLimiter<T>(clock: Clock = realClock): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(new ItemExponentialFailureRateLimiter<T>(5, 1000_000), new BucketRateLimiter<T>(10, 100, clock));
}

export interface WorkQueueOptions<T> {
  clock?: Clock;
  /** Defaults to defaultControllerRateLimiter on the same clock. */
  rateLimiter?: RateLimiter<T>;
  /** For logs and metrics. */
  name?: string;
}

interface Waiting<T> {
  item: T;
  readyAt: number;
}

/**
 * A de-duplicating, delaying, rate-limited queue of items compared by identity (use string keys).
 * `undefined` is not a valid item: get() answers it for "shut down".
 */
export class WorkQueue<T> {
  readonly name: string;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter<T>;
  private readonly queue: T[] = [];
  private head = 0;
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  private readonly getters: ((item: T | undefined) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private shutting = false;
  private drain = false;
  /** Items waiting for their delay, sorted by readyAt (ties in insertion order). */
  private waiting: Waiting<T>[] = [];
  private readonly waitingByItem = new Map<T, Waiting<T>>();
  private timer?: Timer;
  private timerAt = Infinity;

  constructor(opts: WorkQueueOptions<T> = {}) {
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter<T>(this.clock);
    this.name = opts.name ?? '';
  }

  /** Queues the item unless it is already queued; if a worker holds it, it is queued again on done(). */
  add(item: T): void {
    if (this.shutting) return;
    if (this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    this.push(item);
  }

  private push(item: T): void {
    this.queue.push(item);
    const g = this.getters.shift();
    if (g) g(this.pop());
  }

  private pop(): T {
    const item = this.queue[this.head]!;
    this.queue[this.head] = undefined as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.processing.add(item);
    this.dirty.delete(item);
    return item;
  }

  /** Items queued (not counting those being processed or waiting for a delay). */
  len(): number {
    return this.queue.length - this.head;
  }

  /**
   * The next item, which the caller now holds until done(item). Resolves undefined once the
   * queue is shut down and empty. Concurrent callers are served in call order.
   */
  get(): Promise<T | undefined> {
    if (this.len() > 0) return Promise.resolve(this.pop());
    if (this.shutting) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks the item processed; if it was added meanwhile, it is queued again now. */
  done(item: T): void {
    this.processing.delete(item);
    if (this.dirty.has(item)) this.push(item);
    else if (this.processing.size === 0 && this.drainWaiters.length) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  /** Adds the item after ms (at once when ms <= 0). An earlier pending delay for the same item wins. */
  addAfter(item: T, ms: number): void {
    if (this.shutting) return;
    if (ms <= 0) {
      this.add(item);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const existing = this.waitingByItem.get(item);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      this.waiting.splice(this.waiting.indexOf(existing), 1);
    }
    const w: Waiting<T> = { item, readyAt };
    let lo = 0;
    let hi = this.waiting.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.waiting[mid]!.readyAt <= readyAt) lo = mid + 1;
      else hi = mid;
    }
    this.waiting.splice(lo, 0, w);
    this.waitingByItem.set(item, w);
    this.arm();
  }

  private arm(): void {
    const first = this.waiting[0];
    if (!first) {
      this.timer?.cancel();
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer && this.timerAt <= first.readyAt) return;
    this.timer?.cancel();
    this.timerAt = first.readyAt;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.release();
    }, first.readyAt - this.clock.now());
  }

  private release(): void {
    const now = this.clock.now();
    let n = 0;
    while (n < this.waiting.length && this.waiting[n]!.readyAt <= now) n++;
    const ready = this.waiting.splice(0, n);
    for (const w of ready) {
      this.waitingByItem.delete(w.item);
      this.add(w.item);
    }
    this.arm();
  }

  /** Adds the item after the rate limiter's wait for it (records a failure for back-off). */
  addRateLimited(item: T): void {
    this.addAfter(item, this.limiter.when(item));
  }

  /** Ends the item's back-off; call after it was processed successfully (or given up). */
  forget(item: T): void {
    this.limiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.limiter.numRequeues(item);
  }

  /** Items waiting for a delay to pass. */
  numWaiting(): number {
    return this.waiting.length;
  }

  shuttingDown(): boolean {
    return this.shutting;
  }

  /**
   * Stops accepting items; pending get()s resolve undefined once the queue is empty, and items
   * still waiting for a delay are dropped.
   */
  shutDown(): void {
    this.shutting = true;
    this.waiting = [];
    this.waitingByItem.clear();
    this.arm();
    if (this.len() === 0) for (const g of this.getters.splice(0)) g(undefined);
  }

  /** shutDown, then resolves once every item handed out has been done(). */
  shutDownWithDrain(): Promise<void> {
    this.drain = true;
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** True while shutDownWithDrain waits for processing items. */
  draining(): boolean {
    return this.drain && this.processing.size > 0;
  }
}

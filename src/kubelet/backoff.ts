// Per-key exponential back-off with upstream's semantics (client-go util/flowcontrol.Backoff, as the
// kubelet uses it for container restarts and image pulls, without jitter): the first delay is the
// initial one, each further one doubles up to the maximum, and an entry not touched for twice the
// maximum starts over — so a container that ran for 10 minutes before failing is restarted after
// 10 s again, not 5 min.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  now: () => number;
}

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

/** Formats milliseconds as Go's time.Duration.String() does for whole seconds and above ("10s", "1m20s", "5m0s"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return ms === 0 ? '0s' : `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = Number.isInteger(s) ? String(s) : String(Number(s.toFixed(9)));
  if (h) return `${h}h${m}m${sec}s`;
  if (m) return `${m}m${sec}s`;
  return `${sec}s`;
}

export class Backoff {
  readonly #o: BackoffOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(o: BackoffOptions) {
    this.#o = o;
  }

  #expired(eventTime: number, lastUpdate: number): boolean {
    return eventTime - lastUpdate > this.#o.maxMs * 2;
  }

  /** The current delay of the key (0 when it has none). */
  get(key: string): number {
    return this.#entries.get(key)?.backoffMs ?? 0;
  }

  /** Records a failure at eventTime: starts the back-off, or doubles it. */
  next(key: string, eventTime: number): void {
    const e = this.#entries.get(key);
    const now = this.#o.now();
    if (!e || this.#expired(eventTime, e.lastUpdate)) {
      this.#entries.set(key, { backoffMs: this.#o.initialMs, lastUpdate: now });
    } else {
      e.backoffMs = Math.min(e.backoffMs * 2, this.#o.maxMs);
      e.lastUpdate = now;
    }
  }

  /** Whether an event at eventTime (e.g. a container's exit) is still within the key's back-off. */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.#entries.get(key);
    if (!e) return false;
    const now = this.#o.now();
    if (this.#expired(now, e.lastUpdate)) return false;
    return now - eventTime < e.backoffMs;
  }

  /** Whether now is within the key's back-off counted from its last failure (image pulls). */
  isInBackOffSinceUpdate(key: string): boolean {
    const e = this.#entries.get(key);
    if (!e) return false;
    const now = this.#o.now();
    if (this.#expired(now, e.lastUpdate)) return false;
    return now - e.lastUpdate < e.backoffMs;
  }

  /** When the key's back-off since eventTime ends (for scheduling the next attempt). */
  endsAt(key: string, eventTime: number): number {
    return eventTime + this.get(key);
  }

  /** The time its back-off since the last failure ends. */
  updateEndsAt(key: string): number {
    const e = this.#entries.get(key);
    return e ? e.lastUpdate + e.backoffMs : 0;
  }

  reset(key: string): void {
    this.#entries.delete(key);
  }

  /** Forgets keys that would start over anyway. */
  gc(): void {
    const now = this.#o.now();
    for (const [k, e] of this.#entries) if (this.#expired(now, e.lastUpdate)) this.#entries.delete(k);
  }

  /** Forgets every key with this prefix (a pod that is gone). */
  deletePrefix(prefix: string): void {
    for (const k of this.#entries.keys()) if (k.startsWith(prefix)) this.#entries.delete(k);
  }
}

// upstream's ControllerExpectations: after a sync creates or deletes N dependents, the
// controller waits until its informer has seen those N events before deciding again, so a sync
// that runs before the watch delivers them does not create the same pods twice. Expectations
// older than 5 minutes are considered satisfied (a lost event must not wedge a controller).
import type { Clock } from '../../client/clock.ts';

const EXPECTATIONS_TTL_MS = 5 * 60_000;

interface Record {
  add: number;
  del: number;
  at: number;
}

export class Expectations {
  private readonly m = new Map<string, Record>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** True when nothing is pending for key (or its expectations expired). */
  satisfied(key: string): boolean {
    const r = this.m.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return this.clock.now() - r.at > EXPECTATIONS_TTL_MS;
  }

  /** Sets (replaces) what key waits for. */
  expect(key: string, add: number, del: number): void {
    this.m.set(key, { add, del, at: this.clock.now() });
  }

  raise(key: string, add: number, del: number): void {
    const r = this.m.get(key);
    if (!r) this.expect(key, add, del);
    else {
      r.add += add;
      r.del += del;
    }
  }

  creationObserved(key: string): void {
    const r = this.m.get(key);
    if (r) r.add--;
  }

  deletionObserved(key: string): void {
    const r = this.m.get(key);
    if (r) r.del--;
  }

  delete(key: string): void {
    this.m.delete(key);
  }
}

/**
 * upstream's UIDTrackingControllerExpectations, reduced to what the Job controller needs: the
 * pod uids whose tracking-finalizer removal has been sent but not yet observed.
 */
export class UidExpectations {
  private readonly m = new Map<string, Set<string>>();

  expect(key: string, uids: Iterable<string>): void {
    let s = this.m.get(key);
    if (!s) this.m.set(key, (s = new Set()));
    for (const u of uids) s.add(u);
  }

  observed(key: string, uid: string): void {
    const s = this.m.get(key);
    if (!s) return;
    s.delete(uid);
    if (s.size === 0) this.m.delete(key);
  }

  get(key: string): ReadonlySet<string> {
    return this.m.get(key) ?? new Set();
  }

  delete(key: string): void {
    this.m.delete(key);
  }
}

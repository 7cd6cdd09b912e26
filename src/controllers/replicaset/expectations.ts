// Controller expectations (upstream's UIDTrackingControllerExpectations): what a controller has
// asked the API for and not yet seen come back through its informer. While a controller waits
// for its own creates and deletes to show up, its cache under-reports them; syncing on that view
// would create (or delete) the same pods twice. So a sync manages replicas only once every
// create and delete it issued has been observed, or the record has expired (upstream: 5 minutes,
// for events that never come, e.g. a create that the server applied but whose answer was lost).
//
// Deletions are tracked by pod key, so a pod whose deletion is seen twice (a watch event, then a
// relist) counts once. Creations are counted: their names are not known until the server answers.
import type { Clock } from '../../client/clock.ts';

export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Record {
  add: number;
  del: number;
  /** Pod keys whose deletion is expected. */
  deleting: Set<string>;
  at: number;
}

export class Expectations {
  private readonly records = new Map<string, Record>();
  private readonly clock: Clock;
  private readonly ttlMs: number;

  constructor(clock: Clock, ttlMs = EXPECTATIONS_TTL_MS) {
    this.clock = clock;
    this.ttlMs = ttlMs;
  }

  /** Whether the controller may manage replicas: nothing outstanding, no record, or the record expired. */
  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return this.clock.now() - r.at > this.ttlMs;
  }

  /** Replaces the record: n creations are now expected. */
  expectCreations(key: string, n: number): void {
    this.records.set(key, { add: n, del: 0, deleting: new Set(), at: this.clock.now() });
  }

  /** Replaces the record: the deletion of these pod keys is now expected. */
  expectDeletions(key: string, podKeys: readonly string[]): void {
    const deleting = new Set(podKeys);
    this.records.set(key, { add: 0, del: deleting.size, deleting, at: this.clock.now() });
  }

  /** A pod this controller created was observed (or a create failed and will never be). */
  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r) r.add--;
  }

  /** The pod's deletion was observed (or failed); each pod key counts once. */
  deletionObserved(key: string, podKey: string): void {
    const r = this.records.get(key);
    if (r && r.deleting.delete(podKey)) r.del--;
  }

  /** Forgets the controller (it was deleted). */
  delete(key: string): void {
    this.records.delete(key);
  }

  /** Outstanding counts, for tests and logs. */
  pending(key: string): { add: number; del: number } | undefined {
    const r = this.records.get(key);
    return r ? { add: r.add, del: r.del } : undefined;
  }
}

// The storage seam. One narrow interface with etcd's semantics; backends (sqlite, etcd) are
// chosen by a URL (see open.ts) and all pass the same contract suite (contract.ts).
//
// Contracts every backend keeps:
// - One global revision that only grows. Every successful create/update/delete gets a new
//   revision, strictly greater than every revision acknowledged before it. Absolute values are
//   backend-specific (an empty sqlite store is at 0 and its first write gets 1; an empty etcd is
//   at 1; etcd backends may also spend revisions on bookkeeping keys), so callers compare
//   revisions and never assume they are consecutive. currentRevision() never decreases and is at
//   least every revision acknowledged before it was called.
// - A promise resolves only after its write is durable (fsynced); a write that was never
//   acknowledged may or may not be present after a crash, an acknowledged one always is.
// - Values are opaque bytes of at most MAX_VALUE_BYTES; larger values are refused with
//   StoreError('ValueTooLarge') and change nothing. A value handed to create/update belongs to
//   the store from then on (it may be kept and passed to watchers without a copy), and values the
//   store returns are shared: neither side mutates them.
// - watch(prefix, after) delivers every change with revision > after under prefix, in revision
//   order, with no gaps and no duplicates; if `after` is older than the compacted revision it
//   fails with StoreError('Compacted').

export const MAX_VALUE_BYTES = 1.5 * 1024 * 1024;

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the write that created this incarnation of the key. */
  createRevision: number;
  /** Revision of the latest write to the key (for a delete event: the delete's revision). */
  modRevision: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** For PUT: the new value. For DELETE: key, the deleted value, modRevision = the delete's revision. */
  kv: KeyValue;
  /** The value before this event, when there was one (always present for DELETE). */
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** Read as of this revision; 0 or absent means the current revision. */
  revision?: number;
  /** At most this many keys; 0 or absent means all. */
  limit?: number;
  /** Start at this key (inclusive). Used to continue a paginated list. */
  startKey?: string;
}

export interface ListResult {
  kvs: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when keys under the prefix remain after the last one returned. */
  more: boolean;
  /** The number of keys under the prefix after the last one returned (at `revision`), when known. */
  remaining?: number;
}

export interface DeleteResult {
  revision: number;
  prev: KeyValue;
}

export interface Watcher {
  /** Stops delivery. Idempotent. No callback runs after it returns. */
  cancel(): void;
}

export interface WatchHandlers {
  /** Called with events in revision order; a batch never splits one revision's events. */
  onEvents(events: WatchEvent[]): void;
  /** Called once when the watch can no longer continue (e.g. Compacted); no more callbacks follow. */
  onError(err: StoreError): void;
}

export type StoreErrorCode =
  | 'KeyExists' // create of a key that exists
  | 'NotFound' // update/delete of a key that does not exist
  | 'Conflict' // expected revision did not match the key's modRevision
  | 'Compacted' // revision older than the compacted revision
  | 'FutureRevision' // revision newer than the current one
  | 'ValueTooLarge'
  | 'Unavailable' // backend not reachable; the write may or may not have happened
  | 'Closed';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** For Conflict: the key's current value; for KeyExists: the existing value. */
  readonly current?: KeyValue;
  /** For Compacted: the compacted revision. */
  readonly compactedRevision?: number;
  constructor(code: StoreErrorCode, message: string, extra: { current?: KeyValue; compactedRevision?: number } = {}) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.current = extra.current;
    this.compactedRevision = extra.compactedRevision;
  }
}

export interface Store {
  /** The highest revision committed so far. */
  currentRevision(): Promise<number>;
  /** The key's value at the current revision, or undefined. */
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys with the given prefix, in key order, as of a revision (see ListOptions). */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** The number of keys under a prefix at the current revision. */
  count(prefix: string): Promise<number>;
  /** Creates the key; fails with KeyExists when it exists. Resolves to the new revision. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Replaces the value if the key's modRevision equals expectedRevision (Conflict otherwise, NotFound if absent). */
  update(key: string, value: Uint8Array, expectedRevision: number): Promise<number>;
  /** Deletes the key; if expectedRevision is given it must equal the key's modRevision. */
  delete(key: string, expectedRevision?: number): Promise<DeleteResult>;
  /** Streams every change under prefix with revision > afterRevision. */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watcher;
  /**
   * Discards history below the revision, keeping the state as of it (the newest value of each
   * live key at that revision). Afterwards list at a revision < R and watch with afterRevision < R
   * fail with Compacted; list at R and watch from R work. Compacting at or below the compacted
   * revision is a no-op; above the current revision fails with FutureRevision.
   */
  compact(revision: number): Promise<void>;
  /** The last revision passed to compact (0 if never): reads before it fail with Compacted. */
  compactedRevision(): Promise<number>;
  close(): Promise<void>;
}

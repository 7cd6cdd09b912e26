// The synchronous SQLite core of the sqlite backend: schema, one-transaction batches, reads and
// compaction. It owns one DatabaseSync connection and is the only writer of its file (the file is
// opened in EXCLUSIVE locking mode, so a second process fails at open instead of corrupting the
// revision counter). It knows nothing about promises, watchers or scheduling: SqliteStore drives it
// (see sqlite-store.ts), either on the main thread or inside a worker.
//
// Layout, kine-like: one table `kv` where every write appends a row whose rowid is its revision.
// The newest row of a key is its value; a delete appends a tombstone row (deleted = 1). Each row
// points at the live row it supersedes (prev_rev; NULL for a create), which gives watch replays
// their prevKv and lets compaction find superseded rows by a range scan over revisions.
//
// Results cross a worker boundary, so everything returned is plain data (no class instances);
// failures are reported as EngineFailure values or thrown EngineError objects carrying a code.

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { KeyValue, StoreErrorCode, WatchEvent } from '../store.ts';

export type WriteOp =
  | { op: 'create'; key: string; value: Uint8Array }
  | { op: 'update'; key: string; value: Uint8Array; expected: number }
  | { op: 'delete'; key: string; expected?: number };

/** The outcome of one write in a batch: its event, or the precondition that failed. */
export type WriteOutcome =
  | { ok: true; event: WatchEvent }
  | { ok: false; code: 'KeyExists' | 'NotFound' | 'Conflict'; message: string; current?: KeyValue };

export interface EngineListResult {
  kvs: KeyValue[];
  revision: number;
  more: boolean;
  remaining: number;
}

/** A failure as plain data (survives structured cloning); SqliteStore turns it into a StoreError. */
export interface EngineError {
  engineError: true;
  code: StoreErrorCode;
  message: string;
  compactedRevision?: number;
}

export function engineError(code: StoreErrorCode, message: string, compactedRevision?: number): EngineError {
  return { engineError: true, code, message, compactedRevision };
}

export function isEngineError(e: unknown): e is EngineError {
  return typeof e === 'object' && e !== null && (e as EngineError).engineError === true;
}

interface Row {
  rev: number;
  key: string;
  create_rev: number;
  deleted: number;
  value: Uint8Array | null;
}

interface HistoryRow extends Row {
  p_rev: number | null;
  p_create_rev: number | null;
  p_value: Uint8Array | null;
}

const EMPTY = new Uint8Array(0);

/** The smallest string greater than every string that starts with prefix; undefined for ''. */
export function prefixEnd(prefix: string): string | undefined {
  // Keys are compared as UTF-8 bytes (SQLite BINARY collation), which orders like code points;
  // bumping the last code point gives the exclusive upper bound of the prefix range.
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      let next = last + 1;
      if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

export class SqliteEngine {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly stmts = new Map<string, StatementSync>();
  /** The highest revision written by a committed transaction. */
  private rev = 0;
  private compactRev = 0;
  private syncOnCommit: boolean;

  /**
   * syncOnCommit false: a commit writes the WAL without fsyncing it (synchronous = NORMAL) and the
   * caller makes it durable with an fdatasync of the WAL file before acknowledging anything (see
   * InlineHost.sync); checkpoints still sync both files themselves.
   */
  constructor(path: string, opts: { syncOnCommit?: boolean } = {}) {
    this.path = path;
    this.syncOnCommit = opts.syncOnCommit ?? true;
    try {
      this.db = new DatabaseSync(path);
    } catch (e) {
      throw engineError('Unavailable', `sqlite: cannot open ${path}: ${(e as Error).message}`);
    }
    try {
      this.init();
    } catch (e) {
      try {
        this.db.close();
      } catch {
        // already failing; the first error is the one worth reporting
      }
      const msg = (e as Error).message ?? String(e);
      if (/locked|busy/i.test(msg)) {
        throw engineError('Unavailable', `sqlite: ${path} is in use by another process`);
      }
      throw engineError('Unavailable', `sqlite: cannot open ${path}: ${msg}`);
    }
  }

  private init(): void {
    const db = this.db;
    // auto_vacuum must be chosen before the first table exists; it lets compaction hand freed
    // pages back to the file system with incremental_vacuum instead of a full VACUUM.
    db.exec('PRAGMA auto_vacuum = INCREMENTAL');
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('PRAGMA journal_mode = WAL');
    // FULL: every commit fsyncs the WAL, so a resolved write survives power loss. NORMAL: the
    // caller fsyncs the WAL itself before it resolves a write (constructor).
    db.exec(`PRAGMA synchronous = ${this.syncOnCommit ? 'FULL' : 'NORMAL'}`);
    db.exec('PRAGMA journal_size_limit = 67108864');
    db.exec(`CREATE TABLE IF NOT EXISTS kv (
      rev INTEGER PRIMARY KEY,
      key TEXT NOT NULL,
      create_rev INTEGER NOT NULL,
      prev_rev INTEGER,
      deleted INTEGER NOT NULL DEFAULT 0,
      value BLOB
    )`);
    db.exec('CREATE INDEX IF NOT EXISTS kv_key_rev ON kv (key, rev)');
    db.exec('CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID');
    // A write takes the exclusive lock now, so a second process fails here rather than later.
    db.exec('BEGIN IMMEDIATE');
    db.exec("INSERT OR IGNORE INTO meta (name, value) VALUES ('compact_rev', 0)");
    db.exec('COMMIT');
    this.compactRev = (db.prepare("SELECT value FROM meta WHERE name = 'compact_rev'").get() as { value: number }).value;
    const max = (db.prepare('SELECT MAX(rev) AS m FROM kv').get() as { m: number | null }).m ?? 0;
    // Compaction may delete the newest row (a tombstone), so the compacted revision also bounds it.
    this.rev = Math.max(max, this.compactRev);
  }

  private stmt(sql: string): StatementSync {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Makes every commit fsync the WAL itself again (when the caller cannot). */
  syncCommits(): void {
    this.syncOnCommit = true;
    this.db.exec('PRAGMA synchronous = FULL');
  }

  currentRevision(): number {
    return this.rev;
  }

  compactedRevision(): number {
    return this.compactRev;
  }

  /**
   * Applies the writes in order inside one transaction and commits it (one WAL fsync). Each write's
   * precondition is checked against the state left by the writes before it; a failed precondition
   * fails that write alone. Throws EngineError('Unavailable') if the transaction cannot commit, in
   * which case none of the writes happened.
   */
  applyBatch(ops: WriteOp[]): WriteOutcome[] {
    const startRev = this.rev;
    const out: WriteOutcome[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const op of ops) out.push(this.applyOne(op));
      this.db.exec('COMMIT');
    } catch (e) {
      try {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
      } catch {
        // the commit error is the one to report
      }
      this.rev = startRev;
      throw engineError('Unavailable', `sqlite: write failed: ${(e as Error).message ?? e}`);
    }
    return out;
  }

  private latest(key: string): KeyValue | undefined {
    const r = this.stmt('SELECT rev, create_rev, deleted, value FROM kv WHERE key = ? ORDER BY rev DESC LIMIT 1').get(
      key,
    ) as Row | undefined;
    if (!r || r.deleted) return undefined;
    return { key, value: r.value ?? EMPTY, createRevision: r.create_rev, modRevision: r.rev };
  }

  private insert(rev: number, key: string, createRev: number, prevRev: number | null, deleted: number, value: Uint8Array | null): void {
    this.stmt('INSERT INTO kv (rev, key, create_rev, prev_rev, deleted, value) VALUES (?, ?, ?, ?, ?, ?)').run(
      rev,
      key,
      createRev,
      prevRev,
      deleted,
      value,
    );
  }

  private applyOne(op: WriteOp): WriteOutcome {
    const cur = this.latest(op.key);
    switch (op.op) {
      case 'create': {
        if (cur) return { ok: false, code: 'KeyExists', message: `key ${JSON.stringify(op.key)} already exists`, current: cur };
        const rev = this.rev + 1;
        this.insert(rev, op.key, rev, null, 0, op.value);
        this.rev = rev;
        return { ok: true, event: { type: 'PUT', kv: { key: op.key, value: op.value, createRevision: rev, modRevision: rev } } };
      }
      case 'update': {
        if (!cur) return { ok: false, code: 'NotFound', message: `key ${JSON.stringify(op.key)} not found` };
        if (cur.modRevision !== op.expected) return conflict(op.key, cur, op.expected);
        const rev = this.rev + 1;
        this.insert(rev, op.key, cur.createRevision, cur.modRevision, 0, op.value);
        this.rev = rev;
        return {
          ok: true,
          event: { type: 'PUT', kv: { key: op.key, value: op.value, createRevision: cur.createRevision, modRevision: rev }, prevKv: cur },
        };
      }
      case 'delete': {
        if (!cur) return { ok: false, code: 'NotFound', message: `key ${JSON.stringify(op.key)} not found` };
        if (op.expected !== undefined && cur.modRevision !== op.expected) return conflict(op.key, cur, op.expected);
        const rev = this.rev + 1;
        this.insert(rev, op.key, cur.createRevision, cur.modRevision, 1, null);
        this.rev = rev;
        return {
          ok: true,
          event: { type: 'DELETE', kv: { key: op.key, value: cur.value, createRevision: cur.createRevision, modRevision: rev }, prevKv: cur },
        };
      }
    }
  }

  get(key: string): KeyValue | undefined {
    return this.latest(key);
  }

  private readRevision(revision: number | undefined): number {
    if (!revision || revision <= 0) return this.rev;
    if (revision > this.rev) throw engineError('FutureRevision', `revision ${revision} is newer than the current revision ${this.rev}`);
    if (revision < this.compactRev) {
      throw engineError('Compacted', `revision ${revision} has been compacted (compacted revision ${this.compactRev})`, this.compactRev);
    }
    return revision;
  }

  /** The newest live row of every key in [lo, end) as of rev. `strict` makes lo exclusive. */
  private rangeSql(what: 'rows' | 'count', strict: boolean, hasEnd: boolean, limited: boolean): string {
    const inner = `SELECT MAX(rev) AS r FROM kv WHERE key ${strict ? '>' : '>='} ?${hasEnd ? ' AND key < ?' : ''} AND rev <= ? GROUP BY key`;
    if (what === 'count') return `SELECT COUNT(*) AS n FROM (${inner}) m JOIN kv ON kv.rev = m.r WHERE kv.deleted = 0`;
    return `SELECT kv.rev, kv.key, kv.create_rev, kv.deleted, kv.value FROM (${inner}) m JOIN kv ON kv.rev = m.r WHERE kv.deleted = 0 ORDER BY kv.key${limited ? ' LIMIT ?' : ''}`;
  }

  list(prefix: string, revision?: number, limit?: number, startKey?: string): EngineListResult {
    const rev = this.readRevision(revision);
    const end = prefixEnd(prefix);
    const lo = startKey !== undefined && startKey > prefix ? startKey : prefix;
    if (end !== undefined && lo >= end) return { kvs: [], revision: rev, more: false, remaining: 0 };
    const lim = limit && limit > 0 ? limit : 0;
    const params: (string | number)[] = end !== undefined ? [lo, end, rev] : [lo, rev];
    const rows = (lim ? this.stmt(this.rangeSql('rows', false, end !== undefined, true)).all(...params, lim + 1) : this.stmt(this.rangeSql('rows', false, end !== undefined, false)).all(...params)) as unknown as Row[];
    let more = false;
    let remaining = 0;
    if (lim && rows.length > lim) {
      rows.length = lim;
      more = true;
      const last = rows[lim - 1].key;
      const cparams = end !== undefined ? [last, end, rev] : [last, rev];
      remaining = (this.stmt(this.rangeSql('count', true, end !== undefined, false)).get(...cparams) as { n: number }).n;
    }
    const kvs = rows.map((r) => ({ key: r.key, value: r.value ?? EMPTY, createRevision: r.create_rev, modRevision: r.rev }));
    return { kvs, revision: rev, more, remaining };
  }

  count(prefix: string): number {
    const end = prefixEnd(prefix);
    const params = end !== undefined ? [prefix, end, this.rev] : [prefix, this.rev];
    return (this.stmt(this.rangeSql('count', false, end !== undefined, false)).get(...params) as { n: number }).n;
  }

  /**
   * Events under prefix with after < revision <= upTo, in revision order, at most limit of them.
   * Fails with Compacted when after is below the compacted revision (events may be missing).
   */
  history(prefix: string, after: number, upTo: number, limit: number): WatchEvent[] {
    if (after < this.compactRev) {
      throw engineError('Compacted', `revision ${after} has been compacted (compacted revision ${this.compactRev})`, this.compactRev);
    }
    const end = prefixEnd(prefix);
    const cols = 'k.rev, k.key, k.create_rev, k.deleted, k.value, p.rev AS p_rev, p.create_rev AS p_create_rev, p.value AS p_value';
    const sql = `SELECT ${cols} FROM kv k LEFT JOIN kv p ON p.rev = k.prev_rev WHERE k.rev > ? AND k.rev <= ?${
      prefix === '' ? '' : end !== undefined ? ' AND k.key >= ? AND k.key < ?' : ' AND k.key >= ?'
    } ORDER BY k.rev LIMIT ?`;
    const params: (string | number)[] = [after, upTo];
    if (prefix !== '') params.push(prefix);
    if (prefix !== '' && end !== undefined) params.push(end);
    params.push(limit);
    const rows = this.stmt(sql).all(...params) as unknown as HistoryRow[];
    return rows.map((r) => {
      const prevKv: KeyValue | undefined =
        r.p_rev !== null ? { key: r.key, value: r.p_value ?? EMPTY, createRevision: r.p_create_rev!, modRevision: r.p_rev } : undefined;
      if (r.deleted) {
        // A tombstone's prev is always the live row it deleted; compaction keeps that row for as
        // long as the tombstone is above the compacted revision.
        const value = prevKv?.value ?? EMPTY;
        return { type: 'DELETE', kv: { key: r.key, value, createRevision: r.create_rev, modRevision: r.rev }, prevKv } satisfies WatchEvent;
      }
      const ev: WatchEvent = { type: 'PUT', kv: { key: r.key, value: r.value ?? EMPTY, createRevision: r.create_rev, modRevision: r.rev } };
      if (prevKv) ev.prevKv = prevKv;
      return ev;
    });
  }

  /**
   * Compacts (compactedRevision, hi]: removes rows superseded by a row at or below hi, and
   * tombstones at or below hi. Afterwards reads below hi fail with Compacted. One transaction;
   * callers compact large spans in several calls so no single call blocks for long.
   */
  compactChunk(hi: number): { deleted: number } {
    if (hi > this.rev) throw engineError('FutureRevision', `revision ${hi} is newer than the current revision ${this.rev}`);
    const lo = this.compactRev;
    if (hi <= lo) return { deleted: 0 };
    let deleted = 0;
    try {
      this.db.exec('BEGIN IMMEDIATE');
      // Every superseded live row is the prev of exactly one later row, so the rows in (lo, hi]
      // name everything their writes superseded; rows superseded at or below lo are already gone.
      deleted += Number(
        this.stmt('DELETE FROM kv WHERE rev IN (SELECT prev_rev FROM kv WHERE rev > ? AND rev <= ? AND prev_rev IS NOT NULL)').run(lo, hi)
          .changes,
      );
      deleted += Number(this.stmt('DELETE FROM kv WHERE rev > ? AND rev <= ? AND deleted = 1').run(lo, hi).changes);
      this.stmt("UPDATE meta SET value = ? WHERE name = 'compact_rev'").run(hi);
      this.db.exec('COMMIT');
    } catch (e) {
      try {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
      } catch {
        // report the first error
      }
      throw engineError('Unavailable', `sqlite: compaction failed: ${(e as Error).message ?? e}`);
    }
    this.compactRev = hi;
    return { deleted };
  }

  /** Returns free pages to the file system and truncates the WAL; cheap when nothing is free. */
  reclaim(): { freePages: number } {
    const free = (this.db.prepare('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count;
    if (free > 0) this.db.exec('PRAGMA incremental_vacuum');
    this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return { freePages: free };
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function conflict(key: string, cur: KeyValue, expected: number): WriteOutcome {
  return {
    ok: false,
    code: 'Conflict',
    message: `key ${JSON.stringify(key)} has revision ${cur.modRevision}, expected ${expected}`,
    current: cur,
  };
}

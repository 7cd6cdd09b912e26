// Where the SqliteEngine runs: on the calling thread (InlineHost) or in a worker thread
// (WorkerHost). Both expose the same asynchronous call interface so SqliteStore's scheduling,
// group commit and watch logic do not depend on the choice. Calls are executed one at a time in
// the order they were made; results and failures come back as plain data (EngineError).

import { closeSync, fdatasync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SqliteEngine, engineError, isEngineError, type EngineError } from './engine.ts';

export type EngineMethod =
  | 'applyBatch'
  | 'get'
  | 'list'
  | 'count'
  | 'history'
  | 'compactChunk'
  | 'reclaim'
  | 'currentRevision'
  | 'compactedRevision';

type Fn<M extends EngineMethod> = SqliteEngine[M] extends (...a: infer A) => infer R ? { args: A; result: R } : never;

export interface EngineHost {
  call<M extends EngineMethod>(method: M, ...args: Fn<M>['args']): Promise<Fn<M>['result']>;
  /**
   * Present when applyBatch does not fsync: makes every batch applied so far durable. Callers
   * acknowledge a batch's writes only after a sync that started after the batch was applied.
   */
  sync?(): Promise<void>;
  close(): Promise<void>;
}

function asEngineError(e: unknown): EngineError {
  if (isEngineError(e)) return e;
  return engineError('Unavailable', `sqlite: ${(e as Error)?.message ?? String(e)}`);
}

/**
 * The engine on the calling thread. Its commits do not fsync: the WAL file is fdatasync'ed on
 * libuv's thread pool instead (sync()), so the event loop goes on serving requests while the disk
 * works; a commit's fsync had been a tenth to a quarter of the server's busy time under write load.
 * Linux flushes every dirty page of the file whichever descriptor asks, and SQLite keeps the WAL
 * file (truncating, never replacing it) while the database is open.
 */
export class InlineHost implements EngineHost {
  private readonly engine: SqliteEngine;
  private walFd: number | undefined;
  sync?: () => Promise<void>;

  /** fsyncInCommit: SQLite syncs inside each commit instead (see SqliteStoreOptions.fsyncInCommit). */
  constructor(path: string, opts: { fsyncInCommit?: boolean } = {}) {
    this.engine = new SqliteEngine(path, { syncOnCommit: !!opts.fsyncInCommit });
    if (!opts.fsyncInCommit) {
      try {
        // The engine's first commit (at open) created the WAL.
        this.walFd = openSync(`${path}-wal`, 'r');
      } catch {
        this.engine.syncCommits();
      }
    }
    if (this.walFd !== undefined) {
      const fd = this.walFd;
      this.sync = () =>
        new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(engineError('Unavailable', `sqlite: syncing the WAL failed: ${e.message}`)) : resolve())));
    }
  }
  call<M extends EngineMethod>(method: M, ...args: Fn<M>['args']): Promise<Fn<M>['result']> {
    try {
      const fn = this.engine[method] as (...a: unknown[]) => Fn<M>['result'];
      return Promise.resolve(fn.apply(this.engine, args));
    } catch (e) {
      return Promise.reject(asEngineError(e));
    }
  }
  close(): Promise<void> {
    // Closing the database checkpoints and syncs what is left.
    this.engine.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.walFd = undefined;
    return Promise.resolve();
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: EngineError): void;
}

/** Messages between WorkerHost and sqlite-worker.ts. */
export type WorkerRequest = { id: number; method: EngineMethod | 'close'; args: unknown[] };
export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: EngineError };

export class WorkerHost implements EngineHost {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: EngineError | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(m.error);
    });
    const fail = (why: string) => {
      this.dead = engineError('Unavailable', `sqlite worker ${why}`);
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
    };
    worker.on('error', (e) => fail(`failed: ${e.message}`));
    worker.on('exit', (code) => fail(`exited with code ${code}`));
  }

  /** Starts a worker that opens the database; rejects with the open error. */
  static async start(path: string): Promise<WorkerHost> {
    const worker = new Worker(new URL('./sqlite-worker.ts', import.meta.url), { workerData: { path } });
    const host = new WorkerHost(worker);
    try {
      await host.call('currentRevision');
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    return host;
  }

  call<M extends EngineMethod>(method: M, ...args: Fn<M>['args']): Promise<Fn<M>['result']> {
    return this.send(method, args) as Promise<Fn<M>['result']>;
  }

  private send(method: EngineMethod | 'close', args: unknown[]): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    try {
      await this.send('close', []);
    } finally {
      await this.worker.terminate();
    }
  }
}

// A pool of DNS serving workers (worker.ts) on one port, each holding its own copy of the records.
// Two kinds:
//
// - 'thread': worker threads, each binding its own socket on the port with SO_REUSEPORT (the first
//   binds, picking the port when asked for 0, and also serves TCP). The kernel hashes each client
//   address to one socket, so a few busy clients can load one thread and leave another idle.
// - 'process': child processes handed the caller's already-bound UDP sockets over IPC. Every
//   process reads the same receive queue, so each datagram goes to whichever is free: balanced
//   whatever the clients. Each costs a process rather than an isolate: with the launcher's compile
//   cache (NODE_COMPILE_CACHE, inherited) ~55 MB resident idle and ~75 MB after a burst of queries;
//   ~30 MB more without it (the TypeScript stripper's code stays resident).
//
// Record changes are batched per turn of the event loop and posted to every worker in order, so
// every store sees the same sequence; the pool also keeps the latest op per object, so a worker
// started later (a restart) is brought to the same state before it serves. A worker that exits
// unasked is logged and started again (after 0.1 s, doubling to 10 s while it keeps failing within
// 30 s of its start).
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import type { Upstream } from './forward.ts';
import type { RecordOp } from './records.ts';
import type { ResolverConfig } from './resolve.ts';
import type { DnsServerStats, ListenAddress } from './server.ts';
import type { ToWorker, WorkerInit } from './worker.ts';

export type WorkerKind = 'thread' | 'process';

export interface DnsWorkerInfo {
  /** Process id (a process) or thread id (a thread) of the running instance. */
  id: number;
  /** Times this worker has been started again after exiting. */
  restarts: number;
  /** Counters as last reported (within a second), since this instance started. */
  stats?: DnsServerStats;
}

export interface DnsWorkers {
  port: number;
  /** Queues a change for every worker (posted at the end of this turn). */
  push(op: RecordOp): void;
  /** Resolves once every running worker has applied every change pushed so far. */
  settled(): Promise<void>;
  /** The workers' counters, summed (as last reported, within a second). */
  stats(): DnsServerStats;
  /** Each worker's own counters, asked for now. */
  workers(): Promise<DnsWorkerInfo[]>;
  stop(): Promise<void>;
}

export interface DnsWorkersOptions {
  kind: WorkerKind;
  count: number;
  /** Threads: where to bind. Ignored for processes, which serve `sockets`. */
  listen: readonly ListenAddress[];
  /** Processes: the bound UDP sockets to share (the caller keeps serving its own copies). */
  sockets?: readonly Socket[];
  config: ResolverConfig;
  upstreams: readonly Upstream[];
  upstreamTimeoutMs?: number;
  log: (m: string) => void;
}

/** Counters added up (missing ones count as zero). */
export function sumStats(all: readonly (DnsServerStats | undefined)[]): DnsServerStats {
  const sum: DnsServerStats = { queries: { udp: 0, tcp: 0 }, rcodes: {}, replyCacheHits: 0, truncated: 0 };
  for (const st of all) {
    if (!st) continue;
    sum.queries.udp += st.queries.udp;
    sum.queries.tcp += st.queries.tcp;
    sum.replyCacheHits += st.replyCacheHits;
    sum.truncated += st.truncated;
    for (const [k, v] of Object.entries(st.rcodes)) sum.rcodes[k] = (sum.rcodes[k] ?? 0) + v;
  }
  return sum;
}

type FromWorker = { ready?: number; error?: string; stats?: DnsServerStats; applied?: number; stopped?: boolean };

/** One running instance: a thread or a process behind the same few calls. */
interface Instance {
  id: number;
  post(m: ToWorker, handle?: Socket): void;
  onMessage(cb: (m: FromWorker) => void): void;
  onExit(cb: (how: string) => void): void;
  kill(): void;
}

/**
 * The runtime's flags for a serving process: this process's, less those naming what it runs
 * (`-e`/`-p` and their code, --input-type) and node --test's, which would make the child run
 * that code or a test runner instead of worker.ts.
 */
export function servingProcessFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (['-e', '--eval', '-p', '--print', '-pe'].includes(a)) i++;
    else if (a.startsWith('--eval=') || a.startsWith('--print=') || a.startsWith('--input-type')) continue;
    else if (a.startsWith('--test')) {
      if (!a.includes('=') && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) i++;
    } else out.push(a);
  }
  return out;
}

const workerUrl = new URL('./worker.ts', import.meta.url);

function spawnInstance(kind: WorkerKind): Instance {
  if (kind === 'thread') {
    const w = new Worker(workerUrl);
    let lastError = '';
    w.on('error', (e) => (lastError = e.message));
    return {
      id: w.threadId,
      post: (m) => w.postMessage(m),
      onMessage: (cb) => w.on('message', cb),
      onExit: (cb) => w.once('exit', (code) => cb(`exit code ${code}${lastError ? `: ${lastError}` : ''}`)),
      kill: () => void w.terminate(),
    };
  }
  // structured clone over the channel: RecordOps carry whole API objects
  const child: ChildProcess = fork(workerUrl, [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: servingProcessFlags(process.execArgv),
  });
  return {
    id: child.pid ?? -1,
    post: (m, handle) => {
      if (child.connected) child.send(m, handle as never);
    },
    onMessage: (cb) => child.on('message', cb as (m: unknown) => void),
    onExit: (cb) => child.once('exit', (code, signal) => cb(signal ? `signal ${signal}` : `exit code ${code}`)),
    kill: () => void child.kill('SIGKILL'),
  };
}

interface Slot {
  inst: Instance;
  /** Serves TCP (the first thread); processes never do: the caller serves TCP. */
  tcp: boolean;
  restarts: number;
  startedAt: number;
  applied: number;
  stats?: DnsServerStats;
  /** An instance is started and not yet exited: it gets every batch. */
  alive: boolean;
  /** Callers waiting for its next stats report. */
  statsWaiters: (() => void)[];
}

export async function startDnsWorkers(o: DnsWorkersOptions): Promise<DnsWorkers> {
  const sockets = o.kind === 'process' ? [...(o.sockets ?? [])] : [];
  if (o.kind === 'process' && !sockets.length) throw new Error('dns: serving processes need the bound UDP sockets to share');
  const base = { config: o.config, upstreams: [...o.upstreams], upstreamTimeoutMs: o.upstreamTimeoutMs };
  // the latest op per object, replayed to a worker started after the informers' first events
  const state = new Map<string, RecordOp>();
  let synced = false;
  let seq = 0;
  let batch: RecordOp[] = [];
  let stopping = false;
  let port = o.kind === 'process' ? sockets[0]!.address().port : 0;
  const slots: Slot[] = [];
  const waiters = new Set<() => void>();
  const checkSettled = () => {
    if (slots.some((s) => s.alive && s.applied < seq)) return;
    // a waiter still behind its own target adds itself again
    const ws = [...waiters];
    waiters.clear();
    for (const w of ws) w();
  };

  /** Starts one instance for `slot` (or a new slot), resolving once it serves with the current records. */
  const launch = (slot: Slot | undefined, tcp: boolean): Promise<Slot> => {
    const inst = spawnInstance(o.kind);
    const s: Slot = slot ?? { inst, tcp, restarts: 0, startedAt: 0, applied: 0, alive: false, statsWaiters: [] };
    // in the pool from now on: batches flushed while it starts reach it after the replay below
    if (!slot) slots.push(s);
    s.inst = inst;
    s.startedAt = Date.now();
    s.stats = undefined;
    s.applied = 0;
    s.alive = true;
    const listen = o.kind === 'thread' ? o.listen.map((l) => ({ host: l.host, port: port || l.port })) : [];
    const init: WorkerInit = { ...base, listen, sockets: sockets.length, tcp: s.tcp };
    return new Promise<Slot>((resolve, reject) => {
      let ready = false;
      let failure = '';
      inst.onMessage((m) => {
        if (m.stats) {
          s.stats = m.stats;
          for (const w of s.statsWaiters.splice(0)) w();
        }
        if (m.applied !== undefined) {
          s.applied = m.applied;
          checkSettled();
        }
        if (m.ready !== undefined && !ready) {
          ready = true;
          port ||= m.ready;
          resolve(s);
        }
        if (m.error && !ready) {
          // it exits once killed: the exit handler rejects (first start) or retries (a restart)
          failure = m.error;
          inst.kill();
        }
      });
      inst.onExit((how) => {
        if (s.inst !== inst) return;
        s.alive = false;
        for (const w of s.statsWaiters.splice(0)) w();
        checkSettled();
        const starting = !ready;
        if (starting) {
          ready = true;
          reject(new Error(`dns: serving ${o.kind} ${inst.id} failed to start: ${failure || how}`));
        }
        // the pool's first start fails as a whole (the caller sees the error); later, a worker
        // that exits is started again, however it failed
        if (stopping || (starting && !slot)) return;
        const delay = Date.now() - s.startedAt > 30_000 ? 100 : Math.min(10_000, 100 * 2 ** Math.min(s.restarts, 7));
        o.log(`dns: serving ${o.kind} ${inst.id} ${starting ? `failed to start: ${failure || how}` : `exited (${how})`}; starting another in ${delay} ms`);
        setTimeout(() => {
          if (stopping) return;
          s.restarts++;
          launch(s, s.tcp).catch(() => {}); // its exit is logged and retried above
        }, delay).unref();
      });
      inst.post({ init });
      for (const sock of sockets) inst.post({ socket: true }, sock);
      // the records so far, then everything pushed since, in order: the ops of the current batch
      // reach it with the batch
      const replay = [...state.values()];
      if (synced) replay.push({ op: 'synced' });
      inst.post({ ops: replay, seq });
    });
  };

  const flush = () => {
    const ops = batch;
    batch = [];
    seq++;
    for (const s of slots) if (s.alive) s.inst.post({ ops, seq });
  };
  const keyOf = (op: RecordOp): string | undefined => {
    if (op.op === 'synced') return undefined;
    if (op.op === 'namespace') return `namespace/${op.name}`;
    return `${op.op}/${op.obj.metadata.namespace ?? ''}/${op.obj.metadata.name ?? ''}`;
  };

  try {
    for (let i = 0; i < o.count; i++) await launch(undefined, o.kind === 'thread' && i === 0);
  } catch (e) {
    stopping = true;
    for (const s of slots) s.inst.kill();
    throw e;
  }
  return {
    get port() {
      return port;
    },
    push(op) {
      if (!batch.length) setImmediate(flush);
      batch.push(op);
      const key = keyOf(op);
      if (op.op === 'synced') synced = true;
      else if (op.deleted) state.delete(key!);
      else state.set(key!, op);
    },
    settled() {
      // a batch still queued for this turn counts as pushed
      const target = batch.length ? seq + 1 : seq;
      return new Promise<void>((resolve) => {
        const check = () => (slots.some((s) => s.alive && s.applied < target) ? waiters.add(check) : resolve());
        check();
      });
    },
    stats: () => sumStats(slots.map((s) => s.stats)),
    async workers() {
      await Promise.all(
        slots
          .filter((s) => s.alive)
          .map(
            (s) =>
              new Promise<void>((resolve) => {
                const t = setTimeout(resolve, 1000);
                s.statsWaiters.push(() => {
                  clearTimeout(t);
                  resolve();
                });
                s.inst.post({ stats: true });
              }),
          ),
      );
      return slots.map((s) => ({ id: s.inst.id, restarts: s.restarts, stats: s.stats }));
    },
    async stop() {
      stopping = true;
      await Promise.all(
        slots.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (!s.alive) return resolve();
              // a worker that does not close its sockets within 5 s is killed
              const t = setTimeout(() => s.inst.kill(), 5000);
              s.inst.onExit(() => {
                clearTimeout(t);
                resolve();
              });
              s.inst.onMessage((m) => {
                if (m.stopped && o.kind === 'thread') s.inst.kill();
              });
              s.inst.post({ stop: true });
            }),
        ),
      );
    },
  };
}

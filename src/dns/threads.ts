// A pool of DNS serving threads (worker.ts) on one port: the first binds (and picks the port when
// asked for 0), the others join it with SO_REUSEPORT; the first also serves TCP. Record changes are
// batched per turn of the event loop and posted to every thread in order, so every store sees the
// same sequence.
import { Worker } from 'node:worker_threads';
import type { Upstream } from './forward.ts';
import type { RecordOp } from './records.ts';
import type { ResolverConfig } from './resolve.ts';
import type { DnsServerStats, ListenAddress } from './server.ts';
import type { WorkerInit } from './worker.ts';

export interface DnsThreads {
  port: number;
  /** Queues a change for every thread (posted at the end of this turn). */
  push(op: RecordOp): void;
  /** The threads' counters, summed (as last reported, within a second). */
  stats(): DnsServerStats;
  stop(): Promise<void>;
}

function startWorker(init: WorkerInit): Promise<{ worker: Worker; port: number; last: { stats?: DnsServerStats } }> {
  const worker = new Worker(new URL('./worker.ts', import.meta.url));
  const last: { stats?: DnsServerStats } = {};
  return new Promise((resolve, reject) => {
    worker.on('message', (m: { ready?: number; error?: string; stats?: DnsServerStats }) => {
      if (m.stats) last.stats = m.stats;
      if (m.ready !== undefined) resolve({ worker, port: m.ready, last });
      if (m.error) reject(new Error(m.error));
    });
    worker.once('error', reject);
    worker.postMessage({ init });
  });
}

export async function startDnsThreads(o: { threads: number; listen: readonly ListenAddress[]; config: ResolverConfig; upstreams: readonly Upstream[]; upstreamTimeoutMs?: number; log: (m: string) => void }): Promise<DnsThreads> {
  const base = { config: o.config, upstreams: [...o.upstreams], upstreamTimeoutMs: o.upstreamTimeoutMs };
  const first = await startWorker({ ...base, listen: [...o.listen], tcp: true });
  const workers = [first];
  try {
    for (let i = 1; i < o.threads; i++) workers.push(await startWorker({ ...base, listen: o.listen.map((l) => ({ host: l.host, port: first.port })), tcp: false }));
  } catch (e) {
    for (const w of workers) await w.worker.terminate();
    throw e;
  }
  for (const w of workers) w.worker.on('error', (e) => o.log(`dns: serving thread failed: ${e.message}`));
  let batch: RecordOp[] = [];
  const flush = () => {
    const ops = batch;
    batch = [];
    for (const w of workers) w.worker.postMessage({ ops });
  };
  return {
    port: first.port,
    push(op) {
      if (!batch.length) setImmediate(flush);
      batch.push(op);
    },
    stats() {
      const sum: DnsServerStats = { queries: { udp: 0, tcp: 0 }, rcodes: {}, replyCacheHits: 0, truncated: 0 };
      for (const w of workers) {
        const s = w.last.stats;
        if (!s) continue;
        sum.queries.udp += s.queries.udp;
        sum.queries.tcp += s.queries.tcp;
        sum.replyCacheHits += s.replyCacheHits;
        sum.truncated += s.truncated;
        for (const [k, v] of Object.entries(s.rcodes)) sum.rcodes[k] = (sum.rcodes[k] ?? 0) + v;
      }
      return sum;
    },
    async stop() {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              const done = () => resolve();
              w.worker.once('exit', done);
              w.worker.on('message', (m: { stopped?: boolean }) => {
                if (m.stopped) void w.worker.terminate().then(done, done);
              });
              w.worker.postMessage({ stop: true });
            }),
        ),
      );
    },
  };
}

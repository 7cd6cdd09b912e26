// One DNS serving worker, run as a thread (worker_threads) or as a child process (fork): its own
// record store (fed RecordOps by the pool, from the informers' thread), resolver, forwarder and
// server. A thread binds its own socket on the pool's port (SO_REUSEPORT); a process is handed the
// pool's bound UDP sockets over IPC and reads the same receive queues as its siblings.
// Protocol with the pool (workers.ts), in order on one channel:
//   in:  { init: WorkerInit }, then (processes) init.sockets messages { socket: true } each carrying
//        a bound dgram socket; { ops: RecordOp[], seq } in order; { stats: true }; { stop: true }
//   out: { ready: port } | { error: message }; { applied: seq } after each batch; { stats } every
//        second and when asked; { stopped: true, stats } once its sockets are closed
import type { Socket } from 'node:dgram';
import { flushCompileCache } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { Forwarder, type Upstream } from './forward.ts';
import { ClusterRecords, applyRecordOp, type RecordOp } from './records.ts';
import { Resolver, type ResolverConfig } from './resolve.ts';
import { DnsServer, type ListenAddress } from './server.ts';

export interface WorkerInit {
  /** Addresses to bind (threads); empty for a process, which serves the sockets it is handed. */
  listen: ListenAddress[];
  /** How many sockets follow the init message (processes). */
  sockets: number;
  config: ResolverConfig;
  upstreams: Upstream[];
  upstreamTimeoutMs?: number;
  tcp: boolean;
}

export type ToWorker = { init: WorkerInit } | { socket: true } | { ops: RecordOp[]; seq: number } | { stats: true } | { stop: true };

interface Channel {
  post(m: unknown): void;
  on(cb: (m: ToWorker, handle?: unknown) => void): void;
  close(): void;
}

function channel(): Channel {
  if (parentPort) {
    const port = parentPort;
    return { post: (m) => port.postMessage(m), on: (cb) => port.on('message', (m: ToWorker) => cb(m)), close: () => port.close() };
  }
  if (process.send) {
    // the pool owns this process: when its end of the channel goes (the pool stopped, or its
    // process died), nothing is left to feed the records, so stop serving at once
    process.on('disconnect', () => process.exit(0));
    return {
      post: (m) => {
        if (process.connected) process.send!(m);
      },
      on: (cb) => process.on('message', (m: ToWorker, handle?: unknown) => cb(m, handle)),
      close: () => process.disconnect(),
    };
  }
  throw new Error('worker.ts runs as a worker thread or a forked process');
}

const ch = channel();
const records = new ClusterRecords();
records.synced = false;
let init: WorkerInit | undefined;
const sockets: Socket[] = [];
let server: DnsServer | undefined;
let forwarder: Forwarder | undefined;
let statsTimer: NodeJS.Timeout | undefined;

function start(w: WorkerInit): void {
  forwarder = new Forwarder({ upstreams: w.upstreams, timeoutMs: w.upstreamTimeoutMs });
  server = new DnsServer({ listen: w.listen, sockets, resolver: new Resolver(records, w.config), forwarder, reusePort: true, tcp: w.tcp });
  server.start().then(
    (p) => {
      ch.post({ ready: p });
      // with the launcher's compile cache (NODE_COMPILE_CACHE), the next process started loads
      // these modules without the TypeScript stripper (~35 MB less resident); a process that is
      // killed never writes it at exit
      if (!parentPort) flushCompileCache();
      statsTimer = setInterval(() => ch.post({ stats: server!.stats }), 1000);
      statsTimer.unref();
    },
    (e: Error) => ch.post({ error: e.message }),
  );
}

ch.on((m, handle) => {
  if ('ops' in m) {
    for (const op of m.ops) applyRecordOp(records, op);
    ch.post({ applied: m.seq });
  } else if ('init' in m) {
    init = m.init;
    if (init.sockets === 0) start(init);
  } else if ('socket' in m) {
    sockets.push(handle as Socket);
    if (init && sockets.length === init.sockets) start(init);
  } else if ('stats' in m) {
    if (server) ch.post({ stats: server.stats });
  } else if ('stop' in m) {
    if (statsTimer) clearInterval(statsTimer);
    void (async () => {
      await server?.stop();
      forwarder?.close();
      ch.post({ stopped: true, stats: server?.stats });
      ch.close();
    })();
  }
});

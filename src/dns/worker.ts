// One DNS serving thread: its own record store (fed RecordOps by the thread running the informers),
// resolver, forwarder and server, sharing the port with its siblings (SO_REUSEPORT), so queries are
// answered on every core. Protocol with the pool (threads.ts):
//   in:  { init: WorkerInit }, then { ops: RecordOp[] } in order, { stop: true }
//   out: { ready: port } | { error: message }, { stats: DnsServerStats } every second, { stopped: true }
import { parentPort } from 'node:worker_threads';
import { Forwarder, type Upstream } from './forward.ts';
import { ClusterRecords, applyRecordOp, type RecordOp } from './records.ts';
import { Resolver, type ResolverConfig } from './resolve.ts';
import { DnsServer, type ListenAddress } from './server.ts';

export interface WorkerInit {
  listen: ListenAddress[];
  config: ResolverConfig;
  upstreams: Upstream[];
  upstreamTimeoutMs?: number;
  tcp: boolean;
}

const port = parentPort!;
const records = new ClusterRecords();
records.synced = false;
let server: DnsServer | undefined;
let forwarder: Forwarder | undefined;
let statsTimer: NodeJS.Timeout | undefined;

port.on('message', (m: { init?: WorkerInit; ops?: RecordOp[]; stop?: boolean }) => {
  if (m.ops) {
    for (const op of m.ops) applyRecordOp(records, op);
    return;
  }
  if (m.init) {
    const init = m.init;
    forwarder = new Forwarder({ upstreams: init.upstreams, timeoutMs: init.upstreamTimeoutMs });
    server = new DnsServer({ listen: init.listen, resolver: new Resolver(records, init.config), forwarder, reusePort: true, tcp: init.tcp });
    server.start().then(
      (p) => {
        port.postMessage({ ready: p });
        statsTimer = setInterval(() => port.postMessage({ stats: server!.stats }), 1000);
        statsTimer.unref();
      },
      (e: Error) => port.postMessage({ error: e.message }),
    );
    return;
  }
  if (m.stop) {
    if (statsTimer) clearInterval(statsTimer);
    void (async () => {
      await server?.stop();
      forwarder?.close();
      port.postMessage({ stopped: true, stats: server?.stats });
      port.close();
    })();
  }
});

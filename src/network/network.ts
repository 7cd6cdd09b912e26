// The pod network across nodes, host-gateway style, for one node (run by its agent):
// - a route to every other node's pod CIDR via that node's InternalIP, only when that address is
//   on a directly attached link (the kernel's own route lookup says so: no gateway, a real
//   device); kept as nodes come, go or change, and checked again every resync period;
// - pod traffic leaving the cluster CIDR is masqueraded (nft table `ip rudder-network`); pod to
//   pod traffic is never NATed;
// - the node itself can reach ClusterIPs: the agent black-holes the service CIDR (so a VIP
//   without a proxy rule dies here), but a black-holed destination fails at connect() before the
//   proxy's output DNAT could apply. A policy rule sends the service CIDR to its own table whose
//   route points at the loopback device: the output hook runs, the proxy DNATs, the packet is
//   routed again to the endpoint; a VIP without a rule goes nowhere. The blackhole stays in
//   place underneath, untouched.
// - forwarding is on, and bridged pod traffic passes through netfilter (br_netfilter), without
//   which a pod's reply to another pod on the same bridge would skip the proxy's un-DNAT.
//
// Everything is idempotent and reconciled against the kernel, not against memory: a restarted
// agent, or routes changed behind its back, converge on the next pass.
import type { Client } from '../client/client.ts';
import { realClock, type Clock, type Timer } from '../client/clock.ts';
import { SharedInformerFactory } from '../client/informer.ts';
import type { Node } from '../proxy/types.ts';
import { ensureSysctl, execRunner, mustRun, type Runner } from './exec.ts';
import { desiredRoutes, masqueradeScript, nodeRouteInfo, planRoutes, ROUTE_PROTOCOL, type KernelRoute, type RouteLookup } from './routes.ts';

export const MASQUERADE_TABLE = 'rudder-network';
/** The routing table and rule priority for the service CIDR's local route (before main, 32766). */
export const SERVICE_ROUTE_TABLE = '4243';
export const SERVICE_RULE_PRIORITY = '32000';

export interface NetworkOptions {
  client: Client;
  nodeName: string;
  /** The cluster (pod) CIDR(s), comma-separated or a list. */
  clusterCidr: string | readonly string[];
  /** The service CIDR(s). */
  serviceCidr: string | readonly string[];
  /** Runs `ip`, `nft` and sysctl writes (by default on this machine; tests enter a namespace). */
  run?: Runner;
  log?: (msg: string) => void;
  clock?: Clock;
  /** How often routes are checked against the kernel even without node changes (30 s). */
  resyncPeriodMs?: number;
  /** Install the service CIDR's local route for host-originated ClusterIP traffic (default true). */
  hostServiceRoute?: boolean;
  informers?: SharedInformerFactory;
}

export interface NetworkHandle {
  stop(): Promise<void>;
  /** Resolves after the first complete pass. */
  ready(): Promise<void>;
  /** Runs a pass now; resolves when it is done. */
  resync(): Promise<void>;
  /** Routes installed by the last pass, and those skipped because their gateway is not on a local link. */
  readonly status: { routes: Array<{ dst: string; via: string }>; skipped: Array<{ dst: string; via: string; node: string }>; passes: number; lastError?: string };
}

function cidrList(v: string | readonly string[]): string[] {
  return (typeof v === 'string' ? v.split(',') : [...v]).map((s) => s.trim()).filter(Boolean);
}

const v4 = (c: string) => c.includes('.');

async function currentRoutes(run: Runner): Promise<KernelRoute[]> {
  const out = await mustRun(run, 'ip', ['-j', 'route', 'show', 'proto', ROUTE_PROTOCOL]);
  return out.trim() ? (JSON.parse(out) as KernelRoute[]) : [];
}

async function lookup(run: Runner, addr: string): Promise<RouteLookup | undefined> {
  const r = await run('ip', ['-j', 'route', 'get', addr]);
  if (r.code !== 0) return undefined; // blackhole / unreachable / prohibit: not reachable
  const routes = JSON.parse(r.stdout || '[]') as RouteLookup[];
  return routes[0];
}

/** The rule and table routing the service CIDR to the loopback device (see the header). */
async function ensureServiceRoute(run: Runner, cidr: string, src: string | undefined): Promise<void> {
  const rules = JSON.parse((await mustRun(run, 'ip', ['-j', 'rule', 'show'])) || '[]') as Array<{ priority?: number; dst?: string; dstlen?: number; table?: string }>;
  const [net, len] = cidr.split('/');
  const present = rules.some((r) => String(r.priority) === SERVICE_RULE_PRIORITY && r.dst === net && String(r.dstlen) === len && r.table === SERVICE_ROUTE_TABLE);
  if (!present) await mustRun(run, 'ip', ['rule', 'add', 'to', cidr, 'lookup', SERVICE_ROUTE_TABLE, 'priority', SERVICE_RULE_PRIORITY]);
  await mustRun(run, 'ip', ['route', 'replace', cidr, 'dev', 'lo', 'table', SERVICE_ROUTE_TABLE, ...(src ? ['src', src] : [])]);
}

export function startNetwork(o: NetworkOptions): NetworkHandle {
  const run = o.run ?? execRunner();
  const log = (m: string) => (o.log ?? (() => {}))(`network: ${m}`);
  const clock = o.clock ?? realClock;
  const clusterCidrs = cidrList(o.clusterCidr).filter(v4);
  const serviceCidrs = cidrList(o.serviceCidr).filter(v4);
  const ownFactory = !o.informers;
  const informers = o.informers ?? new SharedInformerFactory(o.client, { clock, log });
  const nodes = informers.informerFor<Node>('', 'nodes');
  const status: NetworkHandle['status'] = { routes: [], skipped: [], passes: 0 };
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: Timer | undefined;
  let readyResolve!: () => void;
  const readyPromise = new Promise<void>((r) => (readyResolve = r));
  let setupDone = false;
  const skippedLogged = new Set<string>();

  const setup = async () => {
    await ensureSysctl(run, 'net/ipv4/ip_forward', '1');
    // br_netfilter may be absent (no bridge module): then there is nothing to enable
    if ((await run('test', ['-e', '/proc/sys/net/bridge/bridge-nf-call-iptables'])).code === 0) await ensureSysctl(run, 'net/bridge/bridge-nf-call-iptables', '1');
    const r = await run('nft', ['-f', '-'], masqueradeScript(MASQUERADE_TABLE, clusterCidrs));
    if (r.code !== 0) throw new Error(`nft (masquerade table): ${r.stderr.trim()}`);
  };

  const pass = async () => {
    if (!setupDone) {
      await setup();
      setupDone = true;
    }
    const infos = nodes.lister().list().map(nodeRouteInfo);
    const self = infos.find((n) => n.name === o.nodeName);
    if (o.hostServiceRoute !== false) for (const c of serviceCidrs) await ensureServiceRoute(run, c, self?.internalIPs[0]);
    const desired = desiredRoutes(infos, o.nodeName);
    const lookups = new Map<string, RouteLookup | undefined>();
    for (const via of new Set(desired.map((d) => d.via))) lookups.set(via, await lookup(run, via));
    const plan = planRoutes(desired, await currentRoutes(run), lookups);
    for (const r of plan.remove) {
      await mustRun(run, 'ip', ['route', 'del', r.dst, ...(r.gateway ? ['via', r.gateway] : []), 'proto', ROUTE_PROTOCOL]);
      log(`removed route ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`);
    }
    for (const r of plan.replace) {
      await mustRun(run, 'ip', ['route', 'replace', r.dst, 'via', r.via, 'dev', r.dev, 'proto', ROUTE_PROTOCOL]);
      log(`route ${r.dst} via ${r.via} dev ${r.dev}`);
    }
    for (const s of plan.skipped) {
      const k = `${s.dst} ${s.via}`;
      if (skippedLogged.has(k)) continue;
      skippedLogged.add(k);
      log(`not routing ${s.dst} (node ${s.node}) via ${s.via}: not on a local link`);
    }
    const skipped = new Set(plan.skipped.map((s) => s.dst));
    status.routes = desired.filter((d) => !skipped.has(d.dst)).map((d) => ({ dst: d.dst, via: d.via }));
    status.skipped = plan.skipped;
    status.passes++;
    status.lastError = undefined;
  };

  const kick = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          try {
            await pass();
            readyResolve();
          } catch (e) {
            status.lastError = (e as Error).message;
            log(`pass failed: ${(e as Error).message}`);
          }
        } while (again && !stopped);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const arm = () => {
    timer?.cancel();
    if (stopped) return;
    timer = clock.setTimeout(() => {
      void kick().then(arm);
    }, o.resyncPeriodMs ?? 30_000);
  };

  let synced = false;
  nodes.addEventHandler({
    onAdd: () => synced && void kick(),
    onUpdate: (a, b) => {
      if (!synced) return;
      const x = nodeRouteInfo(a);
      const y = nodeRouteInfo(b);
      if (JSON.stringify(x) !== JSON.stringify(y)) void kick();
    },
    onDelete: () => synced && void kick(),
  });
  informers.start();
  const abort = new AbortController();
  void (async () => {
    if (!(await nodes.waitForSync(abort.signal)) || stopped) return;
    synced = true;
    await kick();
    arm();
  })();

  return {
    status,
    ready: () => readyPromise,
    resync: () => kick(),
    async stop() {
      stopped = true;
      abort.abort();
      timer?.cancel();
      await running;
      if (ownFactory) informers.shutdown();
    },
  };
}

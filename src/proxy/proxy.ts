// The service proxy (kube-proxy, nftables mode) of one node: Services, EndpointSlices and this
// node's labels from the API, into the node's `ip kube-proxy` nftables table.
//
// Informer events only mark Services dirty and ask for a sync; a sync recomputes the dirty
// Services' rules (pure functions, rules.ts) and writes the difference. Nothing is written until
// both caches have synced, so a restart never programs a partial view. Rules stay in place when
// the proxy stops (traffic keeps flowing across a restart); cleanupProxyRules removes them.
import type { Client } from '../client/client.ts';
import { realClock, type Clock } from '../client/clock.ts';
import { SharedInformerFactory, type SharedInformer } from '../client/informer.ts';
import { ProxyEngine, type ProxySyncStats } from './engine.ts';
import { TABLE } from './model.ts';
import { runnerNft, type Nft } from './nft.ts';
import type { ProxyRulesConfig } from './rules.ts';
import { SyncRunner } from './sync-runner.ts';
import { LABEL_SERVICE_NAME, type EndpointSlice, type Node, type Service } from './types.ts';

export interface ProxyOptions {
  client: Client;
  /** This node's name (endpoints on it are local; its labels select topology). */
  nodeName: string;
  /** This node's addresses: NodePorts answer on the IPv4 ones. */
  nodeIPs: readonly string[];
  /** The cluster (pod) CIDR(s), comma-separated or a list: traffic from them is "local" (no masquerade). */
  clusterCidr?: string | readonly string[];
  /** The service CIDR(s): traffic to unallocated ClusterIPs is dropped. */
  serviceCidr: string | readonly string[];
  /** nft, by default the machine's (`nft -f -`). */
  nft?: Nft;
  log?: (msg: string) => void;
  clock?: Clock;
  /** Syncs happen at most once per this interval after a burst of two (upstream's --min-sync-period, 1 s). */
  minSyncPeriodMs?: number;
  /** The whole table is written again this often (1 h). */
  fullSyncPeriodMs?: number;
  /** Informers to share (the agent's); by default the proxy makes its own. */
  informers?: SharedInformerFactory;
}

export interface ProxyHandle {
  /** Stops syncing (the rules stay). */
  stop(): Promise<void>;
  /** Live counters. */
  readonly syncs: ProxySyncStats;
  /** Resolves after the first successful full sync. */
  ready(): Promise<void>;
  /** Asks for a sync now (tests; e.g. after changing the machine's tables behind the proxy's back). */
  syncNow(full?: boolean): void;
}

const SERVICE_INDEX = 'service';

function cidrList(v: string | readonly string[] | undefined): string[] {
  if (!v) return [];
  return (typeof v === 'string' ? v.split(',') : [...v]).map((s) => s.trim()).filter(Boolean);
}

function sliceServiceKey(s: EndpointSlice): string | undefined {
  const svc = s.metadata.labels?.[LABEL_SERVICE_NAME];
  return svc ? `${s.metadata.namespace}/${svc}` : undefined;
}

export function startProxy(o: ProxyOptions): ProxyHandle {
  const log = (m: string) => (o.log ?? (() => {}))(`proxy: ${m}`);
  const clock = o.clock ?? realClock;
  const nft = o.nft ?? runnerNft();
  const v4 = (c: string) => c.includes('.');
  const config: ProxyRulesConfig = {
    nodeName: o.nodeName,
    nodeIPs: o.nodeIPs.filter(v4),
    nodeLabels: {},
    clusterCidr: cidrList(o.clusterCidr).find(v4),
    serviceCidrs: cidrList(o.serviceCidr).filter(v4),
  };
  const engine = new ProxyEngine({ nft, config, clock, log });
  const ownFactory = !o.informers;
  const informers = o.informers ?? new SharedInformerFactory(o.client, { clock, log });
  const nodeInformers = new SharedInformerFactory(o.client, { clock, log, fieldSelector: `metadata.name=${o.nodeName}` });
  const services = informers.informerFor<Service>('', 'services');
  const slices = informers.informerFor<EndpointSlice>('discovery.k8s.io', 'endpointslices', {
    indexers: { [SERVICE_INDEX]: (s) => { const k = sliceServiceKey(s); return k ? [k] : []; } },
  });
  const nodes: SharedInformer<Node> = nodeInformers.informerFor<Node>('', 'nodes');

  const dirty = new Set<string>();
  let synced = false;
  let stopped = false;
  let retryMs = 1000;
  let readyResolve!: () => void;
  const readyPromise = new Promise<void>((r) => (readyResolve = r));
  let fullSyncTimer: { cancel(): void } | undefined;

  const armFullSync = () => {
    fullSyncTimer?.cancel();
    fullSyncTimer = clock.setTimeout(() => {
      engine.requestFullSync();
      runner.run();
      armFullSync();
    }, o.fullSyncPeriodMs ?? 3_600_000);
  };

  const sync = async (): Promise<void> => {
    if (!synced || stopped) return;
    for (const key of dirty) {
      const [ns, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      const svc = services.lister().namespace(ns).get(name);
      engine.updateService(key, svc ? { service: svc, slices: slices.indexer.byIndex(SERVICE_INDEX, key) } : undefined);
    }
    dirty.clear();
    try {
      const kind = await engine.sync();
      retryMs = 1000;
      if (kind === 'full') {
        log(`full sync: ${engine.stats.services} services, ${engine.stats.lastScriptBytes} bytes, ${engine.stats.lastFullSyncMs.toFixed(1)} ms`);
        readyResolve();
      }
    } catch (e) {
      log(`nftables sync failed, retrying in ${retryMs} ms: ${(e as Error).message}`);
      runner.runAfter(retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
    const next = engine.nextStaleDeletion();
    if (next !== undefined) runner.runAfter(next - clock.now());
  };
  const runner = new SyncRunner(sync, { minIntervalMs: o.minSyncPeriodMs ?? 1000, burst: 2, clock });

  const markAll = () => {
    for (const svc of services.lister().list()) dirty.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
    // and the ones the table still holds that may have gone while nobody looked
    for (const key of engine.serviceKeys()) dirty.add(key);
  };
  const touch = (key: string | undefined) => {
    if (!key) return;
    dirty.add(key);
    if (synced) runner.run();
  };
  services.addEventHandler({
    onAdd: (s) => touch(`${s.metadata.namespace}/${s.metadata.name}`),
    onUpdate: (_o, s) => touch(`${s.metadata.namespace}/${s.metadata.name}`),
    onDelete: (s) => touch(`${s.metadata.namespace}/${s.metadata.name}`),
  });
  slices.addEventHandler({
    onAdd: (s) => touch(sliceServiceKey(s)),
    onUpdate: (old, s) => {
      const a = sliceServiceKey(old);
      const b = sliceServiceKey(s);
      if (a !== b) touch(a);
      touch(b);
    },
    onDelete: (s) => touch(sliceServiceKey(s)),
  });
  const onNode = (n: Node | undefined) => {
    const labels = { ...(n?.metadata.labels ?? {}) };
    if (JSON.stringify(labels) === JSON.stringify(engine.rulesConfig.nodeLabels ?? {})) return;
    engine.setConfig({ ...engine.rulesConfig, nodeLabels: labels });
    markAll();
    if (synced) runner.run();
  };
  nodes.addEventHandler({ onAdd: (n) => onNode(n), onUpdate: (_o, n) => onNode(n), onDelete: () => onNode(undefined) });

  informers.start();
  nodeInformers.start();
  const abort = new AbortController();
  void (async () => {
    const ok = (await informers.waitForCacheSync(abort.signal)) && (await nodeInformers.waitForCacheSync(abort.signal));
    if (!ok || stopped) return;
    synced = true;
    markAll();
    engine.requestFullSync();
    runner.run();
    armFullSync();
  })();

  return {
    syncs: engine.stats,
    ready: () => readyPromise,
    syncNow(full) {
      if (full) engine.requestFullSync();
      runner.run();
    },
    async stop() {
      stopped = true;
      abort.abort();
      fullSyncTimer?.cancel();
      await runner.stop();
      nodeInformers.shutdown();
      if (ownFactory) informers.shutdown();
    },
  };
}

/** Removes the proxy's table (upstream's kube-proxy --cleanup). */
export async function cleanupProxyRules(nft: Nft = runnerNft(), table = TABLE): Promise<void> {
  if (await nft.listTable(table)) await nft.apply(`delete table ip ${table}\n`);
}

// NetworkPolicy enforcement on one node: NetworkPolicies, Pods and Namespaces from the API (and the
// kube-dns endpoints every pod may always reach), computed into this node's ruleset (rules.ts) and
// kept in the `inet rudder-netpol` table (nft.ts).
//
// Informer events only ask for a sync; a sync recomputes the whole ruleset (a pure function, cheap
// next to writing rules) and writes the difference. Pod updates that change nothing policies read
// (labels, IPs, node, phase, ports) do not ask. Nothing is written until every cache has synced,
// so a restart never programs a partial view; the rules stay when enforcement stops (pods keep their
// isolation across an agent restart); cleanupNetworkPolicyRules removes them.
import type { Client } from '../client/client.ts';
import { realClock, type Clock, type Timer } from '../client/clock.ts';
import { SharedInformerFactory } from '../client/informer.ts';
import { runnerNft } from '../proxy/nft.ts';
import { SyncRunner } from '../proxy/sync-runner.ts';
import type { AddrPort, Proto, Ruleset } from './model.ts';
import { NetpolApplier, type NftApply } from './nft.ts';
import { computeRuleset } from './rules.ts';
import type { Namespace, NetworkPolicy, Pod } from './types.ts';

export interface NetworkPolicyOptions {
  client: Client;
  nodeName: string;
  /** nft, by default the machine's (`nft -f -`). */
  nft?: NftApply;
  log?: (msg: string) => void;
  clock?: Clock;
  /** Syncs at most once per this interval after a burst of two (default 250 ms). */
  minSyncPeriodMs?: number;
  /** The whole table is written again this often (default 1 h). */
  fullSyncPeriodMs?: number;
  /** Informers to share (the agent's); by default it makes its own. */
  informers?: SharedInformerFactory;
}

export interface NetworkPolicyHandle {
  /** Resolves after the first successful full write. */
  ready(): Promise<void>;
  /** The ruleset last written. */
  current(): Ruleset | undefined;
  readonly stats: NetpolApplier['stats'];
  syncNow(full?: boolean): void;
  /** Stops syncing; the rules stay. */
  stop(): Promise<void>;
}

interface SliceLike {
  metadata: { labels?: Record<string, string> };
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
  ports?: { port?: number; protocol?: string }[] | null;
}

/** What of a pod policies read: a pod update that leaves this unchanged needs no sync. */
function podFingerprint(p: Pod): string {
  const ports = [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].flatMap((c) => (c.ports ?? []).map((x) => `${x.name}/${x.protocol}/${x.containerPort}`));
  return JSON.stringify([p.metadata.labels ?? {}, p.spec?.nodeName, p.spec?.hostNetwork, p.status?.phase, p.status?.podIPs ?? p.status?.podIP, ports]);
}

export function startNetworkPolicy(o: NetworkPolicyOptions): NetworkPolicyHandle {
  const log = (m: string) => (o.log ?? (() => {}))(`netpol: ${m}`);
  const clock = o.clock ?? realClock;
  const applier = new NetpolApplier(o.nft ?? runnerNft());
  const ownFactory = !o.informers;
  const informers = o.informers ?? new SharedInformerFactory(o.client, { clock, log });
  const dnsInformers = new SharedInformerFactory(o.client, { clock, log, namespace: 'kube-system', labelSelector: 'kubernetes.io/service-name=kube-dns' });
  const policies = informers.informerFor<NetworkPolicy>('networking.k8s.io', 'networkpolicies');
  const pods = informers.informerFor<Pod>('', 'pods');
  const namespaces = informers.informerFor<Namespace>('', 'namespaces');
  const dnsSlices = dnsInformers.informerFor<SliceLike & Pod>('discovery.k8s.io', 'endpointslices');

  let synced = false;
  let stopped = false;
  let retryMs = 1000;
  let current: Ruleset | undefined;
  let readyResolve!: () => void;
  const readyPromise = new Promise<void>((r) => (readyResolve = r));
  let fullTimer: Timer | undefined;

  const alwaysAllowed = (): AddrPort[] => {
    const out: AddrPort[] = [];
    for (const s of dnsSlices.indexer.list() as SliceLike[]) {
      const ports = (s.ports ?? []).filter((p) => p.port === 53);
      for (const ep of s.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        for (const ip of ep.addresses ?? []) for (const p of ports) out.push({ ip, proto: (p.protocol ?? 'TCP').toLowerCase() as Proto, port: 53 });
      }
    }
    return out;
  };

  const sync = async (): Promise<void> => {
    if (!synced || stopped) return;
    const next = computeRuleset({
      policies: policies.indexer.list(),
      pods: pods.indexer.list(),
      namespaces: namespaces.indexer.list(),
      nodeName: o.nodeName,
      alwaysAllowed: alwaysAllowed(),
    });
    try {
      const kind = await applier.apply(next);
      current = next;
      retryMs = 1000;
      if (kind === 'full') {
        log(`wrote table: ${next.chains.size} chains, ${next.sets.size} sets (${applier.stats.lastScriptBytes} bytes, ${applier.stats.lastMs.toFixed(1)} ms)`);
        readyResolve();
      }
    } catch (e) {
      log(`nftables sync failed, retrying in ${retryMs} ms: ${(e as Error).message}`);
      runner.runAfter(retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  };
  const runner = new SyncRunner(sync, { minIntervalMs: o.minSyncPeriodMs ?? 250, burst: 2, clock });
  const poke = () => {
    if (synced) runner.run();
  };
  for (const inf of [policies, namespaces, dnsSlices] as const) inf.addEventHandler({ onAdd: poke, onUpdate: poke, onDelete: poke });
  pods.addEventHandler({
    onAdd: poke,
    onUpdate: (a, b) => {
      if (podFingerprint(a) !== podFingerprint(b)) poke();
    },
    onDelete: poke,
  });

  const armFullSync = () => {
    fullTimer?.cancel();
    fullTimer = clock.setTimeout(() => {
      applier.invalidate();
      runner.run();
      armFullSync();
    }, o.fullSyncPeriodMs ?? 3_600_000);
  };

  informers.start();
  dnsInformers.start();
  const abort = new AbortController();
  void (async () => {
    const ok = (await informers.waitForCacheSync(abort.signal)) && (await dnsInformers.waitForCacheSync(abort.signal));
    if (!ok || stopped) return;
    synced = true;
    runner.run();
    armFullSync();
  })();

  return {
    ready: () => readyPromise,
    current: () => current,
    stats: applier.stats,
    syncNow(full) {
      if (full) applier.invalidate();
      runner.run();
    },
    async stop() {
      stopped = true;
      abort.abort();
      fullTimer?.cancel();
      await runner.stop();
      dnsInformers.shutdown();
      if (ownFactory) informers.shutdown();
    },
  };
}

/** Removes the enforcement table (every pod unisolated). */
export async function cleanupNetworkPolicyRules(nft: NftApply = runnerNft()): Promise<void> {
  await new NetpolApplier(nft).cleanup();
}

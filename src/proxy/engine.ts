// The proxier's core without the API: Services in, nftables transactions out. Callers hand it
// Services as they change (updateService); sync() then writes either the difference since the
// last successful write (a partial sync) or, at start, after a failure, after a node change and
// periodically, the whole table (a full sync).
//
// Chains nothing uses any more are flushed at once and deleted by a later transaction at least a
// second on: kernels before 6.2 notice only after a moment that a map element pointing at a chain
// is gone, and refuse the delete until then (upstream does the same).
import { realClock, type Clock } from '../client/clock.ts';
import { TABLE, type Contribution } from './model.ts';
import type { Nft } from './nft.ts';
import { renderDelta, renderDeleteChains, renderFullSync } from './nft-script.ts';
import { baseRuleset, serviceContribution, type ProxyRulesConfig, type ServiceInput } from './rules.ts';
import { emptyDelta, RulesetState } from './state.ts';

export const STALE_CHAIN_DELETE_DELAY_MS = 1000;

export interface ProxySyncStats {
  fullSyncs: number;
  partialSyncs: number;
  failures: number;
  /** Wall time of the last full / partial sync (computing, writing and nft), ms. */
  lastFullSyncMs: number;
  lastPartialSyncMs: number;
  /** Size of the last transaction written, bytes. */
  lastScriptBytes: number;
  /** Services the table holds rules for. */
  services: number;
  lastError?: string;
}

export interface ProxyEngineOptions {
  nft: Nft;
  config: ProxyRulesConfig;
  table?: string;
  clock?: Clock;
  log?: (msg: string) => void;
}

export class ProxyEngine {
  readonly stats: ProxySyncStats = { fullSyncs: 0, partialSyncs: 0, failures: 0, lastFullSyncMs: 0, lastPartialSyncMs: 0, lastScriptBytes: 0, services: 0 };
  private readonly nft: Nft;
  private readonly table: string;
  private readonly clock: Clock;
  private readonly log: (msg: string) => void;
  private config: ProxyRulesConfig;
  private state = new RulesetState();
  /** chain → when it went stale */
  private readonly staleChains = new Map<string, number>();
  private needFullSync = true;
  private baseChainsRecreated = false;

  constructor(o: ProxyEngineOptions) {
    this.nft = o.nft;
    this.config = o.config;
    this.table = o.table ?? TABLE;
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? (() => {});
  }

  get rulesConfig(): ProxyRulesConfig {
    return this.config;
  }

  /**
   * New node facts (addresses, labels): every Service's rules are computed again by the caller
   * (updateService for each) and the next sync is a full one.
   */
  setConfig(cfg: ProxyRulesConfig): void {
    this.config = cfg;
    this.needFullSync = true;
  }

  /** One Service changed (or, with undefined, is gone). Cheap: the table is written by sync(). */
  updateService(key: string, input: ServiceInput | undefined): void {
    const c: Contribution | undefined = input ? serviceContribution(input, this.config) : undefined;
    // While a full sync is due, changes need not be tracked: the whole state is written anyway.
    this.state.update(key, c && (c.chains.length || c.elements.length) ? c : undefined, !this.needFullSync);
    this.stats.services = this.state.serviceCount;
  }

  /** The Services the state holds rules for. */
  serviceKeys(): string[] {
    return [...this.state.owners()];
  }

  /** Forces the next sync to write the whole table. */
  requestFullSync(): void {
    this.needFullSync = true;
  }

  get fullSyncPending(): boolean {
    return this.needFullSync;
  }

  /** The earliest time a stale chain may be deleted (undefined: none pending). */
  nextStaleDeletion(): number | undefined {
    let min: number | undefined;
    for (const t of this.staleChains.values()) if (min === undefined || t < min) min = t;
    return min === undefined ? undefined : min + STALE_CHAIN_DELETE_DELAY_MS;
  }

  /**
   * Writes the table: full when one is due, otherwise the changes since the last sync. A failure
   * makes the next sync a full one (the changes written out are lost from the state's delta).
   */
  async sync(): Promise<'full' | 'partial' | 'none'> {
    const start = performance.now();
    const full = this.needFullSync;
    try {
      await this.deleteStaleChains();
      if (full) await this.fullSync();
      else if (!(await this.partialSync())) return 'none';
      const ms = performance.now() - start;
      if (full) {
        this.stats.fullSyncs++;
        this.stats.lastFullSyncMs = ms;
      } else {
        this.stats.partialSyncs++;
        this.stats.lastPartialSyncMs = ms;
      }
      this.stats.lastError = undefined;
      return full ? 'full' : 'partial';
    } catch (e) {
      this.needFullSync = true;
      this.stats.failures++;
      this.stats.lastError = (e as Error).message;
      throw e;
    }
  }

  private async fullSync(): Promise<void> {
    const existing = await this.nft.listTable(this.table);
    const base = baseRuleset(this.config);
    const baseElements = new Map<string, Map<string, string>>();
    for (const [c, k, v] of base.elements) {
      let m = baseElements.get(c);
      if (!m) baseElements.set(c, (m = new Map()));
      m.set(k, v);
    }
    // The static sets' elements come from the node (nodeport-ips), the others from Services.
    const elements = [...baseElements, ...[...this.state.allElements()].filter(([c]) => !baseElements.has(c))];
    const { script, staleChains } = renderFullSync({
      table: this.table,
      chains: [...base.chains, ...this.state.allChains().values()],
      staticSets: base.sets,
      dynamicSets: this.state.allSets().values(),
      elements,
      existing,
      recreateBaseChains: !this.baseChainsRecreated && existing !== undefined,
    });
    this.stats.lastScriptBytes = script.length;
    await this.nft.apply(script);
    this.baseChainsRecreated = true;
    this.needFullSync = false;
    this.state.markWritten();
    const now = this.clock.now();
    const stale = new Set(staleChains);
    for (const name of [...this.staleChains.keys()]) if (!stale.has(name)) this.staleChains.delete(name);
    for (const name of staleChains) if (!this.staleChains.has(name)) this.staleChains.set(name, now);
  }

  /** Answers whether anything was written. */
  private async partialSync(): Promise<boolean> {
    const d = this.state.takeDelta();
    if (emptyDelta(d)) return false;
    const script = renderDelta(this.table, d);
    this.stats.lastScriptBytes = script.length;
    await this.nft.apply(script);
    const now = this.clock.now();
    for (const name of d.chainsAdded.keys()) this.staleChains.delete(name);
    for (const name of d.chainsRemoved) this.staleChains.set(name, now);
    return true;
  }

  private async deleteStaleChains(): Promise<void> {
    const due = this.clock.now() - STALE_CHAIN_DELETE_DELAY_MS;
    const chains = [...this.staleChains].filter(([, t]) => t <= due).map(([c]) => c);
    if (!chains.length) return;
    for (const c of chains) this.staleChains.delete(c);
    try {
      await this.nft.apply(renderDeleteChains(this.table, chains));
      this.log(`deleted ${chains.length} stale nftables chains`);
    } catch (e) {
      // Still there: the next full sync finds and flushes them again.
      this.log(`unable to delete stale chains; will retry later: ${(e as Error).message}`);
    }
  }
}

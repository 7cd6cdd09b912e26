// Aggregated ClusterRoles, as upstream's clusterrole-aggregation controller: a ClusterRole with an
// aggregationRule has as rules the union (in name order, duplicates dropped) of the rules of every
// other ClusterRole its selectors match. Any ClusterRole change re-evaluates every aggregated one.
//
// The controller here runs inside the API server over the watch cache and writes through the
// registry (as the server's own bookkeeping), so admin/edit/view follow the roles labelled
// aggregate-to-* without a controller-manager.
import { labelSelectorAsSelector, matchesLabels, type LabelSelectorJSON } from '../../api/labels.ts';
import type { KObject } from '../../api/meta.ts';
import type { CacheWatcher } from '../cache.ts';
import type { Registry } from '../registry.ts';
import { RBAC_GROUP } from './rbac.ts';
import type { PolicyRule } from './rbac-rules.ts';

export const AGGREGATION_FIELD_MANAGER = 'clusterrole-aggregation-controller';
const SYSTEM = { name: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] };

type ClusterRole = KObject & { rules?: PolicyRule[]; aggregationRule?: { clusterRoleSelectors?: LabelSelectorJSON[] } };

/** A rule's identity under upstream's semantic equality (nil and empty lists are equal). */
export function ruleIdentity(r: PolicyRule): string {
  const norm = (xs: string[] | undefined) => (xs && xs.length ? xs : undefined);
  return JSON.stringify([norm(r.verbs), norm(r.apiGroups), norm(r.resources), norm(r.resourceNames), norm(r.nonResourceURLs)]);
}

export function rulesEqual(a: readonly PolicyRule[] | undefined, b: readonly PolicyRule[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (ruleIdentity(x[i]!) !== ruleIdentity(y[i]!)) return false;
  return true;
}

/**
 * The rules an aggregated ClusterRole should have given every ClusterRole, or undefined when the
 * role has no aggregationRule. Selectors are visited in order; each one's matches in name order.
 */
export function aggregatedRules(role: KObject, all: readonly KObject[]): PolicyRule[] | undefined {
  const agg = (role as ClusterRole).aggregationRule;
  if (!agg) return undefined;
  const out: PolicyRule[] = [];
  const seen = new Set<string>();
  const sorted = [...all].sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0));
  for (const sel of agg.clusterRoleSelectors ?? []) {
    let selector;
    try {
      selector = labelSelectorAsSelector(sel);
    } catch {
      continue; // an invalid selector matches nothing (validation refuses new ones)
    }
    for (const other of sorted) {
      if (other.metadata.name === role.metadata.name) continue;
      if (!matchesLabels(selector, other.metadata.labels)) continue;
      for (const r of (other as ClusterRole).rules ?? []) {
        const id = ruleIdentity(r);
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(r);
      }
    }
  }
  return out;
}

/**
 * Brings every aggregated ClusterRole's rules up to date; returns how many writes it made.
 * Aggregated roles may aggregate each other (view into edit into admin), so passes repeat, each
 * over the cache brought up to the store, until one changes nothing.
 */
export async function syncAggregatedClusterRoles(reg: Registry): Promise<number> {
  const r = reg.must(RBAC_GROUP, 'clusterroles');
  let written = 0;
  for (let pass = 0; pass < 10; pass++) {
    await reg.watchCache.sync();
    const all = r.cache.list(undefined).map((e) => e.obj);
    let changed = 0;
    for (const role of all) {
      const want = aggregatedRules(role, all);
      if (!want || rulesEqual(want, (role as ClusterRole).rules)) continue;
      try {
        await r.guaranteedUpdate(
          '',
          role.metadata.name!,
          (cur) => {
            (cur as ClusterRole).rules = structuredClone(want);
            return cur;
          },
          { user: SYSTEM, fieldManager: AGGREGATION_FIELD_MANAGER },
        );
        changed++;
      } catch (e) {
        // A role deleted meanwhile needs nothing; anything else is retried on the next change.
        if ((e as { code?: number }).code !== 404) throw e;
      }
    }
    written += changed;
    if (changed === 0) break;
  }
  return written;
}

export interface ClusterRoleAggregator {
  /** Resolves once no sync is running or pending. */
  idle(): Promise<void>;
  stop(): void;
}

/**
 * Runs the aggregation after every ClusterRole change (coalesced: changes during a sync cause one
 * more sync). Errors go to `log` and are retried on the next change.
 */
export function startClusterRoleAggregation(reg: Registry, log: (msg: string) => void = () => {}): ClusterRoleAggregator {
  const cache = reg.must(RBAC_GROUP, 'clusterroles').cache;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      await null; // never sync inside the cache's event delivery
      do {
        again = false;
        try {
          await syncAggregatedClusterRoles(reg);
        } catch (e) {
          log(`clusterrole aggregation: ${(e as Error).message}`);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
  };
  const w: CacheWatcher = { onEvent: () => run() };
  cache.watchers.add(w);
  run();
  return {
    async idle() {
      while (running) await running;
    },
    stop() {
      stopped = true;
      cache.watchers.delete(w);
    },
  };
}

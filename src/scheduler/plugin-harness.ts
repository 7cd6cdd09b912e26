// Runs single plugins the way the framework does, for the plugins' table tests: PreFilter then
// Filter on every node, PreScore then Score and NormalizeScore over the nodes.

import { CycleState } from './framework/cycle-state.ts';
import type { FilterPlugin, Handle, PreFilterPlugin, PreScorePlugin, ScorePlugin } from './framework/interfaces.ts';
import type { NodeInfo } from './nodeinfo.ts';
import { podInfoOf } from './podinfo.ts';
import { Code, isSkip, isSuccess, Status, type MaybeStatus } from './status.ts';
import type { Pod } from './types.ts';

export interface FilterOutcome {
  code: keyof typeof Code;
  reasons: string[];
}

const NAMES = Object.fromEntries(Object.entries(Code).map(([k, v]) => [v, k])) as Record<number, keyof typeof Code>;

function outcome(s: MaybeStatus): FilterOutcome {
  return s ? { code: NAMES[s.code]!, reasons: s.reasons } : { code: 'Success', reasons: [] };
}

/** PreFilter (when the plugin has one) then Filter per node: node name → outcome. A PreFilter rejection applies to every node. */
export function runFilter(pl: FilterPlugin & Partial<PreFilterPlugin>, handle: Handle, pod: Pod): Record<string, FilterOutcome> {
  const state = new CycleState();
  const pi = podInfoOf(pod);
  const nodes = handle.snapshot().list();
  const out: Record<string, FilterOutcome> = {};
  if (pl.preFilter) {
    const r = pl.preFilter(state, pi, nodes);
    const s = r instanceof Status || r == null ? r : r.status;
    if (isSkip(s)) {
      for (const n of nodes) out[n.name] = { code: 'Success', reasons: [] };
      return out;
    }
    if (!isSuccess(s)) {
      for (const n of nodes) out[n.name] = outcome(s);
      return out;
    }
  }
  for (const n of nodes) out[n.name] = outcome(pl.filter(state, pi, n));
  return out;
}

/** PreScore (when present), Score and NormalizeScore over the given nodes (default: all): node → score. Skip yields an empty map. */
export function runScore(pl: ScorePlugin & Partial<PreScorePlugin> & Partial<PreFilterPlugin>, handle: Handle, pod: Pod, only?: readonly NodeInfo[]): Record<string, number> {
  const state = new CycleState();
  const pi = podInfoOf(pod);
  const nodes = only ?? handle.snapshot().list();
  if (pl.preScore) {
    const s = pl.preScore(state, pi, nodes);
    if (isSkip(s)) return {};
    if (!isSuccess(s)) throw new Error(`preScore: ${s}`);
  }
  const scores = nodes.map((n) => pl.score(state, pi, n));
  if (pl.normalizeScore) {
    const s = pl.normalizeScore(state, pi, nodes, scores);
    if (!isSuccess(s)) throw new Error(`normalize: ${s}`);
  }
  return Object.fromEntries(nodes.map((n, i) => [n.name, scores[i]!]));
}

export const ok: FilterOutcome = { code: 'Success', reasons: [] };
export const unschedulable = (...reasons: string[]): FilterOutcome => ({ code: 'Unschedulable', reasons });
export const unresolvable = (...reasons: string[]): FilterOutcome => ({ code: 'UnschedulableAndUnresolvable', reasons });

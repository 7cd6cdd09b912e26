// Taints and tolerations as upstream's core/v1 helpers and taint utilities define them, plus the
// node-controller's taint writes (upstream's SwapNodeControllerTaint: add and remove in one
// update of the node, every added taint stamped with timeAdded, retried on conflict).
import type { KObject } from '../../api/meta.ts';
import type { Client } from '../../client/client.ts';
import { isConflict, isNotFound } from '../cluster/errors.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
export const NOT_READY_NO_EXECUTE: Taint = { key: TAINT_NOT_READY, effect: 'NoExecute' };

/** Node condition → status → the NoSchedule taint key it implies (upstream's nodeConditionToTaintKeyStatusMap). */
export const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
};
const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

export function taintsOf(node: KObject): Taint[] {
  return ((node.spec as { taints?: Taint[] } | undefined)?.taints ?? []) as Taint[];
}

export function tolerationsOf(pod: KObject): Toleration[] {
  return ((pod.spec as { tolerations?: Toleration[] } | undefined)?.tolerations ?? []) as Toleration[];
}

/** Same key and effect (upstream's Taint.MatchTaint). */
export function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

export function taintExists(taints: readonly Taint[], t: Taint): boolean {
  return taints.some((x) => sameTaint(x, t));
}

/** upstream's Toleration.ToleratesTaint. */
export function toleratesTaint(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  switch (tol.operator ?? '') {
    case '':
    case 'Equal':
      return (tol.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/**
 * upstream's GetMatchingTolerations: whether every taint is tolerated, and for each taint the
 * first toleration that does.
 */
export function matchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[]): { all: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const t of taints) {
    const tol = tolerations.find((x) => toleratesTaint(x, t));
    if (!tol) return { all: false, used: [] };
    used.push(tol);
  }
  return { all: true, used };
}

/**
 * upstream's getMinTolerationTime in ms: 0 when there are no tolerations or one allows no time,
 * -1 when every one tolerates forever, else the smallest tolerationSeconds.
 */
export function minTolerationMs(tolerations: readonly Toleration[]): number {
  if (tolerations.length === 0) return 0;
  let min = Infinity;
  for (const t of tolerations) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}

/** The NoSchedule taints a node's conditions (and spec.unschedulable) imply. */
export function conditionTaints(node: KObject): Taint[] {
  const out: Taint[] = [];
  for (const c of ((node.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [])) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) out.push({ key, effect: 'NoSchedule' });
  }
  if ((node.spec as { unschedulable?: boolean } | undefined)?.unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  return out;
}

/** The controller-managed NoSchedule taints a node has now. */
export function managedNoScheduleTaints(node: KObject): Taint[] {
  return taintsOf(node).filter((t) => t.effect === 'NoSchedule' && (t.key === TAINT_UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key)));
}

/** upstream's TaintSetDiff: taints to add (in want, not in have) and to remove (in have, not in want). */
export function taintSetDiff(want: readonly Taint[], have: readonly Taint[]): { add: Taint[]; remove: Taint[] } {
  return { add: want.filter((t) => !taintExists(have, t)), remove: have.filter((t) => !taintExists(want, t)) };
}

/** The node's taints after removing `remove` and adding (or refreshing) `add`; undefined when unchanged. */
export function applyTaints(current: readonly Taint[], add: readonly Taint[], remove: readonly Taint[], now: string): Taint[] | undefined {
  let changed = false;
  let next = current.filter((t) => {
    const drop = remove.some((r) => sameTaint(r, t));
    if (drop) changed = true;
    return !drop;
  });
  for (const a of add) {
    const existing = next.find((t) => sameTaint(t, a));
    if (existing && (existing.value ?? '') === (a.value ?? '')) continue;
    next = next.filter((t) => !sameTaint(t, a));
    next.push({ ...a, timeAdded: now });
    changed = true;
  }
  return changed ? next : undefined;
}

/**
 * Adds and removes taints on a node by update with optimistic concurrency, re-reading the node
 * on conflict (up to 5 attempts). Answers false when the node is gone.
 */
export async function swapNodeTaints(client: Client, cached: KObject | undefined, name: string, add: readonly Taint[], remove: readonly Taint[], now: () => string): Promise<boolean> {
  const nodes = client.resource('', 'nodes');
  let node = cached;
  for (let attempt = 0; ; attempt++) {
    try {
      if (!node) node = await nodes.get(name);
      const next = applyTaints(taintsOf(node), add, remove, now());
      if (!next) return true;
      const obj = structuredClone(node) as KObject;
      const spec = (obj.spec ?? {}) as { taints?: Taint[] };
      if (next.length) spec.taints = next;
      else delete spec.taints;
      obj.spec = spec;
      await nodes.update(obj);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      if (!isConflict(e) || attempt >= 4) throw e;
      node = undefined;
    }
  }
}

// Which nodes a pod may run on, as the DaemonSet controller decides it before the scheduler
// sees the pod: the pod's nodeSelector and required node affinity (upstream's
// nodeaffinity.GetRequiredNodeAffinity), and taints against tolerations (v1helper).
import type { KObject } from '../../api/meta.ts';
import type { Json } from './pods.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

function matchesRequirement(req: Json, value: string | undefined, present: boolean): boolean {
  const values: string[] = Array.isArray(req?.values) ? req.values : [];
  switch (req?.operator) {
    case 'In':
      return present && values.includes(value!);
    case 'NotIn':
      return !present || !values.includes(value!);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'Gt':
    case 'Lt': {
      if (!present || values.length !== 1) return false;
      const a = Number.parseInt(value!, 10);
      const b = Number.parseInt(values[0]!, 10);
      if (!/^-?\d+$/.test(value!) || !/^-?\d+$/.test(values[0]!)) return false;
      return req.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** One NodeSelectorTerm: every expression on labels and every field requirement (metadata.name); an empty term matches nothing. */
export function nodeSelectorTermMatches(term: Json, node: KObject): boolean {
  const exprs: Json[] = Array.isArray(term?.matchExpressions) ? term.matchExpressions : [];
  const fields: Json[] = Array.isArray(term?.matchFields) ? term.matchFields : [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const e of exprs) if (!matchesRequirement(e, labels[e?.key], Object.hasOwn(labels, e?.key))) return false;
  for (const f of fields) {
    if (f?.key !== 'metadata.name') return false;
    if (!matchesRequirement(f, node.metadata.name, true)) return false;
  }
  return true;
}

/** The pod's nodeSelector and required node affinity both hold for the node. */
export function podFitsNodeAffinity(podSpec: Json, node: KObject): boolean {
  const labels = node.metadata.labels ?? {};
  const sel: Record<string, string> = podSpec?.nodeSelector ?? {};
  for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) return false;
  const required = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const terms: Json[] = Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms : [];
    if (!terms.some((t) => nodeSelectorTermMatches(t, node))) return false;
  }
  return true;
}

/** upstream's Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator || 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/** The first taint (among those `filter` keeps) no toleration tolerates (v1helper.FindMatchingUntoleratedTaint). */
export function findUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], filter: (t: Taint) => boolean): Taint | undefined {
  for (const taint of taints) {
    if (!filter(taint)) continue;
    if (!tolerations.some((t) => toleratesTaint(t, taint))) return taint;
  }
  return undefined;
}

// Node selectors and taints, with upstream's matching rules (component-helpers'
// nodeaffinity and core/v1/helper): compiled once per pod so that the per-node check is a walk
// over prepared requirements.

import { newRequirement, requirementMatches, type Requirement } from '../api/labels.ts';
import type { Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm, Taint, Toleration } from './types.ts';

const NODE_OPERATORS: Record<string, string> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!', Gt: 'gt', Lt: 'lt' };

interface FieldRequirement {
  readonly op: 'in' | 'notin';
  readonly value: string;
}

/** One parsed NodeSelectorTerm. A term that failed to parse never matches (upstream ignores it). */
export interface CompiledTerm {
  readonly labels: readonly Requirement[] | null;
  readonly fields: readonly FieldRequirement[] | null;
  readonly invalid: boolean;
}

function compileLabelRequirement(r: NodeSelectorRequirement): Requirement | undefined {
  const op = NODE_OPERATORS[r.operator];
  if (!op) return undefined;
  const values = r.values ?? [];
  if ((op === 'gt' || op === 'lt') && (values.length !== 1 || !/^[+-]?[0-9]+$/.test(values[0]!))) return undefined;
  try {
    return newRequirement(r.key, op, values);
  } catch {
    return undefined;
  }
}

export function compileTerm(t: NodeSelectorTerm): CompiledTerm {
  let invalid = false;
  let labels: Requirement[] | null = null;
  let fields: FieldRequirement[] | null = null;
  if (t.matchExpressions?.length) {
    labels = [];
    for (const r of t.matchExpressions) {
      const req = compileLabelRequirement(r);
      if (!req) invalid = true;
      else labels.push(req);
    }
  }
  if (t.matchFields?.length) {
    fields = [];
    for (const r of t.matchFields) {
      const values = r.values ?? [];
      if (r.key !== 'metadata.name' || (r.operator !== 'In' && r.operator !== 'NotIn') || values.length !== 1) invalid = true;
      else fields.push({ op: r.operator === 'In' ? 'in' : 'notin', value: values[0]! });
    }
  }
  return { labels, fields, invalid };
}

function isEmptyTerm(t: NodeSelectorTerm): boolean {
  return !t.matchExpressions?.length && !t.matchFields?.length;
}

/** upstream's nodeSelectorTerm.match: every expression and every field requirement holds. */
export function termMatches(t: CompiledTerm, node: Node): boolean {
  if (t.invalid) return false;
  if (!t.labels && !t.fields) return false;
  const labels = node.metadata.labels;
  if (t.labels) for (const r of t.labels) if (!requirementMatches(r, labels)) return false;
  if (t.fields) {
    const name = node.metadata.name ?? '';
    // upstream skips field requirements for a node without a name (no fields to match against)
    if (name) for (const f of t.fields) if ((f.op === 'in') !== (name === f.value)) return false;
  }
  return true;
}

/** A compiled NodeSelector: the terms are ORed; empty terms select nothing. */
export interface CompiledNodeSelector {
  readonly terms: readonly CompiledTerm[];
}

export function compileNodeSelector(ns: NodeSelector): CompiledNodeSelector {
  return { terms: (ns.nodeSelectorTerms ?? []).filter((t) => !isEmptyTerm(t)).map(compileTerm) };
}

export function nodeSelectorMatches(s: CompiledNodeSelector, node: Node): boolean {
  for (const t of s.terms) if (termMatches(t, node)) return true;
  return false;
}

/**
 * A pod's hard node constraints: spec.nodeSelector AND the required node affinity (upstream's
 * RequiredNodeAffinity). `matchesAll` is true when the pod has neither.
 */
export class RequiredNodeAffinity {
  readonly selector: readonly Requirement[] | null;
  readonly affinity: CompiledNodeSelector | null;
  constructor(pod: Pod) {
    const sel = pod.spec.nodeSelector;
    this.selector = sel ? Object.keys(sel).map((k) => ({ key: k, operator: '=' as const, values: [sel[k]!] })) : null;
    const req = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    this.affinity = req ? compileNodeSelector(req) : null;
  }
  get matchesAll(): boolean {
    return !this.selector && !this.affinity;
  }
  match(node: Node): boolean {
    if (this.selector) {
      const labels = node.metadata.labels;
      for (const r of this.selector) if (!requirementMatches(r, labels)) return false;
    }
    if (this.affinity) return nodeSelectorMatches(this.affinity, node);
    return true;
  }
}

const requiredCache = new WeakMap<Pod, RequiredNodeAffinity>();

/** The pod's RequiredNodeAffinity, computed once per pod object. */
export function requiredNodeAffinity(pod: Pod): RequiredNodeAffinity {
  let r = requiredCache.get(pod);
  if (!r) {
    r = new RequiredNodeAffinity(pod);
    requiredCache.set(pod, r);
  }
  return r;
}

export interface CompiledPreferredTerm {
  readonly weight: number;
  readonly term: CompiledTerm;
}

/** upstream's NewPreferredSchedulingTerms: weight-0 terms are dropped. */
export function compilePreferredTerms(terms: readonly PreferredSchedulingTerm[] | null | undefined): CompiledPreferredTerm[] {
  const out: CompiledPreferredTerm[] = [];
  for (const t of terms ?? []) {
    if (!t.weight) continue;
    out.push({ weight: t.weight, term: compileTerm(t.preference ?? {}) });
  }
  return out;
}

export function preferredScore(terms: readonly CompiledPreferredTerm[], node: Node): number {
  let score = 0;
  for (const t of terms) if (termMatches(t.term, node)) score += t.weight;
  return score;
}

// ---------------------------------------------------------------------------------------------
// Taints and tolerations

/** upstream's Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function tolerationsTolerateTaint(tolerations: readonly Toleration[] | null | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The taint effects that keep pods off a node at scheduling time. */
export function isDoNotScheduleTaint(t: Taint): boolean {
  return t.effect === 'NoSchedule' || t.effect === 'NoExecute';
}

/** The first taint (in node order) passing `filter` that no toleration tolerates (FindMatchingUntoleratedTaint). */
export function findUntoleratedTaint(
  taints: readonly Taint[] | null | undefined,
  tolerations: readonly Toleration[] | null | undefined,
  filter: (t: Taint) => boolean,
): Taint | undefined {
  if (!taints) return undefined;
  for (const taint of taints) {
    if (!filter(taint)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

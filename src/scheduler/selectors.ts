// Label selectors compiled into plain functions for the scheduler's inner loops (counting pods
// per topology domain, matching affinity terms): the same semantics as api/labels'
// matchesLabels, without a closure per requirement per call. Compiled once per Selector object.

import { matchesLabels, requirementMatches, type Labels, type Requirement, type Selector } from '../api/labels.ts';

export type LabelMatcher = (labels: Labels) => boolean;

const NEVER: LabelMatcher = () => false;
const ALWAYS: LabelMatcher = () => true;

function compileRequirement(r: Requirement): LabelMatcher {
  const key = r.key;
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      if (r.values.length === 1) {
        const v = r.values[0]!;
        return (l) => !!l && Object.hasOwn(l, key) && l[key] === v;
      }
      return (l) => !!l && Object.hasOwn(l, key) && r.values.includes(l[key]!);
    case 'exists':
      return (l) => !!l && Object.hasOwn(l, key);
    case '!':
      return (l) => !l || !Object.hasOwn(l, key);
    default:
      return (l) => requirementMatches(r, l);
  }
}

const compiled = new WeakMap<Selector, LabelMatcher>();

/** A function equivalent to matchesLabels(sel, ·). */
export function matcherOf(sel: Selector): LabelMatcher {
  let m = compiled.get(sel);
  if (m) return m;
  if (sel.nothing) m = NEVER;
  else if (sel.requirements.length === 0) m = ALWAYS;
  else if (sel.requirements.length === 1) m = compileRequirement(sel.requirements[0]!);
  else if (sel.requirements.length === 2) {
    const a = compileRequirement(sel.requirements[0]!);
    const b = compileRequirement(sel.requirements[1]!);
    m = (l) => a(l) && b(l);
  } else {
    const parts = sel.requirements.map(compileRequirement);
    m = (l) => {
      for (let i = 0; i < parts.length; i++) if (!parts[i]!(l)) return false;
      return true;
    };
  }
  compiled.set(sel, m);
  return m;
}

/** matchesLabels through the compiled matcher. */
export function selects(sel: Selector, labels: Labels): boolean {
  return matcherOf(sel)(labels);
}

export { matchesLabels };

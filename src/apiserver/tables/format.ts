// Small renderings shared by the printers, each matching the upstream helper named in its comment.
// Objects arrive as untyped wire JSON, so every reader here tolerates absent or mistyped fields
// the way a decode into Go's zero values would.

import { canonicalizeQuantity } from '../../api/quantity.ts';

// Wire JSON, read defensively: a printer sees whatever storage holds.
export type Obj = Record<string, any>;

export function obj(v: unknown): Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}

export function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? v.map((x) => (x !== null && typeof x === 'object' ? (x as Obj) : {})) : [];
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function countKeys(v: unknown): number {
  return Object.keys(obj(v)).length;
}

/** labels.Set.String(): sorted "k=v" pairs joined by commas. */
function labelSetString(m: unknown): string {
  const o = obj(m);
  return Object.keys(o)
    .sort()
    .map((k) => `${k}=${str(o[k])}`)
    .join(',');
}

/** labels.FormatLabels: the set's string, or "<none>" when empty. */
export function formatLabels(m: unknown): string {
  return labelSetString(m) || '<none>';
}

const OPERATORS: Record<string, string> = { In: 'in', NotIn: 'notin', Exists: '', DoesNotExist: '!' };

/**
 * labels.Selector.String() of metav1.LabelSelectorAsSelector: requirements sorted by key,
 * matchLabels as "k=v", "k in (a,b)", "k notin (a,b)", "k", "!k". A nil or empty selector is "".
 * Returns undefined where the conversion fails (an unknown operator, or values that do not
 * fit the operator).
 */
export function labelSelectorString(sel: unknown): string | undefined {
  const s = obj(sel);
  const reqs: { key: string; text: string }[] = [];
  const ml = obj(s.matchLabels);
  for (const k of Object.keys(ml)) reqs.push({ key: k, text: `${k}=${str(ml[k])}` });
  for (const e of arr(s.matchExpressions)) {
    const key = str(e.key);
    const op = str(e.operator);
    const values = strings(e.values);
    if (!(op in OPERATORS)) return undefined;
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) return undefined;
      const vs = values.length === 1 ? values[0]! : [...values].sort().join(',');
      reqs.push({ key, text: `${key} ${OPERATORS[op]} (${vs})` });
    } else {
      if (values.length > 0) return undefined;
      reqs.push({ key, text: `${OPERATORS[op]}${key}` });
    }
  }
  // Stable sort by key: upstream sorts requirements by key only.
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** metav1.FormatLabelSelector: "<none>" for an empty selector, "<error>" for an invalid one. */
export function formatLabelSelector(sel: unknown): string {
  const s = labelSelectorString(sel);
  if (s === undefined) return '<error>';
  return s || '<none>';
}

/** layoutContainerCells: container names and images, each joined by commas. */
export function containerCells(podSpec: unknown): [string, string] {
  const cs = arr(obj(podSpec).containers);
  return [cs.map((c) => str(c.name)).join(','), cs.map((c) => str(c.image)).join(',')];
}

/** helper.GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order, each once. */
export function accessModes(v: unknown): string {
  const modes = new Set(strings(v));
  const out: string[] = [];
  if (modes.has('ReadWriteOnce')) out.push('RWO');
  if (modes.has('ReadOnlyMany')) out.push('ROX');
  if (modes.has('ReadWriteMany')) out.push('RWX');
  if (modes.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/**
 * resource.Quantity.String() of a stored quantity: its canonical text (or the text upstream
 * keeps because it already is canonical). Unparseable values, which validation keeps out of
 * storage, print as stored.
 */
export function quantity(v: unknown): string {
  if (v === undefined || v === null || v === '') return '0';
  try {
    return canonicalizeQuantity(v);
  } catch {
    return String(v);
  }
}

/** The String() of a *resource.Quantity, which prints "<nil>" for an absent one. */
export function quantityPtr(v: unknown): string {
  return v === undefined || v === null ? '<nil>' : quantity(v);
}

/** intstr.IntOrString.String(). */
export function intOrString(v: unknown): string {
  return typeof v === 'number' ? String(Math.trunc(v)) : str(v);
}

/** Upstream's printBoolPtr: "True", "False", or "<unset>" when absent. */
export function boolPtr(v: unknown): string {
  if (typeof v !== 'boolean') return '<unset>';
  return v ? 'True' : 'False';
}

/** The status of the condition of the given type, or undefined when there is none. */
export function conditionStatus(conditions: unknown, type: string): string | undefined {
  for (const c of arr(conditions)) if (c.type === type) return str(c.status);
  return undefined;
}

/** "x + N more..." lists as upstream's listWithMoreString: at most max entries, "<unset>" if none. */
export function listWithMore(items: string[], max = 3): string {
  if (items.length > max) return `${items.slice(0, max).join(',')} + ${items.length - max} more...`;
  return items.join(',') || '<unset>';
}

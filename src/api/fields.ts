// Field selectors, as upstream's k8s.io/apimachinery/pkg/fields, and the table of which fields
// each resource can be selected on (upstream's per-kind field label conversion funcs and the
// registries' GetAttrs / ToSelectableFields).
//
// A list or watch does three things with `fieldSelector=`:
//   1. parseFieldSelector(s)                         syntax: a=b, a==b, a!=b joined by ",";
//                                                    "\" escapes ",", "=" and "\" in values
//   2. convertFieldSelector(group, plural, sel)      rejects labels the resource does not
//                                                    support and renames legacy ones
//   3. matchesFields(sel, fieldsOf(group, plural, obj)) per object
// Failures are 400 BadRequest with upstream's message (parse: "invalid selector: ...";
// unsupported label: "field label not supported: foo", or for resources without their own
// conversion `"foo" is not a known field selector: only "metadata.name", "metadata.namespace"`).

import { badRequest, type StatusError } from './errors.ts';
import { resourceByPlural } from './resources.ts';
import { SelectorError } from './labels.ts';

export { SelectorError };

export type FieldOperator = '=' | '==' | '!=';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  readonly value: string;
}

/** All requirements must hold. No requirements selects everything. */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

export const EVERYTHING_FIELDS: FieldSelector = Object.freeze({ requirements: Object.freeze([]) as readonly FieldRequirement[] });

// ---------------------------------------------------------------------------------------------
// Syntax

/** upstream's fields.EscapeValue: "\" ",", "=" are backslash-escaped. */
export function escapeValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => '\\' + c);
}

/** upstream's fields.UnescapeValue, with its error messages. */
export function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    // Go prints the rune with %v: its code point as a number.
    else if (c === ',' || c === '=') throw new SelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Splits on "," not preceded by an escaping backslash. */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const TERM_OPERATORS: FieldOperator[] = ['!=', '==', '='];

/** The first position holding an operator splits the term; "!=" and "==" win over "=" there. */
function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** Byte-wise string order, as Go's sort.Strings. */
function goLess(a: string, b: string): number {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ba, bb);
}

/** Parses upstream's field selector syntax. Throws SelectorError with upstream's message. */
export function parseFieldSelector(selector: string): FieldSelector {
  const parts = splitTerms(selector).sort(goLess);
  const reqs: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [lhs, op, rhs] = t;
    reqs.push({ field: lhs, operator: op, value: unescapeValue(rhs) });
  }
  return { requirements: reqs };
}

/** upstream's Selector.String(): "a=b,c!=d" with values escaped; "==" prints as "=". */
export function fieldSelectorString(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.operator === '!=' ? '!=' : '='}${escapeValue(r.value)}`).join(',');
}

/** A missing field reads as "", as upstream's fields.Set.Get. */
export function matchesFields(sel: FieldSelector, fields: Readonly<Record<string, string>>): boolean {
  return sel.requirements.every((r) => {
    const v = Object.hasOwn(fields, r.field) ? fields[r.field]! : '';
    return r.operator === '!=' ? v !== r.value : v === r.value;
  });
}

/** The value the selector pins `field` to with = or ==, if any (upstream's RequiresExactMatch). */
export function fieldRequiresExactMatch(sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((r) => r.field === field && r.operator !== '!=')?.value;
}

export function isEmptyFieldSelector(sel: FieldSelector): boolean {
  return sel.requirements.length === 0;
}

// ---------------------------------------------------------------------------------------------
// Which fields each resource supports

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface FieldRules {
  /** Field labels accepted in selectors, mapped to the field name matched against (usually itself). */
  labels: Record<string, string>;
  /** upstream's rejection message for a label outside `labels`. */
  reject: (label: string) => string;
  /** The resource-specific selectable fields of a stored object (metadata fields are added generically). */
  fields?: (obj: Json) => Record<string, string>;
}

const notSupported = (label: string) => `field label not supported: ${label}`;
const defaultReject = (label: string) => `"${label}" is not a known field selector: only "metadata.name", "metadata.namespace"`;
const same = (...labels: string[]): Record<string, string> => Object.fromEntries(labels.map((l) => [l, l]));

const str = (v: unknown): string => (v == null ? '' : String(v));
const int = (v: unknown): string => String(typeof v === 'number' ? Math.trunc(v) : 0);
const bool = (v: unknown): string => (v === true ? 'true' : 'false');

function eventFields(ev: Json): Record<string, string> {
  const io = ev?.involvedObject ?? {};
  // Events written through events.k8s.io carry no source: selecting on it falls back to the
  // reporting controller.
  const source = str(ev?.source?.component) || str(ev?.reportingComponent);
  return {
    'involvedObject.kind': str(io.kind),
    'involvedObject.namespace': str(io.namespace),
    'involvedObject.name': str(io.name),
    'involvedObject.uid': str(io.uid),
    'involvedObject.apiVersion': str(io.apiVersion),
    'involvedObject.resourceVersion': str(io.resourceVersion),
    'involvedObject.fieldPath': str(io.fieldPath),
    reason: str(ev?.reason),
    reportingComponent: str(ev?.reportingComponent),
    source,
    type: str(ev?.type),
  };
}

const EVENT_LABELS = same(
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
  'metadata.namespace',
  'metadata.name',
);

const replicas = (o: Json) => ({ 'status.replicas': int(o?.status?.replicas) });

/** Keyed "group/plural". Resources not listed accept metadata.name and metadata.namespace only. */
const RULES: Record<string, FieldRules> = {
  '/pods': {
    labels: {
      ...same(
        'metadata.name',
        'metadata.namespace',
        'spec.nodeName',
        'spec.restartPolicy',
        'spec.schedulerName',
        'spec.serviceAccountName',
        'spec.hostNetwork',
        'status.phase',
        'status.podIP',
        'status.nominatedNodeName',
      ),
      // Old v1 clients send spec.host.
      'spec.host': 'spec.nodeName',
    },
    reject: notSupported,
    fields: (p) => ({
      'spec.nodeName': str(p?.spec?.nodeName),
      'spec.restartPolicy': str(p?.spec?.restartPolicy),
      'spec.schedulerName': str(p?.spec?.schedulerName),
      'spec.serviceAccountName': str(p?.spec?.serviceAccountName),
      'spec.hostNetwork': bool(p?.spec?.hostNetwork),
      'status.phase': str(p?.status?.phase),
      // The first of status.podIPs (what the internal type keeps); v1's podIP mirrors it.
      'status.podIP': str(p?.status?.podIPs?.[0]?.ip ?? p?.status?.podIP),
      'status.nominatedNodeName': str(p?.status?.nominatedNodeName),
    }),
  },
  '/nodes': {
    labels: same('metadata.name', 'spec.unschedulable'),
    reject: notSupported,
    fields: (n) => ({ 'spec.unschedulable': bool(n?.spec?.unschedulable) }),
  },
  '/replicationcontrollers': {
    labels: same('metadata.name', 'metadata.namespace', 'status.replicas'),
    reject: notSupported,
    fields: replicas,
  },
  '/events': { labels: EVENT_LABELS, reject: notSupported, fields: eventFields },
  '/namespaces': {
    labels: same('status.phase', 'metadata.name'),
    reject: notSupported,
    fields: (ns) => ({ 'status.phase': str(ns?.status?.phase) }),
  },
  '/secrets': {
    labels: same('type', 'metadata.namespace', 'metadata.name'),
    reject: notSupported,
    fields: (s) => ({ type: str(s?.type) }),
  },
  '/services': {
    labels: same('metadata.namespace', 'metadata.name', 'spec.clusterIP', 'spec.type'),
    reject: notSupported,
    fields: (s) => ({ 'spec.clusterIP': str(s?.spec?.clusterIP), 'spec.type': str(s?.spec?.type) }),
  },
  // apps/v1 registers no field label conversion: status.replicas is a selectable field of the
  // stored object but the request is rejected before matching, as upstream does.
  'apps/replicasets': { labels: same('metadata.name', 'metadata.namespace'), reject: defaultReject, fields: replicas },
  'batch/jobs': {
    labels: same('metadata.name', 'metadata.namespace', 'status.successful'),
    reject: (label) => `field label "${label}" not supported for batchv1.Job`,
    fields: (j) => ({ 'status.successful': int(j?.status?.succeeded) }),
  },
  'certificates.k8s.io/certificatesigningrequests': {
    labels: same('metadata.name', 'spec.signerName'),
    reject: notSupported,
    fields: (c) => ({ 'spec.signerName': str(c?.spec?.signerName) }),
  },
  // Served from stored core events: events.k8s.io names map onto the core selectable fields.
  'events.k8s.io/events': {
    labels: {
      reason: 'reason',
      'regarding.kind': 'involvedObject.kind',
      'regarding.namespace': 'involvedObject.namespace',
      'regarding.name': 'involvedObject.name',
      'regarding.uid': 'involvedObject.uid',
      'regarding.apiVersion': 'involvedObject.apiVersion',
      'regarding.resourceVersion': 'involvedObject.resourceVersion',
      'regarding.fieldPath': 'involvedObject.fieldPath',
      reportingController: 'reportingComponent',
      source: 'source',
      type: 'type',
      'metadata.namespace': 'metadata.namespace',
      'metadata.name': 'metadata.name',
    },
    reject: notSupported,
    fields: eventFields,
  },
};

const DEFAULT_RULES: FieldRules = { labels: same('metadata.name', 'metadata.namespace'), reject: defaultReject };

function rulesFor(group: string, plural: string): FieldRules {
  return RULES[`${group}/${plural}`] ?? DEFAULT_RULES;
}

/** The field labels a resource accepts in field selectors. */
export function supportedFieldLabels(group: string, plural: string): string[] {
  return Object.keys(rulesFor(group, plural).labels);
}

/** The 400 upstream answers a selector on an unsupported field with. */
export function unsupportedFieldError(group: string, plural: string, label: string): StatusError {
  return badRequest(rulesFor(group, plural).reject(label));
}

/**
 * Checks every label against the resource's supported fields and renames legacy or
 * version-specific labels to the field matched against the stored object (pods' spec.host,
 * events.k8s.io's regarding.*). Throws unsupportedFieldError for the first unsupported label,
 * in the selector's (sorted) order.
 */
export function convertFieldSelector(group: string, plural: string, sel: FieldSelector): FieldSelector {
  const rules = rulesFor(group, plural);
  return {
    requirements: sel.requirements.map((r) => {
      const to = Object.hasOwn(rules.labels, r.field) ? rules.labels[r.field] : undefined;
      if (to === undefined) throw badRequest(rules.reject(r.field));
      return to === r.field ? r : { ...r, field: to };
    }),
  };
}

/**
 * The selectable fields of a stored object of this resource: metadata.name always,
 * metadata.namespace for namespaced resources, plus the resource's own (all values strings,
 * as upstream's fields.Set).
 */
export function fieldsOf(group: string, plural: string, obj: Json): Record<string, string> {
  const r = rulesFor(group, plural);
  const decl = resourceByPlural(group, plural);
  const stored = decl?.storedAs ? resourceByPlural(decl.storedAs.group, decl.storedAs.plural) : decl;
  const namespaced = stored?.namespaced ?? true;
  const out: Record<string, string> = { ...(r.fields?.(obj) ?? {}) };
  out['metadata.name'] = str(obj?.metadata?.name);
  if (namespaced) out['metadata.namespace'] = str(obj?.metadata?.namespace);
  return out;
}

/** Parse + convert in one step, throwing a 400 StatusError with upstream's message on failure. */
export function fieldSelectorForList(group: string, plural: string, selector: string | undefined): FieldSelector {
  let sel: FieldSelector;
  try {
    sel = parseFieldSelector(selector ?? '');
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  return convertFieldSelector(group, plural, sel);
}

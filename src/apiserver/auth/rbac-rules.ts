// RBAC's rule semantics, as upstream's rbac/v1 helpers and rbac/validation: whether a PolicyRule
// allows a request (verbs, apiGroups, resources with `*`, `resource/subresource` and
// `*/subresource`, resourceNames, nonResourceURLs with a trailing `*`), whether a set of rules
// covers another (used by reconciliation and escalation checks), and which users a Subject names.
// Pure functions over plain objects.
import type { UserInfo } from '../registry.ts';
import type { Attributes } from './authorizer.ts';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

export const VERB_ALL = '*';
export const API_GROUP_ALL = '*';
export const RESOURCE_ALL = '*';
export const NON_RESOURCE_ALL = '*';

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  for (const v of rule.verbs ?? []) if (v === VERB_ALL || v === verb) return true;
  return false;
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  for (const g of rule.apiGroups ?? []) if (g === API_GROUP_ALL || g === group) return true;
  return false;
}

/** `combined` is "resource" or "resource/subresource". */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === RESOURCE_ALL || r === combined) return true;
    if (!subresource) continue;
    if (r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames;
  if (!names || names.length === 0) return true;
  return names.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === NON_RESOURCE_ALL || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** upstream's rbac.RuleAllows. */
export function ruleAllows(attrs: Attributes, rule: PolicyRule): boolean {
  if (attrs.resourceRequest) {
    const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    return (
      verbMatches(rule, attrs.verb) &&
      apiGroupMatches(rule, attrs.apiGroup) &&
      resourceMatches(rule, combined, attrs.subresource) &&
      resourceNameMatches(rule, attrs.name)
    );
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path);
}

export function rulesAllow(attrs: Attributes, rules: readonly PolicyRule[]): boolean {
  for (const r of rules) if (ruleAllows(attrs, r)) return true;
  return false;
}

// ------------------------------------------------------------------------------- coverage

/** upstream's BreakdownRule: one rule per group × resource × verb (× name), and per URL × verb. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs ?? []) {
        if (rule.resourceNames && rule.resourceNames.length > 0) {
          for (const name of rule.resourceNames) out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs ?? []) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

function hasAll(set: readonly string[] | undefined, want: readonly string[] | undefined): boolean {
  const s = new Set(set ?? []);
  for (const w of want ?? []) if (!s.has(w)) return false;
  return true;
}

function resourceCoversAll(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  const o = owner ?? [];
  if (o.includes(RESOURCE_ALL) || hasAll(o, wanted)) return true;
  for (const path of wanted ?? []) {
    if (o.includes(path)) continue;
    const slash = path.indexOf('/');
    if (slash < 0) return false;
    if (!o.includes(`*/${path.slice(slash + 1)}`)) return false;
  }
  return true;
}

function nonResourceURLCovers(owner: string, wanted: string): boolean {
  if (owner === wanted) return true;
  return owner.endsWith('*') && wanted.startsWith(owner.slice(0, -1));
}

function nonResourceURLsCoverAll(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  for (const w of wanted ?? []) {
    if (!(owner ?? []).some((o) => nonResourceURLCovers(o, w))) return false;
  }
  return true;
}

/** upstream's ruleCovers: whether `owner` grants everything `sub` (a broken-down rule) grants. */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = (owner.verbs ?? []).includes(VERB_ALL) || hasAll(owner.verbs, sub.verbs);
  const groups = (owner.apiGroups ?? []).includes(API_GROUP_ALL) || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources);
  const urls = nonResourceURLsCoverAll(owner.nonResourceURLs, sub.nonResourceURLs);
  let names: boolean;
  if (!sub.resourceNames || sub.resourceNames.length === 0) names = !owner.resourceNames || owner.resourceNames.length === 0;
  else names = !owner.resourceNames || owner.resourceNames.length === 0 || hasAll(owner.resourceNames, sub.resourceNames);
  return verbs && groups && resources && names && urls;
}

/** upstream's validation.Covers: whether `owner` covers `servant`, and the broken-down rules it does not. */
export function covers(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): { covered: boolean; uncovered: PolicyRule[] } {
  const uncovered: PolicyRule[] = [];
  for (const rule of servant) {
    for (const sub of breakdownRule(rule)) {
      if (!owner.some((o) => ruleCovers(o, sub))) uncovered.push(sub);
    }
  }
  return { covered: uncovered.length === 0, uncovered };
}

// -------------------------------------------------------------------------------- subjects

const SA_PREFIX = 'system:serviceaccount:';

/** upstream's serviceaccount.SplitUsername: namespace and name of a service-account username. */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

/** upstream's appliesToUser: whether a binding's subject names this user. */
export function subjectAppliesTo(user: UserInfo, s: Subject, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return user.name === s.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return user.name === `${SA_PREFIX}${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

/**
 * The index keys a subject is filed under: "u:<name>", "g:<name>". A ServiceAccount subject is
 * the user it names (its namespace defaulting to the binding's), so it shares the user key.
 */
export function subjectKey(s: Subject, bindingNamespace: string): string | undefined {
  switch (s.kind) {
    case 'User':
      return `u:${s.name}`;
    case 'Group':
      return `g:${s.name}`;
    case 'ServiceAccount':
      return `u:${SA_PREFIX}${s.namespace || bindingNamespace}:${s.name}`;
    default:
      return undefined;
  }
}

/** The keys a user's bindings are filed under (see subjectKey). */
export function userKeys(user: UserInfo): string[] {
  const keys = [`u:${user.name}`];
  for (const g of user.groups) keys.push(`g:${g}`);
  return keys;
}

/** upstream's describeSubject, for "allowed by" reasons. */
export function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

// ------------------------------------------------------------------------- compiled rules

/**
 * A rule prepared for repeated matching: the same answers as ruleAllows, with set lookups in
 * place of list scans.
 */
export interface CompiledRule {
  readonly rule: PolicyRule;
  matches(attrs: Attributes, combinedResource: string): boolean;
}

export function compileRule(rule: PolicyRule): CompiledRule {
  const verbs = new Set(rule.verbs ?? []);
  const allVerbs = verbs.has(VERB_ALL);
  const groups = new Set(rule.apiGroups ?? []);
  const allGroups = groups.has(API_GROUP_ALL);
  const resources = new Set(rule.resources ?? []);
  const allResources = resources.has(RESOURCE_ALL);
  const subStars = new Set<string>();
  for (const r of resources) if (r.startsWith('*/')) subStars.add(r.slice(2));
  const names = rule.resourceNames && rule.resourceNames.length > 0 ? new Set(rule.resourceNames) : undefined;
  const urls = rule.nonResourceURLs ?? [];
  const allUrls = urls.includes(NON_RESOURCE_ALL);
  const exactUrls = new Set(urls);
  const prefixes = urls.filter((u) => u.endsWith('*')).map((u) => u.slice(0, -1));
  return {
    rule,
    matches(attrs, combined) {
      if (!allVerbs && !verbs.has(attrs.verb)) return false;
      if (attrs.resourceRequest) {
        if (!allGroups && !groups.has(attrs.apiGroup)) return false;
        if (!allResources && !resources.has(combined) && !(attrs.subresource && subStars.has(attrs.subresource))) return false;
        return !names || names.has(attrs.name);
      }
      if (allUrls || exactUrls.has(attrs.path)) return true;
      for (const p of prefixes) if (attrs.path.startsWith(p)) return true;
      return false;
    },
  };
}

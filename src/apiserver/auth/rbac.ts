// The RBAC authorizer, as upstream's plugin/pkg/auth/authorizer/rbac: a request is allowed when a
// rule of a role bound to the user (by a ClusterRoleBinding, or by a RoleBinding in the request's
// namespace) allows it; otherwise RBAC has no opinion. Roles and bindings are read from the watch
// cache. Bindings are indexed by subject (user name, service-account user name, group) and the
// index follows the caches' events, so a decision costs a few map lookups however many bindings
// the cluster holds.
//
// Contracts:
// - Attach after the watch cache has loaded (the index is built from the caches' contents, then
//   kept current from their events). stop() detaches.
// - A binding whose role does not exist grants nothing; the lookup error is reported as upstream
//   does ("RBAC: clusterrole.rbac.authorization.k8s.io "x" not found") when nothing allows.
import type { KObject } from '../../api/meta.ts';
import type { CacheEvent, CacheWatcher, Entry } from '../cache.ts';
import type { Registry, UserInfo } from '../registry.ts';
import type { Attributes, AuthorizationResult, Authorizer, NonResourceRuleInfo, ResourceRuleInfo, RuleResolver, RulesForResult } from './authorizer.ts';
import { compileRule, describeSubject, subjectKey, userKeys, type CompiledRule, type PolicyRule, type RoleRef, type Subject } from './rbac-rules.ts';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** The part of a resource cache RBAC reads. */
export interface WatchedCache {
  readonly prefix: string;
  readonly namespaced: boolean;
  get(key: string): Entry | undefined;
  list(namespace: string | undefined): Entry[];
  readonly watchers: Set<CacheWatcher>;
}

export interface RbacCaches {
  roles: WatchedCache;
  roleBindings: WatchedCache;
  clusterRoles: WatchedCache;
  clusterRoleBindings: WatchedCache;
}

export function rbacCaches(reg: Registry): RbacCaches {
  return {
    roles: reg.must(RBAC_GROUP, 'roles').cache,
    roleBindings: reg.must(RBAC_GROUP, 'rolebindings').cache,
    clusterRoles: reg.must(RBAC_GROUP, 'clusterroles').cache,
    clusterRoleBindings: reg.must(RBAC_GROUP, 'clusterrolebindings').cache,
  };
}

/** The cache key of an object: `<prefix><ns>/<name>` or `<prefix><name>`. */
export function cacheKey(c: WatchedCache, namespace: string, name: string): string {
  return c.namespaced ? `${c.prefix}${namespace}/${name}` : `${c.prefix}${name}`;
}

interface IndexedBinding {
  kind: 'ClusterRoleBinding' | 'RoleBinding';
  name: string;
  namespace: string;
  roleRef: RoleRef;
  /** The subject this index entry was filed for (the one described in "allowed by"). */
  subject: Subject;
  /** The "allowed by" reason, computed once when filed. */
  allowedBy: string;
  /** The role's cache key, computed once (a string whose hash the engine keeps). */
  roleKey: string;
  /** The binding's number (the same for each subject it is filed under), to visit it once. */
  id: number;
  /** The shared, frozen Allow answer. */
  allow?: AuthorizationResult;
}

type SubjectIndex = Map<string, Map<string, IndexedBinding>>;

function asBinding(e: Entry): { roleRef: RoleRef; subjects: Subject[] } {
  const o = e.obj as KObject & { roleRef?: RoleRef; subjects?: Subject[] };
  return { roleRef: o.roleRef ?? { apiGroup: RBAC_GROUP, kind: '', name: '' }, subjects: Array.isArray(o.subjects) ? o.subjects : [] };
}

const NO_OPINION: AuthorizationResult = Object.freeze({ decision: 'NoOpinion', reason: '' });

function notFoundMessage(singular: string, name: string): string {
  return `${singular}.${RBAC_GROUP} ${JSON.stringify(name)} not found`;
}

/** upstream's utilerrors.NewAggregate(errs).Error(). */
function aggregate(errs: string[]): string {
  return errs.length === 1 ? errs[0]! : `[${errs.join(', ')}]`;
}

export class RBACAuthorizer implements Authorizer, RuleResolver {
  private readonly caches: RbacCaches;
  private readonly clusterIndex: SubjectIndex = new Map();
  /** namespace → subject index. */
  private readonly nsIndex = new Map<string, SubjectIndex>();
  /** binding cache key → the subject keys it is filed under. */
  private readonly filed = new Map<string, string[]>();
  private readonly watchers: [WatchedCache, CacheWatcher][] = [];
  private nextId = 0;

  constructor(caches: RbacCaches) {
    this.caches = caches;
    const follow = (c: WatchedCache, kind: IndexedBinding['kind']) => {
      const w: CacheWatcher = { onEvent: (ev: CacheEvent) => this.onBindingEvent(kind, ev) };
      c.watchers.add(w);
      this.watchers.push([c, w]);
      for (const e of c.list(undefined)) this.file(kind, e);
    };
    follow(caches.clusterRoleBindings, 'ClusterRoleBinding');
    follow(caches.roleBindings, 'RoleBinding');
  }

  stop(): void {
    for (const [c, w] of this.watchers) c.watchers.delete(w);
    this.watchers.length = 0;
  }

  private onBindingEvent(kind: IndexedBinding['kind'], ev: CacheEvent): void {
    this.unfile(kind, ev.entry.key, ev.entry.namespace);
    if (ev.type !== 'DELETED') this.file(kind, ev.entry);
  }

  private indexFor(kind: IndexedBinding['kind'], namespace: string, create: boolean): SubjectIndex | undefined {
    if (kind === 'ClusterRoleBinding') return this.clusterIndex;
    let idx = this.nsIndex.get(namespace);
    if (!idx && create) this.nsIndex.set(namespace, (idx = new Map()));
    return idx;
  }

  private file(kind: IndexedBinding['kind'], e: Entry): void {
    const { roleRef, subjects } = asBinding(e);
    const ns = kind === 'RoleBinding' ? e.namespace : '';
    const idx = this.indexFor(kind, ns, true)!;
    const keys: string[] = [];
    const id = ++this.nextId;
    for (const s of subjects) {
      if (!s || typeof s.name !== 'string') continue;
      const k = subjectKey(s, ns);
      if (!k) continue;
      let m = idx.get(k);
      if (!m) idx.set(k, (m = new Map()));
      if (m.has(e.key)) continue; // the same subject listed twice: the first describes it
      const b: IndexedBinding = { kind, name: e.name, namespace: ns, roleRef, subject: s, allowedBy: '', roleKey: this.roleKeyOf(roleRef, ns), id };
      b.allowedBy = `RBAC: allowed by ${describeBinding(b)}`;
      b.allow = Object.freeze({ decision: 'Allow', reason: b.allowedBy });
      m.set(e.key, b);
      keys.push(k);
    }
    this.filed.set(e.key, keys);
  }

  private unfile(kind: IndexedBinding['kind'], key: string, namespace: string): void {
    const keys = this.filed.get(key);
    if (!keys) return;
    this.filed.delete(key);
    const idx = this.indexFor(kind, kind === 'RoleBinding' ? namespace : '', false);
    if (!idx) return;
    for (const k of keys) {
      const m = idx.get(k);
      if (!m) continue;
      m.delete(key);
      if (m.size === 0) idx.delete(k);
    }
    if (kind === 'RoleBinding' && idx.size === 0) this.nsIndex.delete(namespace);
  }

  /**
   * Index keys per user object (authentication hands the same object to all of a connection's
   * requests), recomputed when the object's name or groups list changed.
   */
  private readonly userKeyCache = new WeakMap<UserInfo, { name: string; groups: readonly string[]; n: number; keys: string[] }>();

  private keysOf(user: UserInfo): string[] {
    const c = this.userKeyCache.get(user);
    if (c && c.name === user.name && c.groups === user.groups && c.n === user.groups.length) return c.keys;
    const keys = userKeys(user);
    this.userKeyCache.set(user, { name: user.name, groups: user.groups, n: user.groups.length, keys });
    return keys;
  }

  /** Compiled rules per role object (cache entries are immutable; a change is a new object). */
  private readonly compiled = new WeakMap<object, readonly CompiledRule[]>();

  private rulesOf(e: Entry): readonly CompiledRule[] {
    let c = this.compiled.get(e.obj);
    if (!c) {
      const rules = ((e.obj as { rules?: PolicyRule[] }).rules ?? []) as PolicyRule[];
      c = rules.map(compileRule);
      this.compiled.set(e.obj, c);
    }
    return c;
  }

  private roleKeyOf(ref: RoleRef, namespace: string): string {
    if (ref.kind === 'ClusterRole') return cacheKey(this.caches.clusterRoles, '', ref.name);
    if (ref.kind === 'Role') return cacheKey(this.caches.roles, namespace, ref.name);
    return '';
  }

  /** The rules a binding's roleRef names, or the lookup error (upstream's GetRoleReferenceRules). */
  private roleRules(b: IndexedBinding): readonly CompiledRule[] | string {
    const ref = b.roleRef;
    if (ref.kind === 'ClusterRole') {
      const e = this.caches.clusterRoles.get(b.roleKey);
      if (!e) return notFoundMessage('clusterrole', ref.name);
      return this.rulesOf(e);
    }
    if (ref.kind === 'Role') {
      const e = this.caches.roles.get(b.roleKey);
      if (!e) return notFoundMessage('role', ref.name);
      return this.rulesOf(e);
    }
    return `unsupported role reference kind: ${JSON.stringify(ref.kind)}`;
  }

  /**
   * Visits the bindings that apply to the user in upstream's order (cluster-wide, then the
   * namespace's); `visit` returns false to stop.
   */
  private visit(user: UserInfo, namespace: string, visit: (b: IndexedBinding, rules: readonly CompiledRule[] | string) => boolean): void {
    const keys = this.keysOf(user);
    // A binding naming the user more than once (as user and through a group) is visited once.
    // Few bindings apply to one user, so a list beats a set here.
    const seen: number[] = [];
    const walk = (idx: SubjectIndex | undefined): boolean => {
      if (!idx) return true;
      for (const k of keys) {
        const m = idx.get(k);
        if (!m) continue;
        for (const b of m.values()) {
          if (seen.includes(b.id)) continue;
          seen.push(b.id);
          if (!visit(b, this.roleRules(b))) return false;
        }
      }
      return true;
    };
    if (!walk(this.clusterIndex)) return;
    if (namespace) walk(this.nsIndex.get(namespace));
  }

  /**
   * The same walk as visit(), written out: this is the per-request path, kept free of closures
   * and allocations on the common answers.
   */
  authorize(attrs: Attributes): AuthorizationResult {
    const keys = this.keysOf(attrs.user);
    const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    let errors: string[] | undefined;
    let seen: number[] | undefined;
    for (let pass = 0; pass < 2; pass++) {
      const idx = pass === 0 ? this.clusterIndex : attrs.namespace ? this.nsIndex.get(attrs.namespace) : undefined;
      if (idx === undefined) continue;
      for (let i = 0; i < keys.length; i++) {
        const m = idx.get(keys[i]!);
        if (m === undefined) continue;
        for (const b of m.values()) {
          if (seen === undefined) seen = [b.id];
          else if (seen.includes(b.id)) continue;
          else seen.push(b.id);
          const rules = this.roleRules(b);
          if (typeof rules === 'string') {
            (errors ??= []).push(rules);
            continue;
          }
          for (let j = 0; j < rules.length; j++) if (rules[j]!.matches(attrs, combined)) return b.allow!;
        }
      }
    }
    return errors ? { decision: 'NoOpinion', reason: `RBAC: ${aggregate(errors)}` } : NO_OPINION;
  }

  /** upstream's RBACAuthorizer.RulesFor: the rules of every binding that applies, in the namespace. */
  rulesFor(user: UserInfo, namespace: string): RulesForResult {
    const resourceRules: ResourceRuleInfo[] = [];
    const nonResourceRules: NonResourceRuleInfo[] = [];
    const errors: string[] = [];
    this.visit(user, namespace, (_b, rules) => {
      if (typeof rules === 'string') {
        errors.push(rules);
        return true;
      }
      for (const { rule: r } of rules) {
        if (r.resources && r.resources.length > 0) {
          const rr: ResourceRuleInfo = { verbs: [...(r.verbs ?? [])], apiGroups: [...(r.apiGroups ?? [])], resources: [...r.resources] };
          if (r.resourceNames && r.resourceNames.length > 0) rr.resourceNames = [...r.resourceNames];
          resourceRules.push(rr);
        }
        if (r.nonResourceURLs && r.nonResourceURLs.length > 0) {
          nonResourceRules.push({ verbs: [...(r.verbs ?? [])], nonResourceURLs: [...r.nonResourceURLs] });
        }
      }
      return true;
    });
    return { resourceRules, nonResourceRules, incomplete: false, errors: errors.length ? [aggregate(errors)] : [] };
  }

  /** The rules a roleRef names in a namespace, or upstream's lookup error (escalation checks). */
  roleRefRules(ref: RoleRef, namespace: string): PolicyRule[] | string {
    const r = this.roleRules({ kind: 'RoleBinding', name: '', namespace, roleRef: ref, subject: { kind: 'User', name: '' }, allowedBy: '', roleKey: this.roleKeyOf(ref, namespace), id: 0 });
    return typeof r === 'string' ? r : r.map((c) => c.rule);
  }

  /** Bindings currently indexed (for tests and diagnostics). */
  get indexedBindings(): number {
    return this.filed.size;
  }
}

/** upstream's clusterRoleBindingDescriber / roleBindingDescriber. */
function describeBinding(b: IndexedBinding): string {
  if (b.kind === 'ClusterRoleBinding') {
    return `ClusterRoleBinding ${JSON.stringify(b.name)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(b.subject, '')}`;
  }
  return `RoleBinding ${JSON.stringify(`${b.name}/${b.namespace}`)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(b.subject, b.namespace)}`;
}

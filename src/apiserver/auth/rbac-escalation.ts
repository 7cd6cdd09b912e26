// RBAC's escalation prevention, as upstream's policy-based RBAC storage: a user may create or
// change a Role or ClusterRole only with permissions it already holds (or with the `escalate`
// verb on it), and a RoleBinding or ClusterRoleBinding only to a role whose permissions it holds
// (or with the `bind` verb on that role). system:masters may do anything. An aggregationRule
// needs cluster-admin's authority. Run as an admission plugin on the four RBAC kinds.
import { forbidden } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { AdmissionPlugin, UserInfo } from '../registry.ts';
import { PRIVILEGED_GROUP, type Attributes, type Authorizer, type RuleResolver } from './authorizer.ts';
import { RBAC_GROUP } from './rbac.ts';
import { covers, type PolicyRule, type RoleRef } from './rbac-rules.ts';

export const RBAC_ESCALATION = 'RBACEscalation';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

/** Go's %q of a []string: ["a" "b"]. */
function goStrings(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

/** upstream's rbacv1helpers.CompactString. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goStrings(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goStrings(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goStrings(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goStrings(r.resourceNames)}`);
  if (r.verbs?.length) parts.push(`Verbs:${goStrings(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** upstream's CompactRules: rules for one group and resource (and at most one name) merge their verbs. */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    const isSimple = !r.nonResourceURLs?.length && r.apiGroups?.length === 1 && r.resources?.length === 1 && (r.resourceNames?.length ?? 0) <= 1;
    if (!isSimple) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups![0], r.resources![0], r.resourceNames?.[0] ?? null]);
    const cur = simple.get(key);
    if (!cur) simple.set(key, structuredClone(r));
    else for (const v of r.verbs) if (!cur.verbs.includes(v)) cur.verbs.push(v);
  }
  return [...out, ...simple.values()];
}

/**
 * upstream's ConfirmNoEscalation: undefined when the user's RBAC rules in the namespace cover
 * `rules`, else the reason.
 */
export function confirmNoEscalation(resolver: RuleResolver, user: UserInfo, namespace: string, rules: readonly PolicyRule[]): string | undefined {
  const held = resolver.rulesFor(user, namespace);
  const owner: PolicyRule[] = [
    ...held.resourceRules.map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources, resourceNames: r.resourceNames })),
    ...held.nonResourceRules.map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
  ];
  const { covered, uncovered } = covers(owner, rules);
  if (covered) return undefined;
  const missing = [...new Set(compactRules(uncovered).map(compactString))].sort();
  let msg = `user ${JSON.stringify(user.name)} (groups=${goStrings(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${missing.join('\n')}`;
  if (held.errors.length) msg += `; resolution errors: [${held.errors.join(' ')}]`;
  return msg;
}

function privileged(user: UserInfo | undefined): boolean {
  return !!user?.groups.includes(PRIVILEGED_GROUP);
}

/** Metadata-only changes the garbage collector makes (upstream's IsOnlyMutatingGCFields). */
function onlyGCFields(obj: KObject | undefined, old: KObject | undefined): boolean {
  if (!obj || !old) return false;
  const strip = (o: KObject) => {
    const c = structuredClone(o) as Json;
    for (const k of ['ownerReferences', 'finalizers', 'resourceVersion', 'managedFields', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds']) delete c.metadata?.[k];
    return JSON.stringify(c);
  };
  return strip(obj) === strip(old);
}

export interface EscalationOptions {
  authorizer: Authorizer;
  /** RBAC: the rules a user holds through bindings, and the rules a roleRef names. */
  rbac: RuleResolver & { roleRefRules(ref: RoleRef, namespace: string): PolicyRule[] | string };
}

export function rbacEscalationAdmission(o: EscalationOptions): AdmissionPlugin {
  const allowedBy = (user: UserInfo, verb: string, resource: string, namespace: string, name: string) => {
    const attrs: Attributes = { user, verb, resourceRequest: true, namespace, apiGroup: RBAC_GROUP, apiVersion: '*', resource, subresource: '', name, path: '' };
    return o.authorizer.authorize(attrs).decision === 'Allow';
  };
  return {
    name: RBAC_ESCALATION,
    admit(a) {
      if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
      if (a.resource.group !== RBAC_GROUP || a.subresource) return;
      const user = a.user;
      if (!user || privileged(user)) return;
      if (a.operation === 'UPDATE' && onlyGCFields(a.object, a.oldObject)) return;
      const obj = a.object as Json;
      const name: string = obj?.metadata?.name ?? a.name;
      const gr = { group: RBAC_GROUP, resource: a.resource.plural };
      switch (a.resource.plural) {
        case 'roles':
        case 'clusterroles': {
          if (a.operation === 'CREATE' && allowedBy(user, 'escalate', a.resource.plural, a.namespace, a.name)) return;
          const why = confirmNoEscalation(o.rbac, user, a.namespace, obj?.rules ?? []);
          if (why) throw forbidden(gr, name, why);
          if (a.resource.plural === 'clusterroles' && obj?.aggregationRule && confirmNoEscalation(o.rbac, user, a.namespace, FULL_AUTHORITY)) {
            throw forbidden(gr, name, 'must have cluster-admin privileges to use the aggregationRule');
          }
          return;
        }
        case 'rolebindings':
        case 'clusterrolebindings': {
          const ref = (obj?.roleRef ?? {}) as RoleRef;
          const roleResource = ref.kind === 'ClusterRole' ? 'clusterroles' : ref.kind === 'Role' ? 'roles' : '';
          if (roleResource && allowedBy(user, 'bind', roleResource, a.namespace, ref.name)) return;
          const rules = o.rbac.roleRefRules(ref, a.namespace);
          if (typeof rules === 'string') throw forbidden(gr, name, rules);
          const why = confirmNoEscalation(o.rbac, user, a.namespace, rules);
          if (why) throw forbidden(gr, name, why);
          return;
        }
      }
    },
  };
}

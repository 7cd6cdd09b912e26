// Authorization: upstream's authorizer.Attributes and Decision, the union of authorizers in
// kube-apiserver's order (the privileged group first, then the configured modes: Node, RBAC), and
// the Forbidden answer exactly as upstream's responsewriters.Forbidden words it.
//
// Contracts:
// - An authorizer never throws for a policy outcome: it returns Allow, Deny or NoOpinion with a
//   reason. The union stops at the first Allow or Deny; when every member has no opinion, the
//   request is refused with the members' reasons joined by "\n" (upstream's union).
// - Attributes are plain values; authorizers never mutate them.
import { StatusError, goQuote, qualifiedResource } from '../../api/errors.ts';
import { fieldRequiresExactMatch, parseFieldSelector, type FieldRequirement } from '../../api/fields.ts';
import type { UserInfo } from '../registry.ts';
import type { RequestInfo } from '../requestinfo.ts';

export type Decision = 'Allow' | 'Deny' | 'NoOpinion';

export interface AuthorizationResult {
  decision: Decision;
  /** Why; empty when there is nothing to say. Shown after the Forbidden message when not empty. */
  reason: string;
  /** An error met while evaluating (SubjectAccessReview's status.evaluationError). */
  error?: string;
}

/** upstream's authorizer.Attributes. */
export interface Attributes {
  user: UserInfo;
  verb: string;
  /** Whether this is a request for an API resource (else a non-resource URL, `path`). */
  resourceRequest: boolean;
  namespace: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
  /** The non-resource URL path. */
  path: string;
  /** Parsed field selector requirements of list/watch requests (upstream's GetFieldSelector). */
  fieldSelector?: readonly FieldRequirement[];
}

export interface Authorizer {
  authorize(attrs: Attributes): AuthorizationResult;
}

export interface ResourceRuleInfo {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
}

export interface NonResourceRuleInfo {
  verbs: string[];
  nonResourceURLs: string[];
}

export interface RulesForResult {
  resourceRules: ResourceRuleInfo[];
  nonResourceRules: NonResourceRuleInfo[];
  /** The list is known to be partial (an authorizer that cannot enumerate its rules). */
  incomplete: boolean;
  /** Errors met while resolving, as upstream aggregates them. */
  errors: string[];
}

/** upstream's authorizer.RuleResolver: what a user may do in a namespace (SelfSubjectRulesReview). */
export interface RuleResolver {
  rulesFor(user: UserInfo, namespace: string): RulesForResult;
}

export const PRIVILEGED_GROUP = 'system:masters';
export const ALL_AUTHENTICATED = 'system:authenticated';
export const ALL_UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS_USER = 'system:anonymous';

/**
 * upstream's authorizerfactory.NewPrivilegedGroups: members of the given groups may do anything,
 * whatever the other authorizers say (it runs first).
 */
export function privilegedGroupAuthorizer(groups: string[] = [PRIVILEGED_GROUP]): Authorizer & RuleResolver {
  const set = new Set(groups);
  const member = (u: UserInfo) => u.groups.some((g) => set.has(g));
  return {
    authorize(attrs) {
      return member(attrs.user) ? { decision: 'Allow', reason: '' } : { decision: 'NoOpinion', reason: '' };
    },
    rulesFor(user) {
      if (!member(user)) return { resourceRules: [], nonResourceRules: [], incomplete: false, errors: [] };
      return {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
        errors: [],
      };
    },
  };
}

/** upstream's union authorizer: the first Allow or Deny wins; reasons of the others are joined. */
export function unionAuthorizer(members: Authorizer[]): Authorizer {
  return {
    authorize(attrs) {
      const reasons: string[] = [];
      const errors: string[] = [];
      for (const m of members) {
        const r = m.authorize(attrs);
        if (r.decision === 'Allow' || r.decision === 'Deny') return r;
        if (r.error) errors.push(r.error);
        if (r.reason) reasons.push(r.reason);
      }
      const out: AuthorizationResult = { decision: 'NoOpinion', reason: reasons.join('\n') };
      if (errors.length) out.error = errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
      return out;
    },
  };
}

/** upstream's union rule resolver: rules of every member, incomplete if any is. */
export function unionRuleResolver(members: RuleResolver[]): RuleResolver {
  return {
    rulesFor(user, namespace) {
      const out: RulesForResult = { resourceRules: [], nonResourceRules: [], incomplete: false, errors: [] };
      for (const m of members) {
        const r = m.rulesFor(user, namespace);
        out.resourceRules.push(...r.resourceRules);
        out.nonResourceRules.push(...r.nonResourceRules);
        out.incomplete ||= r.incomplete;
        out.errors.push(...r.errors);
      }
      return out;
    },
  };
}

// ------------------------------------------------------------------------- request attributes

export interface RequestLike {
  info: RequestInfo;
  user: UserInfo;
  /** The request's query (fieldSelector of list/watch). */
  query?: URLSearchParams;
}

/**
 * upstream's GetAuthorizerAttributes over rudder's RequestInfo, with two of upstream's
 * RequestInfo rules rudder's parser leaves out: a namespace object is addressed in its own
 * namespace (`/api/v1/namespaces/x` is namespace "x", name "x"), and a list or watch whose field
 * selector pins metadata.name is a request for that name.
 */
export function attributesFromRequest(r: RequestLike): Attributes {
  const info = r.info;
  const attrs: Attributes = {
    user: r.user,
    verb: info.verb,
    resourceRequest: info.isResourceRequest,
    namespace: info.namespace,
    apiGroup: info.group,
    apiVersion: info.version,
    resource: info.resource,
    subresource: info.subresource,
    name: info.name,
    path: info.path,
  };
  if (!info.isResourceRequest) return attrs;
  if (info.resource === 'namespaces' && info.name) attrs.namespace = info.name;
  if (info.verb === 'list' || info.verb === 'watch' || info.verb === 'deletecollection') {
    const fs = r.query?.get('fieldSelector');
    if (fs) {
      try {
        const sel = parseFieldSelector(fs);
        attrs.fieldSelector = sel.requirements;
        if ((info.verb === 'list' || info.verb === 'watch') && !attrs.name) {
          const n = fieldRequiresExactMatch(sel, 'metadata.name');
          if (n !== undefined) attrs.name = n;
        }
      } catch {
        // An unparsable selector authorizes as none; the handler refuses it with 400.
      }
    }
  }
  return attrs;
}

// -------------------------------------------------------------------------------- Forbidden

/** upstream's forbiddenMessage (responsewriters/errors.go). */
export function forbiddenMessage(attrs: Attributes): string {
  const username = attrs.user?.name ?? '';
  if (!attrs.resourceRequest) return `User ${goq(username)} cannot ${attrs.verb} path ${goq(attrs.path)}`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  if (attrs.namespace) {
    return `User ${goq(username)} cannot ${attrs.verb} resource ${goq(resource)} in API group ${goq(attrs.apiGroup)} in the namespace ${goq(attrs.namespace)}`;
  }
  return `User ${goq(username)} cannot ${attrs.verb} resource ${goq(resource)} in API group ${goq(attrs.apiGroup)} at the cluster scope`;
}

/**
 * upstream's responsewriters.Forbidden: the message, the authorizer's reason after ": " when there
 * is one, wrapped by apierrors.NewForbidden for the request's group/resource and name.
 */
export function forbiddenError(attrs: Attributes, reason: string): StatusError {
  const msg = forbiddenMessage(attrs);
  const err = reason ? `${msg}: ${reason}` : msg;
  const gr = { group: attrs.apiGroup, resource: attrs.resource };
  let message: string;
  if (!gr.group && !gr.resource) message = `forbidden: ${err}`;
  else if (!attrs.name) message = `${qualifiedResource(gr)} is forbidden: ${err}`;
  else message = `${qualifiedResource(gr)} ${goq(attrs.name)} is forbidden: ${err}`;
  const details: { name?: string; group?: string; kind?: string } = {};
  if (attrs.name) details.name = attrs.name;
  if (gr.group) details.group = gr.group;
  if (gr.resource) details.kind = gr.resource;
  return new StatusError({ reason: 'Forbidden', code: 403, message, details });
}

/**
 * Authorizes one request: maps it to attributes, asks the authorizer and throws upstream's 403
 * when the answer is not Allow. Returns the attributes and the result (for audit annotations).
 */
export function authorizeRequest(authz: Authorizer, r: RequestLike): { attrs: Attributes; result: AuthorizationResult } {
  const attrs = attributesFromRequest(r);
  const result = authz.authorize(attrs);
  if (result.decision !== 'Allow') throw forbiddenError(attrs, result.reason);
  return { attrs, result };
}

const goq = goQuote;

// The review kinds answered by the authorizer, as upstream's pkg/registry/authorization and
// authentication/selfsubjectreview: SubjectAccessReview (any user, for delegated checks),
// LocalSubjectAccessReview (in a namespace), SelfSubjectAccessReview (`kubectl auth can-i`),
// SelfSubjectRulesReview (`kubectl auth can-i --list`) and SelfSubjectReview
// (`kubectl auth whoami`). They are created, never stored; the answer is the object with status.
import { badRequest, field, goQuote, goSyntax, invalid, type FieldError } from '../../api/errors.ts';
import { clone, rfc3339, type KObject } from '../../api/meta.ts';
import type { Ctx } from '../http.ts';
import type { UserInfo } from '../registry.ts';
import type { Attributes, Authorizer, RuleResolver } from './authorizer.ts';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Review = (ctx: Ctx, obj: KObject) => KObject;

const AUTHZ_GROUP = 'authorization.k8s.io';

/** Go's %#v of the attributes pointer upstream's validation prints. */
function goAttrs(kind: 'ResourceAttributes' | 'NonResourceAttributes', v: Json): ReturnType<typeof goSyntax> {
  if (v == null) return goSyntax(`(*authorization.${kind})(nil)`);
  const fields =
    kind === 'NonResourceAttributes'
      ? [['Path', v.path], ['Verb', v.verb]]
      : [['Namespace', v.namespace], ['Verb', v.verb], ['Group', v.group], ['Version', v.version], ['Resource', v.resource], ['Subresource', v.subresource], ['Name', v.name]];
  return goSyntax(`&authorization.${kind}{${fields.map(([k, x]) => `${k}:${goQuote(String(x ?? ''))}`).join(', ')}}`);
}

/** upstream's ValidateSelfSubjectAccessReviewSpec (the shared part of every access review). */
function validateAttributes(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  if (spec?.resourceAttributes != null && spec?.nonResourceAttributes != null) {
    errs.push(field.invalid('spec.nonResourceAttributes', goAttrs('NonResourceAttributes', spec.nonResourceAttributes), 'cannot be specified in combination with resourceAttributes'));
  }
  if (spec?.resourceAttributes == null && spec?.nonResourceAttributes == null) {
    errs.push(field.invalid('spec.resourceAttributes', goAttrs('NonResourceAttributes', spec?.nonResourceAttributes), 'exactly one of nonResourceAttributes or resourceAttributes must be specified'));
  }
  return errs;
}

/** upstream's ResourceAttributesFrom / NonResourceAttributesFrom. */
export function reviewAttributes(user: UserInfo, spec: Json): Attributes {
  const ra = spec?.resourceAttributes;
  if (ra) {
    return {
      user,
      verb: String(ra.verb ?? ''),
      resourceRequest: true,
      namespace: String(ra.namespace ?? ''),
      apiGroup: String(ra.group ?? ''),
      apiVersion: ra.version ? String(ra.version) : '*',
      resource: String(ra.resource ?? ''),
      subresource: String(ra.subresource ?? ''),
      name: String(ra.name ?? ''),
      path: '',
    };
  }
  const nra = spec?.nonResourceAttributes ?? {};
  return { user, verb: String(nra.verb ?? ''), resourceRequest: false, namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '', path: String(nra.path ?? '') };
}

/** The user a SubjectAccessReview's spec names. */
function specUser(spec: Json): UserInfo {
  const u: UserInfo = { name: String(spec?.user ?? ''), groups: Array.isArray(spec?.groups) ? spec.groups.map(String) : [] };
  if (spec?.uid) u.uid = String(spec.uid);
  if (spec?.extra && typeof spec.extra === 'object') u.extra = spec.extra;
  return u;
}

function answer(obj: KObject, authz: Authorizer, attrs: Attributes): KObject {
  const r = authz.authorize(attrs);
  const out = clone(obj) as Json;
  out.metadata = { ...(out.metadata ?? {}), creationTimestamp: null };
  const status: Json = { allowed: r.decision === 'Allow' };
  if (r.decision === 'Deny') status.denied = true;
  if (r.reason) status.reason = r.reason;
  if (r.error) status.evaluationError = r.error;
  out.status = status;
  return out as KObject;
}

function kindOf(obj: KObject, fallback: string): string {
  return typeof obj.kind === 'string' && obj.kind ? obj.kind : fallback;
}

export interface ReviewOptions {
  authorizer: Authorizer;
  ruleResolver: RuleResolver;
  now?: () => Date;
}

/**
 * The review handlers, keyed "<group>/<plural>" as the resource handler's `reviews` map expects.
 * The requesting user is ctx.user (after impersonation).
 */
export function accessReviewHandlers(o: ReviewOptions): Map<string, Review> {
  const now = o.now ?? (() => new Date());

  const sar: Review = (_ctx, obj) => {
    const spec = (obj as Json).spec;
    const errs = validateAttributes(spec);
    if (!spec?.user && !(Array.isArray(spec?.groups) && spec.groups.length > 0)) {
      errs.push(field.invalid('spec.user', String(spec?.user ?? ''), 'at least one of user or group must be specified'));
    }
    if (errs.length) throw invalid({ group: AUTHZ_GROUP, kind: kindOf(obj, 'SubjectAccessReview') }, '', errs);
    return answer(obj, o.authorizer, reviewAttributes(specUser(spec), spec));
  };

  const lsar: Review = (ctx, obj) => {
    const namespace = ctx.info.namespace;
    const m = (obj.metadata ??= {});
    if (m.namespace && namespace && m.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (!m.namespace) m.namespace = namespace;
    const spec = (obj as Json).spec;
    const errs = validateAttributes(spec);
    if (!spec?.user && !(Array.isArray(spec?.groups) && spec.groups.length > 0)) {
      errs.push(field.invalid('spec.user', String(spec?.user ?? ''), 'at least one of user or group must be specified'));
    }
    if (spec?.resourceAttributes && String(spec.resourceAttributes.namespace ?? '') !== m.namespace) {
      errs.push(field.invalid('spec.resourceAttributes.namespace', String(spec.resourceAttributes.namespace ?? ''), 'must match metadata.namespace'));
    }
    if (spec?.nonResourceAttributes) {
      errs.push(field.invalid('spec.nonResourceAttributes', goAttrs('NonResourceAttributes', spec.nonResourceAttributes), 'disallowed on this kind of request'));
    }
    if (errs.length) throw invalid({ group: AUTHZ_GROUP, kind: kindOf(obj, 'LocalSubjectAccessReview') }, '', errs);
    if (!namespace) throw badRequest(`namespace is required on this type: ${namespace}`);
    return answer(obj, o.authorizer, reviewAttributes(specUser(spec), spec));
  };

  const ssar: Review = (ctx, obj) => {
    const spec = (obj as Json).spec;
    const errs = validateAttributes(spec);
    if (errs.length) throw invalid({ group: AUTHZ_GROUP, kind: kindOf(obj, 'SelfSubjectAccessReview') }, '', errs);
    return answer(obj, o.authorizer, reviewAttributes(ctx.user!, spec));
  };

  const ssrr: Review = (ctx, obj) => {
    const namespace = (obj as Json).spec?.namespace;
    if (!namespace) throw badRequest('no namespace on request');
    const r = o.ruleResolver.rulesFor(ctx.user!, String(namespace));
    const status: Json = {
      resourceRules: r.resourceRules.map((x) => {
        const out: Json = { verbs: x.verbs };
        if (x.apiGroups.length) out.apiGroups = x.apiGroups;
        if (x.resources.length) out.resources = x.resources;
        if (x.resourceNames && x.resourceNames.length) out.resourceNames = x.resourceNames;
        return out;
      }),
      nonResourceRules: r.nonResourceRules.map((x) => ({ verbs: x.verbs, nonResourceURLs: x.nonResourceURLs })),
      incomplete: r.incomplete,
    };
    if (r.errors.length) status.evaluationError = r.errors.length === 1 ? r.errors[0] : `[${r.errors.join(', ')}]`;
    return { apiVersion: obj.apiVersion, kind: kindOf(obj, 'SelfSubjectRulesReview'), metadata: { creationTimestamp: null }, spec: {}, status } as unknown as KObject;
  };

  const whoami: Review = (ctx, obj) => {
    const u = ctx.user!;
    const userInfo: Json = { username: u.name };
    if (u.uid) userInfo.uid = u.uid;
    userInfo.groups = u.groups;
    if (u.extra && Object.keys(u.extra).length) userInfo.extra = u.extra;
    return {
      apiVersion: obj.apiVersion,
      kind: 'SelfSubjectReview',
      metadata: { creationTimestamp: rfc3339(now()) },
      status: { userInfo },
    } as unknown as KObject;
  };

  return new Map<string, Review>([
    [`${AUTHZ_GROUP}/subjectaccessreviews`, sar],
    [`${AUTHZ_GROUP}/localsubjectaccessreviews`, lsar],
    [`${AUTHZ_GROUP}/selfsubjectaccessreviews`, ssar],
    [`${AUTHZ_GROUP}/selfsubjectrulesreviews`, ssrr],
    ['authentication.k8s.io/selfsubjectreviews', whoami],
  ]);
}

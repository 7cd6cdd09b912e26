// Review kinds that are answered, never stored: access reviews and SelfSubjectReview. Until RBAC
// arrives every authenticated user may do everything, so access reviews answer with the
// authorizer in force: allowed.
import { clone, type KObject } from '../api/meta.ts';
import type { Ctx } from './http.ts';
import type { Registry } from './registry.ts';

type Review = (ctx: Ctx, obj: KObject) => KObject;

export function reviewHandlers(_reg: Registry): Map<string, Review> {
  const allow: Review = (_ctx, obj) => {
    const out = clone(obj);
    out.metadata = { ...(out.metadata ?? {}), creationTimestamp: null } as KObject['metadata'];
    (out as Record<string, unknown>).status = { allowed: true, reason: 'rudder allows every authenticated user (no RBAC yet)' };
    return out;
  };
  const rules: Review = (_ctx, obj) => {
    const out = clone(obj);
    out.metadata = { ...(out.metadata ?? {}), creationTimestamp: null } as KObject['metadata'];
    (out as Record<string, unknown>).status = {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
      incomplete: false,
    };
    return out;
  };
  const whoami: Review = (ctx, obj) => {
    const u = ctx.user!;
    return {
      apiVersion: obj.apiVersion,
      kind: 'SelfSubjectReview',
      metadata: { creationTimestamp: null },
      status: { userInfo: { username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) } },
    };
  };
  return new Map<string, Review>([
    ['authorization.k8s.io/selfsubjectaccessreviews', allow],
    ['authorization.k8s.io/subjectaccessreviews', allow],
    ['authorization.k8s.io/localsubjectaccessreviews', allow],
    ['authorization.k8s.io/selfsubjectrulesreviews', rules],
    ['authentication.k8s.io/selfsubjectreviews', whoami],
  ]);
}

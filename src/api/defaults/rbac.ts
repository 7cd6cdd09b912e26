// rbac.authorization.k8s.io/v1 defaults, as upstream's pkg/apis/rbac/v1/defaults.go:
// roleRef.apiGroup and subjects' apiGroup fill in from the kind.

import { register } from '../validation/registry.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** SetDefaults_Subject: User and Group subjects live in the rbac group, ServiceAccounts in core. */
export function defaultSubject(s: Json): void {
  if (!s || typeof s !== 'object' || s.apiGroup) return;
  if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  else if (s.kind === 'ServiceAccount') s.apiGroup = '';
}

/** SetDefaults_RoleBinding / SetDefaults_ClusterRoleBinding, and their subjects. */
export function defaultBinding(b: Json): void {
  // roleRef is a struct upstream, so an absent one is defaulted too.
  if (!b.roleRef || typeof b.roleRef !== 'object') b.roleRef = {};
  if (!b.roleRef.apiGroup) b.roleRef.apiGroup = RBAC_GROUP;
  if (Array.isArray(b.subjects)) b.subjects.forEach(defaultSubject);
}

register(`${RBAC_GROUP}/RoleBinding`, { defaults: defaultBinding });
register(`${RBAC_GROUP}/ClusterRoleBinding`, { defaults: defaultBinding });

// Impersonation headers checked with the `impersonate` verb, as upstream's filter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from '../../api/errors.ts';
import { RBACAuthorizer } from './rbac.ts';
import { impersonate } from './impersonation.ts';
import { clusterRole, clusterRoleBinding, fedRbacCaches, role, roleBinding } from './testing.ts';

const c = fedRbacCaches();
c.put(clusterRole('impersonate-jane', [{ verbs: ['impersonate'], apiGroups: [''], resources: ['users'], resourceNames: ['jane'] }]));
c.put(clusterRole('impersonate-groups', [{ verbs: ['impersonate'], apiGroups: [''], resources: ['groups'] }]));
c.put(clusterRole('impersonate-extra', [{ verbs: ['impersonate'], apiGroups: ['authentication.k8s.io'], resources: ['userextras/scopes', 'uids'] }]));
c.put(clusterRoleBinding('bob-jane', 'impersonate-jane', [{ kind: 'User', name: 'bob' }]));
c.put(clusterRoleBinding('bob-groups', 'impersonate-groups', [{ kind: 'User', name: 'bob' }]));
c.put(clusterRoleBinding('bob-extra', 'impersonate-extra', [{ kind: 'User', name: 'bob' }]));
c.put(role('team', 'sa-impersonator', [{ verbs: ['impersonate'], apiGroups: [''], resources: ['serviceaccounts'] }]));
c.put(roleBinding('team', 'bob-sa', 'Role', 'sa-impersonator', [{ kind: 'User', name: 'bob' }]));
const authz = new RBACAuthorizer(c);
const bob = { name: 'bob', groups: ['system:authenticated'] };
const carol = { name: 'carol', groups: ['system:authenticated'] };

function refused(f: () => unknown): StatusError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof StatusError);
    return e;
  }
  assert.fail('expected a refusal');
}

describe('impersonation', () => {
  test('no impersonation headers: the user itself', () => {
    assert.equal(impersonate(bob, { 'user-agent': 'kubectl' }, authz), bob);
  });

  test('--as a permitted user: that user in system:authenticated', () => {
    assert.deepEqual(impersonate(bob, { 'impersonate-user': 'jane' }, authz), { name: 'jane', groups: ['system:authenticated'] });
  });

  test('--as a user not permitted: upstream 403', () => {
    const e = refused(() => impersonate(bob, { 'impersonate-user': 'root' }, authz));
    assert.equal(e.code, 403);
    assert.equal(e.message, 'users "root" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope');
  });

  test('a user without impersonate rights cannot impersonate anyone', () => {
    const e = refused(() => impersonate(carol, { 'impersonate-user': 'jane' }, authz));
    assert.equal(e.message, 'users "jane" is forbidden: User "carol" cannot impersonate resource "users" in API group "" at the cluster scope');
  });

  test('--as-group: the groups given, plus system:authenticated', () => {
    assert.deepEqual(impersonate(bob, { 'impersonate-user': 'jane', 'impersonate-group': ['dev', 'ops'] }, authz), { name: 'jane', groups: ['dev', 'ops', 'system:authenticated'] });
  });

  test('groups without a user: an error, as upstream', () => {
    const e = refused(() => impersonate(bob, { 'impersonate-group': 'dev' }, authz));
    assert.equal(e.code, 500);
    assert.match(e.message, /without impersonating a user$/);
  });

  test('a service account: checked in its namespace, with its groups', () => {
    assert.deepEqual(impersonate(bob, { 'impersonate-user': 'system:serviceaccount:team:builder' }, authz), {
      name: 'system:serviceaccount:team:builder',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'],
    });
    const e = refused(() => impersonate(bob, { 'impersonate-user': 'system:serviceaccount:other:builder' }, authz));
    assert.equal(e.message, 'serviceaccounts "builder" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "other"');
  });

  test('uid and extras: checked as uids and userextras/<key> in authentication.k8s.io', () => {
    assert.deepEqual(impersonate(bob, { 'impersonate-user': 'jane', 'impersonate-uid': '1234', 'impersonate-extra-scopes': ['view', 'edit'] }, authz), {
      name: 'jane',
      uid: '1234',
      groups: ['system:authenticated'],
      extra: { scopes: ['view', 'edit'] },
    });
    const e = refused(() => impersonate(bob, { 'impersonate-user': 'jane', 'impersonate-extra-reason': 'x' }, authz));
    assert.equal(e.message, 'userextras.authentication.k8s.io "x" is forbidden: User "bob" cannot impersonate resource "userextras/reason" in API group "authentication.k8s.io" at the cluster scope');
  });

  test('impersonating system:anonymous adds system:unauthenticated', () => {
    c.put(clusterRole('impersonate-anon', [{ verbs: ['impersonate'], apiGroups: [''], resources: ['users'], resourceNames: ['system:anonymous'] }]));
    c.put(clusterRoleBinding('bob-anon', 'impersonate-anon', [{ kind: 'User', name: 'bob' }]));
    assert.deepEqual(impersonate(bob, { 'impersonate-user': 'system:anonymous' }, authz), { name: 'system:anonymous', groups: ['system:unauthenticated'] });
  });
});

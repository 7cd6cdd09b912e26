// The RBAC authorizer over watch caches: bindings by user, group and service account, roles and
// cluster roles, reasons, the subject index following cache events; and the key permissions of
// upstream's default roles.
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import type { UserInfo } from '../registry.ts';
import type { Attributes } from './authorizer.ts';
import { RBACAuthorizer } from './rbac.ts';
import { aggregatedRules, rulesEqual } from './rbac-aggregation.ts';
import type { PolicyRule } from './rbac-rules.ts';
import { defaultRBACObjects } from './rbac-reconcile.ts';
import { clusterRole, clusterRoleBinding, fedRbacCaches, role, roleBinding, type FedRbacCaches } from './testing.ts';

const alice: UserInfo = { name: 'alice', groups: ['dev', 'system:authenticated'] };

function can(a: RBACAuthorizer, user: UserInfo, verb: string, resource: string, o: Partial<Attributes> = {}): boolean {
  const [res, sub] = resource.split('/');
  return a.authorize({ user, verb, resourceRequest: true, namespace: 'default', apiGroup: '', apiVersion: 'v1', resource: res!, subresource: sub ?? '', name: '', path: '', ...o }).decision === 'Allow';
}

describe('RBAC authorizer', () => {
  let c: FedRbacCaches;
  let a: RBACAuthorizer;
  beforeEach(() => {
    c = fedRbacCaches();
    c.put(clusterRole('pod-reader', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }]));
    c.put(role('default', 'cm-writer', [{ verbs: ['create'], apiGroups: [''], resources: ['configmaps'] }]));
    a = new RBACAuthorizer(c);
  });

  test('a user with no binding gets no opinion and no reason', () => {
    assert.deepEqual(a.authorize({ user: alice, verb: 'get', resourceRequest: true, namespace: 'default', apiGroup: '', apiVersion: 'v1', resource: 'pods', subresource: '', name: '', path: '' }), {
      decision: 'NoOpinion',
      reason: '',
    });
  });

  test('a ClusterRoleBinding to the user allows everywhere, with upstream reason', () => {
    c.put(clusterRoleBinding('read-pods', 'pod-reader', [{ kind: 'User', name: 'alice' }]));
    const r = a.authorize({ user: alice, verb: 'list', resourceRequest: true, namespace: 'other', apiGroup: '', apiVersion: 'v1', resource: 'pods', subresource: '', name: '', path: '' });
    assert.deepEqual(r, { decision: 'Allow', reason: 'RBAC: allowed by ClusterRoleBinding "read-pods" of ClusterRole "pod-reader" to User "alice"' });
    assert.equal(can(a, alice, 'delete', 'pods'), false);
  });

  test('a RoleBinding to a group allows in its namespace only', () => {
    c.put(roleBinding('default', 'devs', 'Role', 'cm-writer', [{ kind: 'Group', name: 'dev' }]));
    const r = a.authorize({ user: alice, verb: 'create', resourceRequest: true, namespace: 'default', apiGroup: '', apiVersion: 'v1', resource: 'configmaps', subresource: '', name: '', path: '' });
    assert.deepEqual(r, { decision: 'Allow', reason: 'RBAC: allowed by RoleBinding "devs/default" of Role "cm-writer" to Group "dev"' });
    assert.equal(can(a, alice, 'create', 'configmaps', { namespace: 'other' }), false);
    assert.equal(can(a, alice, 'create', 'configmaps', { namespace: '' }), false);
  });

  test('a RoleBinding to a ClusterRole grants its rules in the binding namespace', () => {
    c.put(roleBinding('team', 'read', 'ClusterRole', 'pod-reader', [{ kind: 'User', name: 'alice' }]));
    assert.equal(can(a, alice, 'get', 'pods', { namespace: 'team' }), true);
    assert.equal(can(a, alice, 'get', 'pods', { namespace: 'default' }), false);
  });

  test('a ServiceAccount subject without namespace means the binding namespace', () => {
    const sa: UserInfo = { name: 'system:serviceaccount:default:builder', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] };
    c.put(roleBinding('default', 'b', 'Role', 'cm-writer', [{ kind: 'ServiceAccount', name: 'builder' }]));
    const r = a.authorize({ user: sa, verb: 'create', resourceRequest: true, namespace: 'default', apiGroup: '', apiVersion: 'v1', resource: 'configmaps', subresource: '', name: '', path: '' });
    assert.equal(r.reason, 'RBAC: allowed by RoleBinding "b/default" of Role "cm-writer" to ServiceAccount "builder/default"');
    const other: UserInfo = { ...sa, name: 'system:serviceaccount:other:builder' };
    assert.equal(can(a, other, 'create', 'configmaps'), false);
  });

  test('a binding to a missing role grants nothing and says why', () => {
    c.put(clusterRoleBinding('dangling', 'gone', [{ kind: 'Group', name: 'dev' }]));
    c.put(roleBinding('default', 'dangling', 'Role', 'missing', [{ kind: 'User', name: 'alice' }]));
    const r = a.authorize({ user: alice, verb: 'get', resourceRequest: true, namespace: 'default', apiGroup: '', apiVersion: 'v1', resource: 'pods', subresource: '', name: '', path: '' });
    assert.equal(r.decision, 'NoOpinion');
    assert.equal(r.reason, 'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "missing" not found]');
  });

  test('the index follows binding updates and deletions', () => {
    const b = clusterRoleBinding('read-pods', 'pod-reader', [{ kind: 'User', name: 'bob' }]);
    c.put(b);
    assert.equal(can(a, alice, 'get', 'pods'), false);
    c.put(clusterRoleBinding('read-pods', 'pod-reader', [{ kind: 'User', name: 'bob' }, { kind: 'User', name: 'alice' }]));
    assert.equal(can(a, alice, 'get', 'pods'), true);
    c.put(clusterRoleBinding('read-pods', 'pod-reader', [{ kind: 'User', name: 'bob' }]));
    assert.equal(can(a, alice, 'get', 'pods'), false);
    c.put(clusterRoleBinding('read-pods', 'pod-reader', [{ kind: 'Group', name: 'dev' }]));
    assert.equal(can(a, alice, 'get', 'pods'), true);
    c.remove(b);
    assert.equal(can(a, alice, 'get', 'pods'), false);
    assert.equal(a.indexedBindings, 0);
  });

  test('a user object whose groups change is decided on its new groups', () => {
    c.put(clusterRoleBinding('ops-read', 'pod-reader', [{ kind: 'Group', name: 'ops' }]));
    const u: UserInfo = { name: 'dana', groups: ['system:authenticated'] };
    assert.equal(can(a, u, 'get', 'pods'), false);
    u.groups.push('ops');
    assert.equal(can(a, u, 'get', 'pods'), true);
    u.groups = ['system:authenticated'];
    assert.equal(can(a, u, 'get', 'pods'), false);
  });

  test('role changes apply at once (roles are read from the cache per decision)', () => {
    c.put(clusterRoleBinding('read-pods', 'pod-reader', [{ kind: 'User', name: 'alice' }]));
    assert.equal(can(a, alice, 'watch', 'pods'), false);
    c.put(clusterRole('pod-reader', [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'] }]));
    assert.equal(can(a, alice, 'watch', 'pods'), true);
  });

  test('bindings present before the authorizer starts are indexed', () => {
    c.put(clusterRoleBinding('read-pods', 'pod-reader', [{ kind: 'User', name: 'alice' }]));
    const fresh = new RBACAuthorizer(c);
    assert.equal(can(fresh, alice, 'get', 'pods'), true);
    fresh.stop();
    c.put(clusterRoleBinding('other', 'pod-reader', [{ kind: 'User', name: 'carol' }]));
    assert.equal(fresh.indexedBindings, 1, 'a stopped authorizer no longer follows the cache');
  });

  test('rulesFor lists the rules of cluster-wide and namespace bindings', () => {
    c.put(clusterRoleBinding('read-pods', 'pod-reader', [{ kind: 'User', name: 'alice' }]));
    c.put(roleBinding('default', 'devs', 'Role', 'cm-writer', [{ kind: 'Group', name: 'dev' }]));
    c.put(clusterRole('urls', [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }]));
    c.put(clusterRoleBinding('urls', 'urls', [{ kind: 'Group', name: 'system:authenticated' }]));
    const r = a.rulesFor(alice, 'default');
    assert.deepEqual(
      [...r.resourceRules].sort((x, y) => x.resources[0]!.localeCompare(y.resources[0]!)),
      [
        { verbs: ['create'], apiGroups: [''], resources: ['configmaps'] },
        { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] },
      ],
    );
    assert.deepEqual(r.nonResourceRules, [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }]);
    assert.equal(a.rulesFor(alice, 'other').resourceRules.length, 1);
  });
});

describe('upstream default roles', () => {
  const c = fedRbacCaches();
  const objs = defaultRBACObjects();
  for (const o of [...objs.clusterRoles, ...objs.clusterRoleBindings, ...objs.roles, ...objs.roleBindings]) c.put(o);
  // The aggregation controller's result for admin, edit and view, repeated until nothing changes
  // (view aggregates into edit, edit into admin).
  for (let changed = true; changed; ) {
    changed = false;
    const all = c.clusterRoles.list(undefined).map((e) => e.obj);
    for (const r of all) {
      const rules = aggregatedRules(r, all);
      if (rules && !rulesEqual(rules, (r as { rules?: PolicyRule[] }).rules)) {
        c.put({ ...structuredClone(r), rules } as KObject);
        changed = true;
      }
    }
  }
  const a = new RBACAuthorizer(c);
  const bound = (role: string, user: string) => c.put(roleBinding('default', `${user}-${role}`, 'ClusterRole', role, [{ kind: 'User', name: user }]));
  bound('view', 'viewer');
  bound('edit', 'editor');
  bound('admin', 'admin');
  const u = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });

  const cases: [string, UserInfo, string, string, string, boolean][] = [
    ['view can get pods', u('viewer'), 'get', '', 'pods', true],
    ['view can list deployments', u('viewer'), 'list', 'apps', 'deployments', true],
    ['view can read pod logs', u('viewer'), 'get', '', 'pods/log', true],
    ['view cannot get secrets', u('viewer'), 'get', '', 'secrets', false],
    ['view cannot create pods', u('viewer'), 'create', '', 'pods', false],
    ['view cannot exec', u('viewer'), 'create', '', 'pods/exec', false],
    ['edit can create deployments', u('editor'), 'create', 'apps', 'deployments', true],
    ['edit can read secrets', u('editor'), 'get', '', 'secrets', true],
    ['edit can exec into pods', u('editor'), 'create', '', 'pods/exec', true],
    ['edit can scale deployments', u('editor'), 'update', 'apps', 'deployments/scale', true],
    ['edit cannot create rolebindings', u('editor'), 'create', 'rbac.authorization.k8s.io', 'rolebindings', false],
    ['edit cannot change resource quotas', u('editor'), 'update', '', 'resourcequotas', false],
    ['admin can create rolebindings', u('admin'), 'create', 'rbac.authorization.k8s.io', 'rolebindings', true],
    ['admin can create deployments', u('admin'), 'create', 'apps', 'deployments', true],
    ['admin can delete secrets', u('admin'), 'delete', '', 'secrets', true],
    ['admin cannot create namespaces', u('admin'), 'create', '', 'namespaces', false],
    ['admin has the rules of view through edit (aggregation chains)', u('admin'), 'get', 'apps', 'deployments/status', true],
    ['system:masters via cluster-admin can do anything', u('root', 'system:masters'), 'delete', 'apiextensions.k8s.io', 'customresourcedefinitions', true],
    ['any authenticated user can create a SelfSubjectAccessReview', u('nobody'), 'create', 'authorization.k8s.io', 'selfsubjectaccessreviews', true],
    ['any authenticated user can create a SelfSubjectReview', u('nobody'), 'create', 'authentication.k8s.io', 'selfsubjectreviews', true],
    ['an authenticated user cannot list pods', u('nobody'), 'list', '', 'pods', false],
    ['the scheduler can bind pods', u('system:kube-scheduler'), 'create', '', 'pods/binding', true],
    ['the scheduler cannot delete nodes', u('system:kube-scheduler'), 'delete', '', 'nodes', false],
    ['the controller manager can list everything', u('system:kube-controller-manager'), 'list', 'apps', 'deployments', true],
    ['the controller manager cannot create deployments', u('system:kube-controller-manager'), 'create', 'apps', 'deployments', false],
    ['kube-proxy can watch endpointslices', u('system:kube-proxy'), 'watch', 'discovery.k8s.io', 'endpointslices', true],
    ['kube-proxy cannot read secrets', u('system:kube-proxy'), 'get', '', 'secrets', false],
    ['the replicaset controller can create pods', u('system:serviceaccount:kube-system:replicaset-controller', 'system:serviceaccounts'), 'create', '', 'pods', true],
    ['the deployment controller cannot read secrets', u('system:serviceaccount:kube-system:deployment-controller', 'system:serviceaccounts'), 'get', '', 'secrets', false],
    ['system:nodes get nothing from RBAC (the Node authorizer decides)', u('system:node:n1', 'system:nodes'), 'get', '', 'secrets', false],
  ];
  for (const [name, user, verb, group, resource, want] of cases) {
    test(name, () => assert.equal(can(a, user, verb, resource, { apiGroup: group }), want));
  }

  const urlCases: [string, UserInfo, string, boolean][] = [
    ['authenticated users can read discovery', u('nobody'), '/apis/apps/v1', true],
    ['authenticated users can read /version', u('nobody'), '/version', true],
    ['unauthenticated users can read /healthz', { name: 'system:anonymous', groups: ['system:unauthenticated'] }, '/healthz', true],
    ['unauthenticated users cannot read discovery', { name: 'system:anonymous', groups: ['system:unauthenticated'] }, '/api', false],
    ['authenticated users cannot read /metrics', u('nobody'), '/metrics', false],
  ];
  for (const [name, user, path, want] of urlCases) {
    test(name, () => {
      const r = a.authorize({ user, verb: 'get', resourceRequest: false, namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '', path });
      assert.equal(r.decision === 'Allow', want);
    });
  }

  test('the leader-election role lets the scheduler renew its lease in kube-system', () => {
    assert.equal(can(a, u('system:kube-scheduler'), 'update', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-system', name: 'kube-scheduler' }), true);
  });
});

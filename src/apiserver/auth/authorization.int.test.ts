// Authorization inside a real API server (SQLite, watch cache, registry, admission) through the
// in-process transport: the default policy reconciled at start, RBAC decisions with upstream's
// Forbidden message, the review kinds, impersonation, aggregation and PodSecurity enforcement.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { notFoundPath } from '../../api/errors.ts';
import type { Transport } from '../../api/transport.ts';
import { apiCodecs } from '../codecs.ts';
import { createResourceHandler } from '../handlers.ts';
import { writeError, type Ctx } from '../http.ts';
import { localTransport } from '../local-transport.ts';
import type { Registry, UserInfo } from '../registry.ts';
import { startTestApiServer } from '../testing.ts';
import { createNamespace, podManifest } from '../testing-chain.ts';
import { podSecurityAdmission } from '../admission/podsecurity.ts';
import { createAuthorization, type Authorization } from './authorization.ts';
import { impersonate } from './impersonation.ts';
import { reconcileDefaultRBAC } from './rbac-reconcile.ts';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const ADMIN: UserInfo = { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
const X: UserInfo = { name: 'x', groups: ['system:authenticated'] };

let stop: () => Promise<void>;
let reg: Registry;
let authz: Authorization;
const transports: Transport[] = [];
let admin: Transport;

function as(user: UserInfo, headers?: Record<string, string>): Transport {
  const route = async (ctx: Ctx) => {
    ctx.user = impersonate(ctx.user!, ctx.req.headers, authz.authorizer);
    authz.authorize(ctx);
    if (!ctx.info.isResourceRequest) throw notFoundPath();
    return handler(ctx);
  };
  const t = localTransport(route, (ctx, e) => writeError(ctx, e), user, 'authz-test');
  transports.push(t);
  if (!headers) return t;
  return { ...t, request: (r) => t.request({ ...r, headers: { ...(r.headers ?? {}), ...headers } }) } as Transport;
}

let handler: (ctx: Ctx) => Promise<void>;

before(async () => {
  const s = await startTestApiServer();
  stop = s.stop;
  reg = s.server.registry;
  await reconcileDefaultRBAC(reg);
  authz = createAuthorization(reg);
  reg.admission = [...reg.admission, podSecurityAdmission(), authz.nodeRestriction, authz.rbacEscalation];
  handler = createResourceHandler({ reg, codecs: apiCodecs(), connect: new Map(), reviews: authz.reviews, minRequestTimeoutSeconds: 1800 });
  admin = as(ADMIN);
  await createNamespace(admin, 'team');
});

after(async () => {
  authz?.stop();
  for (const t of transports) await t.close();
  await stop?.();
});

async function bind(ns: string, name: string, roleKind: string, role: string, subject: Json) {
  const r = await admin.request({
    method: 'POST',
    path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
    body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role }, subjects: [subject] },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await reg.watchCache.sync();
}

describe('default policy reconciliation', () => {
  test('creates upstream roles and bindings with the bootstrapping label and autoupdate annotation', async () => {
    const r = await admin.request({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin' });
    assert.equal(r.status, 200);
    const o = r.body as Json;
    assert.equal(o.metadata.labels['kubernetes.io/bootstrapping'], 'rbac-defaults');
    assert.equal(o.metadata.annotations['rbac.authorization.kubernetes.io/autoupdate'], 'true');
    const b = (await admin.request({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:basic-user' })).body as Json;
    assert.deepEqual(b.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }]);
    const leader = await admin.request({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles/system::leader-locking-kube-scheduler' });
    assert.equal(leader.status, 200);
  });

  test('admin, edit and view carry the aggregated rules', async () => {
    const view = (await admin.request({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/view' })).body as Json;
    assert.ok(view.rules.some((r: Json) => r.resources.includes('pods') && r.verbs.includes('get')));
    const adminRole = (await admin.request({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/admin' })).body as Json;
    assert.ok(adminRole.rules.some((r: Json) => r.resources?.includes('rolebindings')));
    assert.ok(adminRole.rules.some((r: Json) => r.resources?.includes('pods') && r.verbs.includes('get')), 'view reaches admin through edit');
  });

  test('a second run changes nothing', async () => {
    const report = await reconcileDefaultRBAC(reg);
    assert.deepEqual(report, { created: [], updated: [], recreated: [], protected: [] });
  });

  test('missing rules come back, added subjects stay, autoupdate=false is left alone, a changed roleRef is recreated', async () => {
    const path = '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:basic-user';
    const basic = structuredClone((await admin.request({ method: 'GET', path })).body) as Json;
    basic.rules = basic.rules.slice(0, 1);
    assert.equal((await admin.request({ method: 'PUT', path, body: basic })).status, 200);
    const disc = '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:discovery';
    const d = structuredClone((await admin.request({ method: 'GET', path: disc })).body) as Json;
    d.metadata.annotations['rbac.authorization.kubernetes.io/autoupdate'] = 'false';
    d.rules = [{ verbs: ['get'], nonResourceURLs: ['/version'] }];
    assert.equal((await admin.request({ method: 'PUT', path: disc, body: d })).status, 200);
    const bpath = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:public-info-viewer';
    const b = structuredClone((await admin.request({ method: 'GET', path: bpath })).body) as Json;
    b.subjects.push({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'extra' });
    assert.equal((await admin.request({ method: 'PUT', path: bpath, body: b })).status, 200);
    const kpath = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:kube-dns';
    assert.equal((await admin.request({ method: 'DELETE', path: kpath })).status, 200);
    const wrong = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'system:kube-dns' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [] };
    assert.equal((await admin.request({ method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', body: wrong })).status, 201);

    const report = await reconcileDefaultRBAC(reg);
    assert.deepEqual(report.updated, ['clusterroles/system:basic-user']);
    assert.deepEqual(report.protected, ['clusterroles/system:discovery']);
    assert.deepEqual(report.recreated, ['clusterrolebindings/system:kube-dns']);
    const basic2 = (await admin.request({ method: 'GET', path })).body as Json;
    assert.ok(basic2.rules.some((r: Json) => r.resources?.includes('selfsubjectreviews')));
    const d2 = structuredClone((await admin.request({ method: 'GET', path: disc })).body) as Json;
    assert.deepEqual(d2.rules, [{ verbs: ['get'], nonResourceURLs: ['/version'] }]);
    const b2 = (await admin.request({ method: 'GET', path: bpath })).body as Json;
    assert.ok(b2.subjects.some((s: Json) => s.name === 'extra'));
    const k2 = (await admin.request({ method: 'GET', path: kpath })).body as Json;
    assert.equal(k2.roleRef.name, 'system:kube-dns');
    assert.deepEqual(k2.subjects, [{ kind: 'ServiceAccount', apiGroup: '', name: 'kube-dns', namespace: 'kube-system' }]);
    // Restore discovery for the tests below.
    d2.metadata.annotations['rbac.authorization.kubernetes.io/autoupdate'] = 'true';
    assert.equal((await admin.request({ method: 'PUT', path: disc, body: d2 })).status, 200);
    await reconcileDefaultRBAC(reg);
  });
});

describe('RBAC through the handler chain', () => {
  before(async () => {
    await bind('team', 'x-view', 'ClusterRole', 'view', { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'x' });
  });

  test('a user bound to view can get but not create, with upstream Forbidden', async () => {
    const x = as(X);
    assert.equal((await x.request({ method: 'GET', path: '/api/v1/namespaces/team/pods' })).status, 200);
    const r = await x.request({ method: 'POST', path: '/api/v1/namespaces/team/pods', body: podManifest('p') });
    assert.equal(r.status, 403);
    assert.equal((r.body as Json).message, 'pods is forbidden: User "x" cannot create resource "pods" in API group "" in the namespace "team"');
    assert.equal((r.body as Json).reason, 'Forbidden');
    const other = await x.request({ method: 'GET', path: '/api/v1/namespaces/default/pods' });
    assert.equal(other.status, 403);
    assert.equal((other.body as Json).message, 'pods is forbidden: User "x" cannot list resource "pods" in API group "" in the namespace "default"');
  });

  test('SelfSubjectAccessReview says yes and no (kubectl auth can-i)', async () => {
    const x = as(X);
    const ask = async (verb: string, resource: string) => {
      const r = await x.request({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'team', verb, resource } } },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return (r.body as Json).status;
    };
    const yes = await ask('list', 'pods');
    assert.equal(yes.allowed, true);
    assert.equal(yes.reason, 'RBAC: allowed by RoleBinding "x-view/team" of ClusterRole "view" to User "x"');
    assert.deepEqual(await ask('create', 'pods'), { allowed: false });
  });

  test('SelfSubjectRulesReview lists what the user may do (kubectl auth can-i --list)', async () => {
    const r = await as(X).request({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'team' } },
    });
    assert.equal(r.status, 201);
    const st = (r.body as Json).status;
    assert.equal(st.incomplete, false);
    assert.ok(st.resourceRules.some((x: Json) => x.resources.includes('pods') && x.verbs.includes('list')));
    assert.ok(st.resourceRules.some((x: Json) => x.resources.includes('selfsubjectaccessreviews')));
    assert.ok(st.nonResourceRules.some((x: Json) => x.nonResourceURLs.includes('/version')));
    const none = await as(X).request({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'default' } },
    });
    assert.ok(!(none.body as Json).status.resourceRules.some((x: Json) => x.resources.includes('pods')));
  });

  test('SelfSubjectReview tells who the user is (kubectl auth whoami)', async () => {
    const r = await as(X).request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.equal(r.status, 201);
    assert.deepEqual((r.body as Json).status.userInfo, { username: 'x', groups: ['system:authenticated'] });
  });

  test('SubjectAccessReview needs the right to create one, then answers for any user', async () => {
    const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'x', resourceAttributes: { namespace: 'team', verb: 'get', resource: 'pods' } } };
    const refused = await as(X).request({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body });
    assert.equal(refused.status, 403);
    const r = await admin.request({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body });
    assert.equal(r.status, 201);
    assert.equal((r.body as Json).status.allowed, true);
    const invalid = await admin.request({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body: { ...body, spec: { resourceAttributes: body.spec.resourceAttributes } } });
    assert.equal(invalid.status, 422);
    assert.equal((invalid.body as Json).message, 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified');
  });

  test('impersonation: the admin acting as x is refused what x may not do', async () => {
    const asX = as(ADMIN, { 'impersonate-user': 'x' });
    assert.equal((await asX.request({ method: 'GET', path: '/api/v1/namespaces/team/pods' })).status, 200);
    const r = await asX.request({ method: 'DELETE', path: '/api/v1/namespaces/team/pods/none' });
    assert.equal(r.status, 403);
    assert.equal((r.body as Json).message, 'pods "none" is forbidden: User "x" cannot delete resource "pods" in API group "" in the namespace "team"');
    const byX = await as(X, { 'impersonate-user': 'system:admin' }).request({ method: 'GET', path: '/api/v1/pods' });
    assert.equal(byX.status, 403);
    assert.equal((byX.body as Json).message, 'users "system:admin" is forbidden: User "x" cannot impersonate resource "users" in API group "" at the cluster scope');
  });

  test("a service account's token cannot list secrets until a RoleBinding allows it", async () => {
    const sa: UserInfo = { name: 'system:serviceaccount:team:default', groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'] };
    const r = await as(sa).request({ method: 'GET', path: '/api/v1/namespaces/team/secrets' });
    assert.equal(r.status, 403);
    assert.equal((r.body as Json).message, 'secrets is forbidden: User "system:serviceaccount:team:default" cannot list resource "secrets" in API group "" in the namespace "team"');
    await admin.request({
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles',
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'secret-reader' }, rules: [{ verbs: ['list'], apiGroups: [''], resources: ['secrets'] }] },
    });
    await bind('team', 'sa-secrets', 'Role', 'secret-reader', { kind: 'ServiceAccount', name: 'default', namespace: 'team' });
    assert.equal((await as(sa).request({ method: 'GET', path: '/api/v1/namespaces/team/secrets' })).status, 200);
  });

  test('a ClusterRole labelled aggregate-to-view extends view at once', async () => {
    const r = await admin.request({
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'widget-viewer', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['limitranges/widgets'] }] },
    });
    assert.equal(r.status, 201);
    await reg.watchCache.sync();
    await authz.aggregator!.idle();
    await reg.watchCache.sync();
    const view = (await admin.request({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/view' })).body as Json;
    assert.ok(view.rules.some((x: Json) => x.resources.includes('limitranges/widgets')));
  });
});

describe('RBAC escalation prevention', () => {
  const nsAdmin: UserInfo = { name: 'boss', groups: ['system:authenticated'] };
  before(async () => {
    await bind('team', 'boss-admin', 'ClusterRole', 'admin', { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'boss' });
  });
  const createRole = (rules: unknown[]) =>
    as(nsAdmin).request({ method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles', body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `r-${Math.random().toString(36).slice(2, 8)}` }, rules } });

  test('a namespace admin can create a role with permissions it holds', async () => {
    const r = await createRole([{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }]);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });

  test('but not one granting more, with upstream message', async () => {
    const r = await createRole([{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }, { verbs: ['create', 'delete'], apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'] }]);
    assert.equal(r.status, 403);
    assert.match(
      (r.body as Json).message,
      /^roles\.rbac\.authorization\.k8s\.io "r-\w+" is forbidden: user "boss" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["nodes"\], Verbs:\["get"\]\}\n\{APIGroups:\["apiextensions\.k8s\.io"\], Resources:\["customresourcedefinitions"\], Verbs:\["create" "delete"\]\}$/,
    );
  });

  test('a namespace admin cannot bind cluster-admin, unless allowed to bind it', async () => {
    const body = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'escalate' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'boss' }] };
    const r = await as(nsAdmin).request({ method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', body });
    assert.equal(r.status, 403);
    assert.match((r.body as Json).message, /^rolebindings\.rbac\.authorization\.k8s\.io "escalate" is forbidden: user "boss" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:/);
    await admin.request({
      method: 'POST',
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'bind-cluster-admin' }, rules: [{ verbs: ['bind'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['cluster-admin'] }] },
    });
    await bind('team', 'boss-may-bind', 'ClusterRole', 'bind-cluster-admin', { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'boss' });
    const ok = await as(nsAdmin).request({ method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', body });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });
});

describe('PodSecurity in the admission chain', () => {
  test('a privileged pod is refused in a restricted namespace with upstream message', async () => {
    await createNamespace(admin, 'locked');
    const ns = structuredClone((await admin.request({ method: 'GET', path: '/api/v1/namespaces/locked' })).body) as Json;
    ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'pod-security.kubernetes.io/enforce': 'restricted' };
    assert.equal((await admin.request({ method: 'PUT', path: '/api/v1/namespaces/locked', body: ns })).status, 200);
    await reg.watchCache.sync();
    const r = await admin.request({ method: 'POST', path: '/api/v1/namespaces/locked/pods', body: podManifest('priv', [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }]) });
    assert.equal(r.status, 403);
    assert.equal(
      (r.body as Json).message,
      'pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
  });

  test('an invalid level label on a new namespace is refused', async () => {
    const r = await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'badlabel', labels: { 'pod-security.kubernetes.io/enforce': 'strict' } } } });
    assert.equal(r.status, 422);
    assert.equal((r.body as Json).message, 'Namespace "badlabel" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted');
  });
});

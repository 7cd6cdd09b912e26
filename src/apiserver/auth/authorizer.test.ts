// Request attributes, the union of authorizers and upstream's Forbidden wording.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from '../../api/errors.ts';
import { parseRequestInfo } from '../requestinfo.ts';
import {
  attributesFromRequest,
  authorizeRequest,
  forbiddenError,
  privilegedGroupAuthorizer,
  unionAuthorizer,
  type Attributes,
  type Authorizer,
  type Decision,
} from './authorizer.ts';

const x = { name: 'x', groups: ['system:authenticated'] };

function req(method: string, url: string, user = x) {
  const [path, qs] = url.split('?');
  const query = new URLSearchParams(qs ?? '');
  return { info: parseRequestInfo(method, path!, query), user, query };
}

const fixed = (decision: Decision, reason = ''): Authorizer => ({ authorize: () => ({ decision, reason }) });

describe('the Forbidden message, as upstream words it', () => {
  const cases: [string, string, string][] = [
    ['POST', '/api/v1/namespaces/default/pods', 'pods is forbidden: User "x" cannot create resource "pods" in API group "" in the namespace "default"'],
    ['GET', '/api/v1/namespaces/default/pods/web', 'pods "web" is forbidden: User "x" cannot get resource "pods" in API group "" in the namespace "default"'],
    ['GET', '/api/v1/namespaces/default/pods/web/log', 'pods "web" is forbidden: User "x" cannot get resource "pods/log" in API group "" in the namespace "default"'],
    ['GET', '/api/v1/nodes', 'nodes is forbidden: User "x" cannot list resource "nodes" in API group "" at the cluster scope'],
    ['GET', '/apis/apps/v1/deployments?watch=true', 'deployments.apps is forbidden: User "x" cannot watch resource "deployments" in API group "apps" at the cluster scope'],
    ['DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterroles/admin', 'clusterroles.rbac.authorization.k8s.io "admin" is forbidden: User "x" cannot delete resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope'],
    ['GET', '/api/v1/namespaces/kube-system', 'namespaces "kube-system" is forbidden: User "x" cannot get resource "namespaces" in API group "" in the namespace "kube-system"'],
    ['GET', '/metrics', 'forbidden: User "x" cannot get path "/metrics"'],
  ];
  for (const [method, url, want] of cases) {
    test(`${method} ${url}`, () => {
      let err: unknown;
      try {
        authorizeRequest(fixed('NoOpinion'), req(method, url));
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof StatusError);
      assert.equal(err.code, 403);
      assert.equal(err.reason, 'Forbidden');
      assert.equal(err.message, want);
    });
  }

  test('the authorizer reason follows the message after ": "', () => {
    const a = attributesFromRequest(req('GET', '/api/v1/namespaces/ns/secrets/s1', { name: 'system:node:n1', groups: ['system:nodes'] }));
    const e = forbiddenError(a, "no relationship found between node 'n1' and this object");
    assert.equal(e.message, `secrets "s1" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "ns": no relationship found between node 'n1' and this object`);
    assert.deepEqual(e.status.details, { name: 's1', kind: 'secrets' });
  });

  test('details carry group and kind (the resource) as upstream', () => {
    const e = forbiddenError(attributesFromRequest(req('GET', '/apis/apps/v1/namespaces/ns/deployments/d')), '');
    assert.deepEqual(e.status.details, { name: 'd', group: 'apps', kind: 'deployments' });
  });
});

describe('request attributes', () => {
  test('a namespace object is addressed in its own namespace', () => {
    const a = attributesFromRequest(req('GET', '/api/v1/namespaces/team'));
    assert.equal(a.namespace, 'team');
    assert.equal(a.name, 'team');
    assert.equal(a.resource, 'namespaces');
  });
  test('list with a metadata.name field selector is a request for that name', () => {
    const a = attributesFromRequest(req('GET', '/api/v1/nodes?fieldSelector=metadata.name%3Dn1'));
    assert.equal(a.verb, 'list');
    assert.equal(a.name, 'n1');
  });
  test('watch keeps its field selector for the Node authorizer', () => {
    const a = attributesFromRequest(req('GET', '/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn1'));
    assert.equal(a.verb, 'watch');
    assert.deepEqual(a.fieldSelector, [{ field: 'spec.nodeName', operator: '=', value: 'n1' }]);
  });
  test('a non-resource request carries its path and lowercased method', () => {
    const a = attributesFromRequest(req('GET', '/healthz'));
    assert.equal(a.resourceRequest, false);
    assert.equal(a.path, '/healthz');
    assert.equal(a.verb, 'get');
  });
});

describe('the union of authorizers', () => {
  const attrs = attributesFromRequest(req('GET', '/api/v1/pods')) as Attributes;
  test('the first Allow wins', () => {
    assert.equal(unionAuthorizer([fixed('NoOpinion', 'a'), fixed('Allow', 'b'), fixed('Deny', 'c')]).authorize(attrs).decision, 'Allow');
  });
  test('a Deny stops the union', () => {
    assert.deepEqual(unionAuthorizer([fixed('Deny', 'no'), fixed('Allow')]).authorize(attrs), { decision: 'Deny', reason: 'no' });
  });
  test('without an opinion the reasons are joined by newlines', () => {
    assert.deepEqual(unionAuthorizer([fixed('NoOpinion', 'first'), fixed('NoOpinion', ''), fixed('NoOpinion', 'second')]).authorize(attrs), {
      decision: 'NoOpinion',
      reason: 'first\nsecond',
    });
  });
  test('system:masters is always allowed, others get no opinion from the privileged group', () => {
    const p = privilegedGroupAuthorizer();
    assert.equal(p.authorize({ ...attrs, user: { name: 'admin', groups: ['system:masters'] } }).decision, 'Allow');
    assert.equal(p.authorize(attrs).decision, 'NoOpinion');
    assert.deepEqual(p.rulesFor({ name: 'admin', groups: ['system:masters'] }, 'ns').resourceRules, [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
  });
});

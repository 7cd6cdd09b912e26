// RBAC rule matching and coverage, table-driven against upstream's semantics.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Attributes } from './authorizer.ts';
import { breakdownRule, compileRule, covers, ruleAllows, splitServiceAccountUsername, subjectAppliesTo, type PolicyRule } from './rbac-rules.ts';

const user = { name: 'alice', groups: ['dev', 'system:authenticated'] };

function res(verb: string, group: string, resource: string, o: Partial<Attributes> = {}): Attributes {
  return { user, verb, resourceRequest: true, namespace: 'ns', apiGroup: group, apiVersion: 'v1', resource, subresource: '', name: '', path: '', ...o };
}

function url(verb: string, path: string): Attributes {
  return { user, verb, resourceRequest: false, namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '', path };
}

describe('a rule allows a request', () => {
  const cases: [string, PolicyRule, Attributes, boolean][] = [
    ['matching verb, group and resource', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, res('get', '', 'pods'), true],
    ['another verb', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, res('list', '', 'pods'), false],
    ['verb *', { verbs: ['*'], apiGroups: [''], resources: ['pods'] }, res('deletecollection', '', 'pods'), true],
    ['another group', { verbs: ['get'], apiGroups: ['apps'], resources: ['pods'] }, res('get', '', 'pods'), false],
    ['group *', { verbs: ['get'], apiGroups: ['*'], resources: ['deployments'] }, res('get', 'apps', 'deployments'), true],
    ['resource *', { verbs: ['get'], apiGroups: [''], resources: ['*'] }, res('get', '', 'secrets'), true],
    ['resource * matches subresources', { verbs: ['get'], apiGroups: [''], resources: ['*'] }, res('get', '', 'pods', { subresource: 'log' }), true],
    ['the resource does not grant its subresource', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, res('get', '', 'pods', { subresource: 'log' }), false],
    ['resource/subresource', { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, res('get', '', 'pods', { subresource: 'log' }), true],
    ['resource/subresource does not grant the resource', { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, res('get', '', 'pods'), false],
    ['*/subresource', { verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, res('get', 'apps', 'deployments', { subresource: 'scale' }), true],
    ['*/subresource for another subresource', { verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, res('get', 'apps', 'deployments', { subresource: 'status' }), false],
    ['*/subresource is not a resource', { verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }, res('get', 'apps', 'deployments'), false],
    ['resourceNames listing the name', { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a', 'b'] }, res('get', '', 'configmaps', { name: 'b' }), true],
    ['resourceNames not listing the name', { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, res('get', '', 'configmaps', { name: 'c' }), false],
    ['resourceNames never allow a list (no name)', { verbs: ['list'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['a'] }, res('list', '', 'configmaps'), false],
    ['a resource rule never allows a URL', { verbs: ['get'], apiGroups: ['*'], resources: ['*'] }, url('get', '/healthz'), false],
    ['a URL', { verbs: ['get'], nonResourceURLs: ['/healthz'] }, url('get', '/healthz'), true],
    ['a URL with a trailing *', { verbs: ['get'], nonResourceURLs: ['/apis/*'] }, url('get', '/apis/apps/v1'), true],
    ['the trailing * prefix includes the bare path', { verbs: ['get'], nonResourceURLs: ['/apis*'] }, url('get', '/apis'), true],
    ['a URL without * is exact', { verbs: ['get'], nonResourceURLs: ['/api'] }, url('get', '/api/v1'), false],
    ['URL *', { verbs: ['*'], nonResourceURLs: ['*'] }, url('post', '/anything'), true],
    ['a URL rule never allows a resource', { verbs: ['*'], nonResourceURLs: ['*'] }, res('get', '', 'pods'), false],
  ];
  for (const [name, rule, attrs, want] of cases) {
    test(`${name}: ${want ? 'allowed' : 'not allowed'}`, () => {
      assert.equal(ruleAllows(attrs, rule), want);
      const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
      assert.equal(compileRule(rule).matches(attrs, combined), want, 'the compiled rule agrees');
    });
  }
});

describe('rule coverage (reconciliation and escalation checks)', () => {
  test('a rule is broken down per group, resource, verb and name', () => {
    assert.deepEqual(breakdownRule({ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'], resourceNames: ['x'] }), [
      { apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['x'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'], resourceNames: ['x'] },
    ]);
    assert.deepEqual(breakdownRule({ verbs: ['get'], nonResourceURLs: ['/a', '/b'] }), [
      { nonResourceURLs: ['/a'], verbs: ['get'] },
      { nonResourceURLs: ['/b'], verbs: ['get'] },
    ]);
  });
  const cases: [string, PolicyRule[], PolicyRule[], number][] = [
    ['* covers everything', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], [{ verbs: ['get', 'delete'], apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'] }], 0],
    ['the exact rule', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], 0],
    ['a missing verb', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }], 1],
    ['*/subresource covers r/subresource', [{ verbs: ['get'], apiGroups: ['*'], resources: ['*/scale'] }], [{ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments/scale'] }], 0],
    ['a named rule does not cover an unnamed one', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }], [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], 1],
    ['an unnamed rule covers a named one', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }], [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }], 0],
    ['a URL prefix covers longer URLs', [{ verbs: ['get'], nonResourceURLs: ['/api/*'] }], [{ verbs: ['get'], nonResourceURLs: ['/api/v1', '/apis'] }], 1],
  ];
  for (const [name, owner, servant, uncovered] of cases) {
    test(`${name}: ${uncovered} uncovered`, () => {
      const r = covers(owner, servant);
      assert.equal(r.uncovered.length, uncovered, JSON.stringify(r.uncovered));
      assert.equal(r.covered, uncovered === 0);
    });
  }
});

describe('subjects', () => {
  const sa = { name: 'system:serviceaccount:team:builder', groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'] };
  const cases: [string, { kind: string; name: string; namespace?: string }, string, typeof user, boolean][] = [
    ['User by name', { kind: 'User', name: 'alice' }, '', user, true],
    ['another User', { kind: 'User', name: 'bob' }, '', user, false],
    ['Group the user is in', { kind: 'Group', name: 'dev' }, '', user, true],
    ['Group the user is not in', { kind: 'Group', name: 'ops' }, '', user, false],
    ['ServiceAccount with its namespace', { kind: 'ServiceAccount', name: 'builder', namespace: 'team' }, 'other', sa, true],
    ['ServiceAccount defaulting to the binding namespace', { kind: 'ServiceAccount', name: 'builder' }, 'team', sa, true],
    ['ServiceAccount in another namespace', { kind: 'ServiceAccount', name: 'builder' }, 'other', sa, false],
  ];
  for (const [name, subject, ns, u, want] of cases) {
    test(`${name}: ${want}`, () => assert.equal(subjectAppliesTo(u, subject, ns), want));
  }
  test('service-account usernames split into namespace and name', () => {
    assert.deepEqual(splitServiceAccountUsername('system:serviceaccount:kube-system:default'), { namespace: 'kube-system', name: 'default' });
    assert.equal(splitServiceAccountUsername('system:serviceaccount:onlyns'), undefined);
    assert.equal(splitServiceAccountUsername('alice'), undefined);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import './rbac.ts';
import { validateCreate, validateUpdate, invalidError } from './index.ts';
import { defaultObject } from '../defaults/index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const G = 'rbac.authorization.k8s.io';
const gvk = (kind: string) => ({ group: G, version: 'v1', kind });

function create(kind: string, obj: Obj): string[] {
  const o = structuredClone(obj);
  defaultObject(gvk(kind), o);
  return validateCreate(gvk(kind), o).map(fieldErrorString);
}

function update(kind: string, obj: Obj, old: Obj): string[] {
  const o = structuredClone(obj);
  defaultObject(gvk(kind), o);
  return validateUpdate(gvk(kind), o, old).map(fieldErrorString);
}

const role = { metadata: { name: 'reader', namespace: 'default' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] };
const binding = {
  metadata: { name: 'read', namespace: 'default', resourceVersion: '1' },
  roleRef: { kind: 'Role', name: 'reader' },
  subjects: [{ kind: 'User', name: 'alice' }, { kind: 'ServiceAccount', name: 'default', namespace: 'default' }, { kind: 'Group', name: 'devs' }],
};

test('valid RBAC objects pass', () => {
  assert.deepEqual(create('Role', role), []);
  assert.deepEqual(create('ClusterRole', { metadata: { name: 'system:reader' }, rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] }), []);
  assert.deepEqual(create('RoleBinding', binding), []);
  assert.deepEqual(
    create('ClusterRoleBinding', { metadata: { name: 'crb' }, roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns' }] }),
    [],
  );
  assert.deepEqual(
    create('ClusterRole', { metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate': 'true' } }] } }),
    [],
  );
});

test('binding defaults fill roleRef and subject apiGroups', () => {
  const o = structuredClone(binding) as Obj;
  defaultObject(gvk('RoleBinding'), o);
  assert.equal(o.roleRef.apiGroup, G);
  assert.deepEqual(o.subjects.map((s: Obj) => s.apiGroup), [G, '', G]);
  const bare: Obj = { metadata: { name: 'x', namespace: 'd' } };
  defaultObject(gvk('ClusterRoleBinding'), bare);
  assert.deepEqual(bare.roleRef, { apiGroup: G });
});

test('policy rule errors', () => {
  const cases: Array<[string, Obj, string[]]> = [
    ['Role', { ...role, rules: [{ apiGroups: [''], resources: ['pods'] }] }, ['rules[0].verbs: Required value: verbs must contain at least one value']],
    [
      'Role',
      { ...role, rules: [{ verbs: ['get'] }] },
      ['rules[0].apiGroups: Required value: resource rules must supply at least one api group', 'rules[0].resources: Required value: resource rules must supply at least one resource'],
    ],
    ['Role', { ...role, rules: [{ verbs: ['get'], nonResourceURLs: ['/x'] }] }, ['rules[0].nonResourceURLs: Invalid value: []string{"/x"}: namespaced rules cannot apply to non-resource URLs']],
    [
      'ClusterRole',
      { metadata: { name: 'c' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/x'], resources: ['pods'] }] },
      ['rules[0].nonResourceURLs: Invalid value: []string{"/x"}: rules cannot apply to both regular resources and non-resource URLs'],
    ],
    ['Role', { ...role, metadata: { name: 'a/b', namespace: 'default' } }, ['metadata.name: Invalid value: "a/b": may not contain \'/\'']],
  ];
  for (const [kind, obj, want] of cases) assert.deepEqual(create(kind, obj), want, JSON.stringify(obj));
});

test('aggregationRule needs selectors and valid ones', () => {
  assert.deepEqual(create('ClusterRole', { metadata: { name: 'agg' }, aggregationRule: {} }), [
    'aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil',
  ]);
  assert.deepEqual(
    create('ClusterRole', { metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Foo' }] }] } }),
    [
      'aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator: Invalid value: "Foo": not a valid selector operator',
      'aggregationRule.clusterRoleSelectors[0]: Invalid value: "null": invalid label selector.',
    ],
  );
});

test('roleRef and subject errors', () => {
  const cases: Array<[string, Obj, string[]]> = [
    ['RoleBinding', { ...binding, roleRef: { apiGroup: 'example.com', kind: 'Role', name: 'r' } }, ['roleRef.apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"']],
    ['RoleBinding', { ...binding, roleRef: { kind: 'Pod', name: 'r' } }, ['roleRef.kind: Unsupported value: "Pod": supported values: "Role", "ClusterRole"']],
    ['ClusterRoleBinding', { metadata: { name: 'c' }, roleRef: { kind: 'Role', name: 'r' } }, ['roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"']],
    ['RoleBinding', { ...binding, roleRef: { kind: 'Role' } }, ['roleRef.name: Required value']],
    ['RoleBinding', { metadata: { name: 'x', namespace: 'd' } }, ['roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole"', 'roleRef.name: Required value']],
    ['RoleBinding', { ...binding, subjects: [{ kind: 'Robot', name: 'r2' }] }, ['subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"']],
    ['RoleBinding', { ...binding, subjects: [{ kind: 'User' }] }, ['subjects[0].name: Required value']],
    ['RoleBinding', { ...binding, subjects: [{ kind: 'User', name: 'u', apiGroup: 'x' }] }, ['subjects[0].apiGroup: Unsupported value: "x": supported values: "rbac.authorization.k8s.io"']],
    ['RoleBinding', { ...binding, subjects: [{ kind: 'ServiceAccount', name: 'sa', apiGroup: 'x' }] }, ['subjects[0].apiGroup: Unsupported value: "x": supported values: ""']],
    [
      'ClusterRoleBinding',
      { metadata: { name: 'c' }, roleRef: { kind: 'ClusterRole', name: 'r' }, subjects: [{ kind: 'ServiceAccount', name: 'sa' }] },
      ['subjects[0].namespace: Required value'],
    ],
  ];
  for (const [kind, obj, want] of cases) assert.deepEqual(create(kind, obj), want, JSON.stringify(obj));
});

test('roleRef cannot change on update, with upstream message', () => {
  const old = structuredClone(binding) as Obj;
  defaultObject(gvk('RoleBinding'), old);
  const changed = { ...binding, roleRef: { kind: 'ClusterRole', name: 'view' } };
  const errs = update('RoleBinding', changed, old);
  assert.deepEqual(errs, ['roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"view"}: cannot change roleRef']);
  const o = structuredClone(changed) as Obj;
  defaultObject(gvk('RoleBinding'), o);
  assert.equal(
    invalidError(gvk('RoleBinding'), o, validateUpdate(gvk('RoleBinding'), o, old)).message,
    'RoleBinding.rbac.authorization.k8s.io "read" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"view"}: cannot change roleRef',
  );
  assert.deepEqual(update('RoleBinding', { ...binding, subjects: [] }, old), []);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorString, invalid } from '../errors.ts';
import { validateObjectMeta, validateObjectMetaUpdate, validateLabelSelector, labelSelectorMatches } from './meta.ts';
import { nameIsDNSSubdomain, validateNamespaceName } from './names.ts';

const strs = (errs: ReturnType<typeof validateObjectMeta>) => errs.map(fieldErrorString);

test('a name or generateName is required', () => {
  assert.deepEqual(strs(validateObjectMeta({ namespace: 'default' }, true, nameIsDNSSubdomain)), [
    'metadata.name: Required value: name or generateName is required',
  ]);
  assert.deepEqual(strs(validateObjectMeta({ name: 'x', namespace: 'default' }, true, nameIsDNSSubdomain)), []);
});

test('namespaced kinds need a namespace; cluster-scoped kinds forbid one', () => {
  assert.deepEqual(strs(validateObjectMeta({ name: 'x' }, true, nameIsDNSSubdomain)), ['metadata.namespace: Required value']);
  assert.deepEqual(strs(validateObjectMeta({ name: 'x', namespace: 'a' }, false, validateNamespaceName)), [
    'metadata.namespace: Forbidden: not allowed on this type',
  ]);
});

test('invalid names are reported with the name validator message, aggregated as upstream', () => {
  const errs = validateObjectMeta({ name: 'Bad_Name', namespace: 'default' }, true, nameIsDNSSubdomain);
  assert.equal(
    invalid({ group: '', kind: 'ConfigMap' }, 'Bad_Name', errs).message,
    `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  );
});

test('annotations larger than 256 KiB in total are too long', () => {
  const errs = validateObjectMeta({ name: 'x', namespace: 'd', annotations: { big: 'x'.repeat(262144) } }, true, nameIsDNSSubdomain);
  assert.deepEqual(strs(errs), ['metadata.annotations: Too long: may not be more than 262144 bytes']);
});

test('labels: bad keys and values name the labels map', () => {
  const errs = validateObjectMeta({ name: 'x', namespace: 'd', labels: { 'a b': 'ok', k: '-bad' } }, true, nameIsDNSSubdomain);
  assert.equal(errs.length, 2);
  assert.ok(errs.every((e) => e.field === 'metadata.labels' && e.type === 'FieldValueInvalid'));
  assert.equal(errs[1]!.badValue, '-bad');
});

test('finalizers: unqualified non-standard names and orphan+foreground together are invalid', () => {
  assert.deepEqual(strs(validateObjectMeta({ name: 'x', namespace: 'd', finalizers: ['example.com/f', 'kubernetes'] }, true, nameIsDNSSubdomain)), []);
  assert.deepEqual(strs(validateObjectMeta({ name: 'x', namespace: 'd', finalizers: ['custom'] }, true, nameIsDNSSubdomain)), [
    'metadata.finalizers[0]: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified',
  ]);
  assert.deepEqual(strs(validateObjectMeta({ name: 'x', namespace: 'd', finalizers: ['orphan', 'foregroundDeletion'] }, true, nameIsDNSSubdomain)), [
    'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set',
  ]);
});

test('ownerReferences need apiVersion, kind, name, uid and at most one controller', () => {
  const errs = validateObjectMeta(
    {
      name: 'x',
      namespace: 'd',
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: '1', controller: true },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: '2', controller: true },
        { apiVersion: '', kind: '', name: '', uid: '' },
      ],
    },
    true,
    nameIsDNSSubdomain,
  );
  const fields = errs.map((e) => `${e.field}|${e.detail}`);
  assert.ok(fields.some((f) => f.startsWith('metadata.ownerReferences|Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b')));
  for (const f of ['apiVersion|version must not be empty', 'kind|kind must not be empty', 'name|name must not be empty', 'uid|uid must not be empty']) {
    assert.ok(fields.includes(`metadata.ownerReferences.${f}`), f);
  }
});

test('update: immutable name, uid and a required resourceVersion', () => {
  const old = { name: 'x', namespace: 'd', uid: 'u1', resourceVersion: '5', creationTimestamp: '2024-01-02T03:04:05Z' };
  assert.deepEqual(strs(validateObjectMetaUpdate({ ...old }, old)), []);
  assert.deepEqual(strs(validateObjectMetaUpdate({ ...old, uid: 'u2', resourceVersion: '' }, old)), [
    'metadata.resourceVersion: Invalid value: "": must be specified for an update',
    'metadata.uid: Invalid value: "u2": field is immutable',
  ]);
  assert.deepEqual(strs(validateObjectMetaUpdate({ ...old, creationTimestamp: '2025-01-02T03:04:05Z' }, old)), [
    'metadata.creationTimestamp: Invalid value: 2025-01-02 03:04:05 +0000 UTC: field is immutable',
  ]);
});

test('update: no new finalizers on an object being deleted', () => {
  const old = { name: 'x', namespace: 'd', resourceVersion: '5', deletionTimestamp: '2024-01-02T03:04:05Z', finalizers: ['a.io/x'] };
  assert.deepEqual(strs(validateObjectMetaUpdate({ ...old, finalizers: ['a.io/x', 'b.io/y'] }, old)), [
    'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"b.io/y"}',
  ]);
});

test('label selectors validate operators, values and keys', () => {
  const errs = validateLabelSelector(
    {
      matchLabels: { app: 'x' },
      matchExpressions: [
        { key: 'a', operator: 'In', values: [] },
        { key: 'b', operator: 'Exists', values: ['x'] },
        { key: 'c', operator: 'Near' },
      ],
    },
    {},
    'spec.selector',
  );
  assert.deepEqual(errs.map(fieldErrorString), [
    "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    'spec.selector.matchExpressions[2].operator: Invalid value: "Near": not a valid selector operator',
  ]);
});

test('label selectors match labels', () => {
  const sel = { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] };
  assert.ok(labelSelectorMatches(sel, { app: 'x', tier: 'web' }));
  assert.ok(!labelSelectorMatches(sel, { app: 'x', tier: 'db' }));
  assert.ok(!labelSelectorMatches(sel, { app: 'y' }));
});

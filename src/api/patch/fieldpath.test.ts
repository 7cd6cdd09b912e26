import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldSet, type Path, fieldPath, pathString } from './fieldpath.ts';

const containers = fieldPath('spec', 'template', 'spec', 'containers');
const item = (name: string): Path => [...containers, { key: [['name', name]] }];

test('FieldsV1 puts "." first for a member with children and {} for a leaf', () => {
  const s = FieldSet.of([...item('app')], [...item('app'), { field: 'image' }], [...item('app'), { field: 'name' }], fieldPath('spec', 'replicas'));
  assert.deepEqual(s.toFieldsV1(), {
    'f:spec': {
      'f:replicas': {},
      'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } },
    },
  });
  assert.deepEqual(Object.keys((s.toFieldsV1()['f:spec'] as Record<string, unknown>)), ['f:replicas', 'f:template']);
});

test('FieldsV1 orders fields, then keys, then values, then indices, each sorted', () => {
  const base = fieldPath('x');
  const s = FieldSet.of(
    [...base, { index: 2 }],
    [...base, { value: 'b' }],
    [...base, { key: [['port', 80], ['protocol', 'TCP']] }],
    [...base, { field: 'zeta' }],
    [...base, { value: 'a' }],
    [...base, { field: 'alpha' }],
    [...base, { key: [['port', 443], ['protocol', 'TCP']] }],
    [...base, { index: 10 }],
  );
  assert.deepEqual(Object.keys(s.toFieldsV1()['f:x'] as Record<string, unknown>), [
    'f:alpha',
    'f:zeta',
    'k:{"port":80,"protocol":"TCP"}',
    'k:{"port":443,"protocol":"TCP"}',
    'v:"a"',
    'v:"b"',
    'i:2',
    'i:10',
  ]);
});

test('FieldsV1 decodes what upstream writes and encodes it back identically', () => {
  const wire = {
    'f:metadata': { 'f:finalizers': { '.': {}, 'v:"example.com/x"': {} }, 'f:labels': { '.': {}, 'f:app': {} } },
    'f:spec': {
      'f:ports': { '.': {}, 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} } },
      'f:selector': {},
    },
  };
  const s = FieldSet.fromFieldsV1(wire);
  assert.ok(s.has(fieldPath('metadata', 'labels')));
  assert.ok(s.has([...fieldPath('metadata', 'finalizers'), { value: 'example.com/x' }]));
  assert.ok(!s.has(fieldPath('spec')), 'a node without "." is not a member');
  assert.deepEqual(JSON.stringify(s.toFieldsV1()), JSON.stringify(wire));
});

test('FieldsV1 drops element types it does not know and rejects malformed keys', () => {
  const s = FieldSet.fromFieldsV1({ 'f:a': {}, 'z:future': {} });
  assert.deepEqual(s.toFieldsV1(), { 'f:a': {} });
  assert.throws(() => FieldSet.fromFieldsV1({ fa: {} }), /missing colon/);
  assert.throws(() => FieldSet.fromFieldsV1({ 'k:{bad': {} }));
});

test('paths print as upstream conflict messages show them', () => {
  assert.equal(pathString([...item('nginx'), { field: 'image' }]), '.spec.template.spec.containers[name="nginx"].image');
  assert.equal(pathString([...fieldPath('spec', 'ports'), { key: [['port', 80], ['protocol', 'TCP']] }]), '.spec.ports[port=80,protocol="TCP"]');
  assert.equal(pathString([...fieldPath('metadata', 'finalizers'), { value: 'a' }]), '.metadata.finalizers[="a"]');
  assert.equal(pathString([...fieldPath('spec', 'args'), { index: 0 }]), '.spec.args[0]');
});

test('difference keeps deeper paths under a removed member; recursive difference drops them', () => {
  const s = FieldSet.of(fieldPath('spec', 'strategy'), fieldPath('spec', 'strategy', 'type'));
  const strategy = FieldSet.of(fieldPath('spec', 'strategy'));
  assert.deepEqual(s.difference(strategy).paths().map(pathString), ['.spec.strategy.type']);
  assert.deepEqual(s.recursiveDifference(strategy).paths().map(pathString), []);
  assert.deepEqual(s.recursiveDifference(FieldSet.of(fieldPath('spec'))).paths(), []);
});

test('set operations never leave empty subtrees behind', () => {
  const a = FieldSet.of(fieldPath('spec', 'replicas'));
  const b = FieldSet.of(fieldPath('spec', 'replicas'));
  assert.ok(a.difference(b).empty());
  assert.deepEqual(a.difference(b).toFieldsV1(), {});
  assert.ok(a.intersection(FieldSet.of(fieldPath('spec', 'paused'))).empty());
  assert.ok(a.union(b).equals(a));
});

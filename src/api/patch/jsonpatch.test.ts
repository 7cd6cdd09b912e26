import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch } from './jsonpatch.ts';
import { isStatusError } from '../errors.ts';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web', 'app.kubernetes.io/name': 'web' } },
  spec: {
    containers: [
      { name: 'nginx', image: 'nginx:1.25', args: ['-g', 'daemon off;'] },
      { name: 'sidecar', image: 'busybox' },
    ],
  },
});

const applies: { name: string; ops: unknown[]; check: (out: ReturnType<typeof pod>) => void }[] = [
  {
    name: 'replace sets a nested value',
    ops: [{ op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.26' }],
    check: (o) => assert.equal(o.spec.containers[0].image, 'nginx:1.26'),
  },
  {
    name: 'add appends to an array with "-"',
    ops: [{ op: 'add', path: '/spec/containers/0/args/-', value: '-q' }],
    check: (o) => assert.deepEqual(o.spec.containers[0].args, ['-g', 'daemon off;', '-q']),
  },
  {
    name: 'add inserts before an index',
    ops: [{ op: 'add', path: '/spec/containers/1', value: { name: 'init', image: 'alpine' } }],
    check: (o) => assert.deepEqual(o.spec.containers.map((c) => c.name), ['nginx', 'init', 'sidecar']),
  },
  {
    name: 'add at the array length appends',
    ops: [{ op: 'add', path: '/spec/containers/2', value: { name: 'last' } }],
    check: (o) => assert.deepEqual(o.spec.containers.map((c) => c.name), ['nginx', 'sidecar', 'last']),
  },
  {
    name: 'a negative index counts from the end',
    ops: [{ op: 'remove', path: '/spec/containers/-1' }],
    check: (o) => assert.deepEqual(o.spec.containers.map((c) => c.name), ['nginx']),
  },
  {
    name: '~1 and ~0 unescape to / and ~ in keys',
    ops: [
      { op: 'replace', path: '/metadata/labels/app.kubernetes.io~1name', value: 'site' },
      { op: 'add', path: '/metadata/labels/a~0b', value: 'tilde' },
    ],
    check: (o) => assert.deepEqual(o.metadata.labels, { app: 'web', 'app.kubernetes.io/name': 'site', 'a~b': 'tilde' }),
  },
  {
    name: 'remove deletes an object member',
    ops: [{ op: 'remove', path: '/metadata/labels/app' }],
    check: (o) => assert.deepEqual(o.metadata.labels, { 'app.kubernetes.io/name': 'web' }),
  },
  {
    name: 'replace of a missing object member adds it (as the apiserver library does)',
    ops: [{ op: 'replace', path: '/spec/restartPolicy', value: 'Never' }],
    check: (o) => assert.equal((o.spec as Record<string, unknown>).restartPolicy, 'Never'),
  },
  {
    name: 'move takes the value away from its old place',
    ops: [{ op: 'move', from: '/metadata/labels/app', path: '/metadata/labels/tier' }],
    check: (o) => assert.deepEqual(o.metadata.labels, { 'app.kubernetes.io/name': 'web', tier: 'web' }),
  },
  {
    name: 'copy duplicates a subtree without aliasing it',
    ops: [
      { op: 'copy', from: '/spec/containers/0', path: '/spec/containers/-' },
      { op: 'replace', path: '/spec/containers/2/name', value: 'copy' },
    ],
    check: (o) => {
      assert.deepEqual(o.spec.containers.map((c) => c.name), ['nginx', 'sidecar', 'copy']);
      assert.deepEqual(o.spec.containers[2].args, ['-g', 'daemon off;']);
    },
  },
  {
    name: 'a passing test lets later operations run (kubectl rollout undo style)',
    ops: [
      { op: 'test', path: '/metadata/name', value: 'web' },
      { op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.24' },
    ],
    check: (o) => assert.equal(o.spec.containers[0].image, 'nginx:1.24'),
  },
  {
    name: 'test of an absent member against null passes',
    ops: [{ op: 'test', path: '/metadata/namespace', value: null }],
    check: (o) => assert.equal((o.metadata as Record<string, unknown>).namespace, undefined),
  },
  {
    name: 'add without a value adds null',
    ops: [{ op: 'add', path: '/metadata/annotations' }],
    check: (o) => assert.equal((o.metadata as Record<string, unknown>).annotations, null),
  },
];

for (const c of applies) {
  test(`JSON patch: ${c.name}`, () => {
    const doc = pod();
    const before = structuredClone(doc);
    const out = applyJsonPatch(doc, c.ops) as ReturnType<typeof pod>;
    c.check(out);
    assert.deepEqual(doc, before, 'the input document is not mutated');
  });
}

const failures: { name: string; ops: unknown[]; cause: string }[] = [
  {
    name: 'add under a missing parent',
    ops: [{ op: 'add', path: '/spec/foo/bar', value: 1 }],
    cause: 'add operation does not apply: doc is missing path: "/spec/foo/bar": missing value',
  },
  {
    name: 'remove of a missing member',
    ops: [{ op: 'remove', path: '/spec/foo' }],
    cause: "error in remove for path: '/spec/foo': Unable to remove nonexistent key: foo: missing value",
  },
  {
    name: 'failing test',
    ops: [{ op: 'test', path: '/metadata/name', value: 'other' }],
    cause: 'testing value /metadata/name failed: test failed',
  },
  {
    name: 'replace past the end of an array',
    ops: [{ op: 'replace', path: '/spec/containers/5', value: {} }],
    cause: 'replace operation does not apply: doc is missing key: /spec/containers/5: missing value',
  },
  {
    name: 'add far past the end of an array',
    ops: [{ op: 'add', path: '/spec/containers/9', value: {} }],
    cause: "error in add for path: '/spec/containers/9': Unable to access invalid index: 9: invalid index referenced",
  },
  {
    name: 'unknown operation',
    ops: [{ op: 'merge', path: '/spec', value: {} }],
    cause: 'Unexpected kind: merge',
  },
  {
    name: 'operation without a path',
    ops: [{ op: 'add', value: 1 }],
    cause: 'add operation failed to decode path: missing value',
  },
];

for (const c of failures) {
  test(`JSON patch that does not apply is upstream's generic 422: ${c.name}`, () => {
    assert.throws(
      () => applyJsonPatch(pod(), c.ops),
      (e: unknown) => {
        assert.ok(isStatusError(e));
        assert.equal(e.code, 422);
        assert.equal(e.status.reason, 'Invalid');
        assert.equal(e.status.message, 'the server rejected our request due to an error in our request');
        assert.equal(e.cause, c.cause);
        return true;
      },
    );
  });
}

test('a JSON patch body that is not a list of operations is a 400 with the decoder message', () => {
  assert.throws(
    () => applyJsonPatch(pod(), { op: 'add', path: '/x', value: 1 }),
    (e: unknown) => isStatusError(e) && e.code === 400 && e.status.reason === 'BadRequest' && e.status.message === 'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
  );
  assert.throws(
    () => applyJsonPatch(pod(), ['add']),
    (e: unknown) => isStatusError(e) && e.code === 400 && e.status.message === 'json: cannot unmarshal string into Go value of type jsonpatch.Operation',
  );
});

test('more than 10000 JSON patch operations is 413', () => {
  const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'Pod' }));
  assert.throws(
    () => applyJsonPatch(pod(), ops),
    (e: unknown) => isStatusError(e) && e.code === 413 && e.status.message === 'The allowed maximum operations in a JSON patch is 10000, got 10001',
  );
});

test('operations apply in order and a later failure leaves the input untouched', () => {
  const doc = pod();
  assert.throws(() =>
    applyJsonPatch(doc, [
      { op: 'replace', path: '/metadata/name', value: 'changed' },
      { op: 'test', path: '/metadata/name', value: 'web' },
    ]),
  );
  assert.equal(doc.metadata.name, 'web');
});

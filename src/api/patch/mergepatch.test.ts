import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMergePatch } from './mergepatch.ts';
import { isStatusError } from '../errors.ts';

// RFC 7386 appendix A, plus what `kubectl patch --type merge` and `kubectl scale` send.
const cases: { name: string; doc: unknown; patch: unknown; want: unknown }[] = [
  { name: 'replaces a member', doc: { a: 'b' }, patch: { a: 'c' }, want: { a: 'c' } },
  { name: 'adds a member', doc: { a: 'b' }, patch: { b: 'c' }, want: { a: 'b', b: 'c' } },
  { name: 'null deletes a member', doc: { a: 'b' }, patch: { a: null }, want: {} },
  { name: 'null deletes only the named member', doc: { a: 'b', b: 'c' }, patch: { a: null }, want: { b: 'c' } },
  { name: 'a scalar replaces an array', doc: { a: ['b'] }, patch: { a: 'c' }, want: { a: 'c' } },
  { name: 'an array replaces a scalar', doc: { a: 'c' }, patch: { a: ['b'] }, want: { a: ['b'] } },
  { name: 'objects merge recursively', doc: { a: { b: 'c' } }, patch: { a: { b: 'd', c: null } }, want: { a: { b: 'd' } } },
  { name: 'arrays of objects are replaced whole', doc: { a: [{ b: 'c' }] }, patch: { a: [1] }, want: { a: [1] } },
  { name: 'nested nulls in an added object are dropped', doc: {}, patch: { a: { bb: { ccc: null } } }, want: { a: { bb: {} } } },
  { name: 'an object replaces a scalar, without its nulls', doc: { e: null }, patch: { a: 1, e: { x: null } }, want: { a: 1, e: {} } },
  {
    name: 'kubectl scale: spec.replicas only',
    doc: { spec: { replicas: 1, selector: { matchLabels: { app: 'web' } } } },
    patch: { spec: { replicas: 3 } },
    want: { spec: { replicas: 3, selector: { matchLabels: { app: 'web' } } } },
  },
  {
    name: 'a list in a custom resource is replaced, not merged',
    doc: { spec: { items: [{ name: 'a' }, { name: 'b' }] } },
    patch: { spec: { items: [{ name: 'c' }] } },
    want: { spec: { items: [{ name: 'c' }] } },
  },
  { name: 'null array elements are kept', doc: {}, patch: { a: [null, { b: null }] }, want: { a: [null, {}] } },
];

for (const c of cases) {
  test(`merge patch ${c.name}`, () => {
    const doc = structuredClone(c.doc);
    assert.deepEqual(applyMergePatch(doc as never, c.patch), c.want);
    assert.deepEqual(doc, c.doc, 'the input document is not mutated');
  });
}

test('a merge patch that is an array replaces the document with it', () => {
  assert.deepEqual(applyMergePatch({ a: 1 }, [{ a: null }]), [{}]);
});

for (const bad of [null, 5, 'x', true]) {
  test(`a merge patch of ${JSON.stringify(bad)} is a 400 "Invalid JSON Patch"`, () => {
    assert.throws(
      () => applyMergePatch({ a: 1 }, bad),
      (e: unknown) => isStatusError(e) && e.code === 400 && e.status.reason === 'BadRequest' && e.status.message === 'Invalid JSON Patch',
    );
  });
}

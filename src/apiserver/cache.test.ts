import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentEncodings, type Entry } from './cache.ts';

const entry = (name: string, rev: number): Entry => ({ key: `/pods/default/${name}`, namespace: 'default', name, rev, obj: { apiVersion: 'v1', kind: 'Pod', metadata: { name } } });

test('recent encodings are shared by every lookup of the same entry', () => {
  const r = new RecentEncodings(4);
  const e = entry('a', 1);
  r.of<Buffer>(e).set('ADDED/v1', Buffer.from('x'));
  assert.equal(r.of<Buffer>(e).get('ADDED/v1')?.toString(), 'x');
  // another entry of the same object (a later revision) has encodings of its own
  assert.equal(r.of<Buffer>(entry('a', 2)).get('ADDED/v1'), undefined);
});

test('recent encodings drop the oldest entries beyond their capacity', () => {
  const r = new RecentEncodings(3);
  const es = ['a', 'b', 'c', 'd'].map((n, i) => entry(n, i + 1));
  for (const e of es) r.of<Buffer>(e).set('ADDED/v1', Buffer.from(e.name));
  assert.equal(r.size, 3);
  assert.equal(r.of<Buffer>(es[3]!).get('ADDED/v1')?.toString(), 'd');
  assert.equal(r.of<Buffer>(es[1]!).get('ADDED/v1')?.toString(), 'b');
  // the first entry was dropped: asking again starts it empty (and drops the next oldest)
  assert.equal(r.of<Buffer>(es[0]!).get('ADDED/v1'), undefined);
  assert.equal(r.size, 3);
});

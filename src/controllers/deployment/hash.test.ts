import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, computeHash, fnv32a, safeEncodeString } from './hash.ts';

const enc = (s: string) => new TextEncoder().encode(s);

test('fnv32a is FNV-1a 32-bit (published test vectors)', () => {
  assert.equal(fnv32a(enc('')), 0x811c9dc5);
  assert.equal(fnv32a(enc('a')), 0xe40c292c);
  assert.equal(fnv32a(enc('foobar')), 0xbf9cf968);
});

test('safe encoding maps every character into the consonant-and-digit alphabet by code point', () => {
  assert.equal(safeEncodeString('0123456789'), '456789bcdf');
});

test('the hash is the same for the same template whatever the key order', () => {
  const a = { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } };
  const b = { spec: { containers: [{ image: 'nginx:1', name: 'c' }] }, metadata: { labels: { tier: 'fe', app: 'web' } } };
  assert.equal(canonicalJson(a), canonicalJson(b));
  assert.equal(computeHash(a), computeHash(b));
  assert.match(computeHash(a), /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
});

test('a different template or a collisionCount gives a different hash', () => {
  const t = { spec: { containers: [{ name: 'c', image: 'nginx:1' }] } };
  const t2 = { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } };
  assert.notEqual(computeHash(t), computeHash(t2));
  assert.notEqual(computeHash(t), computeHash(t, 1));
  assert.notEqual(computeHash(t, 1), computeHash(t, 2));
  assert.equal(computeHash(t, undefined), computeHash(t, null));
});

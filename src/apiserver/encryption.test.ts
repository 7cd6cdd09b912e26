import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Encryption, defaultEncryptionConfig, prepareKey, pruneKeys, rotateKey, type EncryptionConfiguration } from './encryption.ts';

const key = (n = 32) => randomBytes(n).toString('base64');
const conf = (providers: EncryptionConfiguration['resources'][number]['providers']): EncryptionConfiguration => ({
  kind: 'EncryptionConfiguration',
  apiVersion: 'apiserver.config.k8s.io/v1',
  resources: [{ resources: ['secrets'], providers }],
});
const plain = Buffer.from('{"kind":"Secret","data":{"a":"c2VjcmV0"}}');

test('each provider round-trips with upstream\'s value prefix', () => {
  for (const kind of ['aescbc', 'aesgcm', 'secretbox'] as const) {
    const e = new Encryption(conf([{ [kind]: { keys: [{ name: 'k1', secret: key() }] } }]));
    const sealed = e.encrypt('secrets', '/registry/secrets/ns/x', plain);
    assert.ok(sealed.toString('latin1').startsWith(`k8s:enc:${kind}:v1:k1:`), kind);
    assert.ok(!sealed.includes(Buffer.from('c2VjcmV0')), `${kind} hides the value`);
    assert.deepEqual(e.decrypt('secrets', '/registry/secrets/ns/x', sealed), plain);
  }
});

test('aesgcm binds the value to its storage key', () => {
  const e = new Encryption(conf([{ aesgcm: { keys: [{ name: 'k1', secret: key() }] } }]));
  const sealed = e.encrypt('secrets', '/registry/secrets/ns/x', plain);
  assert.throws(() => e.decrypt('secrets', '/registry/secrets/ns/other', sealed));
});

test('identity first writes plain text; plain values always read; other resources pass through', () => {
  const e = new Encryption(conf([{ identity: {} }, { aescbc: { keys: [{ name: 'k1', secret: key() }] } }]));
  assert.deepEqual(e.encrypt('secrets', 'k', plain), plain);
  assert.deepEqual(e.decrypt('secrets', 'k', plain), plain);
  assert.deepEqual(e.encrypt('configmaps', 'k', plain), plain);
});

test('a value sealed with a key that is not configured is an error naming the key', () => {
  const a = new Encryption(conf([{ aescbc: { keys: [{ name: 'gone', secret: key() }] } }]));
  const b = new Encryption(conf([{ aescbc: { keys: [{ name: 'other', secret: key() }] } }]));
  assert.throws(() => b.decrypt('secrets', 'k', a.encrypt('secrets', 'k', plain)), /no aescbc key named "gone"/);
});

test('bad configurations are refused with a clear message', () => {
  assert.throws(() => new Encryption(conf([{ aescbc: { keys: [{ name: 'k', secret: key(16) }] } }])), /16 bytes; 32 are required/);
  assert.throws(() => new Encryption(conf([{ kms: { keys: [] } } as never])), /unsupported provider "kms"/);
});

test('prepare, rotate and prune move the write key as k3s\'s rotation does', () => {
  let c = defaultEncryptionConfig();
  const first = new Encryption(c).writeKey('secrets');
  c = prepareKey(c);
  assert.equal(new Encryption(c).writeKey('secrets'), first, 'prepare does not change the write key');
  const sealedOld = new Encryption(c).encrypt('secrets', 'k', plain);
  c = rotateKey(c);
  const e = new Encryption(c);
  assert.notEqual(e.writeKey('secrets'), first);
  assert.deepEqual(e.decrypt('secrets', 'k', sealedOld), plain, 'old values still read after rotate');
  assert.equal(e.current('secrets', sealedOld), false);
  assert.equal(e.current('secrets', e.encrypt('secrets', 'k', plain)), true);
  const pruned = new Encryption(pruneKeys(c));
  assert.throws(() => pruned.decrypt('secrets', 'k', sealedOld));
});

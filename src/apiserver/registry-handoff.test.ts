// The registry hands the object it just wrote to the watch cache instead of decoding the stored
// bytes again (WriteOptions.handOff): the contract of offerWritten/withdrawWritten/decode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/meta.ts';
import { Registry } from './registry.ts';
import type { WatchCache } from './cache.ts';
import type { Hooks } from './registry.ts';
import type { Store } from '../storage/store.ts';

const newRegistry = () => new Registry({} as Store, {} as WatchCache, {} as Hooks);
const cm = (data: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' }, data }) as KObject;
const bytes = (o: KObject) => Buffer.from(JSON.stringify(o));

test('decoding the value just written yields the written object itself, with the revision as resourceVersion', () => {
  const reg = newRegistry();
  const obj = cm({ a: '1' });
  const value = bytes(obj);
  reg.offerWritten('/registry/configmaps/ns/c', value, obj);
  // a store may hand back its own copy of the bytes
  const out = reg.decode('/registry/configmaps/ns/c', new Uint8Array(value), 42);
  assert.equal(out, obj);
  assert.equal(out.metadata.resourceVersion, '42');
  // the offer is used once: the next decode of the key parses
  const again = reg.decode('/registry/configmaps/ns/c', value, 43);
  assert.notEqual(again, obj);
  assert.equal(again.metadata.resourceVersion, '43');
});

test('other bytes under the offered key are decoded from the bytes, not taken from the offer', () => {
  const reg = newRegistry();
  const obj = cm({ a: '1' });
  reg.offerWritten('/registry/configmaps/ns/c', bytes(obj), obj);
  const other = cm({ a: '2' });
  const out = reg.decode('/registry/configmaps/ns/c', bytes(other), 7);
  assert.deepEqual((out as unknown as { data: unknown }).data, { a: '2' });
  assert.equal(obj.metadata.resourceVersion, undefined, 'the offered object is left alone');
});

test('a withdrawn offer (failed write) is never used', () => {
  const reg = newRegistry();
  const obj = cm({ a: '1' });
  const value = bytes(obj);
  reg.offerWritten('/registry/configmaps/ns/c', value, obj);
  reg.withdrawWritten('/registry/configmaps/ns/c', obj);
  const out = reg.decode('/registry/configmaps/ns/c', value, 9);
  assert.notEqual(out, obj);
  assert.deepEqual(out, { ...obj, metadata: { ...obj.metadata, resourceVersion: '9' } });
});

test('a frozen offered object with another resourceVersion is not used for a different revision', () => {
  const reg = newRegistry();
  const obj = cm({ a: '1' });
  const value = bytes(obj);
  obj.metadata.resourceVersion = '5';
  Object.freeze(obj.metadata);
  reg.offerWritten('/registry/configmaps/ns/c', value, obj);
  const out = reg.decode('/registry/configmaps/ns/c', value, 6);
  assert.notEqual(out, obj);
  assert.equal(out.metadata.resourceVersion, '6');
});

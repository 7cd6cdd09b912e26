import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../api/meta.ts';
import { Client } from '../client/client.ts';
import { FakeTransport } from '../client/fake-transport.ts';
import { SharedInformer } from '../client/informer.ts';
import { stripManagedFields, withoutManagedFields } from './pod-informer.ts';

const managedFields = [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:nodeName': {} } } }];
const pod = (name: string, node: string, extra: Record<string, unknown> = {}): KObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', labels: { a: 'b' }, managedFields }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] }, ...extra }) as KObject;

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(f(), 'condition not reached');
}

describe("the kubelet's pod informer", () => {
  // (The fake transport has no field selectors: the informer here holds every pod.)
  it('holds the pods without managedFields, from the list and from later watch events', async () => {
    const t = new FakeTransport();
    const pods = new Client(t).resource<KObject>('', 'pods').namespace('ns');
    await pods.create(pod('listed', 'n1'));
    const inf = new SharedInformer<KObject>(stripManagedFields(new Client(t).resource<KObject>('', 'pods')));
    inf.start();
    try {
      assert.equal(await inf.waitForSync(), true);
      assert.deepEqual(inf.indexer.list().map((p) => p.metadata.name), ['listed']);
      const listed = inf.indexer.get('ns/listed')!;
      assert.equal((listed.metadata as { managedFields?: unknown }).managedFields, undefined);
      assert.deepEqual(listed.metadata.labels, { a: 'b' });
      await pods.create(pod('watched', 'n1', { status: { phase: 'Pending' } }));
      await until(() => inf.indexer.get('ns/watched') !== undefined);
      const watched = inf.indexer.get('ns/watched')!;
      assert.equal((watched.metadata as { managedFields?: unknown }).managedFields, undefined);
      assert.deepEqual((watched as { spec?: unknown }).spec, { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] });
      assert.deepEqual((watched as { status?: unknown }).status, { phase: 'Pending' });
    } finally {
      inf.stop();
    }
  });

  it('leaves the object it was given unchanged (objects from a watch are shared, read-only)', () => {
    const p = pod('p', 'n1');
    const stripped = withoutManagedFields(p);
    assert.deepEqual((p.metadata as { managedFields?: unknown }).managedFields, managedFields);
    assert.equal((stripped.metadata as { managedFields?: unknown }).managedFields, undefined);
    assert.equal(stripped.metadata.name, 'p');
    const bare = withoutManagedFields(stripped);
    assert.equal(bare, stripped, 'an object without managedFields is not copied');
  });
});

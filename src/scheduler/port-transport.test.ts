import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { StatusError } from '../api/errors.ts';
import type { KObject, WatchEvent } from '../api/meta.ts';
import { Client } from '../client/client.ts';
import { FakeTransport } from '../client/fake-transport.ts';
import { portTransport, servePort } from './port-transport.ts';

function pair(opts: { dropManagedFields?: boolean } = {}) {
  const api = new FakeTransport();
  const { port1, port2 } = new MessageChannel();
  const serving = servePort(port1, api, opts);
  const t = portTransport(port2);
  return {
    api,
    t,
    client: new Client(t),
    async close() {
      await t.close();
      serving.close();
      port1.close();
      port2.close();
    },
  };
}

const pod = (name: string, extra: Record<string, unknown> = {}) =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', ...extra }, spec: { containers: [{ name: 'c', image: 'i' }] } }) as KObject;

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached in 1 s');
};

test('requests through the port reach the server and come back with its answer, errors as StatusErrors', async () => {
  const p = pair();
  try {
    const pods = p.client.resource<KObject>('', 'pods').namespace('default');
    const created = await pods.create(pod('a'));
    assert.equal(created.metadata.name, 'a');
    assert.ok(created.metadata.resourceVersion);
    assert.equal((await pods.get('a')).metadata.uid, created.metadata.uid);
    await assert.rejects(pods.create(pod('a')), (e: unknown) => e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists');
    await assert.rejects(pods.get('missing'), (e: unknown) => e instanceof StatusError && e.code === 404);
  } finally {
    await p.close();
  }
});

test('a watch through the port delivers the events in order and stops after close', async () => {
  const p = pair();
  try {
    const seen: WatchEvent[] = [];
    const h = p.t.watch({ method: 'GET', path: '/api/v1/namespaces/default/pods', query: { watch: 'true' } }, { onEvent: (e) => seen.push(e), onClose: () => assert.fail('closed by the server') });
    await until(() => p.api.watchCount() === 1);
    const pods = p.client.resource<KObject>('', 'pods').namespace('default');
    for (const n of ['a', 'b', 'c']) await pods.create(pod(n));
    await pods.delete('b');
    await until(() => seen.length === 4);
    assert.deepEqual(
      seen.map((e) => `${e.type} ${(e.object as KObject).metadata.name}`),
      ['ADDED a', 'ADDED b', 'ADDED c', 'DELETED b'],
    );
    h.close();
    await until(() => p.api.watchCount() === 0);
    await pods.create(pod('d'));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.length, 4);
  } finally {
    await p.close();
  }
});

test('a watch the server ends reports it once, with the error when the connection broke', async () => {
  const p = pair();
  try {
    const closes: (Error | undefined)[] = [];
    p.t.watch({ method: 'GET', path: '/api/v1/pods', query: { watch: 'true' } }, { onEvent: () => undefined, onClose: (e) => closes.push(e) });
    await until(() => p.api.watchCount() === 1);
    p.api.breakWatches();
    await until(() => closes.length === 1);
    assert.match(closes[0]!.message, /connection reset/);
  } finally {
    await p.close();
  }
});

test('with dropManagedFields, watched objects and listed items come without managedFields; a single get keeps them', async () => {
  const p = pair({ dropManagedFields: true });
  try {
    const mf = [{ manager: 'test', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }];
    const seen: WatchEvent[] = [];
    p.t.watch({ method: 'GET', path: '/api/v1/pods', query: { watch: 'true' } }, { onEvent: (e) => seen.push(e), onClose: () => undefined });
    await until(() => p.api.watchCount() === 1);
    const pods = p.client.resource<KObject>('', 'pods').namespace('default');
    await pods.create(pod('a', { managedFields: mf, labels: { app: 'x' } }));
    await until(() => seen.length === 1);
    const watched = seen[0]!.object as KObject;
    assert.equal(watched.metadata.managedFields, undefined);
    assert.deepEqual(watched.metadata.labels, { app: 'x' });
    const list = await pods.list();
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0]!.metadata.managedFields, undefined);
    assert.deepEqual((await pods.get('a')).metadata.managedFields, mf);
  } finally {
    await p.close();
  }
});

test('an aborted request rejects with an AbortError', async () => {
  const p = pair();
  try {
    let release!: () => void;
    p.api.react(() => new Promise((r) => (release = () => r(undefined))));
    const ac = new AbortController();
    const req = p.t.request({ method: 'GET', path: '/api/v1/pods', signal: ac.signal });
    await until(() => release !== undefined);
    ac.abort();
    await assert.rejects(req, (e: Error) => e.name === 'AbortError');
    release();
  } finally {
    await p.close();
  }
});

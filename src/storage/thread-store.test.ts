import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { storeContract } from './contract.ts';
import { startEtcd, type EtcdCluster } from './etcd/testing.ts';
import { openStore } from './open.ts';
import { StoreError } from './store.ts';
import { ThreadStore } from './thread-store.ts';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcd({ members: 1 });
});
after(async () => {
  await etcd?.stop();
});

storeContract('etcd on a worker thread (the server default for etcd)', async () => {
  const store = await openStore(etcd.url);
  assert.ok(store instanceof ThreadStore);
  return { store, cleanup: () => store.close() };
});

storeContract('sqlite on a worker thread', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rudder-thread-store-'));
  const store = await openStore(`sqlite://${join(dir, 'state.db')}`, { thread: true, sqlite: { compactIntervalMs: 0 } });
  assert.ok(store instanceof ThreadStore);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('ThreadStore', () => {
  it('a failed open rejects with the backend\'s own error and leaves no thread behind', async () => {
    await assert.rejects(openStore('http://127.0.0.1:1/path'), (e: unknown) => {
      assert.ok(e instanceof Error && !(e instanceof StoreError));
      assert.match(e.message, /^invalid etcd endpoint "http:\/\/127\.0\.0\.1:1\/path"/);
      return true;
    });
  });

  it('a StoreError keeps its code, its current value and its compacted revision across the thread', async () => {
    const store = await openStore(etcd.url);
    try {
      const enc = new TextEncoder();
      const rev = await store.create('/ts/k', enc.encode('v1'));
      await assert.rejects(store.create('/ts/k', enc.encode('v2')), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, 'KeyExists');
        assert.equal(new TextDecoder().decode(e.current!.value), 'v1');
        assert.equal(e.current!.modRevision, rev);
        return true;
      });
      const rev2 = await store.update('/ts/k', enc.encode('v2'), rev);
      await store.compact(rev2);
      await assert.rejects(store.list('/ts/', { revision: rev }), (e: unknown) => e instanceof StoreError && e.code === 'Compacted' && e.compactedRevision === rev2);
      await assert.rejects(store.create('/ts/x', 'not bytes' as unknown as Uint8Array), TypeError);
    } finally {
      await store.close();
    }
  });

  it('when its thread dies, pending calls fail and watches end with Unavailable', async () => {
    const store = (await openStore(etcd.url)) as ThreadStore;
    const now = await store.currentRevision();
    const ended = new Promise<StoreError>((resolve) => store.watch('/dies/', now, { onEvents: () => undefined, onError: resolve }));
    await store.get('/dies/a'); // the watch has reached the thread
    // What an uncaught failure in the thread would do.
    await (store as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const err = await ended;
    assert.equal(err.code, 'Unavailable');
    await assert.rejects(store.get('/dies/a'), (e: unknown) => e instanceof StoreError && e.code === 'Unavailable');
    await store.close();
  });

  it('after close, calls fail with Closed and a new watch ends with Closed', async () => {
    const store = await openStore(etcd.url);
    const now = await store.currentRevision();
    const open = new Promise<StoreError>((resolve) => store.watch('/closing/', now, { onEvents: () => undefined, onError: resolve }));
    await store.close();
    assert.equal((await open).code, 'Closed');
    await assert.rejects(store.get('/closing/a'), (e: unknown) => e instanceof StoreError && e.code === 'Closed');
    const late = await new Promise<StoreError>((resolve) => store.watch('/closing/', now, { onEvents: () => undefined, onError: resolve }));
    assert.equal(late.code, 'Closed');
  });
});

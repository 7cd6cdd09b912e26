import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storeContract } from '../contract.ts';
import { openStore } from '../open.ts';
import { StoreError } from '../store.ts';
import { EtcdStore } from './etcd-store.ts';
import { startEtcd, type EtcdCluster } from './testing.ts';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcd({ members: 1 });
});
after(async () => {
  await etcd?.stop();
});

storeContract('etcd', async () => {
  const store = await EtcdStore.open(etcd.url);
  return { store, cleanup: () => store.close() };
});

describe('EtcdStore', () => {
  it('the scheduled compactor compacts to the revision seen one interval earlier', async () => {
    const store = await EtcdStore.open(etcd.url, { compactIntervalMs: 150 });
    try {
      const enc = new TextEncoder();
      let rev = await store.create('/sched/k', enc.encode('0'));
      const first = rev;
      for (let i = 1; i < 5; i++) rev = await store.update('/sched/k', enc.encode(String(i)), rev);
      const deadline = Date.now() + 5000;
      while ((await store.compactedRevision()) < rev && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok((await store.compactedRevision()) >= rev);
      await assert.rejects(store.list('/sched/', { revision: first }), (e: unknown) => e instanceof StoreError && e.code === 'Compacted');
      assert.equal(new TextDecoder().decode((await store.get('/sched/k'))!.value), '4');
    } finally {
      await store.close();
    }
  });

  it('maps a compaction it did not make (etcd answering "compacted") to Compacted for list and watch', async () => {
    const store = await EtcdStore.open(etcd.url);
    try {
      const enc = new TextEncoder();
      const r1 = await store.create('/ext/a', enc.encode('1'));
      const r2 = await store.update('/ext/a', enc.encode('2'), r1);
      await store.update('/ext/a', enc.encode('3'), r2);
      const target = await store.currentRevision();
      // Compact behind the store's back, without recording it in compact_rev_key.
      await store.connection.call('Compact', { revision: target, physical: true }, true);
      await assert.rejects(store.list('/ext/', { revision: r2 }), (e: unknown) => e instanceof StoreError && e.code === 'Compacted');
      const err = await new Promise<StoreError>((resolve, reject) => {
        const w = store.watch('/ext/', r1, { onEvents: () => reject(new Error('events from a compacted revision')), onError: resolve });
        setTimeout(() => {
          w.cancel();
          reject(new Error('no Compacted error'));
        }, 5000);
      });
      assert.equal(err.code, 'Compacted');
      assert.equal(err.compactedRevision, target);
    } finally {
      await store.close();
    }
  });
});

describe('EtcdStore over TLS', () => {
  let secure: EtcdCluster;
  before(async () => {
    secure = await startEtcd({ members: 1, tls: true });
  });
  after(async () => {
    await secure?.stop();
  });

  it('connects to https endpoints with the CA and client certificate files', async () => {
    const tls = secure.tls!;
    assert.match(secure.url, /^https:\/\//);
    const store = await openStore(secure.url, tls);
    try {
      const rev = await store.create('/tls/k', new TextEncoder().encode('secret'));
      assert.equal((await store.get('/tls/k'))?.modRevision, rev);
    } finally {
      await store.close();
    }
  });

  it('fails with Unavailable when the server requires a client certificate and none is given', async () => {
    await assert.rejects(openStore(secure.url, { caFile: secure.tls!.caFile, etcd: { requestTimeoutMs: 1000 } }), (e: unknown) => {
      assert.ok(e instanceof StoreError, `not a StoreError: ${String(e)}`);
      assert.equal(e.code, 'Unavailable');
      return true;
    });
  });
});

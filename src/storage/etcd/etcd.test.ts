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

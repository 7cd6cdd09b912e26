import { after, before } from 'node:test';
import { storeContract } from '../contract.ts';
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

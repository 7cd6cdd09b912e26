// EtcdStore against a 3-member etcd cluster: a member dies mid-test and the store fails over.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StoreError, type WatchEvent } from '../store.ts';
import { EtcdStore } from './etcd-store.ts';
import { startEtcd, type EtcdCluster } from './testing.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('EtcdStore on a 3-member cluster', () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startEtcd({ members: 3 });
  });
  after(async () => {
    await etcd?.stop();
  });

  it('keeps writing and watching through the survivors when the member it uses is killed, losing no acknowledged write', { timeout: 60_000 }, async () => {
    const store = await EtcdStore.open(etcd.url, { requestTimeoutMs: 5000 });
    const prefix = '/failover/';
    const start = await store.currentRevision();
    const events: WatchEvent[] = [];
    let watchError: StoreError | undefined;
    const w = store.watch(prefix, start, {
      onEvents: (evs) => events.push(...evs),
      onError: (e) => (watchError = e),
    });
    // Requests start on the first listed endpoint; that is the member to kill.
    assert.equal(store.connection.currentEndpoint().url, etcd.endpoints[0]);

    const acked = new Map<number, { key: string; value: string }>();
    let ambiguous = 0;
    let killedAt = 0;
    let ackedAfterKill = 0;
    let stop = false;
    const record = (rev: number, key: string, value: string) => {
      acked.set(rev, { key, value });
      if (killedAt && Date.now() > killedAt) ackedAfterKill++;
    };
    const writer = async (id: number) => {
      for (let i = 0; !stop; i++) {
        const key = `${prefix}w${id}/k${i}`;
        try {
          let v = `${key}=0`;
          let rev = await store.create(key, enc.encode(v));
          record(rev, key, v);
          v = `${key}=1`;
          rev = await store.update(key, enc.encode(v), rev);
          record(rev, key, v);
        } catch (e) {
          assert.ok(e instanceof StoreError, `a driver error escaped: ${String(e)}`);
          // Unavailable: the write may or may not have happened. A retried create may then find
          // its own earlier write (KeyExists) and a retried update a moved revision (Conflict).
          assert.ok(['Unavailable', 'KeyExists', 'Conflict'].includes(e.code), `unexpected ${e.code}: ${e.message}`);
          ambiguous++;
          await sleep(20);
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, i) => writer(i));
    await sleep(400);
    const beforeKill = acked.size;
    assert.ok(beforeKill > 0, 'no write was acknowledged before the kill');
    killedAt = Date.now();
    await etcd.kill(0);
    // Keep writing until the survivors have acknowledged a good number of writes.
    const deadline = Date.now() + 20_000;
    while (ackedAfterKill < 100 && Date.now() < deadline) await sleep(50);
    stop = true;
    await Promise.all(writers);
    assert.ok(ackedAfterKill >= 100, `only ${ackedAfterKill} writes were acknowledged after the kill (${ambiguous} failed)`);
    assert.notEqual(store.connection.currentEndpoint().url, etcd.endpoints[0]);

    // The watch resumed on a survivor: it has every acknowledged write, in order, once.
    const maxAcked = Math.max(...acked.keys());
    const until = Date.now() + 15_000;
    while ((events.at(-1)?.kv.modRevision ?? 0) < maxAcked && !watchError && Date.now() < until) await sleep(50);
    w.cancel();
    assert.equal(watchError, undefined, `the watch failed: ${watchError?.message}`);
    const revs = events.map((e) => e.kv.modRevision);
    for (let i = 1; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1], `watch revisions out of order or repeated: ${revs[i - 1]}, ${revs[i]}`);
    const seen = new Map(events.map((e) => [e.kv.modRevision, e]));
    for (const [rev, a] of acked) {
      const ev = seen.get(rev);
      assert.ok(ev, `the watch missed the acknowledged write of ${a.key} at ${rev}`);
      assert.equal(ev.kv.key, a.key);
      assert.equal(dec.decode(ev.kv.value), a.value);
    }

    // A fresh watch replaying the same span from a survivor sees exactly the same events: the
    // first watch had no gap where writes that failed ambiguously did land.
    const replay: WatchEvent[] = [];
    const last = revs[revs.length - 1];
    await new Promise<void>((resolve, reject) => {
      const w2 = store.watch(prefix, start, {
        onEvents(evs) {
          replay.push(...evs);
          if (replay.at(-1)!.kv.modRevision >= last) {
            w2.cancel();
            resolve();
          }
        },
        onError: reject,
      });
    });
    assert.deepEqual(replay.filter((e) => e.kv.modRevision <= last).map((e) => e.kv.modRevision), revs);

    // And every acknowledged write is in the store with its value.
    const current = new Map((await store.list(prefix)).kvs.map((kv) => [kv.key, dec.decode(kv.value)]));
    const lastByKey = new Map<string, { rev: number; value: string }>();
    for (const [rev, a] of acked) if ((lastByKey.get(a.key)?.rev ?? 0) < rev) lastByKey.set(a.key, { rev, value: a.value });
    for (const [key, a] of lastByKey) {
      const v = current.get(key);
      assert.ok(v !== undefined, `${key} is missing`);
      if (a.value.endsWith('=1')) assert.equal(v, a.value);
    }
    await store.close();
  });

  it('fails with Unavailable when no listed endpoint answers', async () => {
    const store = await EtcdStore.open(etcd.endpoints.slice(1).join(','), { requestTimeoutMs: 1500 });
    await etcd.kill(1);
    await etcd.kill(2);
    const t0 = Date.now();
    await assert.rejects(store.create('/down/k', enc.encode('x')), (e: unknown) => e instanceof StoreError && e.code === 'Unavailable');
    await assert.rejects(store.get('/down/k'), (e: unknown) => e instanceof StoreError && e.code === 'Unavailable');
    assert.ok(Date.now() - t0 < 10_000);
    await store.close();
  });
});

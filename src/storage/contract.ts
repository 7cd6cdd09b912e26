// The contract every Store backend passes (see store.ts for the contracts themselves). Each backend's
// test file calls storeContract with a function that opens a fresh store. Every test writes under
// its own random key prefix, so the suite also runs against a shared server (etcd) whose data
// outlives one test; tests assert relations between revisions, never absolute numbers (an empty
// etcd starts at revision 1, an empty sqlite file at 0).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MAX_VALUE_BYTES, StoreError, type KeyValue, type Store, type WatchEvent } from './store.ts';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);
const s = (v: Uint8Array): string => dec.decode(v);

function uniquePrefix(): string {
  return `/contract/${randomBytes(6).toString('hex')}/`;
}

async function rejectsWith(p: Promise<unknown>, code: StoreError['code']): Promise<StoreError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  assert.fail(`expected the call to fail with ${code}, but it succeeded`);
}

/** Collects watch events and lets a test wait until a condition holds. */
class Collector {
  readonly events: WatchEvent[] = [];
  error: StoreError | undefined;
  batches = 0;
  private waiters: (() => void)[] = [];
  readonly handlers = {
    onEvents: (evs: WatchEvent[]) => {
      this.batches++;
      this.events.push(...evs);
      this.wake();
    },
    onError: (err: StoreError) => {
      this.error = err;
      this.wake();
    },
  };
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  async until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out waiting for ${what} (have ${this.events.length} events${this.error ? `, error ${this.error.code}` : ''})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  revisions(): number[] {
    return this.events.map((e) => e.kv.modRevision);
  }
}

function assertStrictlyIncreasing(revs: number[]): void {
  for (let i = 1; i < revs.length; i++) {
    assert.ok(revs[i] > revs[i - 1], `revisions not strictly increasing at ${i}: ${revs[i - 1]} then ${revs[i]}`);
  }
}

export function storeContract(name: string, open: () => Promise<OpenedStore>): void {
  const withStore = (fn: (store: Store, p: string) => Promise<void>) => async () => {
    const { store, cleanup } = await open();
    try {
      await fn(store, uniquePrefix());
    } finally {
      await cleanup();
    }
  };

  describe(`Store contract: ${name}`, () => {
    it('create stores the value and get returns it with create and mod revision equal to the returned revision', withStore(async (st, p) => {
      const before = await st.currentRevision();
      const rev = await st.create(p + 'a', b('one'));
      assert.ok(rev > before, `revision ${rev} should be greater than ${before}`);
      const kv = await st.get(p + 'a');
      assert.ok(kv);
      assert.equal(kv.key, p + 'a');
      assert.equal(s(kv.value), 'one');
      assert.equal(kv.createRevision, rev);
      assert.equal(kv.modRevision, rev);
      assert.ok((await st.currentRevision()) >= rev);
      assert.equal(await st.get(p + 'missing'), undefined);
    }));

    it('create of an existing key fails with KeyExists carrying the existing value', withStore(async (st, p) => {
      const rev = await st.create(p + 'a', b('one'));
      const err = await rejectsWith(st.create(p + 'a', b('two')), 'KeyExists');
      assert.equal(err.current?.modRevision, rev);
      assert.equal(s(err.current!.value), 'one');
      assert.equal(s((await st.get(p + 'a'))!.value), 'one');
    }));

    it('update with the current revision replaces the value, keeps createRevision and returns a larger revision', withStore(async (st, p) => {
      const r1 = await st.create(p + 'a', b('one'));
      const r2 = await st.update(p + 'a', b('two'), r1);
      assert.ok(r2 > r1);
      const kv = (await st.get(p + 'a'))!;
      assert.equal(s(kv.value), 'two');
      assert.equal(kv.createRevision, r1);
      assert.equal(kv.modRevision, r2);
    }));

    it('update with a stale revision fails with Conflict carrying the current value', withStore(async (st, p) => {
      const r1 = await st.create(p + 'a', b('one'));
      const r2 = await st.update(p + 'a', b('two'), r1);
      const err = await rejectsWith(st.update(p + 'a', b('three'), r1), 'Conflict');
      assert.equal(err.current?.modRevision, r2);
      assert.equal(s(err.current!.value), 'two');
      assert.equal(s((await st.get(p + 'a'))!.value), 'two');
    }));

    it('update or delete of a missing key fails with NotFound', withStore(async (st, p) => {
      const r = await st.create(p + 'other', b('x'));
      await rejectsWith(st.update(p + 'missing', b('x'), r), 'NotFound');
      await rejectsWith(st.delete(p + 'missing'), 'NotFound');
      await rejectsWith(st.delete(p + 'missing', r), 'NotFound');
      assert.equal(await st.get(p + 'missing'), undefined);
    }));

    it('delete returns the previous value and the key is gone; a stale expected revision fails with Conflict', withStore(async (st, p) => {
      const r1 = await st.create(p + 'a', b('one'));
      const r2 = await st.update(p + 'a', b('two'), r1);
      const err = await rejectsWith(st.delete(p + 'a', r1), 'Conflict');
      assert.equal(err.current?.modRevision, r2);
      const del = await st.delete(p + 'a', r2);
      assert.ok(del.revision > r2);
      assert.equal(s(del.prev.value), 'two');
      assert.equal(del.prev.modRevision, r2);
      assert.equal(del.prev.createRevision, r1);
      assert.equal(await st.get(p + 'a'), undefined);
      // Re-creating starts a new incarnation.
      const r4 = await st.create(p + 'a', b('again'));
      assert.equal((await st.get(p + 'a'))!.createRevision, r4);
      const plain = await st.delete(p + 'a');
      assert.equal(s(plain.prev.value), 'again');
    }));

    it('concurrent writes to one key: exactly one create wins and a failing write does not fail its neighbours', withStore(async (st, p) => {
      const results = await Promise.allSettled([
        st.create(p + 'x', b('1')),
        st.create(p + 'x', b('2')),
        st.create(p + 'y', b('y')),
        st.create(p + 'x', b('3')),
        st.create(p + 'z', b('z')),
      ]);
      const xs = [results[0], results[1], results[3]];
      assert.equal(xs.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of xs) if (r.status === 'rejected') assert.equal((r.reason as StoreError).code, 'KeyExists');
      assert.equal(results[2].status, 'fulfilled');
      assert.equal(results[4].status, 'fulfilled');
      const revs = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value);
      assert.equal(new Set(revs).size, revs.length, 'each write gets its own revision');
      assert.equal(await st.count(p), 3);
    }));

    it('list returns the keys under the prefix in key order and nothing outside it', withStore(async (st, p) => {
      for (const k of ['b', 'a', 'c/1', 'c/0']) await st.create(p + 'in/' + k, b(k));
      await st.create(p + 'in', b('the prefix itself without slash'));
      await st.create(p + 'inx/a', b('sibling'));
      const res = await st.list(p + 'in/');
      assert.deepEqual(res.kvs.map((kv) => kv.key), ['a', 'b', 'c/0', 'c/1'].map((k) => p + 'in/' + k));
      assert.deepEqual(res.kvs.map((kv) => s(kv.value)), ['a', 'b', 'c/0', 'c/1']);
      assert.equal(res.more, false);
      assert.ok(res.revision >= res.kvs[3].modRevision);
      assert.equal(await st.count(p + 'in/'), 4);
      assert.equal(await st.count(p), 6);
      assert.equal(await st.count(p + 'nothing/'), 0);
    }));

    it('list with limit and startKey pages through the keys at one revision, with more and remaining', withStore(async (st, p) => {
      const keys = Array.from({ length: 7 }, (_, i) => `${p}k${i}`);
      for (const k of keys) await st.create(k, b(k));
      const first = await st.list(p, { limit: 3 });
      assert.deepEqual(first.kvs.map((kv) => kv.key), keys.slice(0, 3));
      assert.equal(first.more, true);
      assert.equal(first.remaining, 4);
      // Writes after the first page must not show in later pages read at the first page's revision.
      await st.create(p + 'k3a', b('late'));
      await st.delete(p + 'k5');
      const cont = (kv: KeyValue) => kv.key + '\x00';
      const second = await st.list(p, { limit: 3, revision: first.revision, startKey: cont(first.kvs[2]) });
      assert.equal(second.revision, first.revision);
      assert.deepEqual(second.kvs.map((kv) => kv.key), keys.slice(3, 6));
      assert.equal(second.more, true);
      assert.equal(second.remaining, 1);
      const third = await st.list(p, { limit: 3, revision: first.revision, startKey: cont(second.kvs[2]) });
      assert.deepEqual(third.kvs.map((kv) => kv.key), keys.slice(6));
      assert.equal(third.more, false);
      assert.ok((third.remaining ?? 0) === 0);
      // The current state has the late key and lacks the deleted one.
      const now = await st.list(p);
      assert.ok(now.revision > first.revision);
      assert.deepEqual(now.kvs.map((kv) => kv.key), [...keys.slice(0, 4), p + 'k3a', keys[4], keys[6]].sort());
    }));

    it('list at an old revision sees the state as it was then', withStore(async (st, p) => {
      const r1 = await st.create(p + 'a', b('a1'));
      const r2 = await st.create(p + 'b', b('b1'));
      const r3 = await st.update(p + 'a', b('a2'), r1);
      await st.delete(p + 'b', r2);
      await st.create(p + 'c', b('c1'));
      const at = async (rev: number) => (await st.list(p, { revision: rev })).kvs.map((kv) => `${kv.key.slice(p.length)}=${s(kv.value)}@${kv.modRevision}`);
      assert.deepEqual(await at(r1), [`a=a1@${r1}`]);
      assert.deepEqual(await at(r2), [`a=a1@${r1}`, `b=b1@${r2}`]);
      assert.deepEqual(await at(r3), [`a=a2@${r3}`, `b=b1@${r2}`]);
      const cur = await st.list(p);
      assert.deepEqual(cur.kvs.map((kv) => kv.key.slice(p.length)), ['a', 'c']);
      const r = (await st.list(p, { revision: r2 })).revision;
      assert.equal(r, r2);
    }));

    it('list at a revision newer than the current one fails with FutureRevision', withStore(async (st, p) => {
      await st.create(p + 'a', b('a'));
      const cur = await st.currentRevision();
      await rejectsWith(st.list(p, { revision: cur + 1000 }), 'FutureRevision');
    }));

    it('watch delivers every later change under its prefix in order, with prevKv on updates and deletes', withStore(async (st, p) => {
      await st.create(p + 'w/old', b('before the watch'));
      const start = await st.currentRevision();
      const c = new Collector();
      const w = st.watch(p + 'w/', start, c.handlers);
      try {
        const r1 = await st.create(p + 'w/a', b('1'));
        await st.create(p + 'elsewhere', b('not watched'));
        const r2 = await st.update(p + 'w/a', b('2'), r1);
        const del = await st.delete(p + 'w/a');
        await c.until(() => c.events.length >= 3, '3 events');
        assert.equal(c.error, undefined);
        assert.deepEqual(c.revisions(), [r1, r2, del.revision]);
        const [e1, e2, e3] = c.events;
        assert.equal(e1.type, 'PUT');
        assert.equal(e1.kv.key, p + 'w/a');
        assert.equal(s(e1.kv.value), '1');
        assert.equal(e1.kv.createRevision, r1);
        assert.equal(e1.prevKv, undefined);
        assert.equal(e2.type, 'PUT');
        assert.equal(s(e2.kv.value), '2');
        assert.equal(e2.kv.createRevision, r1);
        assert.equal(s(e2.prevKv!.value), '1');
        assert.equal(e2.prevKv!.modRevision, r1);
        assert.equal(e3.type, 'DELETE');
        assert.equal(e3.kv.key, p + 'w/a');
        assert.equal(e3.kv.modRevision, del.revision);
        assert.equal(s(e3.kv.value), '2', 'a DELETE event carries the deleted value');
        assert.equal(s(e3.prevKv!.value), '2');
        assert.equal(e3.prevKv!.modRevision, r2);
      } finally {
        w.cancel();
      }
    }));

    it('a cancelled watch delivers nothing more', withStore(async (st, p) => {
      const c = new Collector();
      const w = st.watch(p, await st.currentRevision(), c.handlers);
      await st.create(p + 'a', b('1'));
      await c.until(() => c.events.length === 1, 'the first event');
      w.cancel();
      w.cancel();
      await st.create(p + 'b', b('2'));
      const c2 = new Collector();
      const w2 = st.watch(p, (await st.currentRevision()) - 1, c2.handlers);
      await c2.until(() => c2.events.length === 1, 'an event on a second watch');
      w2.cancel();
      assert.equal(c.events.length, 1);
    }));

    it('watch from a past revision replays history, then continues live under concurrent writers with no gap or duplicate', withStore(async (st, p) => {
      const acked = new Map<number, string>();
      const writer = async (id: number, n: number) => {
        for (let i = 0; i < n; i++) {
          const k = `${p}w${id}/k${i}`;
          const r1 = await st.create(k, b(`${id}-${i}`));
          acked.set(r1, `PUT ${k}`);
          if (i % 2 === 0) {
            const r2 = await st.update(k, b(`${id}-${i}-u`), r1);
            acked.set(r2, `PUT ${k}`);
          }
          if (i % 3 === 0) {
            const d = await st.delete(k);
            acked.set(d.revision, `DELETE ${k}`);
          }
        }
      };
      await Promise.all([0, 1, 2, 3].map((id) => writer(id, 6)));
      const from = [...acked.keys()].sort((x, y) => x - y)[10];
      // Start watching from the past while a second wave of concurrent writers is running.
      const wave = Promise.all([4, 5, 6, 7].map((id) => writer(id, 12)));
      await new Promise((r) => setTimeout(r, 5));
      const c = new Collector();
      const w = st.watch(p, from, c.handlers);
      const live = new Collector();
      const wLive = st.watch(p, await st.currentRevision(), live.handlers);
      try {
        await wave;
        const want = [...acked.keys()].filter((r) => r > from).sort((x, y) => x - y);
        await c.until(() => c.events.length >= want.length || c.error !== undefined, `${want.length} events`);
        assert.equal(c.error, undefined);
        const got = c.revisions();
        assertStrictlyIncreasing(got);
        assert.deepEqual(got, want);
        for (const e of c.events) assert.equal(`${e.type} ${e.kv.key}`, acked.get(e.kv.modRevision));
        // The watch that started live sees a gap-free suffix of the same stream.
        const max = want[want.length - 1];
        await live.until(() => live.events.length > 0 && live.revisions().at(-1)! >= max, 'the live watch to reach the end');
        const lr = live.revisions();
        assertStrictlyIncreasing(lr);
        assert.deepEqual(lr, want.slice(want.indexOf(lr[0])));
      } finally {
        w.cancel();
        wLive.cancel();
      }
    }));

    it('compaction keeps the newest values; reads and watches below the compacted revision fail with Compacted', withStore(async (st, p) => {
      const r1 = await st.create(p + 'a', b('a1'));
      const r2 = await st.update(p + 'a', b('a2'), r1);
      const rb = await st.create(p + 'b', b('b1'));
      const rd = (await st.delete(p + 'b')).revision;
      const rc = await st.create(p + 'c', b('c1'));
      const target = await st.currentRevision();
      await st.compact(target);
      assert.ok((await st.compactedRevision()) >= target);
      // Newest values survive and can be read and updated.
      const cur = await st.list(p);
      assert.deepEqual(cur.kvs.map((kv) => `${kv.key.slice(p.length)}=${s(kv.value)}@${kv.modRevision}`), [`a=a2@${r2}`, `c=c1@${rc}`]);
      assert.equal(s((await st.list(p, { revision: target })).kvs[0].value), 'a2');
      await rejectsWith(st.list(p, { revision: rb }), 'Compacted');
      const err = await rejectsWith(st.list(p, { revision: target - 1 }), 'Compacted');
      assert.ok((err.compactedRevision ?? target) >= target);
      // A watch from before the compacted revision fails; one from it continues.
      const old = new Collector();
      const wOld = st.watch(p, r1, old.handlers);
      await old.until(() => old.error !== undefined, 'Compacted on a watch from before the compacted revision');
      assert.equal(old.error!.code, 'Compacted');
      assert.equal(old.events.length, 0);
      wOld.cancel();
      const ok = new Collector();
      const wOk = st.watch(p, target, ok.handlers);
      const r3 = await st.update(p + 'a', b('a3'), r2);
      await ok.until(() => ok.events.length === 1, 'an event after the compacted revision');
      assert.equal(ok.events[0].kv.modRevision, r3);
      assert.equal(s(ok.events[0].prevKv!.value), 'a2');
      wOk.cancel();
      // Compacting at or below the compacted revision again changes nothing.
      await st.compact(rd);
      assert.ok((await st.compactedRevision()) >= target);
    }));

    it(`a value of ${MAX_VALUE_BYTES} bytes is stored; one byte more fails with ValueTooLarge and changes nothing`, withStore(async (st, p) => {
      const max = new Uint8Array(MAX_VALUE_BYTES).fill(7);
      const r = await st.create(p + 'big', max);
      assert.equal((await st.get(p + 'big'))!.value.byteLength, MAX_VALUE_BYTES);
      const tooBig = new Uint8Array(MAX_VALUE_BYTES + 1);
      const before = await st.currentRevision();
      await rejectsWith(st.create(p + 'big2', tooBig), 'ValueTooLarge');
      await rejectsWith(st.update(p + 'big', tooBig, r), 'ValueTooLarge');
      assert.equal(await st.get(p + 'big2'), undefined);
      assert.equal((await st.get(p + 'big'))!.modRevision, r);
      assert.equal(await st.currentRevision(), before);
    }));

    it('revisions grow strictly across writes and currentRevision never decreases', withStore(async (st, p) => {
      let last = await st.currentRevision();
      let prevRev = 0;
      const r0 = await st.create(p + 'k', b('0'));
      prevRev = r0;
      for (let i = 1; i <= 10; i++) {
        const r = await st.update(p + 'k', b(String(i)), prevRev);
        assert.ok(r > prevRev);
        prevRev = r;
        const cur = await st.currentRevision();
        assert.ok(cur >= r && cur >= last);
        last = cur;
      }
    }));
  });
}

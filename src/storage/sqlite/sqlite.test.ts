import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { storeContract } from '../contract.ts';
import { StoreError, type WatchEvent } from '../store.ts';
import type { EngineHost } from './engine-host.ts';
import { SqliteStore } from './sqlite-store.ts';

for (const [name, opts] of [
  ['sqlite', {}],
  ['sqlite (worker thread)', { worker: true }],
  ['sqlite (fsync inside each commit)', { fsyncInCommit: true }],
] as const) {
  storeContract(name, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rudder-sqlite-'));
    const store = await SqliteStore.open(join(dir, 'state.db'), { ...opts, compactIntervalMs: 0 });
    return {
      store,
      async cleanup() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rudder-sqlite-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every event in the store, replayed from the table by a watch from revision 0. */
async function replayAll(store: SqliteStore): Promise<WatchEvent[]> {
  const until = await store.currentRevision();
  const events: WatchEvent[] = [];
  await new Promise<void>((resolve, reject) => {
    const w = store.watch('', 0, {
      onEvents(evs) {
        events.push(...evs);
        if (events.at(-1)!.kv.modRevision >= until) {
          w.cancel();
          resolve();
        }
      },
      onError: reject,
    });
    if (until === 0) resolve();
  });
  return events;
}

async function fileSize(path: string): Promise<number> {
  let total = 0;
  for (const f of [path, path + '-wal']) {
    try {
      total += (await stat(f)).size;
    } catch {
      // no WAL file at the moment
    }
  }
  return total;
}

describe('SqliteStore', () => {
  it('commits writes issued together in one transaction and counts writes and commits', () =>
    withDir(async (dir) => {
      const store = await SqliteStore.open(join(dir, 'db.sqlite'), { compactIntervalMs: 0 });
      try {
        const revs = await Promise.all(Array.from({ length: 200 }, (_, i) => store.create(`/g/k${i}`, enc.encode(String(i)))));
        assert.equal(new Set(revs).size, 200);
        const st = store.stats();
        assert.equal(st.writes, 200);
        assert.ok(st.batches >= 1 && st.batches <= 2, `200 writes issued in one tick took ${st.batches} commits`);
        // Writes issued one after another each get their own commit.
        for (let i = 0; i < 3; i++) await store.create(`/g/s${i}`, enc.encode('x'));
        assert.equal(store.stats().batches, st.batches + 3);
      } finally {
        await store.close();
      }
    }));

  it('keeps data, revision and compacted revision across close and reopen', () =>
    withDir(async (dir) => {
      const path = join(dir, 'db.sqlite');
      let store = await SqliteStore.open(path, { compactIntervalMs: 0 });
      const r1 = await store.create('/p/a', enc.encode('a'));
      await store.create('/p/b', enc.encode('b'));
      const del = await store.delete('/p/b');
      await store.compact(del.revision);
      await store.close();
      await assert.rejects(store.get('/p/a'), (e: unknown) => e instanceof StoreError && e.code === 'Closed');

      store = await SqliteStore.open(path, { compactIntervalMs: 0 });
      try {
        // The newest row (a tombstone) was compacted away; the revision must not go backwards.
        assert.equal(await store.currentRevision(), del.revision);
        assert.equal(await store.compactedRevision(), del.revision);
        assert.equal(dec.decode((await store.get('/p/a'))!.value), 'a');
        assert.equal(await store.get('/p/b'), undefined);
        const r = await store.update('/p/a', enc.encode('a2'), r1);
        assert.ok(r > del.revision);
      } finally {
        await store.close();
      }
    }));

  it('refuses to open a database file another store has open', () =>
    withDir(async (dir) => {
      const path = join(dir, 'db.sqlite');
      const store = await SqliteStore.open(path, { compactIntervalMs: 0 });
      try {
        await assert.rejects(SqliteStore.open(path, { compactIntervalMs: 0 }), (e: unknown) => {
          assert.ok(e instanceof StoreError);
          assert.equal(e.code, 'Unavailable');
          assert.match(e.message, /in use by another process/);
          return true;
        });
      } finally {
        await store.close();
      }
    }));

  it('compaction keeps the file from growing while the same keys are overwritten', () =>
    withDir(async (dir) => {
      const path = join(dir, 'db.sqlite');
      const store = await SqliteStore.open(path, { compactIntervalMs: 0 });
      try {
        const keys = Array.from({ length: 100 }, (_, i) => `/grow/k${i}`);
        const value = new Uint8Array(4096).fill(1);
        const revs = await Promise.all(keys.map((k) => store.create(k, value)));
        const sizes: number[] = [];
        const rounds = 16;
        for (let round = 0; round < rounds; round++) {
          const next = await Promise.all(keys.map((k, i) => store.update(k, value, revs[i])));
          next.forEach((r, i) => (revs[i] = r));
          await store.compact(await store.currentRevision());
          sizes.push(await fileSize(path));
        }
        const written = rounds * keys.length * value.length;
        const live = keys.length * value.length;
        assert.ok(sizes[rounds - 1] <= sizes[3] * 1.1 + 64 * 1024, `file grew from ${sizes[3]} to ${sizes[rounds - 1]} bytes: ${sizes.join(', ')}`);
        assert.ok(sizes[rounds - 1] < live * 3, `file is ${sizes[rounds - 1]} bytes for ${live} live bytes (${written} written)`);
        // History is gone but the newest values remain.
        const all = await store.list('/grow/');
        assert.equal(all.kvs.length, keys.length);
        assert.deepEqual(all.kvs.map((kv) => kv.modRevision).sort((a, b) => a - b), [...revs].sort((a, b) => a - b));
      } finally {
        await store.close();
      }
    }));

  it('the scheduled compactor keeps the configured number of recent revisions', () =>
    withDir(async (dir) => {
      const store = await SqliteStore.open(join(dir, 'db.sqlite'), { compactIntervalMs: 20, compactKeepRevisions: 10 });
      try {
        let rev = await store.create('/sched/k', enc.encode('0'));
        for (let i = 1; i < 60; i++) rev = await store.update('/sched/k', enc.encode(String(i)), rev);
        const deadline = Date.now() + 5000;
        while ((await store.compactedRevision()) < rev - 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(await store.compactedRevision(), rev - 10);
        await assert.rejects(store.list('/sched/', { revision: rev - 11 }), (e: unknown) => e instanceof StoreError && e.code === 'Compacted');
        assert.equal((await store.list('/sched/', { revision: rev - 10 })).kvs.length, 1);
      } finally {
        await store.close();
      }
    }));

  it('every acknowledged write survives a SIGKILL of the writing process', { timeout: 60_000 }, () =>
    withDir(async (dir) => {
      const path = join(dir, 'db.sqlite');
      const child = spawn(process.execPath, [new URL('./crash-writer.ts', import.meta.url).pathname, path, '32'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const acks: { op: string; key: string; rev: number; value: string | null }[] = [];
      let killed = false;
      // The kill may cut the line being written (a pipe takes a long write in parts): that one line,
      // the last, is an acknowledgement nobody could read, and is not counted.
      let cut: string | undefined;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        const lines = createInterface({ input: child.stdout! });
        for await (const line of lines) {
          if (line === 'ready') continue;
          assert.equal(cut, undefined, `a line after the cut one: ${line.slice(0, 80)}`);
          let ack;
          try {
            ack = JSON.parse(line);
          } catch (e) {
            if (!killed) throw e;
            cut = line;
            continue;
          }
          acks.push(ack);
          // Kill mid-stream, with writes in flight.
          if (acks.length === 3000 && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        }
      } finally {
        if (!killed) child.kill('SIGKILL');
        await exited;
      }
      assert.ok(killed, `the writer exited by itself after ${acks.length} acknowledged writes`);
      assert.equal(child.signalCode, 'SIGKILL');
      assert.ok(acks.length >= 3000);

      const store = await SqliteStore.open(path, { compactIntervalMs: 0 });
      try {
        const byRev = new Map<number, WatchEvent>();
        for (const ev of await replayAll(store)) byRev.set(ev.kv.modRevision, ev);
        for (const a of acks) {
          const ev = byRev.get(a.rev);
          assert.ok(ev, `acknowledged ${a.op} of ${a.key} at revision ${a.rev} is missing after the crash`);
          assert.equal(ev.kv.key, a.key);
          assert.equal(ev.type, a.op === 'delete' ? 'DELETE' : 'PUT');
          if (a.value !== null) assert.equal(dec.decode(ev.kv.value), a.value);
        }
        // The current state agrees: each key's newest value is at or after its last acknowledged write.
        const last = new Map<string, number>();
        for (const a of acks) last.set(a.key, Math.max(last.get(a.key) ?? 0, a.rev));
        const current = new Map((await store.list('/crash/')).kvs.map((kv) => [kv.key, kv.modRevision]));
        for (const [key, rev] of last) {
          const ev = byRev.get(rev)!;
          const cur = current.get(key);
          if (cur === undefined) {
            const deletedLater = [...byRev.values()].some((e) => e.kv.key === key && e.type === 'DELETE' && e.kv.modRevision >= rev);
            assert.ok(deletedLater, `${key} vanished although its last acknowledged write (${ev.type} at ${rev}) kept it`);
          } else {
            assert.ok(cur >= rev, `${key} is at revision ${cur}, older than its acknowledged ${rev}`);
          }
        }
      } finally {
        await store.close();
      }
    }));
});

describe('SqliteStore durability on the event loop host', () => {
  /** An inline host whose WAL syncs are held until released, or failed. */
  function heldSyncs() {
    const held: { release(): void; fail(e: Error): void }[] = [];
    const wrap = (inner: EngineHost): EngineHost => {
      assert.ok(inner.sync, 'the inline host syncs the WAL apart from its commits');
      return {
        call: (m, ...a) => inner.call(m, ...a),
        close: () => inner.close(),
        sync: () =>
          new Promise<void>((resolve, reject) => {
            held.push({ release: () => inner.sync!().then(resolve, reject), fail: reject });
          }),
      };
    };
    return { held, wrap };
  }
  const settled = async (p: Promise<unknown>) => {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await new Promise((r) => setTimeout(r, 50));
    return done;
  };

  it('acknowledges, shows and delivers a write only after the WAL is synced', () =>
    withDir(async (dir) => {
      const h = heldSyncs();
      const store = await SqliteStore.open(join(dir, 'db.sqlite'), { compactIntervalMs: 0, wrapHost: h.wrap });
      try {
        const seen: WatchEvent[] = [];
        const w = store.watch('/d/', 0, { onEvents: (evs) => seen.push(...evs), onError: () => {} });
        const write = store.create('/d/a', enc.encode('a'));
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(h.held.length, 1, 'the batch waits for its sync');
        const read = store.get('/d/a');
        const list = store.list('/d/');
        assert.equal(await settled(write), false, 'no acknowledgement before the sync');
        assert.equal(await settled(read), false, 'no read of the unsynced batch');
        assert.equal(seen.length, 0, 'no event before the sync');
        assert.equal(await store.currentRevision(), 0);
        h.held[0].release();
        const rev = await write;
        assert.equal(dec.decode((await read)!.value), 'a');
        assert.deepEqual((await list).kvs.map((kv) => kv.key), ['/d/a']);
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(seen.map((e) => e.kv.modRevision), [rev]);
        w.cancel();
      } finally {
        for (const x of h.held) x.release();
        await store.close();
      }
    }));

  it('a failed WAL sync fails its writes as Unavailable and the store refuses everything after', () =>
    withDir(async (dir) => {
      const h = heldSyncs();
      const store = await SqliteStore.open(join(dir, 'db.sqlite'), { compactIntervalMs: 0, wrapHost: h.wrap });
      const writes = [store.create('/f/a', enc.encode('a')), store.create('/f/b', enc.encode('b'))];
      await new Promise((r) => setTimeout(r, 20));
      h.held[0].fail(new Error('EIO'));
      for (const wr of writes) await assert.rejects(wr, (e: unknown) => e instanceof StoreError && e.code === 'Unavailable' && /EIO/.test(e.message));
      await assert.rejects(store.create('/f/c', enc.encode('c')), (e: unknown) => e instanceof StoreError && e.code === 'Unavailable');
      await assert.rejects(store.get('/f/a'), (e: unknown) => e instanceof StoreError && e.code === 'Unavailable');
      await store.close();
    }));
});

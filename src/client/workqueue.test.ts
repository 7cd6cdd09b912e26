import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock, settle } from './clock.ts';
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, WorkQueue, defaultControllerRateLimiter } from './workqueue.ts';

/** get() that must answer within the current turn (the queue has something, or is shut down). */
async function getNow<T>(q: WorkQueue<T>): Promise<T | undefined | 'blocked'> {
  return Promise.race([q.get(), settle().then(() => 'blocked' as const)]);
}

describe('work queue', () => {
  test('an item added while it waits is queued once', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.len(), 0);
  });

  test('an item added while a worker holds it is handed out again only after done()', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    const held = await q.get();
    assert.equal(held, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not queued while processing');
    const second = q.get();
    let got: string | undefined;
    void second.then((v) => (got = v));
    await settle();
    assert.equal(got, undefined, 'a second worker does not receive the held item');
    q.done('a');
    assert.equal(await second, 'a');
    q.done('a');
    assert.equal(await getNow(q), 'blocked', 'queued once, handed out once');
  });

  test('get() waits for an item and serves waiting workers in order', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    const w1 = q.get();
    const w2 = q.get();
    q.add('x');
    q.add('y');
    assert.equal(await w1, 'x');
    assert.equal(await w2, 'y');
  });

  test('shutDown lets workers drain what is queued, then get() answers undefined and adds are ignored', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    const q2 = new WorkQueue<string>({ clock: new FakeClock() });
    q2.add('a');
    q2.shutDown();
    q2.add('b');
    assert.equal(await q2.get(), 'a');
    assert.equal(await q2.get(), undefined);
    assert.equal(q2.shuttingDown(), true);
  });

  test('shutDownWithDrain resolves when held items are done', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    await q.get();
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    await settle();
    assert.equal(drained, false);
    q.done('a');
    await p;
    assert.equal(drained, true);
  });

  test('addAfter adds the item when its delay has passed, by the injected clock', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('later', 1000);
    q.addAfter('sooner', 500);
    q.addAfter('now', 0);
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'now');
    clock.step(499);
    assert.equal(q.len(), 0);
    clock.step(1);
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'sooner');
    clock.step(500);
    assert.equal(await q.get(), 'later');
    assert.equal(q.numWaiting(), 0);
  });

  test('of two delays for one item the earlier wins and the item is added once', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('a', 5000);
    q.addAfter('a', 100);
    q.addAfter('a', 3000);
    clock.step(100);
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    clock.step(10_000);
    assert.equal(q.len(), 0, 'the later delays were dropped');
  });

  test('shutDown drops items still waiting for their delay', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('a', 100);
    q.shutDown();
    clock.step(200);
    assert.equal(await q.get(), undefined);
    assert.equal(clock.pending(), 0);
  });

  test('addRateLimited backs off exponentially per item from 5 ms; forget resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = clock.now();
      q.addRateLimited('a');
      while (q.len() === 0) clock.step(1);
      delays.push(clock.now() - before);
      assert.equal(await q.get(), 'a');
      q.done('a');
    }
    assert.deepEqual(delays, [5, 10, 20, 40, 80]);
    assert.equal(q.numRequeues('a'), 5);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    const before = clock.now();
    q.addRateLimited('a');
    while (q.len() === 0) clock.step(1);
    assert.equal(clock.now() - before, 5);
  });

  test('the per-item back-off is capped at 1000 s', () => {
    const l = new ItemExponentialFailureRateLimiter<string>(5, 1000_000);
    let last = 0;
    for (let i = 0; i < 40; i++) last = l.when('x');
    assert.equal(last, 1000_000);
    assert.equal(l.when('y'), 5, 'items back off independently');
  });

  test('the default limiter lets a burst of 100 through, then 10 per second overall', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter<string>(clock);
    const waits: number[] = [];
    for (let i = 0; i < 103; i++) waits.push(l.when(`item-${i}`));
    assert.deepEqual(waits.slice(0, 100), Array(100).fill(5), 'the first 100 distinct items wait only their own 5 ms');
    assert.equal(Math.round(waits[100]!), 100);
    assert.equal(Math.round(waits[101]!), 200);
    assert.equal(Math.round(waits[102]!), 300);
    clock.step(1000);
    // the bucket refilled 10 tokens but owes 3
    const w = [];
    for (let i = 0; i < 8; i++) w.push(Math.round(l.when(`later-${i}`)));
    assert.deepEqual(w, [5, 5, 5, 5, 5, 5, 5, 100]);
  });

  test('a token bucket refills at its rate up to its burst', () => {
    const clock = new FakeClock();
    const b = new BucketRateLimiter<string>(1, 2, clock);
    assert.equal(b.tryAccept(), true);
    assert.equal(b.tryAccept(), true);
    assert.equal(b.tryAccept(), false);
    clock.step(1000);
    assert.equal(b.tryAccept(), true);
    assert.equal(b.tryAccept(), false);
    clock.step(60_000);
    assert.equal(b.tryAccept(), true);
    assert.equal(b.tryAccept(), true);
    assert.equal(b.tryAccept(), false, 'never more than the burst');
  });
});

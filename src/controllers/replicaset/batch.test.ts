import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slowStartBatch } from './batch.ts';

test('batches start at the initial size and double: 1, 2, 4, 8, then the rest', async () => {
  const batches: number[] = [];
  let inFlight = 0;
  let current = 0;
  const r = await slowStartBatch(20, 1, async () => {
    inFlight++;
    current++;
    await new Promise((res) => setImmediate(res));
    if (inFlight === current) batches.push(current);
    inFlight--;
    if (inFlight === 0) current = 0;
  });
  assert.deepEqual(r, { successes: 20 });
  assert.deepEqual(batches, [1, 2, 4, 8, 5]);
});

test('a failing batch stops the run after it completes and reports the first error', async () => {
  let calls = 0;
  const r = await slowStartBatch(100, 1, async () => {
    calls++;
    if (calls >= 3) throw new Error(`quota exceeded ${calls}`);
  });
  // batch 1 (1 call) succeeds; batch 2 (2 calls): the second fails, so no third batch
  assert.equal(calls, 3);
  assert.equal(r.successes, 2);
  assert.equal((r.error as Error).message, 'quota exceeded 3');
});

test('nothing to do runs nothing', async () => {
  let calls = 0;
  assert.deepEqual(await slowStartBatch(0, 1, async () => void calls++), { successes: 0 });
  assert.equal(calls, 0);
});

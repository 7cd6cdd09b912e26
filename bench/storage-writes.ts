// Storage write throughput: creates/s of ~1 KB values at several concurrencies, against any
// datastore URL openStore accepts (sqlite:///abs/path.db or http://h:p,...).
//   node bench/storage-writes.ts [URL] [--worker] [--seconds 3] [--concurrency 1,16,64]
// Without URL a temporary sqlite file is used. Prints one line per concurrency plus the store's
// own counters when it has them (sqlite: writes and commits, i.e. fsync'd batches).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../src/storage/open.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    worker: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,16,64' },
    size: { type: 'string', default: '1024' },
    // CPU time spent on the main thread per write before issuing it (decode, validate, encode in
    // a real API server), to see whether commits off the main thread overlap with it.
    'work-us': { type: 'string', default: '0' },
  },
});

let dir: string | undefined;
let url = positionals[0];
if (!url) {
  dir = await mkdtemp(join(tmpdir(), 'rudder-bench-'));
  url = `sqlite://${join(dir, 'state.db')}`;
}
const store = await openStore(url, { sqlite: { worker: values.worker, compactIntervalMs: 0 } });
const value = new Uint8Array(Number(values.size)).fill(120);
const seconds = Number(values.seconds);
const workMs = Number(values['work-us']) / 1000;
const spin = () => {
  const end = performance.now() + workMs;
  while (performance.now() < end);
};
const run = `${process.pid}-${Date.now()}`;
const statsOf = () => (store as { stats?: () => { writes: number; batches: number } }).stats?.();

for (const c of values.concurrency.split(',').map(Number)) {
  const before = statsOf();
  let n = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        if (workMs > 0) {
          await new Promise((r) => setImmediate(r));
          spin();
        }
        await store.create(`/bench/${run}/c${c}/w${w}/k${i}`, value);
        n++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const after = statsOf();
  const batches = before && after ? after.batches - before.batches : undefined;
  console.log(
    `concurrency ${String(c).padStart(3)}: ${Math.round(n / secs).toString().padStart(6)} creates/s` +
      (batches ? `, ${n} writes in ${batches} commits (${(n / batches).toFixed(1)} per commit)` : `, ${n} writes`),
  );
}
await store.close();
if (dir) await rm(dir, { recursive: true, force: true });

// Test fixture for the crash test in sqlite.test.ts (not part of rudder): opens the SqliteStore at
// argv[2] and runs concurrent writers until killed. Each acknowledged write is printed on stdout
// as one JSON line {op, key, rev, value} right after its promise resolves, so every line the
// parent reads names a write the store promised was durable.

import { SqliteStore } from './sqlite-store.ts';

const path = process.argv[2];
const writers = Number(process.argv[3] ?? 32);
const store = await SqliteStore.open(path, { compactIntervalMs: 0 });
const ack = (op: string, key: string, rev: number, value: string | null) => {
  process.stdout.write(JSON.stringify({ op, key, rev, value }) + '\n');
};
const valueOf = (key: string, n: number) => `${key}#${n}:` + 'v'.repeat(1000);
const enc = new TextEncoder();

process.stdout.write('ready\n');
await Promise.all(
  Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; ; i++) {
      const key = `/crash/w${w}/k${i}`;
      let v = valueOf(key, 0);
      let rev = await store.create(key, enc.encode(v));
      ack('create', key, rev, v);
      for (let n = 1; n <= 2; n++) {
        v = valueOf(key, n);
        rev = await store.update(key, enc.encode(v), rev);
        ack('update', key, rev, v);
      }
      if (i % 2 === 0) {
        const d = await store.delete(key, rev);
        ack('delete', key, d.revision, null);
      }
    }
  }),
);

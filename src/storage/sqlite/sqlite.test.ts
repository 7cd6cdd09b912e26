import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../contract.ts';
import { SqliteStore } from './sqlite-store.ts';

for (const worker of [false, true]) {
  storeContract(`sqlite${worker ? ' (worker thread)' : ''}`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rudder-sqlite-'));
    const store = await SqliteStore.open(join(dir, 'state.db'), { worker, compactIntervalMs: 0 });
    return {
      store,
      async cleanup() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

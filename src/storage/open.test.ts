import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from './open.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import { StoreError } from './store.ts';

describe('openStore', () => {
  it('opens sqlite:///absolute/path.db, creating the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rudder-open-'));
    try {
      const path = join(dir, 'nested', 'db', 'state.db');
      const store = await openStore(`sqlite://${path}`, { sqlite: { compactIntervalMs: 0 } });
      assert.ok(store instanceof SqliteStore);
      await store.create('/k', new Uint8Array([1]));
      await store.close();
      assert.ok((await stat(path)).isFile());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses anything but sqlite:///absolute paths and http(s) endpoints with a one-line error', async () => {
    for (const bad of ['sqlite://relative.db', 'sqlite:///', 'mysql://root@tcp(localhost)/db', '', '/var/lib/x.db', 'http://h:1/path', 'http://a:1,https://b:2']) {
      await assert.rejects(openStore(bad), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.ok(!e.message.includes('\n'), `multi-line error for ${bad}: ${e.message}`);
        assert.match(e.message, /datastore endpoint|etcd endpoint/);
        return true;
      }, bad);
    }
  });

  it('turns an http endpoint list into an etcd store that reports Unavailable when nothing answers', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await assert.rejects(openStore(`http://127.0.0.1:${port}`, { etcd: { requestTimeoutMs: 500 } }), (e: unknown) => {
      assert.ok(e instanceof StoreError, `not a StoreError: ${String(e)}`);
      assert.equal(e.code, 'Unavailable');
      return true;
    });
  });
});

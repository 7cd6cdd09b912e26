// Starts an API server inside the test process (SQLite in a temp dir, loopback, a free port), for
// tests of in-process behaviour. Whole-program tests use test/harness.ts instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../storage/open.ts';
import { apiCodecs, apiHooks } from './codecs.ts';
import { ensurePki } from './pki.ts';
import { startApiServer, type ApiServer } from './server.ts';

/**
 * An API server on SQLite in a temporary directory, served in process. fsyncInCommit: writes are
 * acknowledged in the turn of the event loop that commits them (for tests stepping a fake clock;
 * see SqliteStoreOptions.fsyncInCommit).
 */
export async function startTestApiServer(o: { fsyncInCommit?: boolean } = {}): Promise<{ server: ApiServer; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'rudder-api-'));
  const store = await openStore(`sqlite://${join(dir, 'state.db')}`, { sqlite: { fsyncInCommit: o.fsyncInCommit } });
  const pki = await ensurePki(join(dir, 'tls'), { sans: ['127.0.0.1', 'localhost'] });
  const server = await startApiServer(
    { bindAddress: '127.0.0.1', port: 0, advertiseAddress: '127.0.0.1', serviceCidr: '10.43.0.0/16', serviceNodePortRange: '30000-32767', minRequestTimeoutSeconds: 1800 },
    { store, pki, hooks: apiHooks(), codecs: apiCodecs() },
  );
  return {
    server,
    async stop() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Admission's lookups when the watch cache lags the store (etcd's watch under load): a write
// must neither fail nor wait on the cache, and objects written just before must still be seen.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Transport } from '../../api/transport.ts';
import { openStore } from '../../storage/open.ts';
import type { Store, WatchEvent, WatchHandlers } from '../../storage/store.ts';
import { apiCodecs, apiHooks } from '../codecs.ts';
import { ensurePki } from '../pki.ts';
import { startApiServer, type ApiServer } from '../server.ts';
import { createNamespace, podManifest } from '../testing-chain.ts';

let dir: string;
let inner: Store;
let server: ApiServer;
let t: Transport;
/** While set, the store's watch events are held here instead of reaching the watch cache. */
let held: { handlers: WatchHandlers; evs: WatchEvent[] }[] | undefined;

function release(): void {
  const evs = held ?? [];
  held = undefined;
  for (const h of evs) h.handlers.onEvents(h.evs);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rudder-lag-'));
  inner = await openStore(`sqlite://${join(dir, 'state.db')}`);
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'watch') {
        return (prefix: string, afterRev: number, handlers: WatchHandlers) =>
          target.watch(prefix, afterRev, {
            ...handlers,
            onEvents: (evs: WatchEvent[]) => (held ? held.push({ handlers, evs }) : handlers.onEvents(evs)),
          });
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const pki = await ensurePki(join(dir, 'tls'), { sans: ['127.0.0.1'] });
  server = await startApiServer(
    { bindAddress: '127.0.0.1', port: 0, advertiseAddress: '127.0.0.1', serviceCidr: '10.43.0.0/16', serviceNodePortRange: '30000-32767', minRequestTimeoutSeconds: 1800 },
    { store, pki, hooks: apiHooks(), codecs: apiCodecs() },
  );
  t = server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'lag-test');
});

after(async () => {
  release();
  await server.close();
  await inner.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a pod create while the watch cache lags the store succeeds at once, and a LimitRange written just before applies', async () => {
  await createNamespace(t, 'lag');
  held = [];
  const lr = await t.request({
    method: 'POST',
    path: '/api/v1/namespaces/lag/limitranges',
    body: { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'limits' }, spec: { limits: [{ type: 'Container', defaultRequest: { cpu: '150m' } }] } },
  });
  assert.equal(lr.status, 201, JSON.stringify(lr.body));
  assert.ok(held.length > 0, 'the LimitRange did not reach the cache');
  const started = Date.now();
  const res = await t.request({ method: 'POST', path: '/api/v1/namespaces/lag/pods', body: podManifest('p') });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.ok(Date.now() - started < 2000, `the create waited ${Date.now() - started} ms`);
  const pod = res.body as { spec: { containers: { resources?: { requests?: Record<string, string> } }[] } };
  assert.equal(pod.spec.containers[0].resources?.requests?.cpu, '150m');
  release();
});

test('updates and GETs while the watch cache lags read the stored object and succeed', async () => {
  await createNamespace(t, 'lag2');
  const cm = await t.request({ method: 'POST', path: '/api/v1/namespaces/lag2/configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } } });
  assert.equal(cm.status, 201);
  held = [];
  const p1 = await t.request({ method: 'PATCH', path: '/api/v1/namespaces/lag2/configmaps/c', contentType: 'application/merge-patch+json', body: { data: { b: '2' } } });
  assert.equal(p1.status, 200, JSON.stringify(p1.body));
  // The second patch must start from the first one's result, which only the store holds yet.
  const p2 = await t.request({ method: 'PATCH', path: '/api/v1/namespaces/lag2/configmaps/c', contentType: 'application/merge-patch+json', body: { data: { c: '3' } } });
  assert.equal(p2.status, 200, JSON.stringify(p2.body));
  assert.deepEqual((p2.body as { data: Record<string, string> }).data, { a: '1', b: '2', c: '3' });
  const got = await t.request({ method: 'GET', path: '/api/v1/namespaces/lag2/configmaps/c' });
  assert.equal(got.status, 200, JSON.stringify(got.body));
  assert.deepEqual((got.body as { data: Record<string, string> }).data, { a: '1', b: '2', c: '3' }, 'a GET reads the write the cache has not seen');
  release();
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Transport } from '../api/transport.ts';
import type { WatchEvent } from '../api/meta.ts';
import { startTestApiServer } from './testing.ts';

let stop: () => Promise<void>;
let t: Transport;
let kcm: Transport;
before(async () => {
  const s = await startTestApiServer();
  stop = s.stop;
  t = s.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'rudder-test');
  kcm = s.server.localTransport({ name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, 'kube-controller-manager');
});
after(async () => {
  await t.close();
  await kcm.close();
  await stop();
});

const CMS = '/api/v1/namespaces/default/configmaps';

test('in-process create and get answer with the cache\'s shared, frozen objects', async () => {
  const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'local' }, data: { a: '1' } };
  const c = await t.request({ method: 'POST', path: CMS, body });
  assert.equal(c.status, 201);
  assert.deepEqual(body.metadata, { name: 'local' }, 'the caller\'s body is not mutated');
  const g1 = await t.request({ method: 'GET', path: `${CMS}/local` });
  const g2 = await t.request({ method: 'GET', path: `${CMS}/local` });
  assert.equal(g1.status, 200);
  assert.equal(g1.body, g2.body, 'the same cached object, no copy');
  assert.ok(Object.isFrozen(g1.body));
  assert.equal((g1.body as any).data.a, '1');
  const l = await t.request({ method: 'GET', path: CMS, query: { labelSelector: '' } });
  assert.equal((l.body as any).kind, 'ConfigMapList');
  assert.ok((l.body as any).items.includes(g1.body));
});

test('an in-process write answers the written object itself, which the cache then serves', async () => {
  const c = await t.request({ method: 'POST', path: CMS, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'handed' }, data: { a: '1' } } });
  assert.equal(c.status, 201);
  assert.ok(!Buffer.isBuffer(c.body) && (c.body as any).metadata.name === 'handed', 'an object, not bytes');
  const g = await t.request({ method: 'GET', path: `${CMS}/handed` });
  assert.equal(g.body, c.body, 'the cache holds the very object the create answered');
  assert.ok(Object.isFrozen(c.body));
  const u = await t.request({ method: 'PUT', path: `${CMS}/handed`, body: { ...(c.body as any), data: { a: '2' } } });
  assert.equal(u.status, 200);
  const g2 = await t.request({ method: 'GET', path: `${CMS}/handed` });
  assert.equal(g2.body, u.body);
  assert.equal((g2.body as any).data.a, '2');
  assert.equal((g2.body as any).metadata.resourceVersion, (u.body as any).metadata.resourceVersion);
  assert.equal((c.body as any).data.a, '1', 'the first answer is unchanged');
});

test('in-process requests are authorized as their user', async () => {
  // system:kube-controller-manager may list everything but not create configmaps (upstream's RBAC policy)
  const l = await kcm.request({ method: 'GET', path: CMS });
  assert.equal(l.status, 200);
  const c = await kcm.request({ method: 'POST', path: CMS, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kcm' } } });
  assert.equal(c.status, 403);
  assert.equal((c.body as any).message, 'configmaps is forbidden: User "system:kube-controller-manager" cannot create resource "configmaps" in API group "" in the namespace "default"');
});

test('in-process requests go through validation and admission and fail with a Status', async () => {
  const bad = await t.request({ method: 'POST', path: CMS, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } } });
  assert.equal(bad.status, 422);
  assert.equal((bad.body as any).reason, 'Invalid');
  const missing = await t.request({ method: 'GET', path: `${CMS}/nope` });
  assert.equal(missing.status, 404);
  assert.equal((missing.body as any).message, 'configmaps "nope" not found');
  const noNs = await t.request({ method: 'POST', path: '/api/v1/namespaces/absent/configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } });
  assert.equal(noNs.status, 404);
  const patched = await t.request({ method: 'PATCH', path: `${CMS}/local`, body: { data: { b: '2' } }, contentType: 'application/merge-patch+json' });
  assert.equal(patched.status, 200);
  assert.deepEqual((patched.body as any).data, { a: '1', b: '2' });
});

test('in-process watches deliver ADDED, MODIFIED and DELETED in order, and end on close', async () => {
  const events: WatchEvent[] = [];
  let closedWith: unknown = 'open';
  const list = await t.request({ method: 'GET', path: CMS });
  const h = t.watch(
    { method: 'GET', path: CMS, query: { resourceVersion: (list.body as any).metadata.resourceVersion, labelSelector: 'w=1' } },
    { onEvent: (e) => events.push(e), onClose: (e) => (closedWith = e) },
  );
  await t.request({ method: 'POST', path: CMS, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wl', labels: { w: '1' } } } });
  await t.request({ method: 'PATCH', path: `${CMS}/wl`, body: { data: { x: 'y' } }, contentType: 'application/merge-patch+json' });
  await t.request({ method: 'DELETE', path: `${CMS}/wl` });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(events.map((e) => `${e.type} ${(e.object as any).metadata.name}`), ['ADDED wl', 'MODIFIED wl', 'DELETED wl']);
  assert.ok(Object.isFrozen(events[0]!.object));
  h.close();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(closedWith, 'open', 'onClose is not called after the caller closes');
});

// ResourceQuota enforcement through the in-process server, with the whole default chain.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Transport } from '../../api/transport.ts';
import { createNamespace, podManifest, startTestChain, type TestChain } from '../testing-chain.ts';
import { defaultAdmissionPlugins } from './plugins.ts';

let chain: TestChain;
let t: Transport;

before(async () => {
  chain = await startTestChain({ admission: defaultAdmissionPlugins({ serviceAccount: { defaultAccountAttempts: 1 } }) });
  t = chain.transport();
});
after(async () => {
  await chain.stop();
});

async function quota(ns: string, name: string, hard: Record<string, string>, extra: Record<string, unknown> = {}) {
  const r = await t.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/resourcequotas`, body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard, ...extra } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

const createPod = (ns: string, body: Record<string, unknown>, query?: Record<string, string>) => t.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/pods`, body, query });
const getQuota = async (ns: string, name: string) => (await t.request({ method: 'GET', path: `/api/v1/namespaces/${ns}/resourcequotas/${name}` })).body as any;

test('a pod past the pods quota is refused with 403 and upstream\'s message, and admitted pods are charged', async () => {
  await createNamespace(t, 'rq-pods');
  await quota('rq-pods', 'q', { pods: '2' });
  assert.equal((await createPod('rq-pods', podManifest('p1'))).status, 201);
  assert.equal((await createPod('rq-pods', podManifest('p2'))).status, 201);
  const third = await createPod('rq-pods', podManifest('p3'));
  assert.equal(third.status, 403);
  assert.equal((third.body as any).reason, 'Forbidden');
  assert.equal((third.body as any).message, 'pods "p3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2');
  assert.deepEqual((third.body as any).details, { name: 'p3', kind: 'pods' });
  const q = await getQuota('rq-pods', 'q');
  assert.deepEqual(q.status, { hard: { pods: '2' }, used: { pods: '2' } });
});

test('a generated name is reported as its generateName, as upstream does before naming', async () => {
  await createNamespace(t, 'rq-gen');
  await quota('rq-gen', 'none', { pods: '0' });
  const body = podManifest('');
  (body.metadata as any) = { generateName: 'web-7854ff8877-' };
  const res = await createPod('rq-gen', body);
  assert.equal(res.status, 403);
  assert.equal((res.body as any).message, 'pods "web-7854ff8877-" is forbidden: exceeded quota: none, requested: pods=1, used: pods=0, limited: pods=0');
});

test('concurrent creates cannot overrun the quota', async () => {
  await createNamespace(t, 'rq-race');
  await quota('rq-race', 'q', { pods: '3' });
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => createPod('rq-race', podManifest(`r${i}`))));
  const codes = results.map((r) => r.status).sort();
  assert.deepEqual(codes, [201, 201, 201, 403, 403, 403, 403, 403]);
  const pods = await t.request({ method: 'GET', path: '/api/v1/namespaces/rq-race/pods' });
  assert.equal((pods.body as any).items.length, 3);
  assert.equal((await getQuota('rq-race', 'q')).status.used.pods, '3');
});

test('compute quotas add up requests and require every container to state them', async () => {
  await createNamespace(t, 'rq-cpu');
  await quota('rq-cpu', 'compute', { 'requests.cpu': '1', 'limits.memory': '1Gi' });
  const sized = (name: string) => podManifest(name, [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '600m' }, limits: { memory: '256Mi' } } }]);
  assert.equal((await createPod('rq-cpu', sized('a'))).status, 201);
  const b = await createPod('rq-cpu', sized('b'));
  assert.equal(b.status, 403);
  assert.equal((b.body as any).message, 'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1');
  const bare = await createPod('rq-cpu', podManifest('bare'));
  assert.equal(bare.status, 403);
  assert.equal((bare.body as any).message, 'pods "bare" is forbidden: failed quota: compute: must specify limits.memory for: app; requests.cpu for: app');
  assert.deepEqual((await getQuota('rq-cpu', 'compute')).status.used, { 'limits.memory': '256Mi', 'requests.cpu': '600m' });
});

test('object counts and node ports are charged for other kinds', async () => {
  await createNamespace(t, 'rq-objs');
  await quota('rq-objs', 'objs', { 'count/configmaps': '1', 'services.nodeports': '1' });
  const cm = (name: string) => t.request({ method: 'POST', path: '/api/v1/namespaces/rq-objs/configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } } });
  assert.equal((await cm('one')).status, 201);
  const two = await cm('two');
  assert.equal(two.status, 403);
  assert.equal((two.body as any).message, 'configmaps "two" is forbidden: exceeded quota: objs, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1');
  const svc = await t.request({
    method: 'POST',
    path: '/api/v1/namespaces/rq-objs/services',
    body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np' }, spec: { type: 'NodePort', selector: { a: 'b' }, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } },
  });
  assert.equal(svc.status, 403);
  assert.equal((svc.body as any).message, 'services "np" is forbidden: exceeded quota: objs, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1');
});

test('usage the quota controller recorded in status.used is what admission counts on', async () => {
  await createNamespace(t, 'rq-status');
  await quota('rq-status', 'q', { pods: '1' });
  const cur = await getQuota('rq-status', 'q');
  const upd = await t.request({
    method: 'PUT',
    path: '/api/v1/namespaces/rq-status/resourcequotas/q/status',
    body: { ...cur, status: { hard: { pods: '1' }, used: { pods: '1' } } },
  });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  const res = await createPod('rq-status', podManifest('p'));
  assert.equal(res.status, 403);
  assert.equal((res.body as any).message, 'pods "p" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1');
});

test('a dry run is checked but not charged, and a scoped quota charges only the pods it selects', async () => {
  await createNamespace(t, 'rq-dry');
  await quota('rq-dry', 'q', { pods: '1' });
  await quota('rq-dry', 'besteffort', { pods: '0' }, { scopes: ['NotBestEffort'] });
  const dry = await createPod('rq-dry', podManifest('d'), { dryRun: 'All' });
  assert.equal(dry.status, 201, JSON.stringify(dry.body));
  assert.deepEqual((await getQuota('rq-dry', 'q')).status ?? {}, {}, 'nothing charged');
  // a pod with requests is NotBestEffort: the scoped quota refuses it
  const sized = await createPod('rq-dry', podManifest('s', [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '100m' } } }]));
  assert.equal(sized.status, 403);
  assert.equal((sized.body as any).message, 'pods "s" is forbidden: exceeded quota: besteffort, requested: pods=1, used: pods=0, limited: pods=0');
  assert.equal((await createPod('rq-dry', podManifest('d'))).status, 201);
});

test('without recorded usage, pods that finished are not counted against the pods quota', async () => {
  await createNamespace(t, 'rq-term');
  const done = await createPod('rq-term', podManifest('done'));
  assert.equal(done.status, 201);
  const st = await t.request({ method: 'PUT', path: '/api/v1/namespaces/rq-term/pods/done/status', body: { ...(done.body as any), status: { ...(done.body as any).status, phase: 'Succeeded' } } });
  assert.equal(st.status, 200, JSON.stringify(st.body));
  await quota('rq-term', 'q', { pods: '1', 'count/pods': '2' });
  await chain.registry.watchCache.sync();
  assert.equal((await createPod('rq-term', podManifest('next'))).status, 201);
  assert.deepEqual((await getQuota('rq-term', 'q')).status.used, { 'count/pods': '2', pods: '1' });
  const third = await createPod('rq-term', podManifest('third'));
  assert.equal(third.status, 403);
  assert.equal((third.body as any).message, 'pods "third" is forbidden: exceeded quota: q, requested: count/pods=1,pods=1, used: count/pods=2,pods=1, limited: count/pods=2,pods=1');
});

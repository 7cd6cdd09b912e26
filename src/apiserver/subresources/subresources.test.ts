// pods/binding, pods/eviction, namespaces/finalize and certificatesigningrequests/approval through
// the in-process server, with upstream's answers and messages.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Transport, WatchHandle } from '../../api/transport.ts';
import { defaultAdmissionPlugins } from '../admission/plugins.ts';
import { ensureServiceAccountKey } from '../auth/service-account-key.ts';
import { serviceAccountAuthenticator } from '../auth/service-account-tokens.ts';
import { apiCodecs } from '../codecs.ts';
import { createNamespace, podManifest, startTestChain, type TestChain } from '../testing-chain.ts';
import { reviewLikeHandlers, subresourceHandlers } from './connect.ts';

let chain: TestChain;
let t: Transport;
let keyDir: string;

before(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'rudder-sakey-'));
  const key = await ensureServiceAccountKey(keyDir);
  chain = await startTestChain({
    admission: defaultAdmissionPlugins({ serviceAccount: { defaultAccountAttempts: 1 } }),
    handlers: (reg) => ({
      connect: subresourceHandlers({ reg, codecs: apiCodecs(), tokens: { key } }),
      reviews: reviewLikeHandlers(reg, serviceAccountAuthenticator(reg, key)),
    }),
  });
  t = chain.transport();
  await createNamespace(t, 'sub');
});
after(async () => {
  await chain.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

const PODS = '/api/v1/namespaces/sub/pods';
const post = (path: string, body: unknown, query?: Record<string, string>) => t.request({ method: 'POST', path, body, query });
const getPod = async (name: string) => t.request({ method: 'GET', path: `${PODS}/${name}` });

async function runningReadyPod(name: string, labels: Record<string, string>, node?: string): Promise<any> {
  const body = podManifest(name);
  (body.metadata as any).labels = labels;
  const c = await post(PODS, body);
  assert.equal(c.status, 201, JSON.stringify(c.body));
  if (node) assert.equal((await post(`${PODS}/${name}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } })).status, 201);
  const cur = (await getPod(name)).body as any;
  const st = await t.request({
    method: 'PUT',
    path: `${PODS}/${name}/status`,
    body: { ...cur, status: { ...cur.status, phase: 'Running', conditions: [...(cur.status.conditions ?? []), { type: 'Ready', status: 'True' }] } },
  });
  assert.equal(st.status, 200, JSON.stringify(st.body));
  return st.body;
}

describe('pods/binding', () => {
  test('binding sets spec.nodeName and PodScheduled=True in one write, and answers a Success Status', async () => {
    assert.equal((await post(PODS, podManifest('b1'))).status, 201);
    const res = await post(`${PODS}/b1/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b1', annotations: { 'scheduler.example/why': 'fit' } }, target: { kind: 'Node', name: 'n1' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    const pod = (await getPod('b1')).body as any;
    assert.equal(pod.spec.nodeName, 'n1');
    assert.equal(pod.metadata.annotations['scheduler.example/why'], 'fit');
    const cond = pod.status.conditions.find((c: any) => c.type === 'PodScheduled');
    assert.equal(cond.status, 'True');
    assert.equal(cond.lastProbeTime, null);
    assert.match(cond.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('a watcher and a GET see the bound pod exactly as stored, and an object read before the binding keeps its old state', async () => {
    assert.equal((await post(PODS, podManifest('b5'))).status, 201);
    const before = (await getPod('b5')).body as any;
    const seen: any[] = [];
    let w: WatchHandle | undefined;
    const got = new Promise<void>((resolve, reject) => {
      w = t.watch({ method: 'GET', path: PODS, query: { watch: 'true', resourceVersion: before.metadata.resourceVersion, fieldSelector: 'metadata.name=b5' } }, {
        onEvent: (e: any) => {
          seen.push(e);
          resolve();
        },
        onClose: (err) => reject(err ?? new Error('the watch ended')),
      });
    });
    assert.equal((await post(`${PODS}/b5/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b5' }, target: { name: 'n3' } })).status, 201);
    await got;
    w?.close();
    const pod = (await getPod('b5')).body as any;
    const kv = await chain.registry.store.get('/registry/pods/sub/b5');
    const stored = JSON.parse(Buffer.from(kv!.value).toString('utf8'));
    stored.metadata.resourceVersion = String(kv!.modRevision);
    assert.deepEqual(pod, stored, 'the cached pod is the stored one');
    assert.deepEqual(seen[0].object, stored, 'the watch event carries the stored pod');
    assert.equal(seen[0].type, 'MODIFIED');
    assert.equal(before.spec.nodeName, undefined, 'the earlier read is not changed by the binding');
    assert.equal(before.status.conditions, undefined);
    const again = await post(`${PODS}/b5/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b5' }, target: { name: 'n4' } });
    assert.equal(again.status, 409, 'a second binding sees the first');
  });

  test('a pod already bound is a 409 with upstream\'s message', async () => {
    const res = await post(`${PODS}/b1/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b1' }, target: { name: 'n2' } });
    assert.equal(res.status, 409);
    assert.equal((res.body as any).reason, 'Conflict');
    assert.equal((res.body as any).message, 'Operation cannot be fulfilled on pods/binding "b1": pod b1 is already assigned to node "n1"');
    assert.equal(((await getPod('b1')).body as any).spec.nodeName, 'n1');
  });

  test('the binding\'s uid is a precondition, its name must match the URL, and a missing pod is a 404', async () => {
    assert.equal((await post(PODS, podManifest('b2'))).status, 201);
    const stale = await post(`${PODS}/b2/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b2', uid: 'not-the-uid' }, target: { name: 'n1' } });
    assert.equal(stale.status, 409);
    assert.match((stale.body as any).message, /^Operation cannot be fulfilled on pods "b2": Precondition failed: UID in precondition: not-the-uid, UID in object meta: /);
    const mismatch = await post(`${PODS}/b2/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'other' }, target: { name: 'n1' } });
    assert.equal(mismatch.status, 400);
    assert.equal((mismatch.body as any).message, 'name in URL does not match name in Binding object');
    const missing = await post(`${PODS}/ghost/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'ghost' }, target: { name: 'n1' } });
    assert.equal(missing.status, 404);
    assert.equal((missing.body as any).message, 'pods "ghost" not found');
    const noTarget = await post(`${PODS}/b2/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b2' }, target: {} });
    assert.equal(noTarget.status, 500);
    assert.equal((noTarget.body as any).message, 'target.name: Required value');
  });

  test('the deprecated namespaced bindings resource binds too', async () => {
    const res = await post('/api/v1/namespaces/sub/bindings', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'b2' }, target: { kind: 'Node', name: 'n3' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(((await getPod('b2')).body as any).spec.nodeName, 'n3');
  });
});

describe('pods/eviction', () => {
  const PDBS = '/apis/policy/v1/namespaces/sub/poddisruptionbudgets';
  const eviction = (name: string, deleteOptions?: Record<string, unknown>) => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'sub' }, ...(deleteOptions ? { deleteOptions } : {}) });

  async function budget(name: string, app: string, status: Record<string, unknown> | undefined) {
    const c = await post(PDBS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec: { minAvailable: 1, selector: { matchLabels: { app } } } });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    if (!status) return;
    const s = await t.request({ method: 'PUT', path: `${PDBS}/${name}/status`, body: { ...(c.body as any), status: { observedGeneration: 1, ...status } } });
    assert.equal(s.status, 200, JSON.stringify(s.body));
  }

  test('a pending pod is evicted without consulting any budget', async () => {
    const body = podManifest('pending');
    (body.metadata as any).labels = { app: 'guarded' };
    assert.equal((await post(PODS, body)).status, 201);
    await budget('guarded', 'guarded', { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 1, expectedPods: 1 });
    const res = await post(`${PODS}/pending/eviction`, eviction('pending'));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((res.body as any).status, 'Success');
    assert.equal((await getPod('pending')).status, 404);
  });

  test('a budget that allows no disruption refuses with 429, upstream\'s message and the DisruptionBudget cause', async () => {
    await runningReadyPod('web-1', { app: 'web' }, 'n1');
    await runningReadyPod('web-2', { app: 'web' }, 'n1');
    await budget('web', 'web', { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 });
    const res = await post(`${PODS}/web-1/eviction`, eviction('web-1'));
    assert.equal(res.status, 429);
    assert.equal((res.body as any).reason, 'TooManyRequests');
    assert.equal((res.body as any).message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.deepEqual((res.body as any).details, { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' }] });
    const pod = (await getPod('web-1')).body as any;
    assert.equal(pod.metadata.deletionTimestamp, undefined, 'the pod is left alone');
  });

  test('a budget with room is decremented, records the disrupted pod, and the pod is deleted gracefully with DisruptionTarget', async () => {
    const cur = (await t.request({ method: 'GET', path: `${PDBS}/web` })).body as any;
    const s = await t.request({ method: 'PUT', path: `${PDBS}/web/status`, body: { ...cur, status: { ...cur.status, disruptionsAllowed: 1, desiredHealthy: 1 } } });
    assert.equal(s.status, 200);
    const res = await post(`${PODS}/web-1/eviction`, eviction('web-1', { gracePeriodSeconds: 20 }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const pdb = (await t.request({ method: 'GET', path: `${PDBS}/web` })).body as any;
    assert.equal(pdb.status.disruptionsAllowed, 0);
    assert.deepEqual(Object.keys(pdb.status.disruptedPods), ['web-1']);
    const cond = pdb.status.conditions.find((c: any) => c.type === 'DisruptionAllowed');
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'InsufficientPods');
    const pod = (await getPod('web-1')).body as any;
    assert.equal(pod.metadata.deletionGracePeriodSeconds, 20, 'the eviction\'s DeleteOptions apply');
    const dt = pod.status.conditions.find((c: any) => c.type === 'DisruptionTarget');
    assert.deepEqual([dt.status, dt.reason, dt.message], ['True', 'EvictionByEvictionAPI', 'Eviction API: evicting']);
    // the budget is now spent
    const again = await post(`${PODS}/web-2/eviction`, eviction('web-2'));
    assert.equal(again.status, 429);
  });

  test('a budget its controller has not processed yet asks the client to retry', async () => {
    await runningReadyPod('api-1', { app: 'api' }, 'n1');
    await budget('api', 'api', undefined);
    const res = await post(`${PODS}/api-1/eviction`, eviction('api-1'));
    assert.equal(res.status, 429);
    assert.deepEqual((res.body as any).details, { retryAfterSeconds: 10, causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget api is still being processed by the server.' }] });
  });

  test('the Eviction must name the pod of the URL', async () => {
    const res = await post(`${PODS}/api-1/eviction`, eviction('other'));
    assert.equal(res.status, 400);
    assert.equal((res.body as any).message, 'name in URL does not match name in Eviction object');
  });
});

describe('namespaces/finalize', () => {
  test('finalize writes spec.finalizers only, and validates them', async () => {
    await createNamespace(t, 'fin-a');
    const ns = (await t.request({ method: 'GET', path: '/api/v1/namespaces/fin-a' })).body as any;
    assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
    const res = await t.request({ method: 'PUT', path: '/api/v1/namespaces/fin-a/finalize', body: { ...ns, spec: { finalizers: ['example.com/mine'] }, status: { phase: 'Terminating' } } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((res.body as any).spec.finalizers, ['example.com/mine']);
    assert.equal((res.body as any).status.phase, 'Active', 'status is not written through finalize');
    const bad = await t.request({ method: 'PUT', path: '/api/v1/namespaces/fin-a/finalize', body: { ...(res.body as any), spec: { finalizers: ['not a name'] } } });
    assert.equal(bad.status, 422);
    assert.match((bad.body as any).message, /^Namespace "fin-a" is invalid: \[spec.finalizers\[0\]: Invalid value: "not a name": /);
  });

  test('a terminating namespace is deleted by the finalize that empties its last finalizer', async () => {
    // A metadata finalizer keeps the namespace through DELETE (the registry's own path to Terminating).
    const c = await t.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fin-b', finalizers: ['example.com/hold'] } } });
    assert.equal(c.status, 201);
    assert.equal((await t.request({ method: 'DELETE', path: '/api/v1/namespaces/fin-b' })).status, 200);
    const released = await t.request({ method: 'PATCH', path: '/api/v1/namespaces/fin-b', body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    assert.equal(released.status, 200, JSON.stringify(released.body));
    const ns = released.body as any;
    assert.equal(ns.status.phase, 'Terminating');
    assert.deepEqual(ns.spec.finalizers, ['kubernetes'], 'spec.finalizers still hold it');
    const res = await t.request({ method: 'PUT', path: '/api/v1/namespaces/fin-b/finalize', body: { ...ns, spec: { finalizers: [] } } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((res.body as any).spec, {});
    assert.equal((await t.request({ method: 'GET', path: '/api/v1/namespaces/fin-b' })).status, 404);
  });
});

describe('certificatesigningrequests/approval', () => {
  let request = '';
  before(async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    request = (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=alice', keys, signingAlgorithm: alg })).toString('pem');
  });
  const CSRS = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

  test('approval adds the Approved condition with timestamps; status writes may not', async () => {
    const c = await post(CSRS, {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: 'alice' },
      spec: { request: Buffer.from(request).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] },
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const approved = { ...(c.body as any), spec: { ...(c.body as any).spec, usages: ['server auth'] }, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove', message: 'ok' }] } };
    const viaStatus = await t.request({ method: 'PUT', path: `${CSRS}/alice/status`, body: approved });
    assert.equal(viaStatus.status, 422);
    const res = await t.request({ method: 'PUT', path: `${CSRS}/alice/approval`, body: approved });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const out = res.body as any;
    assert.deepEqual(out.spec.usages, ['client auth'], 'only conditions are written');
    const cond = out.status.conditions[0];
    assert.deepEqual([cond.type, cond.status, cond.reason], ['Approved', 'True', 'KubectlApprove']);
    assert.ok(cond.lastUpdateTime && cond.lastTransitionTime);
    const got = await t.request({ method: 'GET', path: `${CSRS}/alice/approval` });
    assert.equal((got.body as any).status.conditions[0].type, 'Approved');
    const both = await t.request({ method: 'PUT', path: `${CSRS}/alice/approval`, body: { ...out, status: { conditions: [...out.status.conditions, { type: 'Denied', status: 'True' }] } } });
    assert.equal(both.status, 422);
    assert.equal((both.body as any).message, 'CertificateSigningRequest.certificates.k8s.io "alice" is invalid: status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive');
  });
});

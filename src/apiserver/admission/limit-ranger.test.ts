// LimitRanger through the in-process server: defaults with their annotation, and the min, max and
// ratio refusals in upstream's words.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Transport } from '../../api/transport.ts';
import { createNamespace, podManifest, startTestChain, type TestChain } from '../testing-chain.ts';
import { limitRanger } from './limit-ranger.ts';
import { namespaceLifecycle } from './namespace-lifecycle.ts';

let chain: TestChain;
let t: Transport;

before(async () => {
  chain = await startTestChain({ admission: [namespaceLifecycle(), limitRanger()] });
  t = chain.transport();
});
after(async () => {
  await chain.stop();
});

async function namespaceWithLimits(ns: string, limits: Record<string, unknown>[]): Promise<void> {
  await createNamespace(t, ns);
  const r = await t.request({
    method: 'POST',
    path: `/api/v1/namespaces/${ns}/limitranges`,
    body: { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'limits' }, spec: { limits } },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

const createPod = (ns: string, body: Record<string, unknown>) => t.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/pods`, body });

test('containers without requests or limits get the LimitRange defaults, and the pod says so', async () => {
  await namespaceWithLimits('lr-defaults', [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m' } }]);
  const res = await createPod(
    'lr-defaults',
    podManifest('p', [
      { name: 'a', image: 'busybox' },
      { name: 'b', image: 'busybox', resources: { limits: { memory: '128Mi' } } },
    ]),
  );
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const pod = res.body as any;
  assert.deepEqual(pod.spec.containers[0].resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '256Mi' } });
  // b's memory request comes from its own limit (pod defaulting), its cpu from the range
  assert.deepEqual(pod.spec.containers[1].resources, { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
  assert.equal(
    pod.metadata.annotations['kubernetes.io/limit-ranger'],
    'LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; cpu request for container b; cpu limit for container b',
  );
  // (the range's defaultRequest.memory was itself defaulted from default.memory, as upstream does)
  const bare = await createPod('lr-defaults', podManifest('bare'));
  assert.equal(bare.status, 201);
  assert.equal((bare.body as any).status.qosClass, 'Burstable', 'the QoS class reflects the defaulted resources, not the BestEffort pod as sent');
});

test('a container over the maximum or under the minimum is refused with upstream\'s messages', async () => {
  await namespaceWithLimits('lr-bounds', [{ type: 'Container', max: { cpu: '1' }, min: { memory: '64Mi' } }]);
  const over = await createPod('lr-bounds', podManifest('big', [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '2', memory: '128Mi' } } }]));
  assert.equal(over.status, 403);
  assert.equal((over.body as any).reason, 'Forbidden');
  assert.equal((over.body as any).message, 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  const both = await createPod('lr-bounds', podManifest('both', [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '2' }, requests: { memory: '32Mi' } } }]));
  assert.equal(both.status, 403);
  assert.equal(
    (both.body as any).message,
    'pods "both" is forbidden: [minimum memory usage per Container is 64Mi, but request is 32Mi, maximum cpu usage per Container is 1, but limit is 2]',
  );
  // A pod that states nothing gets the range's defaults (default limit = max, default request = min), which fit.
  const none = await createPod('lr-bounds', podManifest('none'));
  assert.equal(none.status, 201, JSON.stringify(none.body));
  assert.deepEqual((none.body as any).spec.containers[0].resources, { limits: { cpu: '1' }, requests: { cpu: '1', memory: '64Mi' } });
  const ok = await createPod('lr-bounds', podManifest('ok', [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '500m', memory: '128Mi' } } }]));
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

test('maxLimitRequestRatio and Pod-level maximums are enforced', async () => {
  await namespaceWithLimits('lr-ratio', [
    { type: 'Container', maxLimitRequestRatio: { cpu: '2' } },
    { type: 'Pod', max: { memory: '1Gi' } },
  ]);
  const ratio = await createPod('lr-ratio', podManifest('r', [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m' }, limits: { cpu: '300m', memory: '100Mi' } } }]));
  assert.equal(ratio.status, 403);
  assert.equal((ratio.body as any).message, 'pods "r" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000');
  const podMax = await createPod(
    'lr-ratio',
    podManifest('m', [
      { name: 'a', image: 'busybox', resources: { limits: { cpu: '1', memory: '600Mi' } } },
      { name: 'b', image: 'busybox', resources: { limits: { cpu: '1', memory: '600Mi' } } },
    ]),
  );
  assert.equal(podMax.status, 403);
  assert.equal((podMax.body as any).message, 'pods "m" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1200Mi');
});

test('a claim asking for more storage than the maximum is refused', async () => {
  await namespaceWithLimits('lr-pvc', [{ type: 'PersistentVolumeClaim', max: { storage: '1Gi' }, min: { storage: '100Mi' } }]);
  const claim = (name: string, storage: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
  });
  const big = await t.request({ method: 'POST', path: '/api/v1/namespaces/lr-pvc/persistentvolumeclaims', body: claim('big', '5Gi') });
  assert.equal(big.status, 403);
  assert.equal((big.body as any).message, 'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 5Gi');
  const ok = await t.request({ method: 'POST', path: '/api/v1/namespaces/lr-pvc/persistentvolumeclaims', body: claim('ok', '500Mi') });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import { compareActivePodsForDeletion, isPodActive, isPodAvailable, podFromTemplate, slowStartBatch } from './pods.ts';

const pod = (name: string, o: { phase?: string; ready?: boolean; readySince?: string; node?: string; created?: string; deleting?: boolean; restarts?: number } = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, creationTimestamp: o.created ?? '2025-01-01T00:00:00Z', ...(o.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) },
  spec: { ...(o.node ? { nodeName: o.node } : {}) },
  status: {
    phase: o.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False', lastTransitionTime: o.readySince ?? '2025-01-01T00:00:00Z' }],
    containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0 }],
  },
});

test('a pod is available once Ready for minReadySeconds', () => {
  const p = pod('a', { ready: true, readySince: '2025-01-01T00:00:00Z' });
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  assert.ok(isPodAvailable(p, 0, t0));
  assert.ok(!isPodAvailable(p, 10, t0 + 9_000));
  assert.ok(isPodAvailable(p, 10, t0 + 10_000));
  assert.ok(!isPodAvailable(pod('b', { ready: false }), 0, t0));
});

test('active pods are neither finished nor being deleted', () => {
  assert.ok(isPodActive(pod('a')));
  assert.ok(!isPodActive(pod('a', { phase: 'Succeeded' })));
  assert.ok(!isPodActive(pod('a', { phase: 'Failed' })));
  assert.ok(!isPodActive(pod('a', { deleting: true })));
});

test('pods to delete first: unscheduled, then pending, then not ready, then more restarts, then newer', () => {
  const pods = [
    pod('ready-old', { node: 'n', ready: true, created: '2025-01-01T00:00:00Z' }),
    pod('ready-new', { node: 'n', ready: true, created: '2025-01-02T00:00:00Z' }),
    pod('unready', { node: 'n' }),
    pod('pending', { node: 'n', phase: 'Pending' }),
    pod('unscheduled', { phase: 'Pending' }),
    pod('crashy', { node: 'n', ready: true, restarts: 5, created: '2025-01-01T00:00:00Z' }),
  ];
  assert.deepEqual(pods.sort(compareActivePodsForDeletion).map((p) => p.metadata.name), ['unscheduled', 'pending', 'unready', 'crashy', 'ready-new', 'ready-old']);
});

test('a pod from a template has its labels, annotations, finalizers, spec, the owner and a generateName', () => {
  const owner: KObject = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'ns', uid: 'u' } };
  const ref = { apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u', controller: true };
  const tpl = { metadata: { labels: { a: '1' }, annotations: { b: '2' }, finalizers: ['f'] }, spec: { containers: [{ name: 'c' }] } };
  const p = podFromTemplate(tpl, owner, ref, 'j-') as any;
  assert.deepEqual(p.metadata, { namespace: 'ns', labels: { a: '1' }, annotations: { b: '2' }, generateName: 'j-', finalizers: ['f'], ownerReferences: [ref] });
  assert.deepEqual(p.spec, { containers: [{ name: 'c' }] });
  p.spec.containers[0].name = 'x';
  assert.equal(tpl.spec.containers[0]!.name, 'c', 'the template is copied');
});

test('slow-start batches grow 1, 2, 4, … and stop after a batch with a failure', async () => {
  // items of one batch run together; the next batch starts when the previous one is done
  const waves: number[][] = [];
  let inFlight: number[] = [];
  const r = await slowStartBatch([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 1, async (i) => {
    if (inFlight.length === 0) waves.push(inFlight);
    inFlight.push(i);
    await new Promise((res) => setImmediate(res));
    inFlight = [];
  });
  assert.deepEqual(waves, [[1], [2, 3], [4, 5, 6, 7], [8, 9, 10]]);
  assert.equal(r.successes, 10);
  let calls = 0;
  const failing = await slowStartBatch([1, 2, 3, 4, 5, 6, 7], 1, async (i) => {
    calls++;
    if (i === 3) throw new Error('boom');
  });
  assert.equal(calls, 3, 'batches of 1 and 2 ran; the 4-batch never started');
  assert.equal(failing.successes, 2);
  assert.equal((failing.error as Error).message, 'boom');
});

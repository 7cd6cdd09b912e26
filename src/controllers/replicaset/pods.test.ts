import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteBefore, isPodActive, isPodAvailable, podFromTemplate, podsToDelete, controllerRefTo } from './pods.ts';
import type { Pod } from './types.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function pod(name: string, o: { node?: string; phase?: string; ready?: boolean; readySince?: number; created?: number; restarts?: number; cost?: string; uid?: string; deleting?: boolean } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: o.uid ?? `uid-${name}`,
      creationTimestamp: iso(o.created ?? NOW - 3600_000),
      ...(o.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
      ...(o.deleting ? { deletionTimestamp: iso(NOW) } : {}),
    },
    spec: o.node ? { nodeName: o.node } : {},
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: iso(o.readySince ?? NOW - 3600_000) }],
      containerStatuses: [{ restartCount: o.restarts ?? 0 }],
    },
  };
}

const names = (ps: Pod[]) => ps.map((p) => p.metadata.name);

test('deletion prefers unscheduled, then pending, then not-ready pods', () => {
  const pods = [pod('running-ready', { node: 'n1' }), pod('unscheduled', {}), pod('pending', { node: 'n1', phase: 'Pending', ready: false }), pod('not-ready', { node: 'n1', ready: false })];
  assert.deepEqual(names(podsToDelete(pods, [], 3, NOW)), ['unscheduled', 'pending', 'not-ready']);
});

test('phase order is Pending before Unknown before Running', () => {
  const pods = [pod('running', { node: 'n', ready: false }), pod('unknown', { node: 'n', phase: 'Unknown', ready: false }), pod('pending', { node: 'n', phase: 'Pending', ready: false })];
  assert.deepEqual(names(podsToDelete(pods, [], 2, NOW)), ['pending', 'unknown']);
});

test('a lower pod-deletion-cost is deleted first', () => {
  const pods = [pod('expensive', { node: 'n', cost: '100' }), pod('cheap', { node: 'n', cost: '-5' }), pod('default', { node: 'n' })];
  assert.deepEqual(names(podsToDelete(pods, [], 2, NOW)), ['cheap', 'default']);
});

test('pods doubled up on a node with related pods go first', () => {
  const a = pod('alone', { node: 'n1' });
  const b = pod('crowded', { node: 'n2' });
  const related = [a, b, pod('sibling1', { node: 'n2' }), pod('sibling2', { node: 'n2' }), pod('gone', { node: 'n1', phase: 'Succeeded' })];
  assert.deepEqual(names(podsToDelete([a, b], related, 1, NOW)), ['crowded']);
});

test('a pod ready for less time goes first, compared in log2 buckets of age', () => {
  const recent = pod('recent', { node: 'n', readySince: NOW - 10_000 });
  const old = pod('old', { node: 'n', readySince: NOW - 86_400_000 });
  assert.deepEqual(names(podsToDelete([old, recent], [], 1, NOW)), ['recent']);
  // within the same power-of-two bucket of age, the UID decides (a pseudo-random but stable order)
  const x = pod('x', { node: 'n', readySince: NOW - 1_000_000, uid: 'b' });
  const y = pod('y', { node: 'n', readySince: NOW - 1_000_001, uid: 'a' });
  assert.deepEqual(names(podsToDelete([x, y], [], 1, NOW)), ['y']);
});

test('more container restarts, then newer creation, go first', () => {
  const flaky = pod('flaky', { node: 'n', restarts: 5 });
  const steady = pod('steady', { node: 'n' });
  assert.deepEqual(names(podsToDelete([steady, flaky], [], 1, NOW)), ['flaky']);
  const t = NOW - 3600_000;
  const newer = pod('newer', { node: 'n', readySince: t, created: NOW - 60_000 });
  const older = pod('older', { node: 'n', readySince: t, created: NOW - 86_400_000 * 30 });
  assert.deepEqual(names(podsToDelete([older, newer], [], 1, NOW)), ['newer']);
});

test('the ranking is a strict order: no pod is before itself and none before each other both ways', () => {
  const pods = [pod('a', { node: 'n' }), pod('b', {}), pod('c', { node: 'n', ready: false }), pod('d', { node: 'm', restarts: 2 })];
  for (const x of pods) {
    assert.equal(deleteBefore({ pod: x, rank: 0 }, { pod: x, rank: 0 }, NOW), false);
    for (const y of pods) if (x !== y) assert.ok(!(deleteBefore({ pod: x, rank: 0 }, { pod: y, rank: 0 }, NOW) && deleteBefore({ pod: y, rank: 0 }, { pod: x, rank: 0 }, NOW)));
  }
});

test('asking to delete as many pods as there are returns them all, unsorted', () => {
  const pods = [pod('a', { node: 'n' }), pod('b')];
  assert.deepEqual(names(podsToDelete(pods, [], 5, NOW)), ['a', 'b']);
});

test('availability needs Ready for longer than minReadySeconds', () => {
  const p = pod('p', { readySince: NOW - 5_000 });
  assert.equal(isPodAvailable(p, 0, NOW), true);
  assert.equal(isPodAvailable(p, 4, NOW), true);
  assert.equal(isPodAvailable(p, 5, NOW), false);
  assert.equal(isPodAvailable(pod('q', { ready: false }), 0, NOW), false);
});

test('terminal and terminating pods are not active', () => {
  assert.equal(isPodActive(pod('a')), true);
  assert.equal(isPodActive(pod('b', { phase: 'Failed' })), false);
  assert.equal(isPodActive(pod('c', { phase: 'Succeeded' })), false);
  assert.equal(isPodActive(pod('d', { deleting: true })), false);
});

test('a pod from a template carries its labels, annotations, spec and the controller reference, named by generateName', () => {
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-5d8f9', namespace: 'prod', uid: 'u1' } };
  const p = podFromTemplate({ metadata: { labels: { app: 'web' }, annotations: { a: 'b' }, finalizers: ['f'] }, spec: { containers: [{ name: 'c', image: 'i' }] } }, owner, controllerRefTo(owner));
  assert.equal(p.metadata.generateName, 'web-5d8f9-');
  assert.equal(p.metadata.namespace, 'prod');
  assert.deepEqual(p.metadata.labels, { app: 'web' });
  assert.deepEqual(p.metadata.annotations, { a: 'b' });
  assert.deepEqual(p.metadata.finalizers, ['f']);
  assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f9', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(p.spec, { containers: [{ name: 'c', image: 'i' }] });
});

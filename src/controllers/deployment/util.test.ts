import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Deployment, ReplicaSet } from './types.ts';
import {
  calculateStatus,
  equalIgnoreHash,
  findNewReplicaSet,
  isSaturated,
  lastRevision,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  proportionalSizes,
  resolveFenceposts,
  rolloutStatus,
  scaledValue,
  setNewReplicaSetAnnotations,
  stuckRequeueDelay,
  sumAvailableWithinSpec,
} from './util.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function deployment(o: { replicas?: number; maxSurge?: number | string; maxUnavailable?: number | string; type?: string; generation?: number; status?: Deployment['status']; progressDeadlineSeconds?: number; annotations?: Record<string, string>; image?: string } = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: o.generation ?? 1, annotations: o.annotations },
    spec: {
      replicas: o.replicas ?? 10,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: o.image ?? 'nginx:1' }] } },
      strategy: o.type === 'Recreate' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.maxSurge ?? '25%', maxUnavailable: o.maxUnavailable ?? '25%' } },
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
      revisionHistoryLimit: 10,
    },
    status: o.status,
  };
}

function rs(name: string, o: { replicas?: number; available?: number; ready?: number; actual?: number; created?: number; revision?: string; maxReplicas?: number; desired?: number; image?: string; hash?: string } = {}): ReplicaSet {
  const annotations: Record<string, string> = {};
  if (o.revision !== undefined) annotations['deployment.kubernetes.io/revision'] = o.revision;
  if (o.maxReplicas !== undefined) annotations['deployment.kubernetes.io/max-replicas'] = String(o.maxReplicas);
  if (o.desired !== undefined) annotations['deployment.kubernetes.io/desired-replicas'] = String(o.desired);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: iso(o.created ?? NOW), annotations },
    spec: {
      replicas: o.replicas ?? 0,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': o.hash ?? name } },
      template: { metadata: { labels: { app: 'web', 'pod-template-hash': o.hash ?? name } }, spec: { containers: [{ name: 'c', image: o.image ?? 'nginx:1' }] } },
    },
    status: { replicas: o.actual ?? o.replicas ?? 0, readyReplicas: o.ready ?? o.available ?? 0, availableReplicas: o.available ?? 0 },
  };
}

test('maxSurge rounds up and maxUnavailable rounds down: 25% of 10 is 3 and 2', () => {
  assert.deepEqual(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 });
  assert.equal(maxSurge(deployment()), 3);
  assert.equal(maxUnavailable(deployment()), 2);
});

test('when both come out 0, maxUnavailable is 1 so the rollout can move', () => {
  assert.deepEqual(resolveFenceposts(0, 0, 10), { surge: 0, unavailable: 1 });
  assert.deepEqual(resolveFenceposts('1%', '1%', 10), { surge: 1, unavailable: 0 });
  assert.deepEqual(resolveFenceposts('0%', '1%', 10), { surge: 0, unavailable: 1 });
});

test('maxUnavailable never exceeds replicas, and is 0 for Recreate or no replicas', () => {
  assert.equal(maxUnavailable(deployment({ replicas: 3, maxUnavailable: 5 })), 3);
  assert.equal(maxUnavailable(deployment({ type: 'Recreate' })), 0);
  assert.equal(maxSurge(deployment({ type: 'Recreate' })), 0);
  assert.equal(maxUnavailable(deployment({ replicas: 0 })), 0);
});

test('a string that is no percentage is refused', () => {
  assert.throws(() => scaledValue('5', 10, true), /string is not a percentage/);
  assert.equal(scaledValue('50%', 5, true), 3);
  assert.equal(scaledValue('50%', 5, false), 2);
});

test('the new ReplicaSet grows by what maxSurge leaves, up to replicas', () => {
  const d = deployment({ replicas: 10 });
  const old = rs('old', { replicas: 10 });
  const neu = rs('new', { replicas: 0 });
  assert.equal(newRSNewReplicas(d, [old, neu], neu), 3);
  assert.equal(newRSNewReplicas(d, [rs('old', { replicas: 8 }), rs('new', { replicas: 3 })], rs('new', { replicas: 3 })), 5);
  assert.equal(newRSNewReplicas(d, [rs('old', { replicas: 10 }), rs('new', { replicas: 3 })], rs('new', { replicas: 3 })), 3, 'no room: unchanged');
  assert.equal(newRSNewReplicas(d, [rs('old', { replicas: 1 }), rs('new', { replicas: 9 })], rs('new', { replicas: 9 })), 10, 'never beyond replicas');
  assert.equal(newRSNewReplicas(deployment({ type: 'Recreate' }), [neu], neu), 10);
});

test('pods an old ReplicaSet still holds (status above spec) count against maxSurge', () => {
  const d = deployment({ replicas: 10 });
  const neu = rs('new', { replicas: 3 });
  // the old ReplicaSet was scaled 10 -> 8 but its 10 pods are not gone yet
  assert.equal(newRSNewReplicas(d, [rs('old', { replicas: 8, actual: 10 }), neu], neu), 3);
  assert.equal(newRSNewReplicas(d, [rs('old', { replicas: 8, actual: 8 }), neu], neu), 5);
});

test('availability is counted no higher than each ReplicaSet spec', () => {
  assert.equal(sumAvailableWithinSpec([rs('old', { replicas: 0, actual: 2, available: 2 }), rs('new', { replicas: 5, available: 3 })]), 3);
});

test('scaling during a rollout spreads the change in proportion to the ReplicaSets sizes', () => {
  // 10 replicas (max 13) mid-rollout: old 8, new 5; scaled to 20 (max 25)
  const up = proportionalSizes(deployment({ replicas: 20 }), [rs('old', { replicas: 8, maxReplicas: 13, created: NOW - 60_000 }), rs('new', { replicas: 5, maxReplicas: 13 })]);
  assert.equal(up.op, 'up');
  assert.deepEqual(Object.fromEntries(up.sizes), { old: 15, new: 10 });
  // and back to 10 (max 13)
  const down = proportionalSizes(deployment({ replicas: 10 }), [rs('old', { replicas: 15, maxReplicas: 25, created: NOW - 60_000 }), rs('new', { replicas: 10, maxReplicas: 25 })]);
  assert.equal(down.op, 'down');
  assert.deepEqual(Object.fromEntries(down.sizes), { old: 8, new: 5 });
});

test('rounding leftovers go to the largest ReplicaSet, and scaling to 0 empties all', () => {
  const r = proportionalSizes(deployment({ replicas: 4, maxSurge: 1, maxUnavailable: 0 }), [rs('a', { replicas: 1, maxReplicas: 3, created: NOW - 2000 }), rs('b', { replicas: 1, maxReplicas: 3, created: NOW - 1000 }), rs('c', { replicas: 1, maxReplicas: 3 })]);
  const total = [...r.sizes.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, 5);
  const zero = proportionalSizes(deployment({ replicas: 0 }), [rs('a', { replicas: 3, maxReplicas: 4 }), rs('b', { replicas: 1, maxReplicas: 4 })]);
  assert.deepEqual(Object.fromEntries(zero.sizes), { a: 0, b: 0 });
});

test('the new ReplicaSet is the oldest one whose template matches, ignoring the hash label and empty fields', () => {
  const d = deployment({ image: 'nginx:2' });
  const a = rs('a', { image: 'nginx:1', created: NOW - 3000 });
  const b = rs('b', { image: 'nginx:2', created: NOW - 2000 });
  const c = rs('c', { image: 'nginx:2', created: NOW - 1000 });
  assert.equal(findNewReplicaSet(d, [c, a, b])?.metadata.name, 'b');
  assert.equal(findNewReplicaSet(deployment({ image: 'nginx:3' }), [a, b, c]), undefined);
  assert.ok(equalIgnoreHash({ metadata: { labels: { app: 'x' } }, spec: { volumes: [] } }, { metadata: { labels: { app: 'x', 'pod-template-hash': 'abc' } }, spec: {} }));
  assert.ok(!equalIgnoreHash({ metadata: { labels: { app: 'x' } } }, { metadata: { labels: { app: 'y' } } }));
});

test('revisions: the highest, and the one before it (what rollout undo returns to)', () => {
  const list = [rs('a', { revision: '1' }), rs('b', { revision: '4' }), rs('c', { revision: '2' }), rs('d', { revision: 'x' })];
  assert.equal(maxRevision(list), 4);
  assert.equal(lastRevision(list), 2);
});

test('reusing an old ReplicaSet raises its revision and records the old one in revision-history', () => {
  const d = deployment({ annotations: { 'kubernetes.io/change-cause': 'undo', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } });
  const old = rs('a', { revision: '1' });
  assert.equal(setNewReplicaSetAnnotations(d, old, 3, true), true);
  assert.equal(old.metadata.annotations!['deployment.kubernetes.io/revision'], '3');
  assert.equal(old.metadata.annotations!['deployment.kubernetes.io/revision-history'], '1');
  assert.equal(old.metadata.annotations!['kubernetes.io/change-cause'], 'undo');
  assert.equal(old.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration'], undefined, 'skipped annotations are not copied');
  assert.equal(setNewReplicaSetAnnotations(d, old, 5, true), true);
  assert.equal(old.metadata.annotations!['deployment.kubernetes.io/revision-history'], '1,3');
  assert.equal(setNewReplicaSetAnnotations(d, old, 5, true), false, 'nothing changes the second time');
  assert.equal(setNewReplicaSetAnnotations(d, old, 2, true), false, 'a revision never goes down');
});

test('a ReplicaSet about to be created gets desired-replicas and max-replicas', () => {
  const n = rs('n');
  setNewReplicaSetAnnotations(deployment({ replicas: 10 }), n, 1, false);
  assert.equal(n.metadata.annotations!['deployment.kubernetes.io/desired-replicas'], '10');
  assert.equal(n.metadata.annotations!['deployment.kubernetes.io/max-replicas'], '13');
  assert.equal(n.metadata.annotations!['deployment.kubernetes.io/revision'], '1');
});

test('saturated: the new ReplicaSet has all replicas, desired and available', () => {
  const d = deployment({ replicas: 3 });
  assert.equal(isSaturated(d, rs('n', { replicas: 3, desired: 3, available: 3 })), true);
  assert.equal(isSaturated(d, rs('n', { replicas: 3, desired: 3, available: 2 })), false);
  assert.equal(isSaturated(d, rs('n', { replicas: 3, available: 3 })), false);
});

test('status sums the ReplicaSets and sets Available by minimum availability', () => {
  const d = deployment({ replicas: 10 });
  const s = calculateStatus([rs('old', { replicas: 8, available: 8 }), rs('new', { replicas: 5, actual: 4, ready: 2, available: 1 })], rs('new', { replicas: 5, actual: 4, ready: 2, available: 1 }), d, NOW);
  assert.equal(s.replicas, 12);
  assert.equal(s.updatedReplicas, 4);
  assert.equal(s.readyReplicas, 10);
  assert.equal(s.availableReplicas, 9);
  assert.equal(s.unavailableReplicas, 4);
  assert.equal(s.observedGeneration, 1);
  assert.deepEqual(s.conditions, [{ type: 'Available', status: 'True', lastUpdateTime: iso(NOW), lastTransitionTime: iso(NOW), reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }]);
  const low = calculateStatus([rs('new', { replicas: 10, available: 7 })], undefined, d, NOW);
  assert.equal(low.conditions?.[0]?.reason, 'MinimumReplicasUnavailable');
  assert.equal(low.conditions?.[0]?.message, 'Deployment does not have minimum availability.');
});

test('Progressing: ReplicaSetUpdated on progress, NewReplicaSetAvailable when complete, ProgressDeadlineExceeded when stuck', () => {
  const start = NOW - 700_000;
  const created = { type: 'Progressing', status: 'True' as const, lastUpdateTime: iso(start), lastTransitionTime: iso(start), reason: 'NewReplicaSetCreated', message: 'Created new replica set "web-abc"' };
  const d = deployment({ replicas: 2, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 1, conditions: [created] } });
  const newRS = rs('web-abc', { replicas: 2, available: 1 });
  const progressing = rolloutStatus([rs('old', { replicas: 1, available: 1 }), newRS], newRS, d, NOW);
  const p = progressing.conditions!.find((c) => c.type === 'Progressing')!;
  assert.equal(p.reason, 'ReplicaSetUpdated');
  assert.equal(p.message, 'ReplicaSet "web-abc" is progressing.');
  assert.equal(p.lastUpdateTime, iso(NOW));
  assert.equal(p.lastTransitionTime, iso(start), 'the same status keeps its transition time');

  const done = rs('web-abc', { replicas: 2, available: 2 });
  const complete = rolloutStatus([done], done, d, NOW);
  const c = complete.conditions!.find((x) => x.type === 'Progressing')!;
  assert.equal(c.reason, 'NewReplicaSetAvailable');
  assert.equal(c.message, 'ReplicaSet "web-abc" has successfully progressed.');

  const stuckD = deployment({ replicas: 2, status: { observedGeneration: 1, replicas: 3, updatedReplicas: 1, availableReplicas: 2, readyReplicas: 2, conditions: [created] } });
  const stuckRS = rs('web-abc', { replicas: 1, available: 0 });
  const stuck = rolloutStatus([rs('old', { replicas: 2, available: 2 }), stuckRS], stuckRS, stuckD, NOW);
  const t = stuck.conditions!.find((x) => x.type === 'Progressing')!;
  assert.equal(t.status, 'False');
  assert.equal(t.reason, 'ProgressDeadlineExceeded');
  assert.equal(t.message, 'ReplicaSet "web-abc" has timed out progressing.');
});

test('a Deployment without progress is looked at again when its deadline passes', () => {
  const cond = { type: 'Progressing', status: 'True' as const, lastUpdateTime: iso(NOW - 100_000), lastTransitionTime: iso(NOW - 100_000), reason: 'ReplicaSetUpdated', message: '' };
  const d = deployment({ replicas: 2, progressDeadlineSeconds: 600, status: { conditions: [cond] } });
  assert.equal(stuckRequeueDelay(d, { replicas: 2, updatedReplicas: 1 }, NOW), 501_000);
  const late = deployment({ replicas: 2, progressDeadlineSeconds: 60, status: { conditions: [cond] } });
  assert.equal(stuckRequeueDelay(late, { replicas: 2, updatedReplicas: 1 }, NOW), 0);
  assert.equal(stuckRequeueDelay(d, { replicas: 2, updatedReplicas: 2, availableReplicas: 2, observedGeneration: 1 }, NOW), -1, 'complete: never');
});

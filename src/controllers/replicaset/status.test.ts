import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calculateReplicaStatus, replicaStatusChanged } from './status.ts';
import type { Pod, ReplicaSet } from './types.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function rs(o: { replicas?: number; minReadySeconds?: number; generation?: number; status?: ReplicaSet['status'] } = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'default', generation: o.generation ?? 1 },
    spec: { replicas: o.replicas ?? 3, minReadySeconds: o.minReadySeconds, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web', tier: 'fe' } } } },
    status: o.status,
  };
}

function pod(name: string, labels: Record<string, string>, readySince?: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    status: { phase: 'Running', conditions: readySince === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: iso(readySince) }] },
  };
}

test('status counts pods, fully labeled pods, ready and available pods', () => {
  const pods = [pod('a', { app: 'web', tier: 'fe' }, NOW - 60_000), pod('b', { app: 'web' }, NOW - 2_000), pod('c', { app: 'web', tier: 'fe' })];
  const s = calculateReplicaStatus(rs({ minReadySeconds: 10 }), pods, undefined, NOW);
  assert.deepEqual(s, { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1 });
});

test('zero counts are left out, as upstream serializes them', () => {
  assert.deepEqual(calculateReplicaStatus(rs(), [], undefined, NOW), { replicas: 0 });
});

test('a failed create sets ReplicaFailure with reason FailedCreate and the error as message; success clears it', () => {
  const failed = calculateReplicaStatus(rs(), [], new Error('pods "web-x" is forbidden: exceeded quota'), NOW);
  assert.deepEqual(failed.conditions, [{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: iso(NOW), reason: 'FailedCreate', message: 'pods "web-x" is forbidden: exceeded quota' }]);
  const again = calculateReplicaStatus(rs({ status: failed }), [], new Error('another error'), NOW + 5000);
  assert.deepEqual(again.conditions, failed.conditions, 'an existing failure condition is kept as it was');
  const cleared = calculateReplicaStatus(rs({ status: failed }), [], undefined, NOW);
  assert.equal(cleared.conditions, undefined);
});

test('a failed delete sets reason FailedDelete', () => {
  const pods = [pod('a', { app: 'web' }), pod('b', { app: 'web' })];
  const s = calculateReplicaStatus(rs({ replicas: 1 }), pods, new Error('boom'), NOW);
  assert.equal(s.conditions?.[0]?.reason, 'FailedDelete');
});

test('status needs writing when counts change or the generation was not observed yet', () => {
  const cur = rs({ generation: 2, status: { replicas: 3, readyReplicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: 2 } });
  assert.equal(replicaStatusChanged(cur, { replicas: 3, readyReplicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: 2 }), false);
  assert.equal(replicaStatusChanged(cur, { replicas: 3, readyReplicas: 2, availableReplicas: 3, fullyLabeledReplicas: 3 }), true);
  const stale = rs({ generation: 3, status: cur.status });
  assert.equal(replicaStatusChanged(stale, { ...cur.status! }), true);
});

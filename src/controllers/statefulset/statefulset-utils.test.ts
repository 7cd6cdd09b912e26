import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import {
  claimIsStale,
  claimOwnerRefsFor,
  completeRollingUpdate,
  identityMatches,
  newVersionedStatefulSetPod,
  parentAndOrdinal,
  replicaCounts,
  revisionsToTruncate,
  statusDiffers,
  storageMatches,
  type StatefulSet,
} from './statefulset-utils.ts';

const ref = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true, blockOwnerDeletion: true };

function set(o: { replicas?: number; partition?: number; type?: string; policy?: { whenDeleted?: string; whenScaled?: string }; image?: string } = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'set-uid' },
    spec: {
      replicas: o.replicas ?? 3,
      serviceName: 'svc',
      selector: { matchLabels: { app: 'web' } },
      updateStrategy: { type: o.type ?? 'RollingUpdate', ...(o.partition !== undefined ? { rollingUpdate: { partition: o.partition } } : {}) },
      persistentVolumeClaimRetentionPolicy: o.policy ?? {},
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: o.image ?? 'a' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data', labels: { tier: 'db' } }, spec: { resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Pending' } }],
    },
  };
}

test('ordinals come from the name\'s last dash-number; anything else has none', () => {
  assert.deepEqual(parentAndOrdinal('web-12'), { parent: 'web', ordinal: 12 });
  assert.deepEqual(parentAndOrdinal('my-web-0'), { parent: 'my-web', ordinal: 0 });
  assert.deepEqual(parentAndOrdinal('web'), { parent: '', ordinal: -1 });
  assert.deepEqual(parentAndOrdinal('web-x'), { parent: '', ordinal: -1 });
});

test('a new member pod has its stable identity, its claim volume, and the revision for its side of the partition', () => {
  const current = set({ image: 'old', partition: 2 });
  const update = set({ image: 'new', partition: 2 });
  const low = newVersionedStatefulSetPod(current, update, 'web-cur', 'web-upd', 1, ref) as any;
  const high = newVersionedStatefulSetPod(current, update, 'web-cur', 'web-upd', 2, ref) as any;
  assert.equal(low.metadata.name, 'web-1');
  assert.equal(low.metadata.labels['controller-revision-hash'], 'web-cur');
  assert.equal(low.spec.containers[0].image, 'old');
  assert.equal(high.metadata.labels['controller-revision-hash'], 'web-upd');
  assert.equal(high.spec.containers[0].image, 'new');
  assert.equal(high.spec.hostname, 'web-2');
  assert.equal(high.spec.subdomain, 'svc');
  assert.deepEqual(high.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-2' } }]);
  assert.equal(high.metadata.labels['statefulset.kubernetes.io/pod-name'], 'web-2');
  assert.equal(high.metadata.labels['apps.kubernetes.io/pod-index'], '2');
  assert.ok(identityMatches(update, high));
  assert.ok(storageMatches(update, high));
  const renamed = structuredClone(high);
  renamed.metadata.labels['apps.kubernetes.io/pod-index'] = '7';
  assert.ok(!identityMatches(update, renamed));
  // OnDelete: pods are always created from the update revision
  const od = newVersionedStatefulSetPod(set({ type: 'OnDelete', image: 'old' }), set({ type: 'OnDelete', image: 'new' }), 'c', 'u', 0, ref) as any;
  assert.equal(od.spec.containers[0].image, 'new');
});

test('claims are owned per the retention policy: by the set, or by a scaled-away pod', () => {
  const claim: KObject = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-web-4', ownerReferences: [] } };
  const inRange: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', uid: 'p1' } };
  const away: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-4', uid: 'p4' } };
  const kinds = (refs: { kind: string }[] | undefined) => refs?.map((r) => r.kind);
  assert.equal(claimOwnerRefsFor(claim, set(), inRange), undefined, 'Retain/Retain: no owners, nothing to change');
  assert.deepEqual(kinds(claimOwnerRefsFor(claim, set({ policy: { whenDeleted: 'Delete' } }), away)), ['StatefulSet']);
  assert.equal(claimOwnerRefsFor(claim, set({ policy: { whenScaled: 'Delete' } }), inRange), undefined);
  assert.deepEqual(kinds(claimOwnerRefsFor(claim, set({ policy: { whenScaled: 'Delete' } }), away)), ['Pod']);
  assert.deepEqual(kinds(claimOwnerRefsFor(claim, set({ policy: { whenScaled: 'Delete', whenDeleted: 'Delete' } }), inRange)), ['StatefulSet']);
  const owned: KObject = { ...claim, metadata: { ...claim.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid' }] } };
  assert.deepEqual(kinds(claimOwnerRefsFor(owned, set({ policy: { whenScaled: 'Delete', whenDeleted: 'Delete' } }), away)), ['Pod'], 'scaled away: the set lets go, the pod takes over');
  const stale: KObject = { ...claim, metadata: { ...claim.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-4', uid: 'old' }] } };
  assert.ok(claimIsStale(stale, away));
  assert.ok(!claimIsStale(stale, { ...away, metadata: { name: 'web-4', uid: 'old' } }));
});

test('status counts and rollout completion', () => {
  const p = (name: string, rev: string, ready: boolean, deleting = false): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { 'controller-revision-hash': rev }, ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2025-01-01T00:00:00Z' }] },
  });
  const c = replicaCounts([p('web-0', 'a', true), p('web-1', 'b', true), p('web-2', 'b', false), p('web-3', 'b', true, true)], 0, 'a', 'b', Date.parse('2025-01-02T00:00:00Z'));
  assert.deepEqual(c, { replicas: 4, readyReplicas: 3, availableReplicas: 3, currentReplicas: 1, updatedReplicas: 2 });
  const s = set();
  const status: any = { replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 0, currentRevision: 'a', updateRevision: 'b' };
  completeRollingUpdate(s, status);
  assert.equal(status.currentRevision, 'b');
  assert.equal(status.currentReplicas, 3);
  const partial: any = { replicas: 3, readyReplicas: 2, updatedReplicas: 3, currentReplicas: 0, currentRevision: 'a', updateRevision: 'b' };
  completeRollingUpdate(s, partial);
  assert.equal(partial.currentRevision, 'a', 'not while a pod is unready');
  assert.ok(statusDiffers({ ...s, status: {} }, { observedGeneration: 1 }));
  assert.ok(!statusDiffers({ ...s, status: { observedGeneration: 2, replicas: 1 } }, { observedGeneration: 2, replicas: 1 }));
});

test('history keeps revisions in use by the status or pods and deletes the oldest others beyond the limit', () => {
  const rev = (name: string, revision: number) => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name }, revision });
  const pods = [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', labels: { 'controller-revision-hash': 'r2' } } }];
  const doomed = revisionsToTruncate([rev('r1', 1), rev('r2', 2), rev('r3', 3), rev('r4', 4), rev('r5', 5)], pods, 'r4', 'r5', 1);
  assert.deepEqual(doomed.map((r) => r.metadata.name), ['r1']);
  assert.deepEqual(revisionsToTruncate([rev('r1', 1)], [], 'r1', 'r1', 0), []);
});

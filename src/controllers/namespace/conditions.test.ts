import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureConditions, updateConditions, CONDITION_TYPES } from './conditions.ts';
import { deletableNamespacedResources, estimateGracefulTerminationForPods } from './namespace.ts';
import type { KObject } from '../../api/meta.ts';

test('a clean pass sets every condition False with upstream reasons and messages', () => {
  const now = '2025-01-01T00:00:00Z';
  const { conditions, changed } = updateConditions([], failureConditions({ remainingByResource: new Map(), remainingByFinalizer: new Map(), deleteErrors: [] }, now), now);
  assert.equal(changed, true);
  assert.deepEqual(conditions.map((c) => c.type), [...CONDITION_TYPES]);
  assert.ok(conditions.every((c) => c.status === 'False'));
  const by = Object.fromEntries(conditions.map((c) => [c.type, `${c.reason}: ${c.message}`]));
  assert.equal(by.NamespaceDeletionDiscoveryFailure, 'ResourcesDiscovered: All resources successfully discovered');
  assert.equal(by.NamespaceDeletionGroupVersionParsingFailure, 'ParsedGroupVersions: All legacy kube types successfully parsed');
  assert.equal(by.NamespaceDeletionContentFailure, 'ContentDeleted: All content successfully deleted, may be waiting on finalization');
  assert.equal(by.NamespaceContentRemaining, 'ContentRemoved: All content successfully removed');
  assert.equal(by.NamespaceFinalizersRemaining, 'ContentRemoved: All content successfully removed');
  // the same pass again changes nothing
  assert.equal(updateConditions(conditions, [], now).changed, false);
});

test('remaining content and finalizers are reported sorted, as upstream words them', () => {
  const t0 = '2025-01-01T00:00:00Z';
  const t1 = '2025-01-01T00:01:00Z';
  const clean = updateConditions([], [], t0).conditions;
  const f = failureConditions(
    {
      remainingByResource: new Map([['pods.', 2], ['deployments.apps', 1]]),
      remainingByFinalizer: new Map([['example.com/b', 1], ['example.com/a', 2]]),
      deleteErrors: ['unexpected items still remain in namespace: x for gvr: /v1, Resource=pods'],
    },
    t1,
  );
  const { conditions, changed } = updateConditions(clean, f, t1);
  assert.equal(changed, true);
  const c = (type: string) => conditions.find((x) => x.type === type)!;
  assert.deepEqual(c('NamespaceContentRemaining'), { type: 'NamespaceContentRemaining', status: 'True', lastTransitionTime: t1, reason: 'SomeResourcesRemain', message: 'Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances' });
  assert.equal(c('NamespaceFinalizersRemaining').reason, 'SomeFinalizerRemain');
  assert.equal(c('NamespaceFinalizersRemaining').message, 'Some finalizers are remaining: example.com/a in 2 resource instances, example.com/b in 1 resource instances');
  assert.equal(c('NamespaceDeletionContentFailure').message, 'Failed to delete all resource types, 1 remaining: unexpected items still remain in namespace: x for gvr: /v1, Resource=pods');
  assert.equal(c('NamespaceDeletionDiscoveryFailure').lastTransitionTime, t0);
});

test('the grace period estimate counts running pods from when the namespace was deleted', () => {
  const pod = (grace: number, phase = 'Running'): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { terminationGracePeriodSeconds: grace }, status: { phase } });
  const t = Date.UTC(2025, 0, 1);
  assert.equal(estimateGracefulTerminationForPods([pod(30), pod(60), pod(600, 'Succeeded')], t, t + 10_000), 50);
  assert.equal(estimateGracefulTerminationForPods([pod(30)], t, t + 40_000), 0);
});

test('every namespaced deletable resource is part of the content, cluster-scoped ones are not', () => {
  const names = deletableNamespacedResources().map((r) => `${r.group}/${r.plural}`);
  for (const n of ['/pods', '/configmaps', '/secrets', 'apps/deployments', '/events', 'coordination.k8s.io/leases']) assert.ok(names.includes(n), n);
  for (const n of ['/nodes', '/namespaces', '/bindings', 'authorization.k8s.io/localsubjectaccessreviews']) assert.ok(!names.includes(n), n);
});

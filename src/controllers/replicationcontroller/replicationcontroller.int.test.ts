// The ReplicationController controller: the replica loop under the core/v1 kind, with its
// label-map selector, its own controller references and upstream's event source.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import { setPodReady, startControllerTest } from '../testing.ts';
import type { Pod, ReplicationController } from '../replicaset/types.ts';
import { replicationControllerController } from './replicationcontroller.ts';

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a ReplicationController keeps its replicas, reports status and scales down, as the ReplicaSet controller does', async () => {
  const env = await startControllerTest([replicationControllerController()]);
  try {
    // pods need their ServiceAccount (admission); no ServiceAccount controller runs here
    await env.client.resource('', 'serviceaccounts').namespace('default').create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    const rcs = env.client.resource<ReplicationController>('', 'replicationcontrollers').namespace('default');
    const pods = env.client.resource<Pod>('', 'pods').namespace('default');
    const rc = await rcs.create({
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'legacy' },
      spec: { replicas: 3, selector: { app: 'legacy' }, template: { metadata: { labels: { app: 'legacy' } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } } },
    });
    const ps = await eventually(async () => {
      const l = (await pods.list()).items;
      return l.length === 3 && l;
    }, 'three pods');
    for (const p of ps) {
      assert.match(p.metadata.name!, /^legacy-[a-z0-9]{5}$/);
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'legacy', uid: rc.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    await setPodReady(env.client, 'default', ps[0]!.metadata.name!);
    const st = await eventually(async () => {
      const s = (await rcs.get('legacy')).status;
      return s?.readyReplicas === 1 && s;
    }, 'ready replica counted');
    assert.deepEqual(st, { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 });
    await rcs.patch('legacy', 'merge', { spec: { replicas: 1 } });
    const left = await eventually(async () => {
      const l = (await pods.list()).items;
      return l.length === 1 && l;
    }, 'one pod left');
    assert.equal(left[0]!.metadata.name, ps[0]!.metadata.name, 'the ready pod is kept');
    const evs = await eventually(async () => {
      const l = (await env.client.resource('', 'events').namespace('default').list()).items as (KObject & { reason: string; source: { component: string }; involvedObject: { kind: string } })[];
      return l.filter((e) => e.reason === 'SuccessfulDelete').length === 2 && l;
    }, 'delete events');
    assert.ok(evs.every((e) => e.source.component === 'replication-controller' && e.involvedObject.kind === 'ReplicationController'));
  } finally {
    await env.stop();
  }
});

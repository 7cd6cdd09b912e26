import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { setPodReady, startControllerTest } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { ensureServiceAccount } from '../cluster/fixtures.ts';
import { countHealthyPods, disruptedPodMap, disruptionController, expectedPodCount, scaledValue } from './disruption.ts';

test('int-or-percent values scale up, as upstream rounds them', () => {
  assert.equal(scaledValue(2, 10), 2);
  assert.equal(scaledValue('50%', 3), 2);
  assert.equal(scaledValue('10%', 1), 1);
  assert.equal(scaledValue('0%', 5), 0);
  assert.throws(() => scaledValue('abc', 3), /not a percentage/);
});

const pod = (name: string, o: { owner?: string; ready?: boolean; deleting?: boolean } = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns', deletionTimestamp: o.deleting ? '2025-01-01T00:00:00Z' : undefined, ownerReferences: o.owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: `uid-${o.owner}`, controller: true }] : undefined },
  status: { conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});
const pdb = (spec: Record<string, unknown>, disruptedPods?: Record<string, string>): KObject => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'b', namespace: 'ns' }, spec, status: { disruptedPods } });
const finder = async (ref: { uid: string }) => (ref.uid === 'uid-web' ? { uid: 'uid-web', scale: 4 } : undefined);

test('expected and desired counts from maxUnavailable, percentages and integers', async () => {
  const pods = [pod('a', { owner: 'web' }), pod('b', { owner: 'web' }), pod('c', { owner: 'web' })];
  assert.deepEqual(await expectedPodCount(pdb({ maxUnavailable: 1 }), pods, finder), { expected: 4, desired: 3, unmanaged: [] });
  assert.deepEqual(await expectedPodCount(pdb({ minAvailable: '50%' }), pods, finder), { expected: 4, desired: 2, unmanaged: [] });
  assert.deepEqual(await expectedPodCount(pdb({ minAvailable: 2 }), [...pods, pod('lone')], finder), { expected: 4, desired: 2, unmanaged: [] });
  assert.deepEqual((await expectedPodCount(pdb({ maxUnavailable: '25%' }), [...pods, pod('lone')], finder)).unmanaged, ['lone']);
  await assert.rejects(expectedPodCount(pdb({ maxUnavailable: 1 }), [pod('x', { owner: 'gone' })], finder), /found no controllers for pod "x"/);
});

test('recently disrupted pods and pods being deleted are not healthy', () => {
  const now = Date.parse('2025-01-01T00:01:00Z');
  const pods = [pod('a'), pod('b'), pod('c', { deleting: true }), pod('d', { ready: false }), pod('old')];
  const { disrupted, recheckAt, overdue } = disruptedPodMap(pods, pdb({}, { b: '2025-01-01T00:00:30Z', old: '2024-12-31T00:00:00Z' }), now);
  assert.deepEqual(disrupted, { b: '2025-01-01T00:00:30Z' });
  assert.equal(recheckAt, Date.parse('2025-01-01T00:02:30Z'));
  assert.deepEqual(overdue.map((p) => p.metadata.name), ['old']);
  assert.equal(countHealthyPods(pods, disrupted), 2);
});

test('PDB status follows the pods of a ReplicaSet through the API', async () => {
  const env = await startControllerTest([disruptionController], { log: process.env.PDB_LOG ? (m) => console.log(m) : undefined });
  try {
    const c = env.client;
    await ensureServiceAccount(c);
    const rs = await c.resource('apps', 'replicasets').namespace('default').create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    for (const n of ['web-a', 'web-b', 'web-c']) {
      await c.resource('', 'pods').namespace('default').create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: n, labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid!, controller: true }] },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
      await setPodReady(c, 'default', n, true);
    }
    const pdbs = c.resource('policy', 'poddisruptionbudgets').namespace('default');
    await pdbs.create({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } } });
    type S = { currentHealthy: number; desiredHealthy: number; expectedPods: number; disruptionsAllowed: number; observedGeneration: number; conditions: { type: string; status: string; reason: string }[] };
    const status = async () => (await pdbs.get('web')).status as S;
    let s = await waitFor('status computed', async () => ((await status())?.expectedPods === 3 ? status() : undefined));
    assert.deepEqual([s.currentHealthy, s.desiredHealthy, s.expectedPods, s.disruptionsAllowed], [3, 2, 3, 1]);
    assert.equal(s.observedGeneration, (await pdbs.get('web')).metadata.generation);
    assert.deepEqual(s.conditions.map((x) => [x.type, x.status, x.reason]), [['DisruptionAllowed', 'True', 'SufficientPods']]);
    await setPodReady(c, 'default', 'web-b', false);
    s = await waitFor('one unhealthy', async () => ((await status()).currentHealthy === 2 ? status() : undefined));
    assert.equal(s.disruptionsAllowed, 0);
    assert.deepEqual(s.conditions.map((x) => [x.type, x.status, x.reason]), [['DisruptionAllowed', 'False', 'InsufficientPods']]);
    // the ReplicaSet grows: the expected count follows its scale
    const cur = await c.resource('apps', 'replicasets').namespace('default').get('web');
    await c.resource('apps', 'replicasets').namespace('default').update({ ...cur, spec: { ...(cur.spec as object), replicas: 5 } });
    s = await waitFor('scale followed', async () => ((await status()).expectedPods === 5 ? status() : undefined));
    assert.equal(s.desiredHealthy, 4);
  } finally {
    await env.stop();
  }
});

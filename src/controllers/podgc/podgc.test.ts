import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../client/clock.ts';
import { readyNode, startControllerTest } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { ensureServiceAccount } from '../cluster/fixtures.ts';
import { isNotFound } from '../cluster/errors.ts';
import { GC_CHECK_PERIOD_MS, podGCController, terminatedPodsToDelete } from './podgc.ts';
import type { KObject } from '../../api/meta.ts';

const pod = (name: string, o: { phase?: string; reason?: string; created?: string } = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', creationTimestamp: o.created ?? '2025-01-01T00:00:00Z' },
  spec: {},
  status: { phase: o.phase ?? 'Running', reason: o.reason },
});

test('terminated pods beyond the threshold go evicted first, then oldest, then by name', () => {
  const pods = [
    pod('running', { phase: 'Running', created: '2020-01-01T00:00:00Z' }),
    pod('old', { phase: 'Succeeded', created: '2024-01-01T00:00:00Z' }),
    pod('b', { phase: 'Failed', created: '2025-01-01T00:00:00Z' }),
    pod('a', { phase: 'Failed', created: '2025-01-01T00:00:00Z' }),
    pod('evicted', { phase: 'Failed', reason: 'Evicted', created: '2026-01-01T00:00:00Z' }),
  ];
  assert.deepEqual(terminatedPodsToDelete(pods, 1).map((p) => p.metadata.name), ['evicted', 'old', 'a']);
  assert.deepEqual(terminatedPodsToDelete(pods, 4), []);
  assert.deepEqual(terminatedPodsToDelete(pods, 0), []);
});

test('pod GC deletes terminated pods over the threshold, orphans after quarantine, and unscheduled terminating pods', async () => {
  const clock = new FakeClock(Date.now());
  const env = await startControllerTest([podGCController], { clock, config: { terminatedPodGCThreshold: 1 } });
  const pods = env.client.resource('', 'pods').namespace('default');
  const spec = (nodeName?: string) => ({ ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] });
  try {
    await env.client.resource('', 'nodes').create(readyNode('n1'));
    await ensureServiceAccount(env.client);
    await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', finalizers: ['example.com/hold'] }, spec: spec('ghost') });
    for (const n of ['done-1', 'done-2']) {
      await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: n }, spec: spec('n1') });
      await pods.patch(n, 'merge', { status: { phase: 'Succeeded' } }, { subresource: 'status' });
    }
    await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unscheduled', finalizers: ['example.com/hold'] }, spec: spec() });
    await pods.delete('unscheduled');
    await new Promise((r) => setTimeout(r, 300)); // let the watch reach the controller's cache
    await clock.advance(GC_CHECK_PERIOD_MS);
    // one terminated pod over the threshold of 1: the older (same second: by name) goes
    await waitFor('done-1 deleted', async () => pods.get('done-1').then(() => false, (e) => isNotFound(e)));
    assert.equal((await pods.get('done-2')).metadata.name, 'done-2');
    const u = await waitFor('unscheduled marked Failed', async () => {
      const p = await pods.get('unscheduled');
      return (p.status as { phase: string }).phase === 'Failed' ? p : undefined;
    });
    assert.ok(u.metadata.deletionTimestamp);
    // the orphan waits out its quarantine (40 s from when it was noticed)
    await clock.advance(GC_CHECK_PERIOD_MS);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await pods.get('orphan')).metadata.deletionTimestamp, undefined);
    await clock.advance(GC_CHECK_PERIOD_MS);
    const o = await waitFor('orphan deleted', async () => {
      const p = await pods.get('orphan');
      return p.metadata.deletionTimestamp ? p : undefined;
    });
    const st = o.status as { phase: string; conditions: { type: string; status: string; reason: string; message: string }[] };
    assert.equal(st.phase, 'Failed');
    const dt = st.conditions.find((c) => c.type === 'DisruptionTarget');
    assert.deepEqual({ s: dt?.status, r: dt?.reason, m: dt?.message }, { s: 'True', r: 'DeletionByPodGC', m: 'PodGC: node no longer exists' });
  } finally {
    await env.stop();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rfc3339Micro, type KObject } from '../../api/meta.ts';
import { FakeClock } from '../../client/clock.ts';
import { readyNode, setPodReady, startControllerTest } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { ensureServiceAccount } from '../cluster/fixtures.ts';
import { nodeLifecycleController } from './nodelifecycle.ts';
import { taintEvictionController } from './tainteviction.ts';

type Cond = { type: string; status: string; reason?: string; message?: string };
const conds = (o: KObject) => ((o.status as { conditions?: Cond[] }).conditions ?? []);
const taints = (n: KObject) => ((n.spec as { taints?: { key: string; effect: string; timeAdded?: string }[] }).taints ?? []);

test('a node whose Lease stops renewing turns Unknown, is tainted, and its pods are evicted after their tolerationSeconds', async () => {
  const clock = new FakeClock(Date.now());
  const env = await startControllerTest([nodeLifecycleController, taintEvictionController], { clock, config: { nodeMonitorGracePeriodMs: 40_000, nodeMonitorPeriodMs: 5_000 }, log: process.env.NL_LOG ? (m) => console.log(m) : undefined });
  const c = env.client;
  const leases = c.resource('coordination.k8s.io', 'leases').namespace('kube-node-lease');
  const pods = c.resource('', 'pods').namespace('default');
  const renew = async (name: string) => {
    const spec = { holderIdentity: name, leaseDurationSeconds: 40, renewTime: rfc3339Micro(new Date(clock.now())) };
    try {
      const cur = await leases.get(name);
      await leases.update({ ...cur, spec });
    } catch {
      await leases.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec });
    }
  };
  const settle = (ms = 40) => new Promise((r) => setTimeout(r, ms));
  const tick = async (ms: number) => {
    await renew('n2');
    await clock.advance(ms);
    await settle();
  };
  try {
    await ensureServiceAccount(c);
    for (const n of ['n1', 'n2']) {
      await c.resource('', 'nodes').create(readyNode(n));
      await renew(n);
    }
    const mkPod = async (name: string, node: string, tolerations?: unknown[]) => {
      await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, tolerations, containers: [{ name: 'c', image: 'busybox' }] } });
      await setPodReady(c, 'default', name, true, '10.42.0.1');
    };
    await mkPod('short', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }]);
    await mkPod('default-tolerations', 'n1');
    await mkPod('forever', 'n1', [{ operator: 'Exists' }]);
    await mkPod('other-node', 'n2');
    await settle(200);

    // n1 keeps its Ready condition until the grace period has passed without a heartbeat
    for (let t = 0; t < 35_000; t += 5_000) await tick(5_000);
    assert.equal(conds(await c.resource('', 'nodes').get('n1')).find((x) => x.type === 'Ready')!.status, 'True');
    const n1 = await waitFor('n1 Unknown', async () => {
      await tick(5_000);
      const n = await c.resource('', 'nodes').get('n1');
      return conds(n).find((x) => x.type === 'Ready')?.status === 'Unknown' ? n : undefined;
    }, { timeoutMs: 20_000 });
    const ready = conds(n1).find((x) => x.type === 'Ready')!;
    assert.deepEqual([ready.reason, ready.message], ['NodeStatusUnknown', 'Kubelet stopped posting node status.']);
    assert.equal(conds(n1).find((x) => x.type === 'MemoryPressure')?.status, 'Unknown');
    assert.equal(conds(await c.resource('', 'nodes').get('n2')).find((x) => x.type === 'Ready')!.status, 'True');

    // the NoExecute taint follows on the next monitor pass (it is decided from the condition as observed)
    const tainted = await waitFor('n1 tainted', async () => {
      await tick(1_000);
      const n = await c.resource('', 'nodes').get('n1');
      const keys = taints(n).map((t) => `${t.key}:${t.effect}`);
      return keys.includes('node.kubernetes.io/unreachable:NoExecute') && keys.includes('node.kubernetes.io/unreachable:NoSchedule') ? n : undefined;
    });
    assert.ok(taints(tainted).find((t) => t.effect === 'NoExecute')!.timeAdded);
    const podReady = async (name: string) => conds(await pods.get(name)).find((x) => x.type === 'Ready')?.status;
    await waitFor('pods on n1 not ready', async () => (await podReady('short')) === 'False' && (await podReady('forever')) === 'False');
    assert.equal(await podReady('other-node'), 'True');
    const events = await c.resource('', 'events').namespace('default').list();
    assert.ok(events.items.some((e) => e.reason === 'NodeNotReady' && e.message === 'Node n1 status is now: NodeNotReady'));
    assert.ok(events.items.some((e) => e.reason === 'NodeNotReady' && e.message === 'Node is not ready' && (e.involvedObject as { name: string }).name === 'short'));

    // 30 s of toleration, then the short-tolerance pod goes; the others stay
    await tick(20_000);
    assert.equal((await pods.get('short')).metadata.deletionTimestamp, undefined);
    await tick(15_000);
    const evicted = await waitFor('short evicted', async () => {
      await settle();
      const p = await pods.get('short');
      return p.metadata.deletionTimestamp ? p : undefined;
    });
    const dt = conds(evicted).find((x) => x.type === 'DisruptionTarget')!;
    assert.deepEqual([dt.status, dt.reason, dt.message], ['True', 'DeletionByTaintManager', 'Taint manager: deleting due to NoExecute taint']);
    assert.equal((await pods.get('default-tolerations')).metadata.deletionTimestamp, undefined);
    assert.equal((await pods.get('forever')).metadata.deletionTimestamp, undefined);
    const ev = await c.resource('', 'events').namespace('default').list();
    assert.ok(ev.items.some((e) => e.reason === 'TaintManagerEviction' && e.message === 'Marking for deletion Pod default/short'));

    // an untolerated NoExecute taint evicts at once
    const n2 = await c.resource('', 'nodes').get('n2');
    await c.resource('', 'nodes').update({ ...n2, spec: { ...(n2.spec as object), taints: [{ key: 'dedicated', value: 'x', effect: 'NoExecute' }] } });
    await waitFor('other-node evicted', async () => {
      await settle();
      return !!(await pods.get('other-node')).metadata.deletionTimestamp;
    });

    // n1 renewing again: Ready comes back from the kubelet, the taints go
    await renew('n1');
    const back = await c.resource('', 'nodes').get('n1');
    const now = new Date(clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    await c.resource('', 'nodes').updateStatus({ ...back, status: { ...(back.status as object), conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }] } });
    await waitFor('taints removed', async () => {
      await tick(5_000);
      await renew('n1');
      return taints(await c.resource('', 'nodes').get('n1')).length === 0;
    });
  } finally {
    await env.stop();
  }
});

test('a lone node going silent is marked Unknown but not tainted (all zones down: no evictions)', async () => {
  const clock = new FakeClock(Date.now());
  const env = await startControllerTest([nodeLifecycleController], { clock, config: { nodeMonitorGracePeriodMs: 20_000, nodeMonitorPeriodMs: 5_000 } });
  try {
    await env.client.resource('', 'nodes').create(readyNode('solo'));
    await new Promise((r) => setTimeout(r, 100));
    await waitFor('solo Unknown', async () => {
      await clock.advance(5_000);
      await new Promise((r) => setTimeout(r, 30));
      return conds(await env.client.resource('', 'nodes').get('solo')).find((x) => x.type === 'Ready')?.status === 'Unknown';
    }, { timeoutMs: 20_000 });
    for (let i = 0; i < 4; i++) {
      await clock.advance(5_000);
      await new Promise((r) => setTimeout(r, 30));
    }
    const n = await env.client.resource('', 'nodes').get('solo');
    assert.deepEqual(taints(n).filter((t) => t.effect === 'NoExecute'), []);
  } finally {
    await env.stop();
  }
});

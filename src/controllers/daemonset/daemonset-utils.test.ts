import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import type { Pod } from '../workload/pods.ts';
import { addOrUpdateTolerations, daemonPodTemplate, daemonSetCounts, nodeNameAffinity, nodeShouldRunDaemonPod, planNode, planRollingUpdate, scaledValue, targetNodeName, type DaemonSet } from './daemonset-utils.ts';

const node = (name: string, o: { labels?: Record<string, string>; taints?: unknown[] } = {}): KObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: o.labels ?? {} }, spec: { taints: o.taints ?? [] } });

function ds(o: { selector?: Record<string, string>; tolerations?: unknown[]; strategy?: unknown; annotations?: Record<string, string>; hostNetwork?: boolean } = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'd', namespace: 'ns', uid: 'u', ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      selector: { matchLabels: { app: 'd' } },
      updateStrategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template: { metadata: { labels: { app: 'd' } }, spec: { ...(o.selector ? { nodeSelector: o.selector } : {}), ...(o.tolerations ? { tolerations: o.tolerations } : {}), ...(o.hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'c' }] } },
    },
  };
}

let seq = 0;
function pod(nodeName: string, hash: string, o: { ready?: boolean; phase?: string; deleting?: boolean } = {}): Pod {
  seq++;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${seq}`, creationTimestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(), labels: { 'controller-revision-hash': hash }, ...(o.deleting ? { deletionTimestamp: '2025-01-02T00:00:00Z' } : {}) },
    spec: { affinity: nodeNameAffinity(undefined, nodeName) },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }] },
  };
}

const NOW = Date.parse('2025-02-01T00:00:00Z');

test('a node runs the daemon pod when selector and taints allow; untolerated NoSchedule stops new pods only, NoExecute also evicts', () => {
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { labels: { x: '1' } }), ds({ selector: { x: '1' } })), { shouldRun: true, shouldContinueRunning: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a'), ds({ selector: { x: '1' } })), { shouldRun: false, shouldContinueRunning: false });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'k', effect: 'NoSchedule' }] }), ds()), { shouldRun: false, shouldContinueRunning: true });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'k', effect: 'NoExecute' }] }), ds()), { shouldRun: false, shouldContinueRunning: false });
  assert.deepEqual(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'k', effect: 'NoExecute' }] }), ds({ tolerations: [{ key: 'k', operator: 'Exists' }] })), { shouldRun: true, shouldContinueRunning: true });
  // the tolerations every daemon pod gets: a cordoned or not-ready node still runs it
  assert.equal(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }), ds()).shouldRun, true);
  assert.equal(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] }), ds()).shouldRun, false);
  assert.equal(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] }), ds({ hostNetwork: true })).shouldRun, true);
  assert.equal(nodeShouldRunDaemonPod(node('a', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] }), ds()).shouldRun, true);
});

test('the pod template gets the daemon tolerations (replacing a same-key one), the hash and the template generation', () => {
  const t = daemonPodTemplate(ds({ tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }], annotations: { 'deprecated.daemonset.template.generation': '4' } }), 'h1');
  assert.equal(t.metadata.labels['controller-revision-hash'], 'h1');
  assert.equal(t.metadata.labels['pod-template-generation'], '4');
  const notReady = t.spec.tolerations.filter((x: any) => x.key === 'node.kubernetes.io/not-ready');
  assert.deepEqual(notReady, [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }]);
  assert.equal(addOrUpdateTolerations([{ key: 'a', operator: 'Exists' }], [{ key: 'b', operator: 'Exists' }]).length, 2);
  const p = pod('n1', 'h');
  assert.equal(targetNodeName(p), 'n1');
  assert.equal(targetNodeName({ ...p, spec: { nodeName: 'n2' } }), 'n2');
});

test('per node: create when missing, replace failed pods (unless backing off), keep only the oldest without surge, clear nodes it may not run on', () => {
  const d = ds();
  assert.deepEqual(planNode(node('a'), d, undefined, 'h', NOW, () => false).create, true);
  const failed = pod('a', 'h', { phase: 'Failed' });
  const running = pod('a', 'h');
  const plan = planNode(node('a'), d, [failed, running], 'h', NOW, () => false);
  assert.deepEqual(plan.delete, [failed.metadata.name]);
  assert.deepEqual(plan.failed.map((p) => p.metadata.name), [failed.metadata.name]);
  const backing = planNode(node('a'), d, [failed, running], 'h', NOW, () => true);
  assert.deepEqual(backing.delete, []);
  assert.ok(backing.failedInBackoff);
  const older = pod('a', 'h');
  const newer = pod('a', 'h');
  assert.deepEqual(planNode(node('a'), d, [newer, older], 'h', NOW, () => false).delete, [newer.metadata.name]);
  const evicting = planNode(node('a', { taints: [{ key: 'k', effect: 'NoExecute' }] }), d, [older], 'h', NOW, () => false);
  assert.deepEqual(evicting.delete, [older.metadata.name]);
});

test('rolling update without surge deletes old available pods up to maxUnavailable, unavailable old pods at once', () => {
  const d = ds({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } });
  const nodes = ['a', 'b', 'c'].map((n) => node(n));
  const m = new Map<string, Pod[]>([['a', [pod('a', 'old')]], ['b', [pod('b', 'old')]], ['c', [pod('c', 'old', { ready: false })]]]);
  const plan = planRollingUpdate(d, nodes, m, 'new', NOW);
  assert.deepEqual(plan.deletePods, [m.get('c')![0]!.metadata.name], 'the unready old pod uses up the budget');
  const m2 = new Map<string, Pod[]>([['a', [pod('a', 'new')]], ['b', [pod('b', 'old')]], ['c', [pod('c', 'old')]]]);
  assert.equal(planRollingUpdate(d, nodes, m2, 'new', NOW).deletePods.length, 1);
  const m3 = new Map<string, Pod[]>([['a', [pod('a', 'new', { ready: false })]], ['b', [pod('b', 'old')]], ['c', [pod('c', 'old')]]]);
  assert.deepEqual(planRollingUpdate(d, nodes, m3, 'new', NOW).deletePods, [], 'a new pod not yet available counts against maxUnavailable');
  const pct = ds({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } } });
  assert.equal(planRollingUpdate(pct, nodes, new Map([...m2]), 'new', NOW).deletePods.length, 2, '50% of 3 rounds up to 2');
});

test('rolling update with surge adds new pods beside available old ones up to maxSurge and drops old ones whose replacement is available', () => {
  const d = ds({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
  const nodes = ['a', 'b'].map((n) => node(n));
  const m = new Map<string, Pod[]>([['a', [pod('a', 'old')]], ['b', [pod('b', 'old')]]]);
  assert.deepEqual(planRollingUpdate(d, nodes, m, 'new', NOW), { deletePods: [], createOnNodes: ['a'] });
  const oldA = pod('a', 'old');
  const m2 = new Map<string, Pod[]>([['a', [oldA, pod('a', 'new')]], ['b', [pod('b', 'old')]]]);
  assert.deepEqual(planRollingUpdate(d, nodes, m2, 'new', NOW), { deletePods: [oldA.metadata.name], createOnNodes: ['b'] }, 'a is done surging, so b may start');
  const m3 = new Map<string, Pod[]>([['a', [pod('a', 'old'), pod('a', 'new', { ready: false })]], ['b', [pod('b', 'old')]]]);
  assert.deepEqual(planRollingUpdate(d, nodes, m3, 'new', NOW), { deletePods: [], createOnNodes: [] }, 'b waits while a\'s new pod is not available');
  assert.equal(scaledValue('25%', 3, 0), 1);
  assert.throws(() => scaledValue('abc', 3, 0));
});

test('status: desired and scheduled per eligible node, misscheduled elsewhere, ready/available/updated from the oldest pod', () => {
  const d = ds({ selector: { x: '1' } });
  const nodes = [node('a', { labels: { x: '1' } }), node('b', { labels: { x: '1' } }), node('c')];
  const m = new Map<string, Pod[]>([['a', [pod('a', 'h')]], ['c', [pod('c', 'old', { ready: false })]]]);
  assert.deepEqual(daemonSetCounts(d, nodes, m, 'h', NOW), { desiredNumberScheduled: 2, currentNumberScheduled: 1, numberMisscheduled: 1, numberReady: 1, updatedNumberScheduled: 1, numberAvailable: 1, numberUnavailable: 1 });
});

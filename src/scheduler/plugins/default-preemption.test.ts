// Preemption through the whole cycle: the scheduling algorithm fails, DefaultPreemption plans.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SchedulingAlgorithm, type CycleResult } from '../algorithm.ts';
import type { ClusterListers, PodNominatorView } from '../framework/interfaces.ts';
import { podInfoOf, type PodInfo } from '../podinfo.ts';
import { makeNode, makePod, testEnv, testFramework } from '../testing.ts';
import type { Node, Pod, PodDisruptionBudget } from '../types.ts';

function schedule(nodes: Node[], pods: Pod[], pod: Pod, o: { listers?: ClusterListers; nominator?: PodNominatorView } = {}): CycleResult {
  const env = testEnv(nodes, pods, o);
  const fw = testFramework(env);
  return new SchedulingAlgorithm({ random: () => 0 }).schedule(fw, env.cache.snapshot(), podInfoOf(pod));
}

const names = (pods: Pod[] | undefined) => (pods ?? []).map((p) => p.metadata.name).sort();

describe('DefaultPreemption', () => {
  test('a higher-priority pod gets a lower-priority pod evicted and is nominated to its node', () => {
    const low = makePod('low', { nodeName: 'n1', priority: 0, requests: { cpu: '3' } });
    const r = schedule([makeNode('n1', { cpu: '4' })], [low], makePod('high', { priority: 100, requests: { cpu: '2' } }));
    assert.equal(r.kind, 'unschedulable');
    if (r.kind !== 'unschedulable') return;
    assert.equal(r.message, '0/1 nodes are available: 1 Insufficient cpu.');
    assert.deepEqual(r.nominatingInfo, { mode: 'override', nominatedNodeName: 'n1' });
    assert.equal(r.preemption?.nodeName, 'n1');
    assert.deepEqual(names(r.preemption?.victims), ['low']);
  });

  test('preemptionPolicy Never: no preemption, and the message says why', () => {
    const low = makePod('low', { nodeName: 'n1', priority: 0, requests: { cpu: '3' } });
    const r = schedule([makeNode('n1', { cpu: '4' })], [low], makePod('high', { priority: 100, preemptionPolicy: 'Never', requests: { cpu: '2' } }));
    assert.equal(r.kind === 'unschedulable' && r.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
    assert.equal(r.kind === 'unschedulable' && r.preemption, undefined);
  });

  test("the issue's example: one node without victims, two where preemption cannot help", () => {
    const notReady = [{ key: 'node.kubernetes.io/not-ready', value: '', effect: 'NoExecute' }];
    const peer = makePod('peer', { nodeName: 'n1', priority: 0, requests: { cpu: '3' } });
    const r = schedule([makeNode('n1', { cpu: '4' }), makeNode('n2', { taints: notReady }), makeNode('n3', { taints: notReady })], [peer], makePod('p', { requests: { cpu: '2' } }));
    assert.equal(
      r.kind === 'unschedulable' && r.message,
      '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.',
    );
    assert.deepEqual(r.kind === 'unschedulable' && r.nominatingInfo, { mode: 'override', nominatedNodeName: '' });
  });

  test('a node where even evicting every lower-priority pod is not enough reports its filter reason', () => {
    const low = makePod('low', { nodeName: 'n1', priority: 0, requests: { cpu: '1' } });
    const r = schedule([makeNode('n1', { cpu: '4' })], [low], makePod('big', { priority: 100, requests: { cpu: '8' } }));
    assert.equal(r.kind === 'unschedulable' && r.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.');
  });

  test('a node protected by a PodDisruptionBudget is avoided when another will do', () => {
    const a = makePod('a', { nodeName: 'n1', priority: 0, requests: { cpu: '4' }, labels: { app: 'db' } });
    const b = makePod('b', { nodeName: 'n2', priority: 0, requests: { cpu: '4' }, labels: { app: 'web' } });
    const pdb: PodDisruptionBudget = { metadata: { name: 'db', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } } }, status: { disruptionsAllowed: 0 } };
    const r = schedule([makeNode('n1', { cpu: '4' }), makeNode('n2', { cpu: '4' })], [a, b], makePod('high', { priority: 100, requests: { cpu: '2' } }), { listers: { pdbs: { list: () => [pdb] } } });
    assert.equal(r.kind === 'unschedulable' && r.preemption?.nodeName, 'n2');
    assert.equal(r.kind === 'unschedulable' && r.preemption?.numPDBViolations, 0);
  });

  test('the node whose most important victim matters least is chosen', () => {
    const a = makePod('a', { nodeName: 'n1', priority: 50, requests: { cpu: '4' } });
    const b = makePod('b', { nodeName: 'n2', priority: 10, requests: { cpu: '4' } });
    const r = schedule([makeNode('n1', { cpu: '4' }), makeNode('n2', { cpu: '4' })], [a, b], makePod('high', { priority: 100, requests: { cpu: '2' } }));
    assert.equal(r.kind === 'unschedulable' && r.preemption?.nodeName, 'n2');
  });

  test('as few victims as needed, the less important ones first', () => {
    const keep = makePod('keep', { nodeName: 'n1', priority: 20, requests: { cpu: '1' } });
    const evict = makePod('evict', { nodeName: 'n1', priority: 10, requests: { cpu: '1' } });
    const r = schedule([makeNode('n1', { cpu: '2' })], [keep, evict], makePod('high', { priority: 100, requests: { cpu: '1' } }));
    assert.deepEqual(names(r.kind === 'unschedulable' ? r.preemption?.victims : []), ['evict']);
  });

  test('pods of equal or higher priority are never victims', () => {
    const same = makePod('same', { nodeName: 'n1', priority: 100, requests: { cpu: '4' } });
    const r = schedule([makeNode('n1', { cpu: '4' })], [same], makePod('p', { priority: 100, requests: { cpu: '1' } }));
    assert.equal(r.kind === 'unschedulable' && r.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
  });

  test('lower-priority pods nominated to the chosen node lose their nomination', () => {
    const low = makePod('low', { nodeName: 'n1', priority: 0, requests: { cpu: '4' } });
    const waiting = podInfoOf(makePod('waiting', { priority: 5, requests: { cpu: '1' } }));
    const nominator: PodNominatorView = { nominatedPodsForNode: (n) => (n === 'n1' ? [waiting] : ([] as PodInfo[])), hasNominatedPods: () => true };
    const r = schedule([makeNode('n1', { cpu: '4' })], [low], makePod('high', { priority: 100, requests: { cpu: '2' } }), { nominator });
    assert.deepEqual(names(r.kind === 'unschedulable' ? r.preemption?.nominatedPodsToClear : []), ['waiting']);
  });

  test('a pod whose victims are still terminating on its nominated node waits instead of preempting again', () => {
    const victim = makePod('victim', { nodeName: 'n1', priority: 0, requests: { cpu: '4' }, deleting: true });
    const terminating: Pod = { ...victim, status: { ...victim.status, conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }] } };
    const r = schedule([makeNode('n1', { cpu: '4' })], [terminating], makePod('high', { priority: 100, requests: { cpu: '2' }, nominatedNodeName: 'n1' }));
    assert.equal(r.kind === 'unschedulable' && r.message, '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.');
  });
});

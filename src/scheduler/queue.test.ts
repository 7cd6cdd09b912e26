import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../client/clock.ts';
import { Action, AssignedPodDelete, NodeAdd, type ClusterEventWithHint } from './events.ts';
import { podInfoOf } from './podinfo.ts';
import { SchedulingQueue, type QueueProfile } from './queue.ts';
import { Code, Status } from './status.ts';
import { makeNode, makePod } from './testing.ts';
import type { Node, Pod } from './types.ts';

const fitsHint: ClusterEventWithHint = {
  event: { resource: 'Node', action: Action.Add | Action.UpdateNodeAllocatable },
  // the node must have at least 4 cpu for the test pods
  hint: (_pod, _old, node) => (Number((node as Node).status?.allocatable?.cpu) >= 4 ? 'Queue' : 'Skip'),
};

function newQueue(o: { registrations?: Record<string, ClusterEventWithHint[]>; preEnqueue?: QueueProfile['preEnqueue'] } = {}) {
  const clock = new FakeClock();
  const profile: QueueProfile = {
    preEnqueue: o.preEnqueue ?? (() => null),
    eventRegistrations: new Map(Object.entries(o.registrations ?? { NodeResourcesFit: [fitsHint, { event: { resource: 'AssignedPod', action: Action.Delete } }] })),
  };
  const q = new SchedulingQueue({
    clock,
    less: (a, b) => a.podInfo.priority > b.podInfo.priority || (a.podInfo.priority === b.podInfo.priority && a.timestamp < b.timestamp),
    profileFor: (pod) => (pod.spec.schedulerName === 'default-scheduler' ? profile : undefined),
    profiles: () => [profile],
  });
  return { q, clock };
}

/** Pops a pod and reports it rejected by the given plugins. */
function fail(q: SchedulingQueue, plugins: string[] = ['NodeResourcesFit']) {
  const qpi = q.pop()!;
  qpi.unschedulablePlugins = new Set(plugins);
  return { qpi, where: q.addUnschedulableIfNotPresent(qpi) };
}

const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);

describe('scheduling queue', () => {
  test('higher priority first, then first come first served', () => {
    const { q, clock } = newQueue();
    q.add(makePod('low-1', { priority: 1 }));
    clock.step(10);
    q.add(makePod('high', { priority: 100 }));
    clock.step(10);
    q.add(makePod('low-2', { priority: 1 }));
    q.add(makePod('mid', { priority: 50 }));
    assert.deepEqual(names(q.activeInOrder()), ['high', 'mid', 'low-1', 'low-2']);
    assert.deepEqual([q.pop(), q.pop(), q.pop(), q.pop()].map((x) => x?.podInfo.pod.metadata.name), ['high', 'mid', 'low-1', 'low-2']);
    assert.equal(q.pop(), undefined);
  });

  test('backoff doubles from 1 s per attempt up to 10 s', () => {
    const { q } = newQueue();
    const qpi = { podInfo: undefined as never, timestamp: 0, attempts: 0, unschedulablePlugins: new Set<string>(), pendingPlugins: new Set<string>(), gated: false };
    const seen = [];
    for (let a = 1; a <= 6; a++) {
      qpi.attempts = a;
      seen.push(q.backoffDuration(qpi));
    }
    assert.deepEqual(seen, [1000, 2000, 4000, 8000, 10000, 10000]);
  });

  test('a pod no plugin rejected (an error) backs off and returns by itself', () => {
    const { q, clock } = newQueue();
    q.add(makePod('p'));
    const { where } = fail(q, []);
    assert.equal(where, 'backoffQ');
    q.flushBackoffQCompleted();
    assert.equal(q.counts().backoff, 1);
    clock.step(1000);
    q.flushBackoffQCompleted();
    assert.deepEqual(q.counts(), { active: 1, backoff: 0, unschedulable: 0, inFlight: 0 });
  });

  test('a rejected pod is parked until an event its rejecting plugin registered says it may fit', () => {
    const { q, clock } = newQueue();
    q.add(makePod('p', { requests: { cpu: '4' } }));
    assert.equal(fail(q).where, 'unschedulablePods');
    // a small node: the plugin's hint says Skip
    assert.equal(q.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, makeNode('small', { cpu: '2' })), 0);
    assert.equal(q.counts().unschedulable, 1);
    // an event no rejecting plugin registered
    assert.equal(q.moveAllToActiveOrBackoffQueue({ resource: 'PersistentVolume', action: Action.Add }, undefined, {}), 0);
    // a big node, while the pod still backs off: backoffQ, then activeQ when the backoff ends
    assert.equal(q.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, makeNode('big', { cpu: '8' })), 1);
    assert.deepEqual(q.counts(), { active: 0, backoff: 1, unschedulable: 0, inFlight: 0 });
    clock.step(1000);
    assert.equal(q.pop()?.podInfo.pod.metadata.name, 'p');
  });

  test('an event after the backoff ended moves the pod straight to activeQ', () => {
    const { q, clock } = newQueue();
    q.add(makePod('p'));
    fail(q);
    clock.step(5000);
    q.moveAllToActiveOrBackoffQueue(AssignedPodDelete, makePod('gone', { nodeName: 'n' }), undefined);
    assert.deepEqual(q.counts(), { active: 1, backoff: 0, unschedulable: 0, inFlight: 0 });
  });

  test('an event that arrives while the pod is being scheduled is not lost', () => {
    const { q } = newQueue();
    q.add(makePod('p'));
    const qpi = q.pop()!;
    q.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, makeNode('big', { cpu: '8' }));
    qpi.unschedulablePlugins = new Set(['NodeResourcesFit']);
    assert.equal(q.addUnschedulableIfNotPresent(qpi), 'backoffQ');
  });

  test('an event before the pod was popped does not count for its attempt', () => {
    const { q } = newQueue();
    q.add(makePod('p'));
    q.add(makePod('other'));
    const first = q.pop()!;
    q.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, makeNode('big', { cpu: '8' }));
    const second = q.pop()!;
    second.unschedulablePlugins = new Set(['NodeResourcesFit']);
    assert.equal(q.addUnschedulableIfNotPresent(second), 'unschedulablePods');
    first.unschedulablePlugins = new Set(['NodeResourcesFit']);
    assert.equal(q.addUnschedulableIfNotPresent(first), 'backoffQ');
  });

  test('pods parked for more than five minutes get another try', () => {
    const { q, clock } = newQueue();
    q.add(makePod('p'));
    fail(q);
    clock.step(5 * 60_000);
    q.flushUnschedulablePodsLeftover();
    assert.equal(q.counts().unschedulable, 1, 'exactly five minutes is not more than five');
    clock.step(1);
    q.flushUnschedulablePodsLeftover();
    assert.deepEqual(q.counts(), { active: 1, backoff: 0, unschedulable: 0, inFlight: 0 });
  });

  test('run() flushes on its own timers', async () => {
    const { q, clock } = newQueue();
    q.run();
    q.add(makePod('p'));
    fail(q, []);
    await clock.advance(1000);
    assert.equal(q.counts().active, 1);
    q.close();
    assert.equal(clock.pending(), 0);
  });

  test('a gated pod waits outside activeQ until an update lifts the gates', () => {
    const gate = (pod: Pod) => (pod.spec.schedulingGates?.length ? new Status(Code.UnschedulableAndUnresolvable, 'waiting for scheduling gates').withPlugin('SchedulingGates') : null);
    const { q } = newQueue({ preEnqueue: gate });
    const gated = makePod('p', { schedulingGates: ['example.com/wait'] });
    q.add(gated);
    assert.deepEqual(q.counts(), { active: 0, backoff: 0, unschedulable: 1, inFlight: 0 });
    assert.equal(q.get(gated.metadata.uid!)?.gatingPlugin, 'SchedulingGates');
    q.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, makeNode('big', { cpu: '8' }));
    assert.equal(q.counts().unschedulable, 1, 'events do not release gated pods');
    const ungated: Pod = { ...gated, spec: { ...gated.spec, schedulingGates: [] } };
    q.update(gated, ungated);
    assert.equal(q.pop()?.podInfo.pod, ungated);
  });

  test('an update to a parked pod that a plugin says may help requeues it', () => {
    const tolerationHint: ClusterEventWithHint = { event: { resource: 'UnscheduledPod', action: Action.UpdatePodToleration } };
    const { q, clock } = newQueue({ registrations: { TaintToleration: [tolerationHint] } });
    const pod = makePod('p');
    q.add(pod);
    fail(q, ['TaintToleration']);
    q.update(pod, { ...pod, metadata: { ...pod.metadata, annotations: { a: 'b' } } });
    assert.equal(q.counts().unschedulable, 1, 'an unrelated change');
    clock.step(2000);
    q.update(pod, { ...pod, spec: { ...pod.spec, tolerations: [{ operator: 'Exists' }] } });
    assert.equal(q.counts().active, 1);
  });

  test("an event only visits pods rejected by a plugin that registered it", () => {
    let calls = 0;
    const counting: ClusterEventWithHint = { event: { resource: 'Node', action: Action.Add }, hint: () => (calls++, 'Skip') };
    const { q } = newQueue({ registrations: { NodeResourcesFit: [counting], VolumeBinding: [{ event: { resource: 'PersistentVolume', action: Action.Add } }] } });
    for (let i = 0; i < 50; i++) q.add(makePod(`p${i}`));
    for (let i = 0; i < 50; i++) fail(q, ['NodeResourcesFit']);
    q.moveAllToActiveOrBackoffQueue({ resource: 'PersistentVolume', action: Action.Add }, undefined, {});
    assert.equal(calls, 0);
    assert.equal(q.counts().unschedulable, 50);
    q.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, makeNode('n'));
    assert.equal(calls, 50);
  });

  test('a deleted pod leaves every queue and its nomination', () => {
    const { q } = newQueue();
    const pod = makePod('p', { nominatedNodeName: 'n1' });
    q.add(pod);
    assert.equal(q.nominatedPodsForNode('n1').length, 1);
    q.delete(pod);
    assert.deepEqual(q.counts(), { active: 0, backoff: 0, unschedulable: 0, inFlight: 0 });
    assert.equal(q.nominatedPodsForNode('n1').length, 0);
    assert.equal(q.hasNominatedPods(), false);
  });
});

describe('nominator', () => {
  test('preemption nominates, a later nomination moves the pod, clearing removes it', () => {
    const { q } = newQueue();
    const pod = makePod('p');
    q.add(pod);
    const pi = q.get(pod.metadata.uid!)!.podInfo;
    q.addNominatedPod(pi, { mode: 'override', nominatedNodeName: 'n1' });
    assert.deepEqual(q.nominatedPodsForNode('n1').map((p) => p.key), ['default/p']);
    q.addNominatedPod(pi, { mode: 'override', nominatedNodeName: 'n2' });
    assert.equal(q.nominatedPodsForNode('n1').length, 0);
    assert.equal(q.nominatedNodeOf(pi.uid), 'n2');
    q.addNominatedPod(pi, { mode: 'override', nominatedNodeName: '' });
    assert.equal(q.hasNominatedPods(), false);
  });

  test("an update that has not seen the scheduler's nomination yet keeps it", () => {
    const { q } = newQueue();
    const pod = makePod('p');
    q.add(pod);
    q.addNominatedPod(q.get(pod.metadata.uid!)!.podInfo, { mode: 'override', nominatedNodeName: 'n1' });
    const updated = { ...pod, metadata: { ...pod.metadata, labels: { x: 'y' } } };
    q.update(pod, updated);
    assert.equal(q.nominatedNodeOf(pod.metadata.uid!), 'n1');
  });

  test('a pod that is gone or bound is not nominated', () => {
    const clock = new FakeClock();
    const bound = makePod('bound', { nodeName: 'n9' });
    const q = new SchedulingQueue({ clock, less: () => false, profileFor: () => undefined, podLister: (_ns, name) => (name === 'bound' ? bound : undefined) });
    q.addNominatedPod(podInfoOf(makePod('gone')), { mode: 'override', nominatedNodeName: 'n1' });
    q.addNominatedPod(podInfoOf(bound), { mode: 'override', nominatedNodeName: 'n1' });
    assert.equal(q.hasNominatedPods(), false);
  });
});

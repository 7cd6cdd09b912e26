import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../client/clock.ts';
import { loadSchedulerConfig } from './config.ts';
import type { PermitPlugin, PluginFactory, PreemptionPlan } from './framework/interfaces.ts';
import { inTreeRegistry, mergeRegistries } from './plugins/registry.ts';
import { SchedulerLoop, truncateMessage, type SchedulingFailure } from './scheduler-loop.ts';
import { Code, Status } from './status.ts';
import { makeNode, makePod } from './testing.ts';
import type { Pod } from './types.ts';

/** A loop whose API is a map of pods: binding writes the bound pod and delivers the watch update. */
function harness(o: { config?: string; bindFails?: (pod: Pod) => boolean; registry?: Map<string, PluginFactory> } = {}) {
  const clock = new FakeClock();
  const live = new Map<string, Pod>();
  const scheduled: [string, string][] = [];
  const failures: [string, SchedulingFailure][] = [];
  const preemptions: [string, PreemptionPlan][] = [];
  const key = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;
  let loop!: SchedulerLoop;
  loop = new SchedulerLoop({
    settings: loadSchedulerConfig(o.config),
    clock,
    random: () => 0,
    ...(o.registry ? { registry: mergeRegistries(inTreeRegistry(), o.registry) } : {}),
    podLister: (ns, name) => live.get(`${ns}/${name}`),
    effects: {
      scheduled: (p, node) => scheduled.push([p.metadata.name!, node]),
      failed: (p, f) => failures.push([p.metadata.name!, f]),
      preempt: (p, plan) => preemptions.push([p.metadata.name!, plan]),
    },
    binder: {
      async bind(p, nodeName) {
        if (o.bindFails?.(p)) throw new Error('binding refused');
        const b: Pod = { ...p, spec: { ...p.spec, nodeName } };
        live.set(key(b), b);
        loop.onPodUpdate(p, b);
      },
    },
  });
  const create = (p: Pod) => {
    live.set(key(p), p);
    loop.onPodAdd(p);
    return p;
  };
  const remove = (name: string) => {
    const p = live.get(`default/${name}`)!;
    live.delete(`default/${name}`);
    loop.onPodDelete(p);
  };
  /** Schedules everything that is ready, letting bindings finish. */
  const drain = async () => {
    while (loop.scheduleOne()) await loop.drainBindings();
    await loop.drainBindings();
  };
  const nodeOf = (name: string) => live.get(`default/${name}`)?.spec.nodeName;
  return { clock, live, loop, create, remove, drain, nodeOf, scheduled, failures, preemptions };
}

describe('scheduler loop', () => {
  test('a pod that fits nowhere stays pending with the reason, and is scheduled once a node with room appears', async () => {
    const h = harness();
    h.loop.onNodeAdd(makeNode('small', { cpu: '1' }));
    h.create(makePod('big', { requests: { cpu: '2' } }));
    await h.drain();
    assert.equal(h.nodeOf('big'), undefined);
    assert.deepEqual(h.failures.map(([n, f]) => [n, f.reason, f.message]), [
      ['big', 'Unschedulable', '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.'],
    ]);
    assert.equal(h.loop.queue.counts().unschedulable, 1);

    h.loop.onNodeAdd(makeNode('roomy', { cpu: '4' }));
    await h.clock.advance(1000); // the pod's backoff
    h.loop.queue.flushBackoffQCompleted();
    await h.drain();
    assert.equal(h.nodeOf('big'), 'roomy');
    assert.deepEqual(h.scheduled, [['big', 'roomy']]);
  });

  test('a node too small to help does not wake the pod', async () => {
    const h = harness();
    h.loop.onNodeAdd(makeNode('small', { cpu: '1' }));
    h.create(makePod('big', { requests: { cpu: '2' } }));
    await h.drain();
    h.loop.onNodeAdd(makeNode('also-small', { cpu: '1' }));
    assert.equal(h.loop.queue.counts().unschedulable, 1);
  });

  test('a deleted pod frees its room for a waiting one', async () => {
    const h = harness();
    h.loop.onNodeAdd(makeNode('n', { cpu: '2' }));
    h.create(makePod('first', { requests: { cpu: '2' } }));
    await h.drain();
    h.create(makePod('second', { requests: { cpu: '2' } }));
    await h.drain();
    assert.equal(h.nodeOf('second'), undefined);
    h.remove('first');
    await h.clock.advance(1000);
    h.loop.queue.flushBackoffQCompleted();
    await h.drain();
    assert.equal(h.nodeOf('second'), 'n');
  });

  test('preemption: the plan is handed out, the pod is nominated, and lands there once the victim is gone', async () => {
    const h = harness();
    h.loop.onNodeAdd(makeNode('n', { cpu: '4' }));
    h.create(makePod('low', { priority: 0, requests: { cpu: '3' } }));
    await h.drain();
    h.create(makePod('high', { priority: 1000, requests: { cpu: '2' } }));
    await h.drain();
    assert.equal(h.preemptions.length, 1);
    const [who, plan] = h.preemptions[0]!;
    assert.equal(who, 'high');
    assert.equal(plan.nodeName, 'n');
    assert.deepEqual(plan.victims.map((v) => v.metadata.name), ['low']);
    const [, failure] = h.failures.at(-1)!;
    assert.deepEqual(failure.nominatingInfo, { mode: 'override', nominatedNodeName: 'n' });
    assert.equal(h.loop.queue.nominatedPodsForNode('n').map((p) => p.key).join(), 'default/high');

    h.remove('low'); // what the effects' eviction leads to
    await h.clock.advance(2000);
    h.loop.queue.flushBackoffQCompleted();
    await h.drain();
    assert.equal(h.nodeOf('high'), 'n');
    assert.equal(h.loop.queue.hasNominatedPods(), false);
  });

  test('a failed binding forgets the assumed pod, reports a SchedulerError and retries after the backoff', async () => {
    let refuse = true;
    const h = harness({ bindFails: () => refuse });
    h.loop.onNodeAdd(makeNode('n', { cpu: '2' }));
    h.create(makePod('p', { requests: { cpu: '2' } }));
    await h.drain();
    assert.equal(h.failures[0]?.[1].reason, 'SchedulerError');
    assert.match(h.failures[0]![1].message, /binding refused/);
    assert.equal(h.loop.cache.snapshot().get('n')!.reqCPU, 0, 'the assumed pod was forgotten');
    assert.equal(h.loop.queue.counts().backoff, 1);
    refuse = false;
    await h.clock.advance(1000);
    h.loop.queue.flushBackoffQCompleted();
    await h.drain();
    assert.equal(h.nodeOf('p'), 'n');
  });

  test('pods naming another scheduler are left alone; a profile per schedulerName takes its own', async () => {
    const h = harness({ config: 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n- schedulerName: packer\n' });
    h.loop.onNodeAdd(makeNode('n'));
    h.create(makePod('theirs', { schedulerName: 'someone-else' }));
    h.create(makePod('packed', { schedulerName: 'packer' }));
    await h.drain();
    assert.equal(h.nodeOf('theirs'), undefined);
    assert.equal(h.nodeOf('packed'), 'n');
    assert.equal(h.failures.length, 0);
  });

  test('a pending pod deleted before its turn is never scheduled', async () => {
    const h = harness();
    h.loop.onNodeAdd(makeNode('n'));
    h.create(makePod('p'));
    h.remove('p');
    await h.drain();
    assert.deepEqual(h.scheduled, []);
  });

  test('terminal pods are outside the scheduler: their room is free', async () => {
    const h = harness();
    h.loop.onNodeAdd(makeNode('n', { cpu: '2' }));
    const done = makePod('done', { nodeName: 'n', requests: { cpu: '2' }, phase: 'Succeeded' });
    h.loop.onPodAdd(done);
    h.create(makePod('p', { requests: { cpu: '2' } }));
    await h.drain();
    assert.equal(h.nodeOf('p'), 'n');
  });

  test('a Permit plugin can hold a pod until it allows it', async () => {
    const gate: PermitPlugin = { name: 'Gate', permit: () => ({ status: new Status(Code.Wait), timeoutMs: 60_000 }) };
    const h = harness({
      registry: new Map([['Gate', () => gate]]),
      config: 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    permit:\n      enabled:\n      - name: Gate\n',
    });
    h.loop.onNodeAdd(makeNode('n'));
    const p = h.create(makePod('p'));
    h.loop.scheduleOne();
    await new Promise((r) => setImmediate(r));
    assert.equal(h.nodeOf('p'), undefined, 'waiting');
    assert.equal(h.loop.cache.isAssumed(p.metadata.uid!), true, 'its room is held meanwhile');
    h.loop.profiles.get('default-scheduler')!.allowWaitingPod(p.metadata.uid!, 'Gate');
    await h.loop.drainBindings();
    assert.equal(h.nodeOf('p'), 'n');
  });

  test('a Permit timeout rejects the pod', async () => {
    const gate: PermitPlugin = { name: 'Gate', permit: () => ({ status: new Status(Code.Wait), timeoutMs: 5_000 }) };
    const h = harness({
      registry: new Map([['Gate', () => gate]]),
      config: 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- plugins:\n    permit:\n      enabled:\n      - name: Gate\n',
    });
    h.loop.onNodeAdd(makeNode('n'));
    h.create(makePod('p'));
    h.loop.scheduleOne();
    await h.clock.advance(5_000);
    await h.loop.drainBindings();
    assert.equal(h.failures[0]?.[1].message, 'rejected due to timeout after waiting 5s at plugin Gate');
    assert.equal(h.failures[0]?.[1].reason, 'Unschedulable');
  });

  test('each binding has an abort signal of its own, and stop() aborts the bindings still in flight', async () => {
    // A transport that never removes its abort listeners must not see them pile up on one
    // long-lived signal: each binding gets its own, and a settled binding's signal is dropped.
    const signals: AbortSignal[] = [];
    const pending: (() => void)[] = [];
    const loop = new SchedulerLoop({
      settings: loadSchedulerConfig(undefined),
      random: () => 0,
      effects: { scheduled() {}, failed() {}, preempt() {} },
      binder: {
        bind(_p, _node, signal) {
          signals.push(signal!);
          return new Promise<void>((resolve, reject) => {
            pending.push(resolve);
            signal!.addEventListener('abort', () => reject(signal!.reason), { once: true });
          });
        },
      },
    });
    loop.onNodeAdd(makeNode('n'));
    loop.onPodAdd(makePod('a'));
    loop.onPodAdd(makePod('b'));
    loop.onPodAdd(makePod('c'));
    while (loop.scheduleOne());
    await new Promise((r) => setImmediate(r));
    assert.equal(signals.length, 3);
    assert.equal(new Set(signals).size, 3, 'one signal per binding');
    pending[0]!();
    await new Promise((r) => setImmediate(r));
    assert.equal(loop.stats.bindingsInFlight, 2);
    await loop.stop();
    assert.deepEqual(
      signals.map((s) => s.aborted),
      [false, true, true],
      'the finished binding is left alone; the two in flight are aborted',
    );
    assert.equal(loop.stats.bindingsInFlight, 0);
  });

  test('event messages are truncated to 1024 characters as upstream', () => {
    assert.equal(truncateMessage('x'.repeat(1024)), 'x'.repeat(1024));
    const t = truncateMessage('y'.repeat(2000));
    assert.equal(t.length, 1024);
    assert.ok(t.endsWith(' ...'));
  });
});

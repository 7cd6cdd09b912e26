import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tableFor } from './registry.ts';

const NOW = new Date('2024-05-01T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();

type J = Record<string, unknown>;

interface PodOpts {
  phase?: string;
  reason?: string;
  containers?: J[];
  initContainers?: J[];
  statuses?: J[];
  initStatuses?: J[];
  conditions?: J[];
  deleting?: boolean;
  spec?: J;
  status?: J;
}

function pod(o: PodOpts = {}): J {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'default',
      creationTimestamp: ago(600),
      ...(o.deleting ? { deletionTimestamp: ago(5) } : {}),
    },
    spec: {
      containers: o.containers ?? [{ name: 'app', image: 'nginx' }],
      ...(o.initContainers ? { initContainers: o.initContainers } : {}),
      ...o.spec,
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.reason ? { reason: o.reason } : {}),
      conditions: o.conditions ?? [],
      containerStatuses: o.statuses ?? [],
      ...(o.initStatuses ? { initContainerStatuses: o.initStatuses } : {}),
      ...o.status,
    },
  };
}

const running = (name = 'app', extra: J = {}): J => ({ name, ready: true, restartCount: 0, state: { running: { startedAt: ago(500) } }, ...extra });
const waiting = (reason: string, name = 'app', extra: J = {}): J => ({ name, ready: false, restartCount: 0, state: { waiting: { reason } }, ...extra });
const terminated = (t: J, name = 'app', extra: J = {}): J => ({ name, ready: false, restartCount: 0, state: { terminated: t }, ...extra });
const READY = { type: 'Ready', status: 'True' };
const INITIALIZED = { type: 'Initialized', status: 'True' };

/** [READY, STATUS, RESTARTS] of the pod's row. */
function summary(p: J): unknown[] {
  return tableFor('', 'pods').cells(p, NOW).slice(1, 4);
}

test('pod STATUS follows upstream printPod for each state a pod goes through', () => {
  const cases: [string, J, string, string][] = [
    ['pending, nothing scheduled', pod({ phase: 'Pending' }), '0/1', 'Pending'],
    ['scheduling gated', pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }), '0/1', 'SchedulingGated'],
    ['container being created', pod({ phase: 'Pending', statuses: [waiting('ContainerCreating')] }), '0/1', 'ContainerCreating'],
    ['image pull failing', pod({ phase: 'Pending', statuses: [waiting('ErrImagePull')] }), '0/1', 'ErrImagePull'],
    ['image pull backing off', pod({ phase: 'Pending', statuses: [waiting('ImagePullBackOff')] }), '0/1', 'ImagePullBackOff'],
    ['crash looping', pod({ statuses: [waiting('CrashLoopBackOff')] }), '0/1', 'CrashLoopBackOff'],
    ['running and ready', pod({ statuses: [running()], conditions: [READY] }), '1/1', 'Running'],
    ['running, not ready', pod({ statuses: [running('app', { ready: false })] }), '0/1', 'Running'],
    ['finished successfully', pod({ phase: 'Succeeded', statuses: [terminated({ reason: 'Completed', exitCode: 0 })] }), '0/1', 'Completed'],
    ['finished with an error', pod({ phase: 'Failed', statuses: [terminated({ reason: 'Error', exitCode: 1 })] }), '0/1', 'Error'],
    ['out of memory', pod({ phase: 'Running', statuses: [terminated({ reason: 'OOMKilled', exitCode: 137 })] }), '0/1', 'OOMKilled'],
    ['terminated without a reason', pod({ statuses: [terminated({ exitCode: 137 })] }), '0/1', 'ExitCode:137'],
    ['killed by a signal without a reason', pod({ statuses: [terminated({ exitCode: 0, signal: 9 })] }), '0/1', 'Signal:9'],
    ['evicted', pod({ phase: 'Failed', reason: 'Evicted', statuses: [] }), '0/1', 'Evicted'],
    ['being deleted', pod({ deleting: true, statuses: [running()], conditions: [READY] }), '1/1', 'Terminating'],
    ['deleted on a lost node', pod({ deleting: true, reason: 'NodeLost', statuses: [running()] }), '1/1', 'Unknown'],
    ['finished pods stay finished while deleted', pod({ phase: 'Succeeded', deleting: true, statuses: [terminated({ reason: 'Completed', exitCode: 0 })] }), '0/1', 'Completed'],
  ];
  for (const [what, p, ready, status] of cases) {
    const [r, s] = summary(p);
    assert.equal(s, status, what);
    assert.equal(r, ready, what);
  }
});

test('a completed container next to a running one reads Running when the pod is ready, NotReady otherwise', () => {
  const containers = [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }];
  // Statuses are walked last to first, so the first container's state is the one shown.
  const statuses = [terminated({ reason: 'Completed', exitCode: 0 }, 'a'), running('b')];
  assert.deepEqual(summary(pod({ containers, statuses, conditions: [READY] })).slice(0, 2), ['1/2', 'Running']);
  assert.deepEqual(summary(pod({ containers, statuses })).slice(0, 2), ['1/2', 'NotReady']);
});

test('init containers show their progress as Init:N/M and their failures with an Init: prefix', () => {
  const initContainers = [{ name: 'i1', image: 'x' }, { name: 'i2', image: 'x' }];
  const done = terminated({ reason: 'Completed', exitCode: 0 }, 'i1');
  const cases: [string, J[], string][] = [
    ['first still starting', [waiting('PodInitializing', 'i1'), waiting('PodInitializing', 'i2')], 'Init:0/2'],
    ['first running', [running('i1', { ready: false }), waiting('PodInitializing', 'i2')], 'Init:0/2'],
    ['second running', [done, running('i2', { ready: false })], 'Init:1/2'],
    ['second crash looping', [done, waiting('CrashLoopBackOff', 'i2')], 'Init:CrashLoopBackOff'],
    ['second cannot pull', [done, waiting('ErrImagePull', 'i2')], 'Init:ErrImagePull'],
    ['second failed', [done, terminated({ reason: 'Error', exitCode: 1 }, 'i2')], 'Init:Error'],
    ['second exited without a reason', [done, terminated({ exitCode: 2 }, 'i2')], 'Init:ExitCode:2'],
    ['second killed without a reason', [done, terminated({ exitCode: 1, signal: 15 }, 'i2')], 'Init:Signal:15'],
  ];
  for (const [what, initStatuses, want] of cases) {
    const p = pod({ phase: 'Pending', initContainers, initStatuses, statuses: [waiting('PodInitializing')] });
    assert.equal(summary(p)[1], want, what);
  }
  // With every init container done, the main containers' state shows.
  const p = pod({
    phase: 'Pending',
    initContainers,
    initStatuses: [done, terminated({ reason: 'Completed', exitCode: 0 }, 'i2')],
    statuses: [waiting('PodInitializing')],
    conditions: [INITIALIZED],
  });
  assert.equal(summary(p)[1], 'PodInitializing');
});

test('sidecar (restartable) init containers count toward READY and do not hold up the pod', () => {
  const p = pod({
    initContainers: [{ name: 'sidecar', image: 'envoy', restartPolicy: 'Always' }],
    initStatuses: [running('sidecar', { started: true, restartCount: 3, lastState: { terminated: { finishedAt: ago(120) } } })],
    statuses: [running()],
    conditions: [INITIALIZED, READY],
  });
  assert.deepEqual(summary(p), ['2/2', 'Running', '3 (2m ago)']);
});

test('RESTARTS adds how long ago the last restart was, when that is known', () => {
  const restarted = running('app', { restartCount: 5, lastState: { terminated: { finishedAt: ago(300) } } });
  assert.equal(summary(pod({ statuses: [restarted], conditions: [READY] }))[2], '5 (5m ago)');
  const noLastState = running('app', { restartCount: 5 });
  assert.equal(summary(pod({ statuses: [noLastState], conditions: [READY] }))[2], '5');
  assert.equal(summary(pod({ statuses: [running()] }))[2], '0');
  // The most recent termination among all containers is the one reported.
  const two = pod({
    containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }],
    statuses: [
      running('a', { restartCount: 1, lastState: { terminated: { finishedAt: ago(3600) } } }),
      running('b', { restartCount: 2, lastState: { terminated: { finishedAt: ago(65) } } }),
    ],
  });
  assert.equal(summary(two)[2], '3 (65s ago)');
});

test('restarts of a failing init container count while the pod initializes', () => {
  const p = pod({
    phase: 'Pending',
    initContainers: [{ name: 'i1', image: 'x' }],
    initStatuses: [waiting('CrashLoopBackOff', 'i1', { restartCount: 4, lastState: { terminated: { finishedAt: ago(30), exitCode: 1 } } })],
    statuses: [waiting('PodInitializing')],
  });
  assert.deepEqual(summary(p), ['0/1', 'Init:CrashLoopBackOff', '4 (30s ago)']);
});

test('wide pod cells show the first IP, node, nominated node and readiness gates, <none> when unset', () => {
  const spec = tableFor('', 'pods');
  const bare = pod({ phase: 'Pending' });
  assert.deepEqual(spec.cells(bare, NOW).slice(5), ['<none>', '<none>', '<none>', '<none>']);
  const placed = pod({
    statuses: [running()],
    spec: { nodeName: 'node-1', readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
    status: { podIPs: [{ ip: '10.1.2.3' }, { ip: 'fd00::3' }], nominatedNodeName: 'node-2' },
    conditions: [READY, { type: 'example.com/lb', status: 'True' }, { type: 'example.com/dns', status: 'False' }],
  });
  assert.deepEqual(spec.cells(placed, NOW), ['p', '1/1', 'Running', '0', '10m', '10.1.2.3', 'node-1', 'node-2', '1/2']);
});

test('finished pods carry the Completed row condition upstream sets', () => {
  const spec = tableFor('', 'pods');
  assert.deepEqual(spec.conditions?.(pod({ phase: 'Succeeded' })), [
    { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
  ]);
  assert.deepEqual(spec.conditions?.(pod({ phase: 'Failed' })), [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }]);
  assert.equal(spec.conditions?.(pod({ phase: 'Running' })), undefined);
});

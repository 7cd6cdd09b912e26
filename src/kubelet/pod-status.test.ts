// The status the kubelet reports, computed from runtime state: phase, conditions, container states.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, Pod, PodCondition } from './api-types.ts';
import { hashContainer } from './labels.ts';
import type { ContainerRunState, RuntimeContainer, RuntimePodState } from './pod-state.ts';
import { generatePodStatus, type StartFailure, type StatusInputs } from './pod-status.ts';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const c = (name: string, extra: Partial<Container> = {}): Container => ({ name, image: 'busybox:1.36', ...extra });

function pod(spec: Partial<Pod['spec']> = {}, status: Pod['status'] = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u1' }, spec: { containers: [c('a')], ...spec }, status };
}

let seq = 0;
function rc(spec: Container, state: ContainerRunState, exitCode = 0, extra: Partial<RuntimeContainer> = {}): RuntimeContainer {
  seq++;
  return {
    id: `${spec.name}${seq}`, sandboxId: 's1', name: spec.name, state, createdAt: NOW - 100_000 + seq * 10, startedAt: state === 'created' ? 0 : NOW - 90_000 + seq * 10,
    finishedAt: state === 'exited' ? NOW - 50_000 + seq * 10 : 0, exitCode, reason: state === 'exited' ? (exitCode ? 'Error' : 'Completed') : '', message: '',
    hash: hashContainer(spec), restartCount: 0, image: 'docker.io/library/busybox:1.36', imageRef: 'sha256:abc', logPath: '', mounts: {}, ...extra,
  };
}

function st(containers: RuntimeContainer[], ready = true): RuntimePodState {
  return {
    uid: 'u1', name: 'p', namespace: 'ns',
    sandboxes: ready ? [{ id: 's1', ready: true, attempt: 0, createdAt: 1, network: 'POD', ips: ['10.1.0.5'] }] : [],
    containers: [...containers].sort((x, y) => y.createdAt - x.createdAt),
  };
}

function gen(p: Pod, s: RuntimePodState, o: Partial<StatusInputs> = {}) {
  return generatePodStatus({
    pod: p,
    state: s,
    probes: { readiness: () => undefined, startup: () => undefined },
    startFailures: new Map(),
    hostIPs: ['192.0.2.1'],
    runtimeName: 'containerd',
    now: NOW,
    podIsTerminal: false,
    ...o,
  });
}

const conds = (cs: PodCondition[] | undefined) => (cs ?? []).map((x) => [x.type, x.status, x.reason ?? '', x.message ?? '']);

describe('generatePodStatus', () => {
  it('a pod not started yet is Pending with its containers ContainerCreating', () => {
    const s = gen(pod(), st([], false));
    assert.equal(s.phase, 'Pending');
    assert.deepEqual(s.containerStatuses, [{ name: 'a', state: { waiting: { reason: 'ContainerCreating' } }, lastState: {}, ready: false, restartCount: 0, image: 'busybox:1.36', imageID: '', started: false }]);
    assert.deepEqual(conds(s.conditions), [
      ['PodReadyToStartContainers', 'False', '', ''],
      ['Initialized', 'True', '', ''],
      ['Ready', 'False', 'ContainersNotReady', 'containers with unready status: [a]'],
      ['ContainersReady', 'False', 'ContainersNotReady', 'containers with unready status: [a]'],
    ]);
    assert.equal(s.hostIP, '192.0.2.1');
    assert.deepEqual(s.hostIPs, [{ ip: '192.0.2.1' }]);
    assert.equal(s.podIP, undefined);
    assert.equal(s.qosClass, 'BestEffort');
    assert.equal(s.startTime, '2025-01-01T12:00:00Z');
  });

  it('regular containers wait with PodInitializing while there are init containers', () => {
    const s = gen(pod({ initContainers: [c('init')] }), st([rc(c('init'), 'running')]));
    assert.equal(s.phase, 'Pending');
    assert.equal(s.containerStatuses?.[0].state?.waiting?.reason, 'PodInitializing');
    assert.deepEqual(conds(s.conditions)[1], ['Initialized', 'False', 'ContainersNotInitialized', 'containers with incomplete status: [init]']);
  });

  it('a running container without probes is started and ready; the pod Running and Ready', () => {
    const s = gen(pod(), st([rc(c('a'), 'running')]));
    assert.equal(s.phase, 'Running');
    assert.equal(s.podIP, '10.1.0.5');
    const cs = s.containerStatuses![0];
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.match(cs.containerID!, /^containerd:\/\/a\d+$/);
    assert.equal(cs.image, 'docker.io/library/busybox:1.36');
    assert.equal(cs.imageID, 'sha256:abc');
    assert.deepEqual(conds(s.conditions).map((x) => x.slice(0, 2)), [['PodReadyToStartContainers', 'True'], ['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True']]);
  });

  it('a readiness probe keeps the container unready until it succeeds; a startup probe keeps it not started', () => {
    const running = rc(c('a'), 'running');
    const p = pod({ containers: [c('a', { readinessProbe: { exec: { command: ['true'] } }, startupProbe: { exec: { command: ['true'] } } })] });
    let s = gen(p, st([running]));
    assert.deepEqual([s.containerStatuses![0].started, s.containerStatuses![0].ready], [false, false]);
    s = gen(p, st([running]), { probes: { startup: () => 'success', readiness: () => undefined } });
    assert.deepEqual([s.containerStatuses![0].started, s.containerStatuses![0].ready], [true, false]);
    s = gen(p, st([running]), { probes: { startup: () => 'success', readiness: () => 'success' } });
    assert.deepEqual([s.containerStatuses![0].started, s.containerStatuses![0].ready], [true, true]);
  });

  it('a crash-looping container is waiting with the back-off reason and its last termination', () => {
    const failures = new Map<string, StartFailure>([['a', { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=a pod=p_ns(u1)' }]]);
    const s = gen(pod(), st([rc(c('a'), 'exited', 1, { restartCount: 0 }), rc(c('a'), 'exited', 1, { restartCount: 1 })]), { startFailures: failures });
    const cs = s.containerStatuses![0];
    assert.deepEqual(cs.state, { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=a pod=p_ns(u1)' } });
    assert.equal(cs.lastState?.terminated?.exitCode, 1);
    assert.equal(cs.restartCount, 1);
    assert.equal(s.phase, 'Running', 'a restarting container keeps the pod Running');
  });

  it('the previous instance becomes lastState while the new one runs', () => {
    const s = gen(pod(), st([rc(c('a'), 'exited', 137, { reason: 'OOMKilled' }), rc(c('a'), 'running', 0, { restartCount: 1 })]));
    const cs = s.containerStatuses![0];
    assert.ok(cs.state?.running);
    assert.equal(cs.lastState?.terminated?.reason, 'OOMKilled');
    assert.equal(cs.lastState?.terminated?.exitCode, 137);
    assert.equal(cs.restartCount, 1);
  });

  const phases: [string, Partial<Pod['spec']>, () => RuntimeContainer[], string][] = [
    ['Never, exited 0 → Succeeded', { restartPolicy: 'Never' }, () => [rc(c('a'), 'exited', 0)], 'Succeeded'],
    ['Never, exited 1 → Failed', { restartPolicy: 'Never' }, () => [rc(c('a'), 'exited', 1)], 'Failed'],
    ['OnFailure, exited 0 → Succeeded', { restartPolicy: 'OnFailure' }, () => [rc(c('a'), 'exited', 0)], 'Succeeded'],
    ['OnFailure, exited 1 → Running (restarting)', { restartPolicy: 'OnFailure' }, () => [rc(c('a'), 'exited', 1)], 'Running'],
    ['Always, exited 0 → Running (restarting)', {}, () => [rc(c('a'), 'exited', 0)], 'Running'],
    ['an init container failed under Never → Failed', { restartPolicy: 'Never', initContainers: [c('i')] }, () => [rc(c('i'), 'exited', 2)], 'Failed'],
    ['an init container failed under Always → Pending', { initContainers: [c('i')] }, () => [rc(c('i'), 'exited', 2)], 'Pending'],
  ];
  for (const [name, spec, containers, phase] of phases) {
    it(`phase: ${name}`, () => assert.equal(gen(pod(spec), st(containers())).phase, phase));
  }

  it('a completed pod says PodCompleted on Ready and ContainersReady', () => {
    const s = gen(pod({ restartPolicy: 'Never' }), st([rc(c('a'), 'exited', 0)]));
    assert.deepEqual(conds(s.conditions).slice(1), [
      ['Initialized', 'True', 'PodCompleted', ''],
      ['Ready', 'False', 'PodCompleted', ''],
      ['ContainersReady', 'False', 'PodCompleted', ''],
    ]);
  });

  it('a pod terminated on deletion is Failed when its containers were killed, with waiting containers marked unknown', () => {
    const p = pod({ containers: [c('a'), c('b')] });
    const s = gen(p, st([rc(c('a'), 'exited', 143)]), { podIsTerminal: true });
    assert.equal(s.phase, 'Failed');
    const b = s.containerStatuses!.find((x) => x.name === 'b')!;
    assert.deepEqual(b.state?.terminated, { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' });
    assert.deepEqual(conds(s.conditions).find((x) => x[0] === 'Ready'), ['Ready', 'False', 'PodFailed', '']);
  });

  it('keeps PodScheduled and readiness-gate conditions from the API, and transition times of unchanged conditions', () => {
    const prev: Pod['status'] = {
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' },
        { type: 'Initialized', status: 'True', lastTransitionTime: '2025-01-01T01:00:00Z' },
        { type: 'example.com/gate', status: 'False' },
      ],
      startTime: '2025-01-01T00:00:05Z',
    };
    const s = gen(pod({ readinessGates: [{ conditionType: 'example.com/gate' }] }, prev), st([rc(c('a'), 'running')]));
    assert.deepEqual(s.conditions!.map((x) => x.type), ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled', 'example.com/gate']);
    assert.equal(s.conditions!.find((x) => x.type === 'Initialized')?.lastTransitionTime, '2025-01-01T01:00:00Z');
    assert.equal(s.conditions!.find((x) => x.type === 'ContainersReady')?.lastTransitionTime, '2025-01-01T12:00:00Z');
    const ready = s.conditions!.find((x) => x.type === 'Ready')!;
    assert.deepEqual([ready.status, ready.reason, ready.message], ['False', 'ReadinessGatesNotReady', 'the status of pod readiness gate "example.com/gate" is not "True", but False']);
    assert.equal(s.startTime, '2025-01-01T00:00:05Z');
  });

  it('takes start and transition times from the kubelet\'s last status over a lagging API copy, others\' conditions from the API', () => {
    const api: Pod['status'] = { conditions: [{ type: 'PodScheduled', status: 'True' }] };
    const previous: Pod['status'] = { startTime: '2025-01-01T11:00:00Z', conditions: [{ type: 'ContainersReady', status: 'True', lastTransitionTime: '2025-01-01T11:00:01Z' }] };
    const s = gen(pod({}, api), st([rc(c('a'), 'running')]), { previous });
    assert.equal(s.startTime, '2025-01-01T11:00:00Z');
    assert.equal(s.conditions!.find((x) => x.type === 'ContainersReady')?.lastTransitionTime, '2025-01-01T11:00:01Z');
    assert.deepEqual(s.conditions!.map((x) => x.type), ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);
  });

  it('a started sidecar counts as initialized, running, and in ContainersReady', () => {
    const side = c('proxy', { restartPolicy: 'Always', readinessProbe: { exec: { command: ['true'] } } });
    const p = pod({ initContainers: [side] });
    let s = gen(p, st([rc(side, 'running')]));
    assert.equal(s.phase, 'Pending', 'the regular container has not started yet');
    assert.equal(s.initContainerStatuses![0].started, true);
    assert.equal(s.conditions!.find((x) => x.type === 'Initialized')?.status, 'True');
    s = gen(p, st([rc(side, 'running', 0, { id: 'px' }), rc(c('a'), 'running')]), { probes: { readiness: (id) => (id === 'px' ? 'failure' : undefined), startup: () => undefined } });
    assert.equal(s.phase, 'Running');
    assert.equal(s.initContainerStatuses![0].ready, false);
    assert.deepEqual(conds(s.conditions).find((x) => x[0] === 'ContainersReady'), ['ContainersReady', 'False', 'ContainersNotReady', 'containers with unready status: [proxy]']);
  });

  it('a pod whose containers succeeded is Succeeded even though its sidecar was killed', () => {
    const side = c('proxy', { restartPolicy: 'Always' });
    const s = gen(pod({ restartPolicy: 'Never', initContainers: [side] }), st([rc(side, 'exited', 143), rc(c('a'), 'exited', 0)]), { podIsTerminal: true });
    assert.equal(s.phase, 'Succeeded');
  });

  it('a host-network pod reports the node address as its pod IP', () => {
    const s = gen(pod({ hostNetwork: true }), st([rc(c('a'), 'running')]));
    assert.equal(s.podIP, '192.0.2.1');
  });

  it('lists regular containers by name and init containers in spec order', () => {
    const p = pod({ initContainers: [c('z-init'), c('a-init')], containers: [c('zeta'), c('alpha')] });
    const s = gen(p, st([]));
    assert.deepEqual(s.initContainerStatuses!.map((x) => x.name), ['z-init', 'a-init']);
    assert.deepEqual(s.containerStatuses!.map((x) => x.name), ['alpha', 'zeta']);
  });
});

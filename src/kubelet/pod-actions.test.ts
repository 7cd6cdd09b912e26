// computePodActions, table-driven: pod spec + what the runtime holds → what to kill and start.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, Pod } from './api-types.ts';
import { hashContainer } from './labels.ts';
import { computePodActions, nextInitContainer, podSandboxChanged, type ProbeView } from './pod-actions.ts';
import type { ContainerRunState, RuntimeContainer, RuntimePodState, RuntimeSandbox } from './pod-state.ts';

const c = (name: string, extra: Partial<Container> = {}): Container => ({ name, image: 'busybox', ...extra });

function pod(spec: Partial<Pod['spec']> = {}, deleted = false): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', ...(deleted ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) },
    spec: { containers: [c('a'), c('b')], ...spec },
  };
}

let seq = 0;
function rc(spec: Container, state: ContainerRunState, exitCode = 0, extra: Partial<RuntimeContainer> = {}): RuntimeContainer {
  seq++;
  return {
    id: `id-${spec.name}-${seq}`, sandboxId: 's1', name: spec.name, state, createdAt: 1000 + seq, startedAt: state === 'created' ? 0 : 1000 + seq,
    finishedAt: state === 'exited' ? 2000 + seq : 0, exitCode, reason: state === 'exited' ? (exitCode ? 'Error' : 'Completed') : '', message: '',
    hash: hashContainer(spec), restartCount: 0, image: 'busybox', imageRef: 'sha256:x', logPath: '', mounts: {}, ...extra,
  };
}

const sandbox = (extra: Partial<RuntimeSandbox> = {}): RuntimeSandbox => ({ id: 's1', ready: true, attempt: 0, createdAt: 1, network: 'POD', ips: ['10.0.0.2'], ...extra });
const state = (sandboxes: RuntimeSandbox[], containers: RuntimeContainer[]): RuntimePodState => ({ uid: 'u1', name: 'p', namespace: 'ns', sandboxes, containers: [...containers].reverse() });

const probes = (liveness: Record<string, 'success' | 'failure'> = {}, startup: Record<string, 'success' | 'failure'> = {}): ProbeView => ({
  liveness: (id) => liveness[id],
  startup: (id) => startup[id],
});

describe('computePodActions', () => {
  const A = c('a');
  const B = c('b');

  const cases: { name: string; pod: Pod; state: RuntimePodState; probes?: ProbeView; want: Record<string, unknown> }[] = [
    {
      name: 'a new pod gets a sandbox and all its containers',
      pod: pod(),
      state: state([], []),
      want: { createSandbox: true, killPod: true, attempt: 0, sandboxId: '', containersToStart: [0, 1], kill: [] },
    },
    {
      name: 'a pod with init containers starts only the first init container with its sandbox',
      pod: pod({ initContainers: [c('i1'), c('i2')] }),
      state: state([], []),
      want: { createSandbox: true, nextInitContainer: 0, containersToStart: [] },
    },
    {
      name: 'running containers are kept',
      pod: pod(),
      state: state([sandbox()], [rc(A, 'running'), rc(B, 'running')]),
      want: { createSandbox: false, killPod: false, containersToStart: [], kill: [] },
    },
    {
      name: 'an exited container is started again under Always',
      pod: pod(),
      state: state([sandbox()], [rc(A, 'running'), rc(B, 'exited', 1)]),
      want: { createSandbox: false, killPod: false, containersToStart: [1], kill: [] },
    },
    {
      name: 'a container that succeeded is left alone under OnFailure, one that failed is restarted',
      pod: pod({ restartPolicy: 'OnFailure' }),
      state: state([sandbox()], [rc(A, 'exited', 0), rc(B, 'exited', 2)]),
      want: { killPod: false, containersToStart: [1] },
    },
    {
      name: 'under Never, once every container has exited the pod is killed and nothing starts',
      pod: pod({ restartPolicy: 'Never' }),
      state: state([sandbox()], [rc(A, 'exited', 0), rc(B, 'exited', 1)]),
      want: { killPod: true, createSandbox: false, containersToStart: [] },
    },
    {
      name: 'a dead sandbox is replaced (next attempt) and everything restarted',
      pod: pod(),
      state: state([sandbox({ ready: false, attempt: 2 })], [rc(A, 'exited', 137), rc(B, 'exited', 137)]),
      want: { createSandbox: true, killPod: true, attempt: 3, sandboxId: 's1', containersToStart: [0, 1] },
    },
    {
      name: 'a Never pod whose containers already ran gets no new sandbox',
      pod: pod({ restartPolicy: 'Never' }),
      state: state([sandbox({ ready: false })], [rc(A, 'exited', 0), rc(B, 'exited', 0)]),
      want: { createSandbox: false, killPod: true },
    },
    {
      name: 'an OnFailure pod with everything succeeded gets no new sandbox',
      pod: pod({ restartPolicy: 'OnFailure' }),
      state: state([sandbox({ ready: false })], [rc(A, 'exited', 0), rc(B, 'exited', 0)]),
      want: { createSandbox: false },
    },
    {
      name: 'a sandbox without an IP is replaced',
      pod: pod(),
      state: state([sandbox({ ips: [] })], [rc(A, 'running'), rc(B, 'running')]),
      want: { createSandbox: true, attempt: 1 },
    },
    {
      name: 'a pod switched to the host network gets a new sandbox',
      pod: pod({ hostNetwork: true }),
      state: state([sandbox()], [rc(A, 'running'), rc(B, 'running')]),
      want: { createSandbox: true, sandboxId: '' },
    },
    {
      name: 'a container whose liveness probe failed is killed and restarted',
      pod: pod(),
      state: state([sandbox()], [rc(A, 'running', 0, { id: 'live-a' }), rc(B, 'running')]),
      probes: probes({ 'live-a': 'failure' }),
      want: { containersToStart: [0], kill: [['a', 'Container a failed liveness probe, will be restarted', 'liveness']] },
    },
    {
      name: 'under Never, a liveness failure kills without restarting',
      pod: pod({ restartPolicy: 'Never' }),
      state: state([sandbox()], [rc(A, 'running', 0, { id: 'live-a' }), rc(B, 'running')]),
      probes: probes({ 'live-a': 'failure' }),
      want: { containersToStart: [], kill: [['a', 'Container a failed liveness probe', 'liveness']] },
    },
    {
      name: 'a startup probe failure kills and restarts',
      pod: pod(),
      state: state([sandbox()], [rc(A, 'running'), rc(B, 'running', 0, { id: 'st-b' })]),
      probes: probes({}, { 'st-b': 'failure' }),
      want: { containersToStart: [1], kill: [['b', 'Container b failed startup probe, will be restarted', 'startup']] },
    },
    {
      name: 'a container whose spec changed (image) is restarted even under Never',
      pod: pod({ restartPolicy: 'Never', containers: [c('a', { image: 'busybox:2' }), B] }),
      state: state([sandbox()], [rc(A, 'running'), rc(B, 'running')]),
      want: { containersToStart: [0], kill: [['a', 'Container a definition changed, will be restarted', 'changed']] },
    },
    {
      name: 'nothing is restarted once the pod is being deleted',
      pod: pod({}, true),
      state: state([sandbox()], [rc(A, 'running'), rc(B, 'exited', 1)]),
      want: { containersToStart: [], killPod: false },
    },
    {
      name: 'a container stuck in created is started again',
      pod: pod(),
      state: state([sandbox()], [rc(A, 'running'), rc(B, 'created')]),
      want: { containersToStart: [1] },
    },
    {
      name: 'init containers run one after another',
      pod: pod({ initContainers: [c('i1'), c('i2')] }),
      state: state([sandbox()], [rc(c('i1'), 'exited', 0)]),
      want: { nextInitContainer: 1, containersToStart: [] },
    },
    {
      name: 'a running init container is waited for',
      pod: pod({ initContainers: [c('i1'), c('i2')] }),
      state: state([sandbox()], [rc(c('i1'), 'running')]),
      want: { nextInitContainer: undefined, containersToStart: [] },
    },
    {
      name: 'a failed init container is run again under Always',
      pod: pod({ initContainers: [c('i1')] }),
      state: state([sandbox()], [rc(c('i1'), 'exited', 1)]),
      want: { nextInitContainer: 0, killPod: false },
    },
    {
      name: 'a failed init container under Never kills the pod',
      pod: pod({ restartPolicy: 'Never', initContainers: [c('i1')] }),
      state: state([sandbox()], [rc(c('i1'), 'exited', 1)]),
      want: { killPod: true, nextInitContainer: undefined },
    },
    {
      name: 'after the last init container the regular containers start',
      pod: pod({ initContainers: [c('i1'), c('i2')] }),
      state: state([sandbox()], [rc(c('i1'), 'exited', 0), rc(c('i2'), 'exited', 0)]),
      want: { nextInitContainer: undefined, containersToStart: [0, 1] },
    },
    {
      name: 'an OOM-killed init container counts as failed even with exit code 0',
      pod: pod({ initContainers: [c('i1'), c('i2')] }),
      state: state([sandbox()], [rc(c('i1'), 'exited', 0, { reason: 'OOMKilled' })]),
      want: { nextInitContainer: 0 },
    },
  ];

  for (const t of cases) {
    it(t.name, () => {
      const a = computePodActions(t.pod, t.state, t.probes);
      const got: Record<string, unknown> = {
        createSandbox: a.createSandbox,
        killPod: a.killPod,
        attempt: a.attempt,
        sandboxId: a.sandboxId,
        nextInitContainer: a.initContainersToStart.length ? a.initContainersToStart[0] : undefined,
        initContainersToStart: a.initContainersToStart,
        containersToStart: a.containersToStart,
        kill: a.containersToKill.map((k) => [k.name, k.message, k.reason]),
      };
      for (const [k, v] of Object.entries(t.want)) assert.deepEqual(got[k], v, `${k}: ${JSON.stringify(got)}`);
    });
  }
});

describe('podSandboxChanged and nextInitContainer', () => {
  it('two ready sandboxes mean a new one is needed', () => {
    const st = state([sandbox({ id: 's2', attempt: 1, createdAt: 2 }), sandbox()], []);
    st.sandboxes = [sandbox({ id: 's2', attempt: 1, createdAt: 2 }), sandbox()];
    assert.deepEqual(podSandboxChanged(pod(), st), { changed: true, attempt: 2, sandboxId: 's2' });
  });
  it('a running regular container means initialization is done even without init statuses', () => {
    const p = pod({ initContainers: [c('i1')] });
    assert.deepEqual(nextInitContainer(p, state([sandbox()], [rc(c('a'), 'running')])), { done: true });
  });
});

describe('computePodActions with sidecars (init containers with restartPolicy Always)', () => {
  const side = c('proxy', { restartPolicy: 'Always' });
  const side2 = c('log', { restartPolicy: 'Always', startupProbe: { exec: { command: ['true'] } } });
  const init = c('setup');
  const A = c('a');
  const p = (extra: Partial<Pod['spec']> = {}) => pod({ initContainers: [side, init], containers: [A], ...extra });
  const starts = (a: ReturnType<typeof computePodActions>) => ({ init: a.initContainersToStart, main: a.containersToStart, kill: a.containersToKill.map((k) => k.name), killPod: a.killPod });

  it('starts the sidecar first, then the next init container once the sidecar runs, then the containers', () => {
    assert.deepEqual(starts(computePodActions(p(), state([], []))), { init: [0], main: [], kill: [], killPod: true });
    assert.deepEqual(starts(computePodActions(p(), state([sandbox()], [rc(side, 'running')]))), { init: [1], main: [], kill: [], killPod: false });
    assert.deepEqual(starts(computePodActions(p(), state([sandbox()], [rc(side, 'running'), rc(init, 'running')]))), { init: [], main: [], kill: [], killPod: false });
    assert.deepEqual(starts(computePodActions(p(), state([sandbox()], [rc(side, 'running'), rc(init, 'exited', 0)]))), { init: [], main: [0], kill: [], killPod: false });
  });

  it('waits for a sidecar\'s startup probe before going on', () => {
    const q = pod({ initContainers: [side2, init], containers: [A] });
    assert.deepEqual(starts(computePodActions(q, state([sandbox()], [rc(side2, 'running', 0, { id: 'log-1' })]))).init, []);
    assert.deepEqual(starts(computePodActions(q, state([sandbox()], [rc(side2, 'running', 0, { id: 'log-1' })]), probes({}, { 'log-1': 'success' }))).init, [1]);
  });

  it('restarts a sidecar that stopped while the containers run, even under Never', () => {
    const a = computePodActions(p({ restartPolicy: 'Never' }), state([sandbox()], [rc(side, 'exited', 1), rc(init, 'exited', 0), rc(A, 'running')]));
    assert.deepEqual(starts(a), { init: [0], main: [], kill: [], killPod: false });
  });

  it('restarts a sidecar that fails its liveness probe', () => {
    const a = computePodActions(p(), state([sandbox()], [rc(side, 'running', 0, { id: 'px' }), rc(init, 'exited', 0), rc(A, 'running')]), probes({ px: 'failure' }));
    assert.deepEqual(starts(a), { init: [0], main: [], kill: ['proxy'], killPod: false });
    assert.equal(a.containersToKill[0].message, 'Init container proxy failed liveness probe');
  });

  it('a finished pod does not stay up for its sidecars', () => {
    const a = computePodActions(p({ restartPolicy: 'Never' }), state([sandbox()], [rc(side, 'running'), rc(init, 'exited', 0), rc(A, 'exited', 0)]));
    assert.deepEqual(starts(a), { init: [], main: [], kill: [], killPod: true });
  });
});

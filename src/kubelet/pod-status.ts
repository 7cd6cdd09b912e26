// The pod status the kubelet reports, pure: from the pod, what the runtime holds for it, what the
// probes concluded and why the last starts failed — upstream's generateAPIPodStatus,
// convertToAPIContainerStatuses, getPhase and the condition generators (pkg/kubelet/kubelet_pods.go,
// pkg/kubelet/status/generate.go), with the status manager's condition merge.
import { rfc3339 } from '../api/meta.ts';
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from './api-types.ts';
import { isSidecar, podSandboxChanged, shouldContainerBeRestarted } from './pod-actions.ts';
import type { RuntimeContainer, RuntimePodState } from './pod-state.ts';
import { podQosClass } from './qos.ts';

export const KUBELET_CONDITIONS = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady'];

export type ProbeResult = 'success' | 'failure' | undefined;

export interface StatusProbes {
  readiness(containerId: string): ProbeResult;
  startup(containerId: string): ProbeResult;
}

export interface StartFailure {
  /** CrashLoopBackOff, ErrImagePull, ImagePullBackOff, CreateContainerConfigError, … */
  reason: string;
  message: string;
}

export interface StatusInputs {
  pod: Pod;
  state: RuntimePodState;
  probes: StatusProbes;
  /** Why the last attempt to start each container failed, by container name. */
  startFailures: ReadonlyMap<string, StartFailure>;
  hostIPs: readonly string[];
  /** The runtime's name for container IDs (containerd://…). */
  runtimeName: string;
  now: number;
  /** The pod's containers are all stopped and will not run again (deleted, or done). */
  podIsTerminal: boolean;
  /**
   * The status the kubelet last set for the pod (upstream's status manager cache): where start time,
   * transition times and container histories come from, since the API's copy may lag behind the
   * kubelet's own writes. Conditions others own always come from the pod as the API has it.
   */
  previous?: PodStatus;
}

const time = (ms: number): string | null => (ms > 0 ? rfc3339(new Date(ms)) : null);

function containerId(runtimeName: string, id: string): string {
  return `${runtimeName}://${id}`;
}

function convertContainer(c: RuntimeContainer, runtimeName: string, old: ContainerStatus | undefined): ContainerStatus {
  const cid = containerId(runtimeName, c.id);
  const s: ContainerStatus = { name: c.name, state: {}, lastState: {}, ready: false, restartCount: c.restartCount, image: c.image, imageID: c.imageRef, containerID: cid };
  switch (c.state) {
    case 'running':
      s.state = { running: { startedAt: time(c.startedAt) } };
      break;
    case 'created':
      s.state = { waiting: {} };
      break;
    case 'exited':
      s.state = {
        terminated: { exitCode: c.exitCode, reason: c.reason || undefined, message: c.message || undefined, startedAt: time(c.startedAt), finishedAt: time(c.finishedAt), containerID: cid },
      };
      break;
    default:
      if (old?.state?.running) {
        s.state = { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' } };
        s.restartCount = old.restartCount + 1;
      } else s.state = { waiting: {} };
  }
  return s;
}

/** upstream's convertToAPIContainerStatuses for one list (init or regular containers). */
function containerStatuses(inp: StatusInputs, containers: readonly Container[], previous: readonly ContainerStatus[] | undefined, isInit: boolean): ContainerStatus[] {
  const { pod, state } = inp;
  const hasInit = (pod.spec.initContainers ?? []).length > 0;
  const old = new Map((previous ?? []).map((s) => [s.name, s]));
  const statuses = new Map<string, ContainerStatus>();
  for (const c of containers) {
    let s: ContainerStatus = {
      name: c.name,
      state: { waiting: { reason: hasInit ? 'PodInitializing' : 'ContainerCreating' } },
      lastState: {},
      ready: false,
      restartCount: 0,
      image: c.image ?? '',
      imageID: '',
    };
    const o = old.get(c.name);
    if (o) {
      if (o.state?.terminated) s = structuredClone(o);
      else {
        s.restartCount = o.restartCount;
        s.lastState = structuredClone(o.lastState ?? {});
      }
    }
    statuses.set(c.name, s);
  }
  const seen = new Map<string, number>();
  for (const rc of state.containers) {
    const cur = statuses.get(rc.name);
    if (!cur) continue;
    const n = seen.get(rc.name) ?? 0;
    if (n >= 2) continue;
    const converted = convertContainer(rc, inp.runtimeName, old.get(rc.name));
    if (n === 0) statuses.set(rc.name, converted);
    else cur.lastState = converted.state;
    seen.set(rc.name, n + 1);
  }
  for (const c of containers) {
    const sidecar = isInit && isSidecar(c);
    if (isInit && !sidecar) {
      const latest = state.containers.find((x) => x.name === c.name);
      if (latest?.state === 'exited' && latest.exitCode === 0) continue;
    }
    // Sidecars are started again whatever the pod's restart policy, until the pod is deleted.
    if (sidecar ? !!pod.metadata.deletionTimestamp : !shouldContainerBeRestarted(c, pod, state)) continue;
    const failure = inp.startFailures.get(c.name);
    if (!failure) continue;
    const s = statuses.get(c.name)!;
    if (s.state?.terminated) s.lastState = s.state;
    s.state = { waiting: { reason: failure.reason, message: failure.message || undefined } };
  }
  if (inp.podIsTerminal) {
    for (const s of statuses.values()) {
      if (!s.state?.waiting) continue;
      if (s.lastState?.terminated) s.state = { terminated: s.lastState.terminated };
      else s.state = { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' } };
    }
  }
  // ready and started, as the probe manager's UpdatePodStatus
  for (const c of containers) {
    const s = statuses.get(c.name)!;
    const id = s.containerID?.replace(/^[^:]+:\/\//, '') ?? '';
    if (isInit && !isSidecar(c)) {
      s.started = !!s.state?.running && (!c.startupProbe || inp.probes.startup(id) === 'success');
      s.ready = !!s.state?.terminated && s.state.terminated.exitCode === 0;
      continue;
    }
    const running = !!s.state?.running;
    const started = running && (!c.startupProbe || inp.probes.startup(id) === 'success');
    s.started = started;
    s.ready = started && !inp.podIsTerminal && (!c.readinessProbe || inp.probes.readiness(id) === 'success');
  }
  const out = containers.map((c) => statuses.get(c.name)!);
  // Regular containers are listed by name, init containers in the spec's order (as upstream).
  if (!isInit) out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const s of out) {
    if (s.lastState && Object.keys(s.lastState).length === 0) s.lastState = {};
  }
  return out;
}

/** upstream's getPhase. */
export function podPhase(pod: Pod, init: readonly ContainerStatus[], regular: readonly ContainerStatus[], podIsTerminal: boolean): NonNullable<PodStatus['phase']> {
  const spec = pod.spec;
  let pendingInit = 0;
  let failedInit = 0;
  const regularStarted = regular.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
  for (const c of spec.initContainers ?? []) {
    const s = init.find((x) => x.name === c.name);
    if (isSidecar(c)) {
      // A sidecar lets initialization go on once started; after that, its restarts do not matter.
      if (!regularStarted && !(s?.state?.running && s.started)) pendingInit++;
      continue;
    }
    if (!s) {
      pendingInit++;
      continue;
    }
    if (s.state?.running) pendingInit++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else pendingInit++;
    } else pendingInit++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.containers) {
    const s = regular.find((x) => x.name === c.name);
    if (!s) {
      unknown++;
      continue;
    }
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  const policy = spec.restartPolicy ?? 'Always';
  if (failedInit > 0 && policy === 'Never') return 'Failed';
  if (pendingInit > 0 || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

const goList = (xs: string[]): string => `[${xs.join(' ')}]`;

function cond(type: string, status: boolean, reason?: string, message?: string): PodCondition {
  const c: PodCondition = { type, status: status ? 'True' : 'False' };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

function initializedCondition(pod: Pod, init: readonly ContainerStatus[], regular: readonly ContainerStatus[], phase: string): PodCondition {
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of pod.spec.initContainers ?? []) {
    const s = init.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (isSidecar(c) ? !(s.state?.running && s.started) : !(s.state?.terminated && s.state.terminated.exitCode === 0)) incomplete.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return cond('Initialized', true, 'PodCompleted');
  if (regular.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated)) return cond('Initialized', true);
  const msgs: string[] = [];
  if (unknown.length) msgs.push(`containers with unknown status: ${goList(unknown)}`);
  if (incomplete.length) msgs.push(`containers with incomplete status: ${goList(incomplete)}`);
  if (msgs.length) return cond('Initialized', false, 'ContainersNotInitialized', msgs.join(', '));
  return cond('Initialized', true);
}

function containersReadyCondition(pod: Pod, init: readonly ContainerStatus[], regular: readonly ContainerStatus[], phase: string): PodCondition {
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const c of (pod.spec.initContainers ?? []).filter(isSidecar)) {
    const s = init.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  for (const c of pod.spec.containers) {
    const s = regular.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return cond('ContainersReady', false, 'PodCompleted');
  if (phase === 'Failed') return cond('ContainersReady', false, 'PodFailed');
  const msgs: string[] = [];
  if (unknown.length) msgs.push(`containers with unknown status: ${goList(unknown)}`);
  if (unready.length) msgs.push(`containers with unready status: ${goList(unready)}`);
  if (msgs.length) return cond('ContainersReady', false, 'ContainersNotReady', msgs.join(', '));
  return cond('ContainersReady', true);
}

/** upstream's GeneratePodReadyCondition: ContainersReady, then the readiness gates. */
function readyCondition(pod: Pod, containersReady: PodCondition, existing: readonly PodCondition[]): PodCondition {
  if (containersReady.status !== 'True') return { ...containersReady, type: 'Ready' };
  const unready: string[] = [];
  for (const g of pod.spec.readinessGates ?? []) {
    const c = existing.find((x) => x.type === g.conditionType);
    if (!c) unready.push(`corresponding condition of pod readiness gate "${g.conditionType}" does not exist.`);
    else if (c.status !== 'True') unready.push(`the status of pod readiness gate "${g.conditionType}" is not "True", but ${c.status}`);
  }
  if (unready.length) return cond('Ready', false, 'ReadinessGatesNotReady', unready.join(', '));
  return cond('Ready', true);
}

/**
 * The status to report. Conditions come in the order upstream's kubelet writes them, followed by the
 * conditions others own (PodScheduled, DisruptionTarget, readiness gates) as the API has them;
 * lastTransitionTime is kept from the API's condition when the status did not change.
 */
export function generatePodStatus(inp: StatusInputs): PodStatus {
  const { pod, state } = inp;
  const api = pod.status ?? {};
  const prev = inp.previous ?? api;
  const init = containerStatuses(inp, pod.spec.initContainers ?? [], prev.initContainerStatuses, true);
  const regular = containerStatuses(inp, pod.spec.containers, prev.containerStatuses, false);
  const phase = podPhase(pod, init, regular, inp.podIsTerminal);
  const existing = prev.conditions ?? [];
  const others = (api.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.includes(c.type));
  const containersReady = containersReadyCondition(pod, init, regular, phase);
  const kubelet: PodCondition[] = [
    cond('PodReadyToStartContainers', !podSandboxChanged(pod, state).changed),
    initializedCondition(pod, init, regular, phase),
    readyCondition(pod, containersReady, api.conditions ?? []),
    containersReady,
  ];
  const now = time(inp.now);
  const conditions: PodCondition[] = [];
  for (const c of kubelet) {
    const old = existing.find((x) => x.type === c.type);
    conditions.push({ ...c, lastTransitionTime: old && old.status === c.status ? (old.lastTransitionTime ?? now) : now });
  }
  for (const c of others) conditions.push(c);

  const status: PodStatus = {
    phase,
    conditions,
    hostIP: inp.hostIPs[0],
    hostIPs: inp.hostIPs.map((ip) => ({ ip })),
    startTime: prev.startTime ?? now,
    qosClass: podQosClass(pod),
  };
  let podIPs: string[];
  if (pod.spec.hostNetwork) podIPs = [...inp.hostIPs];
  else {
    const sb = state.sandboxes[0];
    podIPs = sb?.ready ? sb.ips : [];
    if (podIPs.length === 0 && prev.podIPs?.length && (inp.podIsTerminal || pod.metadata.deletionTimestamp)) podIPs = prev.podIPs.map((p) => p.ip);
  }
  if (podIPs.length) {
    status.podIP = podIPs[0];
    status.podIPs = podIPs.map((ip) => ({ ip }));
  }
  if (init.length) status.initContainerStatuses = init;
  status.containerStatuses = regular;
  if (api.nominatedNodeName) status.nominatedNodeName = api.nominatedNodeName;
  if (api.reason) status.reason = api.reason;
  if (api.message) status.message = api.message;
  return status;
}

/** Whether every container of the pod has stopped (none running, created or unknown). */
export function allContainersStopped(state: RuntimePodState): boolean {
  return state.containers.every((c) => c.state === 'exited');
}

export function isTerminalPhase(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** ContainerState for tests and callers that need to compare states. */
export type { ContainerState };

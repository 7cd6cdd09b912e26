// The heart of a pod sync, pure: given the pod as the API has it and what the runtime holds for it
// (and what the probes say), which sandbox and containers to kill and which to start — upstream's
// computePodActions (pkg/kubelet/kuberuntime/kuberuntime_manager.go), with init containers run in
// order one at a time. Executing the actions (and the back-off that may postpone a start) is
// pod-sync.ts's job.
import type { Container, Pod } from './api-types.ts';
import { hashContainer } from './labels.ts';
import { findContainer, type RuntimeContainer, type RuntimePodState } from './pod-state.ts';

export type KillReason = 'liveness' | 'startup' | 'unknown' | 'changed' | '';

export interface ContainerToKill {
  id: string;
  name: string;
  /** The event message (Killing); '' for the default "Stopping container <name>". */
  message: string;
  reason: KillReason;
}

export interface PodActions {
  /** Stop every container and the sandbox (before creating a new sandbox, or because nothing will run again). */
  killPod: boolean;
  createSandbox: boolean;
  /** The current sandbox (kept, or the one being replaced); '' when none. */
  sandboxId: string;
  /** The attempt number of the sandbox to create. */
  attempt: number;
  /**
   * Indexes of init containers to start: the next one in order, and sidecars (init containers with
   * restartPolicy Always) that must be (re)started.
   */
  initContainersToStart: number[];
  /** Indexes of regular containers to start. */
  containersToStart: number[];
  containersToKill: ContainerToKill[];
}

/** What the probe workers concluded for a running container; undefined when no result yet. */
export interface ProbeView {
  liveness(containerId: string): 'success' | 'failure' | undefined;
  startup(containerId: string): 'success' | 'failure' | undefined;
}

export const NO_PROBES: ProbeView = { liveness: () => undefined, startup: () => undefined };

/** upstream's PodSandboxChanged: whether a new sandbox is needed, its attempt, and the current one's id. */
export function podSandboxChanged(pod: Pod, state: RuntimePodState): { changed: boolean; attempt: number; sandboxId: string } {
  const latest = state.sandboxes[0];
  if (!latest) return { changed: true, attempt: 0, sandboxId: '' };
  const ready = state.sandboxes.filter((s) => s.ready).length;
  if (ready > 1 || !latest.ready) return { changed: true, attempt: latest.attempt + 1, sandboxId: latest.id };
  const wanted = pod.spec.hostNetwork ? 'NODE' : 'POD';
  if (latest.network !== wanted) return { changed: true, attempt: latest.attempt + 1, sandboxId: '' };
  if (!pod.spec.hostNetwork && latest.ips.length === 0) return { changed: true, attempt: latest.attempt + 1, sandboxId: latest.id };
  return { changed: false, attempt: latest.attempt, sandboxId: latest.id };
}

/** A sidecar: an init container with restartPolicy Always, kept running beside the containers. */
export function isSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

export function hasSidecars(pod: Pod): boolean {
  return (pod.spec.initContainers ?? []).some(isSidecar);
}

export function restartPolicy(pod: Pod): 'Always' | 'OnFailure' | 'Never' {
  return pod.spec.restartPolicy ?? 'Always';
}

function shouldRestartOnFailure(pod: Pod): boolean {
  return restartPolicy(pod) !== 'Never';
}

/** upstream's ShouldContainerBeRestarted. */
export function shouldContainerBeRestarted(container: Container, pod: Pod, state: RuntimePodState): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  const s = findContainer(state, container.name);
  if (!s) return true;
  if (s.state === 'running') return false;
  if (s.state === 'unknown' || s.state === 'created') return true;
  const policy = restartPolicy(pod);
  if (policy === 'Never') return false;
  if (policy === 'OnFailure' && s.exitCode === 0) return false;
  return true;
}

export function isInitContainerFailed(s: RuntimeContainer): boolean {
  if (s.reason === 'OOMKilled') return true;
  if (s.state === 'exited' && s.exitCode !== 0) return true;
  return s.state === 'unknown';
}

function containerSucceeded(c: Container, state: RuntimePodState): boolean {
  const s = findContainer(state, c.name);
  return !!s && s.state === 'exited' && s.exitCode === 0;
}

/**
 * upstream's findNextInitContainerToRun: the last failed init container's status (next is then that
 * container again), the index of the next one to run, and whether initialization is done.
 */
export function nextInitContainer(pod: Pod, state: RuntimePodState): { failed?: RuntimeContainer; next?: number; done: boolean } {
  const inits = pod.spec.initContainers ?? [];
  if (inits.length === 0) return { done: true };
  for (const c of pod.spec.containers) {
    if (findContainer(state, c.name)?.state === 'running') return { done: true };
  }
  for (let i = inits.length - 1; i >= 0; i--) {
    const s = findContainer(state, inits[i].name);
    if (s && isInitContainerFailed(s)) return { failed: s, next: i, done: false };
  }
  for (let i = inits.length - 1; i >= 0; i--) {
    const s = findContainer(state, inits[i].name);
    if (!s) continue;
    if (s.state === 'running') return { done: false };
    if (s.state === 'exited') return i === inits.length - 1 ? { done: true } : { next: i + 1, done: false };
  }
  return { next: 0, done: false };
}

/** upstream's computePodActions (classic init containers, no in-place resize). */
export function computePodActions(pod: Pod, state: RuntimePodState, probes: ProbeView = NO_PROBES): PodActions {
  const sb = podSandboxChanged(pod, state);
  const actions: PodActions = {
    killPod: sb.changed,
    createSandbox: sb.changed,
    sandboxId: sb.sandboxId,
    attempt: sb.attempt,
    initContainersToStart: [],
    containersToStart: [],
    containersToKill: [],
  };
  const containers = pod.spec.containers;
  const inits = pod.spec.initContainers ?? [];

  if (sb.changed) {
    if (!shouldRestartOnFailure(pod) && sb.attempt !== 0 && state.containers.length !== 0) {
      // A Never pod whose containers already ran gets no new sandbox: it is done.
      actions.createSandbox = false;
      return actions;
    }
    const toStart: number[] = [];
    containers.forEach((c, i) => {
      if (restartPolicy(pod) === 'OnFailure' && containerSucceeded(c, state)) return;
      toStart.push(i);
    });
    if (toStart.length === 0 && (hasSidecars(pod) ? containers.every((c) => !!findContainer(state, c.name)) : nextInitContainer(pod, state).done)) {
      actions.createSandbox = false;
      return actions;
    }
    if (inits.length > 0) {
      actions.initContainersToStart = [0];
      return actions;
    }
    actions.containersToStart = toStart;
    return actions;
  }

  if (hasSidecars(pod)) {
    if (!sidecarInitActions(pod, state, probes, actions)) return actions;
  } else {
    const init = nextInitContainer(pod, state);
    if (!init.done) {
      if (init.next !== undefined) {
        if (init.failed && !shouldRestartOnFailure(pod)) actions.killPod = true;
        else {
          if (init.failed?.state === 'unknown') {
            actions.containersToKill.push({ id: init.failed.id, name: inits[init.next].name, message: `Init container is in "Unknown" state, try killing it before restart`, reason: 'unknown' });
          }
          actions.initContainersToStart = [init.next];
        }
      }
      return actions;
    }
  }

  let keep = 0;
  containers.forEach((c, i) => {
    const s = findContainer(state, c.name);
    if (!s || s.state !== 'running') {
      if (shouldContainerBeRestarted(c, pod, state)) {
        actions.containersToStart.push(i);
        if (s?.state === 'unknown') {
          actions.containersToKill.push({ id: s.id, name: c.name, message: `Container is in "Unknown" state, try killing it before restart`, reason: 'unknown' });
        }
      }
      return;
    }
    let message: string;
    let reason: KillReason;
    let restart = shouldRestartOnFailure(pod);
    if (s.hash !== hashContainer(c)) {
      message = `Container ${c.name} definition changed`;
      reason = 'changed';
      restart = true;
    } else if (probes.liveness(s.id) === 'failure') {
      message = `Container ${c.name} failed liveness probe`;
      reason = 'liveness';
    } else if (probes.startup(s.id) === 'failure') {
      message = `Container ${c.name} failed startup probe`;
      reason = 'startup';
    } else {
      keep++;
      return;
    }
    if (restart) {
      message += ', will be restarted';
      actions.containersToStart.push(i);
    }
    actions.containersToKill.push({ id: s.id, name: c.name, message, reason });
  });
  if (keep === 0 && actions.containersToStart.length === 0) {
    actions.killPod = true;
    // Sidecars do not keep a finished pod alive.
    actions.initContainersToStart = [];
  }
  return actions;
}

/** Whether any regular container was created or runs: initialization happened before (upstream's podHasInitialized). */
function regularContainerStarted(pod: Pod, state: RuntimePodState): boolean {
  return pod.spec.containers.some((c) => {
    const s = findContainer(state, c.name)?.state;
    return s === 'created' || s === 'running';
  });
}

/**
 * Init containers of a pod with sidecars (upstream's computeInitContainerActions): in order, each
 * regular init container must succeed and each sidecar must be started (running, and past its
 * startup probe) before the next begins; sidecars that stop are started again, and running ones
 * that fail their liveness or startup probe, or whose spec changed, are restarted — for the whole
 * life of the pod. Answers whether initialization is done (the regular containers may run).
 */
function sidecarInitActions(pod: Pod, state: RuntimePodState, probes: ProbeView, actions: PodActions): boolean {
  const inits = pod.spec.initContainers ?? [];
  const initialized = regularContainerStarted(pod, state);
  const restartInit = (i: number, s: RuntimeContainer | undefined, message: string, reason: KillReason): void => {
    if (s && s.state !== 'exited') actions.containersToKill.push({ id: s.id, name: inits[i].name, message, reason });
    actions.initContainersToStart.push(i);
  };
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    const s = findContainer(state, c.name);
    if (isSidecar(c)) {
      if (!s || s.state !== 'running') {
        restartInit(i, s, `Init container is in "Unknown" state, try killing it before restart`, 'unknown');
        if (!initialized) return false;
        continue;
      }
      if (s.hash !== hashContainer(c)) {
        restartInit(i, s, `Init container ${c.name} definition changed`, 'changed');
        if (!initialized) return false;
        continue;
      }
      if (probes.liveness(s.id) === 'failure') {
        restartInit(i, s, `Init container ${c.name} failed liveness probe`, 'liveness');
        if (!initialized) return false;
        continue;
      }
      if (c.startupProbe && probes.startup(s.id) !== 'success') {
        if (probes.startup(s.id) === 'failure') restartInit(i, s, `Init container ${c.name} failed startup probe`, 'startup');
        if (!initialized) return false;
      }
      continue;
    }
    if (initialized) continue;
    if (!s) {
      actions.initContainersToStart.push(i);
      return false;
    }
    if (s.state === 'running') return false;
    if (s.state === 'exited' && !isInitContainerFailed(s)) continue;
    if (s.state === 'created' || s.state === 'unknown' || shouldRestartOnFailure(pod)) {
      restartInit(i, s, `Init container is in "Unknown" state, try killing it before restart`, 'unknown');
    } else actions.killPod = true;
    return false;
  }
  return true;
}

// What the runtime holds for one pod, in the kubelet's terms (upstream's kubecontainer.PodStatus):
// its sandboxes and containers, newest first, with what their labels and annotations say. Built
// from CRI answers by runtime-state.ts; read by the pure decisions (pod-actions.ts, pod-status.ts).
import type { LifecycleHandler } from './api-types.ts';
import { containerInfoFromAnnotations, CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from './labels.ts';
import { nanosToDate, type ContainerStatus as CriContainerStatus, type PodSandboxStatus } from './runtime/runtime.ts';

export type ContainerRunState = 'created' | 'running' | 'exited' | 'unknown';

export interface RuntimeContainer {
  id: string;
  sandboxId: string;
  name: string;
  state: ContainerRunState;
  /** Milliseconds since the epoch; 0 when not known. */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  /** The runtime's reason for an exited container (Completed, Error, OOMKilled, …). */
  reason: string;
  /** The runtime's message, with the termination message appended (see runtime-state.ts). */
  message: string;
  hash: string;
  restartCount: number;
  /** The image as the runtime names it (e.g. docker.io/library/busybox:1.36). */
  image: string;
  /** The image's id or digest reference (status imageID). */
  imageRef: string;
  type?: string;
  logPath: string;
  /** Host paths of the container's mounts by container path (to read the termination message). */
  mounts: Record<string, string>;
  /** From the annotations: what stopping it needs when the pod spec is gone. */
  preStop?: LifecycleHandler;
  podDeletionGracePeriod?: number;
  podTerminationGracePeriod?: number;
}

export interface RuntimeSandbox {
  id: string;
  ready: boolean;
  attempt: number;
  createdAt: number;
  /** The network namespace mode the sandbox runs with ('NODE' for host network). */
  network: string;
  ips: string[];
}

export interface RuntimePodState {
  uid: string;
  name: string;
  namespace: string;
  /** Newest first. */
  sandboxes: RuntimeSandbox[];
  /** Newest first. */
  containers: RuntimeContainer[];
}

export function emptyPodState(uid: string, name = '', namespace = ''): RuntimePodState {
  return { uid, name, namespace, sandboxes: [], containers: [] };
}

/** The latest container of that name (upstream's FindContainerStatusByName). */
export function findContainer(state: RuntimePodState, name: string): RuntimeContainer | undefined {
  return state.containers.find((c) => c.name === name);
}

export function runningContainers(state: RuntimePodState): RuntimeContainer[] {
  return state.containers.filter((c) => c.state === 'running' || c.state === 'unknown');
}

function ms(nanos: string | number | undefined): number {
  if (nanos === undefined || nanos === '' || nanos === '0' || nanos === 0) return 0;
  return nanosToDate(nanos).getTime();
}

const STATES: Record<string, ContainerRunState> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};

/** A CRI container status in the kubelet's terms (upstream's toKubeContainerStatus). */
export function fromCriContainerStatus(s: CriContainerStatus, sandboxId: string): RuntimeContainer {
  const a = containerInfoFromAnnotations(s.annotations);
  const state = STATES[s.state] ?? 'unknown';
  const mounts: Record<string, string> = {};
  for (const m of s.mounts ?? []) mounts[m.container_path] = m.host_path;
  return {
    id: s.id,
    sandboxId,
    name: s.labels?.[CONTAINER_NAME_LABEL] ?? s.metadata?.name ?? '',
    state,
    createdAt: ms(s.created_at),
    startedAt: state === 'created' ? 0 : ms(s.started_at),
    finishedAt: state === 'exited' ? ms(s.finished_at) : 0,
    exitCode: state === 'exited' ? s.exit_code : 0,
    reason: state === 'exited' ? s.reason : '',
    message: state === 'exited' ? s.message : '',
    hash: a.hash,
    restartCount: a.restartCount,
    image: s.image?.image ?? '',
    imageRef: s.image_id || s.image_ref,
    type: a.type,
    logPath: s.log_path,
    mounts,
    preStop: a.preStop,
    podDeletionGracePeriod: a.podDeletionGracePeriod,
    podTerminationGracePeriod: a.podTerminationGracePeriod,
  };
}

export function fromCriSandboxStatus(s: PodSandboxStatus): RuntimeSandbox {
  const ips: string[] = [];
  if (s.network?.ip) ips.push(s.network.ip);
  for (const a of s.network?.additional_ips ?? []) if (a.ip) ips.push(a.ip);
  return {
    id: s.id,
    ready: s.state === 'SANDBOX_READY',
    attempt: s.metadata?.attempt ?? 0,
    createdAt: ms(s.created_at),
    network: s.linux?.namespaces?.options?.network ?? 'POD',
    ips,
  };
}

export interface PodIdentity {
  uid: string;
  name: string;
  namespace: string;
}

export function podIdentityFromLabels(labels: Record<string, string> | undefined): PodIdentity | undefined {
  const uid = labels?.[POD_UID_LABEL];
  if (!uid) return undefined;
  return { uid, name: labels[POD_NAME_LABEL] ?? '', namespace: labels[POD_NAMESPACE_LABEL] ?? '' };
}

// Which container instance a log request reads, decided from the pod's status as upstream's
// kubelet does (validateContainerLogStatus), with its messages word for word.
import type { ContainerStatus, Pod } from '../api-types.ts';

export class LogTargetError extends Error {}

/** The runtime id in a status containerID ("containerd://abc" → "abc"). */
export function runtimeContainerId(containerID: string): string {
  const i = containerID.indexOf('://');
  return i >= 0 ? containerID.slice(i + 3) : containerID;
}

/** Whether the pod's spec has a container (regular, init or ephemeral) with that name. */
export function podHasContainer(pod: Pod, name: string): boolean {
  const spec = pod.spec as Pod['spec'] & { ephemeralContainers?: { name: string }[] };
  return [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])].some((c) => c.name === name);
}

/**
 * The containerID (as in the status, "<runtime>://<id>") whose log to read: with previous, the last
 * terminated instance; otherwise the running one, else the terminated one, else the last
 * terminated. Throws LogTargetError with upstream's message when there is none.
 */
export function logContainerId(pod: Pod, containerName: string, previous: boolean): string {
  const podName = pod.metadata.name ?? '';
  const st = pod.status as (Pod['status'] & { ephemeralContainerStatuses?: ContainerStatus[] }) | undefined;
  const all = [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? []), ...(st?.ephemeralContainerStatuses ?? [])];
  const cs = all.find((c) => c.name === containerName);
  const q = (s: string) => JSON.stringify(s);
  if (!cs) throw new LogTargetError(`container ${q(containerName)} in pod ${q(podName)} is not available`);
  const last = cs.lastState?.terminated as { containerID?: string } | undefined;
  const state = cs.state ?? {};
  const terminated = state.terminated as { containerID?: string } | undefined;
  if (previous) {
    if (!last?.containerID) throw new LogTargetError(`previous terminated container ${q(containerName)} in pod ${q(podName)} not found`);
    return last.containerID;
  }
  if (state.running) {
    if (cs.containerID) return cs.containerID;
  } else if (terminated) {
    // When the next instance did not start, the terminated state has no id: use the last one.
    if (terminated.containerID) return terminated.containerID;
    if (last?.containerID) return last.containerID;
    throw new LogTargetError(`container ${q(containerName)} in pod ${q(podName)} is terminated`);
  } else if (last) {
    if (!last.containerID) throw new LogTargetError(`container ${q(containerName)} in pod ${q(podName)} is terminated`);
    return last.containerID;
  } else if (state.waiting) {
    const reason = (state.waiting as { reason?: string }).reason ?? '';
    if (reason === 'ErrImagePull') throw new LogTargetError(`container ${q(containerName)} in pod ${q(podName)} is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff') throw new LogTargetError(`container ${q(containerName)} in pod ${q(podName)} is waiting to start: trying and failing to pull image`);
    throw new LogTargetError(`container ${q(containerName)} in pod ${q(podName)} is waiting to start: ${reason}`);
  }
  if (cs.containerID && state.running) return cs.containerID;
  throw new LogTargetError(`container ${q(containerName)} in pod ${q(podName)} is waiting to start - no logs yet`);
}

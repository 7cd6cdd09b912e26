// The kubelet's events, as upstream writes them (pkg/kubelet/events): about the pod, or about one of
// its containers through a reference with fieldPath spec.containers{name} /
// spec.initContainers{name}, so `kubectl describe pod` shows which container each concerns.
// Container IDs in messages are replaced by the container's name, as upstream's recordContainerEvent
// does, so repeated failures aggregate into one counted event.
import type { EventRecorder, ObjectReference } from '../client/events.ts';
import type { Pod } from './api-types.ts';

export type EventType = 'Normal' | 'Warning';

export function podRef(pod: Pod): ObjectReference {
  const ref: ObjectReference = { kind: 'Pod', apiVersion: 'v1', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  if (pod.metadata.resourceVersion) ref.resourceVersion = pod.metadata.resourceVersion;
  return ref;
}

/** upstream's GenerateContainerRef. */
export function containerRef(pod: Pod, containerName: string): ObjectReference {
  const isInit = (pod.spec.initContainers ?? []).some((c) => c.name === containerName);
  return { ...podRef(pod), fieldPath: isInit ? `spec.initContainers{${containerName}}` : `spec.containers{${containerName}}` };
}

export class KubeletEvents {
  readonly recorder: EventRecorder;
  constructor(recorder: EventRecorder) {
    this.recorder = recorder;
  }

  pod(pod: Pod, type: EventType, reason: string, message: string): void {
    this.recorder.event(podRef(pod), type, reason, message);
  }

  container(pod: Pod, containerName: string, type: EventType, reason: string, message: string, containerId?: string): void {
    const msg = containerId ? message.split(containerId).join(containerName) : message;
    this.recorder.event(containerRef(pod, containerName), type, reason, msg);
  }

  node(nodeName: string, nodeUid: string | undefined, type: EventType, reason: string, message: string): void {
    const ref: ObjectReference = { kind: 'Node', name: nodeName, uid: nodeName, apiVersion: 'v1' };
    void nodeUid;
    this.recorder.event(ref, type, reason, message);
  }
}

// The narrow view of the kubelet that its HTTPS server needs. The kubelet core implements it; the
// server never reaches further into the kubelet than this.
import type { Pod } from '../api-types.ts';

export interface PodLookup {
  /**
   * The pod with this namespace and name that this kubelet runs, carrying the freshest status the
   * kubelet has (its status manager's, else the API's); undefined when the pod is not on this
   * node. Container ids are read from status.containerStatuses (containerID, and
   * lastState.terminated.containerID for --previous), as upstream's kubelet does.
   */
  pod(namespace: string, name: string): Pod | undefined;
  /** Every pod bound to this node (GET /pods). */
  pods(): Pod[];
  /**
   * Optional: the CRI log file of a container instance, for instances the runtime no longer
   * reports (a previous container already removed). Without it, the runtime's ContainerStatus
   * log_path is the only source.
   */
  logPath?(namespace: string, podName: string, containerName: string, previous?: boolean): Promise<string | undefined>;
  /** Optional: the pod's ready sandbox; without it the server asks the runtime by the pod-uid label. */
  sandboxId?(namespace: string, podName: string): Promise<string | undefined>;
}

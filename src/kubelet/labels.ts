// What the kubelet writes on sandboxes and containers so that it (or a restarted kubelet) can tell
// whose they are and how they were made — upstream's labels and annotations
// (pkg/kubelet/kuberuntime/labels.go, pkg/kubelet/types/labels.go), read back by the same names.
import type { Container, ContainerPort, LifecycleHandler, Pod } from './api-types.ts';

export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';

export const POD_DELETION_GRACE_PERIOD = 'io.kubernetes.pod.deletionGracePeriod';
export const POD_TERMINATION_GRACE_PERIOD = 'io.kubernetes.pod.terminationGracePeriod';
export const CONTAINER_HASH = 'io.kubernetes.container.hash';
export const CONTAINER_RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const CONTAINER_TERMINATION_MESSAGE_PATH = 'io.kubernetes.container.terminationMessagePath';
export const CONTAINER_TERMINATION_MESSAGE_POLICY = 'io.kubernetes.container.terminationMessagePolicy';
export const CONTAINER_PRESTOP_HANDLER = 'io.kubernetes.container.preStopHandler';
export const CONTAINER_PORTS = 'io.kubernetes.container.ports';
export const CONTAINER_TYPE = 'io.kubernetes.container.type';

export type ContainerType = 'init' | 'container';

/** Sandbox labels: the pod's labels plus the three that say whose sandbox it is. */
export function podSandboxLabels(pod: Pod): Record<string, string> {
  return {
    ...(pod.metadata.labels ?? {}),
    [POD_NAME_LABEL]: pod.metadata.name ?? '',
    [POD_NAMESPACE_LABEL]: pod.metadata.namespace ?? '',
    [POD_UID_LABEL]: pod.metadata.uid ?? '',
  };
}

export function podSandboxAnnotations(pod: Pod): Record<string, string> {
  return { ...(pod.metadata.annotations ?? {}) };
}

export function containerLabels(pod: Pod, container: Container): Record<string, string> {
  return {
    [POD_NAME_LABEL]: pod.metadata.name ?? '',
    [POD_NAMESPACE_LABEL]: pod.metadata.namespace ?? '',
    [POD_UID_LABEL]: pod.metadata.uid ?? '',
    [CONTAINER_NAME_LABEL]: container.name,
  };
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** 32-bit FNV-1a over the UTF-8 bytes of s. */
function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The container's hash (hex), recorded at creation and compared at every sync: a running container
 * whose spec hashes differently is restarted ("definition changed"). Resources are left out, so a
 * resize never restarts a container. The same spec always gives the same hash, across kubelet
 * restarts, which is what adoption relies on.
 */
export function hashContainer(container: Container): string {
  const { resources: _r, ...rest } = container;
  return fnv1a32(canonicalJson(rest)).toString(16);
}

export function containerAnnotations(pod: Pod, container: Container, restartCount: number, type: ContainerType): Record<string, string> {
  const a: Record<string, string> = {
    [CONTAINER_HASH]: hashContainer(container),
    [CONTAINER_RESTART_COUNT]: String(restartCount),
    [CONTAINER_TERMINATION_MESSAGE_PATH]: container.terminationMessagePath ?? '',
    [CONTAINER_TERMINATION_MESSAGE_POLICY]: container.terminationMessagePolicy ?? '',
    [CONTAINER_TYPE]: type,
  };
  if (pod.metadata.deletionGracePeriodSeconds !== undefined) a[POD_DELETION_GRACE_PERIOD] = String(pod.metadata.deletionGracePeriodSeconds);
  if (pod.spec.terminationGracePeriodSeconds !== undefined) a[POD_TERMINATION_GRACE_PERIOD] = String(pod.spec.terminationGracePeriodSeconds);
  if (container.lifecycle?.preStop) a[CONTAINER_PRESTOP_HANDLER] = JSON.stringify(container.lifecycle.preStop);
  if (container.ports?.length) a[CONTAINER_PORTS] = JSON.stringify(container.ports);
  return a;
}

/** What a container's annotations say, read back (missing or malformed values as upstream: 0 / undefined). */
export interface AnnotatedContainerInfo {
  hash: string;
  restartCount: number;
  terminationMessagePath: string;
  terminationMessagePolicy: string;
  podDeletionGracePeriod?: number;
  podTerminationGracePeriod?: number;
  preStop?: LifecycleHandler;
  ports?: ContainerPort[];
  type?: string;
}

function intOf(s: string | undefined): number | undefined {
  if (s === undefined || !/^-?\d+$/.test(s)) return undefined;
  return Number(s);
}

function jsonOf<T>(s: string | undefined): T | undefined {
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s) as T;
  } catch {
    return undefined;
  }
}

export function containerInfoFromAnnotations(a: Record<string, string> | undefined): AnnotatedContainerInfo {
  const ann = a ?? {};
  return {
    hash: ann[CONTAINER_HASH] ?? '',
    restartCount: intOf(ann[CONTAINER_RESTART_COUNT]) ?? 0,
    terminationMessagePath: ann[CONTAINER_TERMINATION_MESSAGE_PATH] ?? '',
    terminationMessagePolicy: ann[CONTAINER_TERMINATION_MESSAGE_POLICY] ?? '',
    podDeletionGracePeriod: intOf(ann[POD_DELETION_GRACE_PERIOD]),
    podTerminationGracePeriod: intOf(ann[POD_TERMINATION_GRACE_PERIOD]),
    preStop: jsonOf<LifecycleHandler>(ann[CONTAINER_PRESTOP_HANDLER]),
    ports: jsonOf<ContainerPort[]>(ann[CONTAINER_PORTS]),
    type: ann[CONTAINER_TYPE],
  };
}

/** upstream's format.Pod: name_namespace(uid). */
export function formatPod(pod: { metadata: { name?: string; namespace?: string; uid?: string } }): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${pod.metadata.uid ?? ''})`;
}

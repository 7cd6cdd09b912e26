// Builders for tests (upstream's st.MakePod / st.MakeNode in spirit): compact pods and nodes in
// their v1 wire form, and a handle over a cache of them. Imported by *.test.ts and the bench only.

import { SchedulerCache } from './cache.ts';
import { loadSchedulerConfig, type ProfileConfig } from './config.ts';
import { Framework } from './framework/framework.ts';
import type { ClusterListers, Handle, PodBinder, PodNominatorView, VolumeBinderAPI } from './framework/interfaces.ts';
import { inTreeRegistry } from './plugins/registry.ts';
import type { Affinity, Node, Pod, Taint, Toleration, TopologySpreadConstraint, Volume } from './types.ts';

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  ephemeral?: string;
  scalar?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
  /** Leave out the kubernetes.io/hostname label. */
  noHostname?: boolean;
}

export function makeNode(name: string, o: NodeOpts = {}): Node {
  const alloc: Record<string, string> = { cpu: o.cpu ?? '4', memory: o.memory ?? '32Gi', pods: o.pods ?? '110', ...(o.ephemeral ? { 'ephemeral-storage': o.ephemeral } : {}), ...(o.scalar ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-node-${name}`, labels: { ...(o.noHostname ? {} : { 'kubernetes.io/hostname': name }), ...(o.labels ?? {}) } },
    spec: { ...(o.unschedulable ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
    status: { capacity: alloc, allocatable: alloc, ...(o.images ? { images: o.images } : {}) },
  };
}

export interface ContainerOpts {
  requests?: Record<string, string>;
  hostPorts?: { port: number; protocol?: string; ip?: string }[];
  image?: string;
  restartPolicy?: string;
}

export interface PodOpts {
  ns?: string;
  uid?: string;
  labels?: Record<string, string>;
  nodeName?: string;
  /** Requests of a single container (shorthand). */
  requests?: Record<string, string>;
  containers?: ContainerOpts[];
  initContainers?: ContainerOpts[];
  overhead?: Record<string, string>;
  priority?: number;
  preemptionPolicy?: string;
  tolerations?: Toleration[];
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  hostPorts?: { port: number; protocol?: string; ip?: string }[];
  spread?: TopologySpreadConstraint[];
  volumes?: Volume[];
  schedulerName?: string;
  nominatedNodeName?: string;
  startTime?: string;
  schedulingGates?: string[];
  deleting?: boolean;
  phase?: string;
  image?: string;
}

let uidSeq = 0;

function container(name: string, c: ContainerOpts): Record<string, unknown> {
  return {
    name,
    image: c.image ?? 'registry.k8s.io/pause:3.10',
    ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
    ...(c.requests ? { resources: { requests: c.requests } } : {}),
    ...(c.hostPorts ? { ports: c.hostPorts.map((p) => ({ containerPort: p.port, hostPort: p.port, protocol: p.protocol ?? 'TCP', ...(p.ip ? { hostIP: p.ip } : {}) })) } : {}),
  };
}

export function makePod(name: string, o: PodOpts = {}): Pod {
  const containers = o.containers ?? [{ ...(o.requests ? { requests: o.requests } : {}), ...(o.hostPorts ? { hostPorts: o.hostPorts } : {}), ...(o.image ? { image: o.image } : {}) }];
  const spec: Record<string, unknown> = {
    schedulerName: o.schedulerName ?? 'default-scheduler',
    containers: containers.map((c, i) => container(`c${i}`, c)),
  };
  if (o.initContainers) spec.initContainers = o.initContainers.map((c, i) => container(`init${i}`, c));
  if (o.overhead) spec.overhead = o.overhead;
  if (o.nodeName) spec.nodeName = o.nodeName;
  if (o.priority !== undefined) spec.priority = o.priority;
  if (o.preemptionPolicy) spec.preemptionPolicy = o.preemptionPolicy;
  if (o.tolerations) spec.tolerations = o.tolerations;
  if (o.nodeSelector) spec.nodeSelector = o.nodeSelector;
  if (o.affinity) spec.affinity = o.affinity;
  if (o.spread) spec.topologySpreadConstraints = o.spread;
  if (o.volumes) spec.volumes = o.volumes;
  if (o.schedulingGates) spec.schedulingGates = o.schedulingGates.map((g) => ({ name: g }));
  const status: Record<string, unknown> = { phase: o.phase ?? (o.nodeName ? 'Running' : 'Pending') };
  if (o.nominatedNodeName) status.nominatedNodeName = o.nominatedNodeName;
  if (o.startTime) status.startTime = o.startTime;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: o.uid ?? `uid-${name}-${++uidSeq}`,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    spec: spec as unknown as Pod['spec'],
    status: status as Pod['status'],
  };
}

/** A copy of the pod bound to nodeName (what the watch delivers after a binding). */
export function bound(pod: Pod, nodeName: string): Pod {
  return { ...pod, spec: { ...pod.spec, nodeName }, status: { ...pod.status, phase: 'Running' } };
}

export interface TestEnv {
  cache: SchedulerCache;
  handle: Handle;
}

export function testEnv(
  nodes: readonly Node[],
  pods: readonly Pod[] = [],
  o: { listers?: ClusterListers; nominator?: PodNominatorView; binder?: PodBinder; volumeBinder?: VolumeBinderAPI; random?: () => number; now?: () => number } = {},
): TestEnv {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  for (const p of pods) cache.addPod(p);
  const handle: Handle = {
    snapshot: () => cache.snapshot(),
    listers: o.listers ?? {},
    nominator: o.nominator,
    binder: o.binder,
    volumeBinder: o.volumeBinder,
    framework: undefined,
    random: o.random ?? (() => 0),
    now: o.now ?? (() => Date.UTC(2025, 0, 1)),
  };
  return { cache, handle };
}

/** A framework for one profile of the given configuration (default: upstream's defaults). */
export function testFramework(env: TestEnv, profile: ProfileConfig = {}): Framework {
  const settings = loadSchedulerConfig({ profiles: [profile] });
  return new Framework(settings.profiles[0]!, inTreeRegistry(), env.handle);
}

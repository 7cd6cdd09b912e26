// The objects and workloads of upstream's scheduler_perf (test/integration/scheduler_perf), in
// the shapes issue 4 measures at 5,000 nodes. Facts carried over from upstream's templates:
// - the node (node-default.yaml, and the runner's default node): capacity pods 110, cpu 4,
//   memory 32Gi (allocatable is defaulted from capacity by the API server), condition Ready=True,
//   phase Running; the node preparer labels each kubernetes.io/hostname=<its name>; TopologySpreading
//   labels nodes topology.kubernetes.io/zone = moon-1..3;
// - the pod (pod-default.yaml): one container "pause" with containerPort 80 and requests =
//   limits = 100m cpu / 500Mi memory;
// - anti-affinity (pod-with-pod-anti-affinity.yaml): label color=green, required anti-affinity
//   to color=green on kubernetes.io/hostname in namespaces sched-1 and sched-0;
// - spreading (pod-with-topology-spreading.yaml): label color=blue, maxSkew 5 on
//   topology.kubernetes.io/zone, DoNotSchedule, selecting color=blue.
// Upstream gives nodes and pods generateName; here names are explicit so the load generator can
// match watch events to creates without waiting for the create's answer.

export type Shape = 'basic' | 'anti-affinity' | 'spread';
export const SHAPES: readonly Shape[] = ['basic', 'anti-affinity', 'spread'];

export type PodTemplate = 'default' | 'anti-affinity' | 'spread';

export interface PodPhase {
  namespace: string;
  template: PodTemplate;
  count: number;
}

export interface Workload {
  /** upstream's test case and workload name. */
  name: string;
  nodes: number;
  /** Zone label values, assigned round-robin (upstream picks one at random per node). */
  zones?: string[];
  namespaces: string[];
  init: PodPhase;
  measured: PodPhase;
  /** upstream's threshold at 5,000 nodes as the issue quotes it (pods/s), and rudder's target. */
  upstreamThreshold: string;
  target: number;
}

export interface Sizes {
  nodes?: number;
  init?: number;
  measured?: number;
}

/** The workload of a shape; sizes override upstream's counts (for quick iterations, not the record). */
export function workload(shape: Shape, s: Sizes = {}): Workload {
  const nodes = s.nodes ?? 5000;
  switch (shape) {
    case 'basic':
      // SchedulingBasic/5000Nodes_10000Pods: createPods without a namespace use namespace-<op index>.
      return {
        name: 'SchedulingBasic/5000Nodes_10000Pods',
        nodes,
        namespaces: ['namespace-1', 'namespace-2'],
        init: { namespace: 'namespace-1', template: 'default', count: s.init ?? 1000 },
        measured: { namespace: 'namespace-2', template: 'default', count: s.measured ?? 10000 },
        upstreamThreshold: '270',
        target: 1000,
      };
    case 'anti-affinity':
      // SchedulingPodAntiAffinity/5000Nodes_2000Pods
      return {
        name: 'SchedulingPodAntiAffinity/5000Nodes_2000Pods',
        nodes,
        namespaces: ['sched-0', 'sched-1'],
        init: { namespace: 'sched-0', template: 'anti-affinity', count: s.init ?? 1000 },
        measured: { namespace: 'sched-1', template: 'anti-affinity', count: s.measured ?? 2000 },
        upstreamThreshold: '60',
        target: 300,
      };
    case 'spread':
      // TopologySpreading/5000Nodes_5000Pods
      return {
        name: 'TopologySpreading/5000Nodes_5000Pods',
        nodes,
        zones: ['moon-1', 'moon-2', 'moon-3'],
        namespaces: ['namespace-1', 'namespace-2'],
        init: { namespace: 'namespace-1', template: 'default', count: s.init ?? 5000 },
        measured: { namespace: 'namespace-2', template: 'spread', count: s.measured ?? 5000 },
        upstreamThreshold: '85-125',
        target: 300,
      };
  }
}

export function nodeObject(name: string, zone?: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(zone ? { 'topology.kubernetes.io/zone': zone } : {}) } },
    spec: {},
    status: {
      capacity: { pods: '110', cpu: '4', memory: '32Gi' },
      conditions: [{ type: 'Ready', status: 'True' }],
      phase: 'Running',
    },
  };
}

const pauseContainer = (image: string) => ({
  name: 'pause',
  image,
  ports: [{ containerPort: 80 }],
  resources: { limits: { cpu: '100m', memory: '500Mi' }, requests: { cpu: '100m', memory: '500Mi' } },
});

export function podObject(template: PodTemplate, namespace: string, name: string): Record<string, unknown> {
  const base = { apiVersion: 'v1', kind: 'Pod' };
  switch (template) {
    case 'default':
      return { ...base, metadata: { name, namespace }, spec: { containers: [pauseContainer('registry.k8s.io/pause:3.10.1')] } };
    case 'anti-affinity':
      return {
        ...base,
        metadata: { name, namespace, labels: { color: 'green' } },
        spec: {
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: { color: 'green' } }, topologyKey: 'kubernetes.io/hostname', namespaces: ['sched-1', 'sched-0'] },
              ],
            },
          },
          containers: [pauseContainer('registry.k8s.io/pause:3.10.2')],
        },
      };
    case 'spread':
      return {
        ...base,
        metadata: { name, namespace, labels: { color: 'blue' } },
        spec: {
          topologySpreadConstraints: [{ maxSkew: 5, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { color: 'blue' } } }],
          containers: [pauseContainer('registry.k8s.io/pause:3.10')],
        },
      };
  }
}

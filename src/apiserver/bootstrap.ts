// Objects every cluster has, created (or repaired) at start: the four built-in namespaces, the
// system PriorityClasses, and the `kubernetes` Service in `default` whose endpoints point at this
// server's --advertise-address (kept so on every start, as upstream's endpoint reconciler does).
import { StatusError } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import type { Registry } from './registry.ts';

export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export interface BootstrapOptions {
  advertiseAddress: string;
  port: number;
  kubernetesServiceIP: string;
  log: (msg: string) => void;
}

const SYSTEM = { name: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] };

async function ensure(reg: Registry, group: string, plural: string, namespace: string, obj: KObject, internal = false): Promise<void> {
  const r = reg.must(group, plural);
  const cur = await r.current(namespace, obj.metadata.name!);
  if (cur) return;
  try {
    await r.create(namespace, obj, { user: SYSTEM, internal });
  } catch (e) {
    if (e instanceof StatusError && e.code === 409) return;
    throw e;
  }
}

/** Creates or updates so that the object's listed fields equal `want`. */
async function reconcile(reg: Registry, group: string, plural: string, namespace: string, want: KObject, same: (cur: KObject) => boolean): Promise<void> {
  const r = reg.must(group, plural);
  const cur = await r.current(namespace, want.metadata.name!);
  if (!cur) return ensure(reg, group, plural, namespace, want, true);
  if (same(cur.obj)) return;
  await r.guaranteedUpdate(namespace, want.metadata.name!, (c) => ({ ...c, ...want, metadata: { ...c.metadata, labels: want.metadata.labels ?? c.metadata.labels } }), { user: SYSTEM, internal: true });
}

export async function bootstrap(reg: Registry, o: BootstrapOptions): Promise<void> {
  for (const ns of BUILTIN_NAMESPACES) {
    await ensure(reg, '', 'namespaces', '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  }
  for (const [name, value] of [['system-node-critical', 2000001000], ['system-cluster-critical', 2000000000]] as const) {
    await ensure(reg, 'scheduling.k8s.io', 'priorityclasses', '', {
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: { name },
      value,
      description: name === 'system-node-critical' ? 'Used for system critical pods that must not be moved from their current node.' : 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
      preemptionPolicy: 'PreemptLowerPriority',
    });
  }
  await ensure(reg, '', 'services', 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: o.kubernetesServiceIP,
      clusterIPs: [o.kubernetesServiceIP],
      ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: o.port }],
      sessionAffinity: 'None',
    },
  });
  const subsets = [{ addresses: [{ ip: o.advertiseAddress }], ports: [{ name: 'https', port: o.port, protocol: 'TCP' }] }];
  await reconcile(
    reg,
    '',
    'endpoints',
    'default',
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets,
    },
    (cur) => JSON.stringify(cur.subsets) === JSON.stringify(subsets),
  );
  const endpoints = [{ addresses: [o.advertiseAddress], conditions: { ready: true } }];
  const ports = [{ name: 'https', port: o.port, protocol: 'TCP' }];
  await reconcile(
    reg,
    'discovery.k8s.io',
    'endpointslices',
    'default',
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: 'IPv4',
      endpoints,
      ports,
    },
    (cur) => JSON.stringify(cur.endpoints) === JSON.stringify(endpoints) && JSON.stringify(cur.ports) === JSON.stringify(ports),
  );
  o.log(`bootstrap objects in place; kubernetes service ${o.kubernetesServiceIP} -> ${o.advertiseAddress}:${o.port}`);
}

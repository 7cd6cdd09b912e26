// Test support for controllers: an in-process API server with a controller-manager running the
// given controllers over the in-process transport, plus the small helpers upstream's integration
// tests use while no kubelet exists (Node objects, pod status written through the API).
import { Client } from '../client/client.ts';
import type { Clock } from '../client/clock.ts';
import { startTestApiServer } from '../apiserver/testing.ts';
import type { ApiServer } from '../apiserver/server.ts';
import type { KObject } from '../api/meta.ts';
import type { Transport } from '../api/transport.ts';
import type { Controller, ControllerManagerConfig } from './controller.ts';
import { startControllerManager, type ControllerManager } from './manager.ts';

export const TEST_CONFIG: ControllerManagerConfig = {
  clusterCidr: '10.42.0.0/16',
  nodeCidrMaskSize: 24,
  serviceCidr: '10.43.0.0/16',
  nodeMonitorGracePeriodMs: 50_000,
  nodeMonitorPeriodMs: 5_000,
  defaultNotReadyTolerationSeconds: 300,
  defaultUnreachableTolerationSeconds: 300,
  terminatedPodGCThreshold: 12_500,
  localPathRoot: '/var/lib/rudder/storage',
  rootCaCert: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  controllers: ['*'],
};

/**
 * The in-process connections a controller-manager uses, as rudder server wires them: the manager
 * as system:kube-controller-manager, each controller as its kube-system service account.
 */
export function controllerIdentities(server: ApiServer): { transport: Transport; transportFor(sa: string): Transport } {
  return {
    transport: server.localTransport({ name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, 'kube-controller-manager'),
    transportFor: (sa) =>
      server.localTransport(
        { name: `system:serviceaccount:kube-system:${sa}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
        `kube-controller-manager ${sa}`,
      ),
  };
}

export interface ControllerTestEnv {
  server: ApiServer;
  /** A client acting as the cluster admin (what tests use to create objects and read results). */
  client: Client;
  manager: ControllerManager;
  stop(): Promise<void>;
}

export async function startControllerTest(controllers: Controller[], o: { config?: Partial<ControllerManagerConfig>; clock?: Clock; log?: (m: string) => void } = {}): Promise<ControllerTestEnv> {
  // A fake clock is stepped by the test: each write must land before the next step.
  const api = await startTestApiServer({ fsyncInCommit: o.clock !== undefined });
  const admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
  const manager = startControllerManager({
    ...controllerIdentities(api.server),
    config: { ...TEST_CONFIG, ...o.config },
    controllers,
    clock: o.clock,
    leaderElect: false,
    log: o.log,
  });
  await manager.started();
  return {
    server: api.server,
    client: admin,
    manager,
    async stop() {
      await manager.stop();
      await api.stop();
    },
  };
}

/** A Ready node, as upstream's integration tests create them. */
export function readyNode(name: string, o: { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string> } = {}): KObject {
  const capacity = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...(o.labels ?? {}) } },
    spec: {},
    status: {
      capacity,
      allocatable: capacity,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    },
  };
}

/** Marks a pod Running and Ready (or not) through the status subresource, as a kubelet would. */
export async function setPodReady(client: Client, namespace: string, name: string, ready = true, podIP?: string): Promise<KObject> {
  const pods = client.resource('', 'pods').namespace(namespace);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = (type: string, status: boolean) => ({ type, status: status ? 'True' : 'False', lastTransitionTime: now });
  return pods.patch(
    name,
    'merge',
    {
      status: {
        phase: 'Running',
        ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
        startTime: now,
        conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', ready), cond('Ready', ready)],
      },
    },
    { subresource: 'status' },
  ) as Promise<KObject>;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { computeUsage, listToJSON, podRequestsAndLimits, podUsage, serviceUsage } from './usage.ts';

const pod = (name: string, o: { req?: Record<string, string>; lim?: Record<string, string>; phase?: string; init?: { req: Record<string, string>; sidecar?: boolean }[]; deadline?: number; priorityClassName?: string } = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns' },
  spec: {
    activeDeadlineSeconds: o.deadline,
    priorityClassName: o.priorityClassName,
    containers: [{ name: 'c', resources: { requests: o.req, limits: o.lim } }],
    initContainers: (o.init ?? []).map((i, n) => ({ name: `i${n}`, restartPolicy: i.sidecar ? 'Always' : undefined, resources: { requests: i.req } })),
  },
  status: { phase: o.phase ?? 'Running' },
});

test('pod requests: containers summed, init containers as a floor, sidecars added', () => {
  const p = pod('a', { req: { cpu: '100m', memory: '64Mi' }, init: [{ req: { cpu: '500m' } }, { req: { cpu: '50m' }, sidecar: true }] });
  const { requests } = podRequestsAndLimits(p);
  assert.equal(listToJSON(requests).cpu, '500m');
  assert.equal(listToJSON(requests).memory, '64Mi');
  const side = pod('b', { req: { cpu: '100m' }, init: [{ req: { cpu: '50m' }, sidecar: true }, { req: { cpu: '120m' } }] });
  assert.equal(listToJSON(podRequestsAndLimits(side).requests).cpu, '170m');
});

test('terminal pods charge nothing; running pods charge requests and limits', () => {
  assert.deepEqual(listToJSON(podUsage(pod('done', { req: { cpu: '1' }, phase: 'Succeeded' }), 0)), {});
  assert.deepEqual(listToJSON(podUsage(pod('r', { req: { cpu: '250m' }, lim: { cpu: '1', 'example.com/gpu': '1' } }), 0)), {
    'count/pods': '1',
    cpu: '250m',
    'limits.cpu': '1',
    pods: '1',
    'requests.cpu': '250m',
  });
});

test('services count node ports and load balancers', () => {
  const svc = (type: string, ports: number): KObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type, ports: Array.from({ length: ports }, (_, i) => ({ port: 80 + i })) } });
  assert.deepEqual(listToJSON(serviceUsage(svc('NodePort', 2))), { 'count/services': '1', services: '1', 'services.loadbalancers': '0', 'services.nodeports': '2' });
  assert.equal(listToJSON(serviceUsage(svc('LoadBalancer', 3)))['services.loadbalancers'], '1');
});

test('usage covers exactly the quota hard names, zero when nothing is charged, and honours scopes', () => {
  const objects = (pods: KObject[]) => ({ pods: () => pods, services: () => [], pvcs: () => [], count: (g: string, p: string) => (p === 'configmaps' ? 3 : g === 'apps' && p === 'deployments' ? 1 : undefined) });
  const quota = (hard: Record<string, string>, scopes?: string[]): KObject => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard, scopes } });
  const pods = [pod('a', { req: { cpu: '100m', memory: '64Mi' } }), pod('b', { req: { cpu: '200m', memory: '64Mi' }, deadline: 60 }), pod('c', { phase: 'Failed', req: { cpu: '5' } })];
  assert.deepEqual(listToJSON(computeUsage(quota({ pods: '10', 'requests.cpu': '2', 'requests.memory': '1Gi', services: '2', configmaps: '5', 'count/deployments.apps': '2', 'example.com/thing': '1' }), objects(pods), 0)), {
    configmaps: '3',
    'count/deployments.apps': '1',
    pods: '2',
    'requests.cpu': '300m',
    'requests.memory': '128Mi',
    services: '0',
  });
  assert.deepEqual(listToJSON(computeUsage(quota({ pods: '10', 'requests.cpu': '2' }, ['Terminating']), objects(pods), 0)), { pods: '1', 'requests.cpu': '200m' });
  assert.deepEqual(listToJSON(computeUsage(quota({ pods: '10', configmaps: '9' }, ['NotTerminating']), objects(pods), 0)), { configmaps: '0', pods: '1' });
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { readyNode, startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { assignIngress, serviceLBController } from './servicelb.ts';

let env: ControllerTestEnv;

before(async () => {
  // Upstream's RBAC role for this controller is system:controller:service-controller, bound to the
  // kube-system service account "service-controller": run it as that account (the manager maps
  // controller names to accounts in CONTROLLER_SERVICE_ACCOUNTS).
  env = await startControllerTest([{ ...serviceLBController, name: 'service-controller' }]);
});
after(async () => {
  await env.stop();
});

const nodes = () => env.client.resource('', 'nodes');
const services = () => env.client.resource('', 'services').namespace('default');

async function addNode(name: string, ip: string, ready = true): Promise<void> {
  await nodes().create(readyNode(name));
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await nodes().patch(
    name,
    'merge',
    {
      status: {
        addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    },
    { subresource: 'status' },
  );
}

async function setReady(name: string, ready: boolean): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await nodes().patch(name, 'strategic', { status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }] } }, { subresource: 'status' });
}

async function lb(name: string, port: number, extra: Record<string, unknown> = {}): Promise<KObject> {
  return services().create({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port, protocol: 'TCP', targetPort: 8080 }], ...extra } });
}

async function ingressOf(name: string): Promise<unknown[]> {
  const s = (await services().get(name)) as { status?: { loadBalancer?: { ingress?: unknown[] } } };
  return s.status?.loadBalancer?.ingress ?? [];
}

async function eventually(fn: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fn();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test('a LoadBalancer Service gets the Ready nodes’ InternalIPs as its ingress, with upstream’s events', async () => {
  await addNode('lb-n2', '192.168.7.20');
  await addNode('lb-n1', '192.168.7.3');
  await addNode('lb-down', '192.168.7.9', false);
  await lb('front', 80);
  await eventually(async () => assert.deepEqual(await ingressOf('front'), [{ ip: '192.168.7.3', ipMode: 'VIP' }, { ip: '192.168.7.20', ipMode: 'VIP' }]));
  await eventually(async () => {
    const evs = (await env.client.resource('', 'events').namespace('default').list()).items as Array<{ reason?: string; involvedObject?: { name?: string }; source?: { component?: string } }>;
    const mine = evs.filter((e) => e.involvedObject?.name === 'front');
    assert.deepEqual(mine.map((e) => e.reason).sort(), ['EnsuredLoadBalancer', 'EnsuringLoadBalancer']);
    assert.ok(mine.every((e) => e.source?.component === 'service-lb-controller'));
  });
});

test('the ingress follows nodes becoming Ready, NotReady, and going away', async () => {
  await setReady('lb-down', true);
  await eventually(async () => assert.deepEqual((await ingressOf('front')).map((i) => (i as { ip: string }).ip), ['192.168.7.3', '192.168.7.9', '192.168.7.20']));
  await setReady('lb-n1', false);
  await eventually(async () => assert.deepEqual((await ingressOf('front')).map((i) => (i as { ip: string }).ip), ['192.168.7.9', '192.168.7.20']));
  await nodes().delete('lb-n2');
  await eventually(async () => assert.deepEqual((await ingressOf('front')).map((i) => (i as { ip: string }).ip), ['192.168.7.9']));
  await setReady('lb-n1', true);
  await eventually(async () => assert.deepEqual((await ingressOf('front')).map((i) => (i as { ip: string }).ip), ['192.168.7.3', '192.168.7.9']));
});

test('a port an older LoadBalancer holds is not given to a younger one on the same node, until it is free', async () => {
  await lb('second', 80);
  await lb('other-port', 8443);
  await eventually(async () => assert.equal((await ingressOf('other-port')).length, 2));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await ingressOf('second'), [], 'port 80 is taken on every node');
  await services().delete('front');
  await eventually(async () => assert.equal((await ingressOf('second')).length, 2));
});

test('a Service with a loadBalancerClass is another implementation’s, and is left alone', async () => {
  await lb('classy', 9000, { loadBalancerClass: 'example.com/lb' });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await ingressOf('classy'), []);
});

test('a Service that stops being a LoadBalancer loses its ingress', async () => {
  await eventually(async () => assert.equal((await ingressOf('other-port')).length, 2));
  const cur = await services().get('other-port');
  const spec = cur.spec as Record<string, unknown> & { ports: Array<Record<string, unknown>> };
  await services().update({ ...cur, spec: { ...spec, type: 'ClusterIP', ports: spec.ports.map(({ nodePort: _n, ...p }) => p), externalTrafficPolicy: undefined, allocateLoadBalancerNodePorts: undefined } });
  await eventually(async () => assert.deepEqual(await ingressOf('other-port'), []));
});

test('assignIngress: address families follow the Service, ports by protocol, oldest first', () => {
  const node = (name: string, ips: string[]): KObject => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: ips.map((address) => ({ type: 'InternalIP', address })) },
  });
  const svc = (name: string, ts: string, ports: Array<{ port: number; protocol?: string }>, ipFamilies?: string[]): KObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name, creationTimestamp: ts },
    spec: { type: 'LoadBalancer', ports, ipFamilies },
  });
  const got = assignIngress(
    [svc('young', '2025-01-02T00:00:00Z', [{ port: 53, protocol: 'TCP' }]), svc('old', '2025-01-01T00:00:00Z', [{ port: 53, protocol: 'UDP' }], ['IPv4', 'IPv6']), svc('v6', '2025-01-03T00:00:00Z', [{ port: 443 }], ['IPv6'])],
    [node('a', ['10.0.0.2', 'fd00::2']), node('b', ['10.0.0.10'])],
  );
  assert.deepEqual(got.get('default/old')?.map((i) => i.ip), ['10.0.0.2', '10.0.0.10', 'fd00::2']);
  assert.deepEqual(got.get('default/young')?.map((i) => i.ip), ['10.0.0.2', '10.0.0.10'], 'TCP/53 does not clash with UDP/53');
  assert.deepEqual(got.get('default/v6')?.map((i) => i.ip), ['fd00::2']);
});

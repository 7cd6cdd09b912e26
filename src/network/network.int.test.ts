// Two nodes as network namespaces joined by a veth (no default route anywhere), a pod on each
// node's bridge, Node objects in a real API server, and on each node the pod network and the
// Service proxy as the agent runs them. Needs root.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer } from '../apiserver/testing.ts';
import { Client } from '../client/client.ts';
import { runnerNft } from '../proxy/nft.ts';
import { cleanupProxyRules, startProxy, type ProxyHandle } from '../proxy/proxy.ts';
import { mustRun } from './exec.ts';
import { TestNet, type HttpClient } from './netns-testing.ts';
import { MASQUERADE_TABLE, startNetwork, type NetworkHandle } from './network.ts';
import { ROUTE_PROTOCOL, type KernelRoute } from './routes.ts';

const A = { name: 'node-a', ip: '10.200.1.1', podCIDR: '10.42.1.0/24', gw: '10.42.1.1', pod: '10.42.1.2' };
const B = { name: 'node-b', ip: '10.200.1.2', podCIDR: '10.42.2.0/24', gw: '10.42.2.1', pod: '10.42.2.2' };

let net: TestNet;
const ns: Record<string, string> = {};
let api: Awaited<ReturnType<typeof startTestApiServer>>;
let admin: Client;
const networks: NetworkHandle[] = [];
const proxies: ProxyHandle[] = [];
let fromPodA: HttpClient;
let fromNodeA: HttpClient;

function client(user: string): Client {
  return new Client(api.server.localTransport({ name: user, groups: ['system:masters', 'system:authenticated'] }, user));
}

async function putNode(n: { name: string; ip: string; podCIDR: string }): Promise<void> {
  const nodes = admin.resource('', 'nodes');
  await nodes.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: n.name }, spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] } });
  await nodes.patch(n.name, 'merge', { status: { addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }] } }, { subresource: 'status' });
}

async function routes(nsName: string): Promise<KernelRoute[]> {
  return JSON.parse((await net.ip(nsName, '-j', 'route', 'show')) || '[]') as KernelRoute[];
}

async function eventually(fn: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fn();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

before(async () => {
  net = TestNet.create();
  ns.a = await net.ns('node-a');
  ns.b = await net.ns('node-b');
  await net.veth({ ns: ns.a, ifname: 'eth0', addr: `${A.ip}/24` }, { ns: ns.b, ifname: 'eth0', addr: `${B.ip}/24` });
  // node-d's address is behind a router as seen from node-a
  await net.ip(ns.a, 'route', 'add', '10.200.5.0/24', 'via', B.ip);
  for (const [key, n] of [['a', A], ['b', B]] as const) {
    // as the agent does
    for (const cidr of ['10.42.0.0/16', '10.43.0.0/16']) await net.ip(ns[key]!, 'route', 'add', 'blackhole', cidr);
    await net.bridge(ns[key]!, 'cni0', `${n.gw}/24`);
    ns[`pod-${key}`] = await net.pod(`pod-${key}`, { ns: ns[key]!, bridge: 'cni0', gateway: n.gw }, `${n.pod}/24`, ['10.42.0.0/16', '10.43.0.0/16', '10.200.0.0/16']);
  }
  await net.httpServer(ns['pod-b']!, 'podB', 8080);
  await net.httpServer(ns.b!, 'nodeB', 9090);
  fromPodA = await net.httpClient(ns['pod-a']!);
  fromNodeA = await net.httpClient(ns.a!);

  api = await startTestApiServer();
  admin = client('system:admin');
  await putNode(A);
  await putNode(B);
  await putNode({ name: 'node-c', ip: '10.200.9.9', podCIDR: '10.42.3.0/24' }); // no route to it at all
  await putNode({ name: 'node-d', ip: '10.200.5.5', podCIDR: '10.42.4.0/24' }); // only via a gateway
  for (const [key, n] of [['a', A], ['b', B]] as const) {
    const network = startNetwork({ client: client(`system:node:${n.name}`), nodeName: n.name, clusterCidr: '10.42.0.0/16', serviceCidr: '10.43.0.0/16', run: net.run(ns[key]!), resyncPeriodMs: 600_000 });
    networks.push(network);
    const proxy = startProxy({ client: client(`system:kube-proxy:${n.name}`), nodeName: n.name, nodeIPs: [n.ip], clusterCidr: '10.42.0.0/16', serviceCidr: '10.43.0.0/16', nft: runnerNft(net.run(ns[key]!)), minSyncPeriodMs: 0 });
    proxies.push(proxy);
    await network.ready();
    await proxy.ready();
  }
});

after(async () => {
  for (const p of proxies) await p.stop();
  for (const n of networks) await n.stop();
  for (const k of ['a', 'b']) if (ns[k]) await cleanupProxyRules(runnerNft(net.run(ns[k]!)));
  await api?.stop();
  await net?.cleanup();
});

test('each node routes the other’s pod CIDR via its InternalIP, and nothing via a gateway that is not on a local link', async () => {
  const ra = await routes(ns.a!);
  const ours = ra.filter((r) => r.protocol === ROUTE_PROTOCOL).map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`);
  assert.deepEqual(ours, ['10.42.2.0/24 via 10.200.1.2 dev eth0']);
  assert.deepEqual(networks[0]!.status.skipped.map((s) => s.node).sort(), ['node-c', 'node-d']);
  // the agent's blackholes are untouched and still catch everything else
  assert.deepEqual(ra.filter((r) => r.type === 'blackhole').map((r) => r.dst).sort(), ['10.42.0.0/16', '10.43.0.0/16']);
  const rb = await routes(ns.b!);
  assert.deepEqual(rb.filter((r) => r.protocol === ROUTE_PROTOCOL).map((r) => `${r.dst} via ${r.gateway}`), ['10.42.1.0/24 via 10.200.1.1']);
});

test('a pod reaches a pod on the other node by its IP, without NAT', async () => {
  const r = await fromPodA.get(B.pod, 8080);
  assert.equal(r.body, `podB ${A.pod}`);
});

test('a pod reaching outside the cluster CIDR is masqueraded to its node', async () => {
  const r = await fromPodA.get(B.ip, 9090);
  assert.equal(r.body, `nodeB ${A.ip}`);
  const table = await mustRun(net.run(ns.a!), 'nft', ['list', 'table', 'ip', MASQUERADE_TABLE]);
  assert.match(table, /masquerade fully-random/);
});

test('a pod reaches a Service whose endpoint is on the other node; so does the node itself', async () => {
  const services = admin.resource('', 'services').namespace('default');
  await services.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'remote' }, spec: { clusterIP: '10.43.0.30', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } });
  await admin.resource('discovery.k8s.io', 'endpointslices').namespace('default').create({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'remote-1', labels: { 'kubernetes.io/service-name': 'remote' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: [B.pod], nodeName: B.name, conditions: { ready: true } }],
  });
  await eventually(async () => assert.equal((await fromPodA.get('10.43.0.30', 80, 2000)).body, `podB ${A.pod}`));
  // host-originated: the service CIDR's local route lets the connect happen, the proxy DNATs in output
  await eventually(async () => assert.equal((await fromNodeA.get('10.43.0.30', 80, 2000)).body, `podB ${A.ip}`));
  // a VIP nothing serves still dies on the node (refused: it is in the service CIDR)
  const r = await fromNodeA.get('10.43.0.99', 80, 2000);
  assert.notEqual(r.ok, true);
});

test('routes follow nodes: a node going away takes its route with it, a node becoming reachable gets one', async () => {
  const nodes = admin.resource('', 'nodes');
  await nodes.delete(B.name);
  await eventually(async () => assert.deepEqual((await routes(ns.a!)).filter((r) => r.protocol === ROUTE_PROTOCOL), []));
  await putNode(B);
  await eventually(async () => assert.deepEqual((await routes(ns.a!)).filter((r) => r.protocol === ROUTE_PROTOCOL).map((r) => r.dst), ['10.42.2.0/24']));
  // node-d moves to an address on node-a's link
  await nodes.patch('node-d', 'merge', { status: { addresses: [{ type: 'InternalIP', address: '10.200.1.4' }] } }, { subresource: 'status' });
  await eventually(async () =>
    assert.deepEqual(
      (await routes(ns.a!)).filter((r) => r.protocol === ROUTE_PROTOCOL).map((r) => `${r.dst} via ${r.gateway}`).sort(),
      ['10.42.2.0/24 via 10.200.1.2', '10.42.4.0/24 via 10.200.1.4'],
    ),
  );
  // a route changed behind the agent's back is put right by the next pass
  await net.ip(ns.a!, 'route', 'del', '10.42.2.0/24', 'proto', ROUTE_PROTOCOL);
  await networks[0]!.resync();
  assert.ok((await routes(ns.a!)).some((r) => r.dst === '10.42.2.0/24' && r.gateway === B.ip));
});

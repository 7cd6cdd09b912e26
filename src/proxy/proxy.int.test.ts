// The proxy against a real API server and real nftables: a node, three pods on its bridge and an
// outside client, all network namespaces this test creates (no default route anywhere), HTTP
// servers in the pods, and connections made from the client and from pods. Needs root.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer } from '../apiserver/testing.ts';
import { Client } from '../client/client.ts';
import type { KObject } from '../api/meta.ts';
import { ensureSysctl } from '../network/exec.ts';
import { TestNet, type HttpClient, type HttpResult } from '../network/netns-testing.ts';
import { runnerNft } from './nft.ts';
import { cleanupProxyRules, startProxy, type ProxyHandle } from './proxy.ts';

const NODE_IP = '10.200.0.1';
const POD = { pod1: '10.42.1.2', pod2: '10.42.1.3', pod3: '10.42.1.4' } as const;

let net: TestNet;
let nodeNs: string;
let api: Awaited<ReturnType<typeof startTestApiServer>>;
let admin: Client;
let proxy: ProxyHandle;
let fromClient: HttpClient;
let fromPod1: HttpClient;
let fromPod3: HttpClient;

before(async () => {
  net = TestNet.create();
  nodeNs = await net.ns('node');
  const clientNs = await net.ns('client');
  await net.bridge(nodeNs, 'cni0', '10.42.1.1/24');
  await net.veth({ ns: nodeNs, ifname: 'eth1', addr: `${NODE_IP}/24` }, { ns: clientNs, ifname: 'eth0', addr: '10.200.0.2/24' });
  for (const cidr of ['10.43.0.0/16', '10.42.0.0/16']) await net.ip(clientNs, 'route', 'add', cidr, 'via', NODE_IP);
  // as the agent does: whatever no more specific route serves dies on the node
  for (const cidr of ['10.42.0.0/16', '10.43.0.0/16']) await net.ip(nodeNs, 'route', 'add', 'blackhole', cidr);
  await ensureSysctl(net.run(nodeNs), 'net/ipv4/ip_forward', '1');
  await ensureSysctl(net.run(nodeNs), 'net/bridge/bridge-nf-call-iptables', '1');
  const node = { ns: nodeNs, bridge: 'cni0', gateway: '10.42.1.1' };
  const pods: Record<string, string> = {};
  for (const [name, ip] of Object.entries(POD)) {
    pods[name] = await net.pod(name, node, `${ip}/24`, ['10.43.0.0/16', '10.200.0.0/24']);
    await net.httpServer(pods[name]!, name, 8080);
  }
  // a host-network endpoint on the node, as the API server behind the `kubernetes` Service
  await net.httpServer(nodeNs, 'apiserver', 6443);
  fromClient = await net.httpClient(clientNs);
  fromPod1 = await net.httpClient(pods.pod1!);
  fromPod3 = await net.httpClient(pods.pod3!);

  api = await startTestApiServer();
  admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
  proxy = startProxy({
    client: new Client(api.server.localTransport({ name: 'system:kube-proxy', groups: ['system:masters', 'system:authenticated'] }, 'kube-proxy')),
    nodeName: 'node-a',
    nodeIPs: [NODE_IP],
    clusterCidr: '10.42.0.0/16',
    serviceCidr: '10.43.0.0/16',
    nft: runnerNft(net.run(nodeNs)),
    minSyncPeriodMs: 0,
  });
  await proxy.ready();
});

after(async () => {
  await proxy?.stop();
  if (nodeNs) await cleanupProxyRules(runnerNft(net.run(nodeNs)));
  await api?.stop();
  await net?.cleanup();
});

const services = () => admin.resource('', 'services').namespace('default');
const slices = () => admin.resource('discovery.k8s.io', 'endpointslices').namespace('default');

interface Ep {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

async function createService(name: string, spec: Record<string, unknown>, eps?: Ep[], targetPort = 8080): Promise<KObject> {
  const svc = await services().create({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort }], ...spec } });
  if (eps) await setEndpoints(name, eps, targetPort);
  return svc;
}

async function setEndpoints(svc: string, eps: Ep[], targetPort = 8080): Promise<void> {
  const body = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-1`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: targetPort, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node ?? 'node-a',
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
  try {
    const cur = await slices().get(`${svc}-1`);
    await slices().update({ ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } });
  } catch {
    await slices().create(body);
  }
}

/** Asks until check passes (rules are written asynchronously after API writes). */
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

async function many(c: HttpClient, host: string, port: number, n: number, timeoutMs = 3000): Promise<HttpResult[]> {
  const out: HttpResult[] = [];
  for (let i = 0; i < n; i++) out.push(await c.get(host, port, timeoutMs));
  return out;
}

const who = (r: HttpResult) => (r.ok ? r.body!.split(' ')[0] : `error:${r.code}`);
const seenBy = (r: HttpResult) => (r.ok ? r.body!.split(' ')[1] : undefined);
const tally = (rs: HttpResult[]) => {
  const m: Record<string, number> = {};
  for (const r of rs) m[who(r)] = (m[who(r)] ?? 0) + 1;
  return m;
};

test('a connection to a ClusterIP lands on a ready endpoint, spread over all of them', async () => {
  await createService('web', { clusterIP: '10.43.0.10' }, [{ ip: POD.pod1 }, { ip: POD.pod2 }, { ip: POD.pod3, ready: false }]);
  await eventually(async () => assert.equal((await fromClient.get('10.43.0.10', 80)).ok, true));
  const t = tally(await many(fromClient, '10.43.0.10', 80, 40));
  assert.deepEqual(Object.keys(t).sort(), ['pod1', 'pod2'], JSON.stringify(t));
});

test('a pod reaching a Service on its own node keeps its source address (no masquerade inside the cluster)', async () => {
  await eventually(async () => assert.equal((await fromPod3.get('10.43.0.10', 80)).ok, true));
  for (const r of await many(fromPod3, '10.43.0.10', 80, 6)) {
    assert.ok(['pod1', 'pod2'].includes(who(r)), who(r));
    assert.equal(seenBy(r), POD.pod3);
  }
});

test('a Service without endpoints refuses connections at once instead of black-holing them', async () => {
  await createService('empty', { clusterIP: '10.43.0.11' });
  await eventually(async () => assert.equal((await fromClient.get('10.43.0.11', 80, 2000)).code, 'ECONNREFUSED'));
  const fromOutside = await fromClient.get('10.43.0.11', 80, 5000);
  const fromPod = await fromPod1.get('10.43.0.11', 80, 5000);
  for (const r of [fromOutside, fromPod]) {
    assert.equal(r.code, 'ECONNREFUSED');
    assert.ok(r.ms < 1000, `took ${r.ms} ms`);
  }
  // a port the ClusterIP does not serve is refused too
  assert.equal((await fromClient.get('10.43.0.10', 81, 5000)).code, 'ECONNREFUSED');
});

test('endpoint changes reach the rules: traffic follows the new endpoints', async () => {
  const before = proxy.syncs.partialSyncs;
  await setEndpoints('web', [{ ip: POD.pod3 }]);
  await eventually(async () => assert.deepEqual(tally(await many(fromClient, '10.43.0.10', 80, 8)), { pod3: 8 }));
  assert.ok(proxy.syncs.partialSyncs > before, 'written as a partial sync');
  // terminating endpoints serve only when no endpoint is ready
  await setEndpoints('web', [{ ip: POD.pod1, ready: false, serving: true, terminating: true }, { ip: POD.pod2 }]);
  await eventually(async () => assert.deepEqual(tally(await many(fromClient, '10.43.0.10', 80, 8)), { pod2: 8 }));
  await setEndpoints('web', [{ ip: POD.pod1, ready: false, serving: true, terminating: true }]);
  await eventually(async () => assert.deepEqual(tally(await many(fromClient, '10.43.0.10', 80, 8)), { pod1: 8 }));
  await setEndpoints('web', [{ ip: POD.pod1 }, { ip: POD.pod2 }]);
});

test('a NodePort answers on the node address, masqueraded towards the endpoint', async () => {
  await createService('np', { type: 'NodePort', clusterIP: '10.43.0.14', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }] }, [{ ip: POD.pod1 }, { ip: POD.pod2 }]);
  await eventually(async () => assert.equal((await fromClient.get(NODE_IP, 30080)).ok, true));
  const rs = await many(fromClient, NODE_IP, 30080, 20);
  assert.deepEqual(Object.keys(tally(rs)).sort(), ['pod1', 'pod2']);
  for (const r of rs) assert.equal(seenBy(r), '10.42.1.1', 'source is the node (masquerade)');
});

test('session affinity ClientIP keeps a client on one endpoint', async () => {
  await createService('sticky', { clusterIP: '10.43.0.12', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, [{ ip: POD.pod1 }, { ip: POD.pod2 }]);
  await eventually(async () => assert.equal((await fromClient.get('10.43.0.12', 80)).ok, true));
  const t = tally(await many(fromClient, '10.43.0.12', 80, 20));
  assert.equal(Object.keys(t).length, 1, JSON.stringify(t));
  assert.ok(['pod1', 'pod2'].includes(Object.keys(t)[0]!));
});

test('hairpin: a pod reaches itself through its Service (masqueraded, so the reply comes back the same way)', async () => {
  await createService('self', { clusterIP: '10.43.0.13' }, [{ ip: POD.pod1 }]);
  await eventually(async () => assert.equal((await fromPod1.get('10.43.0.13', 80, 2000)).ok, true));
  const r = await fromPod1.get('10.43.0.13', 80);
  assert.equal(who(r), 'pod1');
  assert.equal(seenBy(r), '10.42.1.1');
});

test('a Service whose endpoint is a host-network address on the node (the kubernetes Service) is reachable from pods', async () => {
  await createService('apiserver', { clusterIP: '10.43.0.20', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] });
  await slices().create({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'apiserver', labels: { 'kubernetes.io/service-name': 'apiserver' } },
    addressType: 'IPv4',
    ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
    endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
  });
  await eventually(async () => assert.equal(who(await fromPod1.get('10.43.0.20', 443)), 'apiserver'));
});

test('externalTrafficPolicy Local: NodePort traffic goes to this node’s endpoints only, and is dropped without one', async () => {
  await createService(
    'local',
    { type: 'NodePort', clusterIP: '10.43.0.15', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30081 }] },
    [{ ip: POD.pod2 }, { ip: '10.42.2.2', node: 'node-b' }],
  );
  await eventually(async () => assert.equal(who(await fromClient.get(NODE_IP, 30081)), 'pod2'));
  const rs = await many(fromClient, NODE_IP, 30081, 12);
  assert.deepEqual(tally(rs), { pod2: 12 });
  for (const r of rs) assert.equal(seenBy(r), '10.200.0.2', 'the client address is preserved');
  await setEndpoints('local', [{ ip: '10.42.2.2', node: 'node-b' }]);
  await eventually(async () => assert.equal((await fromClient.get(NODE_IP, 30081, 1000)).code, 'ETIMEDOUT'));
});

test('internalTrafficPolicy Local: ClusterIP traffic goes to this node’s endpoints only', async () => {
  await createService('itp', { clusterIP: '10.43.0.16', internalTrafficPolicy: 'Local' }, [{ ip: POD.pod2 }, { ip: '10.42.2.2', node: 'node-b' }]);
  await eventually(async () => assert.equal(who(await fromPod3.get('10.43.0.16', 80)), 'pod2'));
  assert.deepEqual(tally(await many(fromPod3, '10.43.0.16', 80, 10)), { pod2: 10 });
});

test('a LoadBalancer ingress IP answers on the Service port', async () => {
  const svc = await createService('lb', { type: 'LoadBalancer', clusterIP: '10.43.0.17', ports: [{ name: 'http', port: 8081, protocol: 'TCP', targetPort: 8080 }] }, [{ ip: POD.pod1 }]);
  await services().patch(svc.metadata.name!, 'merge', { status: { loadBalancer: { ingress: [{ ip: NODE_IP, ipMode: 'VIP' }] } } }, { subresource: 'status' });
  await eventually(async () => assert.equal(who(await fromClient.get(NODE_IP, 8081)), 'pod1'));
});

test('a deleted Service stops answering', async () => {
  await services().delete('self');
  await eventually(async () => assert.notEqual((await fromPod1.get('10.43.0.13', 80, 1000)).ok, true));
});

test('a full resync over the live table keeps every Service working', async () => {
  const before = proxy.syncs.fullSyncs;
  proxy.syncNow(true);
  await eventually(async () => assert.ok(proxy.syncs.fullSyncs > before, `full syncs ${proxy.syncs.fullSyncs}, last error ${proxy.syncs.lastError}`));
  assert.equal(proxy.syncs.lastError, undefined);
  assert.ok(['pod1', 'pod2'].includes(who(await fromClient.get('10.43.0.10', 80))));
  assert.equal((await fromClient.get('10.43.0.11', 80, 2000)).code, 'ECONNREFUSED');
});

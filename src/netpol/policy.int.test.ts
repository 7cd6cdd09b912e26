// NetworkPolicy enforcement against a real API server and real nftables: a node namespace with a
// pod bridge, three pods as namespaces on it (x/a, x/b, y/c) running HTTP servers, all created by
// this test (no default route anywhere, cleaned up after). Policies written through the API must
// block and admit new TCP connections as upstream's semantics say, while replies and the node's
// own connections (kubelet probes) pass. Needs root.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer } from '../apiserver/testing.ts';
import { Client } from '../client/client.ts';
import type { KObject } from '../api/meta.ts';
import { ensureSysctl, mustRun } from '../network/exec.ts';
import { TestNet, type HttpClient } from '../network/netns-testing.ts';
import { runnerNft } from '../proxy/nft.ts';
import { TABLE } from './model.ts';
import { cleanupNetworkPolicyRules, startNetworkPolicy, type NetworkPolicyHandle } from './policy.ts';

const IP = { a: '10.42.1.2', b: '10.42.1.3', c: '10.42.1.4' } as const;

let net: TestNet;
let nodeNs: string;
let api: Awaited<ReturnType<typeof startTestApiServer>>;
let admin: Client;
let enforcer: NetworkPolicyHandle;
const from: Record<string, HttpClient> = {};

async function createPod(ns: string, name: string, ip: string, labels: Record<string, string>): Promise<void> {
  const pods = admin.resource('', 'pods').namespace(ns);
  const created = await pods.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { nodeName: 'node-a', containers: [{ name: 'srv', image: 'registry.rudder.test/server:1', ports: [{ name: 'http', containerPort: 8080 }, { name: 'admin', containerPort: 9090 }] }] },
  } as KObject);
  await pods.updateStatus({ ...created, status: { ...(created as { status?: object }).status, phase: 'Running', podIP: ip, podIPs: [{ ip }] } } as KObject);
}

before(async () => {
  net = TestNet.create();
  nodeNs = await net.ns('node');
  await net.bridge(nodeNs, 'cni0', '10.42.1.1/24');
  await ensureSysctl(net.run(nodeNs), 'net/ipv4/ip_forward', '1');
  await ensureSysctl(net.run(nodeNs), 'net/bridge/bridge-nf-call-iptables', '1');
  const node = { ns: nodeNs, bridge: 'cni0', gateway: '10.42.1.1' };
  for (const [name, ip] of Object.entries(IP)) {
    const ns = await net.pod(name, node, `${ip}/24`, []);
    await net.httpServer(ns, name, 8080);
    await net.httpServer(ns, `${name}-admin`, 9090);
    from[name] = await net.httpClient(ns);
  }
  from.node = await net.httpClient(nodeNs);

  api = await startTestApiServer();
  admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
  for (const ns of ['x', 'y']) {
    await admin.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: ns } } } as KObject);
    // no controllers run here: the service account admission wants the namespace's default account
    await admin.resource('', 'serviceaccounts').namespace(ns).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } } as KObject);
  }
  await createPod('x', 'a', IP.a, { app: 'a' });
  await createPod('x', 'b', IP.b, { app: 'b' });
  await createPod('y', 'c', IP.c, { app: 'c' });
  enforcer = startNetworkPolicy({
    client: new Client(api.server.localTransport({ name: 'system:node:node-a', groups: ['system:masters', 'system:authenticated'] }, 'netpol')),
    nodeName: 'node-a',
    nft: runnerNft(net.run(nodeNs)),
    minSyncPeriodMs: 0,
  });
  await enforcer.ready();
});

after(async () => {
  await enforcer?.stop();
  if (nodeNs) await cleanupNetworkPolicyRules(runnerNft(net.run(nodeNs)));
  await api?.stop();
  await net?.cleanup();
});

const policies = (ns: string) => admin.resource('networking.k8s.io', 'networkpolicies').namespace(ns);

async function applyPolicy(ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await policies(ns).create({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec } as KObject);
}

/** "ok" or the error code of a new connection from `src` to `dst`:port. */
async function connect(src: string, dst: keyof typeof IP, port = 8080): Promise<string> {
  const r = await from[src]!.get(IP[dst], port, 800);
  return r.ok ? 'ok' : (r.code ?? 'failed');
}

/** Waits until every probe gives its expected outcome (rules are written asynchronously after API writes). */
async function expectReach(want: Record<string, 'ok' | 'blocked'>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got: Record<string, string> = {};
    for (const key of Object.keys(want)) {
      const [src, rest] = key.split(' -> ');
      const [dst, port] = rest!.split(':');
      got[key] = (await connect(src!, dst as keyof typeof IP, Number(port ?? 8080))) === 'ok' ? 'ok' : 'blocked';
    }
    if (JSON.stringify(got) === JSON.stringify(want) || Date.now() > deadline) {
      assert.deepEqual(got, want);
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('without policies every pod reaches every other', async () => {
  await expectReach({ 'b -> a': 'ok', 'c -> a': 'ok', 'a -> c': 'ok' });
});

test('a default-deny ingress policy blocks new connections to the namespace pods, but not their replies nor the node', async () => {
  await applyPolicy('x', 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] });
  await expectReach({
    'b -> a': 'blocked',
    'c -> a': 'blocked',
    'a -> b': 'blocked',
    // a is isolated for ingress only: its own connections out, and their replies, pass
    'a -> c': 'ok',
    // the node reaches its pods (kubelet probes)
    'node -> a': 'ok',
    'node -> b:9090': 'ok',
  });
});

test('an allow rule from another namespace by namespaceSelector admits it, on the named port only', async () => {
  await applyPolicy('x', 'allow-team-y', { podSelector: { matchLabels: { app: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }], ports: [{ port: 'http' }] }] });
  await expectReach({ 'c -> a': 'ok', 'c -> a:9090': 'blocked', 'b -> a': 'blocked', 'c -> b': 'blocked' });
});

test('an egress deny on the other namespace blocks its pods going out, while replies to them still pass', async () => {
  await applyPolicy('y', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
  await expectReach({ 'c -> a': 'blocked', 'a -> c': 'ok' });
  await applyPolicy('y', 'egress-to-a', {
    podSelector: { matchLabels: { app: 'c' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchLabels: { app: 'a' } } }], ports: [{ port: 8080, endPort: 8081, protocol: 'TCP' }] }],
  });
  await expectReach({ 'c -> a': 'ok', 'c -> a:9090': 'blocked', 'c -> b': 'blocked' });
});

test('an ipBlock with except admits the block but the excepted address', async () => {
  await applyPolicy('x', 'from-block', { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.42.1.0/24', except: [`${IP.c}/32`] } }] }] });
  await expectReach({ 'a -> b': 'ok', 'a -> b:9090': 'ok', 'c -> b': 'blocked' });
});

test('a pod relabelled out of a peer selector loses access; changes are written incrementally', async () => {
  const fullBefore = enforcer.stats.full;
  const partialBefore = enforcer.stats.partial;
  const pods = admin.resource('', 'pods').namespace('y');
  const c = await pods.get('c');
  await pods.update({ ...c, metadata: { ...c.metadata, labels: { app: 'c', moved: 'yes' } } });
  await admin.resource('', 'namespaces').update({ ...(await admin.resource('', 'namespaces').get('y')), metadata: { ...(await admin.resource('', 'namespaces').get('y')).metadata, labels: { team: 'elsewhere' } } });
  await expectReach({ 'c -> a': 'blocked' });
  assert.equal(enforcer.stats.full, fullBefore);
  assert.ok(enforcer.stats.partial > partialBefore);
});

test('deleting the policies opens everything again, and cleanup removes the table', async () => {
  for (const ns of ['x', 'y']) for (const p of (await policies(ns).list()).items) await policies(ns).delete(p.metadata.name!);
  await expectReach({ 'b -> a': 'ok', 'c -> a': 'ok', 'c -> b:9090': 'ok' });
  const listed = await mustRun(net.run(nodeNs), 'nft', ['list', 'table', 'inet', TABLE]);
  assert.match(listed, /chain forward/);
  assert.doesNotMatch(listed, /chain (ing|egr)-/);
});

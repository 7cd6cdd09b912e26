// The cluster DNS against a real API server, over real UDP and TCP on loopback, forwarding to a
// stub resolver this test runs (never the machine's): Services and EndpointSlices written through
// the API become answers, the kube-dns Service and this node's endpoint are published and withdrawn.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer } from '../apiserver/testing.ts';
import { Client } from '../client/client.ts';
import type { KObject } from '../api/meta.ts';
import { startClusterDNS, type ClusterDns } from './cluster-dns.ts';
import { KUBE_DNS_NAME, KUBE_DNS_NAMESPACE, ensureKubeDnsService, startDnsEndpointPublisher } from './kube-dns-service.ts';
import { processAlive, queryDns, startStubResolver, type StubResolver } from './testing.ts';

let api: Awaited<ReturnType<typeof startTestApiServer>>;
let admin: Client;
let dns: ClusterDns;
let stub: StubResolver;

before(async () => {
  api = await startTestApiServer();
  admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
  stub = await startStubResolver({ 'outside.example A': [{ name: 'outside.example', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.7' }] });
  dns = await startClusterDNS({
    client: new Client(api.server.localTransport({ name: 'system:serviceaccount:kube-system:coredns', groups: ['system:masters', 'system:authenticated'] }, 'dns')),
    listen: [{ host: '127.0.0.1', port: 0 }],
    // the node address it is published under (loopback may not be an endpoint); nothing is sent there
    localIPs: ['10.200.0.1'],
    clusterDomain: 'cluster.local',
    upstreamResolvers: [{ host: '127.0.0.1', port: stub.port }],
  });
  await dns.ready();
});

after(async () => {
  await dns?.stop();
  await stub?.stop();
  await api?.stop();
});

const q = (name: string, type: string, proto: 'udp' | 'tcp' = 'udp') => queryDns(name, type, { port: dns.port, proto });

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const data = (r: { answers?: unknown[] }) => (r.answers ?? []).map((a) => String((a as { data: unknown }).data)).sort();

test('a Service created through the API answers by name over UDP and TCP, with its allocated ClusterIP', async () => {
  const svc = await admin.resource('', 'services').namespace('default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'hello' }, spec: { ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] } } as KObject);
  const ip = (svc as unknown as { spec: { clusterIP: string } }).spec.clusterIP;
  const r = await eventually(async () => {
    const got = await q('hello.default.svc.cluster.local', 'A');
    assert.equal(got.rcode, 'NOERROR');
    assert.equal(got.answers?.length, 1);
    return got;
  });
  assert.deepEqual(data(r), [ip]);
  assert.deepEqual(data(await q('hello.default.svc.cluster.local', 'A', 'tcp')), [ip]);
  const srv = await q('_http._tcp.hello.default.svc.cluster.local', 'SRV');
  assert.deepEqual((srv.answers?.[0] as { data: unknown }).data, { priority: 0, weight: 100, port: 8080, target: 'hello.default.svc.cluster.local' });
  const ptr = await q(`${ip.split('.').reverse().join('.')}.in-addr.arpa`, 'PTR');
  assert.deepEqual(data(ptr), ['hello.default.svc.cluster.local']);
});

test('a headless Service answers its ready endpoints from EndpointSlices, and follows their changes', async () => {
  await admin.resource('', 'services').namespace('default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'peers' }, spec: { clusterIP: 'None', ports: [{ name: 'gossip', port: 7000 }] } } as KObject);
  const slices = admin.resource('discovery.k8s.io', 'endpointslices').namespace('default');
  const body = (ready: boolean[]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'peers-1', labels: { 'kubernetes.io/service-name': 'peers' } },
    addressType: 'IPv4',
    endpoints: ready.map((r, i) => ({ addresses: [`10.42.0.${i + 2}`], hostname: `peer-${i}`, conditions: { ready: r } })),
    ports: [{ name: 'gossip', port: 7000, protocol: 'TCP' }],
  });
  const created = await slices.create(body([true, true, false]) as unknown as KObject);
  await eventually(async () => assert.deepEqual(data(await q('peers.default.svc.cluster.local', 'A')), ['10.42.0.2', '10.42.0.3']));
  assert.deepEqual(data(await q('peer-1.peers.default.svc.cluster.local', 'A')), ['10.42.0.3']);
  assert.equal((await q('peer-2.peers.default.svc.cluster.local', 'A')).rcode, 'NXDOMAIN');
  await slices.update({ ...body([false, true, true]), metadata: { ...body([]).metadata, resourceVersion: created.metadata.resourceVersion } } as unknown as KObject);
  await eventually(async () => assert.deepEqual(data(await q('peers.default.svc.cluster.local', 'A')), ['10.42.0.3', '10.42.0.4']));
  const srv = await q('_gossip._tcp.peers.default.svc.cluster.local', 'SRV');
  assert.deepEqual(srv.answers?.map((a) => (a as { data: { target: string } }).data.target).sort(), ['peer-1.peers.default.svc.cluster.local', 'peer-2.peers.default.svc.cluster.local']);
});

test('a deleted Service is NXDOMAIN again, a new namespace exists once created', async () => {
  await admin.resource('', 'services').namespace('default').delete('hello');
  await eventually(async () => assert.equal((await q('hello.default.svc.cluster.local', 'A')).rcode, 'NXDOMAIN'));
  assert.equal((await q('fresh.svc.cluster.local', 'A')).rcode, 'NXDOMAIN');
  await admin.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } } as KObject);
  await eventually(async () => {
    const r = await q('fresh.svc.cluster.local', 'A');
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.answers?.length, 0);
  });
});

test('names outside the cluster go to the stub upstream', async () => {
  assert.deepEqual(data(await q('outside.example', 'A')), ['192.0.2.7']);
  assert.ok(stub.asked.includes('outside.example A'));
});

test('the kube-dns Service is created as upstream names it, and the node publishes and withdraws its endpoint', async () => {
  const node = await admin.resource('', 'nodes').create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } } as KObject);
  const svc = await ensureKubeDnsService(admin, ['10.43.0.10']);
  assert.equal((svc as { spec: { clusterIP: string } }).spec.clusterIP, '10.43.0.10');
  assert.deepEqual(svc.metadata.labels, { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' });
  assert.deepEqual(
    (svc as { spec: { ports: { name: string; port: number; protocol: string }[] } }).spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`),
    ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP'],
  );
  // idempotent, and a different address is refused rather than silently kept
  await ensureKubeDnsService(admin, ['10.43.0.10']);
  await assert.rejects(ensureKubeDnsService(admin, ['10.43.0.11']), /has ClusterIP 10\.43\.0\.10, not the cluster DNS address 10\.43\.0\.11/);

  const pub = startDnsEndpointPublisher({ client: admin, nodeName: 'node-a', addresses: ['10.200.0.1'], clusterIPs: ['10.43.0.10'] });
  await pub.ready();
  const slice = await admin.resource('discovery.k8s.io', 'endpointslices').namespace(KUBE_DNS_NAMESPACE).get(`${KUBE_DNS_NAME}-node-a`);
  assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'kube-dns');
  assert.deepEqual(slice.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid]), [['Node', 'node-a', node.metadata.uid]]);
  assert.deepEqual((slice as unknown as { endpoints: { addresses: string[]; nodeName: string }[] }).endpoints.map((e) => [e.addresses, e.nodeName]), [[['10.200.0.1'], 'node-a']]);
  // this server's address is now an endpoint of kube-dns: the apex NS names the Service
  await eventually(async () => {
    const ns = await q('cluster.local', 'NS');
    assert.deepEqual(data(ns), ['kube-dns.kube-system.svc.cluster.local']);
    assert.deepEqual(ns.additionals?.filter((a) => a.type === 'A').map((a) => String((a as { data: unknown }).data)), ['10.43.0.10']);
  });
  await pub.stop();
  await assert.rejects(admin.resource('discovery.k8s.io', 'endpointslices').namespace(KUBE_DNS_NAMESPACE).get(`${KUBE_DNS_NAME}-node-a`), (e: { code?: number }) => e.code === 404);
});

test('with two serving threads on one port, every thread answers the records the informers deliver', async () => {
  const threaded = await startClusterDNS({
    client: new Client(api.server.localTransport({ name: 'system:serviceaccount:kube-system:coredns', groups: ['system:masters', 'system:authenticated'] }, 'dns')),
    listen: [{ host: '127.0.0.1', port: 0 }],
    clusterDomain: 'cluster.local',
    upstreamResolvers: [{ host: '127.0.0.1', port: stub.port }],
    threads: 2,
  });
  try {
    await threaded.ready();
    const svc = await admin.resource('', 'services').namespace('default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'threaded' }, spec: { ports: [{ port: 80 }] } } as KObject);
    const ip = (svc as unknown as { spec: { clusterIP: string } }).spec.clusterIP;
    // each query comes from a new socket (a new source port), so the kernel spreads them over both threads
    await eventually(async () => {
      const answers = await Promise.all(Array.from({ length: 16 }, () => queryDns('threaded.default.svc.cluster.local', 'A', { port: threaded.port })));
      assert.deepEqual(new Set(answers.map((r) => data(r).join())), new Set([ip]));
    });
    assert.deepEqual(data(await queryDns('threaded.default.svc.cluster.local', 'A', { port: threaded.port, proto: 'tcp' })), [ip]);
    assert.deepEqual(data(await queryDns('outside.example', 'A', { port: threaded.port })), ['192.0.2.7']);
    await eventually(async () => assert.ok(threaded.stats.queries.udp >= 17, `udp queries counted: ${threaded.stats.queries.udp}`), 3000);
  } finally {
    await threaded.stop();
  }
});

const dnsClient = () => new Client(api.server.localTransport({ name: 'system:serviceaccount:kube-system:coredns', groups: ['system:masters', 'system:authenticated'] }, 'dns'));

/**
 * Bursts of queries (each from its own socket) until one burst, all of whose answers pass `check`,
 * was answered in part by every serving process (this one and each child).
 */
async function untilEveryProcessAnswered(d: ClusterDns, name: string, check: (r: Awaited<ReturnType<typeof queryDns>>) => void): Promise<void> {
  const counts = async () => {
    const children = await d.workers();
    const perChild = new Map(children.map((w) => [w.id, w.stats?.queries.udp ?? 0]));
    return { perChild, own: d.stats.queries.udp - [...perChild.values()].reduce((a, x) => a + x, 0) };
  };
  await eventually(async () => {
    const before = await counts();
    for (const r of await Promise.all(Array.from({ length: 64 }, () => queryDns(name, 'A', { port: d.port })))) check(r);
    const after = await counts();
    const idle = [...after.perChild].filter(([id, n]) => n - (before.perChild.get(id) ?? 0) < 1).map(([id]) => id);
    assert.deepEqual(idle, [], 'serving processes that answered none of the burst');
    assert.ok(after.own > before.own, 'this process answered none of the burst');
  }, 20_000);
}

test('with three serving processes on one socket, every process answers the Services the informers deliver, and follows their changes', async () => {
  const multi = await startClusterDNS({ client: dnsClient(), listen: [{ host: '127.0.0.1', port: 0 }], clusterDomain: 'cluster.local', upstreamResolvers: [{ host: '127.0.0.1', port: stub.port }], processes: 3 });
  try {
    await multi.ready();
    const children = await multi.workers();
    assert.equal(children.length, 2);
    assert.equal(new Set(children.map((w) => w.id)).size, 2);
    assert.ok(!children.some((w) => w.id === process.pid));
    const svc = await admin.resource('', 'services').namespace('default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'multi' }, spec: { ports: [{ port: 80 }] } } as KObject);
    const ip = (svc as unknown as { spec: { clusterIP: string } }).spec.clusterIP;
    await eventually(async () => assert.deepEqual(data(await queryDns('multi.default.svc.cluster.local', 'A', { port: multi.port })), [ip]));
    await multi.settled();
    await untilEveryProcessAnswered(multi, 'multi.default.svc.cluster.local', (r) => assert.deepEqual([r.rcode, data(r)], ['NOERROR', [ip]]));
    assert.deepEqual(data(await queryDns('multi.default.svc.cluster.local', 'A', { port: multi.port, proto: 'tcp' })), [ip]);
    assert.deepEqual(data(await queryDns('outside.example', 'A', { port: multi.port })), ['192.0.2.7']);

    await admin.resource('', 'services').namespace('default').delete('multi');
    await eventually(async () => assert.equal((await queryDns('multi.default.svc.cluster.local', 'A', { port: multi.port })).rcode, 'NXDOMAIN'));
    await multi.settled();
    await untilEveryProcessAnswered(multi, 'multi.default.svc.cluster.local', (r) => assert.equal(r.rcode, 'NXDOMAIN'));
  } finally {
    await multi.stop();
  }
});

test('a serving process that dies is started again with the records so far, and stop leaves no serving process behind', async () => {
  const logs: string[] = [];
  const multi = await startClusterDNS({ client: dnsClient(), listen: [{ host: '127.0.0.1', port: 0 }], clusterDomain: 'cluster.local', upstreamResolvers: [], processes: 2, log: (m) => logs.push(m) });
  const pids = new Set<number>();
  try {
    await multi.ready();
    const svc = await admin.resource('', 'services').namespace('default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'survivor' }, spec: { ports: [{ port: 80 }] } } as KObject);
    const ip = (svc as unknown as { spec: { clusterIP: string } }).spec.clusterIP;
    await eventually(async () => assert.deepEqual(data(await queryDns('survivor.default.svc.cluster.local', 'A', { port: multi.port })), [ip]));
    await multi.settled();
    const [first] = await multi.workers();
    pids.add(first!.id);
    process.kill(first!.id, 'SIGKILL');
    const second = await eventually(async () => {
      const [w] = await multi.workers();
      assert.notEqual(w!.id, first!.id);
      assert.equal(w!.restarts, 1);
      return w!;
    });
    pids.add(second.id);
    assert.ok(logs.some((l) => l.includes(`serving process ${first!.id} exited (signal SIGKILL)`)), logs.join('\n'));
    // the new process was started after the Service existed: it answers from the replayed records
    await untilEveryProcessAnswered(multi, 'survivor.default.svc.cluster.local', (r) => assert.deepEqual([r.rcode, data(r)], ['NOERROR', [ip]]));
  } finally {
    await multi.stop();
  }
  for (const pid of pids) assert.equal(processAlive(pid), false, `process ${pid} still runs`);
  await assert.rejects(queryDns('survivor.default.svc.cluster.local', 'A', { port: multi.port, timeoutMs: 300 }));
});

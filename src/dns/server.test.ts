// The DNS server on loopback, over real UDP and TCP: flags, EDNS0, truncation, malformed queries,
// the reply cache following record changes, and forwarding to a stub upstream the test runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { Forwarder } from './forward.ts';
import { ClusterRecords } from './records.ts';
import { Resolver } from './resolve.ts';
import { DnsServer } from './server.ts';
import { exchange, queryDns, startStubResolver, type StubResolver } from './testing.ts';
import { decodeMessage, encodeQuery, type DecodedReply } from './wire.ts';

let records: ClusterRecords;
let server: DnsServer;
let port: number;
let stub: StubResolver;

const BIG = 60; // endpoints of a headless Service: more than fit in 512 bytes

before(async () => {
  stub = await startStubResolver(
    {
      'example.com A': [{ name: 'example.com', type: 'A', class: 'IN', ttl: 300, data: '192.0.2.10' }],
      'target.example A': [{ name: 'target.example', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.20' }],
    },
    { nxdomain: ['nope.example'] },
  );
  records = new ClusterRecords();
  records.setNamespace('default');
  records.setService({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.43.0.20', clusterIPs: ['10.43.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
  records.setService({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'ext' }, spec: { type: 'ExternalName', externalName: 'target.example' } });
  records.setService({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'many' }, spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80 }] } });
  records.setEndpointSlice({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'default', name: 'many-1', labels: { 'kubernetes.io/service-name': 'many' } },
    endpoints: Array.from({ length: BIG }, (_, i) => ({ addresses: [`10.42.0.${i + 10}`], conditions: { ready: true } })),
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  });
  const resolver = new Resolver(records, { zone: 'cluster.local', ttl: 5, podMode: 'insecure', localIPs: [] });
  const forwarder = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: stub.port }], timeoutMs: 1000 });
  server = new DnsServer({ listen: [{ host: '127.0.0.1', port: 0 }], resolver, forwarder });
  port = await server.start();
});

after(async () => {
  await server?.stop();
  await stub?.stop();
});

test('an answer over UDP is authoritative, echoes id and question, and mirrors RD without RA', async () => {
  const r = await queryDns('web.default.svc.cluster.local', 'A', { port, id: 4242 });
  assert.equal(r.id, 4242);
  assert.equal(r.rcode, 'NOERROR');
  assert.equal(r.flag_qr, true);
  assert.equal(r.flag_aa, true);
  assert.equal(r.flag_rd, true);
  assert.equal(r.flag_ra, false);
  assert.deepEqual(r.questions, [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }]);
  assert.deepEqual(r.answers?.map((a) => [a.type, (a as { data: string }).data, (a as { ttl: number }).ttl]), [['A', '10.43.0.20', 5]]);
});

test('the same answer over TCP', async () => {
  const r = await queryDns('web.default.svc.cluster.local', 'A', { port, proto: 'tcp' });
  assert.deepEqual(r.answers?.map((a) => (a as { data: string }).data), ['10.43.0.20']);
});

test('NXDOMAIN carries the SOA in the authority section', async () => {
  const r = await queryDns('missing.default.svc.cluster.local', 'A', { port });
  assert.equal(r.rcode, 'NXDOMAIN');
  assert.equal(r.answers?.length, 0);
  assert.deepEqual(r.authorities?.map((a) => [a.name, a.type]), [['cluster.local', 'SOA']]);
});

test('a big UDP answer without EDNS0 is truncated to 512 bytes with TC, and complete over TCP', async () => {
  const udp = await queryDns('many.default.svc.cluster.local', 'A', { port });
  assert.ok(udp.size <= 512, `reply of ${udp.size} bytes`);
  assert.equal(udp.flag_tc, true);
  assert.ok((udp.answers?.length ?? 0) > 0 && (udp.answers?.length ?? 0) < BIG);
  const tcp = await queryDns('many.default.svc.cluster.local', 'A', { port, proto: 'tcp' });
  assert.equal(tcp.flag_tc, false);
  assert.equal(tcp.answers?.length, BIG);
});

test('EDNS0: the reply mirrors the OPT record and fills the advertised size', async () => {
  const r = await queryDns('many.default.svc.cluster.local', 'A', { port, udpSize: 4096 });
  assert.equal(r.flag_tc, false);
  assert.equal(r.answers?.length, BIG);
  assert.ok(r.size > 512);
  const opt = r.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  assert.equal(opt?.udpPayloadSize, 4096);
  assert.equal(opt?.ednsVersion, 0);
  const small = await queryDns('many.default.svc.cluster.local', 'A', { port, udpSize: 1232 });
  assert.ok(small.size <= 1232);
  assert.equal(small.flag_tc, true);
});

test('an EDNS version above 0 is BADVERS', async () => {
  const q = dnsPacket.encode({
    id: 7,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }],
    additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 1, flags: 0, flag_do: false, options: [] }],
  });
  const r = dnsPacket.decode(await exchange(q, { port }));
  const opt = r.additionals?.find((a) => a.type === 'OPT') as dnsPacket.OptAnswer;
  assert.equal(opt.extendedRcode, 1); // BADVERS = 16 = extended 1, header 0
  assert.equal((r as { rcode?: string }).rcode, 'NOERROR');
});

test('a message that does not decode is FORMERR, an unknown opcode NOTIMP', async () => {
  const garbage = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f]);
  const r1 = await exchange(garbage, { port });
  assert.equal(r1.readUInt16BE(0), 0x1234);
  assert.equal(r1[3]! & 0xf, 1);
  const status = Buffer.from(dnsPacket.encode({ id: 9, type: 'query', questions: [{ name: 'a', type: 'A', class: 'IN' }] }));
  status.writeUInt16BE(0x1000 | 0x0100, 2); // opcode STATUS, RD
  const r2 = await exchange(status, { port });
  assert.equal(r2[3]! & 0xf, 4);
});

test('a repeated query is answered with its own id, and changes show at once', async () => {
  await queryDns('web.default.svc.cluster.local', 'A', { port, id: 1 });
  const hitsBefore = server.stats.replyCacheHits;
  const again = await queryDns('web.default.svc.cluster.local', 'A', { port, id: 2 });
  assert.equal(again.id, 2);
  assert.equal(server.stats.replyCacheHits, hitsBefore + 1);
  records.setService({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.43.0.99', clusterIPs: ['10.43.0.99'], ports: [{ name: 'http', port: 80 }] } });
  const changed = await queryDns('web.default.svc.cluster.local', 'A', { port, id: 3 });
  assert.deepEqual(changed.answers?.map((a) => (a as { data: string }).data), ['10.43.0.99']);
  records.setService({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.43.0.20', clusterIPs: ['10.43.0.20'], ports: [{ name: 'http', port: 80 }] } });
});

test('a burst of repeated queries over UDP gets one reply per query, each under its own id, and a question in other case keeps its case', async () => {
  const client = createSocket('udp4');
  const N = 300;
  const replies = new Map<number, DecodedReply>();
  const done = new Promise<void>((resolve) =>
    client.on('message', (m) => {
      const r = decodeMessage(m);
      replies.set(r.id!, r);
      if (replies.size === N) resolve();
    }),
  );
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  let timer: NodeJS.Timeout | undefined;
  try {
    // every query sent before the first reply can be read: the server answers them back to back
    for (let id = 1; id <= N; id++) {
      const name = id % 3 ? 'web.default.svc.cluster.local' : 'WEB.Default.svc.cluster.local';
      client.send(encodeQuery({ id, name, type: 'A' }), port, '127.0.0.1');
    }
    await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${replies.size} of ${N} replies`)), 5000)))]);
  } finally {
    clearTimeout(timer);
    client.close();
  }
  for (let id = 1; id <= N; id++) {
    const r = replies.get(id)!;
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.questions?.[0]?.name, id % 3 ? 'web.default.svc.cluster.local' : 'WEB.Default.svc.cluster.local');
    assert.deepEqual(r.answers?.map((a) => (a as { data: string }).data), ['10.43.0.20']);
  }
});

test('other names are forwarded to the upstream, over UDP and TCP, and NXDOMAIN passes through', async () => {
  const udp = await queryDns('example.com', 'A', { port });
  assert.deepEqual(udp.answers?.map((a) => (a as { data: string }).data), ['192.0.2.10']);
  assert.equal(udp.flag_ra, true);
  const tcp = await queryDns('example.com', 'A', { port, proto: 'tcp' });
  assert.deepEqual(tcp.answers?.map((a) => (a as { data: string }).data), ['192.0.2.10']);
  const nx = await queryDns('nope.example', 'A', { port });
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.ok(stub.asked.includes('example.com A'));
});

test('a forwarded answer is cached: a second ask does not reach the upstream, and its TTL does not grow', async () => {
  await queryDns('example.com', 'A', { port, id: 11 });
  const asked = stub.asked.length;
  const r = await queryDns('example.com', 'A', { port, id: 12 });
  assert.equal(stub.asked.length, asked);
  assert.equal(r.id, 12);
  assert.ok((r.answers?.[0] as { ttl: number }).ttl <= 30);
});

test('an ExternalName Service answers its CNAME and the target address from upstream', async () => {
  const r = await queryDns('ext.default.svc.cluster.local', 'A', { port });
  assert.equal(r.rcode, 'NOERROR');
  assert.deepEqual(r.answers?.map((a) => `${a.name} ${a.type} ${(a as { data: string }).data}`), ['ext.default.svc.cluster.local CNAME target.example', 'target.example A 192.0.2.20']);
});

test('with no upstream answering, a forwarded name is SERVFAIL', async () => {
  const resolver = new Resolver(records, { zone: 'cluster.local', ttl: 5, podMode: 'insecure', localIPs: [] });
  const lonely = new DnsServer({ listen: [{ host: '127.0.0.1', port: 0 }], resolver, forwarder: new Forwarder({ upstreams: [] }) });
  const p = await lonely.start();
  try {
    const r = await queryDns('example.com', 'A', { port: p });
    assert.equal(r.rcode, 'SERVFAIL');
    const inZone = await queryDns('web.default.svc.cluster.local', 'A', { port: p });
    assert.equal(inZone.rcode, 'NOERROR');
  } finally {
    await lonely.stop();
  }
});

test('several queries on one TCP connection are all answered', async () => {
  const { connect } = await import('node:net');
  const sock = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const names = ['web.default.svc.cluster.local', 'missing.default.svc.cluster.local', 'example.com'];
  for (const [i, name] of names.entries()) {
    const q = dnsPacket.encode({ id: 100 + i, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });
    const frame = Buffer.alloc(q.length + 2);
    frame.writeUInt16BE(q.length, 0);
    q.copy(frame, 2);
    sock.write(frame);
  }
  const ids = await new Promise<number[]>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const got: number[] = [];
    const t = setTimeout(() => reject(new Error(`only ${got.length} replies`)), 3000);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        got.push(buf.readUInt16BE(2));
        buf = buf.subarray(buf.readUInt16BE(0) + 2);
      }
      if (got.length === names.length) {
        clearTimeout(t);
        resolve(got);
      }
    });
  });
  sock.destroy();
  assert.deepEqual(ids.sort(), [100, 101, 102]);
});

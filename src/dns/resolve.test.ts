// The resolver against a fixed record set: each record type, NXDOMAIN vs NODATA (with the SOA),
// CNAMEs, SRV, PTR and pods — table-driven, as CoreDNS's kubernetes plugin answers them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from 'dns-packet';
import { ClusterRecords } from './records.ts';
import { Resolver, addressFromReverse, canonicalIPv6, type PodMode, type Resolution } from './resolve.ts';

function svc(ns: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec: { type: 'ClusterIP', ...spec } };
}

function slice(ns: string, svcName: string, name: string, endpoints: { ip: string; hostname?: string; ready?: boolean; pod?: string }[], ports: { name?: string; port: number; protocol?: string }[]) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], hostname: e.hostname, conditions: { ready: e.ready ?? true }, targetRef: e.pod ? { kind: 'Pod', name: e.pod } : undefined })),
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}

function fixture(o: { podMode?: PodMode; synced?: boolean } = {}): Resolver {
  const r = new ClusterRecords(() => 1_700_000_000_000);
  for (const ns of ['default', 'kube-system', 'other']) r.setNamespace(ns);
  r.setService(svc('default', 'web', { clusterIP: '10.43.0.20', clusterIPs: ['10.43.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }] }));
  r.setService(svc('default', 'db', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }));
  r.setEndpointSlice(slice('default', 'db', 'db-a', [{ ip: '10.42.1.5', hostname: 'db-0' }, { ip: '10.42.2.6' }, { ip: '10.42.1.9', ready: false }], [{ name: 'pg', port: 5432 }]));
  r.setEndpointSlice(slice('default', 'db', 'db-b', [{ ip: '10.42.3.7', hostname: 'db-2' }], [{ name: 'pg', port: 5432 }]));
  r.setService(svc('default', 'empty', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'x', port: 1 }] }));
  r.setService(svc('default', 'ext', { type: 'ExternalName', externalName: 'example.com' }));
  r.setService(svc('default', 'alias', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }));
  r.setService(svc('default', 'dual', { clusterIP: '10.43.0.30', clusterIPs: ['10.43.0.30', 'fd00::30'], ports: [{ name: 'http', port: 80 }] }));
  r.setService(svc('default', 'noports', { clusterIP: '10.43.0.40', clusterIPs: ['10.43.0.40'] }));
  r.setService(svc('kube-system', 'kube-dns', { clusterIP: '10.43.0.10', clusterIPs: ['10.43.0.10'], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }));
  r.setEndpointSlice(slice('kube-system', 'kube-dns', 'kube-dns-node-a', [{ ip: '10.200.0.1' }], [{ name: 'dns', port: 53, protocol: 'UDP' }]));
  r.setService(svc('other', 'web', { clusterIP: '10.43.0.21', clusterIPs: ['10.43.0.21'], ports: [{ name: 'http', port: 8080 }] }));
  r.setPod({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'default', name: 'p' }, status: { podIP: '10.42.3.4', podIPs: [{ ip: '10.42.3.4' }] } });
  r.synced = o.synced ?? true;
  return new Resolver(r, { zone: 'cluster.local', ttl: 5, podMode: o.podMode ?? 'insecure', localIPs: ['10.200.0.1'] });
}

/** A resolution as a comparable summary: rcode, answers as "TYPE data", SOA in authority or not. */
function summary(res: Resolution): { rcode: string; answers: string[]; soa: boolean; extra: string[] } | 'forward' {
  if (res.kind === 'forward') return 'forward';
  const show = (a: Answer) => {
    const d = (a as { data: unknown }).data;
    if (a.type === 'SRV') {
      const s = d as { priority: number; weight: number; port: number; target: string };
      return `SRV ${s.priority} ${s.weight} ${s.port} ${s.target}`;
    }
    return `${a.type} ${String(d)}`;
  };
  return {
    rcode: res.rcode,
    answers: res.answers.map(show).sort(),
    soa: res.authorities.some((a) => a.type === 'SOA'),
    extra: res.additionals.map((a) => `${a.name} ${show(a)}`).sort(),
  };
}

const NXDOMAIN = { rcode: 'NXDOMAIN', answers: [], soa: true, extra: [] };
const NODATA = { rcode: 'NOERROR', answers: [], soa: true, extra: [] };
const ok = (...answers: string[]) => ({ rcode: 'NOERROR', answers: answers.sort(), soa: false, extra: [] as string[] });

const CASES: [string, string, string, ReturnType<typeof summary>][] = [
  ['ClusterIP Service A is its ClusterIP', 'web.default.svc.cluster.local', 'A', ok('A 10.43.0.20')],
  ['the same name in another namespace is that namespace Service', 'web.other.svc.cluster.local', 'A', ok('A 10.43.0.21')],
  ['AAAA of an IPv4-only Service is NODATA', 'web.default.svc.cluster.local', 'AAAA', NODATA],
  ['a missing Service is NXDOMAIN', 'missing.default.svc.cluster.local', 'A', NXDOMAIN],
  ['a Service in a missing namespace is NXDOMAIN', 'web.nosuchns.svc.cluster.local', 'A', NXDOMAIN],
  ['an existing namespace name is NODATA', 'default.svc.cluster.local', 'A', NODATA],
  ['a missing namespace name is NXDOMAIN', 'nosuchns.svc.cluster.local', 'A', NXDOMAIN],
  ['svc.<zone> is NODATA', 'svc.cluster.local', 'A', NODATA],
  ['the zone apex A is NODATA', 'cluster.local', 'A', NODATA],
  ['a name that is neither svc nor pod is NXDOMAIN', 'foo.cluster.local', 'A', NXDOMAIN],
  ['too many labels before a Service is NXDOMAIN', 'a.b.c.web.default.svc.cluster.local', 'A', NXDOMAIN],
  ['headless Service A lists the ready endpoints only', 'db.default.svc.cluster.local', 'A', ok('A 10.42.1.5', 'A 10.42.2.6', 'A 10.42.3.7')],
  ['an endpoint by hostname', 'db-0.db.default.svc.cluster.local', 'A', ok('A 10.42.1.5')],
  ['an endpoint without hostname by its dashed IP', '10-42-2-6.db.default.svc.cluster.local', 'A', ok('A 10.42.2.6')],
  ['a not-ready endpoint has no name', '10-42-1-9.db.default.svc.cluster.local', 'A', NXDOMAIN],
  ['a headless Service without ready endpoints is NXDOMAIN', 'empty.default.svc.cluster.local', 'A', NXDOMAIN],
  ['dual-stack Service: A is the IPv4 ClusterIP', 'dual.default.svc.cluster.local', 'A', ok('A 10.43.0.30')],
  ['dual-stack Service: AAAA is the IPv6 ClusterIP', 'dual.default.svc.cluster.local', 'AAAA', ok('AAAA fd00::30')],
  ['a Service without ports still has its A record', 'noports.default.svc.cluster.local', 'A', ok('A 10.43.0.40')],
  ['a Service without ports has no SRV (NODATA)', 'noports.default.svc.cluster.local', 'SRV', NODATA],
  [
    'SRV for a named port of a ClusterIP Service, target address in additional',
    '_http._tcp.web.default.svc.cluster.local',
    'SRV',
    { rcode: 'NOERROR', answers: ['SRV 0 100 80 web.default.svc.cluster.local'], soa: false, extra: ['web.default.svc.cluster.local A 10.43.0.20'] },
  ],
  [
    'SRV without port labels lists every port',
    'web.default.svc.cluster.local',
    'SRV',
    { rcode: 'NOERROR', answers: ['SRV 0 50 80 web.default.svc.cluster.local', 'SRV 0 50 9090 web.default.svc.cluster.local'], soa: false, extra: ['web.default.svc.cluster.local A 10.43.0.20'] },
  ],
  ['SRV with the wrong protocol is NXDOMAIN', '_http._udp.web.default.svc.cluster.local', 'SRV', NXDOMAIN],
  ['SRV for an unknown port name is NXDOMAIN', '_nope._tcp.web.default.svc.cluster.local', 'SRV', NXDOMAIN],
  [
    'headless SRV: one per ready endpoint, each named, addresses in additional',
    '_pg._tcp.db.default.svc.cluster.local',
    'SRV',
    {
      rcode: 'NOERROR',
      answers: ['SRV 0 33 5432 10-42-2-6.db.default.svc.cluster.local', 'SRV 0 33 5432 db-0.db.default.svc.cluster.local', 'SRV 0 33 5432 db-2.db.default.svc.cluster.local'],
      soa: false,
      extra: ['10-42-2-6.db.default.svc.cluster.local A 10.42.2.6', 'db-0.db.default.svc.cluster.local A 10.42.1.5', 'db-2.db.default.svc.cluster.local A 10.42.3.7'],
    },
  ],
  ['pod A record from the dashed IP (pods insecure)', '10-42-9-9.default.pod.cluster.local', 'A', ok('A 10.42.9.9')],
  ['pod IPv6 record: A is NODATA', 'fd00--5.default.pod.cluster.local', 'A', NODATA],
  ['pod IPv6 record: AAAA is the address', 'fd00--5.default.pod.cluster.local', 'AAAA', ok('AAAA fd00::5')],
  ['a pod name that is not an IP is NXDOMAIN', '10-42-9.default.pod.cluster.local', 'A', NXDOMAIN],
  ['a pod in a missing namespace is NXDOMAIN', '10-42-9-9.nosuchns.pod.cluster.local', 'A', NXDOMAIN],
  ['ExternalName: SRV is NODATA', 'ext.default.svc.cluster.local', 'SRV', NODATA],
  ['ExternalName: port labels are NXDOMAIN', '_http._tcp.ext.default.svc.cluster.local', 'SRV', NXDOMAIN],
  ['ExternalName: CNAME query answers the CNAME', 'ext.default.svc.cluster.local', 'CNAME', ok('CNAME example.com')],
  ['CNAME query of a ClusterIP Service is NODATA', 'web.default.svc.cluster.local', 'CNAME', NODATA],
  ['ExternalName to a cluster name is chased inside the zone', 'alias.default.svc.cluster.local', 'A', ok('CNAME web.default.svc.cluster.local', 'A 10.43.0.20')],
  ['PTR of a ClusterIP names the Service', '20.0.43.10.in-addr.arpa', 'PTR', ok('PTR web.default.svc.cluster.local')],
  ['PTR of an endpoint IP names the endpoint', '5.1.42.10.in-addr.arpa', 'PTR', ok('PTR db-0.db.default.svc.cluster.local')],
  ['PTR of an endpoint without hostname uses the dashed IP', '6.2.42.10.in-addr.arpa', 'PTR', ok('PTR 10-42-2-6.db.default.svc.cluster.local')],
  ['PTR of an IPv6 ClusterIP', `${'0'.repeat(0)}0.3.0.0.${'0.'.repeat(24)}0.0.d.f.ip6.arpa`, 'PTR', ok('PTR dual.default.svc.cluster.local')],
  ['PTR of an unknown address falls through to the upstreams', '1.1.168.192.in-addr.arpa', 'PTR', 'forward'],
  ['a name outside the zones is forwarded', 'example.com', 'A', 'forward'],
  ['dns-version TXT is the schema version', 'dns-version.cluster.local', 'TXT', ok('TXT 1.1.0')],
  ['TXT of a Service is NODATA', 'web.default.svc.cluster.local', 'TXT', NODATA],
  ['TXT of a missing name is NXDOMAIN', 'missing.default.svc.cluster.local', 'TXT', NXDOMAIN],
  ['MX of a Service is NODATA', 'web.default.svc.cluster.local', 'MX', NODATA],
  ['MX of a missing name is NXDOMAIN', 'missing.default.svc.cluster.local', 'MX', NXDOMAIN],
  ['another type (HINFO) of a Service is NODATA', 'web.default.svc.cluster.local', 'HINFO', NODATA],
  ['another type (HINFO) of a missing name is NXDOMAIN', 'missing.default.svc.cluster.local', 'HINFO', NXDOMAIN],
  ['SOA below the apex is NODATA', 'web.default.svc.cluster.local', 'SOA', NODATA],
  [
    'NS at the apex names the Service this server is an endpoint of',
    'cluster.local',
    'NS',
    { rcode: 'NOERROR', answers: ['NS kube-dns.kube-system.svc.cluster.local'], soa: false, extra: ['kube-dns.kube-system.svc.cluster.local A 10.43.0.10'] },
  ],
  ['ns.dns.<zone> is the DNS Service address', 'ns.dns.cluster.local', 'A', ok('A 10.43.0.10')],
];

for (const [name, qname, qtype, want] of CASES) {
  test(`${name} (${qname} ${qtype})`, () => {
    assert.deepEqual(summary(fixture().resolve({ name: qname, type: qtype })), want);
  });
}

test('answers carry the TTL of 5 s and the owner name as asked, in any case', () => {
  const res = fixture().resolve({ name: 'WEB.Default.svc.Cluster.Local', type: 'A' });
  assert.equal(res.kind, 'answer');
  if (res.kind !== 'answer') return;
  assert.deepEqual(res.answers, [{ name: 'WEB.Default.svc.Cluster.Local', type: 'A', class: 'IN', ttl: 5, data: '10.43.0.20' }]);
});

test('the SOA of a negative answer is CoreDNS\'s: ns.dns and hostmaster of the zone, serial = last change, minimum = TTL', () => {
  const res = fixture().resolve({ name: 'missing.default.svc.cluster.local', type: 'A' });
  assert.equal(res.kind, 'answer');
  if (res.kind !== 'answer') return;
  assert.deepEqual(res.authorities, [
    { name: 'cluster.local', type: 'SOA', class: 'IN', ttl: 5, data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1_700_000_000, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 } },
  ]);
});

test('ExternalName out of the zone asks for the target upstream, behind the CNAME', () => {
  const res = fixture().resolve({ name: 'ext.default.svc.cluster.local', type: 'A' });
  assert.equal(res.kind, 'answer');
  if (res.kind !== 'answer') return;
  assert.equal(res.rcode, 'NOERROR');
  assert.deepEqual(res.chase, { cnames: [{ name: 'ext.default.svc.cluster.local', type: 'CNAME', class: 'IN', ttl: 5, data: 'example.com' }], target: 'example.com', type: 'A' });
});

test('before the caches sync, a name not found is SERVFAIL, not NXDOMAIN', () => {
  assert.deepEqual(summary(fixture({ synced: false }).resolve({ name: 'missing.default.svc.cluster.local', type: 'A' })), { ...NXDOMAIN, rcode: 'SERVFAIL' });
});

test('pods disabled: pod names are NXDOMAIN', () => {
  assert.deepEqual(summary(fixture({ podMode: 'disabled' }).resolve({ name: '10-42-3-4.default.pod.cluster.local', type: 'A' })), NXDOMAIN);
});

test('pods verified: only an IP a pod of that namespace holds', () => {
  const r = fixture({ podMode: 'verified' });
  assert.deepEqual(summary(r.resolve({ name: '10-42-3-4.default.pod.cluster.local', type: 'A' })), ok('A 10.42.3.4'));
  assert.deepEqual(summary(r.resolve({ name: '10-42-3-4.other.pod.cluster.local', type: 'A' })), NXDOMAIN);
  assert.deepEqual(summary(r.resolve({ name: '10-42-9-9.default.pod.cluster.local', type: 'A' })), NXDOMAIN);
});

test('zone transfers are refused', () => {
  assert.deepEqual(summary(fixture().resolve({ name: 'cluster.local', type: 'AXFR' })), { rcode: 'REFUSED', answers: [], soa: false, extra: [] });
});

test('records follow changes: endpoints removed and Services deleted disappear', () => {
  const r = fixture();
  const before = r.records.generation;
  r.records.setEndpointSlice(slice('default', 'db', 'db-a', [{ ip: '10.42.1.5', hostname: 'db-0', ready: false }], [{ name: 'pg', port: 5432 }]));
  r.records.deleteEndpointSlice('default', 'db-b');
  assert.deepEqual(summary(r.resolve({ name: 'db.default.svc.cluster.local', type: 'A' })), NXDOMAIN);
  r.records.deleteService('default', 'web');
  assert.deepEqual(summary(r.resolve({ name: 'web.default.svc.cluster.local', type: 'A' })), NXDOMAIN);
  assert.deepEqual(summary(r.resolve({ name: '20.0.43.10.in-addr.arpa', type: 'PTR' })), 'forward');
  assert.ok(r.records.generation > before);
});

test('reverse names and IPv6 text are parsed as Go prints addresses', () => {
  assert.equal(addressFromReverse('4.3.2.1.in-addr.arpa'), '1.2.3.4');
  assert.equal(addressFromReverse('3.2.1.in-addr.arpa'), '');
  assert.equal(addressFromReverse('256.3.2.1.in-addr.arpa'), '');
  assert.equal(canonicalIPv6('FD00:0:0:0:0:0:0:1'), 'fd00::1');
  assert.equal(canonicalIPv6('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
  assert.equal(canonicalIPv6('0:0:0:0:0:0:0:0'), '::');
});

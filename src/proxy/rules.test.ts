import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseRuleset, computeRuleset, masqueradeMark, type ProxyRulesConfig, type ServiceInput } from './rules.ts';
import { hashAndTruncate, servicePortChainNameBase, servicePortEndpointChainNameBase, type Ruleset } from './model.ts';
import { endpoint, port, service, slice } from './testing.ts';

const cfg: ProxyRulesConfig = {
  nodeName: 'node-a',
  nodeIPs: ['192.168.50.10', '127.0.0.1'],
  clusterCidr: '10.42.0.0/16',
  serviceCidrs: ['10.43.0.0/16'],
};

const STATIC_CHAINS = new Set(baseRuleset(cfg).chains.map((c) => c.name));

/** The non-empty element containers, as plain objects (nodeport-ips, which is static, left out). */
function elements(rs: Ruleset): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [c, m] of rs.elements) {
    if (c === 'nodeport-ips' || m.size === 0) continue;
    out[c] = Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  return out;
}

/** The per-Service and shared chains (static ones left out), name → rules. */
function dynamicChains(rs: Ruleset): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const [name, c] of rs.chains) if (!STATIC_CHAINS.has(name)) out[name] = c.rules;
  return out;
}

const DNAT = (map: string, n: number, key = 'ip daddr . meta l4proto . th dport') => ['tcp', 'udp', 'sctp'].map((p) => `dnat ip to ${key} . numgen random mod ${n} map @${map}-${p}`);
const MASQ_OFF_CLUSTER = 'ip saddr != 10.42.0.0/16 jump mark-for-masquerade';

interface Case {
  name: string;
  services: ServiceInput[];
  elements: Record<string, Record<string, string>>;
  chains: Record<string, readonly string[]>;
  config?: Partial<ProxyRulesConfig>;
}

const web = (spec: Parameters<typeof service>[1] = {}, o: Parameters<typeof service>[2] = {}) => service('web', { clusterIP: '10.43.0.10', ports: [port(80)], ...spec }, o);

const cases: Case[] = [
  {
    name: 'a ClusterIP Service balances at random over its ready endpoints through the cluster map (hairpin pairs for this node’s endpoints)',
    services: [{ service: web(), slices: [slice('web', [endpoint('10.42.1.3', { node: 'node-b' }), endpoint('10.42.1.2', { node: 'node-a' })])] }],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-2' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080', '10.43.0.10 . tcp . 80 . 1': '10.42.1.3 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: { 'svc-cluster-2': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 2)] },
  },
  {
    name: 'a Service without endpoints is rejected, not black-holed',
    services: [{ service: web(), slices: [] }],
    elements: { 'cluster-ips': { '10.43.0.10': '' }, 'no-endpoint-services': { '10.43.0.10 . tcp . 80': 'goto reject-chain' } },
    chains: {},
  },
  {
    name: 'endpoints that are neither ready nor serving-and-terminating count as none',
    services: [{ service: web(), slices: [slice('web', [endpoint('10.42.1.2', { ready: false }), endpoint('10.42.1.3', { ready: false, serving: true })])] }],
    elements: { 'cluster-ips': { '10.43.0.10': '' }, 'no-endpoint-services': { '10.43.0.10 . tcp . 80': 'goto reject-chain' } },
    chains: {},
  },
  {
    name: 'terminating endpoints are skipped while a ready one exists',
    services: [{ service: web(), slices: [slice('web', [endpoint('10.42.1.2'), endpoint('10.42.1.3', { ready: false, serving: true, terminating: true })])] }],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-1' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: { 'svc-cluster-1': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 1)] },
  },
  {
    name: 'serving terminating endpoints take the traffic when none is ready',
    services: [
      {
        service: web(),
        slices: [slice('web', [endpoint('10.42.1.2', { ready: false, serving: true, terminating: true }), endpoint('10.42.1.3', { ready: false, serving: false, terminating: true })])],
      },
    ],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-1' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: { 'svc-cluster-1': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 1)] },
  },
  {
    name: 'headless and ExternalName Services are left to DNS',
    services: [
      { service: service('headless', { clusterIP: 'None', ports: [port(80)] }), slices: [slice('headless', [endpoint('10.42.1.2')])] },
      { service: service('ext', { type: 'ExternalName', externalName: 'example.org', ports: [port(80)] }), slices: [] },
    ],
    elements: {},
    chains: {},
  },
  {
    name: 'a NodePort Service answers on the node port through the nodeport map, masqueraded',
    services: [{ service: web({ type: 'NodePort', ports: [port(80, { nodePort: 30080 })] }), slices: [slice('web', [endpoint('10.42.1.2')])] }],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-1' },
      'service-nodeports': { 'tcp . 30080': 'goto np-cluster-1' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080' },
      'nodeport-cluster-endpoints-tcp': { 'tcp . 30080 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: {
      'svc-cluster-1': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 1)],
      'np-cluster-1': ['jump mark-for-masquerade', ...DNAT('nodeport-cluster-endpoints', 1, 'meta l4proto . th dport')],
    },
  },
  {
    name: 'a NodePort Service without endpoints rejects on the node port too',
    services: [{ service: web({ type: 'NodePort', ports: [port(80, { nodePort: 30080 })] }), slices: [] }],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'no-endpoint-services': { '10.43.0.10 . tcp . 80': 'goto reject-chain' },
      'no-endpoint-nodeports': { 'tcp . 30080': 'goto reject-chain' },
    },
    chains: {},
  },
  {
    name: 'LoadBalancer ingress IPs in VIP mode are Service IPs; Proxy mode ones are the load balancer’s',
    services: [
      {
        service: web({ type: 'LoadBalancer', ports: [port(80, { nodePort: 30080 })] }, { lbIngress: [{ ip: '192.168.50.10', ipMode: 'VIP' }, { ip: '192.168.50.99', ipMode: 'Proxy' }] }),
        slices: [slice('web', [endpoint('10.42.1.2')])],
      },
    ],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-1', '192.168.50.10 . tcp . 80': 'goto ext-cluster-1' },
      'service-nodeports': { 'tcp . 30080': 'goto np-cluster-1' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080', '192.168.50.10 . tcp . 80 . 0': '10.42.1.2 . 8080' },
      'nodeport-cluster-endpoints-tcp': { 'tcp . 30080 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: {
      'svc-cluster-1': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 1)],
      'ext-cluster-1': ['jump mark-for-masquerade', ...DNAT('cluster-endpoints', 1)],
      'np-cluster-1': ['jump mark-for-masquerade', ...DNAT('nodeport-cluster-endpoints', 1, 'meta l4proto . th dport')],
    },
  },
  {
    name: 'externalTrafficPolicy Local sends external traffic to local endpoints only, short-circuiting pods and the node',
    services: [
      {
        service: web({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [port(80, { nodePort: 30080 })] }),
        slices: [slice('web', [endpoint('10.42.1.2', { node: 'node-a' }), endpoint('10.42.2.2', { node: 'node-b' })])],
      },
    ],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-2' },
      'service-nodeports': { 'tcp . 30080': 'goto np-local-2-1' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080', '10.43.0.10 . tcp . 80 . 1': '10.42.2.2 . 8080' },
      'nodeport-cluster-endpoints-tcp': { 'tcp . 30080 . 0': '10.42.1.2 . 8080', 'tcp . 30080 . 1': '10.42.2.2 . 8080' },
      'nodeport-local-endpoints-tcp': { 'tcp . 30080 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: {
      'svc-cluster-2': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 2)],
      'np-local-2-1': [
        ...DNAT('nodeport-cluster-endpoints', 2, 'meta l4proto . th dport').map((r) => `ip saddr 10.42.0.0/16 ${r} comment "short-circuit pod traffic"`),
        'fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"',
        ...DNAT('nodeport-cluster-endpoints', 2, 'meta l4proto . th dport').map((r) => `fib saddr type local ${r} comment "short-circuit local traffic"`),
        ...DNAT('nodeport-local-endpoints', 1, 'meta l4proto . th dport'),
      ],
    },
  },
  {
    name: 'externalTrafficPolicy Local with no local endpoint drops external traffic (pods and the node still get through)',
    services: [
      {
        service: web({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [port(80, { nodePort: 30080 })] }, { lbIngress: [{ ip: '192.168.50.20' }] }),
        slices: [slice('web', [endpoint('10.42.2.2', { node: 'node-b' })])],
      },
    ],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-1', '192.168.50.20 . tcp . 80': 'goto ext-local-1-0' },
      'service-nodeports': { 'tcp . 30080': 'goto np-local-1-0' },
      'no-endpoint-services': { '192.168.50.20 . tcp . 80': 'drop' },
      'no-endpoint-nodeports': { 'tcp . 30080': 'drop' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.2.2 . 8080', '192.168.50.20 . tcp . 80 . 0': '10.42.2.2 . 8080' },
      'nodeport-cluster-endpoints-tcp': { 'tcp . 30080 . 0': '10.42.2.2 . 8080' },
    },
    chains: {
      'svc-cluster-1': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 1)],
      'ext-local-1-0': [
        ...DNAT('cluster-endpoints', 1).map((r) => `ip saddr 10.42.0.0/16 ${r} comment "short-circuit pod traffic"`),
        'fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"',
        ...DNAT('cluster-endpoints', 1).map((r) => `fib saddr type local ${r} comment "short-circuit local traffic"`),
      ],
      'np-local-1-0': [
        ...DNAT('nodeport-cluster-endpoints', 1, 'meta l4proto . th dport').map((r) => `ip saddr 10.42.0.0/16 ${r} comment "short-circuit pod traffic"`),
        'fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"',
        ...DNAT('nodeport-cluster-endpoints', 1, 'meta l4proto . th dport').map((r) => `fib saddr type local ${r} comment "short-circuit local traffic"`),
      ],
    },
  },
  {
    name: 'internalTrafficPolicy Local sends ClusterIP traffic to local endpoints only',
    services: [{ service: web({ internalTrafficPolicy: 'Local' }), slices: [slice('web', [endpoint('10.42.1.2', { node: 'node-a' }), endpoint('10.42.2.2', { node: 'node-b' })])] }],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-local-1' },
      'local-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: { 'svc-local-1': [MASQ_OFF_CLUSTER, ...DNAT('local-endpoints', 1)] },
  },
  {
    name: 'internalTrafficPolicy Local without a local endpoint drops (endpoints exist elsewhere)',
    services: [{ service: web({ internalTrafficPolicy: 'Local' }), slices: [slice('web', [endpoint('10.42.2.2', { node: 'node-b' })])] }],
    elements: { 'cluster-ips': { '10.43.0.10': '' }, 'no-endpoint-services': { '10.43.0.10 . tcp . 80': 'drop' } },
    chains: {},
  },
  {
    name: 'ports resolve by name and protocol; UDP goes through the UDP map',
    services: [
      {
        service: service('dns', { clusterIP: '10.43.0.53', ports: [port(53, { name: 'dns', protocol: 'UDP' }), port(53, { name: 'dns-tcp', protocol: 'TCP' })] }),
        slices: [slice('dns', [endpoint('10.42.1.7')], [{ name: 'dns', port: 1053, protocol: 'UDP' }, { name: 'dns-tcp', port: 1054, protocol: 'TCP' }])],
      },
    ],
    elements: {
      'cluster-ips': { '10.43.0.53': '' },
      'service-ips': { '10.43.0.53 . udp . 53': 'goto svc-cluster-1', '10.43.0.53 . tcp . 53': 'goto svc-cluster-1' },
      'cluster-endpoints-udp': { '10.43.0.53 . udp . 53 . 0': '10.42.1.7 . 1053' },
      'cluster-endpoints-tcp': { '10.43.0.53 . tcp . 53 . 0': '10.42.1.7 . 1054' },
      'hairpin-ips': { '10.42.1.7 . 10.42.1.7': '' },
    },
    chains: { 'svc-cluster-1': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 1)] },
  },
  {
    name: 'externalIPs are external destinations (masqueraded, Cluster policy)',
    services: [{ service: web({ externalIPs: ['192.168.50.30'] }), slices: [slice('web', [endpoint('10.42.1.2')])] }],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-1', '192.168.50.30 . tcp . 80': 'goto ext-cluster-1' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080', '192.168.50.30 . tcp . 80 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: { 'svc-cluster-1': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 1)], 'ext-cluster-1': ['jump mark-for-masquerade', ...DNAT('cluster-endpoints', 1)] },
  },
  {
    name: 'without a cluster CIDR nothing is treated as local traffic (no ClusterIP masquerade rule)',
    config: { clusterCidr: '' },
    services: [{ service: web(), slices: [slice('web', [endpoint('10.42.1.2')])] }],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-1' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: { 'svc-cluster-1': DNAT('cluster-endpoints', 1) },
  },
  {
    name: 'zone hints narrow the endpoints when every ready endpoint has one and some are for this zone',
    config: { nodeLabels: { 'topology.kubernetes.io/zone': 'zone-a' } },
    services: [
      {
        service: web(),
        slices: [slice('web', [endpoint('10.42.1.2', { zoneHints: ['zone-a'] }), endpoint('10.42.2.2', { zoneHints: ['zone-b'] }), endpoint('10.42.3.2', { zoneHints: ['zone-a'] })])],
      },
    ],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-2' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080', '10.43.0.10 . tcp . 80 . 1': '10.42.3.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '', '10.42.3.2 . 10.42.3.2': '' },
    },
    chains: { 'svc-cluster-2': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 2)] },
  },
  {
    name: 'the same endpoint in two slices counts once',
    services: [{ service: web(), slices: [slice('web', [endpoint('10.42.1.2')], undefined, { name: 'a' }), slice('web', [endpoint('10.42.1.2')], undefined, { name: 'b' })] }],
    elements: {
      'cluster-ips': { '10.43.0.10': '' },
      'service-ips': { '10.43.0.10 . tcp . 80': 'goto svc-cluster-1' },
      'cluster-endpoints-tcp': { '10.43.0.10 . tcp . 80 . 0': '10.42.1.2 . 8080' },
      'hairpin-ips': { '10.42.1.2 . 10.42.1.2': '' },
    },
    chains: { 'svc-cluster-1': [MASQ_OFF_CLUSTER, ...DNAT('cluster-endpoints', 1)] },
  },
];

for (const c of cases) {
  test(c.name, () => {
    const rs = computeRuleset(c.services, { ...cfg, ...c.config });
    assert.deepEqual(elements(rs), c.elements);
    assert.deepEqual(dynamicChains(rs), c.chains);
  });
}

test('upstream names per-Service chains "HASH-namespace/name/protocol/port" (and endpoint chains "…__ip/port")', () => {
  assert.equal(servicePortChainNameBase('ns1', 'svc1', 'tcp', 'p80'), 'ULMVA6XW-ns1/svc1/tcp/p80');
  assert.equal(servicePortChainNameBase('ns2', 'svc2', 'tcp', 'p80'), '42NFTM6N-ns2/svc2/tcp/p80');
  assert.equal(servicePortEndpointChainNameBase('ns1', 'svc1', 'tcp', 'p80', '10.180.0.1', 80), '5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  const long = hashAndTruncate('x'.repeat(300));
  assert.equal(long.length, 240);
  assert.ok(long.endsWith('...'));
});

test('sessionAffinity ClientIP keeps upstream’s shape: per-endpoint chains and timeout sets, numgen into a vmap', () => {
  const svc = web({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } });
  const rs = computeRuleset([{ service: svc, slices: [slice('web', [endpoint('10.42.1.2'), endpoint('10.42.1.3')])] }], cfg);
  const base = servicePortChainNameBase('default', 'web', 'tcp', 'http');
  const ep = (ip: string) => servicePortEndpointChainNameBase('default', 'web', 'tcp', 'http', ip, 8080);
  assert.deepEqual(elements(rs), {
    'cluster-ips': { '10.43.0.10': '' },
    'service-ips': { '10.43.0.10 . tcp . 80': `goto service-${base}` },
  });
  assert.deepEqual(dynamicChains(rs), {
    [`service-${base}`]: [
      `ip daddr 10.43.0.10 tcp dport 80 ${MASQ_OFF_CLUSTER}`,
      `ip saddr @affinity-${ep('10.42.1.2')} goto endpoint-${ep('10.42.1.2')}`,
      `ip saddr @affinity-${ep('10.42.1.3')} goto endpoint-${ep('10.42.1.3')}`,
      `numgen random mod 2 vmap { 0 : goto endpoint-${ep('10.42.1.2')}, 1 : goto endpoint-${ep('10.42.1.3')} }`,
    ],
    [`endpoint-${ep('10.42.1.2')}`]: ['ip saddr 10.42.1.2 jump mark-for-masquerade', `update @affinity-${ep('10.42.1.2')} { ip saddr }`, 'meta l4proto tcp dnat to 10.42.1.2:8080'],
    [`endpoint-${ep('10.42.1.3')}`]: ['ip saddr 10.42.1.3 jump mark-for-masquerade', `update @affinity-${ep('10.42.1.3')} { ip saddr }`, 'meta l4proto tcp dnat to 10.42.1.3:8080'],
  });
  const set = rs.sets.get(`affinity-${ep('10.42.1.2')}`);
  assert.deepEqual(set, { name: `affinity-${ep('10.42.1.2')}`, kind: 'set', type: 'type ipv4_addr', flags: ['dynamic', 'timeout'], timeoutSeconds: 600 });
});

test('sessionAffinity ClientIP without a timeout uses upstream’s default of 10800 s', () => {
  const svc = web({ sessionAffinity: 'ClientIP' });
  const rs = computeRuleset([{ service: svc, slices: [slice('web', [endpoint('10.42.1.2')])] }], cfg);
  const timeouts = [...rs.sets.values()].filter((s) => s.name.startsWith('affinity-')).map((s) => s.timeoutSeconds);
  assert.deepEqual(timeouts, [10800]);
});

test('loadBalancerSourceRanges put LoadBalancer IPs behind a firewall chain (the node’s own VIP traffic allowed when the node is in range)', () => {
  const svc = web({ type: 'LoadBalancer', loadBalancerSourceRanges: [' 192.168.50.0/24 ', '172.16.0.0/12'], ports: [port(80, { nodePort: 30080 })] }, { lbIngress: [{ ip: '192.168.50.10' }] });
  const rs = computeRuleset([{ service: svc, slices: [slice('web', [endpoint('10.42.1.2')])] }], cfg);
  const fw = `firewall-${servicePortChainNameBase('default', 'web', 'tcp', 'http')}`;
  assert.deepEqual(Object.fromEntries(rs.elements.get('firewall-ips')!), { '192.168.50.10 . tcp . 80': `goto ${fw}` });
  assert.deepEqual(rs.chains.get(fw)?.rules, ['ip saddr != { 192.168.50.0/24, 172.16.0.0/12, 192.168.50.10 } drop']);
});

test('NodePorts answer on the node’s addresses, never on localhost', () => {
  const rs = computeRuleset([], cfg);
  assert.deepEqual([...rs.elements.get('nodeport-ips')!.keys()], ['192.168.50.10']);
});

test('the static skeleton has upstream’s base chains, priorities and masquerade mark', () => {
  const base = baseRuleset(cfg);
  const bases = base.chains.filter((c) => c.base).map((c) => `${c.name} ${c.base!.type} ${c.base!.hook} ${c.base!.priority}`);
  assert.deepEqual(bases, [
    'filter-prerouting filter prerouting -110',
    'filter-prerouting-post-dnat filter prerouting -90',
    'filter-input filter input -110',
    'filter-forward filter forward -110',
    'filter-output filter output -110',
    'filter-output-post-dnat filter output -90',
    'nat-prerouting nat prerouting -100',
    'nat-output nat output -100',
    'nat-postrouting nat postrouting 100',
  ]);
  assert.equal(masqueradeMark(14), '0x004000');
  const rules = (n: string) => base.chains.find((c) => c.name === n)!.rules;
  assert.deepEqual(rules('mark-for-masquerade'), ['mark set mark or 0x004000']);
  assert.deepEqual(rules('cluster-ips-check'), [
    'ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"',
    'ip daddr { 10.43.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"',
  ]);
  assert.deepEqual(rules('services'), ['ip daddr . meta l4proto . th dport vmap @service-ips', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports']);
});

test('a LoadBalancer IP:port two Services claim goes to the first by namespace/name, whatever the order', () => {
  const a = service('a', { type: 'LoadBalancer', clusterIP: '10.43.0.1', ports: [port(80)] }, { lbIngress: [{ ip: '192.168.50.10' }] });
  const b = service('b', { type: 'LoadBalancer', clusterIP: '10.43.0.2', ports: [port(80)] }, { lbIngress: [{ ip: '192.168.50.10' }] });
  const ins = [
    { service: a, slices: [slice('a', [endpoint('10.42.1.2')])] },
    { service: b, slices: [slice('b', [endpoint('10.42.1.3'), endpoint('10.42.1.4')])] },
  ];
  for (const order of [ins, [...ins].reverse()]) {
    const rs = computeRuleset(order, cfg);
    assert.equal(rs.elements.get('service-ips')!.get('192.168.50.10 . tcp . 80'), 'goto ext-cluster-1');
    assert.equal(rs.elements.get('cluster-endpoints-tcp')!.get('192.168.50.10 . tcp . 80 . 0'), '10.42.1.2 . 8080');
  }
});

// NetworkPolicy semantics, table-driven after upstream's e2e NetworkPolicy suite (namespaces x, y, z;
// pods a, b, c serving named ports serve-80-tcp, serve-81-tcp and serve-81-udp), on two nodes: a
// connection passes when the source's node lets it out and the destination's node lets it in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALWAYS_ALLOWED_SET, evaluate, type Packet, type Proto } from './model.ts';
import { computeRuleset, mergePorts, type NetpolInput } from './rules.ts';
import { cidrRange, intToIPv4, subtractRanges } from './ranges.ts';
import type { Namespace, NetworkPolicy, Pod } from './types.ts';

const PODS: [string, string, string, string][] = [
  // namespace, name, ip, node
  ['x', 'a', '10.42.1.1', 'node-1'],
  ['x', 'b', '10.42.1.2', 'node-1'],
  ['x', 'c', '10.42.2.3', 'node-2'],
  ['y', 'a', '10.42.1.4', 'node-1'],
  ['y', 'b', '10.42.2.5', 'node-2'],
  ['z', 'a', '10.42.1.6', 'node-1'],
  ['z', 'b', '10.42.2.7', 'node-2'],
];

function pod(ns: string, name: string, ip: string, node: string, o: { phase?: string; hostNetwork?: boolean } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: ns, name, labels: { pod: name } },
    spec: {
      nodeName: node,
      hostNetwork: o.hostNetwork,
      containers: [
        {
          name: 'srv',
          ports: [
            { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
            { name: 'serve-81-tcp', containerPort: 81 },
            { name: 'serve-81-udp', containerPort: 81, protocol: 'UDP' },
          ],
        },
      ],
    },
    status: { phase: o.phase ?? 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

const NAMESPACES: Namespace[] = ['x', 'y', 'z'].map((n) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n, labels: { ns: n } } }));

function policy(ns: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: ns, name }, spec };
}

const ipOf = (p: string) => {
  const [ns, name] = p.split('/');
  return PODS.find(([n, m]) => n === ns && m === name)?.[2] ?? p;
};
const nodeOf = (ip: string) => PODS.find(([, , i]) => i === ip)?.[3];

/** Whether `src` (ns/name or an address) may open a connection to `dst` on proto/port. */
function reach(input: Omit<NetpolInput, 'nodeName'>, src: string, dst: string, proto: Proto | 'icmp' = 'tcp', port = 80): boolean {
  const pkt: Packet = { src: ipOf(src), dst: ipOf(dst), proto, dport: proto === 'icmp' ? undefined : port };
  // every node a packet crosses filters it: the source's (egress) and the destination's (ingress)
  const nodes = new Set([nodeOf(pkt.src), nodeOf(pkt.dst)].filter((n): n is string => !!n));
  return [...nodes].every((nodeName) => evaluate(computeRuleset({ ...input, nodeName }), pkt) === 'accept');
}

const base = (policies: NetworkPolicy[], extra: Partial<Omit<NetpolInput, 'nodeName'>> = {}) => ({
  policies,
  pods: PODS.map(([ns, n, ip, node]) => pod(ns, n, ip, node)),
  namespaces: NAMESPACES,
  ...extra,
});

type Probe = [src: string, dst: string, proto: Proto | 'icmp', port: number, allowed: boolean];

const CASES: { name: string; policies: NetworkPolicy[]; probes: Probe[]; extra?: Partial<Omit<NetpolInput, 'nodeName'>> }[] = [
  {
    name: 'no policy: everything is allowed',
    policies: [],
    probes: [['y/b', 'x/a', 'tcp', 80, true], ['x/a', 'z/b', 'udp', 81, true]],
  },
  {
    name: 'default-deny-ingress: nothing reaches the namespace pods, their egress is untouched',
    policies: [policy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })],
    probes: [
      ['y/a', 'x/a', 'tcp', 80, false],
      ['x/b', 'x/a', 'tcp', 80, false],
      ['y/b', 'x/c', 'tcp', 80, false],
      ['x/a', 'y/a', 'tcp', 80, true],
      ['y/a', 'z/a', 'tcp', 80, true],
    ],
  },
  {
    name: 'policyTypes defaults to Ingress when absent',
    policies: [policy('x', 'deny', { podSelector: {} })],
    probes: [['y/a', 'x/a', 'tcp', 80, false], ['x/a', 'y/a', 'tcp', 80, true]],
  },
  {
    name: 'default-deny-all: neither in nor out, but a pod reaches itself',
    policies: [policy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
    probes: [
      ['y/a', 'x/a', 'tcp', 80, false],
      ['x/a', 'y/a', 'tcp', 80, false],
      ['x/a', 'x/b', 'tcp', 80, false],
      ['x/a', 'x/a', 'tcp', 80, true],
    ],
  },
  {
    name: 'allow from pods of the server namespace by podSelector',
    policies: [policy('x', 'allow-b', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    probes: [
      ['x/b', 'x/a', 'tcp', 80, true],
      ['x/c', 'x/a', 'tcp', 80, false],
      ['y/b', 'x/a', 'tcp', 80, false],
      ['y/a', 'x/b', 'tcp', 80, true],
    ],
  },
  {
    name: 'allow from another namespace by namespaceSelector',
    policies: [policy('x', 'allow-y', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] })],
    probes: [
      ['y/a', 'x/a', 'tcp', 80, true],
      ['y/b', 'x/a', 'tcp', 80, true],
      ['x/b', 'x/a', 'tcp', 80, false],
      ['z/a', 'x/a', 'tcp', 80, false],
    ],
  },
  {
    name: 'namespaceSelector by the automatic kubernetes.io/metadata.name label',
    policies: [policy('x', 'allow-z', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' } } }] }] })],
    probes: [['z/b', 'x/a', 'tcp', 80, true], ['y/a', 'x/a', 'tcp', 80, false]],
  },
  {
    name: 'podSelector and namespaceSelector in one peer: pods matching both',
    policies: [policy('x', 'and', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    probes: [
      ['y/b', 'x/a', 'tcp', 80, true],
      ['y/a', 'x/a', 'tcp', 80, false],
      ['x/b', 'x/a', 'tcp', 80, false],
      ['z/b', 'x/a', 'tcp', 80, false],
    ],
  },
  {
    name: 'podSelector or namespaceSelector as two peers: either',
    policies: [policy('x', 'or', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    probes: [
      ['y/a', 'x/a', 'tcp', 80, true],
      ['x/b', 'x/a', 'tcp', 80, true],
      ['z/b', 'x/a', 'tcp', 80, false],
      ['x/c', 'x/a', 'tcp', 80, false],
    ],
  },
  {
    name: 'matchExpressions in selectors',
    policies: [policy('x', 'expr', { podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a'] }] }, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['y'] }] } }] }] })],
    probes: [['z/a', 'x/a', 'tcp', 80, true], ['x/b', 'x/a', 'tcp', 80, true], ['y/a', 'x/a', 'tcp', 80, false], ['y/a', 'x/b', 'tcp', 80, true]],
  },
  {
    name: 'ports by number: only that port and protocol',
    policies: [policy('x', 'p81', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 81, protocol: 'TCP' }] }] })],
    probes: [
      ['x/b', 'x/a', 'tcp', 81, true],
      ['x/b', 'x/a', 'tcp', 80, false],
      ['x/b', 'x/a', 'udp', 81, false],
      ['x/b', 'x/a', 'icmp', 0, false],
    ],
  },
  {
    name: 'a port without protocol is TCP; a protocol without port is every port of it',
    policies: [policy('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 80 }, { protocol: 'UDP' }] }] })],
    probes: [['y/a', 'x/a', 'tcp', 80, true], ['y/a', 'x/a', 'udp', 80, true], ['y/a', 'x/a', 'udp', 5353, true], ['y/a', 'x/a', 'tcp', 81, false]],
  },
  {
    name: 'named ports resolve on the selected pod, with their protocol',
    policies: [policy('x', 'named', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 'serve-80-tcp' }, { port: 'serve-81-udp', protocol: 'UDP' }] }] })],
    probes: [
      ['y/a', 'x/a', 'tcp', 80, true],
      ['y/a', 'x/a', 'tcp', 81, false],
      ['y/a', 'x/a', 'udp', 81, true],
      ['y/a', 'x/a', 'udp', 80, false],
    ],
  },
  {
    name: 'a named port with another protocol than declared matches nothing',
    policies: [policy('x', 'named', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 'serve-80-tcp', protocol: 'UDP' }] }] })],
    probes: [['y/a', 'x/a', 'tcp', 80, false], ['y/a', 'x/a', 'udp', 80, false]],
  },
  {
    name: 'endPort allows the whole range',
    policies: [policy('x', 'range', { podSelector: {}, ingress: [{ ports: [{ port: 80, endPort: 81, protocol: 'TCP' }] }] })],
    probes: [['y/a', 'x/a', 'tcp', 80, true], ['y/a', 'x/a', 'tcp', 81, true], ['y/a', 'x/a', 'tcp', 82, false], ['y/a', 'x/a', 'tcp', 79, false]],
  },
  {
    name: 'ipBlock with except for ingress',
    policies: [policy('x', 'cidr', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.42.2.0/24', except: ['10.42.2.5/32'] } }] }] })],
    probes: [
      ['x/c', 'x/a', 'tcp', 80, true],
      ['z/b', 'x/a', 'tcp', 80, true],
      ['y/b', 'x/a', 'tcp', 80, false],
      ['x/b', 'x/a', 'tcp', 80, false],
      ['10.42.2.200', 'x/a', 'tcp', 80, true],
      ['192.0.2.1', 'x/a', 'tcp', 80, false],
    ],
  },
  {
    name: 'egress to a pod by namespaceSelector and podSelector',
    policies: [policy('x', 'egress', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'a' } } }] }] })],
    probes: [
      ['x/a', 'y/a', 'tcp', 80, true],
      ['x/a', 'y/b', 'tcp', 80, false],
      ['x/a', 'x/b', 'tcp', 80, false],
      ['x/b', 'y/b', 'tcp', 80, true],
      ['y/b', 'x/a', 'tcp', 80, true],
    ],
  },
  {
    name: 'egress except clause in a CIDR block',
    policies: [policy('x', 'egress-cidr', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.1.4/32'] } }] }] })],
    probes: [['x/a', 'y/b', 'tcp', 80, true], ['x/a', 'y/a', 'tcp', 80, false], ['x/a', '192.0.2.1', 'tcp', 443, false]],
  },
  {
    name: 'egress named port resolves on each destination pod; addresses that are not pods match none',
    policies: [policy('x', 'egress-named', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    probes: [['x/a', 'y/b', 'tcp', 81, true], ['x/a', 'y/b', 'tcp', 80, false], ['x/a', 'z/a', 'tcp', 81, true], ['x/a', '192.0.2.1', 'tcp', 81, false]],
  },
  {
    name: 'egress deny still lets pods reach the cluster DNS on port 53',
    policies: [policy('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    extra: { alwaysAllowed: [{ ip: '10.200.0.2', proto: 'udp', port: 53 }, { ip: '10.200.0.2', proto: 'tcp', port: 53 }] },
    probes: [['x/a', '10.200.0.2', 'udp', 53, true], ['x/a', '10.200.0.2', 'tcp', 53, true], ['x/a', '10.200.0.2', 'tcp', 80, false], ['x/a', 'y/a', 'tcp', 80, false]],
  },
  {
    name: 'allow-all ingress rule admits everything even beside a deny policy',
    policies: [policy('x', 'deny', { podSelector: {} }), policy('x', 'allow-all', { podSelector: {}, ingress: [{}] })],
    probes: [['y/a', 'x/a', 'tcp', 80, true], ['192.0.2.1', 'x/a', 'udp', 9, true], ['y/a', 'x/a', 'icmp', 0, true]],
  },
  {
    name: 'stacked policies on the same pods add up',
    policies: [
      policy('x', 'p80', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 80 }] }] }),
      policy('x', 'p81-from-y', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 81 }] }] }),
    ],
    probes: [['z/a', 'x/a', 'tcp', 80, true], ['z/a', 'x/a', 'tcp', 81, false], ['y/a', 'x/a', 'tcp', 81, true], ['y/a', 'x/b', 'tcp', 80, false], ['y/a', 'x/b', 'tcp', 81, true]],
  },
  {
    name: 'a policy in another namespace does not isolate these pods',
    policies: [policy('y', 'deny', { podSelector: { matchLabels: { pod: 'a' } } })],
    probes: [['x/b', 'x/a', 'tcp', 80, true], ['x/b', 'y/a', 'tcp', 80, false]],
  },
  {
    name: 'a rule whose peers select no pod allows nothing',
    policies: [policy('x', 'nobody', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'nobody' } } }] }] })],
    probes: [['x/b', 'x/a', 'tcp', 80, false], ['y/a', 'x/a', 'tcp', 80, false]],
  },
];

for (const c of CASES) {
  test(c.name, () => {
    const input = base(c.policies, c.extra);
    const got = c.probes.map(([s, d, proto, port]) => `${s} -> ${d} ${proto}/${port}: ${reach(input, s, d, proto, port) ? 'allowed' : 'denied'}`);
    const want = c.probes.map(([s, d, proto, port, ok]) => `${s} -> ${d} ${proto}/${port}: ${ok ? 'allowed' : 'denied'}`);
    assert.deepEqual(got, want);
  });
}

test('finished pods and host-network pods are never peers nor isolated', () => {
  const pods = [pod('x', 'a', '10.42.1.1', 'node-1'), pod('x', 'b', '10.42.1.2', 'node-1', { phase: 'Succeeded' }), pod('x', 'h', '10.200.0.1', 'node-1', { hostNetwork: true })];
  const m = computeRuleset({
    nodeName: 'node-1',
    namespaces: NAMESPACES,
    pods,
    policies: [policy('x', 'from-b', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }, { podSelector: { matchLabels: { pod: 'h' } } }] }] })],
  });
  assert.deepEqual([...m.ingress.keys()], ['10.42.1.1']);
  assert.equal(evaluate(m, { src: '10.42.1.2', dst: '10.42.1.1', proto: 'tcp', dport: 80 }), 'drop');
  assert.equal(evaluate(m, { src: '10.200.0.1', dst: '10.42.1.1', proto: 'tcp', dport: 80 }), 'drop');
});

test('only this node\'s pods get chains; peers come from every node', () => {
  const input = base([policy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
  const n1 = computeRuleset({ ...input, nodeName: 'node-1' });
  const n2 = computeRuleset({ ...input, nodeName: 'node-2' });
  assert.deepEqual([...n1.ingress.keys()].sort(), ['10.42.1.1', '10.42.1.2']);
  assert.deepEqual([...n2.ingress.keys()], ['10.42.2.3']);
  assert.deepEqual([...n1.egress.keys()].sort(), ['10.42.1.1', '10.42.1.2']);
  assert.ok(n1.sets.has(ALWAYS_ALLOWED_SET));
});

test('the same input gives the same ruleset (names and order), so unchanged syncs write nothing', () => {
  const input = { ...base(CASES.flatMap((c) => c.policies)), nodeName: 'node-1' };
  const a = computeRuleset(input);
  const b = computeRuleset({ ...input, pods: [...input.pods].reverse(), policies: [...input.policies].reverse() });
  assert.deepEqual([...a.chains.entries()], [...b.chains.entries()]);
  assert.deepEqual([...a.sets.entries()].sort(), [...b.sets.entries()].sort());
});

test('ranges: a CIDR less its excepts, ports merged per protocol', () => {
  const r = subtractRanges([cidrRange('10.0.0.0/24')!], [cidrRange('10.0.0.0/26')!, cidrRange('10.0.0.128/32')!]);
  assert.deepEqual(r.map((x) => `${intToIPv4(x.from)}-${intToIPv4(x.to)}`), ['10.0.0.64-10.0.0.127', '10.0.0.129-10.0.0.255']);
  assert.equal(cidrRange('fd00::/8'), undefined);
  assert.deepEqual(cidrRange('10.1.2.3/16'), cidrRange('10.1.0.0/16'));
  assert.deepEqual(mergePorts([{ proto: 'tcp', from: 80, to: 90 }, { proto: 'tcp', from: 85, to: 100 }, { proto: 'udp', from: 53, to: 53 }]), [
    { proto: 'tcp', from: 80, to: 100 },
    { proto: 'udp', from: 53, to: 53 },
  ]);
});

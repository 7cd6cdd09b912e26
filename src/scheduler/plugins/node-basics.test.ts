// NodeName, NodeUnschedulable, TaintToleration and NodePorts, with upstream's test cases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ok, runFilter, runScore, unresolvable, unschedulable } from '../plugin-harness.ts';
import { makeNode, makePod, testEnv } from '../testing.ts';
import type { Taint, Toleration } from '../types.ts';
import { newNodeName } from './node-name.ts';
import { newNodePorts } from './node-ports.ts';
import { newNodeUnschedulable } from './node-unschedulable.ts';
import { newTaintToleration } from './taint-toleration.ts';

describe('NodeName', () => {
  const env = testEnv([makeNode('foo')]);
  for (const [name, nodeName, want] of [
    ['a pod without a node name fits any node', undefined, ok],
    ['a pod naming the node fits it', 'foo', ok],
    ["a pod naming another node doesn't fit", 'bar', unresolvable("node(s) didn't match the requested node name")],
  ] as const) {
    test(name, () => {
      assert.deepEqual(runFilter(newNodeName(), env.handle, makePod('p', nodeName ? { nodeName } : {})).foo, want);
    });
  }
});

describe('NodeUnschedulable', () => {
  const cordoned = testEnv([makeNode('n', { unschedulable: true })]);
  const normal = testEnv([makeNode('n')]);
  test('a cordoned node is refused', () => {
    assert.deepEqual(runFilter(newNodeUnschedulable(), cordoned.handle, makePod('p')).n, unresolvable('node(s) were unschedulable'));
  });
  test('a normal node is accepted', () => {
    assert.deepEqual(runFilter(newNodeUnschedulable(), normal.handle, makePod('p')).n, ok);
  });
  test('a pod tolerating node.kubernetes.io/unschedulable:NoSchedule may use a cordoned node', () => {
    const pod = makePod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
    assert.deepEqual(runFilter(newNodeUnschedulable(), cordoned.handle, pod).n, ok);
  });
});

describe('TaintToleration filter', () => {
  const t = (key: string, value: string, effect: string): Taint => ({ key, value, effect });
  const cases: { name: string; tolerations?: Toleration[]; taints: Taint[]; want: ReturnType<typeof unresolvable> }[] = [
    { name: "a pod without tolerations can't use a tainted node", taints: [t('dedicated', 'user1', 'NoSchedule')], want: unresolvable('node(s) had untolerated taint {dedicated: user1}') },
    {
      name: 'a pod tolerating the dedicated taint can use the node',
      tolerations: [{ key: 'dedicated', value: 'user1', effect: 'NoSchedule' }],
      taints: [t('dedicated', 'user1', 'NoSchedule')],
      want: ok,
    },
    {
      name: 'a toleration for another value does not help',
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' }],
      taints: [t('dedicated', 'user1', 'NoSchedule')],
      want: unresolvable('node(s) had untolerated taint {dedicated: user1}'),
    },
    { name: 'Exists tolerates any value', tolerations: [{ key: 'foo', operator: 'Exists', effect: 'NoSchedule' }], taints: [t('foo', 'bar', 'NoSchedule')], want: ok },
    {
      name: 'every taint tolerated: fits',
      tolerations: [
        { key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' },
        { key: 'foo', operator: 'Exists', effect: 'NoSchedule' },
      ],
      taints: [t('dedicated', 'user2', 'NoSchedule'), t('foo', 'bar', 'NoSchedule')],
      want: ok,
    },
    {
      name: 'a matching toleration with another (non-empty) effect does not help',
      tolerations: [{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }],
      taints: [t('foo', 'bar', 'NoSchedule')],
      want: unresolvable('node(s) had untolerated taint {foo: bar}'),
    },
    { name: 'a toleration without effect tolerates every effect', tolerations: [{ key: 'foo', operator: 'Equal', value: 'bar' }], taints: [t('foo', 'bar', 'NoSchedule')], want: ok },
    {
      name: 'PreferNoSchedule taints do not filter',
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'user2', effect: 'NoSchedule' }],
      taints: [t('dedicated', 'user1', 'PreferNoSchedule')],
      want: ok,
    },
    { name: 'NoExecute taints filter like NoSchedule', taints: [t('node.kubernetes.io/not-ready', '', 'NoExecute')], want: unresolvable('node(s) had untolerated taint {node.kubernetes.io/not-ready: }') },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = testEnv([makeNode('n', { taints: c.taints })]);
      assert.deepEqual(runFilter(newTaintToleration(), env.handle, makePod('p', c.tolerations ? { tolerations: c.tolerations } : {})).n, c.want);
    });
  }
});

describe('TaintToleration score', () => {
  const pns = (key: string, value: string): Taint => ({ key, value, effect: 'PreferNoSchedule' });
  const cases: { name: string; tolerations: Toleration[]; nodes: [string, Taint[]][]; want: Record<string, number> }[] = [
    {
      name: 'nodes whose taints are tolerated score higher than nodes with intolerable taints',
      tolerations: [{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }],
      nodes: [
        ['nodeA', [pns('foo', 'bar')]],
        ['nodeB', [pns('foo', 'blah')]],
      ],
      want: { nodeA: 100, nodeB: 0 },
    },
    {
      name: 'nodes whose taints are all tolerated score the same however many they have',
      tolerations: [
        { key: 'cpu-type', operator: 'Equal', value: 'arm64', effect: 'PreferNoSchedule' },
        { key: 'disk-type', operator: 'Equal', value: 'ssd', effect: 'PreferNoSchedule' },
      ],
      nodes: [
        ['nodeA', []],
        ['nodeB', [pns('cpu-type', 'arm64')]],
        ['nodeC', [pns('cpu-type', 'arm64'), pns('disk-type', 'ssd')]],
      ],
      want: { nodeA: 100, nodeB: 100, nodeC: 100 },
    },
    {
      name: 'the more intolerable taints, the lower the score',
      tolerations: [{ key: 'foo', operator: 'Equal', value: 'bar', effect: 'PreferNoSchedule' }],
      nodes: [
        ['nodeA', []],
        ['nodeB', [pns('cpu-type', 'arm64')]],
        ['nodeC', [pns('cpu-type', 'arm64'), pns('disk-type', 'ssd')]],
      ],
      want: { nodeA: 100, nodeB: 50, nodeC: 0 },
    },
    {
      name: 'only PreferNoSchedule taints and tolerations count',
      tolerations: [
        { key: 'cpu-type', operator: 'Equal', value: 'arm64', effect: 'NoSchedule' },
        { key: 'disk-type', operator: 'Equal', value: 'ssd', effect: 'NoSchedule' },
      ],
      nodes: [
        ['nodeA', []],
        ['nodeB', [{ key: 'cpu-type', value: 'arm64', effect: 'NoSchedule' }]],
        ['nodeC', [pns('cpu-type', 'arm64'), pns('disk-type', 'ssd')]],
      ],
      want: { nodeA: 100, nodeB: 100, nodeC: 0 },
    },
    { name: 'without tolerations the untainted node wins', tolerations: [], nodes: [['nodeA', []], ['nodeB', [pns('cpu-type', 'arm64')]]], want: { nodeA: 100, nodeB: 0 } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = testEnv(c.nodes.map(([n, taints]) => makeNode(n, { taints })));
      assert.deepEqual(runScore(newTaintToleration(), env.handle, makePod('p', { tolerations: c.tolerations })), c.want);
    });
  }
});

describe('NodePorts', () => {
  type HP = { port: number; protocol?: string; ip?: string };
  const cases: { name: string; pod: HP[]; existing: HP[]; conflict: boolean }[] = [
    { name: 'no host ports: nothing to check', pod: [], existing: [{ port: 8080 }], conflict: false },
    { name: 'other ports in use', pod: [{ port: 8080, protocol: 'UDP', ip: '127.0.0.1' }], existing: [{ port: 9090, protocol: 'UDP', ip: '127.0.0.1' }], conflict: false },
    { name: 'same udp port', pod: [{ port: 8080, protocol: 'UDP', ip: '127.0.0.1' }], existing: [{ port: 8080, protocol: 'UDP', ip: '127.0.0.1' }], conflict: true },
    { name: 'same tcp port', pod: [{ port: 8080, ip: '127.0.0.1' }], existing: [{ port: 8080, ip: '127.0.0.1' }], conflict: true },
    { name: 'different host ip', pod: [{ port: 8080, ip: '127.0.0.1' }], existing: [{ port: 8080, ip: '127.0.0.2' }], conflict: false },
    { name: 'different protocol', pod: [{ port: 8080, protocol: 'UDP', ip: '127.0.0.1' }], existing: [{ port: 8080, ip: '127.0.0.1' }], conflict: false },
    { name: '0.0.0.0 conflicts with a specific IP', pod: [{ port: 8001, ip: '0.0.0.0' }], existing: [{ port: 8001, ip: '127.0.0.1' }], conflict: true },
    { name: 'a specific IP conflicts with 0.0.0.0', pod: [{ port: 8001, ip: '10.0.10.10' }], existing: [{ port: 8001, ip: '0.0.0.0' }], conflict: true },
    { name: 'no host IP means 0.0.0.0', pod: [{ port: 8001 }], existing: [{ port: 8001, ip: '10.0.10.10' }], conflict: true },
    { name: '0.0.0.0 of another protocol does not conflict', pod: [{ port: 8001, protocol: 'UDP', ip: '0.0.0.0' }], existing: [{ port: 8001, ip: '0.0.0.0' }], conflict: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = testEnv([makeNode('n')], [makePod('existing', { nodeName: 'n', hostPorts: c.existing })]);
      const got = runFilter(newNodePorts(), env.handle, makePod('p', c.pod.length ? { hostPorts: c.pod } : {})).n;
      assert.deepEqual(got, c.conflict ? unschedulable("node(s) didn't have free ports for the requested pod ports") : ok);
    });
  }
  test('the ports are free again once the pod holding them is removed', () => {
    const holder = makePod('holder', { nodeName: 'n', hostPorts: [{ port: 80 }] });
    const env = testEnv([makeNode('n')], [holder]);
    const pod = makePod('p', { hostPorts: [{ port: 80 }] });
    assert.equal(runFilter(newNodePorts(), env.handle, pod).n!.code, 'Unschedulable');
    env.cache.removePod(holder);
    assert.deepEqual(runFilter(newNodePorts(), env.handle, pod).n, ok);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { selectorFromSet } from '../../api/labels.ts';
import { CycleState } from '../framework/cycle-state.ts';
import { podInfoOf } from '../podinfo.ts';
import { ok, runFilter, runScore, unresolvable, unschedulable } from '../plugin-harness.ts';
import { makeNode, makePod, testEnv } from '../testing.ts';
import type { Pod, TopologySpreadConstraint } from '../types.ts';
import { newPodTopologySpread } from './pod-topology-spread.ts';

const SKEW = unschedulable("node(s) didn't match pod topology spread constraints");
const MISSING = unresolvable("node(s) didn't match pod topology spread constraints (missing required label)");

const zones = (extra: { name: string; labels?: Record<string, string>; taints?: { key: string; value: string; effect: string }[] }[] = []) => [
  makeNode('node-a', { labels: { zone: 'zone1' } }),
  makeNode('node-b', { labels: { zone: 'zone1' } }),
  makeNode('node-x', { labels: { zone: 'zone2' } }),
  makeNode('node-y', { labels: { zone: 'zone2' } }),
  ...extra.map((e) => makeNode(e.name, { labels: e.labels ?? {}, ...(e.taints ? { taints: e.taints } : {}) })),
];
let n = 0;
const foo = (node: string, o: Parameters<typeof makePod>[1] = {}): Pod => makePod(`foo-${++n}`, { nodeName: node, labels: { foo: 'bar' }, ...o });
const hard = (maxSkew: number, topologyKey: string, extra: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew,
  topologyKey,
  whenUnsatisfiable: 'DoNotSchedule',
  labelSelector: { matchLabels: { foo: 'bar' } },
  ...extra,
});
const soft = (maxSkew: number, topologyKey: string): TopologySpreadConstraint => ({ ...hard(maxSkew, topologyKey), whenUnsatisfiable: 'ScheduleAnyway' });

describe('PodTopologySpread filter', () => {
  const cases: { name: string; nodes?: ReturnType<typeof zones>; existing: Pod[]; pod: Parameters<typeof makePod>[1]; want: Record<string, typeof ok> }[] = [
    {
      name: 'zones holding 2 and 1 matching pods, maxSkew 1: only the emptier zone',
      existing: [foo('node-a'), foo('node-b'), foo('node-x')],
      pod: { labels: { foo: 'bar' }, spread: [hard(1, 'zone')] },
      want: { 'node-a': SKEW, 'node-b': SKEW, 'node-x': ok, 'node-y': ok },
    },
    {
      name: 'a pod outside its own selector does not add to the skew',
      existing: [foo('node-a'), foo('node-b'), foo('node-x')],
      pod: { labels: { foo: 'other' }, spread: [hard(1, 'zone')] },
      want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
    },
    {
      name: 'a node without the topology key is refused for good',
      nodes: zones([{ name: 'node-z' }]),
      existing: [],
      pod: { labels: { foo: 'bar' }, spread: [hard(1, 'zone')] },
      want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok, 'node-z': MISSING },
    },
    {
      name: 'fewer domains than minDomains: the global minimum counts as 0',
      existing: [foo('node-a'), foo('node-x')],
      pod: { labels: { foo: 'bar' }, spread: [hard(1, 'zone', { minDomains: 3 })] },
      want: { 'node-a': SKEW, 'node-b': SKEW, 'node-x': SKEW, 'node-y': SKEW },
    },
    {
      name: 'enough domains for minDomains: the real minimum applies',
      existing: [foo('node-a'), foo('node-x')],
      pod: { labels: { foo: 'bar' }, spread: [hard(1, 'zone', { minDomains: 2 })] },
      want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
    },
    {
      name: 'two constraints must both hold (zone and hostname)',
      existing: [foo('node-a'), foo('node-x')],
      pod: { labels: { foo: 'bar' }, spread: [hard(1, 'zone'), hard(1, 'kubernetes.io/hostname')] },
      want: { 'node-a': SKEW, 'node-b': ok, 'node-x': SKEW, 'node-y': ok },
    },
    {
      name: "nodeAffinityPolicy Honor (the default) counts only nodes the pod's node selector allows",
      nodes: [
        makeNode('node-a', { labels: { zone: 'zone1', env: 'prod' } }),
        makeNode('node-b', { labels: { zone: 'zone1', env: 'prod' } }),
        makeNode('node-x', { labels: { zone: 'zone2', env: 'prod' } }),
        makeNode('node-y', { labels: { zone: 'zone2' } }),
      ],
      existing: [foo('node-a'), foo('node-y'), foo('node-y'), foo('node-y')],
      pod: { labels: { foo: 'bar' }, nodeSelector: { env: 'prod' }, spread: [hard(1, 'zone')] },
      want: { 'node-a': SKEW, 'node-b': SKEW, 'node-x': ok, 'node-y': ok },
    },
    {
      name: 'nodeAffinityPolicy Ignore counts every node',
      nodes: [
        makeNode('node-a', { labels: { zone: 'zone1', env: 'prod' } }),
        makeNode('node-b', { labels: { zone: 'zone1', env: 'prod' } }),
        makeNode('node-x', { labels: { zone: 'zone2', env: 'prod' } }),
        makeNode('node-y', { labels: { zone: 'zone2' } }),
      ],
      existing: [foo('node-a'), foo('node-y'), foo('node-y'), foo('node-y')],
      pod: { labels: { foo: 'bar' }, nodeSelector: { env: 'prod' }, spread: [hard(1, 'zone', { nodeAffinityPolicy: 'Ignore' })] },
      want: { 'node-a': ok, 'node-b': ok, 'node-x': SKEW, 'node-y': SKEW },
    },
    {
      name: 'nodeTaintsPolicy Honor leaves tainted nodes out of the count',
      nodes: zones([{ name: 'node-t', labels: { zone: 'zone3' }, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }]),
      existing: [foo('node-a'), foo('node-x')],
      pod: { labels: { foo: 'bar' }, spread: [hard(1, 'zone', { nodeTaintsPolicy: 'Honor' })] },
      // zone3 (0 pods) only exists through the tainted node, which does not count: the minimum is 1
      want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok, 'node-t': ok },
    },
    {
      name: 'nodeTaintsPolicy Ignore (the default) counts the tainted zone as empty',
      nodes: zones([{ name: 'node-t', labels: { zone: 'zone3' }, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }]),
      existing: [foo('node-a'), foo('node-x')],
      pod: { labels: { foo: 'bar' }, spread: [hard(1, 'zone')] },
      want: { 'node-a': SKEW, 'node-b': SKEW, 'node-x': SKEW, 'node-y': SKEW, 'node-t': ok },
    },
    {
      name: "matchLabelKeys narrows the selector to the pod's own value",
      existing: [foo('node-a', { labels: { foo: 'bar', version: 'v1' } }), foo('node-b', { labels: { foo: 'bar', version: 'v1' } })],
      pod: { labels: { foo: 'bar', version: 'v2' }, spread: [hard(1, 'zone', { matchLabelKeys: ['version'] })] },
      want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
    },
    {
      name: 'terminating pods and pods of other namespaces are not counted',
      existing: [foo('node-a', { deleting: true }), foo('node-b', { ns: 'other' }), foo('node-b', { ns: 'other' })],
      pod: { labels: { foo: 'bar' }, spread: [hard(1, 'zone')] },
      want: { 'node-a': ok, 'node-b': ok, 'node-x': ok, 'node-y': ok },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = testEnv(c.nodes ?? zones(), c.existing);
      assert.deepEqual(runFilter(newPodTopologySpread({}, env.handle), env.handle, makePod('p', c.pod)), c.want);
    });
  }

  test('PreFilter extensions count pods added and removed in dry runs, without touching the shared counts', () => {
    const env = testEnv(zones(), [foo('node-a'), foo('node-x')]);
    const pl = newPodTopologySpread({}, env.handle);
    const pod = podInfoOf(makePod('p', { labels: { foo: 'bar' }, spread: [hard(1, 'zone')] }));
    const state = new CycleState();
    pl.preFilter(state, pod, env.handle.snapshot().list());
    const a = env.handle.snapshot().get('node-a')!;
    const x = env.handle.snapshot().get('node-x')!;
    assert.equal(pl.filter(state, pod, a), null);
    const dry = state.clone();
    pl.preFilterExtensions!()!.addPod(dry, pod, podInfoOf(foo('node-b')), env.handle.snapshot().get('node-b')!);
    assert.deepEqual(pl.filter(dry, pod, a)?.reasons, ["node(s) didn't match pod topology spread constraints"]);
    assert.equal(pl.filter(dry, pod, x), null);
    assert.equal(pl.filter(state, pod, a), null, 'the original state is unchanged');
    pl.preFilterExtensions!()!.removePod(dry, pod, podInfoOf(foo('node-b')), env.handle.snapshot().get('node-b')!);
    assert.equal(pl.filter(dry, pod, a), null);
  });

  test('ScheduleAnyway constraints do not filter', () => {
    const env = testEnv(zones(), [foo('node-a'), foo('node-a'), foo('node-a')]);
    const got = runFilter(newPodTopologySpread({}, env.handle), env.handle, makePod('p', { labels: { foo: 'bar' }, spread: [soft(1, 'zone')] }));
    assert.deepEqual(Object.values(got), [ok, ok, ok, ok]);
  });
});

describe('PodTopologySpread score', () => {
  test('the zone with fewer matching pods scores higher', () => {
    const env = testEnv(zones(), [foo('node-a'), foo('node-a'), foo('node-b')]);
    // zone1 holds 3: 3·ln(4) + 0 → 4; zone2 holds 0 → 0; normalized: zone1 0, zone2 100
    assert.deepEqual(runScore(newPodTopologySpread({}, env.handle), env.handle, makePod('p', { labels: { foo: 'bar' }, spread: [soft(1, 'zone')] })), {
      'node-a': 0,
      'node-b': 0,
      'node-x': 100,
      'node-y': 100,
    });
  });
  test('hostname spreading counts per node', () => {
    const env = testEnv(zones(), [foo('node-a'), foo('node-a'), foo('node-b')]);
    // weight ln(4+2); a: 2·1.79 = 3.58 → 4, b: 1.79 → 2, x, y: 0 → normalized 100·(4+0-s)/4
    assert.deepEqual(runScore(newPodTopologySpread({}, env.handle), env.handle, makePod('p', { labels: { foo: 'bar' }, spread: [soft(1, 'kubernetes.io/hostname')] })), {
      'node-a': 0,
      'node-b': 50,
      'node-x': 100,
      'node-y': 100,
    });
  });
  test("nodes lacking a constraint's key get the lowest score", () => {
    const env = testEnv(zones([{ name: 'node-z' }]), [foo('node-a')]);
    const got = runScore(newPodTopologySpread({}, env.handle), env.handle, makePod('p', { labels: { foo: 'bar' }, spread: [soft(1, 'zone')] }));
    assert.equal(got['node-z'], 0);
    assert.equal(got['node-x'], 100);
  });
  test("the cluster's default constraints spread pods of one owner when the owner's selector is known", () => {
    const owned = (node: string) => makePod(`rs-${++n}`, { nodeName: node, labels: { app: 'web' } });
    const env = testEnv(
      [makeNode('a', { labels: { 'topology.kubernetes.io/zone': 'z1' } }), makeNode('b', { labels: { 'topology.kubernetes.io/zone': 'z2' } })],
      [owned('a'), owned('a'), owned('a')],
      { listers: { defaultSelectors: { defaultSelector: (p) => (p.metadata.labels?.app === 'web' ? selectorFromSet({ app: 'web' }) : undefined) } } },
    );
    const pl = newPodTopologySpread({}, env.handle);
    const got = runScore(pl, env.handle, makePod('p', { labels: { app: 'web' } }));
    assert.ok(got.b! > got.a!, JSON.stringify(got));
    // a pod no Service or controller selects is not spread by default
    assert.deepEqual(runScore(pl, env.handle, makePod('q', { labels: { app: 'other' } })), {});
  });
  test('System defaulting with explicit default constraints is refused', () => {
    assert.throws(() => newPodTopologySpread({ defaultingType: 'System', defaultConstraints: [soft(1, 'zone')] }, testEnv([]).handle), /must be empty/);
  });
});

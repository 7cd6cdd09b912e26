import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CycleState } from '../framework/cycle-state.ts';
import { ok, runFilter, runScore, unresolvable, unschedulable } from '../plugin-harness.ts';
import { podInfoOf } from '../podinfo.ts';
import { makeNode, makePod, testEnv } from '../testing.ts';
import type { Affinity, Namespace, PodAffinityTerm } from '../types.ts';
import { newInterPodAffinity } from './inter-pod-affinity.ts';

const AFFINITY = unresolvable("node(s) didn't match pod affinity rules");
const ANTI = unschedulable("node(s) didn't match pod anti-affinity rules");
const EXISTING_ANTI = unschedulable("node(s) didn't satisfy existing pods anti-affinity rules");

const nodes = () => [
  makeNode('machine1', { labels: { zone: 'z1' } }),
  makeNode('machine2', { labels: { zone: 'z1' } }),
  makeNode('machine3', { labels: { zone: 'z2' } }),
];
const term = (labels: Record<string, string>, topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ labelSelector: { matchLabels: labels }, topologyKey, ...extra });
const affinity = (...terms: PodAffinityTerm[]): Affinity => ({ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms } });
const anti = (...terms: PodAffinityTerm[]): Affinity => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms } });
const namespaces: Namespace[] = [
  { metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } },
  { metadata: { name: 'team-a', labels: { team: 'a' } } },
];
const listers = { namespaces: { get: (n: string) => namespaces.find((x) => x.metadata.name === n), list: () => namespaces } };
const securityscan = (node: string, ns = 'default') => makePod(`scan-${node}-${ns}`, { nodeName: node, ns, labels: { service: 'securityscan' } });

describe('InterPodAffinity filter', () => {
  const cases: { name: string; existing: ReturnType<typeof makePod>[]; pod: Parameters<typeof makePod>[1]; want: Record<string, typeof ok> }[] = [
    {
      name: 'required affinity by hostname: only the node running a matching pod',
      existing: [securityscan('machine1')],
      pod: { affinity: affinity(term({ service: 'securityscan' }, 'kubernetes.io/hostname')) },
      want: { machine1: ok, machine2: AFFINITY, machine3: AFFINITY },
    },
    {
      name: 'required affinity by zone: every node of the zone',
      existing: [securityscan('machine1')],
      pod: { affinity: affinity(term({ service: 'securityscan' }, 'zone')) },
      want: { machine1: ok, machine2: ok, machine3: AFFINITY },
    },
    {
      name: 'the first pod of a group that matches its own affinity may go anywhere',
      existing: [],
      pod: { labels: { service: 'securityscan' }, affinity: affinity(term({ service: 'securityscan' }, 'zone')) },
      want: { machine1: ok, machine2: ok, machine3: ok },
    },
    {
      name: 'a pod not matching its own affinity waits for a matching pod',
      existing: [],
      pod: { affinity: affinity(term({ service: 'securityscan' }, 'zone')) },
      want: { machine1: AFFINITY, machine2: AFFINITY, machine3: AFFINITY },
    },
    {
      name: 'nodes without the topology key never satisfy affinity',
      existing: [securityscan('machine1')],
      pod: { affinity: affinity(term({ service: 'securityscan' }, 'rack')) },
      want: { machine1: AFFINITY, machine2: AFFINITY, machine3: AFFINITY },
    },
    {
      name: 'required anti-affinity by zone keeps the pod out of the whole zone',
      existing: [securityscan('machine1')],
      pod: { affinity: anti(term({ service: 'securityscan' }, 'zone')) },
      want: { machine1: ANTI, machine2: ANTI, machine3: ok },
    },
    {
      name: "an existing pod's anti-affinity keeps matching pods off its node",
      existing: [makePod('guard', { nodeName: 'machine1', affinity: anti(term({ app: 'web' }, 'kubernetes.io/hostname')) })],
      pod: { labels: { app: 'web' } },
      want: { machine1: EXISTING_ANTI, machine2: ok, machine3: ok },
    },
    {
      name: "an existing pod's anti-affinity only covers its own namespace by default",
      existing: [makePod('guard', { nodeName: 'machine1', ns: 'team-a', affinity: anti(term({ app: 'web' }, 'kubernetes.io/hostname')) })],
      pod: { labels: { app: 'web' } },
      want: { machine1: ok, machine2: ok, machine3: ok },
    },
    {
      name: 'terms name other namespaces explicitly',
      existing: [securityscan('machine3', 'team-a')],
      pod: { affinity: affinity(term({ service: 'securityscan' }, 'kubernetes.io/hostname', { namespaces: ['team-a'] })) },
      want: { machine1: AFFINITY, machine2: AFFINITY, machine3: ok },
    },
    {
      name: 'a namespaceSelector picks namespaces by their labels',
      existing: [securityscan('machine1'), securityscan('machine3', 'team-a')],
      pod: { affinity: affinity(term({ service: 'securityscan' }, 'kubernetes.io/hostname', { namespaceSelector: { matchLabels: { team: 'a' } } })) },
      want: { machine1: AFFINITY, machine2: AFFINITY, machine3: ok },
    },
    {
      name: 'an empty namespaceSelector covers every namespace',
      existing: [securityscan('machine3', 'team-a')],
      pod: { affinity: affinity(term({ service: 'securityscan' }, 'kubernetes.io/hostname', { namespaceSelector: {} })) },
      want: { machine1: AFFINITY, machine2: AFFINITY, machine3: ok },
    },
    {
      name: 'pods matching only some of several affinity terms do not count',
      existing: [securityscan('machine1'), makePod('other', { nodeName: 'machine2', labels: { app: 'db' } })],
      pod: { affinity: affinity(term({ service: 'securityscan' }, 'zone'), term({ app: 'db' }, 'zone')) },
      want: { machine1: AFFINITY, machine2: AFFINITY, machine3: AFFINITY },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = testEnv(nodes(), c.existing, { listers });
      assert.deepEqual(runFilter(newInterPodAffinity({}, env.handle), env.handle, makePod('p', c.pod)), c.want);
    });
  }

  test('a pod with no terms skips the filter unless existing pods have anti-affinity', () => {
    const env = testEnv(nodes(), [securityscan('machine1')], { listers });
    const pl = newInterPodAffinity({}, env.handle);
    const s = pl.preFilter(new CycleState(), podInfoOf(makePod('p')), env.handle.snapshot().list());
    assert.equal((s as { code: number }).code, 5);
  });

  test('PreFilter extensions account pods added and removed during dry runs', () => {
    const env = testEnv(nodes(), [], { listers });
    const pl = newInterPodAffinity({}, env.handle);
    const pod = podInfoOf(makePod('p', { affinity: anti(term({ service: 'securityscan' }, 'kubernetes.io/hostname')) }));
    const state = new CycleState();
    pl.preFilter(state, pod, env.handle.snapshot().list());
    const m1 = env.handle.snapshot().get('machine1')!;
    assert.equal(pl.filter(state, pod, m1), null);
    const other = podInfoOf(securityscan('machine1'));
    pl.preFilterExtensions!()!.addPod(state, pod, other, m1);
    assert.deepEqual(pl.filter(state, pod, m1)?.reasons, ["node(s) didn't match pod anti-affinity rules"]);
    pl.preFilterExtensions!()!.removePod(state, pod, other, m1);
    assert.equal(pl.filter(state, pod, m1), null);
  });
});

describe('InterPodAffinity score', () => {
  const preferred = (weight: number, labels: Record<string, string>, key: string) => [{ weight, podAffinityTerm: term(labels, key) }];
  test('preferred affinity favours the zone of matching pods', () => {
    const env = testEnv(nodes(), [securityscan('machine1')], { listers });
    const pod = makePod('p', { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(5, { service: 'securityscan' }, 'zone') } } });
    assert.deepEqual(runScore(newInterPodAffinity({}, env.handle), env.handle, pod), { machine1: 100, machine2: 100, machine3: 0 });
  });
  test('preferred anti-affinity favours the other zones', () => {
    const env = testEnv(nodes(), [securityscan('machine1')], { listers });
    const pod = makePod('p', { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(5, { service: 'securityscan' }, 'zone') } } });
    assert.deepEqual(runScore(newInterPodAffinity({}, env.handle), env.handle, pod), { machine1: 0, machine2: 0, machine3: 100 });
  });
  test("existing pods' required affinity toward the pod counts with hardPodAffinityWeight", () => {
    const existing = makePod('fan', { nodeName: 'machine3', affinity: affinity(term({ app: 'web' }, 'kubernetes.io/hostname')) });
    const env = testEnv(nodes(), [existing], { listers });
    const pod = makePod('p', { labels: { app: 'web' } });
    assert.deepEqual(runScore(newInterPodAffinity({}, env.handle), env.handle, pod), { machine1: 0, machine2: 0, machine3: 100 });
    assert.deepEqual(runScore(newInterPodAffinity({ hardPodAffinityWeight: 0 }, env.handle), env.handle, pod), {});
  });
  test("existing pods' preferred anti-affinity toward the pod pushes it away", () => {
    const existing = makePod('loner', { nodeName: 'machine1', affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred(10, { app: 'web' }, 'zone') } } });
    const env = testEnv(nodes(), [existing], { listers });
    assert.deepEqual(runScore(newInterPodAffinity({}, env.handle), env.handle, makePod('p', { labels: { app: 'web' } })), { machine1: 0, machine2: 0, machine3: 100 });
  });
  test('nothing to score without any affinity in play', () => {
    const env = testEnv(nodes(), [securityscan('machine1')], { listers });
    assert.deepEqual(runScore(newInterPodAffinity({}, env.handle), env.handle, makePod('p')), {});
  });
});

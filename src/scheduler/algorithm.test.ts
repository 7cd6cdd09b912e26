import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../client/clock.ts';
import { numFeasibleNodesToFind, SchedulingAlgorithm } from './algorithm.ts';
import { loadSchedulerConfig } from './config.ts';
import type { PodNominatorView } from './framework/interfaces.ts';
import { podInfoOf, type PodInfo } from './podinfo.ts';
import { SchedulerLoop, type SchedulingFailure } from './scheduler-loop.ts';
import { makeNode, makePod, testEnv, testFramework } from './testing.ts';
import type { Node, Pod } from './types.ts';

describe('how many nodes a cycle looks at (upstream TestNumFeasibleNodesToFind)', () => {
  const cases: [string, number, number, number][] = [
    ['fewer than 100 nodes: all of them', 0, 10, 10],
    ['a percentage with few nodes still looks at all', 40, 10, 10],
    ['adaptive at 1000 nodes: 42%', 0, 1000, 420],
    ['40% of 1000', 40, 1000, 400],
    ['adaptive at 5000 nodes: 10%', 0, 5000, 500],
    ['adaptive bottoms out at 5%', 0, 6000, 300],
    ['40% of 6000', 40, 6000, 2400],
    ['never fewer than 100', 1, 1000, 100],
  ];
  for (const [name, pct, nodes, want] of cases) test(name, () => assert.equal(numFeasibleNodesToFind(pct, nodes), want));
});

describe('the scheduling cycle', () => {
  test('with many nodes each cycle looks at a sample and the next cycle starts where it stopped', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => makeNode(`n${i}`));
    const env = testEnv(nodes);
    const fw = testFramework(env);
    const alg = new SchedulingAlgorithm();
    const r1 = alg.schedule(fw, env.cache.snapshot(), podInfoOf(makePod('a')));
    assert.equal(r1.kind === 'scheduled' && r1.evaluatedNodes, 420);
    assert.equal(alg.nextStartNodeIndex, 420);
    alg.schedule(fw, env.cache.snapshot(), podInfoOf(makePod('b')));
    alg.schedule(fw, env.cache.snapshot(), podInfoOf(makePod('c')));
    assert.equal(alg.nextStartNodeIndex, 260, 'wraps around the node list');
  });

  test('a profile percentageOfNodesToScore overrides the adaptive default', () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => makeNode(`n${i}`));
    const env = testEnv(nodes);
    const fw = testFramework(env, { percentageOfNodesToScore: 100 });
    const r = new SchedulingAlgorithm().schedule(fw, env.cache.snapshot(), podInfoOf(makePod('a')));
    assert.equal(r.kind === 'scheduled' && r.evaluatedNodes, 1000);
  });

  test('no nodes at all', () => {
    const env = testEnv([]);
    const r = new SchedulingAlgorithm().schedule(testFramework(env), env.cache.snapshot(), podInfoOf(makePod('a')));
    assert.equal(r.kind, 'error');
    assert.equal(r.kind === 'error' && r.message, 'no nodes available to schedule pods');
  });

  test('nodes a PreFilter ruled out are reported under its name', () => {
    const env = testEnv([makeNode('n1', { cpu: '1' }), makeNode('n2'), makeNode('n3')]);
    const pod = makePod('p', {
      requests: { cpu: '2' },
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] } } },
    });
    const r = new SchedulingAlgorithm().schedule(testFramework(env), env.cache.snapshot(), podInfoOf(pod));
    assert.equal(
      r.kind === 'unschedulable' && r.message,
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
    );
    assert.deepEqual(r.kind === 'unschedulable' && [...r.fitError.diagnosis.unschedulablePlugins].sort(), ['NodeAffinity', 'NodeResourcesFit']);
  });

  test('the best score wins; ties are broken by the random source', () => {
    const env = testEnv([makeNode('a'), makeNode('b'), makeNode('c', { cpu: '1' })]);
    const fw = testFramework(env);
    const pod = podInfoOf(makePod('p', { requests: { cpu: '500m', memory: '1Gi' } }));
    const first = new SchedulingAlgorithm({ random: () => 0.99 }).schedule(fw, env.cache.snapshot(), pod, { recordScores: true });
    const second = new SchedulingAlgorithm({ random: () => 0 }).schedule(fw, env.cache.snapshot(), pod, { recordScores: true });
    // a and b tie: the random source picks which of the two (0.99 → the second, 0 → the first)
    assert.equal(first.kind === 'scheduled' && first.nodeName, 'b');
    assert.equal(second.kind === 'scheduled' && second.nodeName, 'a');
    assert.deepEqual(first.kind === 'scheduled' && first.topScores?.map((s) => s.name), ['a', 'b', 'c']);
  });

  test("the pod's nominated node is tried first", () => {
    const env = testEnv([makeNode('big', { cpu: '64' }), makeNode('small', { cpu: '2' })]);
    const r = new SchedulingAlgorithm().schedule(testFramework(env), env.cache.snapshot(), podInfoOf(makePod('p', { requests: { cpu: '1' }, nominatedNodeName: 'small' })));
    assert.equal(r.kind === 'scheduled' && r.nodeName, 'small');
    assert.equal(r.kind === 'scheduled' && r.evaluatedNodes, 1);
  });

  test('room held for a nominated pod of higher priority is not taken', () => {
    const nominated = podInfoOf(makePod('vip', { priority: 100, requests: { cpu: '3' } }));
    const nominator: PodNominatorView = { nominatedPodsForNode: (n) => (n === 'n1' ? [nominated] : ([] as PodInfo[])), hasNominatedPods: () => true };
    const env = testEnv([makeNode('n1', { cpu: '4' }), makeNode('n2', { cpu: '2' })], [], { nominator });
    const fw = testFramework(env);
    const low = new SchedulingAlgorithm().schedule(fw, env.cache.snapshot(), podInfoOf(makePod('low', { priority: 1, requests: { cpu: '2' } })));
    assert.equal(low.kind === 'scheduled' && low.nodeName, 'n2');
    const higher = new SchedulingAlgorithm().schedule(fw, env.cache.snapshot(), podInfoOf(makePod('higher', { priority: 200, requests: { cpu: '4' } })));
    assert.equal(higher.kind === 'scheduled' && higher.nodeName, 'n1', 'a more important pod may take the room');
  });
});

describe('a whole run over a synthetic cluster of 600 nodes', () => {
  test('every placement honours resources, selectors, taints, anti-affinity and spreading; the impossible pod gets the full message', async () => {
    const nodes: Node[] = [];
    for (let i = 0; i < 600; i++) {
      const zone = `z${i % 3}`;
      const gpu = i % 6 === 0;
      nodes.push(
        makeNode(`node-${i}`, {
          cpu: String(2 + (i % 4) * 2),
          memory: `${8 + (i % 3) * 8}Gi`,
          pods: '20',
          labels: { 'topology.kubernetes.io/zone': zone, ...(gpu ? { gpu: 'true' } : {}) },
          ...(gpu ? { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } : {}),
        }),
      );
    }
    const live = new Map<string, Pod>();
    const failures: SchedulingFailure[] = [];
    let loop!: SchedulerLoop;
    const clock = new FakeClock();
    loop = new SchedulerLoop({
      settings: loadSchedulerConfig(undefined),
      clock,
      random: () => 0.5,
      effects: { scheduled() {}, failed: (_p, f) => failures.push(f), preempt() {} },
      podLister: (ns, name) => live.get(`${ns}/${name}`),
      binder: {
        async bind(p, nodeName) {
          const b: Pod = { ...p, spec: { ...p.spec, nodeName } };
          live.set(`${p.metadata.namespace}/${p.metadata.name}`, b);
          loop.onPodUpdate(p, b);
        },
      },
    });
    for (const n of nodes) loop.onNodeAdd(n);
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }] } };
    const spread = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }];
    const pods: Pod[] = [];
    for (let i = 0; i < 1500; i++) {
      const kind = i % 5;
      const requests = { cpu: `${100 + (i % 7) * 100}m`, memory: `${256 + (i % 5) * 256}Mi` };
      if (kind === 0) pods.push(makePod(`plain-${i}`, { requests }));
      else if (kind === 1) pods.push(makePod(`z2-${i}`, { requests, nodeSelector: { 'topology.kubernetes.io/zone': 'z2' } }));
      else if (kind === 2) pods.push(makePod(`gpu-${i}`, { requests, nodeSelector: { gpu: 'true' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }));
      else if (kind === 3 && i < 400) pods.push(makePod(`db-${i}`, { requests, labels: { app: 'db' }, affinity: anti }));
      else pods.push(makePod(`web-${i}`, { requests, labels: { app: 'web' }, spread }));
    }
    for (const p of pods) {
      live.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
      loop.onPodAdd(p);
    }
    while (loop.scheduleOne()) await loop.drainBindings();
    await loop.drainBindings();
    assert.equal(loop.stats.scheduled, pods.length, `all placed (failures: ${failures.slice(0, 2).map((f) => f.message)})`);

    const byName = new Map(nodes.map((n) => [n.metadata.name!, n]));
    const dbNodes = new Set<string>();
    const webPerZone = new Map<string, number>();
    for (const node of nodes) {
      const ni = loop.cache.snapshot().get(node.metadata.name!)!;
      assert.ok(ni.reqCPU <= ni.allocCPU && ni.reqMemory <= ni.allocMemory && ni.pods.length <= ni.allocPods, `${ni.name} overcommitted`);
    }
    for (const p of live.values()) {
      const node = byName.get(p.spec.nodeName!)!;
      const labels = node.metadata.labels!;
      for (const [k, v] of Object.entries(p.spec.nodeSelector ?? {})) assert.equal(labels[k], v, `${p.metadata.name} on ${node.metadata.name}`);
      if (node.spec?.taints?.length) assert.ok(p.spec.tolerations?.length, `${p.metadata.name} on a tainted node`);
      if (p.metadata.labels?.app === 'db') {
        assert.ok(!dbNodes.has(p.spec.nodeName!), 'two db pods share a node');
        dbNodes.add(p.spec.nodeName!);
      }
      if (p.metadata.labels?.app === 'web') webPerZone.set(labels['topology.kubernetes.io/zone']!, (webPerZone.get(labels['topology.kubernetes.io/zone']!) ?? 0) + 1);
    }
    const counts = [...webPerZone.values()];
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `web spread ${counts}`);

    const huge = makePod('huge', { requests: { cpu: '1000' } });
    live.set('default/huge', huge);
    loop.onPodAdd(huge);
    loop.scheduleOne();
    assert.equal(
      failures.at(-1)?.message,
      '0/600 nodes are available: 100 node(s) had untolerated taint {dedicated: gpu}, 500 Insufficient cpu. preemption: 0/600 nodes are available: 100 Preemption is not helpful for scheduling, 500 No preemption victims found for incoming pod.',
    );
    assert.equal(failures.at(-1)?.reason, 'Unschedulable');
    await loop.stop();
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SchedulerCache } from './cache.ts';
import { podInfoOf } from './podinfo.ts';
import { bound, makeNode, makePod } from './testing.ts';

describe('scheduler cache', () => {
  test('an assumed pod counts on its node until forgotten', () => {
    const c = new SchedulerCache();
    c.addNode(makeNode('n1', { cpu: '4' }));
    const pod = makePod('p', { requests: { cpu: '1', memory: '1Gi' }, hostPorts: [{ port: 80 }] });
    c.assumePod(podInfoOf(pod), 'n1');
    const ni = c.snapshot().get('n1')!;
    assert.equal(c.isAssumed(pod.metadata.uid!), true);
    assert.equal(ni.reqCPU, 1000);
    assert.equal(ni.reqMemory, 1024 ** 3);
    assert.ok(ni.usedPorts.conflicts({ ip: '0.0.0.0', protocol: 'TCP', port: 80 }));
    c.forgetPod(pod.metadata.uid!);
    assert.equal(ni.reqCPU, 0);
    assert.equal(ni.pods.length, 0);
    assert.ok(!ni.usedPorts.conflicts({ ip: '0.0.0.0', protocol: 'TCP', port: 80 }));
  });

  test("the informer's bound pod confirms the assumed one without counting it twice", () => {
    const c = new SchedulerCache();
    c.addNode(makeNode('n1'));
    const pod = makePod('p', { requests: { cpu: '1' } });
    c.assumePod(pod, 'n1');
    c.finishBinding(pod.metadata.uid!);
    c.addPod(bound(pod, 'n1'));
    assert.equal(c.isAssumed(pod.metadata.uid!), false);
    assert.equal(c.snapshot().get('n1')!.pods.length, 1);
    assert.equal(c.snapshot().get('n1')!.reqCPU, 1000);
    assert.throws(() => c.forgetPod(pod.metadata.uid!), /was added to the cache, so can't be forgotten/);
  });

  test('a pod bound elsewhere than assumed moves to the real node', () => {
    const c = new SchedulerCache();
    c.addNode(makeNode('n1'));
    c.addNode(makeNode('n2'));
    const pod = makePod('p', { requests: { cpu: '1' } });
    c.assumePod(pod, 'n1');
    c.addPod(bound(pod, 'n2'));
    assert.equal(c.snapshot().get('n1')!.reqCPU, 0);
    assert.equal(c.snapshot().get('n2')!.reqCPU, 1000);
  });

  test('assumed pods whose binding finished expire after the TTL if no confirmation arrives', () => {
    let now = 0;
    const c = new SchedulerCache({ assumedPodTTLMs: 30_000, now: () => now });
    c.addNode(makeNode('n1'));
    const a = makePod('a');
    const b = makePod('b');
    c.assumePod(a, 'n1');
    c.assumePod(b, 'n1');
    c.finishBinding(a.metadata.uid!);
    now = 29_999;
    assert.deepEqual(c.cleanupExpiredAssumedPods(), []);
    now = 30_000;
    assert.deepEqual(c.cleanupExpiredAssumedPods(), ['default/a']);
    assert.deepEqual(c.dump().n1, ['default/b'], 'a pod still binding never expires');
  });

  test('without a TTL (upstream default) assumed pods never expire', () => {
    let now = 0;
    const c = new SchedulerCache({ now: () => now });
    c.addNode(makeNode('n1'));
    const a = makePod('a');
    c.assumePod(a, 'n1');
    c.finishBinding(a.metadata.uid!);
    now = 1e12;
    assert.deepEqual(c.cleanupExpiredAssumedPods(), []);
  });

  test('a pod cannot be assumed twice', () => {
    const c = new SchedulerCache();
    c.addNode(makeNode('n1'));
    const a = makePod('a');
    c.assumePod(a, 'n1');
    assert.throws(() => c.assumePod(a, 'n1'), /is in the cache, so can't be assumed/);
  });

  test('pods bound to a node not seen yet are kept and counted once the node arrives', () => {
    const c = new SchedulerCache();
    c.addPod(makePod('early', { nodeName: 'late', requests: { cpu: '2' } }));
    assert.equal(c.snapshot().list().length, 0);
    assert.equal(c.snapshot().get('late'), undefined);
    c.addNode(makeNode('late'));
    assert.equal(c.snapshot().get('late')!.reqCPU, 2000);
  });

  test('a deleted node with pods still on it disappears from the list, and its pods stay accounted', () => {
    const c = new SchedulerCache();
    const n = makeNode('n1');
    c.addNode(n);
    const p = makePod('p', { nodeName: 'n1' });
    c.addPod(p);
    c.removeNode(n);
    assert.equal(c.snapshot().list().length, 0);
    assert.equal(c.nodeCount, 0);
    c.removePod(p);
    assert.deepEqual(c.dump(), {});
  });

  test('nodes are walked one zone at a time, round robin', () => {
    const c = new SchedulerCache();
    const z = (name: string, zone: string) => makeNode(name, { labels: { 'topology.kubernetes.io/zone': zone } });
    for (const n of [z('a1', 'a'), z('a2', 'a'), z('a3', 'a'), z('b1', 'b'), z('c1', 'c'), z('c2', 'c')]) c.addNode(n);
    assert.deepEqual(
      c.snapshot().list().map((n) => n.name),
      ['a1', 'b1', 'c1', 'a2', 'c2', 'a3'],
    );
  });

  test('lists of nodes with affinity pods follow pod adds and removes', () => {
    const c = new SchedulerCache();
    c.addNode(makeNode('n1'));
    c.addNode(makeNode('n2'));
    const anti = makePod('anti', {
      nodeName: 'n2',
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { a: 'b' } }, topologyKey: 'kubernetes.io/hostname' }] } },
    });
    c.addPod(anti);
    assert.deepEqual(c.snapshot().havePodsWithRequiredAntiAffinityList().map((n) => n.name), ['n2']);
    assert.deepEqual(c.snapshot().havePodsWithAffinityList().map((n) => n.name), ['n2']);
    c.removePod(anti);
    assert.deepEqual(c.snapshot().havePodsWithRequiredAntiAffinityList(), []);
  });

  test('image states are shared across nodes and counted per node', () => {
    const c = new SchedulerCache();
    const img = { names: ['nginx:1.27'], sizeBytes: 100 };
    c.addNode(makeNode('n1', { images: [img] }));
    c.addNode(makeNode('n2', { images: [img] }));
    assert.equal(c.imageState('nginx:1.27')?.nodes.size, 2);
    c.removeNode(makeNode('n1'));
    assert.equal(c.imageState('nginx:1.27')?.nodes.size, 1);
  });

  test('a node update changes allocatable, labels and taints in place', () => {
    const c = new SchedulerCache();
    c.addNode(makeNode('n1', { cpu: '2' }));
    const ni = c.snapshot().get('n1')!;
    c.updateNode(undefined, makeNode('n1', { cpu: '8', labels: { x: 'y' }, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }));
    assert.equal(ni.allocCPU, 8000);
    assert.equal(ni.labels.x, 'y');
    assert.equal(ni.taints?.length, 1);
  });
});

describe('incremental pod counts per topology domain', () => {
  test('a view follows pods as they come and go, and is rebuilt after node label changes', () => {
    const c = new SchedulerCache();
    c.addNode(makeNode('a', { labels: { zone: 'z1' } }));
    c.addNode(makeNode('b', { labels: { zone: 'z2' } }));
    c.addPod(makePod('w1', { nodeName: 'a', labels: { app: 'web' } }));
    const isWeb = (pi: { pod: { metadata: { labels?: Readonly<Record<string, string>> } } }) => (pi.pod.metadata.labels?.app === 'web' ? 1 : 0);
    const v = c.snapshot().podCounts!('web', isWeb, ['zone']);
    assert.equal(v.get('zone', 'z1'), 1);
    const w2 = makePod('w2', { labels: { app: 'web' } });
    c.assumePod(w2, 'b');
    c.addPod(makePod('db', { nodeName: 'b', labels: { app: 'db' } }));
    assert.equal(v.get('zone', 'z2'), 1, 'assumed pods count, others do not');
    c.forgetPod(w2.metadata.uid!);
    assert.equal(v.get('zone', 'z2'), 0);
    assert.equal(c.snapshot().podCounts!('web', isWeb, ['zone']), v, 'the same view is reused');
    c.updateNode(undefined, makeNode('a', { labels: { zone: 'z3' } }));
    const rebuilt = c.snapshot().podCounts!('web', isWeb, ['zone']);
    assert.notEqual(rebuilt, v);
    assert.deepEqual([rebuilt.get('zone', 'z1'), rebuilt.get('zone', 'z3')], [0, 1]);
    assert.deepEqual([...c.snapshot().domains!('zone').values].sort(), [['z2', 1], ['z3', 1]]);
    assert.equal(c.snapshot().domains!('zone').nodes, 2);
  });

  test('required anti-affinity terms of pods are tracked while their node is listed', () => {
    const c = new SchedulerCache();
    const n = makeNode('a');
    c.addNode(n);
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }] } };
    c.addPod(makePod('x', { nodeName: 'a', affinity: anti }));
    c.addPod(makePod('y', { nodeName: 'a', affinity: anti }));
    assert.equal([...c.snapshot().existingAntiAffinityTerms!()].length, 1, 'identical terms are one');
    c.removeNode(n);
    assert.equal([...c.snapshot().existingAntiAffinityTerms!()].length, 0, 'pods on a removed node do not count');
    c.addNode(n);
    assert.equal([...c.snapshot().existingAntiAffinityTerms!()].length, 1);
  });
});

// NodeResourcesFit (filter and its three scoring strategies) and NodeResourcesBalancedAllocation,
// with upstream's cases (fit_test.go, least/most_allocated_test.go, balanced_allocation_test.go).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ok, runFilter, runScore, unschedulable } from '../plugin-harness.ts';
import { makeNode, makePod, testEnv, type PodOpts } from '../testing.ts';
import { newBalancedAllocation } from './balanced-allocation.ts';
import { newNodeResourcesFit } from './noderesources-fit.ts';

describe('NodeResourcesFit filter (upstream TestEnoughRequests)', () => {
  // allocatable: 10 millicores, 20 bytes, 32 pods, 5 example.com/aaa, 20 bytes of ephemeral storage
  const node = () => makeNode('n', { cpu: '10m', memory: '20', pods: '32', ephemeral: '20', scalar: { 'example.com/aaa': '5' } });
  const res = (cpu: number, mem: number, extra: Record<string, string> = {}) => ({ cpu: `${cpu}m`, memory: String(mem), ...extra });
  const cases: { name: string; pod: PodOpts; existing?: PodOpts; args?: object; want: typeof ok }[] = [
    { name: 'no resources requested always fits', pod: {}, existing: { requests: res(10, 20) }, want: ok },
    { name: 'too many resources fails', pod: { requests: res(1, 1) }, existing: { requests: res(10, 20) }, want: unschedulable('Insufficient cpu', 'Insufficient memory') },
    {
      name: 'too many resources fails due to init container cpu',
      pod: { requests: res(1, 1), initContainers: [{ requests: res(3, 1) }] },
      existing: { requests: res(8, 19) },
      want: unschedulable('Insufficient cpu'),
    },
    {
      name: 'too many resources fails due to highest init container cpu',
      pod: { requests: res(1, 1), initContainers: [{ requests: res(3, 1) }, { requests: res(2, 1) }] },
      existing: { requests: res(8, 19) },
      want: unschedulable('Insufficient cpu'),
    },
    {
      name: 'too many resources fails due to init container memory',
      pod: { requests: res(1, 1), initContainers: [{ requests: res(1, 3) }] },
      existing: { requests: res(9, 19) },
      want: unschedulable('Insufficient memory'),
    },
    {
      name: "init containers fit: it's the max, not the sum, of containers and init containers",
      pod: { requests: res(1, 1), initContainers: [{ requests: res(1, 1) }, { requests: res(1, 1) }] },
      existing: { requests: res(9, 19) },
      want: ok,
    },
    { name: 'both resources fit', pod: { requests: res(1, 1) }, existing: { requests: res(5, 5) }, want: ok },
    { name: 'one resource memory fits', pod: { requests: res(2, 1) }, existing: { requests: res(9, 5) }, want: unschedulable('Insufficient cpu') },
    { name: 'one resource cpu fits', pod: { requests: res(1, 2) }, existing: { requests: res(5, 19) }, want: unschedulable('Insufficient memory') },
    { name: 'equal edge case', pod: { requests: res(5, 1) }, existing: { requests: res(5, 19) }, want: ok },
    { name: 'extended resource fits', pod: { requests: res(0, 0, { 'example.com/aaa': '1' }) }, want: ok },
    { name: 'extended resource capacity enforced', pod: { requests: res(0, 0, { 'example.com/aaa': '10' }) }, want: unschedulable('Insufficient example.com/aaa') },
    {
      name: 'extended resource allocatable enforced',
      pod: { requests: res(0, 0, { 'example.com/aaa': '1' }) },
      existing: { requests: res(0, 0, { 'example.com/aaa': '5' }) },
      want: unschedulable('Insufficient example.com/aaa'),
    },
    { name: 'an extended resource the node lacks is insufficient', pod: { requests: res(0, 0, { 'example.com/bbb': '1' }) }, want: unschedulable('Insufficient example.com/bbb') },
    { name: 'ignored extended resources are not checked', pod: { requests: res(0, 0, { 'example.com/bbb': '1' }) }, args: { ignoredResources: ['example.com/bbb'] }, want: ok },
    { name: 'ignored resource groups are not checked', pod: { requests: res(0, 0, { 'example.com/bbb': '1' }) }, args: { ignoredResourceGroups: ['example.com'] }, want: ok },
    { name: 'pod overhead that fits', pod: { requests: res(1, 1), overhead: res(3, 13) }, existing: { requests: res(5, 5) }, want: ok },
    { name: 'pod overhead that does not fit in memory', pod: { requests: res(1, 1), overhead: res(1, 15) }, existing: { requests: res(5, 5) }, want: unschedulable('Insufficient memory') },
    { name: 'ephemeral storage enforced', pod: { requests: { 'ephemeral-storage': '25' } }, want: unschedulable('Insufficient ephemeral-storage') },
    {
      name: 'sidecar containers count beside later init containers',
      pod: { requests: res(1, 1), initContainers: [{ requests: res(4, 1), restartPolicy: 'Always' }, { requests: res(2, 1) }] },
      existing: { requests: res(5, 5) },
      want: unschedulable('Insufficient cpu'),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = testEnv([node()], c.existing ? [makePod('existing', { ...c.existing, nodeName: 'n' })] : []);
      assert.deepEqual(runFilter(newNodeResourcesFit(c.args ?? {}), env.handle, makePod('p', c.pod)).n, c.want);
    });
  }
  test('a full node refuses one more pod whatever it requests', () => {
    const env = testEnv([makeNode('n', { pods: '1' })], [makePod('existing', { nodeName: 'n' })]);
    assert.deepEqual(runFilter(newNodeResourcesFit({}), env.handle, makePod('p')).n, unschedulable('Too many pods'));
  });
  test('an unknown scoring strategy is refused', () => {
    assert.throws(() => newNodeResourcesFit({ scoringStrategy: { type: 'Whatever' } }), /scoring strategy Whatever is not supported/);
  });
});

describe('NodeResourcesFit scoring', () => {
  const nodes = () => [makeNode('machine1', { cpu: '4000m', memory: '10000' }), makeNode('machine2', { cpu: '6000m', memory: '10000' })];
  const pod = makePod('p', { requests: { cpu: '3000m', memory: '5000' } });
  test('LeastAllocated prefers free capacity (upstream: differently sized nodes → 37, 50)', () => {
    const env = testEnv(nodes());
    assert.deepEqual(runScore(newNodeResourcesFit({}), env.handle, pod), { machine1: 37, machine2: 50 });
  });
  test('MostAllocated prefers full nodes (upstream: 62, 50)', () => {
    const env = testEnv(nodes());
    assert.deepEqual(runScore(newNodeResourcesFit({ scoringStrategy: { type: 'MostAllocated' } }), env.handle, pod), { machine1: 62, machine2: 50 });
  });
  test('LeastAllocated counts existing pods, and their missing requests as 100m/200Mi', () => {
    const env = testEnv(
      [makeNode('a', { cpu: '4', memory: '4Gi' }), makeNode('b', { cpu: '4', memory: '4Gi' })],
      [makePod('x', { nodeName: 'a' }), makePod('y', { nodeName: 'b', requests: { cpu: '2', memory: '2Gi' } })],
    );
    // a: cpu (4000-100-1000)/4000 → 72, mem (4096-200-1024)/4096 Mi → 70 → 71; b: cpu 25, mem 25 → 25
    assert.deepEqual(runScore(newNodeResourcesFit({}), env.handle, makePod('p', { requests: { cpu: '1', memory: '1Gi' } })), { a: 71, b: 25 });
  });
  test('resource weights shift the balance', () => {
    const env = testEnv(nodes());
    const pl = newNodeResourcesFit({ scoringStrategy: { type: 'LeastAllocated', resources: [{ name: 'cpu', weight: 3 }, { name: 'memory', weight: 1 }] } });
    // machine1: (25*3 + 50)/4 = 31; machine2: (50*3 + 50)/4 = 50
    assert.deepEqual(runScore(pl, env.handle, pod), { machine1: 31, machine2: 50 });
  });
  test('RequestedToCapacityRatio follows the shape (bin packing: 0→0, 100→10)', () => {
    const env = testEnv(nodes());
    const pl = newNodeResourcesFit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }] } } });
    // machine1: cpu 75% → 75, memory 50% → 50: round(62.5) = 63; machine2: 50, 50 → 50
    assert.deepEqual(runScore(pl, env.handle, pod), { machine1: 63, machine2: 50 });
  });
  test('RequestedToCapacityRatio needs a sorted shape', () => {
    assert.throws(() => newNodeResourcesFit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 50, score: 1 }, { utilization: 10, score: 2 }] } } }));
  });
  test('an extended resource the pod does not request is left out of the score', () => {
    const env = testEnv([makeNode('g', { cpu: '4000m', memory: '10000', scalar: { 'example.com/gpu': '4' } })]);
    const pl = newNodeResourcesFit({ scoringStrategy: { type: 'LeastAllocated', resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }, { name: 'example.com/gpu', weight: 1 }] } });
    assert.deepEqual(runScore(pl, env.handle, pod), { g: 37 });
    const gpuPod = makePod('g', { requests: { cpu: '3000m', memory: '5000', 'example.com/gpu': '2' } });
    // (25 + 50 + 50) / 3 = 41
    assert.deepEqual(runScore(pl, env.handle, gpuPod), { g: 41 });
  });
});

describe('NodeResourcesBalancedAllocation', () => {
  test('even utilization scores higher (upstream: differently sized nodes → 87, 100)', () => {
    const env = testEnv([makeNode('machine1', { cpu: '4000m', memory: '10000' }), makeNode('machine2', { cpu: '6000m', memory: '10000' })]);
    assert.deepEqual(runScore(newBalancedAllocation({}), env.handle, makePod('p', { requests: { cpu: '3000m', memory: '5000' } })), { machine1: 87, machine2: 100 });
  });
  test('existing pods count with their real requests', () => {
    const env = testEnv([makeNode('a', { cpu: '4000m', memory: '10000' })], [makePod('x', { nodeName: 'a', requests: { cpu: '1000m', memory: '5000' } })]);
    // cpu (1000+1000)/4000 = 0.5, memory (5000+1000)/10000 = 0.6 → 1 - 0.05 → 95
    assert.deepEqual(runScore(newBalancedAllocation({}), env.handle, makePod('p', { requests: { cpu: '1000m', memory: '1000' } })), { a: 95 });
  });
  test('a pod requesting nothing is not scored', () => {
    const env = testEnv([makeNode('a')]);
    assert.deepEqual(runScore(newBalancedAllocation({}), env.handle, makePod('p')), {});
  });
  test('three resources use the standard deviation', () => {
    const env = testEnv([makeNode('a', { cpu: '1000m', memory: '1000', ephemeral: '1000' })]);
    const pl = newBalancedAllocation({ resources: [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }, { name: 'ephemeral-storage', weight: 1 }] });
    // fractions 0.1, 0.4, 0.7: mean 0.4, std sqrt(0.06) = 0.2449 → 75
    assert.deepEqual(runScore(pl, env.handle, makePod('p', { requests: { cpu: '100m', memory: '400', 'ephemeral-storage': '700' } })), { a: 75 });
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { amount, isScalarResourceName, podRequests } from './resources.ts';
import { makePod } from './testing.ts';

const obj = (m: Map<string, number>) => Object.fromEntries([...m].sort());

describe('pod requests (upstream resourcehelper.PodRequests)', () => {
  test('cpu is counted in millicores and everything else in whole units, rounded up', () => {
    assert.equal(amount('cpu', '100m'), 100);
    assert.equal(amount('cpu', '1.5'), 1500);
    assert.equal(amount('cpu', '0.0001'), 1);
    assert.equal(amount('memory', '500Mi'), 500 * 1024 * 1024);
    assert.equal(amount('memory', '1G'), 1e9);
    assert.equal(amount('memory', '100m'), 1);
    assert.equal(amount('example.com/gpu', 2), 2);
  });

  const cases: { name: string; pod: Parameters<typeof makePod>[1]; want: Record<string, number>; nonZero?: Record<string, number> }[] = [
    {
      name: 'regular containers are summed',
      pod: { containers: [{ requests: { cpu: '1', memory: '1Gi' } }, { requests: { cpu: '500m', memory: '1Gi' } }] },
      want: { cpu: 1500, memory: 2 * 1024 ** 3 },
    },
    {
      name: 'an init container larger than the sum wins per resource (upstream example: 3 cpu, 3G)',
      pod: {
        initContainers: [{ requests: { cpu: '2', memory: '1G' } }, { requests: { cpu: '2', memory: '3G' } }],
        containers: [{ requests: { cpu: '2', memory: '1G' } }, { requests: { cpu: '1', memory: '1G' } }],
      },
      want: { cpu: 3000, memory: 3e9 },
    },
    {
      name: 'sidecars run beside the containers and beside later init containers',
      pod: {
        initContainers: [{ requests: { cpu: '1' }, restartPolicy: 'Always' }, { requests: { cpu: '3' } }],
        containers: [{ requests: { cpu: '1' } }],
      },
      // sum: 1 (sidecar) + 1 = 2; the later init container runs beside the sidecar: 3 + 1 = 4
      want: { cpu: 4000 },
    },
    {
      name: 'pod overhead is added on top',
      pod: { requests: { cpu: '1' }, overhead: { cpu: '250m', memory: '120Mi' } },
      want: { cpu: 1250, memory: 120 * 1024 ** 2 },
    },
    {
      name: 'extended resources are summed like the others',
      pod: { containers: [{ requests: { 'example.com/foo': '3' } }, { requests: { 'example.com/foo': '2' } }] },
      want: { 'example.com/foo': 5 },
      nonZero: { cpu: 200, memory: 2 * 200 * 1024 ** 2, 'example.com/foo': 5 },
    },
    {
      name: 'scoring counts 100m and 200Mi for each container that sets no request',
      pod: { containers: [{}, { requests: { cpu: '300m' } }] },
      want: { cpu: 300 },
      nonZero: { cpu: 400, memory: 2 * 200 * 1024 ** 2 },
    },
    {
      name: 'an explicit zero request is not replaced by the default',
      pod: { requests: { cpu: '0', memory: '0' } },
      want: { cpu: 0, memory: 0 },
      nonZero: { cpu: 0, memory: 0 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const pod = makePod('p', c.pod);
      assert.deepEqual(obj(podRequests(pod)), Object.fromEntries(Object.entries(c.want).sort()));
      if (c.nonZero) assert.deepEqual(obj(podRequests(pod, true)), Object.fromEntries(Object.entries(c.nonZero).sort()));
    });
  }

  test('scalar resource names are the prefixed ones, hugepages and attachable volumes', () => {
    for (const n of ['example.com/gpu', 'nvidia.com/gpu', 'hugepages-2Mi', 'attachable-volumes-aws-ebs', 'kubernetes.io/batch-cpu']) assert.ok(isScalarResourceName(n), n);
    for (const n of ['cpu', 'memory', 'pods', 'storage', 'foo']) assert.ok(!isScalarResourceName(n), n);
  });
});

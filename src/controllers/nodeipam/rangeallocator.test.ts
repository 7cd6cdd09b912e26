import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readyNode, startControllerTest } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { nodeIpamController } from './rangeallocator.ts';
import type { KObject } from '../../api/meta.ts';

const podCIDRs = (n: KObject) => (n.spec as { podCIDRs?: string[] }).podCIDRs;

test('each node gets its own podCIDR from the cluster CIDR, released when the node goes', async () => {
  const env = await startControllerTest([nodeIpamController], { config: { clusterCidr: '10.42.0.0/22', nodeCidrMaskSize: 24 } });
  try {
    const nodes = env.client.resource('', 'nodes');
    // a node that already has a subnet keeps it, and nobody else gets it
    await nodes.create({ ...readyNode('n0'), spec: { podCIDR: '10.42.0.0/24', podCIDRs: ['10.42.0.0/24'] } });
    for (const n of ['n1', 'n2', 'n3']) await nodes.create(readyNode(n));
    const got = new Map<string, string>();
    for (const n of ['n1', 'n2', 'n3']) {
      const node = await waitFor(`podCIDRs of ${n}`, async () => {
        const x = await nodes.get(n);
        return podCIDRs(x)?.length ? x : undefined;
      });
      assert.equal((node.spec as { podCIDR?: string }).podCIDR, podCIDRs(node)![0]);
      got.set(n, podCIDRs(node)![0]!);
    }
    assert.deepEqual([...got.values()].sort(), ['10.42.1.0/24', '10.42.2.0/24', '10.42.3.0/24']);
    // the range is full: a fifth node gets an event instead of a subnet
    await nodes.create(readyNode('n4'));
    await waitFor('CIDRNotAvailable event', async () => {
      const evs = await env.client.resource('', 'events').namespace('default').list();
      return evs.items.find((e) => e.reason === 'CIDRNotAvailable' && (e.involvedObject as { name: string }).name === 'n4' && e.message === 'Node n4 status is now: CIDRNotAvailable');
    });
    assert.equal(podCIDRs(await nodes.get('n4')), undefined);
    // deleting a node frees its subnet for the waiting one
    await nodes.delete('n2');
    const n4 = await waitFor('podCIDRs of n4', async () => {
      const x = await nodes.get('n4');
      return podCIDRs(x)?.length ? x : undefined;
    }, { timeoutMs: 15_000 });
    assert.deepEqual(podCIDRs(n4), [got.get('n2')]);
  } finally {
    await env.stop();
  }
});

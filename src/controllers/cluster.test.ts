import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterControllers } from './cluster.ts';
import { enabled } from './manager.ts';
import { readyNode, startControllerTest } from './testing.ts';
import { waitFor } from './cluster/wait.ts';

test('the cluster controllers have distinct upstream names that --controllers can switch off', () => {
  const names = clusterControllers().map((c) => c.name);
  assert.equal(new Set(names).size, names.length);
  for (const n of ['garbagecollector', 'namespace', 'serviceaccount', 'endpoint', 'endpointslice', 'nodelifecycle', 'nodeipam', 'podgc', 'resourcequota', 'disruption']) assert.ok(names.includes(n), n);
  assert.equal(enabled('nodeipam', ['*', '-nodeipam']), false);
});

test('all cluster controllers run together in one manager', async () => {
  const env = await startControllerTest(clusterControllers(), { log: process.env.CL_LOG ? (m) => console.log(m) : undefined });
  try {
    await env.client.resource('', 'nodes').create(readyNode('n1'));
    await env.client.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'together' } });
    await waitFor('default SA', () => env.client.resource('', 'serviceaccounts').namespace('together').get('default'));
    await waitFor('root CA', () => env.client.resource('', 'configmaps').namespace('together').get('kube-root-ca.crt'));
    await waitFor('pod CIDR', async () => ((await env.client.resource('', 'nodes').get('n1')).spec as { podCIDR?: string }).podCIDR);
    await waitFor('local-path class', () => env.client.resource('storage.k8s.io', 'storageclasses').get('local-path'));
  } finally {
    await env.stop();
  }
});

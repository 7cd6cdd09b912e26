import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerTest } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { ensureServiceAccount } from '../cluster/fixtures.ts';
import { resourceQuotaController } from './resourcequota.ts';

test('quota status.used follows the pods, services and objects of its namespace', async () => {
  const env = await startControllerTest([resourceQuotaController]);
  try {
    const c = env.client;
    await c.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await ensureServiceAccount(c, 'team');
    const quotas = c.resource('', 'resourcequotas').namespace('team');
    await quotas.create({
      apiVersion: 'v1',
      kind: 'ResourceQuota',
      metadata: { name: 'compute' },
      spec: { hard: { pods: '5', 'requests.cpu': '2', 'requests.memory': '1Gi', 'limits.memory': '2Gi', services: '3', 'services.nodeports': '4', configmaps: '10', 'count/deployments.apps': '2' } },
    });
    const used = async () => ((await quotas.get('compute')).status as { used?: Record<string, string> } | undefined)?.used;
    const initial = await waitFor('initial status', async () => {
      const q = await quotas.get('compute');
      return (q.status as { used?: Record<string, string> } | undefined)?.used ? q : undefined;
    });
    assert.deepEqual((initial.status as { hard: Record<string, string> }).hard, (initial.spec as { hard: Record<string, string> }).hard);
    assert.deepEqual((initial.status as { used: Record<string, string> }).used, {
      configmaps: '0',
      'count/deployments.apps': '0',
      'limits.memory': '0',
      pods: '0',
      'requests.cpu': '0',
      'requests.memory': '0',
      services: '0',
      'services.nodeports': '0',
    });
    const pods = c.resource('', 'pods').namespace('team');
    for (const [name, cpu] of [['a', '250m'], ['b', '500m']]) {
      await pods.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu, memory: '128Mi' }, limits: { cpu, memory: '256Mi' } } }] },
      });
    }
    await c.resource('', 'services').namespace('team').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'np' }, spec: { type: 'NodePort', selector: { a: 'b' }, ports: [{ name: 'x', port: 80 }, { name: 'y', port: 81 }] } });
    await c.resource('', 'configmaps').namespace('team').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } });
    await c.resource('apps', 'deployments').namespace('team').create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '1m', memory: '1Mi' }, limits: { memory: '1Mi' } } }] } } },
    });
    const want = { configmaps: '1', 'count/deployments.apps': '1', 'limits.memory': '512Mi', pods: '2', 'requests.cpu': '750m', 'requests.memory': '256Mi', services: '1', 'services.nodeports': '2' };
    await waitFor('usage counted', async () => JSON.stringify(await used()) === JSON.stringify(want));
    // a deleted pod gives its share back
    await pods.delete('b');
    await waitFor('b released', async () => {
      const u = await used();
      return u?.pods === '1' && u['requests.cpu'] === '250m' && u['limits.memory'] === '256Mi';
    });
  } finally {
    await env.stop();
  }
});

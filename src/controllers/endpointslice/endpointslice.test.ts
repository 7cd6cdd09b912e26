import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readyNode, setPodReady, startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { ensureServiceAccount } from '../cluster/fixtures.ts';
import { endpointSliceController } from './endpointslice.ts';
import type { EndpointSlice } from './reconciler.ts';

describe('EndpointSlices follow pods through the API', () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerTest([endpointSliceController]);
    await env.client.resource('', 'nodes').create(readyNode('n1', { labels: { 'topology.kubernetes.io/zone': 'zone-a' } }));
    await ensureServiceAccount(env.client);
  });
  after(() => env.stop());

  const slicesOf = async (svc: string) =>
    (await env.client.resource<EndpointSlice>('discovery.k8s.io', 'endpointslices').namespace('default').list({ labelSelector: `kubernetes.io/service-name=${svc}` })).items;
  const conds = (slices: EndpointSlice[]) =>
    Object.fromEntries(slices.flatMap((s) => s.endpoints ?? []).map((e) => [e.targetRef!.name, `${e.conditions.ready}/${e.conditions.serving}/${e.conditions.terminating}`]));

  it('a placeholder, then endpoints whose conditions follow readiness', async () => {
    await env.client.resource('', 'services').namespace('default').create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'api', labels: { team: 'x' } },
      spec: { selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
    });
    const placeholder = await waitFor('placeholder slice', async () => {
      const s = await slicesOf('api');
      return s.length === 1 ? s[0] : undefined;
    });
    assert.deepEqual(placeholder.endpoints ?? [], []);
    assert.deepEqual(placeholder.metadata.labels, { team: 'x', 'kubernetes.io/service-name': 'api', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    assert.equal(placeholder.metadata.ownerReferences?.[0]?.kind, 'Service');
    for (const [name, ip] of [['api-0', '10.42.0.20'], ['api-1', '10.42.0.21']]) {
      await env.client.resource('', 'pods').namespace('default').create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'api' } },
        spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'web', containerPort: 8080 }] }] },
      });
      await setPodReady(env.client, 'default', name!, name === 'api-0', ip);
    }
    const s = await waitFor('two endpoints', async () => {
      const x = await slicesOf('api');
      const c = conds(x);
      return c['api-0'] === 'true/true/false' && c['api-1'] === 'false/false/false' ? x : undefined;
    });
    assert.equal(s.length, 1, 'the placeholder is reused');
    assert.equal(s[0]!.metadata.name, placeholder.metadata.name);
    assert.deepEqual(s[0]!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const ep0 = s[0]!.endpoints.find((e) => e.targetRef!.name === 'api-0')!;
    assert.deepEqual([ep0.addresses, ep0.nodeName, ep0.zone], [['10.42.0.20'], 'n1', 'zone-a']);
    await setPodReady(env.client, 'default', 'api-0', false, '10.42.0.20');
    await setPodReady(env.client, 'default', 'api-1', true, '10.42.0.21');
    await waitFor('flipped', async () => {
      const c = conds(await slicesOf('api'));
      return c['api-0'] === 'false/false/false' && c['api-1'] === 'true/true/false';
    });
  });

  it('services without a selector get no slices from this controller', async () => {
    await env.client.resource('', 'services').namespace('default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bare' }, spec: { ports: [{ port: 80 }] } });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await slicesOf('bare'), []);
    const k = await slicesOf('kubernetes');
    assert.equal(k.length, 1);
    assert.equal(k[0]!.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], undefined);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { startControllerTest } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { endpointSliceMirroringController, planMirror } from './mirroring.ts';
import type { EndpointSlice } from '../endpointslice/reconciler.ts';

const endpoints = (subsets: unknown[], labels?: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db', namespace: 'default', uid: 'ep-uid', labels }, subsets });

test('a subset becomes one slice per address type, ready and not-ready kept, invalid IPs counted', () => {
  const plan = planMirror(endpoints([{ addresses: [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }, { ip: 'bogus' }], notReadyAddresses: [{ ip: '192.0.2.2' }], ports: [{ name: 'pg', port: 5432 }] }], { app: 'db' }), []);
  assert.equal(plan.invalidAddresses, 1);
  assert.deepEqual(plan.create.map((s) => s.addressType).sort(), ['IPv4', 'IPv6']);
  const v4 = plan.create.find((s) => s.addressType === 'IPv4')!;
  assert.deepEqual(v4.endpoints, [{ addresses: ['192.0.2.1'], conditions: { ready: true } }, { addresses: ['192.0.2.2'], conditions: { ready: false } }]);
  assert.deepEqual(v4.ports, [{ name: 'pg', port: 5432, protocol: 'TCP' }]);
  assert.deepEqual(v4.metadata.labels, { app: 'db', 'kubernetes.io/service-name': 'db', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' });
  assert.equal(v4.metadata.ownerReferences![0]!.kind, 'Endpoints');
  // mirrored again: nothing to do
  const existing = plan.create.map((s, i) => ({ ...s, metadata: { ...s.metadata, name: `db-${i}` } })) as EndpointSlice[];
  const again = planMirror(endpoints([{ addresses: [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }], notReadyAddresses: [{ ip: '192.0.2.2' }], ports: [{ name: 'pg', port: 5432 }] }], { app: 'db' }), existing);
  assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
});

test('at most 1000 addresses of a subset are mirrored', () => {
  const addresses = Array.from({ length: 1200 }, (_, i) => ({ ip: `10.1.${i >> 8}.${i & 255}` }));
  const plan = planMirror(endpoints([{ addresses, ports: [{ port: 80 }] }]), []);
  assert.equal(plan.create[0]!.endpoints.length, 1000);
  assert.equal(plan.skippedAddresses, 200);
});

test('Endpoints of a selector-less Service are mirrored unless they say skip-mirror', async () => {
  const env = await startControllerTest([endpointSliceMirroringController]);
  try {
    const c = env.client;
    const slices = async (svc: string) => (await c.resource<EndpointSlice>('discovery.k8s.io', 'endpointslices').namespace('default').list({ labelSelector: `kubernetes.io/service-name=${svc}` })).items;
    await c.resource('', 'services').namespace('default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'legacy' }, spec: { ports: [{ port: 5432 }] } });
    await c.resource('', 'endpoints').namespace('default').create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'legacy' }, subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }] });
    const s = await waitFor('mirrored slice', async () => {
      const x = await slices('legacy');
      return x.length === 1 ? x[0] : undefined;
    });
    assert.deepEqual(s.endpoints, [{ addresses: ['192.0.2.10'], conditions: { ready: true } }]);
    assert.equal(s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslicemirroring-controller.k8s.io');
    // an edit of the Endpoints is mirrored into the same slice
    const ep = await c.resource('', 'endpoints').namespace('default').get('legacy');
    await c.resource('', 'endpoints').namespace('default').update({ ...ep, subsets: [{ addresses: [{ ip: '192.0.2.11' }], ports: [{ port: 5432 }] }] });
    await waitFor('updated mirror', async () => {
      const x = await slices('legacy');
      return x.length === 1 && x[0]!.metadata.name === s.metadata.name && x[0]!.endpoints[0]!.addresses[0] === '192.0.2.11';
    });
    // skip-mirror removes the mirror; the kubernetes Endpoints are never mirrored
    const ep2 = await c.resource('', 'endpoints').namespace('default').get('legacy');
    await c.resource('', 'endpoints').namespace('default').update({ ...ep2, metadata: { ...ep2.metadata, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } } });
    await waitFor('mirror removed', async () => (await slices('legacy')).length === 0);
    const k = await slices('kubernetes');
    assert.ok(k.every((x) => x.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] !== 'endpointslicemirroring-controller.k8s.io'));
  } finally {
    await env.stop();
  }
});

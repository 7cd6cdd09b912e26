import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { reconcileService, reuseDeletedSlices, type EndpointSlice } from './reconciler.ts';

const svc: KObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'svc-uid', labels: { team: 'a' } },
  spec: { selector: { app: 'web' }, clusterIP: '10.43.0.10', ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
};
const node: KObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } } };
const pod = (i: number, ready = true, deleting = false): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `p${i}`, namespace: 'default', uid: `u${i}`, deletionTimestamp: deleting ? '2025-01-01T00:00:00Z' : undefined },
  spec: { nodeName: 'n1' },
  status: { phase: 'Running', podIPs: [{ ip: `10.42.${i >> 8}.${i & 255}` }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const pods = (n: number) => Array.from({ length: n }, (_, i) => pod(i));
const run = (ps: KObject[], existing: EndpointSlice[] = []) => reconcileService({ service: svc, pods: ps, existing, node: (n) => (n === 'n1' ? node : undefined) });
let seq = 0;
/** What the API would answer for created slices. */
const persist = (slices: EndpointSlice[]) => slices.map((s) => ({ ...structuredClone(s), metadata: { ...structuredClone(s.metadata), name: s.metadata.name ?? `web-${seq++}`, resourceVersion: '1' } }));

test('250 endpoints are packed into slices of at most 100, labelled and owned by the service', () => {
  const r = run(pods(250));
  assert.deepEqual(r.create.map((s) => s.endpoints.length), [100, 100, 50]);
  const s = r.create[0]!;
  assert.deepEqual(s.metadata.labels, { team: 'a', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
  assert.equal(s.metadata.generateName, 'web-');
  assert.deepEqual(s.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }]);
  assert.equal(s.addressType, 'IPv4');
  assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.deepEqual(s.endpoints[0], { addresses: ['10.42.0.0'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: 'default', name: 'p0', uid: 'u0' }, nodeName: 'n1', zone: 'z1' });
});

test('conditions: not ready pods are not serving; terminating pods are not ready but may serve', () => {
  const r = run([pod(1, false), pod(2, true, true)]);
  const eps = r.create[0]!.endpoints;
  assert.deepEqual(eps.map((e) => e.conditions), [
    { ready: false, serving: false, terminating: false },
    { ready: false, serving: true, terminating: true },
  ]);
});

test('a readiness flip rewrites only the slice holding that endpoint', () => {
  const existing = persist(run(pods(250)).create);
  assert.deepEqual(run(pods(250), existing), { create: [], update: [], delete: [], errors: [] });
  const flipped = pods(250);
  flipped[150] = pod(150, false);
  const r = run(flipped, existing);
  assert.equal(r.create.length + r.delete.length, 0);
  assert.equal(r.update.length, 1);
  const ep = r.update[0]!.endpoints.find((e) => e.targetRef?.name === 'p150')!;
  assert.equal(ep.conditions.ready, false);
  assert.equal(r.update[0]!.metadata.name, existing.find((s) => s.endpoints.some((e) => e.targetRef?.name === 'p150'))!.metadata.name);
});

test('new endpoints go into a slice with room before a new slice is made', () => {
  const existing = persist(run(pods(150)).create);
  const r = run(pods(160), existing);
  assert.equal(r.create.length, 0);
  assert.equal(r.update.length, 1);
  assert.equal(r.update[0]!.endpoints.length, 60);
});

test('no endpoints: one placeholder slice, kept as it is', () => {
  const r = run([]);
  assert.equal(r.create.length, 1);
  assert.deepEqual(r.create[0]!.endpoints, []);
  assert.deepEqual(r.create[0]!.ports, []);
  const kept = run([], persist(r.create));
  assert.deepEqual([kept.create.length, kept.update.length, kept.delete.length], [0, 0, 0]);
  // the pods going away turns the last slice into the placeholder by an update, not delete+create
  const full = persist(run(pods(3)).create);
  const r2 = reuseDeletedSlices(svc, run([], full));
  assert.deepEqual([r2.create.length, r2.update.length, r2.delete.length], [0, 1, 0]);
  assert.equal(r2.update[0]!.metadata.name, full[0]!.metadata.name);
});

test('pods on unknown nodes are skipped with an error unless not-ready addresses are published', () => {
  const lost = { ...pod(7), spec: { nodeName: 'gone' } };
  const r = run([lost, pod(1)]);
  assert.equal(r.create[0]!.endpoints.length, 1);
  assert.match(r.errors[0]!, /skipping Pod p7 for Service default\/web: Node gone Not Found/);
});

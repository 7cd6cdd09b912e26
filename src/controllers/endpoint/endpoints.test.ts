import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { readyNode, setPodReady, startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { ensureServiceAccount } from '../cluster/fixtures.ts';
import { computeSubsets, endpointsController, truncateSubsets } from './endpoints.ts';
import { TriggerTimeTracker } from './pods.ts';
import { repackSubsets, subsetsEqual, type EndpointSubset } from './subsets.ts';

const svc = (o: Partial<{ ports: unknown[]; publishNotReadyAddresses: boolean; clusterIP: string }> = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { selector: { app: 'web' }, clusterIP: o.clusterIP ?? '10.43.0.10', ipFamilies: ['IPv4'], ports: o.ports ?? [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }], publishNotReadyAddresses: o.publishNotReadyAddresses },
});
const pod = (name: string, ip: string, ready: boolean, extra: Partial<{ deleting: boolean; phase: string; hostname: string; subdomain: string }> = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'web' }, deletionTimestamp: extra.deleting ? '2025-01-01T00:00:00Z' : undefined },
  spec: { nodeName: 'n1', hostname: extra.hostname, subdomain: extra.subdomain, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
  status: { phase: extra.phase ?? 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

test('subsets put ready pods under addresses and the rest under notReadyAddresses, ports resolved by name', () => {
  const subsets = computeSubsets(svc(), [pod('b', '10.42.0.2', false), pod('a', '10.42.0.1', true), pod('c', '10.42.0.3', true, { deleting: true }), pod('d', '10.42.0.4', true, { phase: 'Succeeded' })]);
  assert.deepEqual(subsets, [
    {
      addresses: [{ ip: '10.42.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } }],
      notReadyAddresses: [{ ip: '10.42.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'uid-b' } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
  ]);
  // publishNotReadyAddresses: every pod counts as ready, terminating ones included
  const all = computeSubsets(svc({ publishNotReadyAddresses: true }), [pod('b', '10.42.0.2', false), pod('c', '10.42.0.3', false, { deleting: true })]);
  assert.deepEqual(all[0]!.addresses!.map((a) => a.ip), ['10.42.0.2', '10.42.0.3']);
  assert.equal(all[0]!.notReadyAddresses, undefined);
});

test('a pod with an unresolvable named port is left out of that port only; hostnames follow the subdomain', () => {
  const s = svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }, { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 'metrics' }, { name: 'raw', port: 81, protocol: 'TCP', targetPort: 9000 }] });
  const subsets = computeSubsets(s, [pod('a', '10.42.0.1', true, { hostname: 'a', subdomain: 'web' })]);
  assert.equal(subsets.length, 1);
  assert.deepEqual(subsets[0]!.ports!.map((p) => `${p.name}:${p.port}`), ['http:8080', 'raw:9000']);
  assert.equal(subsets[0]!.addresses![0]!.hostname, 'a');
  // a headless service without ports still lists its pods
  const headless = computeSubsets(svc({ ports: [], clusterIP: 'None' }), [pod('a', '10.42.0.1', true)]);
  assert.deepEqual(headless[0]!.addresses!.map((a) => a.ip), ['10.42.0.1']);
  assert.equal(headless[0]!.ports, undefined);
});

test('repacking merges subsets that share their ports and lets not-ready win', () => {
  const a = { ip: '10.0.0.1', targetRef: { uid: 'a' } };
  const b = { ip: '10.0.0.2', targetRef: { uid: 'b' } };
  const p80 = { name: 'http', port: 80, protocol: 'TCP' };
  const p81 = { name: 'alt', port: 81, protocol: 'TCP' };
  const out = repackSubsets([{ addresses: [b], ports: [p80] }, { addresses: [a], ports: [p80, p81] }, { notReadyAddresses: [a], ports: [p81] }, { addresses: [b], ports: [p81] }]);
  assert.deepEqual(out, [
    { addresses: [b], notReadyAddresses: [a], ports: [p81] },
    { addresses: [a, b], ports: [p80] },
  ]);
});

test('pods serving different ports are grouped per port set, as repacking their single-address subsets would', () => {
  const s = svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }, { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 'metrics' }] });
  const withMetrics = (p: KObject): KObject => ({ ...p, spec: { ...(p.spec as object), containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9100, protocol: 'TCP' }] }] } });
  const pods = [withMetrics(pod('a', '10.42.0.1', true)), pod('b', '10.42.0.2', true), withMetrics(pod('c', '10.42.0.3', false))];
  const subsets = computeSubsets(s, pods);
  assert.deepEqual(
    subsets.map((x) => [x.ports!.map((p) => p.port), (x.addresses ?? []).map((a) => a.ip), (x.notReadyAddresses ?? []).map((a) => a.ip)]),
    [
      [[8080], ['10.42.0.1', '10.42.0.2'], ['10.42.0.3']],
      [[9100], ['10.42.0.1'], ['10.42.0.3']],
    ],
  );
  // with every pod serving both ports: one subset, the same as repacking gives
  const uniform = [withMetrics(pod('b', '10.42.0.2', true)), withMetrics(pod('a', '10.42.0.1', true)), withMetrics(pod('c', '10.42.0.3', false))];
  const fast = computeSubsets(s, uniform);
  assert.equal(fast.length, 1);
  const a = fast[0]!.addresses!;
  const n = fast[0]!.notReadyAddresses!;
  const single = [...a.map((x) => ({ addresses: [x], ports: fast[0]!.ports })), ...n.map((x) => ({ notReadyAddresses: [x], ports: fast[0]!.ports }))].reverse();
  assert.deepEqual(fast, repackSubsets(single));
  assert.deepEqual(a.map((x) => x.ip), ['10.42.0.1', '10.42.0.2']);
});

test('subsets compare equal regardless of target resourceVersions and empty versus absent lists, and differ on readiness', () => {
  const ref = { kind: 'Pod', namespace: 'default', name: 'a', uid: 'u' };
  const a: EndpointSubset[] = [{ addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: ref }], notReadyAddresses: [], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }];
  const b: EndpointSubset[] = [{ addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: { ...ref, resourceVersion: '42' } }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }];
  assert.equal(subsetsEqual(a, b), true);
  assert.equal(subsetsEqual(undefined, []), true);
  const c: EndpointSubset[] = [{ notReadyAddresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: ref }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }];
  assert.equal(subsetsEqual(a, c), false);
  assert.equal(subsetsEqual(a, [{ ...b[0]!, ports: [{ name: 'http', port: 81, protocol: 'TCP' }] }]), false);
  assert.equal(subsetsEqual(a, [{ ...b[0]!, addresses: [{ ip: '10.0.0.1', nodeName: 'n2', targetRef: ref }] }]), false);
});

test('the trigger time is the earliest Ready transition changed since the last sync; unchanged pods and departures do not count', () => {
  const tracker = new TriggerTimeTracker();
  const service = { ...svc(), metadata: { ...svc().metadata, creationTimestamp: '2025-01-01T00:00:00Z' } };
  const at = (name: string, time: string): KObject => {
    const p = pod(name, '10.42.0.1', true);
    return { ...p, status: { ...(p.status as object), conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: time }] } };
  };
  const t = (s: string) => Date.parse(s);
  // first sync: the service's creation is the earliest change
  assert.equal(tracker.compute(service, [at('a', '2025-01-01T00:01:00Z'), at('b', '2025-01-01T00:02:00Z')]), t('2025-01-01T00:00:00Z'));
  // nothing changed
  assert.equal(tracker.compute(service, [at('a', '2025-01-01T00:01:00Z'), at('b', '2025-01-01T00:02:00Z')]), 0);
  // b transitioned again, c is new: the earliest of the two
  assert.equal(tracker.compute(service, [at('a', '2025-01-01T00:01:00Z'), at('b', '2025-01-01T00:05:00Z'), at('c', '2025-01-01T00:04:00Z')]), t('2025-01-01T00:04:00Z'));
  // a leaves: no change to report; when it comes back with its old time, it counts again
  assert.equal(tracker.compute(service, [at('b', '2025-01-01T00:05:00Z'), at('c', '2025-01-01T00:04:00Z')]), 0);
  assert.equal(tracker.compute(service, [at('a', '2025-01-01T00:01:00Z'), at('b', '2025-01-01T00:05:00Z'), at('c', '2025-01-01T00:04:00Z')]), t('2025-01-01T00:01:00Z'));
});

test('more than 1000 addresses are truncated, ready ones kept first', () => {
  const addrs = (n: number, base: number) => Array.from({ length: n }, (_, i) => ({ ip: `10.${base}.${i >> 8}.${i & 255}` }));
  const subsets: EndpointSubset[] = [{ addresses: addrs(900, 1), notReadyAddresses: addrs(300, 2), ports: [{ port: 80 }] }];
  assert.equal(truncateSubsets(subsets), true);
  assert.equal(subsets[0]!.addresses!.length, 900);
  assert.equal(subsets[0]!.notReadyAddresses!.length, 100);
  assert.equal(truncateSubsets([{ addresses: addrs(10, 1) }]), false);
});

describe('Endpoints follow pods through the API', () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerTest([endpointsController]);
    await env.client.resource('', 'nodes').create(readyNode('n1'));
    await ensureServiceAccount(env.client);
  });
  after(() => env.stop());

  const eps = () => env.client.resource('', 'endpoints').namespace('default');
  const mkPod = (name: string) =>
    env.client.resource('', 'pods').namespace('default').create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app: 'shop' } },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }] },
    });
  const ips = (e: KObject, field: 'addresses' | 'notReadyAddresses') => ((e.subsets as EndpointSubset[] | undefined) ?? []).flatMap((s) => (s[field] ?? []).map((a) => a.ip)).sort();

  it('ready and not-ready addresses track the pods Ready condition', async () => {
    await env.client.resource('', 'services').namespace('default').create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'shop', labels: { tier: 'front' } },
      spec: { selector: { app: 'shop' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    const empty = await waitFor('Endpoints shop', () => eps().get('shop'));
    assert.equal(empty.subsets, undefined);
    assert.deepEqual(empty.metadata.labels, { tier: 'front' });
    for (const n of ['shop-a', 'shop-b']) await mkPod(n);
    await setPodReady(env.client, 'default', 'shop-a', true, '10.42.0.11');
    await setPodReady(env.client, 'default', 'shop-b', false, '10.42.0.12');
    let e = await waitFor('a ready, b not', async () => {
      const x = await eps().get('shop');
      return ips(x, 'addresses').join() === '10.42.0.11' && ips(x, 'notReadyAddresses').join() === '10.42.0.12' ? x : undefined;
    });
    const sub = (e.subsets as EndpointSubset[])[0]!;
    assert.deepEqual(sub.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.equal(sub.addresses![0]!.targetRef!.name, 'shop-a');
    assert.equal(sub.addresses![0]!.nodeName, 'n1');
    assert.match(e.metadata.annotations!['endpoints.kubernetes.io/last-change-trigger-time']!, /^\d{4}-\d\d-\d\dT/);
    // flip both
    await setPodReady(env.client, 'default', 'shop-a', false, '10.42.0.11');
    await setPodReady(env.client, 'default', 'shop-b', true, '10.42.0.12');
    e = await waitFor('a not ready, b ready', async () => {
      const x = await eps().get('shop');
      return ips(x, 'addresses').join() === '10.42.0.12' && ips(x, 'notReadyAddresses').join() === '10.42.0.11' ? x : undefined;
    });
    // a deleted pod leaves
    await env.client.resource('', 'pods').namespace('default').delete('shop-b', { gracePeriodSeconds: 0 });
    await waitFor('b gone', async () => ips(await eps().get('shop'), 'addresses').length === 0);
  });

  it('a Service change that leaves the addresses as they were does not rewrite its Endpoints', async () => {
    const svcs = env.client.resource('', 'services').namespace('default');
    await svcs.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'calm' }, spec: { selector: { app: 'shop' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });
    const settled = await waitFor('Endpoints calm with shop-a', async () => {
      const x = await eps().get('calm').catch(() => undefined);
      return x && ips(x, 'notReadyAddresses').join() === '10.42.0.11' ? x : undefined;
    });
    const writes: KObject[] = [];
    const w = eps().watch({ resourceVersion: settled.metadata.resourceVersion, fieldSelector: 'metadata.name=calm' }, { onEvent: (ev) => writes.push(ev.object as KObject), onClose: () => undefined });
    try {
      const s = await svcs.get('calm');
      await svcs.update({ ...s, metadata: { ...s.metadata, annotations: { note: 'unrelated' } } });
      await new Promise((r) => setTimeout(r, 300));
      // a change that does alter them: once it shows, the controller has synced past the annotation
      const s2 = await svcs.get('calm');
      await svcs.update({ ...s2, metadata: { ...s2.metadata, labels: { tier: 'back' } } });
      await waitFor('Endpoints calm relabelled', async () => writes.some((e) => e.metadata.labels?.tier === 'back'));
      assert.equal(writes.length, 1);
      assert.deepEqual(writes[0]!.subsets, settled.subsets);
    } finally {
      w.close();
    }
  });

  it('services without a selector keep their hand-written Endpoints, and the kubernetes endpoints stay the API server\'s', async () => {
    const before = await eps().get('kubernetes');
    await env.client.resource('', 'services').namespace('default').create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'external' }, spec: { ports: [{ port: 5432 }] } });
    await eps().create({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'external' }, subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }] });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(ips(await eps().get('external'), 'addresses'), ['192.0.2.10']);
    const afterK = await eps().get('kubernetes');
    assert.equal(afterK.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  it('a headless service gets the headless label; deleting the service deletes its Endpoints', async () => {
    const svcs = env.client.resource('', 'services').namespace('default');
    await svcs.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] } });
    const e = await waitFor('Endpoints db', () => eps().get('db'));
    assert.deepEqual(e.metadata.labels, { 'service.kubernetes.io/headless': '' });
    await svcs.delete('db');
    await waitFor('Endpoints db deleted', () => eps().get('db').then(() => false, () => true));
  });
});

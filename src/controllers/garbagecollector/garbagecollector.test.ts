import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, OwnerReference } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import { startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { isNotFound } from '../cluster/errors.ts';
import { garbageCollectorController, monitoredResources } from './garbagecollector.ts';

it('the collector watches every deletable resource but events', () => {
  const names = monitoredResources().map((r) => `${r.group}/${r.plural}`);
  for (const n of ['/pods', '/configmaps', 'apps/deployments', '/namespaces', 'coordination.k8s.io/leases']) assert.ok(names.includes(n), n);
  for (const n of ['/events', 'events.k8s.io/events', '/bindings', 'authorization.k8s.io/subjectaccessreviews', '/componentstatuses']) assert.ok(!names.includes(n), n);
});

describe('cascading deletion through ownerReferences', () => {
  let env: ControllerTestEnv;
  let cms: ResourceClient;
  before(async () => {
    env = await startControllerTest([garbageCollectorController], { log: process.env.GC_LOG ? (m) => console.log(m) : undefined });
    cms = env.client.resource('', 'configmaps').namespace('default');
  });
  after(() => env.stop());

  const owner = async (name: string) => cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
  const refTo = (o: KObject, extra: Partial<OwnerReference> = {}): OwnerReference => ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata.name!, uid: o.metadata.uid!, ...extra });
  const dependent = (name: string, refs: OwnerReference[], finalizers?: string[]) => cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ownerReferences: refs, finalizers } });
  const gone = (name: string) => waitFor(`${name} deleted`, () => cms.get(name).then(() => false, (e) => isNotFound(e)));
  const exists = async (name: string) => cms.get(name).then(() => true, () => false);
  const settle = () => new Promise((r) => setTimeout(r, 300));

  it('Background: the owner goes at once, then its dependents', async () => {
    const o = await owner('bg-owner');
    await dependent('bg-a', [refTo(o)]);
    await dependent('bg-b', [refTo(o, { controller: true, blockOwnerDeletion: true })]);
    await cms.delete('bg-owner', { propagationPolicy: 'Background' });
    assert.equal(await exists('bg-owner'), false);
    await gone('bg-a');
    await gone('bg-b');
  });

  it('Foreground: the owner waits for dependents that block it, not for the others', async () => {
    const o = await owner('fg-owner');
    await dependent('fg-blocking', [refTo(o, { blockOwnerDeletion: true })], ['example.com/hold']);
    await dependent('fg-free', [refTo(o)], ['example.com/hold']);
    await dependent('fg-plain', [refTo(o, { blockOwnerDeletion: true })]);
    await cms.delete('fg-owner', { propagationPolicy: 'Foreground' });
    await gone('fg-plain');
    const blocking = await waitFor('fg-blocking being deleted', async () => {
      const d = await cms.get('fg-blocking');
      return d.metadata.deletionTimestamp ? d : undefined;
    });
    await waitFor('fg-free being deleted', async () => !!(await cms.get('fg-free')).metadata.deletionTimestamp);
    await settle();
    const held = await cms.get('fg-owner');
    assert.ok(held.metadata.deletionTimestamp);
    assert.deepEqual(held.metadata.finalizers, ['foregroundDeletion']);
    // releasing the blocking dependent lets the owner finish, though fg-free is still there
    await cms.patch('fg-blocking', 'merge', { metadata: { finalizers: null, resourceVersion: blocking.metadata.resourceVersion } });
    await gone('fg-blocking');
    await gone('fg-owner');
    assert.equal(await exists('fg-free'), true);
    await cms.patch('fg-free', 'merge', { metadata: { finalizers: null } });
  });

  it('Orphan: dependents stay and lose their reference to the owner', async () => {
    const o = await owner('or-owner');
    const other = await owner('or-other');
    await dependent('or-a', [refTo(o, { controller: true, blockOwnerDeletion: true })]);
    await dependent('or-b', [refTo(o), refTo(other)]);
    await cms.delete('or-owner', { propagationPolicy: 'Orphan' });
    await gone('or-owner');
    const a = await waitFor('or-a orphaned', async () => {
      const d = await cms.get('or-a');
      return (d.metadata.ownerReferences ?? []).length === 0 ? d : undefined;
    });
    assert.equal(a.metadata.deletionTimestamp, undefined);
    const b = await cms.get('or-b');
    assert.deepEqual(b.metadata.ownerReferences?.map((r) => r.name), ['or-other']);
  });

  it('a reference to an owner that does not exist (or exists with another uid) is dangling', async () => {
    const o = await owner('dg-real');
    await dependent('dg-missing', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'dg-never', uid: '00000000-0000-0000-0000-000000000001' }]);
    await dependent('dg-wrong-uid', [{ ...refTo(o), uid: '00000000-0000-0000-0000-000000000002' }]);
    await gone('dg-missing');
    await gone('dg-wrong-uid');
    assert.equal(await exists('dg-real'), true);
  });

  it('one deleted owner of two: the dependent stays and the dangling reference is removed', async () => {
    const a = await owner('mo-a');
    const b = await owner('mo-b');
    await dependent('mo-dep', [refTo(a), refTo(b)]);
    await cms.delete('mo-a');
    const dep = await waitFor('mo-dep without mo-a', async () => {
      const d = await cms.get('mo-dep');
      return d.metadata.ownerReferences?.length === 1 ? d : undefined;
    });
    assert.equal(dep.metadata.ownerReferences![0]!.name, 'mo-b');
  });

  it('an owner of another kind and scope: a Namespace owning a ConfigMap', async () => {
    const ns = await env.client.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gc-owner-ns' } });
    await dependent('ns-dep', [{ apiVersion: 'v1', kind: 'Namespace', name: 'gc-owner-ns', uid: ns.metadata.uid! }]);
    await settle();
    assert.equal(await exists('ns-dep'), true);
  });

  it('a reference to an owner in another namespace is reported and treated as absent', async () => {
    await env.client.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gc-other' } });
    const o = await owner('xn-owner');
    const other = env.client.resource('', 'configmaps').namespace('gc-other');
    await other.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'xn-dep', ownerReferences: [refTo(o)] } });
    await waitFor('xn-dep deleted', () => other.get('xn-dep').then(() => false, (e) => isNotFound(e)));
    const ev = await waitFor('OwnerRefInvalidNamespace event', async () => {
      const evs = await env.client.resource('', 'events').namespace('gc-other').list();
      return evs.items.find((e) => e.reason === 'OwnerRefInvalidNamespace');
    });
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.message, `ownerRef [v1/ConfigMap, namespace: gc-other, name: xn-owner, uid: ${o.metadata.uid}] does not exist in namespace "gc-other"`);
    assert.equal(await exists('xn-owner'), true);
  });
});

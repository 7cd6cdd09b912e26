import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { readyNode, startControllerTest, TEST_CONFIG, type ControllerTestEnv } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { persistentVolumeBinderController } from './binder.ts';
import { localPathProvisioner } from './localpath.ts';

const phase = (o: KObject) => (o.status as { phase?: string } | undefined)?.phase;
const spec = (o: KObject) => o.spec as Record<string, any>;

describe('PersistentVolume binding and local-path provisioning', () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerTest([persistentVolumeBinderController, localPathProvisioner], { log: process.env.PV_LOG ? (m) => console.log(m) : undefined });
    await env.client.resource('', 'nodes').create(readyNode('n1'));
  });
  after(() => env.stop());
  const pvs = () => env.client.resource('', 'persistentvolumes');
  const pvcs = (ns = 'default') => env.client.resource('', 'persistentvolumeclaims').namespace(ns);
  const mkPV = (name: string, size: string, reclaim = 'Retain', cls = 'manual') =>
    pvs().create({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name }, spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: reclaim, storageClassName: cls, hostPath: { path: `/srv/${name}` } } });
  const mkPVC = (name: string, size: string, cls?: string) =>
    pvcs().create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...(cls !== undefined ? { storageClassName: cls } : {}) } });
  const bound = (name: string) =>
    waitFor(`${name} bound`, async () => {
      const c = await pvcs().get(name);
      return phase(c) === 'Bound' ? c : undefined;
    });

  it('an Immediate claim binds to the smallest matching volume, both ways', async () => {
    await env.client.resource('storage.k8s.io', 'storageclasses').create({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'manual' }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'Immediate' });
    await mkPV('pv-1g', '1Gi');
    await mkPV('pv-5g', '5Gi');
    await mkPV('pv-10g', '10Gi');
    await waitFor('volumes Available', async () => phase(await pvs().get('pv-5g')) === 'Available');
    await mkPVC('data', '2Gi', 'manual');
    const claim = await bound('data');
    assert.equal(spec(claim).volumeName, 'pv-5g');
    assert.equal(claim.metadata.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    assert.equal(claim.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual((claim.status as Record<string, unknown>).capacity, { storage: '5Gi' });
    assert.deepEqual((claim.status as Record<string, unknown>).accessModes, ['ReadWriteOnce']);
    const pv = await waitFor('pv-5g Bound', async () => {
      const v = await pvs().get('pv-5g');
      return phase(v) === 'Bound' ? v : undefined;
    });
    assert.deepEqual([spec(pv).claimRef.name, spec(pv).claimRef.namespace, spec(pv).claimRef.uid], ['data', 'default', claim.metadata.uid]);
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.equal(phase(await pvs().get('pv-1g')), 'Available');
  });

  it('a claim naming a volume too small for it waits with VolumeMismatch; a deleted claim releases a Retain volume', async () => {
    await pvcs().create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'named' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '3Gi' } }, storageClassName: 'manual', volumeName: 'pv-1g' } });
    await waitFor('VolumeMismatch event', async () => {
      const evs = await env.client.resource('', 'events').namespace('default').list();
      return evs.items.find((e) => e.reason === 'VolumeMismatch' && e.message === 'Cannot bind to requested volume "pv-1g": requested PV is too small');
    });
    assert.equal(phase(await pvcs().get('named')), 'Pending');
    await pvcs().delete('data');
    const released = await waitFor('pv-5g Released', async () => {
      const v = await pvs().get('pv-5g');
      return phase(v) === 'Released' ? v : undefined;
    });
    assert.equal(spec(released).claimRef.name, 'data');
  });

  it('local-path: the default class, provisioning on the selected node, deletion with the claim', async () => {
    const sc = await waitFor('local-path StorageClass', () => env.client.resource('storage.k8s.io', 'storageclasses').get('local-path'));
    assert.equal(sc.provisioner, 'rancher.io/local-path');
    assert.equal(sc.volumeBindingMode, 'WaitForFirstConsumer');
    assert.equal(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    await mkPVC('cache', '256Mi');
    const pending = await waitFor('default class assigned', async () => {
      const c = await pvcs().get('cache');
      return spec(c).storageClassName === 'local-path' ? c : undefined;
    });
    await waitFor('WaitForFirstConsumer event', async () => {
      const evs = await env.client.resource('', 'events').namespace('default').list();
      return evs.items.find((e) => e.reason === 'WaitForFirstConsumer' && (e.involvedObject as { name: string }).name === 'cache');
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(phase(await pvcs().get('cache')), 'Pending');
    assert.deepEqual((await pvs().list()).items.filter((v) => v.metadata.name === `pvc-${pending.metadata.uid}`), []);
    // the scheduler picked n1
    await pvcs().patch('cache', 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'n1' } } });
    const claim = await bound('cache');
    const pvName = `pvc-${pending.metadata.uid}`;
    assert.equal(spec(claim).volumeName, pvName);
    assert.equal(claim.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'], 'rancher.io/local-path');
    const pv = await pvs().get(pvName);
    assert.deepEqual(spec(pv).hostPath, { path: `${TEST_CONFIG.localPathRoot}/${pvName}`, type: 'DirectoryOrCreate' });
    assert.deepEqual(spec(pv).nodeAffinity.required.nodeSelectorTerms[0].matchExpressions, [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }]);
    assert.equal(spec(pv).persistentVolumeReclaimPolicy, 'Delete');
    assert.equal(spec(pv).storageClassName, 'local-path');
    assert.deepEqual(spec(pv).capacity, { storage: '256Mi' });
    assert.equal(pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], 'rancher.io/local-path');
    const evs = await env.client.resource('', 'events').namespace('default').list();
    assert.ok(evs.items.some((e) => e.reason === 'ProvisioningSucceeded' && e.message === `Successfully provisioned volume ${pvName}`));
    await pvcs().delete('cache');
    await waitFor('provisioned volume deleted', () => pvs().get(pvName).then(() => false, () => true));
  });
});

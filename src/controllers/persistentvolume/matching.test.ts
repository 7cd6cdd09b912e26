import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { defaultStorageClass, findBestMatchForClaim, volumeMismatch } from './matching.ts';

const pv = (name: string, o: { size: string; modes?: string[]; cls?: string; labels?: Record<string, string>; mode?: string; phase?: string; claimRef?: unknown }): KObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name, labels: o.labels },
  spec: { capacity: { storage: o.size }, accessModes: o.modes ?? ['ReadWriteOnce'], storageClassName: o.cls ?? 'manual', volumeMode: o.mode, claimRef: o.claimRef },
  status: { phase: o.phase ?? 'Available' },
});
const pvc = (o: { size: string; modes?: string[]; cls?: string; selector?: unknown; mode?: string } = { size: '1Gi' }): KObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data', namespace: 'ns', uid: 'claim-uid' },
  spec: { accessModes: o.modes ?? ['ReadWriteOnce'], resources: { requests: { storage: o.size } }, storageClassName: o.cls ?? 'manual', selector: o.selector, volumeMode: o.mode },
});
const name = (v: KObject | undefined) => v?.metadata.name;

test('the smallest available volume that fits wins', () => {
  const vols = [pv('big', { size: '10Gi' }), pv('small', { size: '1Gi' }), pv('mid', { size: '5Gi' }), pv('mid-bound', { size: '3Gi', phase: 'Bound', claimRef: { name: 'x', namespace: 'ns', uid: 'u' } })];
  assert.equal(name(findBestMatchForClaim(pvc({ size: '2Gi' }), vols, false)), 'mid');
  assert.equal(name(findBestMatchForClaim(pvc({ size: '20Gi' }), vols, false)), undefined);
});

test('class, selector, volume mode and access modes all have to match; fewer extra modes first', () => {
  const vols = [
    pv('other-class', { size: '1Gi', cls: 'fast' }),
    pv('block', { size: '1Gi', mode: 'Block' }),
    pv('labelled', { size: '8Gi', labels: { tier: 'gold' } }),
    pv('rwx-rwo', { size: '1Gi', modes: ['ReadWriteOnce', 'ReadWriteMany'] }),
    pv('rwo', { size: '2Gi' }),
  ];
  assert.equal(name(findBestMatchForClaim(pvc({ size: '1Gi', cls: 'fast' }), vols, false)), 'other-class');
  assert.equal(name(findBestMatchForClaim(pvc({ size: '1Gi', mode: 'Block' }), vols, false)), 'block');
  assert.equal(name(findBestMatchForClaim(pvc({ size: '1Gi', selector: { matchLabels: { tier: 'gold' } } }), vols, false)), 'labelled');
  // rwo (2Gi) has exactly the requested modes, so it is preferred to the smaller rwx-rwo
  assert.equal(name(findBestMatchForClaim(pvc({ size: '1Gi' }), vols, false)), 'rwo');
  assert.equal(name(findBestMatchForClaim(pvc({ size: '1Gi', modes: ['ReadWriteMany'] }), vols, false)), 'rwx-rwo');
});

test('a volume pre-bound to the claim wins, even when binding is delayed; nothing else is bound then', () => {
  const vols = [pv('free', { size: '1Gi' }), pv('reserved', { size: '9Gi', claimRef: { name: 'data', namespace: 'ns' } })];
  assert.equal(name(findBestMatchForClaim(pvc({ size: '1Gi' }), vols, true)), 'reserved');
  assert.equal(name(findBestMatchForClaim(pvc({ size: '1Gi' }), [vols[0]!], true)), undefined);
});

test('a claim naming a volume that cannot serve it is told why', () => {
  assert.equal(volumeMismatch(pv('v', { size: '1Gi' }), pvc({ size: '2Gi' })), 'requested PV is too small');
  assert.equal(volumeMismatch(pv('v', { size: '2Gi', cls: 'x' }), pvc({ size: '2Gi' })), 'storageClassName does not match');
  assert.equal(volumeMismatch(pv('v', { size: '2Gi' }), pvc({ size: '2Gi' })), undefined);
});

test('the default class is the newest one annotated default', () => {
  const sc = (n: string, t: string, def: boolean): KObject => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: n, creationTimestamp: t, annotations: def ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {} } });
  assert.equal(defaultStorageClass([sc('a', '2025-01-01T00:00:00Z', true), sc('b', '2025-02-01T00:00:00Z', true), sc('c', '2025-03-01T00:00:00Z', false)])?.metadata.name, 'b');
  assert.equal(defaultStorageClass([sc('c', '2025-03-01T00:00:00Z', false)]), undefined);
});

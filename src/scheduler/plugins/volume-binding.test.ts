import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CycleState } from '../framework/cycle-state.ts';
import type { ClusterListers, VolumeBinderAPI } from '../framework/interfaces.ts';
import { ok, runFilter, unresolvable } from '../plugin-harness.ts';
import { podInfoOf } from '../podinfo.ts';
import { makeNode, makePod, testEnv } from '../testing.ts';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../types.ts';
import { newVolumeBinding } from './volume-binding.ts';

const nodes = () => [makeNode('node1', { labels: { zone: 'z1' } }), makeNode('node2', { labels: { zone: 'z2' } })];

function pvc(name: string, o: { volumeName?: string; bound?: boolean; storageClass?: string; size?: string; annotations?: Record<string, string>; deleting?: boolean } = {}): PersistentVolumeClaim {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      annotations: { ...(o.bound ? { 'pv.kubernetes.io/bind-completed': 'yes' } : {}), ...(o.annotations ?? {}) },
      ...(o.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    spec: {
      ...(o.volumeName ? { volumeName: o.volumeName } : {}),
      ...(o.storageClass !== undefined ? { storageClassName: o.storageClass } : {}),
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: o.size ?? '1Gi' } },
    },
    status: { phase: o.bound ? 'Bound' : 'Pending' },
  };
}

function pv(name: string, o: { zone?: string; node?: string; storageClass?: string; size?: string; phase?: string; claimRef?: { namespace: string; name: string } } = {}): PersistentVolume {
  const key = o.node ? 'kubernetes.io/hostname' : 'zone';
  const value = o.node ?? o.zone;
  return {
    metadata: { name },
    spec: {
      capacity: { storage: o.size ?? '1Gi' },
      accessModes: ['ReadWriteOnce'],
      storageClassName: o.storageClass ?? '',
      ...(o.claimRef ? { claimRef: o.claimRef } : {}),
      ...(value ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: 'In', values: [value] }] }] } } } : {}),
    },
    status: { phase: o.phase ?? 'Available' },
  };
}

const sc = (name: string, provisioner: string, mode = 'WaitForFirstConsumer', allowedZones?: string[]): StorageClass => ({
  metadata: { name },
  provisioner,
  volumeBindingMode: mode,
  ...(allowedZones ? { allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: allowedZones }] }] } : {}),
});

function listers(pvcs: PersistentVolumeClaim[], pvs: PersistentVolume[], classes: StorageClass[]): ClusterListers {
  return {
    pvcs: { get: (ns, name) => pvcs.find((c) => c.metadata.namespace === ns && c.metadata.name === name) },
    pvs: { get: (name) => pvs.find((v) => v.metadata.name === name), list: () => pvs },
    storageClasses: { get: (name) => classes.find((c) => c.metadata.name === name) },
  };
}

const withClaims = (...claims: string[]) => makePod('p', { volumes: claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } })) });

describe('VolumeBinding filter', () => {
  const cases: { name: string; pvcs: PersistentVolumeClaim[]; pvs: PersistentVolume[]; classes?: StorageClass[]; claims: string[]; want: Record<string, typeof ok> }[] = [
    { name: 'a pod without claims is not checked', pvcs: [], pvs: [], claims: [], want: { node1: ok, node2: ok } },
    {
      name: 'a missing claim',
      pvcs: [],
      pvs: [],
      claims: ['pvc-a'],
      want: { node1: unresolvable('persistentvolumeclaim "pvc-a" not found'), node2: unresolvable('persistentvolumeclaim "pvc-a" not found') },
    },
    {
      name: 'a claim being deleted',
      pvcs: [pvc('pvc-a', { deleting: true })],
      pvs: [],
      claims: ['pvc-a'],
      want: { node1: unresolvable('persistentvolumeclaim "pvc-a" is being deleted'), node2: unresolvable('persistentvolumeclaim "pvc-a" is being deleted') },
    },
    {
      name: 'an unbound claim of an Immediate class must be bound first',
      pvcs: [pvc('pvc-a', { storageClass: 'fast' })],
      pvs: [],
      classes: [sc('fast', 'example.com/csi', 'Immediate')],
      claims: ['pvc-a'],
      want: { node1: unresolvable('pod has unbound immediate PersistentVolumeClaims'), node2: unresolvable('pod has unbound immediate PersistentVolumeClaims') },
    },
    {
      name: "a bound claim's volume node affinity picks the nodes",
      pvcs: [pvc('pvc-a', { bound: true, volumeName: 'pv-a' })],
      pvs: [pv('pv-a', { zone: 'z1', phase: 'Bound' })],
      claims: ['pvc-a'],
      want: { node1: ok, node2: unresolvable("node(s) didn't match PersistentVolume's node affinity") },
    },
    {
      name: 'a claim bound to a volume that does not exist',
      pvcs: [pvc('pvc-a', { bound: true, volumeName: 'pv-gone' })],
      pvs: [],
      claims: ['pvc-a'],
      want: {
        node1: unresolvable('node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)'),
        node2: unresolvable('node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)'),
      },
    },
    {
      name: 'WaitForFirstConsumer without a provisioner: only nodes with an available local volume',
      pvcs: [pvc('pvc-a', { storageClass: 'local' })],
      pvs: [pv('pv-1', { node: 'node1', storageClass: 'local' })],
      classes: [sc('local', 'kubernetes.io/no-provisioner')],
      claims: ['pvc-a'],
      want: { node1: ok, node2: unresolvable("node(s) didn't find available persistent volumes to bind") },
    },
    {
      name: 'WaitForFirstConsumer: a volume too small does not match',
      pvcs: [pvc('pvc-a', { storageClass: 'local', size: '10Gi' })],
      pvs: [pv('pv-1', { node: 'node1', storageClass: 'local', size: '1Gi' })],
      classes: [sc('local', 'kubernetes.io/no-provisioner')],
      claims: ['pvc-a'],
      want: { node1: unresolvable("node(s) didn't find available persistent volumes to bind"), node2: unresolvable("node(s) didn't find available persistent volumes to bind") },
    },
    {
      name: 'WaitForFirstConsumer with a provisioner: any node its allowed topologies permit',
      pvcs: [pvc('pvc-a', { storageClass: 'csi' })],
      pvs: [],
      classes: [sc('csi', 'example.com/csi', 'WaitForFirstConsumer', ['z2'])],
      claims: ['pvc-a'],
      want: { node1: unresolvable("node(s) didn't find available persistent volumes to bind"), node2: ok },
    },
    {
      name: 'a claim whose node was already selected for provisioning fits only there',
      pvcs: [pvc('pvc-a', { storageClass: 'csi', annotations: { 'volume.kubernetes.io/selected-node': 'node2' } })],
      pvs: [],
      classes: [sc('csi', 'example.com/csi')],
      claims: ['pvc-a'],
      want: { node1: unresolvable("node(s) didn't find available persistent volumes to bind"), node2: ok },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = testEnv(nodes(), [], { listers: listers(c.pvcs, c.pvs, c.classes ?? []) });
      assert.deepEqual(runFilter(newVolumeBinding({}, env.handle), env.handle, withClaims(...c.claims)), c.want);
    });
  }
});

describe('VolumeBinding reserve and PreBind', () => {
  function recorder() {
    const calls: string[] = [];
    const api: VolumeBinderAPI = {
      async bindVolume(v, c) {
        calls.push(`bind ${v.metadata.name} ${c.metadata.name}`);
      },
      async selectNode(c, node) {
        calls.push(`select ${c.metadata.name} ${node}`);
      },
      async waitForBound(cs, timeoutMs) {
        calls.push(`wait ${cs.map((c) => c.metadata.name).join(',')} ${timeoutMs}`);
      },
    };
    return { calls, api };
  }

  async function schedule(claims: PersistentVolumeClaim[], pvs: PersistentVolume[], classes: StorageClass[], node: string, args = {}) {
    const { calls, api } = recorder();
    const env = testEnv(nodes(), [], { listers: listers(claims, pvs, classes), volumeBinder: api });
    const pl = newVolumeBinding(args, env.handle);
    const pod = podInfoOf(withClaims(...claims.map((c) => c.metadata.name!)));
    const state = new CycleState();
    pl.preFilter(state, pod, env.handle.snapshot().list());
    for (const n of env.handle.snapshot().list()) pl.filter(state, pod, n);
    assert.equal(pl.reserve(state, pod, node), null);
    const s = await pl.preBind(state, pod, node);
    return { calls, s };
  }

  test('a matched local volume is bound to the claim, then the binding is awaited', async () => {
    const { calls, s } = await schedule([pvc('pvc-a', { storageClass: 'local' })], [pv('pv-1', { node: 'node1', storageClass: 'local' })], [sc('local', 'kubernetes.io/no-provisioner')], 'node1');
    assert.equal(s, null);
    assert.deepEqual(calls, ['bind pv-1 pvc-a', 'wait pvc-a 600000']);
  });

  test('the smallest volume that fits is chosen', async () => {
    const { calls } = await schedule(
      [pvc('pvc-a', { storageClass: 'local', size: '5Gi' })],
      [pv('pv-big', { node: 'node1', storageClass: 'local', size: '100Gi' }), pv('pv-fit', { node: 'node1', storageClass: 'local', size: '8Gi' }), pv('pv-small', { node: 'node1', storageClass: 'local', size: '1Gi' })],
      [sc('local', 'kubernetes.io/no-provisioner')],
      'node1',
    );
    assert.equal(calls[0], 'bind pv-fit pvc-a');
  });

  test('a claim to provision gets the chosen node, with the configured timeout', async () => {
    const { calls } = await schedule([pvc('pvc-a', { storageClass: 'csi' })], [], [sc('csi', 'example.com/csi')], 'node2', { bindTimeoutSeconds: 30 });
    assert.deepEqual(calls, ['select pvc-a node2', 'wait pvc-a 30000']);
  });

  test('bound claims need no API work', async () => {
    const { calls, s } = await schedule([pvc('pvc-a', { bound: true, volumeName: 'pv-a' })], [pv('pv-a', { zone: 'z1', phase: 'Bound' })], [], 'node1');
    assert.equal(s?.code, 5);
    assert.deepEqual(calls, []);
  });
});

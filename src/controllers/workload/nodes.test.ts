import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import { findUntoleratedTaint, nodeSelectorTermMatches, podFitsNodeAffinity, toleratesTaint } from './nodes.ts';

const node = (name: string, labels: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });

test('nodeSelector needs every label with the same value', () => {
  const n = node('a', { disk: 'ssd', zone: 'z1' });
  assert.ok(podFitsNodeAffinity({ nodeSelector: { disk: 'ssd' } }, n));
  assert.ok(!podFitsNodeAffinity({ nodeSelector: { disk: 'hdd' } }, n));
  assert.ok(!podFitsNodeAffinity({ nodeSelector: { gpu: 'yes' } }, n));
  assert.ok(podFitsNodeAffinity({}, n));
});

test('required node affinity ORs its terms and ANDs each term\'s expressions and fields', () => {
  const n = node('a', { zone: 'z1', cores: '8' });
  const aff = (terms: unknown[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
  assert.ok(podFitsNodeAffinity(aff([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }]), n));
  assert.ok(!podFitsNodeAffinity(aff([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }, { key: 'gpu', operator: 'Exists' }] }]), n));
  assert.ok(podFitsNodeAffinity(aff([{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }, { key: 'zone', operator: 'NotIn', values: ['z9'] }] }]), n));
  assert.ok(podFitsNodeAffinity(aff([{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['4'] }] }]), n));
  assert.ok(!podFitsNodeAffinity(aff([{ matchExpressions: [{ key: 'cores', operator: 'Lt', values: ['4'] }] }]), n));
  assert.ok(podFitsNodeAffinity(aff([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }]), n));
  assert.ok(!podFitsNodeAffinity(aff([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }]), n));
  assert.ok(!nodeSelectorTermMatches({}, n), 'an empty term matches no node');
  assert.ok(!podFitsNodeAffinity(aff([]), n), 'no terms: no node');
});

test('tolerations: Exists with no key tolerates everything; Equal needs the value; an effect must match when given', () => {
  const t = { key: 'k', value: 'v', effect: 'NoSchedule' };
  assert.ok(toleratesTaint({ operator: 'Exists' }, t));
  assert.ok(toleratesTaint({ key: 'k', operator: 'Equal', value: 'v' }, t));
  assert.ok(toleratesTaint({ key: 'k', value: 'v', effect: 'NoSchedule' }, t), 'Equal is the default operator');
  assert.ok(!toleratesTaint({ key: 'k', value: 'w' }, t));
  assert.ok(!toleratesTaint({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, t));
  const taints = [
    { key: 'a', effect: 'PreferNoSchedule' },
    { key: 'b', effect: 'NoSchedule' },
  ];
  assert.equal(findUntoleratedTaint(taints, [], (x) => x.effect !== 'PreferNoSchedule')?.key, 'b');
  assert.equal(findUntoleratedTaint(taints, [{ key: 'b', operator: 'Exists' }], (x) => x.effect !== 'PreferNoSchedule'), undefined);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import './coordination.ts';
import { validateCreate, validateUpdate } from './index.ts';
import { defaultObject } from '../defaults/index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const LEASE = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' };

function create(gvk: typeof LEASE, obj: Obj): string[] {
  const o = structuredClone(obj);
  defaultObject(gvk, o);
  return validateCreate(gvk, o).map(fieldErrorString);
}

function update(gvk: typeof LEASE, obj: Obj, old: Obj): string[] {
  const o = structuredClone(obj);
  const prev = structuredClone(old);
  defaultObject(gvk, o);
  defaultObject(gvk, prev);
  return validateUpdate(gvk, o, prev).map(fieldErrorString);
}

test('Lease spec rules', () => {
  const base = { metadata: { name: 'kube-scheduler', namespace: 'kube-system' } };
  const cases: Array<[Obj, string[]]> = [
    [{ ...base, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0, renewTime: '2025-01-01T00:00:00.000000Z' } }, []],
    [{ ...base, spec: { leaseDurationSeconds: 0 } }, ['spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0']],
    [{ ...base, spec: { leaseTransitions: -1 } }, ['spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0']],
    [{ ...base, spec: { preferredHolder: 'x' } }, ['spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined']],
    [{ ...base, spec: { strategy: 'Newest' } }, ['spec.strategy.strategy: Unsupported value: "Newest": supported values: "OldestEmulationVersion"']],
    [{ ...base, spec: { strategy: 'example.com/mine', preferredHolder: 'x' } }, []],
    [{ metadata: { name: 'l' } }, ['metadata.namespace: Required value']],
  ];
  for (const [obj, want] of cases) assert.deepEqual(create(LEASE, obj), want, JSON.stringify(obj));
  assert.deepEqual(
    update(LEASE, { ...base, metadata: { ...base.metadata, resourceVersion: '2' }, spec: { leaseDurationSeconds: -5 } }, { ...base, metadata: { ...base.metadata, resourceVersion: '2' } }),
    ['spec.leaseDurationSeconds: Invalid value: -5: must be greater than 0'],
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import './scheduling.ts';
import { validateCreate, validateUpdate } from './index.ts';
import { defaultObject } from '../defaults/index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const PC = { group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass' };

function create(gvk: typeof PC, obj: Obj): string[] {
  const o = structuredClone(obj);
  defaultObject(gvk, o);
  return validateCreate(gvk, o).map(fieldErrorString);
}

function update(gvk: typeof PC, obj: Obj, old: Obj): string[] {
  const o = structuredClone(obj);
  const prev = structuredClone(old);
  defaultObject(gvk, o);
  defaultObject(gvk, prev);
  return validateUpdate(gvk, o, prev).map(fieldErrorString);
}

test('PriorityClass defaults preemptionPolicy to PreemptLowerPriority', () => {
  const pc: Obj = { metadata: { name: 'high' }, value: 1000 };
  defaultObject(PC, pc);
  assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority');
  const never: Obj = { metadata: { name: 'n' }, value: 1, preemptionPolicy: 'Never' };
  defaultObject(PC, never);
  assert.equal(never.preemptionPolicy, 'Never');
});

test('PriorityClass values and the reserved system- prefix', () => {
  const cases: Array<[Obj, string[]]> = [
    [{ metadata: { name: 'high' }, value: 1000000000, globalDefault: true }, []],
    [{ metadata: { name: 'system-node-critical' }, value: 2000001000 }, []],
    [{ metadata: { name: 'system-cluster-critical' }, value: 2000000000 }, []],
    [{ metadata: { name: 'too-high' }, value: 1000000001 }, ['value: Forbidden: maximum allowed value of a user defined priority is 1000000000']],
    [
      { metadata: { name: 'system-mine' }, value: 10 },
      ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"],
    ],
    [
      { metadata: { name: 'system-node-critical' }, value: 5 },
      ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: value of system-node-critical PriorityClass must be 2000001000"],
    ],
    [
      { metadata: { name: 'system-cluster-critical' }, value: 2000000000, globalDefault: true },
      ["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: globalDefault of system-cluster-critical PriorityClass must be false"],
    ],
    [{ metadata: { name: 'p' }, value: 1, preemptionPolicy: 'Sometimes' }, ['preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"']],
    [{ metadata: { name: 'p', namespace: 'x' }, value: 1 }, ['metadata.namespace: Forbidden: not allowed on this type']],
  ];
  for (const [obj, want] of cases) assert.deepEqual(create(PC, obj), want, JSON.stringify(obj));
});

test('PriorityClass value and preemptionPolicy are immutable', () => {
  const old = { metadata: { name: 'p', resourceVersion: '1' }, value: 10 };
  assert.deepEqual(update(PC, { ...old, description: 'changed', globalDefault: true }, old), []);
  assert.deepEqual(update(PC, { ...old, value: 11 }, old), ['value: Forbidden: may not be changed in an update.']);
  assert.deepEqual(update(PC, { ...old, preemptionPolicy: 'Never' }, old), ['preemptionPolicy: Invalid value: "Never": field is immutable']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import './node.ts';
import { validateCreate, validateUpdate } from './index.ts';
import { defaultObject } from '../defaults/index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const GVK = { group: 'node.k8s.io', version: 'v1', kind: 'RuntimeClass' };
function defaulted(o: Obj): Obj {
  const c = structuredClone(o);
  defaultObject(GVK, c);
  return c;
}
const create = (o: Obj) => validateCreate(GVK, defaulted(o)).map(fieldErrorString);
const update = (o: Obj, old: Obj) => [...new Set(validateUpdate(GVK, defaulted(o), defaulted(old)).map(fieldErrorString))];

const rc = {
  metadata: { name: 'gvisor', resourceVersion: '1' },
  handler: 'runsc',
  overhead: { podFixed: { cpu: '250m', memory: '64Mi' } },
  scheduling: { nodeSelector: { 'runtime/gvisor': 'true' }, tolerations: [{ key: 'runtime', operator: 'Equal', value: 'gvisor', effect: 'NoSchedule' }] },
};

test('a valid RuntimeClass passes', () => {
  assert.deepEqual(create(rc), []);
  assert.deepEqual(create({ metadata: { name: 'runc' }, handler: 'runc' }), []);
});

test('handler must be a DNS label and is immutable', () => {
  assert.equal(create({ ...rc, handler: 'Run_SC' })[0]!.startsWith('handler: Invalid value: "Run_SC": a lowercase RFC 1123 label must consist of'), true);
  assert.equal(create({ ...rc, handler: '' }).length > 0, true);
  assert.deepEqual(update({ ...rc, handler: 'kata' }, rc), ['handler: Invalid value: "kata": field is immutable']);
  assert.deepEqual(update({ ...rc, metadata: { ...rc.metadata, labels: { a: 'b' } } }, rc), []);
});

test('overhead is validated as container limits', () => {
  assert.deepEqual(create({ ...rc, overhead: { podFixed: { cpu: '-1' } } }), ['overhead.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0']);
});

test('scheduling: node selector labels and unique, valid tolerations', () => {
  const t = rc.scheduling.tolerations[0]!;
  assert.deepEqual(create({ ...rc, scheduling: { tolerations: [t, { ...t }] } }), [
    'scheduling.tolerations[1]: Duplicate value: core.Toleration{Key:"runtime", Operator:"Equal", Value:"gvisor", Effect:"NoSchedule", TolerationSeconds:(*int64)(nil)}',
  ]);
  assert.deepEqual(create({ ...rc, scheduling: { tolerations: [{ key: 'a', operator: 'Sometimes' }] } }), [
    'scheduling.tolerations[0].operator: Unsupported value: "Sometimes": supported values: "Equal", "Exists"',
  ]);
  assert.equal(create({ ...rc, scheduling: { nodeSelector: { 'bad key!': 'x' } } })[0]!.startsWith('scheduling.nodeSelector: Invalid value: "bad key!"'), true);
});

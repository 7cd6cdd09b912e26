import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStatusError } from '../errors.ts';
import { defaultObject } from './index.ts';
import { register, validateCreate, validateUpdate, validateStatusUpdate } from '../validation/index.ts';

const pod = (resources: unknown) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', annotations: { cpu: '1000m' } },
  spec: { containers: [{ name: 'c', image: 'nginx', resources }] },
});

test('defaulting rewrites quantities in canonical form wherever the schema has them', () => {
  const p = pod({ limits: { cpu: '1000m', memory: '1.5Gi' }, requests: { cpu: 0.5 } });
  defaultObject({ group: '', version: 'v1', kind: 'Pod' }, p);
  // requests missing from a pod's container are defaulted from its limits
  assert.deepEqual(p.spec.containers[0]!.resources, { limits: { cpu: '1', memory: '1536Mi' }, requests: { cpu: '500m', memory: '1536Mi' } });
  assert.equal(p.metadata.annotations.cpu, '1000m'); // not a quantity field
  const rq = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { 'requests.cpu': '2000m' } } };
  defaultObject({ group: '', version: 'v1', kind: 'ResourceQuota' }, rq);
  assert.equal(rq.spec.hard['requests.cpu'], '2');
});

test('quantities already in canonical form are left as they are (a shared, frozen object is not written)', async () => {
  const { canonicalizeQuantities } = await import('./quantities.ts');
  const { deepFreeze } = await import('../meta.ts');
  const p = deepFreeze(pod({ limits: { cpu: '1', memory: '1536Mi' }, requests: { cpu: '500m', memory: '1536Mi' } }));
  assert.equal(canonicalizeQuantities({ group: '', version: 'v1', kind: 'Pod' }, p), undefined);
  const q = pod({ limits: { cpu: 2 }, requests: { cpu: '0.25' } });
  canonicalizeQuantities({ group: '', version: 'v1', kind: 'Pod' }, q);
  assert.deepEqual(q.spec.containers[0]!.resources, { limits: { cpu: '2' }, requests: { cpu: '250m' } });
});

test('a malformed quantity fails decoding with upstream 400 wording', () => {
  const p = pod({ limits: { cpu: 'lots' } });
  assert.throws(
    () => defaultObject({ group: '', version: 'v1', kind: 'Pod' }, p),
    (e: unknown) =>
      isStatusError(e) &&
      e.code === 400 &&
      e.message ===
        `Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
  );
});

test('registered strategies receive the object and version; unregistered kinds get metadata checks', () => {
  const seen: string[] = [];
  register('example.test/Widget', {
    defaults: (o, v) => void (o.spec = { defaulted: v }),
    validateCreate: (_o, v) => (seen.push(`create ${v}`), []),
    validateUpdate: (_o, _old, v) => (seen.push(`update ${v}`), []),
    validateStatusUpdate: (_o, _old, v) => (seen.push(`status ${v}`), []),
  });
  const gvk = { group: 'example.test', version: 'v9', kind: 'Widget' };
  const w: { metadata: object; spec?: unknown } = { metadata: {} };
  defaultObject(gvk, w);
  assert.deepEqual(w.spec, { defaulted: 'v9' });
  validateCreate(gvk, w);
  validateUpdate(gvk, w, w);
  validateStatusUpdate(gvk, w, w);
  assert.deepEqual(seen, ['create v9', 'update v9', 'status v9']);
  const errs = validateCreate({ group: 'example.test', version: 'v1', kind: 'Gadget' }, { metadata: { namespace: 'd' } });
  assert.deepEqual(errs.map((e) => e.field), ['metadata.name']);
});

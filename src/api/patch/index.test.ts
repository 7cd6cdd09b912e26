import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeApplyPatch, serverSideApply, typeForGVK } from './index.ts';
import { isStatusError } from '../errors.ts';

test('an apply body may be JSON (what kubectl sends) or YAML', () => {
  const json = decodeApplyPatch('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}}');
  const yaml = decodeApplyPatch('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n');
  assert.deepEqual(json, yaml);
  const gvk = { group: '', version: 'v1', kind: 'ConfigMap' };
  const r = serverSideApply({ applied: yaml, manager: 'kubectl', gvk, type: typeForGVK(gvk), now: new Date('2024-01-02T03:04:05Z') });
  assert.deepEqual((r.object.metadata as { managedFields: unknown[] }).managedFields[0], {
    manager: 'kubectl',
    operation: 'Apply',
    apiVersion: 'v1',
    time: '2024-01-02T03:04:05Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:data': { 'f:k': {} } },
  });
});

test('an empty apply body is an empty object, which the kind check then refuses', () => {
  assert.deepEqual(decodeApplyPatch(''), {});
  const gvk = { group: '', version: 'v1', kind: 'ConfigMap' };
  assert.throws(
    () => serverSideApply({ applied: decodeApplyPatch(''), manager: 'kubectl', gvk, type: typeForGVK(gvk) }),
    (e: unknown) => isStatusError(e) && e.code === 400 && e.status.message === 'invalid object type: /, Kind=',
  );
});

test('an apply body that is a list or unreadable YAML is a 400', () => {
  assert.throws(
    () => decodeApplyPatch('- a\n- b\n'),
    (e: unknown) => isStatusError(e) && e.code === 400 && e.status.message === 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}',
  );
  assert.throws(
    () => decodeApplyPatch('a: [\n'),
    (e: unknown) => isStatusError(e) && e.code === 400 && (e.status.message ?? '').startsWith('error encoding patch: '),
  );
});

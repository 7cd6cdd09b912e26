import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStatusError } from '../../api/errors.ts';
import { buildTable, parseIncludeObject, tableWatchConverter } from './table.ts';
import type { Table } from './types.ts';

const NOW = new Date('2024-05-01T12:00:00Z');

function configMap(name: string, rv: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', resourceVersion: rv, uid: `uid-${name}`, labels: { app: 'x' }, creationTimestamp: '2024-05-01T11:00:00Z' },
    data: { k: 'v' },
  };
}

test('a list prints as a meta.k8s.io/v1 Table with the list metadata and PartialObjectMetadata rows', () => {
  const items = [configMap('a', '11'), configMap('b', '12')];
  const table = buildTable('', 'configmaps', items, { now: NOW, listMeta: { resourceVersion: '40', continue: 'tok', remainingItemCount: 3 } });
  assert.equal(table.kind, 'Table');
  assert.equal(table.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(table.metadata, { resourceVersion: '40', continue: 'tok', remainingItemCount: 3 });
  assert.deepEqual(table.columnDefinitions!.map((c) => [c.name, c.type, c.format, c.priority]), [
    ['Name', 'string', 'name', 0],
    ['Data', 'string', '', 0],
    ['Age', 'string', '', 0],
  ]);
  for (const c of table.columnDefinitions!) assert.ok(c.description.length > 0, c.name);
  assert.deepEqual(table.rows, [
    { cells: ['a', 1, '60m'], object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: items[0]!.metadata } },
    { cells: ['b', 1, '60m'], object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: items[1]!.metadata } },
  ]);
});

test('an empty list has no rows but keeps its columns and resourceVersion', () => {
  const table = buildTable('', 'pods', [], { now: NOW, listMeta: { resourceVersion: '7' } });
  assert.deepEqual(table.rows, []);
  assert.equal(table.columnDefinitions!.length, 9);
  assert.deepEqual(table.metadata, { resourceVersion: '7' });
  // JSON as kubectl reads it: empty continue and absent count are left out.
  assert.equal(JSON.stringify(table.metadata), '{"resourceVersion":"7"}');
});

test('a single object takes its own resourceVersion', () => {
  const table = buildTable('', 'configmaps', [configMap('a', '11')], { now: NOW });
  assert.deepEqual(table.metadata, { resourceVersion: '11' });
});

test('includeObject selects what each row carries: metadata by default, the object, or nothing', () => {
  const cm = configMap('a', '11');
  assert.deepEqual(buildTable('', 'configmaps', [cm], { now: NOW, includeObject: 'Object' }).rows[0]!.object, cm);
  assert.equal(buildTable('', 'configmaps', [cm], { now: NOW, includeObject: 'None' }).rows[0]!.object, null);
  const v1beta1 = buildTable('', 'configmaps', [cm], { now: NOW, apiVersion: 'meta.k8s.io/v1beta1' });
  assert.equal(v1beta1.apiVersion, 'meta.k8s.io/v1beta1');
  assert.deepEqual(v1beta1.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1beta1', metadata: cm.metadata });
});

test('the includeObject parameter defaults to Metadata and rejects unknown values with a BadRequest', () => {
  assert.equal(parseIncludeObject(null), 'Metadata');
  assert.equal(parseIncludeObject(''), 'Metadata');
  assert.equal(parseIncludeObject('Metadata'), 'Metadata');
  assert.equal(parseIncludeObject('Object'), 'Object');
  assert.equal(parseIncludeObject('None'), 'None');
  assert.throws(
    () => parseIncludeObject('object'),
    (e: unknown) => isStatusError(e) && e.code === 400 && e.status.reason === 'BadRequest' && e.message === 'unrecognized includeObject value: "object"',
  );
});

test('finished pods carry their Completed condition between cells and object', () => {
  const pod = { metadata: { name: 'done', resourceVersion: '3' }, spec: { containers: [{ name: 'c' }] }, status: { phase: 'Succeeded' } };
  const row = buildTable('', 'pods', [pod], { now: NOW }).rows[0]!;
  assert.deepEqual(Object.keys(row), ['cells', 'conditions', 'object']);
  assert.equal(row.conditions![0]!.reason, 'Succeeded');
});

test('a watch as Table sends one-row tables, with column definitions only on the first event', () => {
  const convert = tableWatchConverter('', 'configmaps', { now: NOW });
  const first = convert({ type: 'ADDED', object: configMap('a', '11') });
  const second = convert({ type: 'MODIFIED', object: configMap('a', '12') });
  const bookmark = convert({ type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '13' } } });
  const error = { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired' } };
  assert.equal(first.type, 'ADDED');
  const t1 = first.object as Table;
  const t2 = second.object as Table;
  assert.equal(t1.columnDefinitions!.length, 3);
  assert.deepEqual(t1.rows.map((r) => r.cells), [['a', 1, '60m']]);
  assert.deepEqual(t1.metadata, { resourceVersion: '11' });
  assert.equal(second.type, 'MODIFIED');
  assert.equal(t2.columnDefinitions, null);
  assert.deepEqual(t2.metadata, { resourceVersion: '12' });
  assert.equal((bookmark.object as Table).rows.length, 1);
  assert.deepEqual((bookmark.object as Table).metadata, { resourceVersion: '13' });
  assert.deepEqual(convert(error), error);
  // Each stream keeps its own state: a new watch starts with headers again.
  const again = tableWatchConverter('', 'configmaps', { now: NOW })({ type: 'ADDED', object: configMap('a', '11') });
  assert.equal((again.object as Table).columnDefinitions!.length, 3);
});

test('a watch whose first event is an error still sends headers with its first table', () => {
  const convert = tableWatchConverter('', 'configmaps', { now: NOW });
  convert({ type: 'ERROR', object: { kind: 'Status' } });
  assert.equal(((convert({ type: 'ADDED', object: configMap('a', '1') }).object) as Table).columnDefinitions!.length, 3);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import './events.ts';
import { validateEventLegacy } from './events.ts';
import { validateCreate, validateUpdate } from './index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const GVK = { group: 'events.k8s.io', version: 'v1', kind: 'Event' };

const ev: Obj = {
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: { name: 'web.1', namespace: 'default', resourceVersion: '1' },
  eventTime: '2025-01-01T00:00:00.000001Z',
  reportingController: 'example.com/controller',
  reportingInstance: 'controller-0',
  action: 'Scale',
  reason: 'Scaled',
  regarding: { kind: 'Deployment', namespace: 'default', name: 'web' },
  note: 'scaled to 3',
  type: 'Normal',
};
const create = (o: Obj) => validateCreate(GVK, o).map(fieldErrorString);
const update = (o: Obj, old: Obj) => [...new Set(validateUpdate(GVK, o, old).map(fieldErrorString))];

test('a valid events.k8s.io/v1 event passes, in either form', () => {
  assert.deepEqual(create(ev), []);
  assert.deepEqual(create({ ...ev, series: { count: 2, lastObservedTime: '2025-01-01T00:01:00.000000Z' } }), []);
});

test('strict events.k8s.io/v1 rules, reported with core field names', () => {
  const cases: Array<[Obj, string[]]> = [
    [{ ...ev, eventTime: undefined }, ['eventTime: Required value']],
    [{ ...ev, type: 'Info' }, ['type: Invalid value: "": has invalid value: Info']],
    [{ ...ev, deprecatedCount: 3 }, ['count: Invalid value: "": needs to be unset']],
    [{ ...ev, deprecatedSource: { component: 'kubelet' } }, ['source: Invalid value: "": needs to be unset']],
    [{ ...ev, deprecatedFirstTimestamp: '2025-01-01T00:00:00Z' }, ['firstTimestamp: Invalid value: "": needs to be unset']],
    [{ ...ev, series: { count: 1 } }, ['series.count: Invalid value: "": should be at least 2', 'series.lastObservedTime: Required value']],
    [
      { ...ev, reportingController: '' },
      [
        'reportingController: Required value',
        'reportingController: Invalid value: "": name part must be non-empty',
        "reportingController: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ],
    ],
    [{ ...ev, action: '' }, ['action: Required value']],
    [{ ...ev, reason: 'x'.repeat(129) }, ['reason: Invalid value: "": can have at most 128 characters']],
    [{ ...ev, note: 'x'.repeat(1025) }, ['message: Invalid value: "": can have at most 1024 characters']],
    [{ ...ev, regarding: { kind: 'Node', name: 'n1' }, metadata: { ...ev.metadata, namespace: 'other' } }, ['involvedObject.namespace: Invalid value: "": does not match event.namespace']],
  ];
  for (const [obj, want] of cases) assert.deepEqual(create(obj), want, JSON.stringify(obj).slice(0, 150));
});

test('legacy rules for old-style events (no eventTime): the namespace must match the object', () => {
  const core = { metadata: { name: 'e', namespace: 'ns1' }, involvedObject: { kind: 'Pod', namespace: 'ns2', name: 'p' } };
  assert.deepEqual(validateEventLegacy(core).map(fieldErrorString), ['involvedObject.namespace: Invalid value: "ns2": does not match event.namespace']);
  assert.deepEqual(validateEventLegacy({ metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Node', name: 'n' } }), []);
});

test('events.k8s.io/v1 updates may change the series but little else', () => {
  const withSeries = { ...ev, series: { count: 2, lastObservedTime: '2025-01-01T00:01:00.000000Z' } };
  assert.deepEqual(update(withSeries, ev), []);
  assert.deepEqual(update({ ...ev, series: { count: 1, lastObservedTime: '2025-01-01T00:01:00.000000Z' } }, ev), ['series.count: Invalid value: "": should be at least 2']);
  assert.deepEqual(update({ ...ev, note: 'changed' }, ev), ['message: Invalid value: "changed": field is immutable']);
  assert.deepEqual(update({ ...ev, reportingController: 'example.com/other' }, ev), ['reportingController: Invalid value: "example.com/other": field is immutable']);
  assert.deepEqual(update({ ...ev, eventTime: '2025-01-02T03:04:05.500000Z' }, ev), ['eventTime: Invalid value: 2025-01-02 03:04:05.5 +0000 UTC: field is immutable']);
  assert.deepEqual(update({ ...ev, regarding: { ...ev.regarding, name: 'api' } }, ev), [
    'involvedObject: Invalid value: core.ObjectReference{Kind:"Deployment", Namespace:"default", Name:"api", UID:"", APIVersion:"", ResourceVersion:"", FieldPath:""}: field is immutable',
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convert, canConvert } from './index.ts';
import {
  BEHAVIOR_SPECS_ANNOTATION,
  CONDITIONS_ANNOTATION,
  METRIC_SPECS_ANNOTATION,
  METRIC_STATUSES_ANNOTATION,
} from './autoscaling.ts';
import { isStatusError } from '../errors.ts';

type Obj = Record<string, any>;

const fullCoreEvent: Obj = {
  kind: 'Event',
  apiVersion: 'v1',
  metadata: { name: 'web.17a', namespace: 'default', resourceVersion: '42' },
  involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u-1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{app}' },
  reason: 'Pulled',
  message: 'Successfully pulled image',
  source: { component: 'kubelet', host: 'node-1' },
  firstTimestamp: '2025-01-01T00:00:00Z',
  lastTimestamp: '2025-01-01T00:01:00Z',
  count: 3,
  type: 'Normal',
  eventTime: '2025-01-01T00:00:00.000001Z',
  series: { count: 2, lastObservedTime: '2025-01-01T00:01:00.000000Z' },
  action: 'Pull',
  related: { kind: 'Node', name: 'node-1' },
  reportingComponent: 'kubelet',
  reportingInstance: 'node-1',
};

test('a core event is served as events.k8s.io/v1 with upstream field names', () => {
  const ev = convert(fullCoreEvent, 'events.k8s.io/v1');
  assert.equal(ev.apiVersion, 'events.k8s.io/v1');
  assert.equal(ev.kind, 'Event');
  assert.equal(ev.note, 'Successfully pulled image');
  assert.deepEqual(ev.regarding, fullCoreEvent.involvedObject);
  assert.deepEqual(ev.deprecatedSource, { component: 'kubelet', host: 'node-1' });
  assert.equal(ev.reportingController, 'kubelet');
  assert.equal(ev.reportingInstance, 'node-1');
  assert.equal(ev.deprecatedFirstTimestamp, '2025-01-01T00:00:00Z');
  assert.equal(ev.deprecatedLastTimestamp, '2025-01-01T00:01:00Z');
  assert.equal(ev.deprecatedCount, 3);
  assert.deepEqual(ev.series, fullCoreEvent.series);
  for (const coreOnly of ['message', 'involvedObject', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'reportingComponent']) {
    assert.equal(coreOnly in ev, false, `${coreOnly} must not appear in events.k8s.io/v1`);
  }
});

test('core event -> events.k8s.io/v1 -> core keeps every field', () => {
  const back = convert(convert(fullCoreEvent, 'events.k8s.io/v1'), 'v1');
  assert.deepEqual(back, fullCoreEvent);
});

test('a sparse events.k8s.io/v1 event round-trips without invented fields', () => {
  const ev: Obj = {
    kind: 'Event',
    apiVersion: 'events.k8s.io/v1',
    metadata: { name: 'x', namespace: 'ns' },
    eventTime: '2025-01-01T00:00:00.000000Z',
    reportingController: 'example.com/ctl',
    reportingInstance: 'i-1',
    action: 'Sync',
    reason: 'Synced',
    regarding: { kind: 'Pod', name: 'p', namespace: 'ns' },
    type: 'Warning',
  };
  const core = convert(ev, 'v1');
  assert.deepEqual(core, {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: { name: 'x', namespace: 'ns' },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'ns' },
    reason: 'Synced',
    type: 'Warning',
    eventTime: '2025-01-01T00:00:00.000000Z',
    action: 'Sync',
    reportingComponent: 'example.com/ctl',
    reportingInstance: 'i-1',
  });
  assert.deepEqual(convert(core, 'events.k8s.io/v1'), ev);
});

test('conversion does not modify or share its input', () => {
  const input = structuredClone(fullCoreEvent);
  const ev = convert(input, 'events.k8s.io/v1');
  ev.regarding.name = 'changed';
  ev.metadata.name = 'changed';
  assert.deepEqual(input, fullCoreEvent);
});

test('convert is the identity when the version already matches', () => {
  assert.equal(convert(fullCoreEvent, 'v1'), fullCoreEvent);
  assert.equal(canConvert('Event', 'v1', 'v1'), true);
  assert.equal(canConvert('Event', 'v1', 'events.k8s.io/v1'), true);
  assert.equal(canConvert('Pod', 'v1', 'v2'), false);
});

test('an unknown conversion fails with an internal error', () => {
  assert.throws(
    () => convert({ kind: 'Pod', apiVersion: 'v1' }, 'v2'),
    (e: unknown) => isStatusError(e) && e.code === 500 && /no conversion for kind "Pod"/.test(e.message),
  );
});

test('a list converts every item and its own apiVersion', () => {
  const list = { kind: 'EventList', apiVersion: 'v1', metadata: { resourceVersion: '9' }, items: [fullCoreEvent, { ...fullCoreEvent, message: 'two' }] };
  const out = convert(list, 'events.k8s.io/v1') as Obj;
  assert.equal(out.apiVersion, 'events.k8s.io/v1');
  assert.equal(out.kind, 'EventList');
  assert.deepEqual(out.metadata, { resourceVersion: '9' });
  assert.deepEqual(out.items.map((i: Obj) => i.note), ['Successfully pulled image', 'two']);
  assert.ok(out.items.every((i: Obj) => i.apiVersion === 'events.k8s.io/v1'));
});

// ---------------------------------------------------------------------------------------------
// HorizontalPodAutoscaler

const v2Hpa: Obj = {
  kind: 'HorizontalPodAutoscaler',
  apiVersion: 'autoscaling/v2',
  metadata: { name: 'web', namespace: 'default', annotations: { team: 'a' } },
  spec: {
    scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
    minReplicas: 2,
    maxReplicas: 10,
    metrics: [
      { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '1k' } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '512Mi' } } },
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
    ],
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] },
      scaleDown: { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
    },
  },
  status: {
    observedGeneration: 3,
    lastScaleTime: '2025-01-01T00:00:00Z',
    currentReplicas: 4,
    desiredReplicas: 5,
    currentMetrics: [
      { type: 'Pods', pods: { metric: { name: 'qps' }, current: { averageValue: '900' } } },
      { type: 'Resource', resource: { name: 'cpu', current: { averageValue: '250m', averageUtilization: 62 } } },
    ],
    conditions: [{ type: 'AbleToScale', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'ReadyForNewScale', message: 'ok' }],
  },
};

test('HPA v2 -> v1 maps the CPU metric to targetCPUUtilizationPercentage and carries the rest in annotations', () => {
  const v1 = convert(v2Hpa, 'autoscaling/v1');
  assert.equal(v1.apiVersion, 'autoscaling/v1');
  assert.deepEqual(v1.spec, {
    scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
    minReplicas: 2,
    maxReplicas: 10,
    targetCPUUtilizationPercentage: 50,
  });
  assert.deepEqual(v1.status, {
    observedGeneration: 3,
    lastScaleTime: '2025-01-01T00:00:00Z',
    currentReplicas: 4,
    desiredReplicas: 5,
    currentCPUUtilizationPercentage: 62,
  });
  const a = v1.metadata.annotations;
  assert.equal(a.team, 'a');
  // Byte-for-byte what upstream's json.Marshal of the v1 types produces.
  assert.equal(
    a[METRIC_SPECS_ANNOTATION],
    '[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"1k"}},{"type":"Resource","resource":{"name":"memory","targetAverageValue":"512Mi"}}]',
  );
  assert.equal(
    a[METRIC_STATUSES_ANNOTATION],
    '[{"type":"Pods","pods":{"metricName":"qps","currentAverageValue":"900"}},{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":62,"currentAverageValue":"250m"}}]',
  );
  assert.equal(
    a[BEHAVIOR_SPECS_ANNOTATION],
    '{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15},{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null},' +
      '"ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":"Max","Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null}}',
  );
  assert.equal(
    a[CONDITIONS_ANNOTATION],
    '[{"type":"AbleToScale","status":"True","lastTransitionTime":"2025-01-01T00:00:00Z","reason":"ReadyForNewScale","message":"ok"}]',
  );
});

test('HPA v2 -> v1 -> v2 keeps metrics, behavior, statuses and conditions (other metrics first, as upstream)', () => {
  const back = convert(convert(v2Hpa, 'autoscaling/v1'), 'autoscaling/v2');
  // Upstream puts the metrics from the annotation first and the CPU target last: v2Hpa is
  // already in that order, so the round trip is exact.
  assert.deepEqual(back, v2Hpa);
});

test('HPA v1 -> v2 -> v1 is stable', () => {
  const v1 = convert(v2Hpa, 'autoscaling/v1');
  assert.deepEqual(convert(convert(v1, 'autoscaling/v2'), 'autoscaling/v1'), v1);
});

test('a CPU target listed first comes back after the other metrics', () => {
  const hpa = structuredClone(v2Hpa);
  hpa.spec.metrics = [hpa.spec.metrics[2], hpa.spec.metrics[0]];
  const back = convert(convert(hpa, 'autoscaling/v1'), 'autoscaling/v2');
  assert.deepEqual(back.spec.metrics.map((m: Obj) => m.type), ['Pods', 'Resource']);
});

test('a v1 HPA without a CPU target gets the implicit 80% CPU utilization target', () => {
  const v1: Obj = { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v1', metadata: { name: 'h' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 3 } };
  const v2 = convert(v1, 'autoscaling/v2');
  assert.deepEqual(v2.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  assert.equal('behavior' in v2.spec, false);
  assert.equal('annotations' in v2.metadata, false);
});

test('v1 round-trip annotations the client sent are replaced, not kept, on the way to v1', () => {
  const hpa = structuredClone(v2Hpa);
  hpa.metadata.annotations[METRIC_SPECS_ANNOTATION] = 'stale';
  hpa.spec.metrics = [hpa.spec.metrics[2]];
  delete hpa.spec.behavior;
  delete hpa.status;
  const v1 = convert(hpa, 'autoscaling/v1');
  assert.deepEqual(v1.metadata.annotations, { team: 'a' });
});

test('an annotation that does not parse is ignored and dropped', () => {
  const v1: Obj = {
    kind: 'HorizontalPodAutoscaler',
    apiVersion: 'autoscaling/v1',
    metadata: { name: 'h', annotations: { [METRIC_SPECS_ANNOTATION]: '{not json', [BEHAVIOR_SPECS_ANNOTATION]: '{}' } },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 3, targetCPUUtilizationPercentage: 70 },
  };
  const v2 = convert(v1, 'autoscaling/v2');
  assert.deepEqual(v2.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
  assert.equal('behavior' in v2.spec, false);
  assert.equal('annotations' in v2.metadata, false);
});

test('object and external metrics convert with upstream target types', () => {
  const hpa = structuredClone(v2Hpa);
  hpa.spec.metrics = [
    { type: 'Object', object: { describedObject: { kind: 'Ingress', name: 'main', apiVersion: 'networking.k8s.io/v1' }, target: { type: 'Value', value: '10' }, metric: { name: 'rps' } } },
    { type: 'External', external: { metric: { name: 'queue', selector: { matchLabels: { q: 'jobs' } } }, target: { type: 'AverageValue', averageValue: '30' } } },
  ];
  const v1 = convert(hpa, 'autoscaling/v1');
  assert.equal(v1.spec.targetCPUUtilizationPercentage, undefined);
  assert.equal(
    v1.metadata.annotations[METRIC_SPECS_ANNOTATION],
    '[{"type":"Object","object":{"target":{"kind":"Ingress","name":"main","apiVersion":"networking.k8s.io/v1"},"metricName":"rps","targetValue":"10"}},' +
      '{"type":"External","external":{"metricName":"queue","metricSelector":{"matchLabels":{"q":"jobs"}},"targetAverageValue":"30"}}]',
  );
  const back = convert(v1, 'autoscaling/v2');
  assert.deepEqual(back.spec.metrics, hpa.spec.metrics);
});

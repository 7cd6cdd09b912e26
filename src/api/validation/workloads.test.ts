import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createErrors, createMessage, stored, updateErrors, statusErrors } from './testing.ts';
import { defaultObject } from '../defaults/index.ts';
import type { Json } from './meta.ts';

const podTemplate = (labels: Json = { app: 'x' }, spec: Json = {}): Json => ({
  metadata: { labels },
  spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }], ...spec },
});

// what `kubectl create deployment x --image=nginx` sends
const deployment = (spec: Json = {}): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'x', namespace: 'default', labels: { app: 'x' } },
  spec: { replicas: 1, selector: { matchLabels: { app: 'x' } }, strategy: {}, template: podTemplate(), ...spec },
});

test('deployments default as a real cluster returns them', () => {
  const d = deployment();
  defaultObject({ group: 'apps', version: 'v1', kind: 'Deployment' }, d);
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.deepEqual(d.spec.template.spec, {
    containers: [{ name: 'nginx', image: 'nginx', resources: {}, imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
    schedulerName: 'default-scheduler',
  });
  const bare: Json = { spec: { template: podTemplate() } };
  defaultObject({ group: 'apps', version: 'v1', kind: 'Deployment' }, bare);
  assert.equal(bare.spec.replicas, 1);
});

test('deployment validation', () => {
  const cases: [string, Json, string[]][] = [
    ['valid', deployment(), []],
    ['selector required', deployment({ selector: undefined }), ['spec.selector: Required value']],
    ['selector must match template labels', deployment({ template: podTemplate({ app: 'y' }) }), ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"y"}: `selector` does not match template `labels`']],
    ['template needs an image', deployment({ template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c' }] } } }), ['spec.template.spec.containers[0].image: Required value']],
    ['negative replicas', deployment({ replicas: -1 }), ['spec.replicas: Invalid value: -1: must be greater than or equal to 0']],
    ['restart policy must be Always', deployment({ template: podTemplate({ app: 'x' }, { restartPolicy: 'Never' }) }), ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']],
    ['both surge and unavailable zero', deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }), ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0']],
    ['bad percent', deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25' } } }), [`spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"25"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%', regex used for validation is '[0-9]+%')`]],
    ['recreate with rollingUpdate', deployment({ strategy: { type: 'Recreate', rollingUpdate: {} } }), ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]],
    ['progress deadline vs min ready', deployment({ minReadySeconds: 700 }), ['spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds']],
  ];
  for (const [name, obj, want] of cases) assert.deepEqual(createErrors(obj), want, name);
  assert.equal(
    createMessage(deployment({ template: podTemplate({ app: 'y' }) })),
    'Deployment.apps "x" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"y"}: `selector` does not match template `labels`',
  );
});

test('deployment selectors are immutable; replicas and images may change', () => {
  const old = stored(deployment());
  const scaled = structuredClone(old);
  scaled.spec.replicas = 3;
  scaled.spec.template.spec.containers[0].image = 'nginx:2';
  assert.deepEqual(updateErrors(scaled, old), []);
  const reselected = structuredClone(old);
  reselected.spec.selector = { matchLabels: { app: 'x', tier: 'web' } };
  reselected.spec.template.metadata.labels.tier = 'web';
  assert.deepEqual(updateErrors(reselected, old), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"x", "tier":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
});

test('deployment status rules', () => {
  const old = stored(deployment());
  const s = structuredClone(old);
  s.status = { replicas: 1, readyReplicas: 2, availableReplicas: 1 };
  assert.deepEqual(statusErrors(s, old), ['status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas']);
});

test('replica sets, daemon sets, stateful sets, controller revisions', () => {
  const rs: Json = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r', namespace: 'd' }, spec: { selector: { matchLabels: {} }, template: podTemplate() } };
  assert.deepEqual(createErrors(rs), ['spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment']);
  const ds: Json = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'd', namespace: 'd' }, spec: { selector: { matchLabels: { app: 'x' } }, template: podTemplate() } };
  const dsd = structuredClone(ds);
  assert.deepEqual(createErrors(dsd), []);
  assert.deepEqual(dsd.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(dsd.spec.revisionHistoryLimit, 10);
  const bothSet = structuredClone(ds);
  bothSet.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } };
  assert.deepEqual(createErrors(bothSet), ['spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:""}: may not be set when maxUnavailable is non-zero']);
  const sts: Json = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'd' }, spec: { serviceName: 'web', selector: { matchLabels: { app: 'x' } }, template: podTemplate(), volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] } };
  const st = structuredClone(sts);
  assert.deepEqual(createErrors(st), []);
  assert.deepEqual([st.spec.podManagementPolicy, st.spec.updateStrategy, st.spec.persistentVolumeClaimRetentionPolicy], ['OrderedReady', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }, { whenDeleted: 'Retain', whenScaled: 'Retain' }]);
  assert.deepEqual([st.spec.volumeClaimTemplates[0].spec.volumeMode, st.spec.volumeClaimTemplates[0].status], ['Filesystem', { phase: 'Pending' }]);
  const dotted = structuredClone(sts);
  dotted.metadata.name = 'web.v1';
  assert.deepEqual(createErrors(dotted), ['metadata.name: Invalid value: "web.v1": must not contain dots']);
  const old = stored(sts);
  const renamed = structuredClone(old);
  renamed.spec.serviceName = 'other';
  assert.deepEqual(updateErrors(renamed, old), [
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  ]);
  const cr: Json = { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'c', namespace: 'd' }, revision: 1 };
  assert.deepEqual(createErrors(cr), ['data: Required value: data is mandatory']);
});

const job = (spec: Json = {}, meta: Json = {}): Json => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'pi', namespace: 'default', uid: 'u-1', ...meta },
  spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl' }], restartPolicy: 'Never' } }, ...spec },
});

test('jobs default and generate their selector and labels on create', () => {
  const j = job();
  assert.deepEqual(createErrors(j), []);
  assert.deepEqual(
    [j.spec.completions, j.spec.parallelism, j.spec.backoffLimit, j.spec.completionMode, j.spec.suspend, j.spec.manualSelector, j.spec.podReplacementPolicy],
    [1, 1, 6, 'NonIndexed', false, false, 'TerminatingOrFailed'],
  );
  assert.deepEqual(j.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
  assert.deepEqual(j.spec.template.metadata.labels, {
    'job-name': 'pi', 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': 'u-1', 'batch.kubernetes.io/controller-uid': 'u-1',
  });
});

test('job validation', () => {
  const cases: [string, Json, string[]][] = [
    ['restart policy Always', job({ template: { spec: { containers: [{ name: 'c', image: 'x' }] } } }), ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']],
    ['negative backoff', job({ backoffLimit: -1 }), ['spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0']],
    ['manual selector must match', job({ manualSelector: true, selector: { matchLabels: { a: 'b' } } }), ['spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`']],
    ['indexed needs completions', job({ completionMode: 'Indexed', parallelism: 2 }), ['spec.completions: Required value: when completion mode is Indexed']],
  ];
  for (const [name, obj, want] of cases) assert.deepEqual(createErrors(obj), want, name);
});

test('job templates and selectors are immutable', () => {
  const old = stored(job());
  const changed = structuredClone(old);
  changed.spec.template.spec.containers[0].image = 'perl:2';
  assert.deepEqual(updateErrors(changed, old), ['spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable']);
});

const cronJob = (spec: Json = {}, meta: Json = {}): Json => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'hello', namespace: 'default', ...meta },
  spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'OnFailure' } } } }, ...spec },
});

test('cron jobs: defaults, schedule syntax and time zones', () => {
  const cj = cronJob();
  assert.deepEqual(createErrors(cj), []);
  assert.deepEqual([cj.spec.concurrencyPolicy, cj.spec.suspend, cj.spec.successfulJobsHistoryLimit, cj.spec.failedJobsHistoryLimit], ['Allow', false, 3, 1]);
  assert.equal(cj.spec.jobTemplate.spec.backoffLimit, undefined, 'a job template is not defaulted as a Job');
  const cases: [string, string][] = [
    ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
    ['61 * * * *', 'end of range (61) above maximum (59): 61'],
    ['x * * * *', 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
    ['5-1 * * * *', 'beginning of range (5) beyond end of range (1): 5-1'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['@often', 'unrecognized descriptor: @often'],
    ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
  ];
  for (const [schedule, msg] of cases) {
    assert.deepEqual(createErrors(cronJob({ schedule })), [`spec.schedule: Invalid value: ${JSON.stringify(schedule)}: ${msg}`], schedule);
  }
  for (const ok of ['@hourly', '0 0 * * MON-FRI', '*/15 9-17 * JAN,JUL *', '@every 1h30m']) assert.deepEqual(createErrors(cronJob({ schedule: ok })), [], ok);
  assert.deepEqual(createErrors(cronJob({ schedule: 'TZ=UTC 0 * * * *' })), ['spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead']);
  assert.deepEqual(createErrors(cronJob({ timeZone: 'Europe/Berlin' })), []);
  assert.deepEqual(createErrors(cronJob({ timeZone: 'Mars/Olympus' })), ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']);
  assert.deepEqual(createErrors(cronJob({}, { name: 'x'.repeat(53) })), [`metadata.name: Invalid value: "${'x'.repeat(53)}": must be no more than 52 characters`]);
});

const hpa = (spec: Json, apiVersion = 'autoscaling/v2'): Json => ({
  apiVersion,
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'h', namespace: 'default' },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' }, maxReplicas: 5, ...spec },
});

test('horizontal pod autoscalers (v2 and v1)', () => {
  const h = hpa({});
  assert.deepEqual(createErrors(h), []);
  assert.deepEqual(h.spec.minReplicas, 1);
  assert.deepEqual(h.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  assert.deepEqual(createErrors(hpa({ minReplicas: 6 })), ['spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`']);
  assert.deepEqual(createErrors(hpa({ minReplicas: 0 })), [
    'spec.minReplicas: Invalid value: 0: must be greater than or equal to 1',
    'spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas',
  ]);
  assert.deepEqual(createErrors(hpa({ metrics: [{ type: 'Pods' }] })), ['spec.metrics[0].pods: Required value: must populate information for the given metric source']);
  const withBehavior = hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } });
  assert.deepEqual(createErrors(withBehavior), []);
  assert.deepEqual(withBehavior.spec.behavior, {
    scaleDown: { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }], stabilizationWindowSeconds: 60 },
    scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] },
  });
  const v1 = hpa({ targetCPUUtilizationPercentage: 0 }, 'autoscaling/v1');
  assert.deepEqual(createErrors(v1), ['spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0']);
  assert.equal(v1.spec.minReplicas, 1);
  assert.equal(v1.spec.metrics, undefined, 'v1 objects keep their own shape');
});

test('pod disruption budgets', () => {
  const pdb = (spec: Json): Json => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'p', namespace: 'd' }, spec });
  assert.deepEqual(createErrors(pdb({ minAvailable: 1, selector: { matchLabels: { app: 'x' } } })), []);
  assert.deepEqual(createErrors(pdb({ maxUnavailable: '150%' })), ['spec.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%']);
  assert.deepEqual(createErrors(pdb({ minAvailable: -1 })), ['spec.minAvailable: Invalid value: -1: must be greater than or equal to 0']);
  assert.deepEqual(createErrors(pdb({ unhealthyPodEvictionPolicy: 'Sometimes' })), ['spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: "AlwaysAllow", "IfHealthyBudget"']);
  const bad = pdb({});
  bad.metadata.name = 'a/b';
  assert.deepEqual(createErrors(bad), ["metadata.name: Invalid value: \"a/b\": may not contain '/'"], 'only generic name rules apply to PDB names');
});

// PodSecurity admission decisions: namespace labels, enforce/audit/warn, workloads, exemptions,
// updates, and the namespace label checks, with upstream's messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import { resourceByPlural } from '../../api/resources.ts';
import type { AdmissionAttributes, Registry } from '../registry.ts';
import { defaultPodSecurityConfig, evaluatePodSecurity, podSecurityAdmission, policyToEvaluate, type PodSecurityAttributes, type PodSecurityConfig } from './podsecurity.ts';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const alice = { name: 'alice', groups: ['system:authenticated'] };
const privPod = (name = 'priv'): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns' }, spec: { containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] } }) as KObject;

function podAttrs(o: Partial<AdmissionAttributes> = {}): AdmissionAttributes {
  return { operation: 'CREATE', resource: resourceByPlural('', 'pods')!, subresource: '', namespace: 'ns', name: 'priv', object: privPod(), dryRun: false, user: alice, ...o };
}

function run(labels: Record<string, string> | undefined, attrs: AdmissionAttributes = podAttrs(), config: PodSecurityConfig = defaultPodSecurityConfig()) {
  return evaluatePodSecurity({ attrs, namespaceLabels: labels, config });
}

const PRIV_BASELINE = 'privileged (container "c" must not set securityContext.privileged=true)';

describe('PodSecurity for pods', () => {
  test('no labels: upstream default privileged allows anything, silently', () => {
    assert.deepEqual(run(undefined), { warnings: [], auditAnnotations: {} });
  });

  test('enforce baseline refuses a privileged pod with upstream message', () => {
    const r = run({ 'pod-security.kubernetes.io/enforce': 'baseline' });
    assert.equal(r.denied?.code, 403);
    assert.equal(r.denied?.message, `pods "priv" is forbidden: violates PodSecurity "baseline:latest": ${PRIV_BASELINE}`);
    assert.deepEqual(r.warnings, [], 'no warnings on a refused request');
    assert.equal(r.auditAnnotations['pod-security.kubernetes.io/enforce-policy'], 'baseline:latest');
  });

  test('enforce with a pinned version names it', () => {
    const r = run({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.30' });
    assert.match(r.denied!.message, /violates PodSecurity "baseline:v1\.30"/);
  });

  test('warn restricted admits with a warning', () => {
    const r = run({ 'pod-security.kubernetes.io/warn': 'restricted' });
    assert.equal(r.denied, undefined);
    assert.equal(r.warnings.length, 1);
    assert.ok(r.warnings[0]!.startsWith(`would violate PodSecurity "restricted:latest": ${PRIV_BASELINE}, allowPrivilegeEscalation != false`), r.warnings[0]);
  });

  test('audit baseline adds the audit-violations annotation', () => {
    const r = run({ 'pod-security.kubernetes.io/audit': 'baseline' });
    assert.equal(r.denied, undefined);
    assert.equal(r.auditAnnotations['pod-security.kubernetes.io/audit-violations'], `would violate PodSecurity "baseline:latest": ${PRIV_BASELINE}`);
  });

  test('an unknown enforce level enforces restricted and records the error', () => {
    const r = run({ 'pod-security.kubernetes.io/enforce': 'strict' });
    assert.match(r.denied!.message, /violates PodSecurity "restricted:latest"/);
    assert.equal(
      r.auditAnnotations['pod-security.kubernetes.io/error'],
      'Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
    );
  });

  test('an unknown warn level fails open', () => {
    const { policy } = policyToEvaluate({ 'pod-security.kubernetes.io/warn': 'loud' }, defaultPodSecurityConfig().defaults);
    assert.equal(policy.warn.level, 'privileged');
  });

  test('exempt namespaces, users and runtime classes are not checked', () => {
    const cfg = defaultPodSecurityConfig();
    cfg.exemptions = { namespaces: ['ns'], usernames: [], runtimeClasses: [] };
    const labels = { 'pod-security.kubernetes.io/enforce': 'restricted' };
    assert.deepEqual(run(labels, podAttrs(), cfg), { warnings: [], auditAnnotations: { 'pod-security.kubernetes.io/exempt': 'namespace' } });
    cfg.exemptions = { namespaces: [], usernames: ['alice'], runtimeClasses: [] };
    assert.equal(run(labels, podAttrs(), cfg).denied, undefined);
    cfg.exemptions = { namespaces: [], usernames: [], runtimeClasses: ['kata'] };
    const kata = privPod();
    (kata as Json).spec.runtimeClassName = 'kata';
    assert.deepEqual(run(labels, podAttrs({ object: kata }), cfg).auditAnnotations, { 'pod-security.kubernetes.io/exempt': 'runtimeClass' });
    assert.notEqual(run(labels, podAttrs(), cfg).denied, undefined);
  });

  test('status and exec subresources are not checked', () => {
    const labels = { 'pod-security.kubernetes.io/enforce': 'restricted' };
    assert.equal(run(labels, podAttrs({ operation: 'UPDATE', subresource: 'status', oldObject: privPod() })).denied, undefined);
    assert.equal(run(labels, podAttrs({ operation: 'CREATE', subresource: 'exec' })).denied, undefined);
  });

  test('an update that changes no image is not checked; an image change is', () => {
    const labels = { 'pod-security.kubernetes.io/enforce': 'restricted' };
    const old = privPod();
    const relabeled = privPod();
    relabeled.metadata.labels = { new: 'label' };
    assert.equal(run(labels, podAttrs({ operation: 'UPDATE', object: relabeled, oldObject: old })).denied, undefined);
    const newImage = privPod();
    (newImage as Json).spec.containers[0].image = 'y';
    assert.notEqual(run(labels, podAttrs({ operation: 'UPDATE', object: newImage, oldObject: old })).denied, undefined);
  });
});

describe('PodSecurity for workloads', () => {
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'ns' }, spec: { template: { metadata: {}, spec: privPod().spec } } } as unknown as KObject;
  const attrs = (obj: KObject, plural: string, group: string) => podAttrs({ resource: resourceByPlural(group, plural)!, name: obj.metadata.name!, object: obj });

  test('a workload is never refused, only warned about its pod template', () => {
    const r = run({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'baseline' }, attrs(deployment, 'deployments', 'apps'));
    assert.equal(r.denied, undefined);
    assert.deepEqual(r.warnings, [`would violate PodSecurity "baseline:latest": ${PRIV_BASELINE}`]);
  });

  test('a CronJob is checked on its job template', () => {
    const cj = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj', namespace: 'ns' }, spec: { jobTemplate: { spec: { template: { spec: privPod().spec } } } } } as unknown as KObject;
    assert.deepEqual(run({ 'pod-security.kubernetes.io/warn': 'baseline' }, attrs(cj, 'cronjobs', 'batch')).warnings, [`would violate PodSecurity "baseline:latest": ${PRIV_BASELINE}`]);
  });

  test('other kinds are not checked', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } } as KObject;
    assert.deepEqual(run({ 'pod-security.kubernetes.io/warn': 'restricted' }, attrs(cm, 'configmaps', '')), { warnings: [], auditAnnotations: {} });
  });
});

describe('PodSecurity for namespaces', () => {
  const ns = (labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns', labels } }) as KObject;
  const nsAttrs = (o: Partial<AdmissionAttributes>) => podAttrs({ resource: resourceByPlural('', 'namespaces')!, namespace: '', name: 'ns', ...o });

  test('an invalid version label is refused on create', () => {
    const r = run(undefined, nsAttrs({ object: ns({ 'pod-security.kubernetes.io/warn-version': '1.30' }) }));
    assert.equal(r.denied?.code, 422);
    assert.equal(r.denied?.message, 'Namespace "ns" is invalid: metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "1.30": must be "latest" or "v1.x"');
  });

  test('tightening enforce warns about existing pods, grouped by violation', () => {
    const good = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'good', namespace: 'ns' }, spec: { containers: [{ name: 'c' }] } } as KObject;
    const r = evaluatePodSecurity({
      attrs: nsAttrs({ operation: 'UPDATE', object: ns({ 'pod-security.kubernetes.io/enforce': 'baseline' }), oldObject: ns({}) }),
      namespaceLabels: undefined,
      config: defaultPodSecurityConfig(),
      listPods: () => [privPod('b-priv'), privPod('a-priv'), privPod('c-priv'), good],
    });
    assert.equal(r.denied, undefined);
    assert.deepEqual(r.warnings, ['existing pods in namespace "ns" violate the new PodSecurity enforce level "baseline:latest"', 'a-priv (and 2 other pods): privileged']);
  });

  test('relaxing enforce does not look at pods', () => {
    const r = evaluatePodSecurity({
      attrs: nsAttrs({ operation: 'UPDATE', object: ns({ 'pod-security.kubernetes.io/enforce': 'baseline' }), oldObject: ns({ 'pod-security.kubernetes.io/enforce': 'restricted' }) }),
      namespaceLabels: undefined,
      config: defaultPodSecurityConfig(),
      listPods: () => assert.fail('pods listed'),
    });
    assert.deepEqual(r, { warnings: [], auditAnnotations: {} });
  });
});

describe('the admission plugin', () => {
  const reg = {
    must: (_g: string, plural: string) => ({
      key: (_ns: string, name: string) => name,
      cache: {
        get: (k: string) => (plural === 'namespaces' && k === 'ns' ? { obj: { metadata: { name: 'ns', labels: { 'pod-security.kubernetes.io/warn': 'baseline', 'pod-security.kubernetes.io/audit': 'baseline' } } } } : undefined),
        list: () => [],
      },
    }),
  } as unknown as Registry;

  test('warnings and audit annotations go to the attributes that carry them', async () => {
    const a: PodSecurityAttributes = { ...podAttrs(), warnings: [], auditAnnotations: {} };
    await podSecurityAdmission().admit(a, reg);
    assert.deepEqual(a.warnings, [`would violate PodSecurity "baseline:latest": ${PRIV_BASELINE}`]);
    assert.equal(a.auditAnnotations!['pod-security.kubernetes.io/audit-violations'], `would violate PodSecurity "baseline:latest": ${PRIV_BASELINE}`);
  });

  test('attributes without a warnings list are admitted all the same', async () => {
    await podSecurityAdmission().admit(podAttrs(), reg);
  });
});

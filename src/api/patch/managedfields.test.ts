import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverSideApply, updateManagedFields, managerFromRequest, LAST_APPLIED_ANNOTATION, type ManagedFieldsEntry } from './managedfields.ts';
import { typeForGVK } from './schema.ts';
import { FieldSet, pathString } from './fieldpath.ts';
import { isStatusError, type StatusError } from '../errors.ts';
import { goJSON, type JsonObject } from './json.ts';

// Tests reach into nested JSON freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const gvk = { group: 'apps', version: 'v1', kind: 'Deployment' };
const type = typeForGVK(gvk);
const T0 = new Date('2024-05-01T10:00:00Z');
const T1 = new Date('2024-05-01T11:00:00Z');
const T2 = new Date('2024-05-01T12:00:00Z');

/** What `kubectl apply --server-side -f web.yaml` sends. */
function config(o: { replicas?: number | null; image?: string; labels?: Record<string, string>; extra?: JsonObject } = {}): JsonObject {
  const spec: Any = {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: o.image ?? 'registry.example/app:1', ports: [{ containerPort: 8080 }] }] },
    },
    ...(o.extra ?? {}),
  };
  if (o.replicas !== null) spec.replicas = o.replicas ?? 2;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: o.labels ?? { app: 'web', team: 'a' } },
    spec,
  };
}

function apply(live: JsonObject | undefined, applied: JsonObject, manager: string, now = T0, force = false) {
  return serverSideApply({ live, applied, manager, force, gvk, type, now });
}

function stored(o: JsonObject, uid = 'uid-1'): JsonObject {
  const c = structuredClone(o) as Any;
  c.metadata.uid = c.metadata.uid ?? uid;
  return c;
}

function entries(o: JsonObject): ManagedFieldsEntry[] {
  return ((o.metadata as Any).managedFields ?? []) as ManagedFieldsEntry[];
}

function entryOf(o: JsonObject, manager: string, operation?: string): ManagedFieldsEntry | undefined {
  return entries(o).find((e) => e.manager === manager && (!operation || e.operation === operation));
}

function owned(o: JsonObject, manager: string): string[] {
  const e = entryOf(o, manager);
  return e ? FieldSet.fromFieldsV1(e.fieldsV1).paths().map(pathString) : [];
}

function conflictOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    assert.ok(isStatusError(e), `expected a StatusError, got ${e}`);
    return e;
  }
  assert.fail('expected a conflict');
}

const image = '.spec.template.spec.containers[name="app"].image';

test('the first server-side apply creates the object and records what it applied', () => {
  const r = apply(undefined, config(), 'kubectl');
  assert.equal(r.changed, true);
  const { managedFields, ...meta } = r.object.metadata as Any;
  assert.deepEqual({ ...r.object, metadata: meta }, config());
  assert.deepEqual(managedFields, [
    {
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: '2024-05-01T10:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {}, 'f:team': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': {
            'f:metadata': { 'f:labels': { 'f:app': {} } },
            'f:spec': {
              'f:containers': {
                'k:{"name":"app"}': {
                  '.': {},
                  'f:image': {},
                  'f:name': {},
                  'f:ports': { 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                },
              },
            },
          },
        },
      },
    },
  ]);
  // key order of the entry is upstream's
  assert.deepEqual(Object.keys(managedFields[0]), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
});

test('re-applying an unchanged configuration changes nothing, not even the time', () => {
  const first = stored(apply(undefined, config(), 'kubectl').object);
  const again = apply(first, config(), 'kubectl', T1);
  assert.equal(again.changed, false);
  assert.deepEqual(again.object, first);
});

test('a changed field is updated and the applier entry gets the new time', () => {
  const first = stored(apply(undefined, config(), 'kubectl').object);
  const r = apply(first, config({ replicas: 3 }), 'kubectl', T1);
  assert.equal(r.changed, true);
  assert.equal((r.object.spec as Any).replicas, 3);
  assert.equal(entryOf(r.object, 'kubectl')!.time, '2024-05-01T11:00:00Z');
  assert.deepEqual(entryOf(r.object, 'kubectl')!.fieldsV1, entryOf(first, 'kubectl')!.fieldsV1);
});

test('fields removed from the configuration are deleted from the object', () => {
  const first = stored(apply(undefined, config(), 'kubectl').object);
  const r = apply(first, config({ replicas: null, labels: { app: 'web' } }), 'kubectl', T1);
  assert.equal('replicas' in (r.object.spec as Any), false);
  assert.deepEqual((r.object.metadata as Any).labels, { app: 'web' });
  assert.ok(!owned(r.object, 'kubectl').includes('.spec.replicas'));
  assert.ok(!owned(r.object, 'kubectl').includes('.metadata.labels.team'));
});

test('removing the last label a manager applied drops the labels map', () => {
  const first = stored(apply(undefined, config({ labels: { team: 'a' } }), 'kubectl').object);
  const cfg = config();
  delete (cfg.metadata as Any).labels;
  const r = apply(first, cfg, 'kubectl', T1);
  assert.equal('labels' in (r.object.metadata as Any), false);
});

test('applying a field another applier owns with a different value is a 409 naming the field and owner', () => {
  const first = stored(apply(undefined, config(), 'kubectl').object);
  const other = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3 } };
  const e = conflictOf(() => apply(first, other, 'hpa-tuner', T1));
  assert.equal(e.code, 409);
  assert.equal(e.status.reason, 'Conflict');
  assert.equal(e.status.message, 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
  assert.deepEqual(e.status.details, { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.replicas' }] });
});

test('applying the same value another applier set shares the field, which then survives either dropping it', () => {
  const first = stored(apply(undefined, config(), 'kubectl').object);
  const other = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2 } };
  const shared = stored(apply(first, other, 'hpa-tuner', T1).object);
  assert.ok(owned(shared, 'kubectl').includes('.spec.replicas'));
  assert.ok(owned(shared, 'hpa-tuner').includes('.spec.replicas'));
  const r = apply(shared, config({ replicas: null }), 'kubectl', T2);
  assert.equal((r.object.spec as Any).replicas, 2);
  assert.ok(!owned(r.object, 'kubectl').includes('.spec.replicas'));
});

test('force takes a conflicting field over', () => {
  const first = stored(apply(undefined, config(), 'kubectl').object);
  const other = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 5 } };
  const r = apply(first, other, 'hpa-tuner', T1, true);
  assert.equal((r.object.spec as Any).replicas, 5);
  assert.deepEqual(owned(r.object, 'hpa-tuner'), ['.spec.replicas']);
  assert.ok(!owned(r.object, 'kubectl').includes('.spec.replicas'));
  assert.ok(owned(r.object, 'kubectl').includes(image));
});

test('several conflicts are grouped by manager, appliers plain and updaters with their version', () => {
  let o = stored(apply(undefined, config(), 'kubectl').object);
  const edited = structuredClone(o) as Any;
  edited.spec.paused = true;
  o = updateManagedFields({ old: o, next: edited, manager: 'kubectl-edit', gvk, type, now: T1 });
  const e = conflictOf(() => apply(o, config({ replicas: 3, image: 'registry.example/app:2', extra: { paused: false } }), 'ci', T2));
  assert.equal(
    e.status.message,
    'Apply failed with 3 conflicts: conflicts with "kubectl":\n- .spec.replicas\n- ' + image + '\nconflicts with "kubectl-edit" using apps/v1:\n- .spec.paused',
  );
  assert.deepEqual(
    e.status.details!.causes!.map((c) => [c.message, c.field]),
    [
      ['conflict with "kubectl"', '.spec.replicas'],
      ['conflict with "kubectl"', image],
      ['conflict with "kubectl-edit" using apps/v1', '.spec.paused'],
    ],
  );
});

/** An object created by `kubectl apply` (client-side): annotation and an Update entry. */
function clientSideApplied(extraLive: JsonObject = {}): JsonObject {
  const cfg = config();
  const annotated = structuredClone(cfg) as Any;
  annotated.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: JSON.stringify(cfg) + '\n' };
  Object.assign(annotated.spec, extraLive);
  return stored(updateManagedFields({ next: annotated, manager: 'kubectl-client-side-apply', gvk, type, now: T0 }));
}

test('client-side apply then server-side apply by kubectl takes over the fields the annotation shows', () => {
  const csa = clientSideApplied();
  assert.ok(owned(csa, 'kubectl-client-side-apply').includes('.spec.replicas'));
  const r = apply(csa, config({ replicas: 3 }), 'kubectl', T1);
  assert.equal((r.object.spec as Any).replicas, 3);
  assert.ok(!owned(r.object, 'kubectl-client-side-apply').includes('.spec.replicas'));
  assert.ok(owned(r.object, 'kubectl').includes('.spec.replicas'));
  // the annotation follows the server-side applied configuration
  assert.equal((r.object.metadata as Any).annotations[LAST_APPLIED_ANNOTATION], goJSON(config({ replicas: 3 })) + '\n');
});

test('client-side apply then server-side apply by another manager conflicts with the client-side applier', () => {
  const e = conflictOf(() => apply(clientSideApplied(), config({ replicas: 3 }), 'ci', T1));
  assert.equal(e.status.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
});

test('kubectl still conflicts on fields the client-side annotation does not show (defaulted ones)', () => {
  const csa = clientSideApplied({ progressDeadlineSeconds: 600 });
  const e = conflictOf(() => apply(csa, config({ replicas: 3, extra: { progressDeadlineSeconds: 300 } }), 'kubectl', T1));
  assert.equal(e.status.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.progressDeadlineSeconds');
});

test('two appliers own their own containers in one list, merged by name', () => {
  const a = stored(apply(undefined, config(), 'kubectl').object);
  const sidecar = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { template: { spec: { containers: [{ name: 'proxy', image: 'envoy:1' }] } } },
  };
  const both = stored(apply(a, sidecar, 'injector', T1).object);
  assert.deepEqual((both.spec as Any).template.spec.containers.map((c: Any) => c.name), ['app', 'proxy']);
  assert.deepEqual(owned(both, 'injector'), [
    '.spec.template.spec.containers[name="proxy"]',
    '.spec.template.spec.containers[name="proxy"].image',
    '.spec.template.spec.containers[name="proxy"].name',
  ]);
  // kubectl re-applying its own configuration leaves the injected container alone
  const again = apply(both, config({ image: 'registry.example/app:2' }), 'kubectl', T2);
  assert.deepEqual((again.object.spec as Any).template.spec.containers.map((c: Any) => [c.name, c.image]), [
    ['app', 'registry.example/app:2'],
    ['proxy', 'envoy:1'],
  ]);
  // the injector dropping its container removes it, and only it
  const none = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } };
  const r = apply(stored(again.object), none, 'injector', T2);
  assert.deepEqual((r.object.spec as Any).template.spec.containers.map((c: Any) => c.name), ['app']);
  assert.equal(entryOf(r.object, 'injector'), undefined);
});

test('an update takes the fields it changed from the applier, who then conflicts re-applying them', () => {
  const a = stored(apply(undefined, config(), 'kubectl').object);
  const edited = structuredClone(a) as Any;
  edited.spec.template.spec.containers[0].image = 'registry.example/app:hotfix';
  const u = updateManagedFields({ old: a, next: edited, manager: 'kubectl-edit', gvk, type, now: T1 });
  assert.deepEqual(entryOf(u, 'kubectl-edit'), {
    manager: 'kubectl-edit',
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: '2024-05-01T11:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { 'f:image': {} } } } } } },
  });
  assert.ok(!owned(u, 'kubectl').includes(image));
  // Apply entries sort before Update entries
  assert.deepEqual(entries(u).map((e) => e.manager), ['kubectl', 'kubectl-edit']);
  const e = conflictOf(() => apply(u, config(), 'kubectl', T2));
  assert.equal(e.status.message, `Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: ${image}`);
});

test('updates by the same manager accumulate in one entry', () => {
  let o = stored(apply(undefined, config(), 'kubectl').object);
  let next = structuredClone(o) as Any;
  next.spec.replicas = 4;
  o = updateManagedFields({ old: o, next, manager: 'kubectl-edit', gvk, type, now: T1 });
  next = structuredClone(o) as Any;
  next.spec.paused = true;
  o = updateManagedFields({ old: o, next, manager: 'kubectl-edit', gvk, type, now: T2 });
  const edits = entries(o).filter((e) => e.manager === 'kubectl-edit');
  assert.equal(edits.length, 1);
  assert.equal(edits[0].time, '2024-05-01T12:00:00Z');
  assert.deepEqual(owned(o, 'kubectl-edit'), ['.spec.paused', '.spec.replicas']);
});

test('an update that changes nothing leaves managedFields as they were', () => {
  const o = stored(apply(undefined, config(), 'kubectl').object);
  const u = updateManagedFields({ old: o, next: structuredClone(o), manager: 'kubectl-edit', gvk, type, now: T1 });
  assert.deepEqual(u, o);
});

test('a create records the creator with upstream parent markers (typed zero-value parents have none)', () => {
  const created = stored({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] } },
    },
  });
  const o = updateManagedFields({ next: created, manager: 'kubectl-create', gvk, type, now: T0 });
  assert.deepEqual(entries(o), [
    {
      manager: 'kubectl-create',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: '2024-05-01T10:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:strategy': { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} },
          'f:template': {
            'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:resources': {} } } },
          },
        },
      },
    },
  ]);
});

test('a status write records its subresource and the status fields only', () => {
  const o = stored(apply(undefined, config(), 'kubectl').object);
  const next = structuredClone(o) as Any;
  next.status = { replicas: 2, readyReplicas: 2 };
  const u = updateManagedFields({
    old: o,
    next,
    manager: 'kube-controller-manager',
    subresource: 'status',
    gvk,
    type,
    now: T1,
    resetFields: [['spec'], ['metadata', 'labels']],
  });
  assert.deepEqual(entryOf(u, 'kube-controller-manager'), {
    manager: 'kube-controller-manager',
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: '2024-05-01T11:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:status': { 'f:readyReplicas': {}, 'f:replicas': {} } },
    subresource: 'status',
  });
});

test('status set through the main resource is owned by nobody when status is reset there', () => {
  const next = stored(config()) as Any;
  next.status = { replicas: 9 };
  const o = updateManagedFields({ next, manager: 'kubectl-create', gvk, type, now: T0, resetFields: [['status']] });
  assert.ok(!owned(o, 'kubectl-create').some((p) => p.startsWith('.status')));
});

test('managedFields sent on update are kept when valid, ignored when invalid, and [] clears them', () => {
  const o = stored(apply(undefined, config(), 'kubectl').object);
  const custom = structuredClone(o) as Any;
  custom.metadata.managedFields = [
    { manager: 'me', operation: 'Update', apiVersion: 'apps/v1', time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
  ];
  assert.deepEqual(entries(updateManagedFields({ old: o, next: custom, manager: 'x', gvk, type, now: T1 })).map((e) => e.manager), ['me']);

  const invalid = structuredClone(o) as Any;
  invalid.metadata.managedFields = [{ manager: 'me', operation: 'Patch', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: {} }];
  assert.deepEqual(entries(updateManagedFields({ old: o, next: invalid, manager: 'x', gvk, type, now: T1 })), entries(o));

  const cleared = structuredClone(o) as Any;
  cleared.metadata.managedFields = [];
  const c = updateManagedFields({ old: o, next: cleared, manager: 'x', gvk, type, now: T1 });
  assert.equal('managedFields' in (c.metadata as Any), false);
  // an object without managedFields is not tracked by later updates
  const later = structuredClone(c) as Any;
  later.spec.replicas = 7;
  assert.equal('managedFields' in (updateManagedFields({ old: c, next: later, manager: 'x', gvk, type, now: T2 }).metadata as Any), false);
});

test('the first apply to an untracked object finds its fields owned by before-first-apply', () => {
  const untracked = stored(config());
  const e = conflictOf(() => apply(untracked, config({ replicas: 3 }), 'ci', T1));
  assert.equal(e.status.message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas');
  const r = apply(untracked, config({ replicas: 3 }), 'ci', T1, true);
  assert.deepEqual(entries(r.object).map((x) => [x.manager, x.operation]), [
    ['ci', 'Apply'],
    ['before-first-apply', 'Update'],
  ]);
  assert.ok(!owned(r.object, 'before-first-apply').includes('.spec.replicas'));
});

test('more than ten update managers fold the oldest into ancient-changes', () => {
  let o = stored(apply(undefined, config(), 'kubectl').object);
  for (let i = 0; i < 11; i++) {
    const next = structuredClone(o) as Any;
    next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [`a${i}`]: 'x' };
    o = updateManagedFields({ old: o, next, manager: `m${i}`, gvk, type, now: new Date(T1.getTime() + i * 1000) });
  }
  const updaters = entries(o).filter((e) => e.operation === 'Update').map((e) => e.manager);
  assert.equal(updaters.length, 10);
  assert.ok(updaters.includes('ancient-changes'));
  assert.ok(!updaters.includes('m0') && !updaters.includes('m1'));
  // m0 created the annotations map, so it owned the map itself too
  assert.deepEqual(owned(o, 'ancient-changes'), ['.metadata.annotations', '.metadata.annotations.a0', '.metadata.annotations.a1']);
});

test('an apply of the wrong kind, or carrying managedFields, is a 400', () => {
  const rs = { ...config(), kind: 'ReplicaSet' };
  const e = conflictOf(() => apply(undefined, rs, 'kubectl'));
  assert.equal(e.code, 400);
  assert.equal(e.status.message, 'invalid object type: apps/v1, Kind=ReplicaSet');
  const withMF = config() as Any;
  withMF.metadata.managedFields = [];
  const e2 = conflictOf(() => apply(undefined, withMF, 'kubectl'));
  assert.equal(e2.code, 400);
  assert.equal(e2.status.message, 'metadata.managedFields must be nil');
});

test('an applied configuration that does not fit the schema fails as upstream reports it', () => {
  const bad = config({ extra: { replicaz: 3 } });
  const e = conflictOf(() => apply(undefined, bad, 'kubectl'));
  assert.equal(e.code, 500);
  assert.equal(e.status.message, 'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicaz: field not declared in schema');
  const dup = config() as Any;
  dup.spec.template.spec.containers.push({ name: 'app', image: 'x' });
  const e2 = conflictOf(() => apply(undefined, dup, 'kubectl'));
  assert.equal(
    e2.status.message,
    'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name="app"]',
  );
});

test('a kind without schema applies with maps merged and lists replaced', () => {
  const wgvk = { group: 'example.com', version: 'v1', kind: 'Widget' };
  const wtype = typeForGVK(wgvk);
  const w = (spec: JsonObject) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'default' }, spec });
  const first = serverSideApply({ applied: w({ sizes: [1, 2], color: 'red' }), manager: 'kubectl', gvk: wgvk, type: wtype, now: T0 });
  assert.deepEqual(entries(first.object)[0].fieldsV1, { 'f:spec': { '.': {}, 'f:color': {}, 'f:sizes': {} } });
  const r = serverSideApply({ live: stored(first.object), applied: w({ sizes: [3] }), manager: 'kubectl', gvk: wgvk, type: wtype, now: T1 });
  assert.deepEqual(r.object.spec, { sizes: [3] });
});

test('the field manager of a non-apply write defaults to the User-Agent program name', () => {
  assert.equal(managerFromRequest('', 'kubectl/v1.33.0 (linux/amd64) kubernetes/abcdef'), 'kubectl');
  assert.equal(managerFromRequest('helm', 'Go-http-client/1.1'), 'helm');
  assert.equal(managerFromRequest(undefined, 'kube-controller-manager/v1.33.0 (linux/amd64)/leader-election'), 'kube-controller-manager');
  assert.equal(managerFromRequest(undefined, 'a\u0007b/1'), 'ab');
  assert.equal(managerFromRequest(undefined, 'x'.repeat(200)).length, 128);
});

test('a status write leaves the other managers\' entries exactly as stored, and their sets as a fresh encoding would write them', () => {
  const created = stored(updateManagedFields({ next: stored(config()), manager: 'kubectl-create', gvk, type, now: T0, resetFields: [['status']] }));
  const next = structuredClone(created) as Any;
  next.status = { replicas: 2, readyReplicas: 1 };
  const o = updateManagedFields({ old: created, next, manager: 'kube-controller-manager', gvk, type, now: T1, subresource: 'status', resetFields: [['spec'], ['metadata', 'labels']] });
  const before = entryOf(created, 'kubectl-create')!;
  const after = entryOf(o, 'kubectl-create')!;
  assert.deepEqual(after, before, 'the creator\'s entry is unchanged');
  assert.deepEqual(after.fieldsV1, FieldSet.fromFieldsV1(before.fieldsV1).toFieldsV1(), 'and canonical');
  assert.deepEqual(owned(o, 'kube-controller-manager'), ['.status.readyReplicas', '.status.replicas']);
  // a write that takes one of the creator's fields re-encodes the creator's set without it
  const edited = structuredClone(o) as Any;
  edited.spec.replicas = 5;
  const e = updateManagedFields({ old: stored(o), next: edited, manager: 'kubectl-edit', gvk, type, now: T2, resetFields: [['status']] });
  assert.ok(!owned(e, 'kubectl-create').includes('.spec.replicas'));
  assert.ok(owned(e, 'kubectl-edit').includes('.spec.replicas'));
});

test('an atomic list whose items differ only by members left at their zero value is unchanged; a real change moves it', () => {
  const podGVK = { group: '', version: 'v1', kind: 'Pod' };
  const podType = typeForGVK(podGVK);
  const base: Any = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const write = (old: JsonObject | undefined, statuses: unknown, manager: string) =>
    stored(updateManagedFields({ old, next: { ...structuredClone(old ?? base), status: { containerStatuses: statuses } } as JsonObject, manager, gvk: podGVK, type: podType, now: T0, subresource: 'status', resetFields: [['spec']] }));
  const created = stored(updateManagedFields({ next: structuredClone(base), manager: 'kubectl-create', gvk: podGVK, type: podType, now: T0, resetFields: [['status']] }));
  const a = write(created, [{ name: 'c', image: 'x', imageID: '', ready: false, restartCount: 0 }], 'kubelet-a');
  assert.deepEqual(owned(a, 'kubelet-a'), ['.status.containerStatuses']);
  // the same statuses with the zero members left out decode to the same Go value
  const same = write(a, [{ name: 'c', image: 'x' }], 'kubelet-b');
  assert.deepEqual(owned(same, 'kubelet-a'), ['.status.containerStatuses']);
  assert.deepEqual(owned(same, 'kubelet-b'), []);
  const changed = write(a, [{ name: 'c', image: 'x', ready: true }], 'kubelet-b');
  assert.deepEqual(owned(changed, 'kubelet-a'), []);
  assert.deepEqual(owned(changed, 'kubelet-b'), ['.status.containerStatuses']);
});

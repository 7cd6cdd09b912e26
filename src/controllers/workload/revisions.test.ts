import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import { applyRevision, equalRevision, fnv32, goJson, hashRevisionData, newControllerRevision, nextRevision, revisionName, safeEncodeString, sortRevisions, templatePatch, type ControllerRevision } from './revisions.ts';

test('FNV-1 32 is the non-"a" variant Go\'s fnv.New32 computes', () => {
  assert.equal(fnv32(new Uint8Array()), 0x811c9dc5);
  assert.equal(fnv32(new TextEncoder().encode('a')), 0x050c5d7e);
});

test('goJson writes maps with sorted keys and Go\'s HTML-safe escapes', () => {
  assert.equal(goJson({ b: 1, a: { d: [true, null], c: 'x<y>&z' } }), '{"a":{"c":"x\\u003cy\\u003e\\u0026z","d":[true,null]},"b":1}');
  assert.equal(goJson({ $patch: 'replace', metadata: {} }), '{"$patch":"replace","metadata":{}}');
});

test('a revision of the same template gets the same name upstream gives it (1.33 compatibility vector)', () => {
  // the data of upstream's StatefulSet compatibility revision for Kubernetes 1.33, named test-c77f6d978
  const data = {
    spec: {
      template: {
        $patch: 'replace',
        metadata: { annotations: { test: 'value' }, creationTimestamp: null, labels: { app: 'foo' } },
        spec: {
          containers: [{ image: 'test', imagePullPolicy: 'Always', name: 'test', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    },
  };
  assert.equal(hashRevisionData(data, 0), 'c77f6d978');
  assert.notEqual(hashRevisionData(data, 1), 'c77f6d978', 'a collision count changes the name');
  assert.match(safeEncodeString('0123456789'), /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  assert.equal(revisionName('x'.repeat(300), 'abc').length, 223 + 4);
});

const parent: KObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'ns', uid: 'u1' }, spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'a' }] } } } };
const ref = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u1', controller: true, blockOwnerDeletion: true };

test('a new revision stores the template as a replace patch, with the hash label and a controller reference', () => {
  const r = newControllerRevision(parent, ref, { app: 'web' }, templatePatch(parent), 3, 0);
  assert.equal(r.revision, 3);
  assert.equal(r.metadata.labels!.app, 'web');
  assert.equal(r.metadata.name, `web-${r.metadata.labels!['controller.kubernetes.io/hash']}`);
  assert.deepEqual(r.data.spec.template.spec, { containers: [{ name: 'c', image: 'a' }] });
  assert.equal(r.data.spec.template.$patch, 'replace');
  assert.deepEqual(r.metadata.ownerReferences, [ref]);
});

test('applying a revision puts its template back and leaves the rest of the object', () => {
  const r = newControllerRevision(parent, ref, {}, templatePatch(parent), 1, 0);
  const changed = structuredClone(parent) as any;
  changed.spec.template.spec.containers[0].image = 'b';
  changed.spec.replicas = 5;
  const restored = applyRevision(changed, r) as any;
  assert.equal(restored.spec.template.spec.containers[0].image, 'a');
  assert.equal(restored.spec.replicas, 5);
  assert.equal(restored.spec.template.$patch, undefined);
  assert.equal(changed.spec.template.spec.containers[0].image, 'b', 'the input is not changed');
});

test('revisions sort by number, then creation, then name; the next number follows the highest; equality is by content', () => {
  const mk = (name: string, revision: number, created: string, image = 'a'): ControllerRevision => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name, creationTimestamp: created }, revision, data: { spec: { template: { spec: { image } } } } });
  const sorted = sortRevisions([mk('c', 2, '2025-01-01T00:00:00Z'), mk('b', 1, '2025-01-02T00:00:00Z'), mk('a', 1, '2025-01-02T00:00:00Z'), mk('z', 1, '2025-01-01T00:00:00Z')]);
  assert.deepEqual(sorted.map((r) => r.metadata.name), ['z', 'a', 'b', 'c']);
  assert.equal(nextRevision(sorted), 3);
  assert.equal(nextRevision([]), 1);
  assert.ok(equalRevision(mk('x', 1, ''), mk('y', 7, '')));
  assert.ok(!equalRevision(mk('x', 1, ''), mk('x', 1, '', 'b')));
});

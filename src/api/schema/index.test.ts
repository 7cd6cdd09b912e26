import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESOURCES } from '../resources.ts';
import {
  definition,
  definitionName,
  definitions,
  fieldSchema,
  hasField,
  listItemSchema,
  mapValueSchema,
  namedType,
  patchStrategy,
  propertySchema,
  resolveRef,
  schemaForGVK,
  shapeOf,
} from './index.ts';

describe('schema table lookups', () => {
  it('has a schema for every served kind and version, carrying that group/version/kind', () => {
    for (const r of RESOURCES) {
      for (const version of r.versions) {
        const name = definitionName({ group: r.group, version, kind: r.kind });
        assert.ok(name, `${r.group}/${version} ${r.kind}`);
        const gvks = definition(name)!['x-kubernetes-group-version-kind'] ?? [];
        assert.ok(
          gvks.some((g) => g.group === r.group && g.version === version && g.kind === r.kind),
          `${name} lists ${r.group}/${version} ${r.kind}`,
        );
      }
    }
  });

  it('tells versions of one kind apart', () => {
    assert.equal(definitionName({ group: 'autoscaling', version: 'v1', kind: 'HorizontalPodAutoscaler' }), 'io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler');
    assert.equal(definitionName({ group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler' }), 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler');
    assert.equal(definitionName({ group: 'events.k8s.io', version: 'v1', kind: 'Event' }), 'io.k8s.api.events.v1.Event');
    assert.equal(definitionName({ group: '', version: 'v1', kind: 'Event' }), 'io.k8s.api.core.v1.Event');
    assert.equal(definitionName({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role' }), 'io.k8s.api.rbac.v1.Role');
    assert.equal(schemaForGVK('example.com', 'v1', 'Widget'), undefined);
  });

  it('is closed under references', () => {
    const names = new Set(Object.keys(definitions()));
    const walk = (s: unknown): void => {
      if (!s || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      if (typeof o.$ref === 'string') assert.ok(names.has(o.$ref.replace('#/definitions/', '')), o.$ref);
      for (const [k, v] of Object.entries(o)) if (k !== 'x-kubernetes-group-version-kind') walk(v);
    };
    for (const d of Object.values(definitions())) walk(d);
  });

  it('follows references and reads fields through them', () => {
    const pod = schemaForGVK('', 'v1', 'Pod')!;
    const spec = propertySchema(pod, 'spec')!;
    assert.equal(spec, definition('io.k8s.api.core.v1.PodSpec'));
    const containers = spec.properties!.containers;
    assert.equal(shapeOf(containers), 'list');
    assert.equal(containers['x-kubernetes-list-type'], 'map');
    assert.deepEqual(containers['x-kubernetes-list-map-keys'], ['name']);
    assert.deepEqual(patchStrategy(containers), { strategies: ['merge'], mergeKey: 'name' });
    assert.equal(namedType(containers.items!), 'io.k8s.api.core.v1.Container');
    assert.equal(listItemSchema(containers), definition('io.k8s.api.core.v1.Container'));
    assert.deepEqual(patchStrategy(definition('io.k8s.api.core.v1.PodSpec')!.properties!.volumes), { strategies: ['merge', 'retainKeys'], mergeKey: 'name' });
    assert.equal(resolveRef({ $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time' }).format, 'date-time');
    assert.throws(() => resolveRef({ $ref: '#/definitions/no.such.Type' }), /unresolvable/);
  });

  it('classifies how values decode', () => {
    const container = definition('io.k8s.api.core.v1.Container')!;
    const meta = definition('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')!;
    assert.equal(shapeOf(container), 'struct');
    assert.equal(shapeOf(meta.properties!.labels), 'map');
    assert.equal(mapValueSchema(meta.properties!.labels)!.type, 'string');
    assert.equal(shapeOf({ $ref: '#/definitions/io.k8s.apimachinery.pkg.runtime.RawExtension' }), 'opaque');
    assert.equal(shapeOf({ $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1' }), 'opaque');
    assert.equal(shapeOf({ $ref: '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString' }), 'scalar');
    assert.equal(shapeOf({ $ref: '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity' }), 'scalar');
    assert.equal(shapeOf({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }), 'untyped');
    assert.equal(shapeOf({ 'x-kubernetes-int-or-string': true }), 'scalar');
  });

  it('treats apiVersion, kind and metadata of embedded resources as fields', () => {
    const embedded = { type: 'object' as const, 'x-kubernetes-embedded-resource': true, properties: {} };
    assert.ok(hasField(embedded, 'metadata'));
    assert.ok(!hasField(embedded, 'spec'));
    assert.equal(fieldSchema(embedded, 'metadata'), definition('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'));
  });

  it('keeps no description prose', () => {
    // a property may be named "description" (PriorityClass has one); prose would be a string
    const prose: string[] = [];
    JSON.stringify(definitions(), (k, v) => {
      if (k === 'description' && typeof v === 'string') prose.push(v);
      return v;
    });
    assert.deepEqual(prose, []);
  });
});

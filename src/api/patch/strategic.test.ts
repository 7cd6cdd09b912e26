import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStrategicMergePatch } from './strategic.ts';
import { typeForGVK } from './schema.ts';
import { isStatusError } from '../errors.ts';
import type { JsonObject } from './json.ts';

const deployment = typeForGVK({ group: 'apps', version: 'v1', kind: 'Deployment' });

// A live Deployment as the apiserver stores it (defaulted), with containers, env, ports and volumes.
function live(): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, finalizers: ['example.com/a', 'example.com/b'] },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          nodeSelector: { disk: 'ssd' },
          containers: [
            {
              name: 'app',
              image: 'registry.example/app:1',
              args: ['--port=8080', '--verbose'],
              env: [
                { name: 'MODE', value: 'prod' },
                { name: 'DEBUG', value: 'false' },
              ],
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
            { name: 'proxy', image: 'envoy:1' },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
  };
}

// Tests reach into nested JSON freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const spec = (o: JsonObject): Any => (o as Any).spec.template.spec;
const names = (l: Any[]): string[] => l.map((x) => x.name);
const order = (...n: string[]) => n.map((name) => ({ name }));

const cases: { name: string; patch: unknown; check: (out: Any) => void }[] = [
  {
    name: 'kubectl apply changing an image keeps the other containers and fields',
    patch: { spec: { template: { spec: { '$setElementOrder/containers': order('app', 'proxy'), containers: [{ name: 'app', image: 'registry.example/app:2' }] } } } },
    check: (o) => {
      assert.deepEqual(names(spec(o).containers), ['app', 'proxy']);
      assert.equal(spec(o).containers[0].image, 'registry.example/app:2');
      assert.deepEqual(spec(o).containers[0].env, spec(live()).containers[0].env);
    },
  },
  {
    name: 'kubectl apply removing an env var sends a delete directive for its merge key',
    patch: {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': order('app', 'proxy'),
            containers: [{ name: 'app', '$setElementOrder/env': order('MODE'), env: [{ $patch: 'delete', name: 'DEBUG' }] }],
          },
        },
      },
    },
    check: (o) => assert.deepEqual(spec(o).containers[0].env, [{ name: 'MODE', value: 'prod' }]),
  },
  {
    name: 'kubectl apply adding a port merges by containerPort in the listed order',
    patch: {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': order('app', 'proxy'),
            containers: [{ name: 'app', '$setElementOrder/ports': [{ containerPort: 9090 }, { containerPort: 8080 }], ports: [{ containerPort: 9090, name: 'metrics' }] }],
          },
        },
      },
    },
    check: (o) =>
      assert.deepEqual(spec(o).containers[0].ports, [
        { containerPort: 9090, name: 'metrics' },
        { containerPort: 8080, protocol: 'TCP' },
      ]),
  },
  {
    name: 'null deletes a field (replicas removed from the configuration)',
    patch: { spec: { replicas: null } },
    check: (o) => assert.equal('replicas' in o.spec, false),
  },
  {
    name: '$retainKeys clears what the strategy no longer lists (switch to Recreate)',
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
    check: (o) => assert.deepEqual(o.spec.strategy, { type: 'Recreate' }),
  },
  {
    name: '$retainKeys in a volume switches its source',
    patch: {
      spec: {
        template: {
          spec: { '$setElementOrder/volumes': order('data'), volumes: [{ $retainKeys: ['configMap', 'name'], name: 'data', configMap: { name: 'cfg' } }] },
        },
      },
    },
    check: (o) => assert.deepEqual(spec(o).volumes, [{ name: 'data', configMap: { name: 'cfg' } }]),
  },
  {
    name: 'a container added without $setElementOrder goes first, as upstream orders it',
    patch: { spec: { template: { spec: { containers: [{ name: 'init-like', image: 'busybox' }] } } } },
    check: (o) => assert.deepEqual(names(spec(o).containers), ['init-like', 'app', 'proxy']),
  },
  {
    name: 'a server-only container keeps its place when kubectl apply adds one',
    patch: { spec: { template: { spec: { '$setElementOrder/containers': order('app', 'worker'), containers: [{ name: 'worker', image: 'w:1' }] } } } },
    check: (o) => assert.deepEqual(names(spec(o).containers), ['app', 'worker', 'proxy']),
  },
  {
    name: 'a list that is not merged (args) is replaced whole',
    patch: { spec: { template: { spec: { '$setElementOrder/containers': order('app', 'proxy'), containers: [{ name: 'app', args: ['--port=9090'] }] } } } },
    check: (o) => assert.deepEqual(spec(o).containers[0].args, ['--port=9090']),
  },
  {
    name: 'maps without a strategy merge key by key (nodeSelector), null deleting one',
    patch: { spec: { template: { spec: { nodeSelector: { zone: 'a', disk: null } } } } },
    check: (o) => assert.deepEqual(spec(o).nodeSelector, { zone: 'a' }),
  },
  {
    name: 'finalizers: $deleteFromPrimitiveList removes, the list merges as a set',
    patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'], finalizers: ['example.com/c'] } },
    check: (o) => assert.deepEqual(o.metadata.finalizers, ['example.com/c', 'example.com/b']),
  },
  {
    name: '$setElementOrder orders a primitive list',
    patch: { metadata: { '$setElementOrder/finalizers': ['example.com/b', 'example.com/a'] } },
    check: (o) => assert.deepEqual(o.metadata.finalizers, ['example.com/b', 'example.com/a']),
  },
  {
    name: '$patch: replace as a list item replaces the whole list',
    patch: { spec: { template: { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } } } },
    check: (o) => assert.deepEqual(spec(o).containers, [{ name: 'only', image: 'x' }]),
  },
  {
    name: '$patch: replace in a map replaces the map',
    patch: { spec: { template: { metadata: { labels: { $patch: 'replace', tier: 'front' } } } } },
    check: (o) => assert.deepEqual(o.spec.template.metadata.labels, { tier: 'front' }),
  },
  {
    name: '$patch: delete in a map empties it',
    patch: { spec: { strategy: { $patch: 'delete' } } },
    check: (o) => assert.deepEqual(o.spec.strategy, {}),
  },
  {
    name: 'a new field is added with its nulls and directives dropped',
    patch: { spec: { template: { spec: { securityContext: { runAsUser: 1000, fsGroup: null } } } } },
    check: (o) => assert.deepEqual(spec(o).securityContext, { runAsUser: 1000 }),
  },
];

for (const c of cases) {
  test(`strategic merge patch: ${c.name}`, () => {
    const doc = live();
    const out = applyStrategicMergePatch(doc, c.patch, deployment);
    c.check(out);
    assert.deepEqual(doc, live(), 'the input object is not mutated');
  });
}

test('strategic merge patch: deleting and adding containers in one apply places a server-only container as upstream does', () => {
  // With a deletion and an addition in one patch, upstream's list merge writes into the original
  // list's spare capacity, which moves server-only items after the added one.
  const doc = live();
  spec(doc).containers = [
    { name: 'app', image: 'a' },
    { name: 'old', image: 'o' },
    { name: 'proxy', image: 'p' },
  ];
  const out = applyStrategicMergePatch(
    doc,
    { spec: { template: { spec: { '$setElementOrder/containers': order('app', 'worker'), containers: [{ name: 'worker', image: 'w' }, { $patch: 'delete', name: 'old' }] } } } },
    deployment,
  );
  assert.deepEqual(names(spec(out).containers), ['app', 'proxy', 'worker']);
});

test('strategic merge patch: Service ports merge by port', () => {
  const svc = typeForGVK({ group: '', version: 'v1', kind: 'Service' });
  const out = applyStrategicMergePatch(
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], selector: { app: 'a' } } },
    { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443, targetPort: 8443 }] } },
    svc,
  ) as Any;
  assert.deepEqual(out.spec.ports, [
    { port: 80, targetPort: 9090, protocol: 'TCP' },
    { port: 443, targetPort: 8443 },
  ]);
});

test('strategic merge patch: a field with patchStrategy replace is replaced whole (PodDisruptionBudget selector)', () => {
  const pdb = typeForGVK({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' });
  const out = applyStrategicMergePatch(
    { spec: { minAvailable: 1, selector: { matchLabels: { app: 'a', tier: 'x' } } } },
    { spec: { selector: { matchLabels: { app: 'b' } } } },
    pdb,
  ) as Any;
  assert.deepEqual(out.spec.selector, { matchLabels: { app: 'b' } });
});

test('strategic merge patch on a kind without schema acts as a merge patch', () => {
  const crd = typeForGVK({ group: 'example.com', version: 'v1', kind: 'Widget' });
  const out = applyStrategicMergePatch(
    { spec: { items: [{ name: 'a', size: 1 }, { name: 'b' }], color: 'red', shape: 'round' } },
    { spec: { items: [{ name: 'a', size: 2 }], color: null, weight: 3 } },
    crd,
  ) as Any;
  assert.deepEqual(out.spec, { items: [{ name: 'a', size: 2 }], shape: 'round', weight: 3 });
});

const errors: { name: string; patch: unknown; code: number; message: string }[] = [
  {
    name: 'a patch key outside $retainKeys is a 400',
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: {} } } },
    code: 400,
    message: 'invalid patch format of retainKeys',
  },
  {
    name: 'a malformed $setElementOrder key is a 400',
    patch: { spec: { template: { spec: { $setElementOrder: [] } } } },
    code: 400,
    message: 'invalid patch format of setElementOrder list',
  },
  {
    name: '$patch: merge in a list is a 500 with the library message',
    patch: { spec: { template: { spec: { containers: [{ $patch: 'merge' }] } } } },
    code: 500,
    message: 'merging lists cannot yet be specified in the patch',
  },
  {
    name: 'a list item without its merge key is a 500',
    patch: { spec: { template: { spec: { containers: [{ image: 'x' }] } } } },
    code: 500,
    message: 'map: map[image:x] does not contain declared merge key: name',
  },
  {
    name: 'a patch that is not an object is a 400 with the decoder message',
    patch: ['x'],
    code: 400,
    message: 'json: cannot unmarshal array into Go value of type map[string]interface {}',
  },
];

for (const c of errors) {
  test(`strategic merge patch error: ${c.name}`, () => {
    assert.throws(
      () => applyStrategicMergePatch(live(), c.patch, deployment),
      (e: unknown) => {
        assert.ok(isStatusError(e));
        assert.equal(e.code, c.code);
        assert.equal(e.status.message, c.message);
        return true;
      },
    );
  });
}

test('strategic merge patch: a list of lists is upstream generic 422', () => {
  assert.throws(
    () => applyStrategicMergePatch({ metadata: { finalizers: [['a']] } }, { metadata: { finalizers: [['b']] } }, deployment),
    (e: unknown) => isStatusError(e) && e.code === 422 && e.cause === 'lists of lists are not supported',
  );
});

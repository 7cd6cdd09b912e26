// The API server checks a body's types (decodeTypeError) and then its strictness (fieldProblems)
// on the same decoded object; when the type check has proved the object free of unknown fields,
// fieldProblems skips its own walks. Whatever path it takes, the problems (wording, paths, order)
// and the pruned object must be those of the full walks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTypeError, takeNoUnknownFieldsProof } from './decode.ts';
import { schemaForGVK } from './index.ts';
import { fieldProblems, jsonKeysUnique } from './strict.ts';

type Body = { text: string; mediaType?: string } | undefined;

/** fieldProblems after a type check of the same object, beside fieldProblems alone. */
function bothWays(gvk: { group: string; version: string; kind: string }, text: string, mediaType: string | undefined = 'application/json', withText = true) {
  const body: Body = withText ? { text, mediaType } : undefined;
  const checked = JSON.parse(text);
  const typeErr = decodeTypeError(gvk.group, gvk.version, gvk.kind, checked);
  const fast = typeErr === undefined ? fieldProblems(gvk, checked, body) : undefined;
  const plain = JSON.parse(text);
  const full = fieldProblems(gvk, plain, body);
  return { typeErr, fast, full, checked, plain };
}

const POD = { group: '', version: 'v1', kind: 'Pod' };
const DEPLOY = { group: 'apps', version: 'v1', kind: 'Deployment' };
const CM = { group: '', version: 'v1', kind: 'ConfigMap' };

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'p',
    labels: { app: 'web', '1': 'numeric-key' },
    annotations: { a: 'b' },
    managedFields: [{ manager: 'm', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }],
  },
  spec: {
    containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }], resources: { requests: { cpu: '100m' } }, env: [{ name: 'A', value: 'x":y' }] }],
    volumes: [{ name: 'v', configMap: { name: 'cm' } }],
    nodeSelector: { 'kubernetes.io/os': 'linux' },
  },
};
const podText = JSON.stringify(pod);

test('a clean body is proved free of unknown fields and has no problems either way', () => {
  const r = bothWays(POD, podText);
  assert.equal(r.typeErr, undefined);
  assert.deepEqual(r.fast, []);
  assert.deepEqual(r.full, []);
  assert.deepEqual(r.checked, r.plain);
  // the proof is what lets fieldProblems skip: it exists for a clean body, once
  const o = JSON.parse(podText);
  decodeTypeError('', 'v1', 'Pod', o);
  assert.equal(takeNoUnknownFieldsProof(o, schemaForGVK('', 'v1', 'Pod')!), true);
  assert.equal(takeNoUnknownFieldsProof(o, schemaForGVK('', 'v1', 'Pod')!), false);
});

test('no proof for a body with an unknown field, an inherited name as a key, or against another kind\'s schema', () => {
  const root = schemaForGVK('', 'v1', 'Pod')!;
  for (const text of [
    '{"apiVersion":"v1","kind":"Pod","spec":{"bogus":1}}',
    '{"apiVersion":"v1","kind":"Pod","metadata":{"constructor":{"x":1}}}',
    '{"apiVersion":"v1","kind":"Pod","metadata":{"__proto__":{"x":1}}}',
    '{"apiVersion":"v1","kind":"Pod","spec":{"toString":"x"}}',
  ]) {
    const o = JSON.parse(text);
    assert.equal(decodeTypeError('', 'v1', 'Pod', o), undefined, text);
    assert.equal(takeNoUnknownFieldsProof(o, root), false, text);
  }
  const o = JSON.parse(podText);
  decodeTypeError('', 'v1', 'Pod', o);
  assert.equal(takeNoUnknownFieldsProof(o, schemaForGVK('apps', 'v1', 'Deployment')!), false);
});

test('inherited names as keys are unknown fields on the fast path too', () => {
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const text = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p",${JSON.stringify(key)}:{"a":1}},"spec":{"containers":[{"name":"c","image":"i"}]}}`;
    const r = bothWays(POD, text);
    assert.deepEqual(r.fast, r.full, key);
    assert.deepEqual(r.full, [`unknown field "metadata.${key}"`]);
    assert.deepEqual(r.checked, r.plain);
  }
});

test('every object of a body with an extra key or a repeated key: same problems, same pruned object', () => {
  // Each variant edits the text right after one '{' (outside strings: the pod's strings hold none).
  let variants = 0;
  for (let i = podText.indexOf('{'); i >= 0; i = podText.indexOf('{', i + 1)) {
    const after = podText.slice(i + 1);
    const firstKey = /^"((?:[^"\\]|\\.)*)":/.exec(after);
    const edits = [`"zzUnknown":{"x":[1,{"y":2}]},`, `"zzUnknown":1,`];
    if (firstKey) {
      // the key repeated first with another value, and again last
      edits.push(`${JSON.stringify(JSON.parse(`"${firstKey[1]}"`))}:null,`);
      edits.push(`"${firstKey[1]}":{},`);
    }
    for (const e of edits) {
      const text = podText.slice(0, i + 1) + (after[0] === '}' ? e.slice(0, -1) : e) + after;
      for (const mediaType of ['application/json', undefined]) {
        const r = bothWays(POD, text, mediaType);
        if (r.typeErr !== undefined) continue;
        variants++;
        assert.deepEqual(r.fast, r.full, text);
        assert.deepEqual(r.checked, r.plain, text);
      }
    }
  }
  assert.ok(variants > 40, `only ${variants} variants type-checked`);
});

test('repeated keys written differently, inside values or in big maps are still reported', () => {
  const cases: [typeof POD, string][] = [
    [CM, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","\\u0061":"2"}}'],
    [CM, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"\\"a\\":1,\\"a\\":2"}}'],
    [CM, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{${Array.from({ length: 40 }, (_, i) => `"k${i}":"v"`).join(',')},"k3":"again"}}`],
    [CM, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{${Array.from({ length: 40 }, (_, i) => `"k${i}":"v"`).join(',')}}}`],
    [CM, '{ "apiVersion" : "v1" ,\n "kind":"ConfigMap",\t"metadata" :{"name":"c", "name" : "d"}}'],
    [POD, '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"m","fieldsV1":{"f:a":{},"f:a":{}}}]}}'],
    [DEPLOY, '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":1,"replicas":2,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b","a":"c"}},"spec":{"containers":[{"name":"c","image":"i","name":"c2"}]}}}}'],
    [DEPLOY, '{"apiVersion":"apps/v1","kind":"Deployment","kind":"Deployment","metadata":{"name":"d"}}'],
  ];
  for (const [gvk, text] of cases) {
    const r = bothWays(gvk, text);
    assert.equal(r.typeErr, undefined, text);
    assert.deepEqual(r.fast, r.full, text);
    assert.deepEqual(r.checked, r.plain, text);
  }
  // the Deployment's repeated fields, in document order, each path once
  assert.deepEqual(bothWays(DEPLOY, cases[6]![1]).fast, [
    'duplicate field "spec.replicas"',
    'duplicate field "spec.template.metadata.labels.a"',
    'duplicate field "spec.template.spec.containers[0].name"',
  ]);
  assert.deepEqual(bothWays(CM, cases[0]![1]).fast, ['duplicate field "data.a"']);
});

test('YAML bodies and decoded objects (no text) answer as the full walks', () => {
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: "1"\n  a: "2"\n';
  const checked = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '2' } };
  assert.equal(decodeTypeError('', 'v1', 'ConfigMap', checked), undefined);
  const full = fieldProblems(CM, structuredClone(checked), { text: yaml, mediaType: 'application/yaml' });
  assert.deepEqual(fieldProblems(CM, checked, { text: yaml, mediaType: 'application/yaml' }), full);
  assert.equal(full.length, 1);
  assert.match(full[0]!, /key "a" already set in map/);
  // decoded objects: unknown fields only, sorted; none for a clean one
  const r = bothWays(POD, podText, undefined, false);
  assert.deepEqual(r.fast, []);
  const u = bothWays(POD, '{"apiVersion":"v1","kind":"Pod","spec":{"zz":1,"aa":2}}', undefined, false);
  assert.deepEqual(u.fast, u.full);
  assert.deepEqual(u.full, ['unknown field "spec.aa"', 'unknown field "spec.zz"']);
});

test('jsonKeysUnique answers from the text: repeated keys per object, not across objects or in values', () => {
  assert.equal(jsonKeysUnique('{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}'), true);
  assert.equal(jsonKeysUnique('{"a":1,"b":2,"a":3}'), false);
  assert.equal(jsonKeysUnique('{"x":[{"a":1,"a":2}]}'), false);
  assert.equal(jsonKeysUnique('{"a":"\\"a\\":","b":"a"}'), true);
  assert.equal(jsonKeysUnique('{"\\u0062":1,"c":2}'), false, 'an escaped key is not trusted');
  assert.equal(jsonKeysUnique(' { "a" : 1 , "a"\n:\t2 } '), false);
  assert.equal(jsonKeysUnique(`{${Array.from({ length: 100 }, (_, i) => `"k${i}":${i}`).join(',')}}`), true);
  assert.equal(jsonKeysUnique(`{${Array.from({ length: 100 }, (_, i) => `"k${i}":${i}`).join(',')},"k99":0}`), false);
  assert.equal(jsonKeysUnique('[]'), true);
});

// Type errors of decoded bodies, worded as Go's encoding/json reports them: the field's path from
// the root (array indexes left out, map keys kept), the struct the walk last named, the Go type.
// (The struct names follow the walk as it is: a property reached through a resolved reference
// loses its type's name, where upstream would name the innermost struct.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTypeError } from './decode.ts';

const cases: [string, [string, string, string], unknown, string][] = [
  ['a string for an int32', ['apps', 'v1', 'Deployment'], { spec: { replicas: 'three' } }, 'json: cannot unmarshal string into Go struct field .spec.replicas of type int32'],
  ['a fraction for an int32', ['apps', 'v1', 'Deployment'], { spec: { replicas: 1.5 } }, 'json: cannot unmarshal number 1.5 into Go value of type int32'],
  ['an int32 out of range', ['apps', 'v1', 'Deployment'], { spec: { replicas: 3000000000 } }, 'json: cannot unmarshal number 3000000000 into Go value of type int32'],
  ['a string for a struct', ['', 'v1', 'Pod'], { spec: 'x' }, 'json: cannot unmarshal string into Go struct field .spec of type map[string]interface {}'],
  ['a field of a list item', ['', 'v1', 'Pod'], { spec: { containers: [{ name: 'c', ports: [{ containerPort: '80' }] }] } }, 'json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32'],
  ['a map value', ['', 'v1', 'Pod'], { metadata: { labels: { app: 5 } } }, 'json: cannot unmarshal number into Go struct field .metadata.labels.app of type string'],
  ['an array for a map', ['', 'v1', 'Pod'], { metadata: { annotations: [] } }, 'json: cannot unmarshal array into Go struct field .metadata.annotations of type map[string]string'],
  ['an object for a map\'s string', ['', 'v1', 'Pod'], { spec: { nodeSelector: { a: { b: 1 } } } }, 'json: cannot unmarshal object into Go struct field .spec.nodeSelector.a of type string'],
  ['a deep field', ['', 'v1', 'Pod'], { spec: { containers: [{ name: 'c', env: [{ name: 'x', valueFrom: { fieldRef: { fieldPath: 7 } } }] }] } }, 'json: cannot unmarshal number into Go struct field EnvVar.spec.containers.env.valueFrom.fieldRef.fieldPath of type string'],
  ['a string for a list', ['', 'v1', 'Pod'], { spec: { containers: 'x' } }, 'json: cannot unmarshal string into Go struct field .spec.containers of type []v1.Container'],
  ['bad base64', ['', 'v1', 'ConfigMap'], { binaryData: { a: 'not base64!' } }, 'illegal base64 data at input byte 3'],
  ['a fraction for an int-or-string', ['', 'v1', 'Pod'], { spec: { containers: [{ name: 'c', readinessProbe: { httpGet: { port: 1.5 } } }] } }, 'json: cannot unmarshal number 1.5 into Go value of type int32'],
];

for (const [name, [g, v, k], body, want] of cases) {
  test(`a type error names the field as Go does: ${name}`, () => {
    assert.equal(decodeTypeError(g, v, k, body), want);
  });
}

test('the first type error in the object\'s key order is the one reported', () => {
  const e = decodeTypeError('', 'v1', 'Pod', { metadata: { labels: { b: 1, '2': true } }, spec: { containers: 'x' } });
  assert.equal(e, 'json: cannot unmarshal bool into Go struct field .metadata.labels.2 of type string');
});

test('a well-typed body has no type error', () => {
  assert.equal(decodeTypeError('', 'v1', 'Pod', { metadata: { name: 'p', labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] } }), undefined);
});

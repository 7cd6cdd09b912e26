// Type errors of decoded bodies, worded as the decoder upstream uses (sigs.k8s.io/json, Go's
// encoding/json) reports them: "Go struct field <innermost struct>.<path of struct fields>" — array
// indexes and map keys are not in the path — and the Go type of the value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTypeError } from './decode.ts';

const cases: [string, [string, string, string], unknown, string][] = [
  ['a string for an int32', ['apps', 'v1', 'Deployment'], { spec: { replicas: 'three' } }, 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32'],
  ['a fraction for an int32', ['apps', 'v1', 'Deployment'], { spec: { replicas: 1.5 } }, 'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32'],
  ['an int32 out of range', ['apps', 'v1', 'Deployment'], { spec: { replicas: 3000000000 } }, 'json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32'],
  ['a string for a struct', ['', 'v1', 'Pod'], { spec: 'x' }, 'json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec'],
  ['a field of a list item', ['', 'v1', 'Pod'], { spec: { containers: [{ name: 'c', ports: [{ containerPort: '80' }] }] } }, 'json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32'],
  ['a map value', ['', 'v1', 'Pod'], { metadata: { labels: { app: 5 } } }, 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string'],
  ['an array for a map', ['', 'v1', 'Pod'], { metadata: { annotations: [] } }, 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.annotations of type map[string]string'],
  ['an object for a map\'s string', ['', 'v1', 'Pod'], { spec: { nodeSelector: { a: { b: 1 } } } }, 'json: cannot unmarshal object into Go struct field PodSpec.spec.nodeSelector of type string'],
  ['a deep field', ['', 'v1', 'Pod'], { spec: { containers: [{ name: 'c', env: [{ name: 'x', valueFrom: { fieldRef: { fieldPath: 7 } } }] }] } }, 'json: cannot unmarshal number into Go struct field ObjectFieldSelector.spec.containers.env.valueFrom.fieldRef.fieldPath of type string'],
  ['a string for a list', ['', 'v1', 'Pod'], { spec: { containers: 'x' } }, 'json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container'],
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
  assert.equal(e, 'json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string');
});

test('a string where a list or a struct belongs names the struct that holds the field', () => {
  assert.equal(decodeTypeError('', 'v1', 'Pod', { spec: { containers: [{ name: 'c', ports: 'x' }] } }), 'json: cannot unmarshal string into Go struct field Container.spec.containers.ports of type []v1.ContainerPort');
  assert.equal(decodeTypeError('', 'v1', 'Pod', { metadata: 'x' }), 'json: cannot unmarshal string into Go struct field Pod.metadata of type v1.ObjectMeta');
});

test('a well-typed body has no type error', () => {
  assert.equal(decodeTypeError('', 'v1', 'Pod', { metadata: { name: 'p', labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] } }), undefined);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SchemaNode } from './index.ts';
import {
  bodyStrictErrors,
  fieldProblems,
  fieldValidationDirective,
  goQuote,
  jsonDuplicateErrors,
  jsonStrictErrors,
  objectStrictErrors,
  pruneUnknownFields,
  strictBadRequest,
  strictDecodingError,
  strictPatchInvalid,
  strictWarnings,
  validateFieldValidation,
  yamlDuplicateProblem,
  yamlStrictErrors,
} from './strict.ts';

const DEPLOYMENT = { group: 'apps', version: 'v1', kind: 'Deployment' };
const POD = { group: '', version: 'v1', kind: 'Pod' };
const CONFIGMAP = { group: '', version: 'v1', kind: 'ConfigMap' };

// A Deployment with a duplicated name, an unknown metadata field, unknown and duplicated spec
// fields, and an unknown and a duplicated field in a container: the problems upstream's strict
// decoding finds in each, in the order it reports them.
const BAD_DEPLOYMENT_JSON = `{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {
    "name": "first",
    "name": "web",
    "labels": {"tier": "front"},
    "colour": "blue"
  },
  "spec": {
    "extra": 1,
    "twice": "a",
    "twice": "b",
    "replicas": 1,
    "replicas": 2,
    "selector": {"matchLabels": {"tier": "front"}},
    "template": {
      "metadata": {"labels": {"tier": "front"}},
      "spec": {
        "containers": [{
          "name": "web",
          "image": "nginx",
          "shiny": true,
          "imagePullPolicy": "Always",
          "imagePullPolicy": "IfNotPresent"
        }]
      }
    }
  }
}`;

const BAD_DEPLOYMENT_YAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: first
  name: web
  colour: blue
  labels:
    tier: front
spec:
  extra: 1
  twice: a
  twice: b
  replicas: 1
  replicas: 2
  selector:
    matchLabels:
      tier: front
  template:
    metadata:
      labels:
        tier: front
    spec:
      containers:
      - name: web
        image: nginx
        shiny: true
        imagePullPolicy: Always
        imagePullPolicy: IfNotPresent
`;

describe('strict decoding of JSON bodies', () => {
  it('reports unknown and duplicate fields in document order with full paths', () => {
    assert.deepEqual(jsonStrictErrors(DEPLOYMENT, BAD_DEPLOYMENT_JSON), [
      'duplicate field "metadata.name"',
      'unknown field "metadata.colour"',
      'unknown field "spec.extra"',
      'unknown field "spec.twice"',
      'duplicate field "spec.replicas"',
      'unknown field "spec.template.spec.containers[0].shiny"',
      'duplicate field "spec.template.spec.containers[0].imagePullPolicy"',
    ]);
  });

  it('words the Strict error as upstream: kind, version and the joined problems', () => {
    const err = strictBadRequest({ kind: 'Deployment', version: 'v1' }, 'Deployment', jsonStrictErrors(DEPLOYMENT, BAD_DEPLOYMENT_JSON));
    assert.equal(err.code, 400);
    assert.equal(err.reason, 'BadRequest');
    assert.equal(
      err.message,
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "metadata.name", ' +
        'unknown field "metadata.colour", unknown field "spec.extra", unknown field "spec.twice", duplicate field "spec.replicas", ' +
        'unknown field "spec.template.spec.containers[0].shiny", duplicate field "spec.template.spec.containers[0].imagePullPolicy"',
    );
  });

  const table: { name: string; kind: typeof POD; body: string; want: string[] }[] = [
    { name: 'a valid object has no problems', kind: CONFIGMAP, body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"}}', want: [] },
    {
      name: 'field names are case-sensitive',
      kind: CONFIGMAP,
      body: '{"apiVersion":"v1","kind":"ConfigMap","Metadata":{"name":"a"}}',
      want: ['unknown field "Metadata"'],
    },
    {
      name: 'duplicate keys of a map (labels, data) are duplicate fields under the map',
      kind: CONFIGMAP,
      body: '{"metadata":{"labels":{"a":"1","a":"2"}},"data":{"k":"1","k":"2"}}',
      want: ['duplicate field "metadata.labels.a"', 'duplicate field "data.k"'],
    },
    {
      name: 'an unknown field is reported once however often it appears, and never as a duplicate',
      kind: CONFIGMAP,
      body: '{"nope":1,"nope":2,"nope":{"deep":true}}',
      want: ['unknown field "nope"'],
    },
    {
      name: 'nothing inside an unknown field is looked at',
      kind: CONFIGMAP,
      body: '{"nope":{"a":1,"a":2,"b":{"c":3}}}',
      want: ['unknown field "nope"'],
    },
    {
      name: 'list items are addressed by index',
      kind: POD,
      body: '{"spec":{"containers":[{"name":"a"},{"name":"b","x":1}],"initContainers":[{"name":"i","ports":[{"containerPort":1,"y":2}]}]}}',
      want: ['unknown field "spec.containers[1].x"', 'unknown field "spec.initContainers[0].ports[0].y"'],
    },
    {
      name: 'status is checked like any other field',
      kind: POD,
      body: '{"status":{"phase":"Running","mood":"good"}}',
      want: ['unknown field "status.mood"'],
    },
    {
      name: 'quantities and int-or-string values are scalars',
      kind: POD,
      body: '{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"1","memory":2}},"readinessProbe":{"httpGet":{"port":"http"}}}]}}',
      want: [],
    },
    {
      name: 'map values are checked against the value schema',
      kind: POD,
      body: '{"spec":{"overhead":{"cpu":"1"},"containers":[{"name":"a","resources":{"claims":[{"name":"c","what":1}]}}]}}',
      want: ['unknown field "spec.containers[0].resources.claims[0].what"'],
    },
    {
      name: 'raw extension and managed fields contents are opaque',
      kind: { group: 'apps', version: 'v1', kind: 'ControllerRevision' },
      body: '{"data":{"anything":1,"anything":2},"revision":1,"metadata":{"managedFields":[{"manager":"m","fieldsV1":{"f:x":{},"f:x":{}},"bogus":1}]}}',
      want: ['unknown field "metadata.managedFields[0].bogus"'],
    },
    {
      name: 'a value of the wrong type is not looked into',
      kind: POD,
      body: '{"spec":"oops","metadata":{"labels":["a"]}}',
      want: [],
    },
  ];
  for (const t of table) {
    it(t.name, () => assert.deepEqual(jsonStrictErrors(t.kind, t.body), t.want));
  }

  it('reports each path once and at most 100 problems', () => {
    const fields = Array.from({ length: 150 }, (_, i) => `"u${i}":1`).join(',');
    const errs = jsonStrictErrors(CONFIGMAP, `{${fields},"u0":2}`);
    assert.equal(errs.length, 100);
    assert.equal(errs[0], 'unknown field "u0"');
    assert.equal(errs[99], 'unknown field "u99"');
  });

  it('finds nothing in kinds it has no schema for or text that is not JSON', () => {
    assert.deepEqual(jsonStrictErrors({ group: 'example.com', version: 'v1', kind: 'Widget' }, '{"a":1}'), []);
    assert.deepEqual(jsonStrictErrors(CONFIGMAP, '{"a":'), []);
  });

  it('quotes paths as Go does', () => {
    assert.deepEqual(jsonStrictErrors(CONFIGMAP, '{"data":{"a\\"b":"1","a\\"b":"2","tab\\there":"x","tab\\there":"y"}}'), [
      'duplicate field "data.a\\"b"',
      'duplicate field "data.tab\\there"',
    ]);
    assert.equal(goQuote('bell\u0007'), '"bell\\a"');
    assert.equal(goQuote('nul\u0000'), '"nul\\x00"');
    assert.equal(goQuote('grüß'), '"grüß"');
  });
});

describe('strict decoding of YAML bodies', () => {
  it('reports the YAML duplicates with the line of the duplicate value, then unknown fields in sorted key order', () => {
    assert.deepEqual(yamlStrictErrors(DEPLOYMENT, BAD_DEPLOYMENT_YAML), [
      'yaml: unmarshal errors:\n' +
        '  line 5: key "name" already set in map\n' +
        '  line 12: key "twice" already set in map\n' +
        '  line 14: key "replicas" already set in map\n' +
        '  line 28: key "imagePullPolicy" already set in map',
      'unknown field "metadata.colour"',
      'unknown field "spec.extra"',
      'unknown field "spec.template.spec.containers[0].shiny"',
      'unknown field "spec.twice"',
    ]);
  });

  it('splits the YAML problem into one warning per line', () => {
    assert.deepEqual(strictWarnings(yamlStrictErrors(DEPLOYMENT, BAD_DEPLOYMENT_YAML)), [
      'line 5: key "name" already set in map',
      'line 12: key "twice" already set in map',
      'line 14: key "replicas" already set in map',
      'line 28: key "imagePullPolicy" already set in map',
      'unknown field "metadata.colour"',
      'unknown field "spec.extra"',
      'unknown field "spec.template.spec.containers[0].shiny"',
      'unknown field "spec.twice"',
    ]);
  });

  it('places a duplicated block value at its first line and reports nested duplicates first', () => {
    const y = ['spec:', '  selector:', '    matchLabels: {}', '  selector:', '    matchLabels:', '      a: b', '      a: c', ''].join('\n');
    assert.deepEqual(yamlDuplicateProblem(y), 'yaml: unmarshal errors:\n  line 7: key "a" already set in map\n  line 5: key "selector" already set in map');
  });

  it('finds duplicates in JSON read as YAML (server-side apply bodies)', () => {
    const body = '{\n  "spec": {\n    "paused": false,\n    "paused": true\n  }\n}';
    assert.equal(yamlDuplicateProblem(body), 'yaml: unmarshal errors:\n  line 4: key "paused" already set in map');
    assert.equal(yamlDuplicateProblem('{"spec": {"paused": true}}'), undefined);
  });
});

describe('strict decoding by media type', () => {
  it('checks JSON and YAML bodies and nothing else', () => {
    assert.equal(bodyStrictErrors(DEPLOYMENT, Buffer.from(BAD_DEPLOYMENT_JSON), 'application/json; charset=utf-8').length, 7);
    assert.equal(bodyStrictErrors(DEPLOYMENT, BAD_DEPLOYMENT_YAML, 'application/yaml').length, 5);
    assert.deepEqual(bodyStrictErrors(DEPLOYMENT, Buffer.from([0x6b, 0x38, 0x73, 0x00]), 'application/vnd.kubernetes.protobuf'), []);
  });
});

describe('patches', () => {
  const patch = '{"spec":{"extra":1,"twice":"a","twice":"b","paused":true,"paused":false,"template":{"spec":{"containers":[{"name":"web","shiny":1,"image":"a","image":"b"}]}}}}';

  it('finds duplicate keys of the patch text wherever they are', () => {
    assert.deepEqual(jsonDuplicateErrors(patch), [
      'duplicate field "spec.twice"',
      'duplicate field "spec.paused"',
      'duplicate field "spec.template.spec.containers[0].image"',
    ]);
  });

  it('reports unknown fields of a decoded object sorted by message', () => {
    assert.deepEqual(objectStrictErrors(DEPLOYMENT, JSON.parse(patch)), [
      'unknown field "spec.extra"',
      'unknown field "spec.template.spec.containers[0].shiny"',
      'unknown field "spec.twice"',
    ]);
  });

  it('words the Strict patch error as upstream', () => {
    const err = strictPatchInvalid('{"spec":{"x":1}}', ['unknown field "spec.x"']);
    assert.equal(err.code, 422);
    assert.equal(err.message, ' "" is invalid: patch: Invalid value: "{\\"spec\\":{\\"x\\":1}}": strict decoding error: unknown field "spec.x"');
  });
});

describe('pruning unknown fields', () => {
  it('drops unknown fields at every depth and keeps everything known', () => {
    const obj = JSON.parse(BAD_DEPLOYMENT_JSON);
    const pruned = pruneUnknownFields(DEPLOYMENT, obj) as Record<string, any>;
    assert.deepEqual(pruned, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { tier: 'front' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { tier: 'front' } },
        template: {
          metadata: { labels: { tier: 'front' } },
          spec: { containers: [{ name: 'web', image: 'nginx', imagePullPolicy: 'IfNotPresent' }] },
        },
      },
    });
    assert.equal((obj as any).metadata.colour, 'blue', 'the input is not modified');
  });

  it('returns the same object when nothing is unknown, and keeps opaque values whole', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', data: { a: 'b' } };
    assert.equal(pruneUnknownFields(CONFIGMAP, cm), cm);
    const cr = { data: { anything: { goes: 1 } }, revision: 1 };
    assert.equal(pruneUnknownFields({ group: 'apps', version: 'v1', kind: 'ControllerRevision' }, cr), cr);
  });
});

describe('schemas with preserve-unknown-fields and embedded resources (custom resources)', () => {
  const widget: SchemaNode = {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        properties: {
          size: { type: 'integer' },
          config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: {} },
        },
      },
    },
  };

  it('allows any field under preserve-unknown-fields but still reports duplicates there', () => {
    assert.deepEqual(jsonStrictErrors(widget, '{"spec":{"size":1,"config":{"a":{"b":1,"b":2}},"colour":"red"}}'), [
      'duplicate field "spec.config.a.b"',
      'unknown field "spec.colour"',
    ]);
  });

  it('checks an embedded resource\'s metadata as object metadata', () => {
    assert.deepEqual(jsonStrictErrors(widget, '{"spec":{"template":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","colour":1}}}}'), [
      'unknown field "spec.template.metadata.colour"',
    ]);
  });
});

describe('the fieldValidation parameter', () => {
  it('defaults to Warn and accepts Ignore, Warn and Strict', () => {
    assert.equal(fieldValidationDirective(undefined), 'Warn');
    assert.equal(fieldValidationDirective(''), 'Warn');
    assert.equal(fieldValidationDirective('Strict'), 'Strict');
    assert.equal(fieldValidationDirective('Ignore'), 'Ignore');
    for (const v of [undefined, '', 'Ignore', 'Warn', 'Strict']) assert.deepEqual(validateFieldValidation(v), []);
  });

  it('rejects other values with upstream\'s wording', () => {
    const errs = validateFieldValidation('strict');
    assert.equal(errs.length, 1);
    assert.equal(errs[0].field, 'fieldValidation');
    assert.equal(errs[0].type, 'FieldValueNotSupported');
    assert.equal(errs[0].detail, 'supported values: "", "Ignore", "Strict", "Warn"');
  });

  it('joins problems after upstream\'s prefix', () => {
    assert.equal(strictDecodingError(['a', 'b']), 'strict decoding error: a, b');
  });
});

describe('problems and pruning in one call', () => {
  it('reports from the body text and deletes unknown fields from the decoded object', () => {
    const obj = JSON.parse(BAD_DEPLOYMENT_JSON);
    const problems = fieldProblems(DEPLOYMENT, obj, { text: BAD_DEPLOYMENT_JSON });
    assert.equal(problems.length, 7);
    assert.equal(problems[0], 'duplicate field "metadata.name"');
    assert.equal(obj.metadata.colour, undefined);
    assert.equal(obj.spec.extra, undefined);
    assert.equal(obj.spec.template.spec.containers[0].shiny, undefined);
    assert.equal(obj.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
  });

  it('takes YAML rules for a YAML body and object rules without a body', () => {
    const fromYaml = fieldProblems(DEPLOYMENT, { spec: {} }, { text: BAD_DEPLOYMENT_YAML, mediaType: 'application/yaml' });
    assert.match(fromYaml[0], /^yaml: unmarshal errors:\n {2}line 5: key "name" already set in map/);
    const obj = { spec: { b: 1, a: 2, replicas: 1 } };
    assert.deepEqual(fieldProblems(DEPLOYMENT, obj), ['unknown field "spec.a"', 'unknown field "spec.b"']);
    assert.deepEqual(obj, { spec: { replicas: 1 } });
  });
});

// Bad input gets a clear error in Kubernetes' form and changes nothing: a corpus of malformed and
// invalid requests, then a check that the server is up and the store's revision has not moved.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../harness.ts';

let s: TestServer;
before(async () => {
  // Nothing but the corpus may write: the scheduler's and controller-manager's leases renew every
  // 2 s and would move the store's revision while the corpus runs.
  s = await startServer({ extraArgs: ['--disable-scheduler', '--disable-controller-manager'] });
  // what the service-account controller would do: pods need the namespace's default ServiceAccount
  await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } } });
});
after(async () => {
  await s?.stop();
});

const PODS = '/api/v1/namespaces/default/pods';
const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';
const CMS = '/api/v1/namespaces/default/configmaps';

function pod(name: string, containers: unknown[] = [{ name: 'c', image: 'nginx' }], meta: Record<string, unknown> = {}) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...meta }, spec: { containers } };
}

function deploy(name: string, selector: Record<string, string>, labels: Record<string, string>) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { selector: { matchLabels: selector }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  };
}

interface Case {
  name: string;
  method?: string;
  path: string;
  body: unknown;
  contentType?: string;
  query?: string;
  code: number;
  reason: string;
  message?: RegExp;
  causes?: { field: string; reason?: string }[];
}

const yamlBomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');

const CASES: Case[] = [
  { name: 'malformed JSON', path: PODS, body: '{"apiVersion": "v1", "kind": "Pod", "metadata": {', code: 400, reason: 'BadRequest' },
  { name: 'JSON that is not an object', path: PODS, body: '[1,2,3]', code: 400, reason: 'BadRequest' },
  { name: 'malformed YAML', path: PODS, body: 'apiVersion: v1\nkind: Pod\nmetadata: [unclosed', contentType: 'application/yaml', code: 400, reason: 'BadRequest' },
  { name: 'a YAML alias bomb', path: CMS, body: yamlBomb, contentType: 'application/yaml', code: 400, reason: 'BadRequest' },
  { name: 'malformed protobuf', path: CMS, body: Buffer.from('k8s\0\x0a\xff\xff\xff\xff\x0fgarbage', 'latin1'), contentType: 'application/vnd.kubernetes.protobuf', code: 400, reason: 'BadRequest' },
  { name: 'protobuf without the magic', path: CMS, body: Buffer.from('not protobuf at all'), contentType: 'application/vnd.kubernetes.protobuf', code: 400, reason: 'BadRequest' },
  { name: 'an unknown content type', path: CMS, body: '<xml/>', contentType: 'application/xml', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'a body over 3 MiB', path: CMS, body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge' }, data: { a: 'x'.repeat(3 * 1024 * 1024 + 10) } }), code: 413, reason: 'RequestEntityTooLarge' },
  {
    name: 'an invalid name',
    path: CMS,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } },
    code: 422,
    reason: 'Invalid',
    message: /ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/,
    causes: [{ field: 'metadata.name', reason: 'FieldValueInvalid' }],
  },
  {
    name: 'an invalid label',
    path: CMS,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'lbl', labels: { 'bad key!': 'v' } } },
    code: 422,
    reason: 'Invalid',
    causes: [{ field: 'metadata.labels', reason: 'FieldValueInvalid' }],
  },
  {
    name: 'annotations over 256 KiB',
    path: CMS,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ann', annotations: { big: 'x'.repeat(256 * 1024 + 1) } } },
    code: 422,
    reason: 'Invalid',
    message: /metadata\.annotations: Too long: /,
    causes: [{ field: 'metadata.annotations', reason: 'FieldValueTooLong' }],
  },
  {
    name: 'a Deployment whose selector does not match its template labels',
    path: DEPLOYS,
    body: deploy('mismatch', { app: 'a' }, { app: 'b' }),
    code: 422,
    reason: 'Invalid',
    message: /Deployment\.apps "mismatch" is invalid: spec\.template\.metadata\.labels: Invalid value: map\[string\]string\{"app":"b"\}: `selector` does not match template `labels`/,
    causes: [{ field: 'spec.template.metadata.labels', reason: 'FieldValueInvalid' }],
  },
  {
    name: 'a container port out of range',
    path: PODS,
    body: pod('port', [{ name: 'c', image: 'nginx', ports: [{ containerPort: 70000 }] }]),
    code: 422,
    reason: 'Invalid',
    message: /spec\.containers\[0\]\.ports\[0\]\.containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive/,
  },
  {
    name: 'a missing image',
    path: PODS,
    body: pod('noimage', [{ name: 'c' }]),
    code: 422,
    reason: 'Invalid',
    message: /^Pod "noimage" is invalid: spec\.containers\[0\]\.image: Required value$/,
  },
  {
    name: 'a malformed quantity (a decode error upstream: 400)',
    path: PODS,
    body: pod('qty', [{ name: 'c', image: 'nginx', resources: { limits: { cpu: 'lots' } } }]),
    code: 400,
    reason: 'BadRequest',
    message: /quantities must match the regular expression '\^\(\[\+-\]\?\[0-9\.\]\+\)\(\[eEinumkKMGTP\]\*\[-\+\]\?\[0-9\]\*\)\$'/,
  },
  {
    name: 'duplicate container names',
    path: PODS,
    body: pod('dup', [{ name: 'c', image: 'nginx' }, { name: 'c', image: 'busybox' }]),
    code: 422,
    reason: 'Invalid',
    message: /spec\.containers\[1\]\.name: Duplicate value: "c"/,
  },
  {
    name: 'an unknown field under Strict',
    path: DEPLOYS,
    query: 'fieldValidation=Strict',
    body: { ...deploy('strict', { app: 'a' }, { app: 'a' }), spec: { ...deploy('strict', { app: 'a' }, { app: 'a' }).spec, replicaz: 3 } },
    code: 400,
    reason: 'BadRequest',
    message: /strict decoding error: unknown field "spec\.replicaz"/,
  },
  {
    name: 'a wrongly typed field',
    path: DEPLOYS,
    body: { ...deploy('typed', { app: 'a' }, { app: 'a' }), spec: { ...deploy('typed', { app: 'a' }, { app: 'a' }).spec, replicas: 'three' } },
    code: 400,
    reason: 'BadRequest',
  },
  { name: 'a kind that does not match the URL', path: CMS, body: pod('wrongkind'), code: 400, reason: 'BadRequest' },
  {
    name: 'an unsupported fieldValidation value',
    path: CMS,
    query: 'fieldValidation=Maybe',
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fv' } },
    code: 422,
    reason: 'Invalid',
    message: /CreateOptions\.meta\.k8s\.io "" is invalid: fieldValidation: Unsupported value: "Maybe": supported values: "", "Ignore", "Strict", "Warn"/,
  },
  { name: 'a bad label selector', method: 'GET', path: PODS, query: 'labelSelector=a%20in%20(b', body: undefined, code: 400, reason: 'BadRequest' },
  { name: 'an unknown resource', method: 'GET', path: '/api/v1/namespaces/default/widgets', body: undefined, code: 404, reason: 'NotFound' },
  { name: 'an update of an object that does not exist', method: 'PUT', path: `${CMS}/nothere`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nothere' } }, code: 404, reason: 'NotFound' },
  { name: 'a patch with an unknown patch type', method: 'PATCH', path: `${CMS}/nothere`, contentType: 'application/x-patch', body: '{}', code: 415, reason: 'UnsupportedMediaType' },
];

async function storeRevision(): Promise<string> {
  // Any consistent list reports the store's current revision.
  return (await s.request('GET', '/api/v1/namespaces?limit=1')).json().metadata.resourceVersion;
}

test('every request of the bad-input corpus is refused in Kubernetes form and changes nothing', async () => {
  // A baseline object so that "the store is unchanged" is checked against real content.
  assert.equal((await s.request('POST', CMS, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'baseline' }, data: { k: 'v' } } })).status, 201);
  const before = await storeRevision();
  const failures: string[] = [];
  for (const c of CASES) {
    const r = await s.request(c.method ?? 'POST', c.path + (c.query ? `?${c.query}` : ''), {
      body: c.body === undefined ? undefined : typeof c.body === 'string' || Buffer.isBuffer(c.body) ? c.body : JSON.stringify(c.body),
      headers: c.contentType ? { 'content-type': c.contentType } : undefined,
    });
    let st: any;
    try {
      st = r.json();
    } catch {
      failures.push(`${c.name}: body is not JSON: ${r.text().slice(0, 200)}`);
      continue;
    }
    const problems: string[] = [];
    if (r.status !== c.code) problems.push(`status ${r.status} (want ${c.code})`);
    if (st.kind !== 'Status' || st.status !== 'Failure') problems.push('not a Failure Status');
    if (st.reason !== c.reason) problems.push(`reason ${st.reason} (want ${c.reason})`);
    if (st.code !== c.code) problems.push(`Status.code ${st.code}`);
    if (c.message && !c.message.test(st.message)) problems.push(`message ${JSON.stringify(st.message)} does not match ${c.message}`);
    for (const want of c.causes ?? []) {
      if (!st.details?.causes?.some((x: any) => x.field === want.field && (!want.reason || x.reason === want.reason))) {
        problems.push(`no cause for ${want.field} in ${JSON.stringify(st.details?.causes)}`);
      }
    }
    if (problems.length) failures.push(`${c.name}: ${problems.join('; ')}`);
  }
  assert.deepEqual(failures, []);
  assert.equal(await storeRevision(), before, 'the store revision did not move');
  const baseline = (await s.request('GET', `${CMS}/baseline`)).json();
  assert.deepEqual(baseline.data, { k: 'v' });
  assert.equal((await s.request('GET', '/readyz', { anonymous: true })).text(), 'ok');
});

// A create's answer over HTTP is the object as a later GET returns it, byte for byte, whatever
// path produced it: the stored JSON reused (plain JSON of the storage version), or the object
// encoded again (secrets sealed at rest, other versions, YAML, protobuf).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { decode as decodeProtobuf } from '../api/protobuf/codec.ts';
import { openStore } from '../storage/open.ts';
import type { Store } from '../storage/store.ts';
import { apiCodecs, apiHooks } from './codecs.ts';
import { ensureAdminCert, ensurePki } from './pki.ts';
import { startApiServer, type ApiServer } from './server.ts';
import { stringifySplit } from './registry.ts';

let dir: string;
let store: Store;
let server: ApiServer;
let tls: { ca: string; cert: string; key: string };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rudder-create-response-'));
  store = await openStore(`sqlite://${join(dir, 'state.db')}`);
  const pki = await ensurePki(join(dir, 'tls'), { sans: ['127.0.0.1', 'localhost'] });
  server = await startApiServer(
    {
      bindAddress: '127.0.0.1', port: 0, advertiseAddress: '127.0.0.1', serviceCidr: '10.43.0.0/16', serviceNodePortRange: '30000-32767', minRequestTimeoutSeconds: 1800,
      // a missing file is created with rudder's default: secrets sealed with aescbc
      encryptionConfigFile: join(dir, 'encryption.yaml'),
    },
    { store, pki, hooks: apiHooks(), codecs: apiCodecs() },
  );
  tls = { ca: pki.serverCaCert, ...(await ensureAdminCert(pki)) };
});

after(async () => {
  await server?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, ...tls, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Creates, then reads the object back with a GET: both answers as raw bytes. */
async function createAndGet(collection: string, obj: Record<string, any> | string, headers: Record<string, string> = {}) {
  const created = await call('POST', collection, typeof obj === 'string' ? obj : JSON.stringify(obj), headers);
  assert.equal(created.status, 201, created.body.toString());
  const name = typeof obj === 'string' ? JSON.parse(obj).metadata.name : obj.metadata.name;
  const got = await call('GET', `${collection}/${name}`);
  assert.equal(got.status, 200, got.body.toString());
  return { created, got };
}

test('a created pod is answered with the same JSON bytes a GET returns', async () => {
  await createAndGet('/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  const { created, got } = await createAndGet('/api/v1/namespaces/default/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', labels: { app: 'x' } },
    spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m' } } }] },
  });
  assert.equal(created.type, 'application/json');
  assert.equal(created.body.toString(), got.body.toString());
  const o = JSON.parse(created.body.toString());
  assert.match(o.metadata.resourceVersion, /^\d+$/);
  assert.equal(Object.keys(o.metadata).at(-1), 'resourceVersion');
  assert.ok(o.metadata.managedFields.length > 0);
});

test('multi-byte text before the resourceVersion keeps the answer well-formed and identical to a GET', async () => {
  const { created, got } = await createAndGet('/api/v1/namespaces/default/configmaps', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'utf8', annotations: { note: 'é ✓ 😀 \u2028' } }, data: { k: 'ünïcode ✓' },
  });
  assert.equal(created.body.toString(), got.body.toString());
  const o = JSON.parse(created.body.toString());
  assert.equal(o.metadata.annotations.note, 'é ✓ 😀 \u2028');
  assert.equal(o.data.k, 'ünïcode ✓');
});

test('members in the client\'s order (metadata last) are answered in that order, as a GET does', async () => {
  const body = '{"data":{"a":"1"},"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"odd-order","labels":{"z":"1","a":"2"}}}';
  const { created, got } = await createAndGet('/api/v1/namespaces/default/configmaps', body);
  assert.equal(created.body.toString(), got.body.toString());
  assert.deepEqual(Object.keys(JSON.parse(created.body.toString())), ['data', 'kind', 'apiVersion', 'metadata']);
});

test('a secret sealed at rest is answered in plain JSON, identical to a GET', async () => {
  const { created, got } = await createAndGet('/api/v1/namespaces/default/secrets', {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, data: { password: Buffer.from('hunter2').toString('base64') },
  });
  assert.equal(created.body.toString(), got.body.toString());
  assert.equal(Buffer.from(JSON.parse(created.body.toString()).data.password, 'base64').toString(), 'hunter2');
  assert.ok(!created.body.includes('k8s:enc:'));
});

test('a create in a version other than the storage one is answered in the request\'s version', async () => {
  const hpa = {
    apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h1' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
  };
  const { created, got } = await createAndGet('/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', hpa);
  assert.equal(created.body.toString(), got.body.toString());
  assert.equal(JSON.parse(created.body.toString()).apiVersion, 'autoscaling/v1');
});

test('YAML and protobuf answers to a create carry the same object a GET returns', async () => {
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } });
  const y = await createAndGet('/api/v1/namespaces/default/configmaps', cm('as-yaml'), { accept: 'application/yaml' });
  assert.match(y.created.type, /^application\/yaml/);
  assert.deepEqual(parseYaml(y.created.body.toString()), JSON.parse(y.got.body.toString()));
  const p = await createAndGet('/api/v1/namespaces/default/configmaps', cm('as-pb'), { accept: 'application/vnd.kubernetes.protobuf' });
  assert.equal(p.created.type, 'application/vnd.kubernetes.protobuf');
  const back = decodeProtobuf(p.created.body).object as any;
  const want = JSON.parse(p.got.body.toString());
  assert.equal(back.metadata.resourceVersion, want.metadata.resourceVersion);
  assert.equal(back.metadata.uid, want.metadata.uid);
  assert.deepEqual(back.data, want.data);
});

test('stringifySplit is JSON.stringify and marks the end of metadata', () => {
  const cases: object[] = [
    { apiVersion: 'v1', kind: 'X', metadata: { name: 'a' }, spec: { n: 1 } },
    { metadata: {}, skipped: undefined, f: () => 1, after: [undefined, 'é😀'] },
    { kind: 'NoMeta', data: { metadata: { nested: true } } },
    { metadata: 'not an object' },
  ];
  for (const c of cases) {
    const { json, metaEnd } = stringifySplit(c);
    assert.equal(json, JSON.stringify(c));
    const m = (c as { metadata?: unknown }).metadata;
    if (m && typeof m === 'object') {
      assert.equal(json[metaEnd], '}');
      assert.equal(json.slice(json.indexOf('"metadata":') + 11, metaEnd + 1), JSON.stringify(m));
    } else {
      assert.equal(metaEnd, -1);
    }
  }
});

test('only a create that asks for it keeps its stored JSON, and hands it out once', async () => {
  const r = server.registry.must('', 'configmaps');
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } }) as never;
  const user = { name: 'system:admin', groups: ['system:masters'] };
  // what a PUT that creates or an apply that creates passes: handOff without keepJson
  const plain = await r.create('default', cm('no-keep'), { user, handOff: true });
  assert.equal(r.takeCreatedJson(plain), undefined);
  const kept = await r.create('default', cm('keep'), { user, handOff: true, keepJson: true });
  const parts = r.takeCreatedJson(kept);
  assert.ok(parts);
  assert.equal(Buffer.concat(parts).toString(), JSON.stringify(kept));
  assert.equal(r.takeCreatedJson(kept), undefined);
  // a create without handOff never keeps it
  const local = await r.create('default', cm('local'), { user, keepJson: true });
  assert.equal(r.takeCreatedJson(local), undefined);
});

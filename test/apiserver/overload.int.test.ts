// Overload protection: past --max-requests-inflight a user's requests get 429 with Retry-After,
// never a 5xx, while the admin (system:masters) and health checks are still served.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../harness.ts';

let s: TestServer;
before(async () => {
  s = await startServer({ extraArgs: ['--max-requests-inflight', '3', '--max-mutating-requests-inflight', '2'] });
});
after(async () => {
  await s?.stop();
});

async function saToken(name: string): Promise<string> {
  await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } });
  // the user may do the work, so its requests reach the handlers (and pile up) instead of a quick 403
  await s.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${name}-edit` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }],
    },
  });
  const r = await s.request('POST', `/api/v1/namespaces/default/serviceaccounts/${name}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  assert.equal(r.status, 201, r.text());
  return r.json().status.token;
}

/** Requests multiplexed on one HTTP/2 session, as client-go sends them: they reach the server together. */
function h2burst(token: string, n: number): Promise<{ status: number; headers: Record<string, unknown>; json(): any }[]> {
  const session = connect(s.url, { ca: s.creds.ca });
  const one = (i: number) =>
    new Promise<{ status: number; headers: Record<string, unknown>; json(): any }>((resolve, reject) => {
      const post = i % 2 === 0;
      const body = post ? JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'load-' } }) : undefined;
      const req = session.request({
        ':method': post ? 'POST' : 'GET',
        ':path': '/api/v1/namespaces/default/configmaps',
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
      });
      let headers: Record<string, unknown> = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => (headers = h));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ status: Number(headers[':status']), headers, json: () => JSON.parse(Buffer.concat(chunks).toString()) }));
      req.on('error', reject);
      req.end(body);
    });
  return Promise.all(Array.from({ length: n }, (_, i) => one(i))).finally(() => session.close());
}

test('ten times the in-flight limit from one user gets 429s with Retry-After and no 5xx; the admin is still served', async () => {
  const token = await saToken('busy');
  const admin = Array.from({ length: 10 }, () => s.request('GET', '/api/v1/namespaces/default/configmaps'));
  const health = s.request('GET', '/readyz', { anonymous: true });
  const results = await h2burst(token, 30);
  const codes = results.map((r) => r.status);
  assert.ok(codes.every((c) => c < 500), `no 5xx: ${codes}`);
  assert.ok(codes.some((c) => c === 429), `some 429s: ${codes}`);
  assert.ok(codes.some((c) => c === 200 || c === 201), `some served: ${codes}`);
  for (const r of results.filter((r) => r.status === 429)) {
    assert.equal(r.headers['retry-after'], '1');
    const st = r.json();
    assert.equal(st.reason, 'TooManyRequests');
    assert.equal(st.message, 'Too many requests, please try again later.');
  }
  assert.deepEqual((await Promise.all(admin)).map((r) => r.status), Array(10).fill(200));
  assert.equal((await health).status, 200);
});

test('a malformed URL path is a 400, and the server stays up', async () => {
  const r = await s.request('GET', '/api/v1/namespaces/%zz/pods');
  assert.equal(r.status, 400);
  assert.equal((await s.request('GET', '/readyz', { anonymous: true })).text(), 'ok');
});

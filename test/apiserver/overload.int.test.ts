// Overload protection: past --max-requests-inflight a user's requests get 429 with Retry-After,
// never a 5xx, while the admin (system:masters) and health checks are still served.
import assert from 'node:assert/strict';
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

test('ten times the in-flight limit from one user gets 429s with Retry-After and no 5xx; the admin is still served', async () => {
  const token = await saToken('busy');
  const auth = { authorization: `Bearer ${token}` };
  const requests = Array.from({ length: 30 }, (_, i) =>
    i % 2
      ? s.request('GET', '/api/v1/namespaces/default/configmaps', { anonymous: true, headers: auth })
      : s.request('POST', '/api/v1/namespaces/default/configmaps', { anonymous: true, headers: auth, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'load-' } } }),
  );
  const admin = Array.from({ length: 10 }, () => s.request('GET', '/api/v1/namespaces/default/configmaps'));
  const health = s.request('GET', '/readyz', { anonymous: true });
  const results = await Promise.all(requests);
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

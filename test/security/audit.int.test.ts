// The audit log of a real server: requests with user, verb, resource and response code, in
// upstream's Event shape; never a secret's data or a token, even at RequestResponse level.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'rudder-audit-'));
const policy = join(dir, 'policy.yaml');
const log = join(dir, 'audit.log');
let s: TestServer;

before(async () => {
  writeFileSync(policy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  nonResourceURLs: ["/openapi*", "/api", "/apis", "/version"]\n- level: RequestResponse\n');
  s = await startServer({ extraArgs: ['--audit-policy-file', policy, '--audit-log-path', log] });
});
after(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const events = () => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('the audit log records who did what to which resource and how it ended, without secrets or tokens', async () => {
  await s.k(['create', 'secret', 'generic', 'audited', '--from-literal=password=hunter2-audit-check']);
  await s.k(['create', 'serviceaccount', 'auditor']);
  const tok = await s.k(['create', 'token', 'auditor']);
  assert.ok(tok.trim().length > 100);
  const missing = await s.kubectl(['get', 'configmap', 'nope']);
  assert.notEqual(missing.code, 0);
  await new Promise((r) => setTimeout(r, 300));
  const text = readFileSync(log, 'utf8');
  assert.ok(!text.includes('hunter2-audit-check'), 'no secret value');
  assert.ok(!text.includes(Buffer.from('hunter2-audit-check').toString('base64')), 'no base64 secret value');
  assert.ok(!text.includes(tok.trim()), 'no token');
  const evs = events();
  const create = evs.find((e) => e.stage === 'ResponseComplete' && e.verb === 'create' && e.objectRef?.resource === 'secrets');
  assert.ok(create, 'the secret create is logged');
  assert.equal(create.user.username, 'system:admin');
  assert.ok(create.user.groups.includes('system:masters'));
  assert.equal(create.objectRef.namespace, 'default');
  assert.equal(create.responseStatus.code, 201);
  assert.equal(create.annotations['authorization.k8s.io/decision'], 'allow');
  assert.match(create.userAgent, /^kubectl/);
  assert.ok(evs.some((e) => e.stage === 'RequestReceived' && e.auditID === create.auditID));
  const notFound = evs.find((e) => e.stage === 'ResponseComplete' && e.verb === 'get' && e.objectRef?.name === 'nope');
  assert.equal(notFound.responseStatus.code, 404);
  const token = evs.find((e) => e.stage === 'ResponseComplete' && e.objectRef?.subresource === 'token');
  assert.equal(token.responseObject.status.token, '<redacted>');
  assert.ok(!evs.some((e) => e.requestURI?.startsWith('/openapi')), 'the policy left out OpenAPI fetches');
});

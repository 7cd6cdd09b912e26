import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Auditor, RotatingFile, evaluatePolicy, parsePolicy, redact } from './audit.ts';
import { parseRequestInfo } from './requestinfo.ts';

const info = (method: string, path: string) => parseRequestInfo(method, path, new URLSearchParams());
const alice = { name: 'alice', groups: ['devs', 'system:authenticated'] };

const POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-proxy]
- level: Metadata
  resources: [{group: "", resources: [secrets, configmaps]}]
- level: RequestResponse
  userGroups: [devs]
  verbs: [create, update, patch]
  namespaces: [prod]
- level: None
  nonResourceURLs: [/healthz*, /version]
- level: Request
  resources: [{group: apps}]
- level: Metadata
`;

test('the first matching rule decides the level, by user, group, verb, resource, namespace and URL', () => {
  const p = parsePolicy(POLICY);
  assert.equal(evaluatePolicy(p, { name: 'system:kube-proxy', groups: [] }, info('GET', '/api/v1/pods')).level, 'None');
  assert.equal(evaluatePolicy(p, alice, info('POST', '/api/v1/namespaces/prod/secrets')).level, 'Metadata');
  assert.equal(evaluatePolicy(p, alice, info('POST', '/api/v1/namespaces/prod/pods')).level, 'RequestResponse');
  assert.equal(evaluatePolicy(p, alice, info('GET', '/api/v1/namespaces/prod/pods')).level, 'Metadata');
  assert.equal(evaluatePolicy(p, alice, info('GET', '/healthz/ping')).level, 'None');
  assert.equal(evaluatePolicy(p, alice, info('GET', '/apis/apps/v1/deployments')).level, 'Request');
  assert.deepEqual(evaluatePolicy(p, alice, info('GET', '/apis/apps/v1/deployments')).omitStages, ['RequestReceived']);
});

test('an invalid policy is refused with the field and supported values', () => {
  assert.throws(() => parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n'), /rules\[0\]\.level: Unsupported value: "Everything"/);
  assert.throws(() => parsePolicy('kind: Config\n'), /not an audit\.k8s\.io\/v1 Policy/);
});

test('tokens and secret data are redacted at every level', () => {
  const tr = redact(info('POST', '/api/v1/namespaces/d/serviceaccounts/x/token'), { kind: 'TokenRequest', status: { token: 'eyJhbGciOi.secret', expirationTimestamp: 'x' } }) as any;
  assert.equal(tr.status.token, '<redacted>');
  const rv = redact(info('POST', '/apis/authentication.k8s.io/v1/tokenreviews'), { kind: 'TokenReview', spec: { token: 'abc.def' } }) as any;
  assert.equal(rv.spec.token, '<redacted>');
  const sec = redact(info('POST', '/api/v1/namespaces/d/secrets'), { kind: 'Secret', data: { password: 'aHVudGVyMg==' }, metadata: { name: 's' } }) as any;
  assert.deepEqual(sec.data, { password: '<redacted>' });
  const list = redact(info('GET', '/api/v1/secrets'), { kind: 'SecretList', items: [{ data: { a: 'Yg==' } }] }) as any;
  assert.deepEqual(list.items[0].data, { a: '<redacted>' });
});

test('events have upstream\'s shape and bodies follow the level', () => {
  const lines: string[] = [];
  const a = new Auditor(parsePolicy(POLICY), { write: (l) => lines.push(l) });
  const ctx = a.begin({ info: info('POST', '/api/v1/namespaces/prod/pods'), method: 'POST', url: '/api/v1/namespaces/prod/pods?fieldManager=x', user: alice, sourceIP: '127.0.0.1', userAgent: 'kubectl/v1.33', received: new Date() })!;
  ctx.requestObject = Buffer.from('{"kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"m"}]}}');
  ctx.responseObject = { kind: 'Pod', metadata: { name: 'p', uid: 'u' } };
  ctx.annotations['authorization.k8s.io/decision'] = 'allow';
  ctx.finish(201);
  assert.equal(lines.length, 1, 'RequestReceived is omitted by the policy');
  const ev = JSON.parse(lines[0]!);
  assert.equal(ev.kind, 'Event');
  assert.equal(ev.apiVersion, 'audit.k8s.io/v1');
  assert.equal(ev.stage, 'ResponseComplete');
  assert.equal(ev.level, 'RequestResponse');
  assert.equal(ev.verb, 'create');
  assert.deepEqual(ev.user, { username: 'alice', groups: ['devs', 'system:authenticated'] });
  assert.deepEqual(ev.objectRef, { resource: 'pods', namespace: 'prod', apiVersion: 'v1' });
  assert.equal(ev.responseStatus.code, 201);
  assert.equal(ev.requestObject.metadata.name, 'p');
  assert.equal(ev.responseObject.metadata.uid, 'u');
  assert.match(ev.stageTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.equal(ev.annotations['authorization.k8s.io/decision'], 'allow');
  const m = a.begin({ info: info('GET', '/api/v1/namespaces/prod/secrets/s'), method: 'GET', url: '/x', user: alice, sourceIP: '1.2.3.4', received: new Date() })!;
  m.responseObject = { kind: 'Secret', data: { a: 'b' } };
  m.finish(200);
  const mev = JSON.parse(lines[1]!);
  assert.equal(mev.level, 'Metadata');
  assert.equal(mev.responseObject, undefined, 'no bodies at Metadata level');
});

test('the log rotates by size and keeps maxbackup files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rudder-audit-'));
  try {
    const f = new RotatingFile({ path: join(dir, 'audit.log'), maxSizeMB: 1, maxBackups: 2, maxAgeDays: 0 });
    const line = 'x'.repeat(1023) + '\n';
    for (let i = 0; i < 1024 * 4 + 10; i++) f.write(line);
    f.close();
    const files = readdirSync(dir).sort();
    assert.ok(files.includes('audit.log'));
    const backups = files.filter((x) => /^audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$/.test(x));
    assert.equal(backups.length, 2, files.join(' '));
    assert.ok(readFileSync(join(dir, 'audit.log')).length <= 1024 * 1024);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

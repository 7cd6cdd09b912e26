// Interoperability with the real kubectl (Go's client-go protobuf codec): kubectl 1.33 POSTs
// protobuf bodies for `create configmap|secret|namespace|serviceaccount|deployment` and for
// `auth can-i` / `auth whoami`, and accepts protobuf replies. Against a throwaway HTTP server this
// checks, per command:
//   - decode(kubectl's body) equals kubectl's own Go JSON of the same object (--dry-run=client);
//   - encode(that JSON) is byte-for-byte kubectl's body;
//   - kubectl decodes our protobuf reply of a rich object and prints it back unchanged.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode, encode, protobufContentType } from './codec.ts';
import * as objects from './testdata/objects.ts';

const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';
type Json = Record<string, unknown>;

interface Captured {
  method: string;
  url: string;
  contentType: string;
  accept: string;
  body: Buffer;
}

let server: ReturnType<typeof createServer>;
let port = 0;
let dir = '';
const captured: Captured[] = [];
let reply: { code: number; object: Json } = { code: 201, object: {} };

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url?.startsWith('/version')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ major: '1', minor: '33', gitVersion: 'v1.33.0', platform: 'linux/amd64' }));
      return;
    }
    if (req.method === 'POST') {
      captured.push({
        method: req.method,
        url: req.url ?? '',
        contentType: String(req.headers['content-type']),
        accept: String(req.headers.accept),
        body: Buffer.concat(chunks),
      });
      res.statusCode = reply.code;
      res.setHeader('content-type', protobufContentType);
      res.end(encode(reply.object));
      return;
    }
    res.statusCode = 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
  });
}

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      [`--server=http://127.0.0.1:${port}`, `--cache-dir=${join(dir, 'cache')}`, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: join(dir, 'none') }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rudder-pb-'));
  writeFileSync(join(dir, 'bin.dat'), Buffer.from([0xff, 0xfe, 0x00, 0x62, 0x69, 0x6e]));
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const namespace = {
  kind: 'Namespace',
  apiVersion: 'v1',
  metadata: {
    name: 'team-a',
    uid: '11111111-2222-4333-8444-555555555555',
    resourceVersion: '501',
    creationTimestamp: '2025-01-02T03:04:05Z',
    labels: { 'kubernetes.io/metadata.name': 'team-a' },
  },
  spec: { finalizers: ['kubernetes'] },
  status: {
    phase: 'Terminating',
    conditions: [{ type: 'NamespaceDeletionDiscoveryFailure', status: 'False', lastTransitionTime: '2025-01-02T03:05:00Z', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' }],
  },
};

const serviceAccount = {
  kind: 'ServiceAccount',
  apiVersion: 'v1',
  metadata: { name: 'builder', namespace: 'default', creationTimestamp: '2025-01-02T03:04:05Z', ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'default', uid: 'u', controller: false }] },
  secrets: [{ name: 'builder-token' }],
  imagePullSecrets: [{ name: 'registry' }],
  automountServiceAccountToken: false,
};

const creates: { what: string; args: string[]; path: string; reply: Json }[] = [
  {
    what: 'configmap with literal and binary data',
    args: ['create', 'configmap', 'x', '--from-literal=a=b', '--from-literal=empty=', `--from-file=bin=BIN`],
    path: '/api/v1/namespaces/default/configmaps',
    reply: objects.configMap,
  },
  { what: 'generic secret', args: ['create', 'secret', 'generic', 's', '--from-literal=k=v', '--from-literal=pw=ünï'], path: '/api/v1/namespaces/default/secrets', reply: objects.secret },
  { what: 'namespace', args: ['create', 'namespace', 'team-a'], path: '/api/v1/namespaces', reply: namespace },
  { what: 'serviceaccount', args: ['create', 'serviceaccount', 'builder'], path: '/api/v1/namespaces/default/serviceaccounts', reply: serviceAccount },
  {
    what: 'deployment',
    args: ['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=3', '--port=80', '--', 'nginx', '-g', 'daemon off;'],
    path: '/apis/apps/v1/namespaces/default/deployments',
    reply: objects.deployment,
  },
  { what: 'service', args: ['create', 'service', 'loadbalancer', 'web', '--tcp=80:8080', '--tcp=9090'], path: '/api/v1/namespaces/default/services', reply: objects.service },
  { what: 'job', args: ['create', 'job', 'backup', '--image=busybox:1.36', '--', 'sh', '-c', 'date'], path: '/apis/batch/v1/namespaces/default/jobs', reply: objects.job },
  { what: 'cronjob', args: ['create', 'cronjob', 'backup', '--image=busybox:1.36', '--schedule=*/5 * * * *', '--restart=OnFailure'], path: '/apis/batch/v1/namespaces/default/cronjobs', reply: objects.cronJob },
  {
    what: 'ingress',
    args: ['create', 'ingress', 'web', '--class=nginx', '--rule=foo.example.com/*=web:http,tls=foo-tls', '--default-backend=fallback:80', '--annotation=a=b'],
    path: '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
    reply: objects.ingress,
  },
  { what: 'poddisruptionbudget', args: ['create', 'poddisruptionbudget', 'web', '--selector=app=web', '--min-available=50%'], path: '/apis/policy/v1/namespaces/default/poddisruptionbudgets', reply: objects.podDisruptionBudget },
  { what: 'quota', args: ['create', 'quota', 'compute', '--hard=pods=10,requests.cpu=4,limits.memory=8Gi', '--scopes=BestEffort'], path: '/api/v1/namespaces/default/resourcequotas', reply: objects.resourceQuota },
  { what: 'rolebinding', args: ['create', 'rolebinding', 'read-pods', '--role=pod-reader', '--user=jane', '--serviceaccount=ci:builder'], path: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', reply: objects.roleBinding },
  { what: 'priorityclass', args: ['create', 'priorityclass', 'high', '--value=1000000', '--global-default', '--description=for important pods', '--preemption-policy=Never'], path: '/apis/scheduling.k8s.io/v1/priorityclasses', reply: objects.priorityClass },
];

describe('kubectl 1.33 protobuf bodies', () => {
  for (const c of creates) {
    it(`kubectl create ${c.what}: decoded body equals kubectl's JSON, re-encodes to the same bytes, and our reply prints back`, async () => {
      const args = c.args.map((a) => a.replace('BIN', join(dir, 'bin.dat')));
      // flags go before a `--` that starts the container command
      const withFlags = (...flags: string[]) => {
        const i = args.indexOf('--');
        return i < 0 ? [...args, ...flags] : [...args.slice(0, i), ...flags, ...args.slice(i)];
      };
      const dry = await kubectl(withFlags('--dry-run=client', '-o', 'json'));
      assert.equal(dry.code, 0, dry.stderr);
      const expected = JSON.parse(dry.stdout) as Json;

      captured.length = 0;
      reply = { code: 201, object: c.reply };
      const run = await kubectl(withFlags('-o', 'json', '--show-managed-fields'));
      assert.equal(run.code, 0, run.stderr);
      assert.equal(captured.length, 1);
      const post = captured[0];
      assert.equal(post.url.split('?')[0], c.path);
      assert.equal(post.contentType, protobufContentType);
      assert.match(post.accept, /application\/vnd\.kubernetes\.protobuf/);

      const d = decode(post.body);
      assert.deepEqual(d.object, expected);
      assert.deepEqual(d.unknownFields, []);
      assert.deepEqual(Buffer.from(encode(expected)), post.body);

      assert.deepEqual(JSON.parse(run.stdout), c.reply);
    });
  }

  it('kubectl auth can-i sends a SelfSubjectAccessReview and reads our protobuf answer', async () => {
    captured.length = 0;
    reply = { code: 201, object: { ...objects.selfSubjectAccessReview, status: { allowed: true } } };
    const yes = await kubectl(['auth', 'can-i', 'create', 'deployments.apps', '--subresource=scale', '-n', 'prod']);
    assert.equal(yes.stdout.trim(), 'yes');
    assert.equal(captured[0].url.split('?')[0], '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    const d = decode(captured[0].body);
    assert.equal(d.kind, 'SelfSubjectAccessReview');
    // without discovery kubectl sends the resource as typed
    assert.deepEqual(d.object.spec, { resourceAttributes: { namespace: 'prod', verb: 'create', resource: 'deployments.apps', subresource: 'scale' } });
    assert.deepEqual(d.object.status, { allowed: false });
    assert.deepEqual(Buffer.from(encode(d.object)), captured[0].body);

    reply = { code: 201, object: { ...objects.selfSubjectAccessReview, status: { allowed: false, reason: 'no RBAC policy matched' } } };
    const no = await kubectl(['auth', 'can-i', 'delete', 'nodes']);
    assert.equal(no.code, 1);
    assert.match(no.stdout, /^no - no RBAC policy matched/);
  });

  it('kubectl auth whoami prints the SelfSubjectReview we encode, extra values included', async () => {
    const review = {
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: '2025-01-02T03:04:05Z' },
      status: { userInfo: { username: 'jane', uid: 'u-1', groups: ['dev', 'system:authenticated'], extra: { scopes: ['a', 'b'], empty: [] } } },
    };
    captured.length = 0;
    reply = { code: 201, object: review };
    const run = await kubectl(['auth', 'whoami', '-o', 'json']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), review);
    const d = decode(captured[0].body);
    assert.deepEqual(d.object, { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, status: { userInfo: {} } });
    assert.deepEqual(Buffer.from(encode(d.object)), captured[0].body);
  });

  it('kubectl create token sends a TokenRequest and prints the token from our reply', async () => {
    captured.length = 0;
    reply = { code: 201, object: objects.tokenRequest };
    const run = await kubectl(['create', 'token', 'builder', '--audience=https://kubernetes.default.svc', '--duration=1h', '--bound-object-kind=Pod', '--bound-object-name=web', '--bound-object-uid=p1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), objects.tokenRequest.status.token);
    assert.equal(captured[0].url.split('?')[0], '/api/v1/namespaces/default/serviceaccounts/builder/token');
    const d = decode(captured[0].body);
    assert.deepEqual(d.object.spec, objects.tokenRequest.spec);
    assert.deepEqual(Buffer.from(encode(d.object)), captured[0].body);
  });

  it('kubectl reads a protobuf Status error reply', async () => {
    reply = { code: 409, object: { ...objects.status, message: 'configmaps "x" already exists', details: { name: 'x', kind: 'configmaps' } } };
    const run = await kubectl(['create', 'configmap', 'x', '--from-literal=a=b']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /configmaps "x" already exists/);
  });
});

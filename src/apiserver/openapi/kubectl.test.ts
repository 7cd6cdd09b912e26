// The real kubectl (1.33, 1.32 and 1.27) against a throwaway HTTP server that answers /version,
// legacy discovery and the OpenAPI endpoints: what `kubectl explain` prints, and whether
// `kubectl create` asks for server-side field validation.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RESOURCES, groupVersion, type ResourceDecl } from '../../api/resources.ts';
import { serveOpenAPI } from './index.ts';

const BIN = '/usr/lib/google-cloud-sdk/bin/kubectl.';

let server: http.Server;
let base: string;
let dir: string;
/** When set, /openapi/v3 answers 404, as an old server would. */
let withoutV3 = false;
const requests: { method: string; url: string; accept: string }[] = [];

function discovery(path: string): unknown {
  const byGV = new Map<string, ResourceDecl[]>();
  const groups = new Map<string, string[]>();
  for (const r of RESOURCES) {
    for (const v of r.versions) {
      const k = groupVersion(r.group, v);
      byGV.set(k, [...(byGV.get(k) ?? []), r]);
      if (r.group) {
        const vs = groups.get(r.group) ?? [];
        if (!vs.includes(v)) vs.push(v);
        groups.set(r.group, vs);
      }
    }
  }
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, vs]) => ({
        name,
        versions: vs.map((version) => ({ groupVersion: `${name}/${version}`, version })),
        preferredVersion: { groupVersion: `${name}/${vs[0]}`, version: vs[0] },
      })),
    };
  }
  const gv = /^\/apis?\/(.+)$/.exec(path)?.[1];
  const rs = gv === undefined ? undefined : byGV.get(gv);
  if (!rs) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: rs.map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs ?? ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: r.shortNames,
    })),
  };
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  requests.push({ method: req.method ?? '', url: `${url.pathname}${url.search}`, accept: req.headers.accept ?? '' });
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/version') return json(200, { major: '1', minor: '33', gitVersion: 'v1.33.0' });
  if (url.pathname.startsWith('/openapi/v3') && withoutV3) return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 });
  const o = serveOpenAPI({ path: url.pathname, query: url.search, accept: req.headers.accept, ifNoneMatch: req.headers['if-none-match'] as string | undefined });
  if (o) {
    res.writeHead(o.status, o.headers);
    res.end(o.body);
    return;
  }
  if (req.method === 'POST') {
    // echo the created object back, as a create would
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(Buffer.concat(chunks));
    });
    return;
  }
  const d = discovery(url.pathname);
  if (d) return json(200, d);
  json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 });
}

function kubectl(version: string, ...args: string[]): Promise<string> {
  const cache = mkdtempSync(join(dir, 'cache-'));
  return new Promise((resolve, reject) => {
    execFile(
      BIN + version,
      [`--server=${base}`, `--cache-dir=${cache}`, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: join(dir, 'none') }, timeout: 60_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

/** The field lines of explain's FIELDS section: name and type, as printed. */
function fieldTypes(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const x = /^\s+(\S+)\t<([^>]+)>/.exec(line);
    if (x) m.set(x[1], x[2]);
  }
  return m;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rudder-openapi-kubectl-'));
  server = http.createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubectl explain', () => {
  it('1.33 shows the fields and types of pods.spec.containers from OpenAPI v3', async () => {
    const out = await kubectl('1.33', 'explain', 'pods.spec.containers');
    assert.match(out, /^KIND:\s+Pod\nVERSION:\s+v1\n/);
    assert.match(out, /FIELD: containers <\[\]Container>/);
    const f = fieldTypes(out);
    assert.equal(f.get('name'), 'string');
    assert.equal(f.get('image'), 'string');
    assert.equal(f.get('env'), '[]EnvVar');
    assert.equal(f.get('ports'), '[]ContainerPort');
    assert.equal(f.get('resources'), 'ResourceRequirements');
    assert.equal(f.get('securityContext'), 'SecurityContext');
    assert.match(out, /name\t<string> -required-/);
    assert.match(out, /<no description>/);
    const pod = await kubectl('1.33', 'explain', 'pods');
    assert.match(pod, /DESCRIPTION:\n\s+A group of containers that run together/);
    assert.equal(fieldTypes(pod).get('spec'), 'PodSpec');
    assert.ok(requests.some((r) => r.url.startsWith('/openapi/v3/api/v1?hash=')));
  });

  it('1.32 names int-or-string and quantity fields and shows the group', async () => {
    const out = await kubectl('1.32', 'explain', 'deployments.spec.strategy.rollingUpdate');
    assert.match(out, /^GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n/);
    assert.equal(fieldTypes(out).get('maxSurge'), 'IntOrString');
    const res = await kubectl('1.32', 'explain', 'pods.spec.containers.resources');
    assert.equal(fieldTypes(res).get('limits'), 'map[string]Quantity');
  });

  it('1.33 reads the protobuf v2 document for --output=plaintext-openapiv2', async () => {
    const out = await kubectl('1.33', 'explain', 'statefulsets.spec', '--output=plaintext-openapiv2');
    assert.match(out, /KIND:\s+StatefulSet/);
    const f = fieldTypes(out);
    assert.equal(f.get('replicas'), 'integer');
    assert.equal(f.get('template'), 'Object');
    assert.equal(f.get('volumeClaimTemplates'), '[]Object');
    assert.ok(requests.some((r) => r.url.startsWith('/openapi/v2') && r.accept.includes('com.github.proto-openapi.spec.v2')));
  });
});

describe('kubectl create', () => {
  const manifest = () => {
    const p = join(dir, 'cm.yaml');
    writeFileSync(p, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  a: b\n');
    return p;
  };

  it('1.33 asks for Strict server-side field validation, having found it in OpenAPI v3', async () => {
    requests.length = 0;
    const out = await kubectl('1.33', 'create', '-f', manifest());
    assert.match(out, /configmap\/settings created/);
    const post = requests.find((r) => r.method === 'POST');
    assert.ok(post, 'a POST');
    assert.match(post.url, /^\/api\/v1\/namespaces\/default\/configmaps\?.*fieldValidation=Strict/);
  });

  it('1.27 finds field validation in the protobuf v2 document when the server has no v3', async () => {
    withoutV3 = true;
    try {
      requests.length = 0;
      const out = await kubectl('1.27', 'create', '-f', manifest());
      assert.match(out, /configmap\/settings created/);
      assert.ok(requests.some((r) => r.url.startsWith('/openapi/v2')));
      const post = requests.find((r) => r.method === 'POST');
      assert.ok(post, 'a POST');
      assert.match(post.url, /fieldValidation=Strict/);
    } finally {
      withoutV3 = false;
    }
  });
});

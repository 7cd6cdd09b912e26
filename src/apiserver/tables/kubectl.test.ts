// The real kubectl 1.33 against a throwaway HTTP server that answers with our Tables: what a user
// sees from `kubectl get pods`, `-o wide`, `-A --show-labels` and `-w`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildTable, parseIncludeObject, tableWatchConverter } from './table.ts';

const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

const start = Date.now();
const ago = (seconds: number): string => new Date(start - seconds * 1000).toISOString();
const created = ago(5 * 3600 + 5 * 60 + 20); // "5h5m" for the next minute

type J = Record<string, unknown>;
function pod(name: string, namespace: string, status: J, spec: J = {}, labels: J = { app: name }): J {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, uid: `uid-${name}`, resourceVersion: '10', creationTimestamp: created },
    spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec },
    status,
  };
}

const PODS = [
  pod('web', 'default', {
    phase: 'Running',
    podIPs: [{ ip: '10.244.0.7' }],
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [
      { name: 'app', ready: true, restartCount: 2, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ago(4 * 3600 + 10) } } },
    ],
  }, { nodeName: 'node-1' }),
  pod('crash', 'default', {
    phase: 'Running',
    containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
  }, { nodeName: 'node-1' }),
  pod('setup', 'default', {
    phase: 'Pending',
    initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: { running: {} } }],
    containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
  }, { initContainers: [{ name: 'init', image: 'busybox' }], nodeName: 'node-2' }),
  pod('dns', 'kube-system', { phase: 'Pending' }, {}, { 'k8s-app': 'kube-dns' }),
];

const requests: { path: string; accept: string }[] = [];
let server: http.Server;
let home: string;

function resourceList(): J {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: 'v1',
    resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'watch'], shortNames: ['po'], categories: ['all'] }],
  };
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const accept = req.headers.accept ?? '';
  requests.push({ path: `${url.pathname}${url.search}`, accept });
  const send = (body: unknown, contentType = 'application/json'): void => {
    res.writeHead(200, { 'content-type': contentType });
    res.end(JSON.stringify(body));
  };
  switch (url.pathname) {
    case '/version':
      return send({ major: '1', minor: '33', gitVersion: 'v1.33.0' });
    case '/api':
      return send({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    case '/apis':
      return send({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    case '/api/v1':
      return send(resourceList());
  }
  const m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods$/.exec(url.pathname);
  if (!m || !accept.includes('as=Table')) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
    return;
  }
  const namespace = m[1];
  const items = PODS.filter((p) => !namespace || (p.metadata as J).namespace === namespace);
  const includeObject = parseIncludeObject(url.searchParams.get('includeObject'));
  if (url.searchParams.get('watch') === 'true') {
    res.writeHead(200, { 'content-type': TABLE });
    const convert = tableWatchConverter('', 'pods', { includeObject });
    const added = pod('late', 'default', { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] });
    const deleting = structuredClone(PODS[0]!);
    (deleting.metadata as J).deletionTimestamp = new Date().toISOString();
    res.write(JSON.stringify(convert({ type: 'ADDED', object: added })) + '\n');
    res.end(JSON.stringify(convert({ type: 'MODIFIED', object: deleting })) + '\n');
    return;
  }
  send(buildTable('', 'pods', items, { includeObject, listMeta: { resourceVersion: '42' } }), TABLE);
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'rudder-kubectl-'));
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(() => {
  server.close();
  rmSync(home, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<string> {
  const port = (server.address() as AddressInfo).port;
  const env = { PATH: process.env.PATH ?? '', HOME: home, KUBECONFIG: join(home, 'no-config') };
  return new Promise((resolve, reject) => {
    execFile(KUBECTL, [`--server=http://127.0.0.1:${port}`, `--cache-dir=${join(home, 'cache')}`, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Output lines split into columns: kubectl pads columns with at least three spaces. */
function columns(out: string): string[][] {
  return out
    .trimEnd()
    .split('\n')
    .map((line) => line.trimEnd().split(/ {3,}/));
}

test('kubectl get pods prints the server table: header, status, restarts with their age, and age', async () => {
  const rows = columns(await kubectl('get', 'pods'));
  assert.deepEqual(rows, [
    ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
    ['web', '1/1', 'Running', '2 (4h ago)', '5h5m'],
    ['crash', '0/1', 'CrashLoopBackOff', '0', '5h5m'],
    ['setup', '0/1', 'Init:0/1', '0', '5h5m'],
  ]);
  const list = requests.find((r) => r.path.startsWith('/api/v1/namespaces/default/pods'));
  assert.ok(list, 'kubectl listed pods in the default namespace');
  assert.ok(list.accept.startsWith(TABLE), list.accept);
  assert.ok(!list.path.includes('includeObject'), 'kubectl leaves includeObject to the default, Metadata');
});

test('kubectl get pods -o wide adds the priority-1 columns', async () => {
  const rows = columns(await kubectl('get', 'pods', '-o', 'wide'));
  assert.deepEqual(rows, [
    ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
    ['web', '1/1', 'Running', '2 (4h ago)', '5h5m', '10.244.0.7', 'node-1', '<none>', '<none>'],
    ['crash', '0/1', 'CrashLoopBackOff', '0', '5h5m', '<none>', 'node-1', '<none>', '<none>'],
    ['setup', '0/1', 'Init:0/1', '0', '5h5m', '<none>', 'node-2', '<none>', '<none>'],
  ]);
});

test("kubectl get pods -A --show-labels reads namespaces and labels from each row's object metadata", async () => {
  const rows = columns(await kubectl('get', 'pods', '-A', '--show-labels'));
  assert.deepEqual(rows[0], ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'LABELS']);
  assert.deepEqual(rows.slice(1).map((r) => [r[0], r[1], r[6]]), [
    ['default', 'web', 'app=web'],
    ['default', 'crash', 'app=crash'],
    ['default', 'setup', 'app=setup'],
    ['kube-system', 'dns', 'k8s-app=kube-dns'],
  ]);
});

test('kubectl get pods -w prints the list, then each watch event as a row under the same header', async () => {
  const rows = columns(await kubectl('get', 'pods', '-w', '--output-watch-events'));
  assert.deepEqual(rows[0], ['EVENT', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  assert.deepEqual(rows.slice(1).map((r) => r.slice(0, 4)), [
    ['ADDED', 'web', '1/1', 'Running'],
    ['ADDED', 'crash', '0/1', 'CrashLoopBackOff'],
    ['ADDED', 'setup', '0/1', 'Init:0/1'],
    ['ADDED', 'late', '0/1', 'ContainerCreating'],
    ['MODIFIED', 'web', '1/1', 'Terminating'],
  ]);
  const watch = requests.find((r) => r.path.includes('watch=true'));
  assert.ok(watch && watch.path.includes('resourceVersion=42'), 'kubectl watches from the list resourceVersion');
});

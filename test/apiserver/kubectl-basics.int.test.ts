// The real kubectl against a real `rudder server`, on the embedded store and on etcd.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEtcd, type EtcdCluster } from '../../src/storage/etcd/testing.ts';
import { eventually, startServer, type TestServer } from '../harness.ts';

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: example-server
  labels: {app: example-server, version: v1, role: backend}
spec:
  containers:
  - name: nginx
    image: nginx
    ports:
    - containerPort: 80
`;

function cm(name: string, labels: Record<string, string>, data: Record<string, string> = {}) {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data });
}

for (const backend of ['sqlite', 'etcd'] as const) {
  describe(`kubectl basics on ${backend}`, () => {
    let s: TestServer;
    let etcd: EtcdCluster | undefined;
    before(async () => {
      if (backend === 'etcd') etcd = await startEtcd();
      s = await startServer(etcd ? { datastoreEndpoint: etcd.endpoints.join(',') } : {});
    });
    after(async () => {
      await s?.stop();
      await etcd?.stop();
    });

    test('kubectl version reports the server as Kubernetes 1.33', async () => {
      const out = await s.k(['version']);
      assert.match(out, /Server Version: v1\.33\.\d+/);
    });

    test('kubectl get namespaces shows the four built-in namespaces as Active', async () => {
      const out = await s.k(['get', 'namespaces']);
      const lines = out.trim().split('\n');
      assert.match(lines[0]!, /^NAME\s+STATUS\s+AGE$/);
      for (const ns of ['default', 'kube-node-lease', 'kube-public', 'kube-system']) {
        assert.ok(lines.some((l) => new RegExp(`^${ns}\\s+Active\\s+\\d+s$`).test(l)), `${ns} in\n${out}`);
      }
    });

    test('the kubernetes Service points at the advertise address', async () => {
      const svc = JSON.parse(await s.k(['get', 'service', 'kubernetes', '-o', 'json']));
      assert.equal(svc.spec.clusterIP, '10.43.0.1');
      assert.equal(svc.spec.ports[0].port, 443);
      const ep = JSON.parse(await s.k(['get', 'endpoints', 'kubernetes', '-o', 'json']));
      assert.deepEqual(ep.subsets[0].addresses, [{ ip: '127.0.0.1' }]);
      assert.equal(ep.subsets[0].ports[0].port, s.port);
    });

    test('kubectl api-resources lists core and group resources with short names', async () => {
      const out = await s.k(['api-resources']);
      assert.match(out, /^pods\s+po\s+v1\s+true\s+Pod$/m);
      assert.match(out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
      assert.match(out, /^ingresses\s+ing\s+networking\.k8s\.io\/v1\s+true\s+Ingress$/m);
    });

    test('create -f a pod, then get it as a table, wide, yaml, json and jsonpath', async () => {
      const created = await s.k(['create', '-f', '-'], { input: POD });
      assert.equal(created.trim(), 'pod/example-server created');
      const table = await s.k(['get', 'pods']);
      assert.match(table, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
      assert.match(table, /^example-server\s+0\/1\s+Pending\s+0\s+\d+s$/m);
      const wide = await s.k(['get', 'pods', '-o', 'wide']);
      assert.match(wide, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n/);
      const yaml = await s.k(['get', 'pod', 'example-server', '-o', 'yaml']);
      assert.match(yaml, /^kind: Pod$/m);
      assert.match(yaml, /uid: [0-9a-f-]{36}/);
      const json = JSON.parse(await s.k(['get', 'pod', 'example-server', '-o', 'json']));
      assert.equal(json.metadata.labels.role, 'backend');
      assert.equal(json.status.phase, 'Pending');
      assert.match(json.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const jp = await s.k(['get', 'pod', 'example-server', '-o', 'jsonpath={.spec.containers[0].image}']);
      assert.equal(jp, 'nginx');
      await s.k(['delete', 'pod', 'example-server']);
    });

    test('get -l with equality and set-based selectors, --field-selector and -A', async () => {
      await s.k(['create', 'namespace', 'sel']).catch(async () => {
        // protobuf create may not be available on every path; fall back to a manifest
        await s.k(['create', '-f', '-'], { input: '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"sel"}}' });
      });
      for (const [n, l] of [['a', { tier: 'web', env: 'prod' }], ['b', { tier: 'db', env: 'prod' }], ['c', { tier: 'web', env: 'dev' }]] as const) {
        await s.k(['create', '-n', 'sel', '-f', '-'], { input: cm(n, l) });
      }
      const names = async (args: string[]) => (await s.k(['get', 'cm', '-n', 'sel', '-o', 'name', ...args])).trim().split('\n').filter(Boolean).sort();
      assert.deepEqual(await names(['-l', 'tier=web']), ['configmap/a', 'configmap/c']);
      assert.deepEqual(await names(['-l', 'tier in (web,db),env!=dev']), ['configmap/a', 'configmap/b']);
      assert.deepEqual(await names(['-l', 'tier,!env']), []);
      assert.ok((await names(['-l', '!env'])).includes('configmap/kube-root-ca.crt'), 'the published root CA has no env label');
      assert.deepEqual(await names(['--field-selector', 'metadata.name=b']), ['configmap/b']);
      const all = await s.k(['get', 'cm', '-A', '-l', 'env=prod']);
      assert.match(all, /^NAMESPACE\s+NAME\s+DATA\s+AGE\n/);
      assert.match(all, /^sel\s+a\s+0\s+/m);
      const bad = await s.kubectl(['get', 'pods', '--field-selector', 'spec.unknown=x']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /field label not supported: spec\.unknown/);
    });

    test('paginated lists follow continue tokens', async () => {
      for (let i = 0; i < 12; i++) await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm(`page-${String(i).padStart(2, '0')}`, { page: 'yes' }) });
      const seen: string[] = [];
      let cont = '';
      let pages = 0;
      let rv = '';
      do {
        const r = await s.request('GET', `/api/v1/namespaces/default/configmaps?labelSelector=page%3Dyes&limit=5${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
        assert.equal(r.status, 200);
        const l = r.json();
        if (!rv) rv = l.metadata.resourceVersion;
        else assert.equal(l.metadata.resourceVersion, rv, 'every page is read at the first page\'s revision');
        seen.push(...l.items.map((i: any) => i.metadata.name));
        cont = l.metadata.continue ?? '';
        pages++;
        // a write between pages does not show up in the paginated list
        if (pages === 1) await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('page-05a', { page: 'yes' }) });
      } while (cont);
      assert.equal(pages, 3);
      assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
      // kubectl pages with limit=500 and --chunk-size
      const out = await s.k(['get', 'cm', '-l', 'page=yes', '--chunk-size', '4', '-o', 'name']);
      assert.equal(out.trim().split('\n').length, 13);
    });

    test('replace with a stale resourceVersion is a 409 with upstream\'s message', async () => {
      await s.k(['create', '-f', '-'], { input: cm('stale', {}, { a: '1' }) });
      const obj = JSON.parse(await s.k(['get', 'cm', 'stale', '-o', 'json']));
      const r = await s.request('PUT', '/api/v1/namespaces/default/configmaps/stale', { body: { ...obj, data: { a: '2' } } });
      assert.equal(r.status, 200);
      const res = await s.kubectl(['replace', '-f', '-'], { input: JSON.stringify({ ...obj, data: { a: '3' } }) });
      assert.notEqual(res.code, 0);
      assert.match(
        res.stderr,
        /Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again/,
      );
      const now = JSON.parse(await s.k(['get', 'cm', 'stale', '-o', 'json']));
      assert.deepEqual(now.data, { a: '2' });
    });

    test('get -w streams changes until the watch ends', async () => {
      await s.k(['create', '-f', '-'], { input: cm('watched', { w: 'yes' }) });
      const watch = s.kubectl(['get', 'cm', '-l', 'w=yes', '-w', '--request-timeout', '4s', '-o', 'name'], { timeoutMs: 15_000 });
      await new Promise((r) => setTimeout(r, 1000));
      await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm('watched-2', { w: 'yes' }) });
      const r = await watch;
      assert.match(r.stdout, /configmap\/watched\n/);
      assert.match(r.stdout, /configmap\/watched-2/);
    });

    test('create --dry-run=server validates and persists nothing', async () => {
      const out = await s.k(['create', '-f', '-', '--dry-run=server', '-o', 'json'], { input: cm('dry', {}) });
      const o = JSON.parse(out);
      assert.equal(o.metadata.name, 'dry');
      assert.ok(o.metadata.uid);
      const g = await s.kubectl(['get', 'cm', 'dry']);
      assert.notEqual(g.code, 0);
      assert.match(g.stderr, /configmaps "dry" not found/);
    });

    test('auth can-i answers with the authorizer in force (everything allowed before RBAC)', async () => {
      assert.equal((await s.k(['auth', 'can-i', 'create', 'pods'])).trim(), 'yes');
    });

    test('delete removes an object and a second delete is NotFound', async () => {
      await s.k(['create', '-f', '-'], { input: cm('gone', {}) });
      assert.equal((await s.k(['delete', 'cm', 'gone'])).trim(), 'configmap "gone" deleted');
      const r = await s.kubectl(['delete', 'cm', 'gone']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Error from server \(NotFound\): configmaps "gone" not found/);
    });

    test('anonymous requests are refused except health and version', async () => {
      assert.equal((await s.request('GET', '/version', { anonymous: true })).status, 200);
      assert.equal((await s.request('GET', '/readyz', { anonymous: true })).text(), 'ok');
      const r = await s.request('GET', '/api/v1/pods', { anonymous: true });
      assert.equal(r.status, 401);
      assert.equal(r.json().reason, 'Unauthorized');
    });

    test('a watch from a resourceVersion replays later events in order', async () => {
      const base = (await s.request('GET', '/api/v1/namespaces/default/configmaps?limit=1')).json().metadata.resourceVersion;
      for (const n of ['r1', 'r2', 'r3']) await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: cm(n, { replay: 'yes' }) });
      await s.request('DELETE', '/api/v1/namespaces/default/configmaps/r2');
      const r = await s.request('GET', `/api/v1/namespaces/default/configmaps?watch=true&labelSelector=replay%3Dyes&resourceVersion=${base}&timeoutSeconds=1`);
      const events = r.text().trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED r1', 'ADDED r2', 'ADDED r3', 'DELETED r2']);
      const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
      assert.deepEqual([...rvs].sort((a, b) => a - b), rvs);
    });

    test('watch bookmarks and the end of initial events', async () => {
      const r = await s.request('GET', '/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=replay%3Dyes&timeoutSeconds=1');
      const events = r.text().trim().split('\n').map((l) => JSON.parse(l));
      const last = events[events.length - 1];
      assert.equal(last.type, 'BOOKMARK');
      assert.equal(last.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
      assert.deepEqual(events.slice(0, -1).map((e) => e.object.metadata.name).sort(), ['r1', 'r3']);
    });

    test('generateName makes a unique name', async () => {
      const r = await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } } });
      assert.equal(r.status, 201);
      assert.match(r.json().metadata.name, /^gen-[a-z0-9]{5}$/);
    });

    test('creating in a namespace that does not exist is NotFound', async () => {
      const r = await s.kubectl(['create', '-n', 'nope', '-f', '-'], { input: cm('x', {}) });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /namespaces "nope" not found/);
    });

    test('finalizers hold a deleted object until they are removed', async () => {
      await s.k(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['example.com/hold'] } }) });
      const del = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/held');
      assert.equal(del.status, 200);
      const held = (await s.request('GET', '/api/v1/namespaces/default/configmaps/held')).json();
      assert.ok(held.metadata.deletionTimestamp, 'marked for deletion');
      const put = await s.request('PUT', '/api/v1/namespaces/default/configmaps/held', { body: { ...held, metadata: { ...held.metadata, finalizers: [] } } });
      assert.equal(put.status, 200);
      await eventually(async () => (await s.request('GET', '/api/v1/namespaces/default/configmaps/held')).status === 404, 5000, 'object gone');
    });
  });
}

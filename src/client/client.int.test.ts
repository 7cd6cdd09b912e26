// The client library against a real `rudder server`: typed client over HTTPS, informers, leader
// election between two electors, and the event recorder.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StatusError } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import { eventually, startServer, type TestServer } from '../../test/harness.ts';
import { Client } from './client.ts';
import { EventBroadcaster, type CoreEvent } from './events.ts';
import { FaultyTransport } from './fake-transport.ts';
import { HttpsTransport, httpsTransportFromKubeconfig, loadKubeconfig } from './https.ts';
import { SharedInformer, SharedInformerFactory } from './informer.ts';
import { LeaderElector, LeaseLock, type Lease } from './leaderelection.ts';

const quiet = () => {};

function cm(name: string, data: Record<string, string> = {}, labels?: Record<string, string>): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data };
}

function deployment(name: string, replicas = 1): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  };
}

async function rejects(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StatusError, `expected a StatusError, got ${e}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

describe('client library against a real server', () => {
  let s: TestServer;
  let transport: HttpsTransport;
  let client: Client;
  const extra: { close(): Promise<void> }[] = [];

  before(async () => {
    // the client's semantics alone: no controllers acting on the objects these tests write
    s = await startServer({ extraArgs: ['--disable-controller-manager'] });
    const t = httpsTransportFromKubeconfig(s.kubeconfig);
    transport = t.transport;
    client = new Client(transport, { namespace: t.namespace });
    await client.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ci' } });
    for (const ns of ['ci', 'default']) {
      await client.resource('', 'serviceaccounts').namespace(ns).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    }
  });
  after(async () => {
    for (const t of extra) await t.close();
    await transport?.close();
    await s?.stop();
  });

  describe('typed client', () => {
    test('create, get, update and delete, with the server errors as StatusErrors', async () => {
      const cms = client.resource('', 'configmaps').namespace('ci');
      const created = await cms.create(cm('one', { a: '1' }));
      assert.equal(created.metadata.namespace, 'ci');
      assert.ok(created.metadata.uid);
      const got = await cms.get('one');
      assert.deepEqual(got.data, { a: '1' });
      const dup = await rejects(cms.create(cm('one')));
      assert.equal(dup.code, 409);
      assert.equal(dup.reason, 'AlreadyExists');
      assert.equal(dup.message, 'configmaps "one" already exists');
      const updated = await cms.update({ ...got, data: { a: '2' } });
      assert.notEqual(updated.metadata.resourceVersion, got.metadata.resourceVersion);
      const stale = await rejects(cms.update({ ...got, data: { a: '3' } }));
      assert.equal(stale.code, 409);
      assert.equal(stale.reason, 'Conflict');
      assert.match(stale.message, /^Operation cannot be fulfilled on configmaps "one": the object has been modified/);
      await cms.delete('one');
      const gone = await rejects(cms.get('one'));
      assert.equal(gone.code, 404);
      assert.equal(gone.reason, 'NotFound');
      assert.equal(gone.message, 'configmaps "one" not found');
      assert.equal(gone.status.details?.name, 'one');
    });

    test('objects without a namespace in a namespaced call go to the client namespace', async () => {
      const created = await client.resource('', 'configmaps').create(cm('in-default'));
      assert.equal(created.metadata.namespace, 'default');
      await client.resource('', 'configmaps').namespace('default').delete('in-default');
    });

    test('every patch type, and server-side apply with a field manager', async () => {
      const cms = client.resource('', 'configmaps').namespace('ci');
      await cms.create(cm('p', { a: '1' }));
      let o = await cms.patch('p', 'merge', { data: { b: '2' } });
      assert.deepEqual(o.data, { a: '1', b: '2' });
      o = await cms.patch('p', 'json', [{ op: 'remove', path: '/data/a' }]);
      assert.deepEqual(o.data, { b: '2' });
      o = await cms.patch('p', 'strategic', { data: { c: '3' } });
      assert.deepEqual(o.data, { b: '2', c: '3' });
      o = await cms.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p', namespace: 'ci' }, data: { b: 'applied' } }, { fieldManager: 'tester', force: true });
      assert.equal((o.data as Record<string, string>).b, 'applied');
      assert.ok(o.metadata.managedFields?.some((m) => m.manager === 'tester' && m.operation === 'Apply'));
      await assert.rejects(cms.patch('p', 'apply', {}), /fieldManager is required/);
      const bad = await rejects(cms.patch('p', 'json', [{ op: 'test', path: '/data/b', value: 'nope' }]));
      assert.ok(bad.code === 422 || bad.code === 500 || bad.code === 409, `json patch test failure answered ${bad.code}`);
    });

    test('dry run writes nothing', async () => {
      const cms = client.resource('', 'configmaps').namespace('ci');
      const o = await cms.create(cm('dry'), { dryRun: true });
      assert.equal(o.metadata.name, 'dry');
      assert.equal((await rejects(cms.get('dry'))).code, 404);
    });

    test('list with selectors and pages; listAll follows continue tokens', async () => {
      const cms = client.resource('', 'configmaps').namespace('ci');
      for (let i = 0; i < 5; i++) await cms.create(cm(`page-${i}`, {}, { group: 'paged', parity: String(i % 2) }));
      const odd = await cms.list({ labelSelector: 'group=paged,parity=1' });
      assert.deepEqual(odd.items.map((o) => o.metadata.name), ['page-1', 'page-3']);
      const first = await cms.list({ labelSelector: 'group=paged', limit: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.metadata.continue);
      const second = await cms.list({ labelSelector: 'group=paged', limit: 2, continue: first.metadata.continue });
      assert.deepEqual(second.items.map((o) => o.metadata.name), ['page-2', 'page-3']);
      const all = await cms.listAll({ labelSelector: 'group=paged', pageSize: 2 });
      assert.deepEqual(all.items.map((o) => o.metadata.name), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
      assert.ok(Number(all.resourceVersion) > 0);
      const byName = await client.resource('', 'configmaps').list({ fieldSelector: 'metadata.name=page-4' });
      assert.deepEqual(byName.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['ci/page-4']);
    });

    test('delete preconditions and deleteCollection', async () => {
      const cms = client.resource('', 'configmaps').namespace('ci');
      const o = await cms.create(cm('pre'));
      const wrong = await rejects(cms.delete('pre', { preconditions: { uid: 'not-the-uid' } }));
      assert.equal(wrong.code, 409);
      await cms.delete('pre', { preconditions: { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion } });
      await cms.create(cm('coll-a', {}, { coll: 'yes' }));
      await cms.create(cm('coll-b', {}, { coll: 'yes' }));
      await cms.create(cm('coll-keep', {}, { coll: 'no' }));
      await cms.deleteCollection({ labelSelector: 'coll=yes' });
      const left = await cms.list({ labelSelector: 'coll' });
      assert.deepEqual(left.items.map((x) => x.metadata.name), ['coll-keep']);
    });

    test('status and scale subresources', async () => {
      const deps = client.resource('apps', 'deployments').namespace('ci');
      const d = await deps.create(deployment('web', 2));
      const withStatus = await deps.updateStatus({ ...d, status: { replicas: 2, observedGeneration: 1 } });
      assert.equal((withStatus.status as { replicas: number }).replicas, 2);
      const scale = await deps.getScale('web');
      assert.equal(scale.kind, 'Scale');
      assert.equal(scale.spec?.replicas, 2);
      const scaled = await deps.updateScale('web', { ...scale, spec: { replicas: 5 } });
      assert.equal(scaled.spec?.replicas, 5);
      assert.equal(((await deps.get('web')).spec as { replicas: number }).replicas, 5);
      await assert.rejects(client.resource('', 'configmaps').namespace('ci').getScale('x'), /no scale subresource/);
    });

    test('cluster-scoped resources', async () => {
      const nss = client.resource('', 'namespaces');
      const ns = await nss.get('ci');
      assert.equal(ns.metadata.namespace, undefined);
      assert.throws(() => nss.namespace('x'), /not namespaced/);
      const list = await nss.list();
      assert.ok(list.items.some((n) => n.metadata.name === 'kube-system'));
    });

    test('a client without credentials gets 401 Unauthorized', async () => {
      const anon = new HttpsTransport({ server: s.url, ca: s.creds.ca });
      extra.push(anon);
      const e = await rejects(new Client(anon).resource('', 'configmaps').list());
      assert.equal(e.code, 401);
      assert.equal(e.reason, 'Unauthorized');
    });

    test('a kubeconfig with file references relative to it, and its context namespace', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rudder-kc-'));
      try {
        writeFileSync(join(dir, 'ca.crt'), s.creds.ca);
        writeFileSync(join(dir, 'admin.crt'), s.creds.cert);
        writeFileSync(join(dir, 'admin.key'), s.creds.key);
        const kc = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "${s.url}", certificate-authority: ca.crt}
users:
- name: u
  user: {client-certificate: admin.crt, client-key: admin.key}
contexts:
- name: other
  context: {cluster: c, user: u, namespace: nowhere}
- name: main
  context: {cluster: c, user: u, namespace: ci}
current-context: main
`;
        writeFileSync(join(dir, 'config'), kc);
        const sel = loadKubeconfig(join(dir, 'config'));
        assert.equal(sel.namespace, 'ci');
        assert.equal(loadKubeconfig(join(dir, 'config'), 'other').namespace, 'nowhere');
        assert.throws(() => loadKubeconfig(join(dir, 'config'), 'missing'), /context "missing" not found/);
        const { transport: t, namespace } = httpsTransportFromKubeconfig(join(dir, 'config'));
        extra.push(t);
        const c = new Client(t, { namespace });
        const o = await c.resource('', 'configmaps').create(cm('via-files'));
        assert.equal(o.metadata.namespace, 'ci');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a watch streams events and a refused watch reports the Status', async () => {
      const cms = client.resource('', 'configmaps').namespace('ci');
      const start = await cms.create(cm('w'));
      const seen: string[] = [];
      const h = cms.watch({ resourceVersion: start.metadata.resourceVersion, fieldSelector: 'metadata.name=w' }, { onEvent: (e) => seen.push(`${e.type} ${e.object.metadata.name}`), onClose: quiet });
      await cms.patch('w', 'merge', { data: { x: '1' } });
      await cms.delete('w');
      await eventually(() => seen.length === 2, 5000, 'two events');
      assert.deepEqual(seen, ['MODIFIED w', 'DELETED w']);
      h.close();
      const refused = await new Promise<Error | undefined>((resolve) => client.resource('', 'configmaps').watch({ fieldSelector: 'no.such.field=1' }, { onEvent: quiet, onClose: resolve }));
      assert.ok(refused instanceof StatusError);
      assert.equal(refused.code, 400);
    });
  });

  describe('informers', () => {
    test('list then watch: the cache follows the server and handlers hear every change in order', async () => {
      const cms = client.resource('', 'configmaps').namespace('ci');
      await cms.create(cm('inf-pre', {}, { inf: 'a' }));
      const informer = new SharedInformer(client.resource('', 'configmaps'), { labelSelector: 'inf', log: quiet, pageSize: 1 });
      const seen: string[] = [];
      informer.addEventHandler({
        onAdd: (o, initial) => seen.push(`add ${o.metadata.name}${initial ? ' initial' : ''}`),
        onUpdate: (a, b) => seen.push(`update ${b.metadata.name} ${(a.data as Record<string, string>)?.v ?? '-'}->${(b.data as Record<string, string>)?.v}`),
        onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
      });
      informer.start();
      try {
        assert.equal(await informer.waitForSync(), true);
        assert.deepEqual(seen, ['add inf-pre initial']);
        const cached = informer.lister().namespace('ci').get('inf-pre')!;
        assert.equal(cached.kind, 'ConfigMap');
        assert.ok(Object.isFrozen(cached) && Object.isFrozen(cached.metadata), 'cached objects are frozen');
        await cms.create(cm('inf-new', { v: '1' }, { inf: 'b' }));
        await cms.patch('inf-new', 'merge', { data: { v: '2' } });
        await s.k(['delete', 'configmap', '-n', 'ci', 'inf-pre']);
        await eventually(() => seen.length === 4, 5000, 'events');
        assert.deepEqual(seen, ['add inf-pre initial', 'add inf-new', 'update inf-new 1->2', 'delete inf-pre']);
        assert.deepEqual(informer.lister().list('inf=b').map((o) => o.metadata.name), ['inf-new']);
      } finally {
        informer.stop();
      }
    });

    test('a watch broken mid-stream resumes from the last resourceVersion and loses nothing', async () => {
      const faulty = new FaultyTransport(transport);
      const c = new Client(faulty);
      const informer = new SharedInformer(c.resource('', 'configmaps').namespace('ci'), { labelSelector: 'resume', log: quiet, backoffInitialMs: 50, random: () => 0 });
      const seen: string[] = [];
      informer.addEventHandler({
        onAdd: (o) => seen.push(`add ${o.metadata.name}`),
        onUpdate: (_a, b) => seen.push(`update ${b.metadata.name}`),
        onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
      });
      informer.start();
      try {
        await informer.waitForSync();
        await eventually(() => faulty.watchCount() === 1, 5000, 'watch open');
        const cms = client.resource('', 'configmaps').namespace('ci');
        await cms.create(cm('r1', {}, { resume: 'y' }));
        await eventually(() => seen.length === 1, 5000, 'r1');
        const lastRV = informer.lastSyncResourceVersion();
        // The connection breaks and stays down while others write.
        faulty.down = true;
        faulty.breakWatches();
        await cms.create(cm('r2', {}, { resume: 'y' }));
        await cms.patch('r1', 'merge', { data: { changed: 'yes' } });
        await cms.create(cm('r3', {}, { resume: 'y' }));
        await cms.delete('r3');
        await new Promise((r) => setTimeout(r, 200));
        faulty.down = false;
        await eventually(() => seen.length === 5, 10_000, 'the events written during the break');
        assert.deepEqual(seen, ['add r1', 'add r2', 'update r1', 'add r3', 'delete r3']);
        assert.equal(informer.stats.lists, 1, 'resumed, not relisted');
        const watches = faulty.requests.filter((r) => r.query?.watch === 'true');
        assert.ok(watches.some((w) => w.query?.resourceVersion === lastRV), 'a watch resumed from the last resourceVersion seen');
        assert.deepEqual(informer.lister().namespace('ci').list().map((o) => o.metadata.name).sort(), ['r1', 'r2']);
      } finally {
        informer.stop();
      }
    });

    test('a factory shares one informer per resource between controllers', async () => {
      const factory = new SharedInformerFactory(client, { log: quiet, namespace: 'ci' });
      const a = factory.informerFor('apps', 'deployments');
      const b = factory.informerFor('apps', 'deployments');
      assert.equal(a, b);
      factory.start();
      try {
        assert.equal(await factory.waitForCacheSync(), true);
        assert.deepEqual(a.lister().namespace('ci').list().map((d) => d.metadata.name), ['web']);
      } finally {
        factory.shutdown();
      }
    });
  });

  describe('leader election', () => {
    const fast = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 250 };

    function candidate(id: string, name: string) {
      const conn = new FaultyTransport(transport);
      const log: string[] = [];
      const stop = new AbortController();
      let leadingSince = 0;
      const elector = new LeaderElector({
        ...fast,
        lock: new LeaseLock(new Client(conn), { namespace: 'kube-system', name, identity: id }),
        log: quiet,
        callbacks: {
          onStartedLeading: () => {
            leadingSince = Date.now();
            log.push('started');
          },
          onStoppedLeading: () => log.push('stopped'),
          onNewLeader: (who) => log.push(`leader=${who}`),
        },
      });
      const done = elector.run(stop.signal);
      return { id, conn, log, stop, elector, done, since: () => leadingSince };
    }

    test('one of two electors leads; when it stops renewing, the other takes over after the lease duration', async () => {
      const a = candidate('server-a', 'demo-controller');
      await eventually(() => a.elector.isLeader(), 5000, 'a leads');
      const b = candidate('server-b', 'demo-controller');
      try {
        await eventually(() => b.elector.getLeader() === 'server-a', 5000, 'b sees a');
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(b.elector.isLeader(), false);
        const lease = (await client.resource<Lease>('coordination.k8s.io', 'leases').namespace('kube-system').get('demo-controller')).spec!;
        assert.equal(lease.holderIdentity, 'server-a');
        assert.equal(lease.leaseDurationSeconds, 2);
        // a loses the API server: it can no longer renew
        a.conn.down = true;
        const cut = Date.now();
        await eventually(() => b.elector.isLeader(), 10_000, 'b takes over');
        const waited = b.since() - cut;
        assert.ok(waited >= 2000 - 300, `b waited for the lease to expire (${waited} ms)`);
        assert.ok(a.log.includes('stopped'), 'a stopped leading when it could not renew');
        const after = (await client.resource<Lease>('coordination.k8s.io', 'leases').namespace('kube-system').get('demo-controller')).spec!;
        assert.equal(after.holderIdentity, 'server-b');
        assert.equal(after.leaseTransitions, 1);
        const out = await s.k(['get', 'lease', '-n', 'kube-system', 'demo-controller', '-o', 'jsonpath={.spec.holderIdentity}']);
        assert.equal(out, 'server-b');
      } finally {
        a.stop.abort();
        b.stop.abort();
        await Promise.all([a.done, b.done]);
      }
    });

    test('a leader that stops gracefully releases the lease and the other takes over at once', async () => {
      const a = candidate('server-a', 'demo-release');
      await eventually(() => a.elector.isLeader(), 5000, 'a leads');
      const b = candidate('server-b', 'demo-release');
      try {
        await eventually(() => b.elector.getLeader() === 'server-a', 5000, 'b sees a');
        const stopped = Date.now();
        a.stop.abort();
        await a.done;
        const released = (await client.resource<Lease>('coordination.k8s.io', 'leases').namespace('kube-system').get('demo-release')).spec!;
        assert.ok(released.holderIdentity === '' || released.holderIdentity === 'server-b' || released.holderIdentity === undefined);
        await eventually(() => b.elector.isLeader(), 5000, 'b takes over');
        assert.ok(b.since() - stopped < 2000, `b took over ${b.since() - stopped} ms after the release, before the lease could expire`);
      } finally {
        b.stop.abort();
        await b.done;
      }
    });
  });

  describe('event recorder', () => {
    test('repeated events become one Event with a count, shown by kubectl describe', async () => {
      const pod = await client.resource('', 'pods').namespace('ci').create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'flaky' },
        spec: { containers: [{ name: 'app', image: 'busybox' }] },
      });
      const b = new EventBroadcaster({ client, log: quiet });
      const rec = b.newRecorder({ component: 'kubelet', host: 'node-1' });
      for (let i = 0; i < 3; i++) rec.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container app in pod flaky_ci');
      rec.event(pod, 'Normal', 'Pulled', 'Container image "busybox" already present on machine');
      await b.flush();
      // (the scheduler reports on this pod too: only the kubelet's events are this test's)
      const evs = (await client.resource<CoreEvent>('', 'events').namespace('ci').list()).items.filter((e) => e.involvedObject.name === 'flaky' && e.source.component === 'kubelet');
      assert.equal(evs.length, 2);
      const backoff = evs.find((e) => e.reason === 'BackOff')!;
      assert.equal(backoff.count, 3);
      assert.equal(backoff.type, 'Warning');
      assert.equal(backoff.source.component, 'kubelet');
      assert.equal(backoff.involvedObject.uid, pod.metadata.uid);
      assert.match(backoff.metadata.name!, /^flaky\.[0-9a-f]+$/);
      const described = await s.k(['describe', 'pod', '-n', 'ci', 'flaky']);
      assert.match(described, /Warning\s+BackOff\s+.*\(x3 over .*\)\s+kubelet\s+Back-off restarting failed container app in pod flaky_ci/);
      assert.match(described, /Normal\s+Pulled\s+.*kubelet\s+Container image "busybox" already present on machine/);
    });

    test('many similar events are combined into one aggregated Event', async () => {
      const b = new EventBroadcaster({ client, log: quiet });
      const rec = b.newRecorder({ component: 'attachdetach-controller' });
      const ref = { kind: 'Pod', apiVersion: 'v1', namespace: 'ci', name: 'mounty', uid: 'uid-mounty' };
      for (let i = 0; i < 12; i++) rec.event(ref, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "v${i}"`);
      await b.flush();
      const evs = (await client.resource<CoreEvent>('', 'events').namespace('ci').list()).items.filter((e) => e.involvedObject.name === 'mounty');
      const combined = evs.filter((e) => e.message.startsWith('(combined from similar events): '));
      assert.equal(combined.length, 1);
      assert.equal(combined[0]!.count, 3);
      assert.equal(evs.length, 10);
    });
  });
});

// Hollow nodes: many simulated kubelets in one process, each a real node acting as itself, sharing
// one service watch (and one pod watch when the sim's reader may list all pods).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KObject, WatchEvent } from '../api/meta.ts';
import { Client } from '../client/client.ts';
import { HttpsTransport } from '../client/https.ts';
import { hollowNodeIP, hollowNodeName, startHollowNodes, type HollowNodes } from './hollow.ts';
import { FeedTransport, podRoute, SharedFeed } from './shared-feed.ts';
import { startAgentTestCluster, type AgentTestCluster } from './testing.ts';

interface Pod extends KObject {
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status?: { phase?: string };
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const pod = (name: string, nodeName?: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] },
});

async function prepareNamespace(admin: Client): Promise<void> {
  await admin.resource('', 'serviceaccounts').namespace('default').create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } } as KObject).catch(() => undefined);
  await admin.resource('', 'configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'x' } } as KObject).catch(() => undefined);
}

describe('hollow node names and addresses', () => {
  it('are numbered with a fixed width and loopback addresses', () => {
    assert.equal(hollowNodeName('hollow-node', 7, 1000), 'hollow-node-007');
    assert.equal(hollowNodeName('hollow-node', 0, 1), 'hollow-node-0');
    assert.equal(hollowNodeIP(0), '127.1.0.1');
    assert.equal(hollowNodeIP(255), '127.1.1.0');
    assert.equal(hollowNodeIP(999), '127.1.3.232');
  });
});

describe('a shared pod feed', () => {
  let cluster: AgentTestCluster;
  let feed: SharedFeed;
  before(async () => {
    cluster = await startAgentTestCluster({ controllers: false });
    await prepareNamespace(cluster.admin);
    feed = new SharedFeed({ client: cluster.admin, group: '', plural: 'pods', keyOf: (p) => (p as Pod).spec?.nodeName || undefined });
    feed.start();
    await feed.waitForSync();
  });
  after(async () => {
    feed.stop();
    await cluster.stop();
  });

  it('answers a node\'s list and watch with its pods only: ADDED when bound, DELETED when gone', async () => {
    const t = new FeedTransport({ request: () => Promise.reject(new Error('not for the node')), watch: () => assert.fail('not for the node'), close: async () => {} }, [podRoute(feed)]);
    const pods = cluster.admin.resource<Pod>('', 'pods').namespace('default');
    await pods.create(pod('on-a', 'node-a'));
    await pods.create(pod('on-b', 'node-b'));
    await until('the feed has both', async () => feed.informer.indexer.list().length >= 2);
    const list = (await t.request({ method: 'GET', path: '/api/v1/pods', query: { fieldSelector: 'spec.nodeName=node-a', limit: 500 } })).body as { items: Pod[]; metadata: { resourceVersion: string } };
    assert.deepEqual(list.items.map((p) => p.metadata.name), ['on-a']);
    const events: string[] = [];
    const h = t.watch({ method: 'GET', path: '/api/v1/pods', query: { fieldSelector: 'spec.nodeName=node-a', watch: 'true', resourceVersion: list.metadata.resourceVersion } }, {
      onEvent: (e: WatchEvent) => events.push(`${e.type} ${(e.object as Pod).metadata.name}`),
      onClose: () => {},
    });
    await pods.create(pod('later-a', 'node-a'));
    await pods.create(pod('later-b', 'node-b'));
    await pods.delete('on-a', { gracePeriodSeconds: 0 });
    await until('events for node-a', async () => events.includes('DELETED on-a'));
    h.close();
    assert.deepEqual(events, ['ADDED later-a', 'DELETED on-a']);
  });

  it('a watch from a revision the feed no longer remembers gets 410 Expired', async () => {
    const got: WatchEvent[] = [];
    let closed = false;
    feed.watch('node-a', '999999', { onEvent: (e) => got.push(e), onClose: () => (closed = true) });
    await until('the answer', async () => closed);
    assert.equal(got[0]?.type, 'ERROR');
    assert.equal((got[0]?.object as { code?: number }).code, 410);
  });

  it('other requests go to the node\'s own connection', async () => {
    const seen: string[] = [];
    const own = { request: async (r: { path: string }) => (seen.push(r.path), { status: 200, body: {}, headers: {} }), watch: () => ({ close() {} }), close: async () => {} };
    const t = new FeedTransport(own as never, [podRoute(feed)]);
    await t.request({ method: 'GET', path: '/api/v1/pods', query: { fieldSelector: 'metadata.name=x' } });
    await t.request({ method: 'PUT', path: '/api/v1/namespaces/default/pods/x/status' });
    assert.deepEqual(seen, ['/api/v1/pods', '/api/v1/namespaces/default/pods/x/status']);
  });
});

describe('hollow nodes', () => {
  let cluster: AgentTestCluster;
  let dir: string;
  before(async () => {
    cluster = await startAgentTestCluster();
    dir = mkdtempSync(join(tmpdir(), 'rudder-sim-'));
    await prepareNamespace(cluster.admin);
  });
  after(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const readyNodes = async (names: string[]) => {
    const nodes = (await cluster.admin.resource<KObject & { status?: { conditions?: { type: string; status: string }[] } }>('', 'nodes').list()).items;
    return names.every((n) => nodes.find((x) => x.metadata.name === n)?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  };

  it('with a join token each node joins with its own certificate, and they share one service watch', async () => {
    const { token } = await cluster.joinToken();
    let sim: HollowNodes | undefined;
    try {
      sim = await startHollowNodes({ server: cluster.url, token, nodes: 3, prefix: 'tok', dataDir: dir, transportFor: cluster.transportFor, kubelet: { relistPeriodMs: 200 } });
      assert.deepEqual(sim.names, ['tok-0', 'tok-1', 'tok-2']);
      await until('three Ready nodes', () => readyNodes(sim!.names));
      for (const a of sim.agents) assert.match(a.clientCert!.current()!.certPem, /BEGIN CERTIFICATE/);
      const csrs = (await cluster.admin.resource<KObject & { spec: { username: string } }>('certificates.k8s.io', 'certificatesigningrequests').list()).items;
      assert.equal(csrs.filter((c) => c.spec.username.startsWith('system:bootstrap:')).length, 3);
      assert.equal(sim.podFeed, undefined, 'nodes may only watch their own pods');
      assert.ok(sim.serviceFeed.stats.lists >= 3 && sim.serviceFeed.stats.watches >= 3, JSON.stringify(sim.serviceFeed.stats));
      assert.equal(sim.serviceFeed.informer.stats.watches, 1);
    } finally {
      await sim?.stop();
    }
  });

  it('with a kubeconfig that may impersonate, nodes act as themselves over one connection and share one pod watch', async () => {
    // A user that may read pods and services and impersonate nodes, and nothing else: whatever the
    // nodes manage to write, they wrote as themselves.
    const rbac = (plural: string, o: KObject) => cluster.admin.resource('rbac.authorization.k8s.io', plural).create(o);
    await rbac('clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'sim-operator' },
      rules: [
        { apiGroups: [''], resources: ['pods', 'services'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] },
      ],
    } as KObject);
    await rbac('clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'sim-operator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'sim-operator' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'sim-operator' }],
    } as KObject);
    const operator = await cluster.pki.signClientCert('sim-operator', [], 1);
    const shared = new HttpsTransport({ server: cluster.url, ca: cluster.pki.serverCaCert, cert: operator.cert, key: operator.key });
    await assert.rejects(new Client(shared).resource('', 'nodes').create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'imp-x' } } as KObject), /forbidden/);
    let sim: HollowNodes | undefined;
    try {
      sim = await startHollowNodes({ server: cluster.url, shared, nodes: 3, prefix: 'imp', dataDir: dir, kubelet: { relistPeriodMs: 200 } });
      await until('three Ready nodes', () => readyNodes(sim!.names));
      const pods = cluster.admin.resource<Pod>('', 'pods').namespace('default');
      for (let i = 0; i < 6; i++) await pods.create(pod(`p${i}`, sim.names[i % 3]));
      await until('six Running pods', async () => {
        const items = (await pods.list()).items.filter((p) => /^p\d$/.test(p.metadata.name!));
        return items.length === 6 && items.every((p) => p.status?.phase === 'Running');
      });
      assert.equal(sim.podFeed!.informer.stats.watches, 1, 'one pod watch for all nodes');
      assert.ok(sim.podFeed!.stats.watches >= 3);
      const lease = await cluster.admin.resource<KObject & { spec: { holderIdentity: string } }>('coordination.k8s.io', 'leases').namespace('kube-node-lease').get('imp-2');
      assert.equal(lease.spec.holderIdentity, 'imp-2');
    } finally {
      await sim?.stop();
      await shared.close();
    }
  });
});

// Informer behaviour against the in-memory FakeTransport, with a FakeClock for back-offs and resyncs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KObject } from '../api/meta.ts';
import { Client } from './client.ts';
import { FakeClock, settle } from './clock.ts';
import { FakeTransport } from './fake-transport.ts';
import { SharedInformer, SharedInformerFactory, type EventHandler } from './informer.ts';

function cm(name: string, data: Record<string, string> = {}, ns = 'default', labels?: Record<string, string>): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...(labels ? { labels } : {}) }, data };
}

async function until(what: string, fn: () => boolean, turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (fn()) return;
    await settle();
  }
  assert.fail(`never happened: ${what}`);
}

type Seen = string[];

function recorder(seen: Seen): EventHandler<KObject> {
  const d = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  return {
    onAdd: (o, initial) => seen.push(`add ${d(o)}${initial ? ' (initial)' : ''}`),
    onUpdate: (a, b) => seen.push(`update ${d(b)} ${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
    onDelete: (o, unknown) => seen.push(`delete ${d(o)}${unknown ? ' (final state unknown)' : ''}`),
  };
}

function setup(opts: { pageSize?: number; resyncPeriodMs?: number } = {}) {
  const clock = new FakeClock();
  const fake = new FakeTransport({ clock });
  const client = new Client(fake);
  const rc = client.resource('', 'configmaps');
  const informer = new SharedInformer(rc, { clock, log: () => {}, random: () => 0, ...opts });
  return { clock, fake, client, informer, cms: rc.namespace('default') };
}

const watchRequests = (fake: FakeTransport) => fake.requests.filter((r) => r.query?.watch === 'true');
const listRequests = (fake: FakeTransport) => fake.requests.filter((r) => r.method === 'GET' && r.query?.watch !== 'true');

describe('informer', () => {
  test('the first list fills the cache and handlers hear each object as an initial add', async () => {
    const { fake, informer } = setup();
    fake.seed('', 'configmaps', cm('a'));
    fake.seed('', 'configmaps', cm('b', {}, 'other'));
    const seen: Seen = [];
    informer.addEventHandler(recorder(seen));
    assert.equal(informer.hasSynced(), false);
    informer.start();
    assert.equal(await informer.waitForSync(), true);
    assert.deepEqual(seen.sort(), ['add default/a (initial)', 'add other/b (initial)']);
    assert.equal(informer.lister().namespace('default').get('a')?.metadata.name, 'a');
    assert.deepEqual(informer.lister().namespace('other').list().map((o) => o.metadata.name), ['b']);
    const cached = informer.indexer.get('default/a')!;
    assert.throws(() => {
      (cached.metadata as { name?: string }).name = 'changed';
    }, TypeError, 'cached objects are frozen');
    informer.stop();
  });

  test('watch events after the list reach handlers in order as add, update and delete', async () => {
    const { fake, informer, cms } = setup();
    const seen: Seen = [];
    informer.addEventHandler(recorder(seen));
    informer.start();
    await informer.waitForSync();
    await until('watch open', () => fake.watchCount() === 1);
    const a = await cms.create(cm('a', { v: '1' }));
    await cms.update({ ...a, data: { v: '2' } });
    await cms.delete('a');
    await until('three events', () => seen.length === 3);
    assert.deepEqual(seen, ['add default/a', `update default/a ${a.metadata.resourceVersion}->${Number(a.metadata.resourceVersion) + 1}`, 'delete default/a']);
    assert.equal(informer.indexer.size, 0);
    assert.equal(informer.lastSyncResourceVersion(), String(fake.revision));
    informer.stop();
  });

  test('a watch the server ends is resumed from the last resourceVersion: nothing lost, nothing listed again', async () => {
    const { fake, informer, cms } = setup();
    const seen: Seen = [];
    informer.addEventHandler(recorder(seen));
    informer.start();
    await informer.waitForSync();
    await until('watch open', () => fake.watchCount() === 1);
    await cms.create(cm('a'));
    await until('a seen', () => seen.length === 1);
    const rvAfterA = String(fake.revision);
    fake.endWatches();
    await cms.create(cm('b')); // written while no watch is open
    await until('b seen', () => seen.length === 2);
    assert.deepEqual(seen, ['add default/a', 'add default/b']);
    assert.equal(listRequests(fake).length, 1, 'no relist');
    const ws = watchRequests(fake);
    assert.equal(ws.length, 2);
    assert.equal(ws[1]!.query!.resourceVersion, rvAfterA, 'the second watch starts where the first left off');
    assert.equal(ws[1]!.query!.allowWatchBookmarks, true);
    informer.stop();
  });

  test('a broken connection is retried after a back-off and the watch resumes without a relist', async () => {
    const { fake, informer, cms, clock } = setup();
    const seen: Seen = [];
    informer.addEventHandler(recorder(seen));
    informer.start();
    await informer.waitForSync();
    await until('watch open', () => fake.watchCount() === 1);
    fake.offline = true;
    fake.breakWatches();
    await settle();
    fake.offline = false;
    await cms.create(cm('during-outage'));
    fake.offline = true;
    await clock.advance(800); // first back-off (no jitter in this test): the retry fails too
    assert.equal(watchRequests(fake).length, 2);
    fake.offline = false;
    await clock.advance(1599);
    assert.equal(watchRequests(fake).length, 2, 'the second back-off doubles to 1600 ms');
    await clock.advance(1);
    await until('event after outage', () => seen.length === 1);
    assert.deepEqual(seen, ['add default/during-outage']);
    assert.equal(listRequests(fake).length, 1);
    informer.stop();
  });

  test('410 Expired makes the informer relist and deliver only the difference', async () => {
    const { fake, informer, cms, clock } = setup();
    const keep = await cms.create(cm('unchanged'));
    const upd = await cms.create(cm('updated', { v: '1' }));
    await cms.create(cm('deleted'));
    const seen: Seen = [];
    informer.addEventHandler(recorder(seen));
    informer.start();
    await informer.waitForSync();
    await until('watch open', () => fake.watchCount() === 1);
    seen.length = 0;
    // The informer loses its connection; meanwhile the server changes things and forgets its history.
    fake.offline = true;
    fake.breakWatches();
    await settle();
    fake.offline = false;
    await cms.update({ ...upd, data: { v: '2' } });
    await cms.delete('deleted');
    await cms.create(cm('added'));
    fake.compact();
    await clock.advance(800);
    await until('relist delivered', () => seen.length === 3);
    assert.deepEqual(seen.sort(), [
      'add default/added',
      'delete default/deleted (final state unknown)',
      `update default/updated ${upd.metadata.resourceVersion}->${Number(fake.object('', 'configmaps', 'default', 'updated')!.metadata.resourceVersion)}`,
    ]);
    assert.equal(informer.stats.relistsAfterExpired, 1);
    assert.equal(listRequests(fake).length, 2);
    assert.deepEqual(informer.indexer.listKeys().sort(), ['default/added', 'default/unchanged', 'default/updated']);
    assert.equal(informer.indexer.get('default/unchanged'), informer.indexer.get('default/unchanged'));
    assert.equal(informer.indexer.get('default/unchanged')!.metadata.resourceVersion, keep.metadata.resourceVersion);
    await until('watching again', () => fake.watchCount() === 1);
    await cms.create(cm('after'));
    await until('after relist, the watch continues', () => seen.length === 4);
    informer.stop();
  });

  test('a watch refused with HTTP 410 (rather than an ERROR event) also relists at once', async () => {
    const { fake, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await until('watch open', () => fake.watchCount() === 1);
    let refused = 0;
    const stop = fake.react((req) => {
      if (req.query?.watch !== 'true' || refused > 0) return undefined;
      refused++;
      return { status: 410, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 410, reason: 'Gone', message: 'too old resource version: 1 (5)' }, headers: {} };
    });
    fake.seed('', 'configmaps', cm('x'));
    fake.endWatches();
    await until('relisted', () => informer.stats.relistsAfterExpired === 1);
    await until('x cached', () => informer.indexer.has('default/x'));
    assert.equal(listRequests(fake).length, 2);
    stop();
    informer.stop();
  });

  test('lists are paged with limit and continue', async () => {
    const { fake, informer } = setup({ pageSize: 2 });
    for (const n of ['a', 'b', 'c', 'd', 'e']) fake.seed('', 'configmaps', cm(n));
    informer.start();
    await informer.waitForSync();
    const lists = listRequests(fake);
    assert.equal(lists.length, 3);
    assert.deepEqual(lists.map((r) => r.query?.limit), [2, 2, 2]);
    assert.equal(lists[0]!.query?.continue, undefined);
    assert.ok(lists[1]!.query?.continue);
    assert.equal(informer.indexer.size, 5);
    informer.stop();
  });

  test('a bookmark moves the resume point forward', async () => {
    const { fake, informer, client } = setup();
    informer.start();
    await informer.waitForSync();
    await until('watch open', () => fake.watchCount() === 1);
    // writes to another resource move the global revision; a bookmark tells the informer
    await client.resource('', 'secrets').namespace('default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } });
    fake.bookmark();
    await settle();
    assert.equal(informer.lastSyncResourceVersion(), String(fake.revision));
    fake.endWatches();
    await until('rewatch', () => watchRequests(fake).length === 2);
    assert.equal(watchRequests(fake)[1]!.query!.resourceVersion, String(fake.revision));
    informer.stop();
  });

  test('resync re-delivers every cached object as an update to itself, per handler period', async () => {
    const { fake, informer, clock } = setup({ resyncPeriodMs: 30_000 });
    fake.seed('', 'configmaps', cm('a'));
    const seen: Seen = [];
    const fast: Seen = [];
    informer.addEventHandler(recorder(seen));
    informer.addEventHandler(recorder(fast), 10_000);
    informer.start();
    await informer.waitForSync();
    seen.length = 0;
    fast.length = 0;
    await clock.advance(30_000);
    const rv = fake.object('', 'configmaps', 'default', 'a')!.metadata.resourceVersion;
    assert.deepEqual(seen, [`update default/a ${rv}->${rv}`]);
    assert.equal(fast.length, 3);
    informer.stop();
    await clock.advance(60_000);
    assert.equal(seen.length, 1, 'no resync after stop');
  });

  test('a handler added after sync first hears every cached object; a throwing handler does not stop the others', async () => {
    const { fake, informer, cms } = setup();
    fake.seed('', 'configmaps', cm('a'));
    informer.start();
    await informer.waitForSync();
    informer.addEventHandler({
      onAdd: () => {
        throw new Error('boom');
      },
    });
    const seen: Seen = [];
    const reg = informer.addEventHandler(recorder(seen));
    assert.deepEqual(seen, ['add default/a (initial)']);
    await until('watch open', () => fake.watchCount() === 1);
    await cms.create(cm('b'));
    await until('b', () => seen.length === 2);
    reg.remove();
    await cms.create(cm('c'));
    await until('c cached', () => informer.indexer.has('default/c'));
    assert.equal(seen.length, 2, 'a removed handler hears nothing more');
    informer.stop();
  });

  test('indexers: the namespace index by default and named index functions such as spec.nodeName', async () => {
    const clock = new FakeClock();
    const fake = new FakeTransport({ clock });
    const client = new Client(fake);
    const factory = new SharedInformerFactory(client, { clock, log: () => {} });
    const byNode = (p: KObject) => [((p.spec as { nodeName?: string }) ?? {}).nodeName ?? ''];
    const pods = factory.informerFor('', 'pods', { indexers: { nodeName: byNode } });
    const pod = (name: string, node: string, ns = 'default'): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app: name[0]! } }, spec: { nodeName: node } });
    fake.seed('', 'pods', pod('a1', 'n1'));
    fake.seed('', 'pods', pod('a2', 'n2'));
    fake.seed('', 'pods', pod('b1', 'n1', 'kube-system'));
    factory.start();
    assert.equal(await factory.waitForCacheSync(), true);
    const names = (os: KObject[]) => os.map((o) => o.metadata.name).sort();
    assert.deepEqual(names(pods.indexer.byIndex('nodeName', 'n1')), ['a1', 'b1']);
    assert.deepEqual(names(pods.indexer.byIndex('namespace', 'kube-system')), ['b1']);
    assert.deepEqual(names(pods.lister().list('app=a')), ['a1', 'a2']);
    assert.deepEqual(names(pods.lister().namespace('default').list('app=b')), []);
    // moving a pod moves it between index values
    await until('watch', () => fake.watchCount() === 1);
    const podsClient = client.resource('', 'pods').namespace('default');
    const a2 = await podsClient.get('a2');
    await podsClient.update({ ...a2, spec: { nodeName: 'n1' } });
    await until('moved', () => pods.indexer.byIndex('nodeName', 'n1').length === 3);
    assert.deepEqual(pods.indexer.byIndex('nodeName', 'n2'), []);
    assert.deepEqual(pods.indexer.indexValues('nodeName').sort(), ['n1']);
    factory.shutdown();
  });

  test('the factory starts one informer per resource however many ask', async () => {
    const clock = new FakeClock();
    const fake = new FakeTransport({ clock });
    const factory = new SharedInformerFactory(new Client(fake), { clock, log: () => {} });
    const a = factory.informerFor('apps', 'deployments');
    const b = factory.informerFor('apps', 'deployments');
    const c = factory.informerFor('', 'pods');
    assert.equal(a, b);
    assert.notEqual(a, c);
    factory.start();
    factory.start();
    assert.equal(await factory.waitForCacheSync(), true);
    await until('watches open', () => fake.watchCount() === 2);
    assert.equal(listRequests(fake).length, 2, 'one list per resource');
    const later = factory.informerFor('', 'services');
    assert.equal(later.isStarted(), false);
    factory.start();
    assert.equal(later.isStarted(), true);
    await factory.waitForCacheSync();
    factory.shutdown();
    await settle();
    assert.equal(fake.watchCount(), 0, 'shutdown closes the watches');
  });

  test('a refused watch (a Status other than 410) relists after a back-off', async () => {
    const { fake, informer, clock } = setup();
    let refuse = true;
    fake.react((req) =>
      refuse && req.query?.watch === 'true' ? { status: 500, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError', message: 'boom' }, headers: {} } : undefined,
    );
    informer.start();
    await informer.waitForSync();
    await settle();
    refuse = false;
    assert.equal(listRequests(fake).length, 1);
    await clock.advance(800);
    await until('relisted and watching', () => fake.watchCount() === 1);
    assert.equal(listRequests(fake).length, 2);
    informer.stop();
  });
});

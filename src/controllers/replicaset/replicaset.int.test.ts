// The ReplicaSet controller against an in-process API server: pods appear, are counted, adopted,
// released and deleted as a user of upstream Kubernetes sees it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApiServer } from '../../apiserver/testing.ts';
import type { ApiServer } from '../../apiserver/server.ts';
import type { KObject } from '../../api/meta.ts';
import type { Transport, TransportRequest } from '../../api/transport.ts';
import { Client } from '../../client/client.ts';
import { startControllerManager, type ControllerManager } from '../manager.ts';
import { controllerIdentities, TEST_CONFIG, setPodReady } from '../testing.ts';
import { replicaSetController } from './replicaset.ts';
import type { Pod, ReplicaSet } from './types.ts';

let api: { server: ApiServer; stop(): Promise<void> };
let admin: Client;

before(async () => {
  api = await startTestApiServer();
  admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
});
after(async () => {
  await api.stop();
});

/** A controller-manager running the ReplicaSet controller over a transport the test may wrap. */
async function manager(wrap: (t: Transport) => Transport = (t) => t): Promise<ControllerManager> {
  const ids = controllerIdentities(api.server);
  // the wrapped transport is the controller's own (its writes), as well as the manager's reads
  const m = startControllerManager({ transport: wrap(ids.transport), transportFor: (sa) => wrap(ids.transportFor(sa)), config: TEST_CONFIG, controllers: [replicaSetController()], leaderElect: false });
  await m.started();
  return m;
}

let nsSeq = 0;
async function namespace(): Promise<string> {
  const name = `rs-${++nsSeq}`;
  await admin.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // pods need their ServiceAccount (admission); no ServiceAccount controller runs here
  await admin.resource('', 'serviceaccounts').namespace(name).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  return name;
}

function replicaSet(name: string, replicas: number, o: { minReadySeconds?: number } = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name },
    spec: {
      replicas,
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } },
    },
  };
}

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const pods = (ns: string) => admin.resource<Pod>('', 'pods').namespace(ns);
const rss = (ns: string) => admin.resource<ReplicaSet>('apps', 'replicasets').namespace(ns);

async function podList(ns: string): Promise<Pod[]> {
  return (await pods(ns).list()).items;
}

async function events(ns: string): Promise<{ reason: string; message: string; type: string; kind: string; component: string }[]> {
  const list = await admin.resource('', 'events').namespace(ns).list();
  return list.items.map((e: KObject) => {
    const ev = e as unknown as { reason: string; message: string; type: string; involvedObject: { kind: string }; source: { component: string } };
    return { reason: ev.reason, message: ev.message, type: ev.type, kind: ev.involvedObject.kind, component: ev.source.component };
  });
}

test('a ReplicaSet creates its pods, named after it, controlled by it, with SuccessfulCreate events', async () => {
  const m = await manager();
  try {
    const ns = await namespace();
    const rs = await rss(ns).create(replicaSet('web', 3));
    const ps = await eventually(async () => {
      const l = await podList(ns);
      return l.length === 3 && l;
    }, '3 pods');
    for (const p of ps) {
      assert.match(p.metadata.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.deepEqual(p.metadata.labels, { app: 'web' });
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    const evs = await eventually(async () => {
      const e = (await events(ns)).filter((x) => x.reason === 'SuccessfulCreate');
      return e.length === 3 && e;
    }, 'three SuccessfulCreate events');
    assert.deepEqual(evs.map((e) => e.message).sort(), ps.map((p) => `Created pod: ${p.metadata.name}`).sort());
    assert.ok(evs.every((e) => e.type === 'Normal' && e.kind === 'ReplicaSet' && e.component === 'replicaset-controller'));
    const st = await eventually(async () => {
      const s = (await rss(ns).get('web')).status;
      return s?.replicas === 3 && s;
    }, 'status.replicas 3');
    assert.deepEqual(st, { replicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 });

    await setPodReady(admin, ns, ps[0]!.metadata.name!);
    await setPodReady(admin, ns, ps[1]!.metadata.name!);
    const ready = await eventually(async () => {
      const s = (await rss(ns).get('web')).status;
      return s?.readyReplicas === 2 && s;
    }, 'two ready replicas');
    assert.equal(ready.availableReplicas, 2);
  } finally {
    await m.stop();
  }
});

test('scaling down deletes pods that are not ready before ready ones, with SuccessfulDelete events', async () => {
  const m = await manager();
  try {
    const ns = await namespace();
    await rss(ns).create(replicaSet('web', 4));
    const ps = await eventually(async () => {
      const l = await podList(ns);
      return l.length === 4 && l;
    }, '4 pods');
    const readyNames = [ps[0]!.metadata.name!, ps[2]!.metadata.name!];
    for (const n of readyNames) await setPodReady(admin, ns, n);
    await eventually(async () => (await rss(ns).get('web')).status?.readyReplicas === 2, 'ready count');
    await rss(ns).patch('web', 'merge', { spec: { replicas: 2 } });
    const left = await eventually(async () => {
      const l = await podList(ns);
      return l.length === 2 && l;
    }, 'two pods left');
    assert.deepEqual(left.map((p) => p.metadata.name).sort(), [...readyNames].sort());
    const deleted = ps.map((p) => p.metadata.name!).filter((n) => !readyNames.includes(n));
    const evs = await eventually(async () => {
      const e = (await events(ns)).filter((x) => x.reason === 'SuccessfulDelete');
      return e.length === 2 && e;
    }, 'two SuccessfulDelete events');
    assert.deepEqual(evs.map((e) => e.message).sort(), deleted.map((n) => `Deleted pod: ${n}`).sort());
    await eventually(async () => {
      const rs = await rss(ns).get('web');
      return rs.status?.observedGeneration === rs.metadata.generation && rs.status?.replicas === 2;
    }, 'observedGeneration catches up');
  } finally {
    await m.stop();
  }
});

test('an orphan pod matching the selector is adopted instead of creating another', async () => {
  const m = await manager();
  try {
    const ns = await namespace();
    await pods(ns).create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    const rs = await rss(ns).create(replicaSet('web', 2));
    const l = await eventually(async () => {
      const x = await podList(ns);
      return x.length === 2 && x.every((p) => p.metadata.ownerReferences?.length) && x;
    }, 'two owned pods');
    const stray = l.find((p) => p.metadata.name === 'stray');
    assert.ok(stray, 'the orphan is one of the two');
    assert.equal(stray.metadata.ownerReferences![0]!.uid, rs.metadata.uid);
    assert.equal(stray.metadata.ownerReferences![0]!.controller, true);
  } finally {
    await m.stop();
  }
});

test('a pod relabelled out of the selector is released and replaced', async () => {
  const m = await manager();
  try {
    const ns = await namespace();
    await rss(ns).create(replicaSet('web', 2));
    const ps = await eventually(async () => {
      const l = await podList(ns);
      return l.length === 2 && l;
    }, 'two pods');
    const victim = ps[0]!.metadata.name!;
    await pods(ns).patch(victim, 'merge', { metadata: { labels: { app: 'debug' } } });
    const released = await eventually(async () => {
      const p = await pods(ns).get(victim);
      return !p.metadata.ownerReferences?.length && p;
    }, 'the relabelled pod released');
    assert.deepEqual(released.metadata.labels, { app: 'debug' });
    await eventually(async () => (await podList(ns)).filter((p) => p.metadata.labels?.app === 'web').length === 2, 'a replacement');
  } finally {
    await m.stop();
  }
});

test('while its informer lags, the controller does not create the same pods twice', async () => {
  // pod watch events reach the controller 300 ms late; its ReplicaSet syncs in between
  const lagging = (t: Transport): Transport => ({
    request: (req) => t.request(req),
    watch: (req: TransportRequest, h) =>
      req.path.endsWith('/pods')
        ? t.watch(req, { onEvent: (ev) => void setTimeout(() => h.onEvent(ev), 300), onClose: (e) => void setTimeout(() => h.onClose(e), 300) })
        : t.watch(req, h),
    close: () => t.close(),
  });
  const m = await manager(lagging);
  try {
    const ns = await namespace();
    await rss(ns).create(replicaSet('web', 5));
    await eventually(async () => (await podList(ns)).length >= 5, 'pods');
    // nudge syncs while the creations are still in flight to the informer
    for (let i = 0; i < 5; i++) await rss(ns).patch('web', 'merge', { metadata: { annotations: { nudge: String(i) } } });
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await podList(ns)).length, 5);
    assert.equal((await events(ns)).filter((e) => e.reason === 'SuccessfulCreate').length, 5);
  } finally {
    await m.stop();
  }
});

test('a create the server refuses sets ReplicaFailure/FailedCreate and a FailedCreate event; it clears once creates work', async () => {
  let refuse = true;
  const refusing = (t: Transport): Transport => ({
    request: (req) =>
      refuse && req.method === 'POST' && req.path.endsWith('/pods')
        ? Promise.resolve({ status: 403, headers: {}, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403, message: 'pods "web-" is forbidden: exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0' } })
        : t.request(req),
    watch: (req, h) => t.watch(req, h),
    close: () => t.close(),
  });
  const m = await manager(refusing);
  try {
    const ns = await namespace();
    await rss(ns).create(replicaSet('web', 3));
    const cond = await eventually(async () => (await rss(ns).get('web')).status?.conditions?.find((c) => c.type === 'ReplicaFailure'), 'ReplicaFailure');
    assert.equal(cond.status, 'True');
    assert.equal(cond.reason, 'FailedCreate');
    assert.match(cond.message!, /exceeded quota/);
    const failed = await eventually(async () => {
      const e = (await events(ns)).filter((x) => x.reason === 'FailedCreate');
      return e.length > 0 && e;
    }, 'a FailedCreate event');
    assert.equal(failed[0]!.type, 'Warning');
    assert.match(failed[0]!.message, /^Error creating: pods "web-" is forbidden: exceeded quota/);
    refuse = false;
    await eventually(async () => {
      const rs = await rss(ns).get('web');
      return rs.status?.replicas === 3 && !rs.status.conditions?.some((c) => c.type === 'ReplicaFailure');
    }, 'recovery', 20_000);
  } finally {
    await m.stop();
  }
});

test('ready pods become available after minReadySeconds without any other change', async () => {
  const m = await manager();
  try {
    const ns = await namespace();
    await rss(ns).create(replicaSet('web', 1, { minReadySeconds: 1 }));
    const [p] = await eventually(async () => {
      const l = await podList(ns);
      return l.length === 1 && l;
    }, 'a pod');
    await setPodReady(admin, ns, p!.metadata.name!);
    const st = await eventually(async () => {
      const s = (await rss(ns).get('web')).status;
      return s?.readyReplicas === 1 && s;
    }, 'ready');
    assert.equal(st.availableReplicas, undefined, 'not available at once');
    await eventually(async () => (await rss(ns).get('web')).status?.availableReplicas === 1, 'available after minReadySeconds', 5000);
  } finally {
    await m.stop();
  }
});

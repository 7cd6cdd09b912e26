// The Deployment, ReplicaSet and ReplicationController controllers together against an
// in-process API server. No kubelet exists: the tests mark pods Running and Ready through the
// status subresource, as upstream's integration tests do.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApiServer } from '../../apiserver/testing.ts';
import type { ApiServer } from '../../apiserver/server.ts';
import type { KObject } from '../../api/meta.ts';
import { Client } from '../../client/client.ts';
import { startControllerManager, type ControllerManager } from '../manager.ts';
import { controllerIdentities, TEST_CONFIG, setPodReady } from '../testing.ts';
import { workloadControllers } from '../workloads.ts';
import type { Pod } from '../replicaset/types.ts';
import { computeHash } from './hash.ts';
import type { Deployment, ReplicaSet } from './types.ts';

let api: { server: ApiServer; stop(): Promise<void> };
let admin: Client;

before(async () => {
  api = await startTestApiServer();
  admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
});
after(async () => {
  await api.stop();
});

async function manager(): Promise<ControllerManager> {
  const m = startControllerManager({ ...controllerIdentities(api.server), config: TEST_CONFIG, controllers: workloadControllers(), leaderElect: false });
  await m.started();
  return m;
}

let nsSeq = 0;
async function namespace(): Promise<string> {
  const name = `deploy-${++nsSeq}`;
  await admin.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // pods need their ServiceAccount (admission); no ServiceAccount controller runs here
  await admin.resource('', 'serviceaccounts').namespace(name).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  return name;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function deploymentBody(name: string, o: { replicas: number; image?: string; strategy?: Deployment['spec']['strategy']; paused?: boolean; progressDeadlineSeconds?: number; revisionHistoryLimit?: number }): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: o.image ?? 'registry.k8s.io/echoserver:1.4' }] } },
      ...(o.strategy ? { strategy: o.strategy } : {}),
      ...(o.paused ? { paused: true } : {}),
      ...(o.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: o.progressDeadlineSeconds } : {}),
      ...(o.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: o.revisionHistoryLimit } : {}),
    },
  };
}

const deployments = (ns: string) => admin.resource<Deployment>('apps', 'deployments').namespace(ns);
const replicaSets = (ns: string) => admin.resource<ReplicaSet>('apps', 'replicasets').namespace(ns);
const pods = (ns: string) => admin.resource<Pod>('', 'pods').namespace(ns);

const isReady = (p: Pod) => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const hashOf = (o: KObject) => o.metadata.labels?.['pod-template-hash'];

async function rsList(ns: string): Promise<ReplicaSet[]> {
  return (await replicaSets(ns).list()).items;
}

async function podList(ns: string): Promise<Pod[]> {
  return (await pods(ns).list()).items;
}

async function deploymentEvents(ns: string): Promise<string[]> {
  const l = (await admin.resource('', 'events').namespace(ns).list()).items as (KObject & { reason: string; message: string; involvedObject: { kind: string }; firstTimestamp: string })[];
  // past 10 similar events the recorder combines them, as upstream's does: compare the messages
  return l.filter((e) => e.involvedObject.kind === 'Deployment').map((e) => `${e.reason}: ${e.message.replace(/^\(combined from similar events\): /, '')}`);
}

/**
 * The stand-in kubelet: marks pods Ready, one at a time with a pause between, so a rollout goes
 * through many observable steps. `which` picks the pods it may touch.
 */
function readier(ns: string, which: (p: Pod) => boolean = () => true, pauseMs = 15): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const next = (await podList(ns)).find((p) => !isReady(p) && !p.metadata.deletionTimestamp && which(p));
      if (next) {
        try {
          await setPodReady(admin, ns, next.metadata.name!);
        } catch {
          // deleted meanwhile
        }
      }
      await sleep(pauseMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Watches the namespace's pods and checks the rollout bounds at every event. */
async function watchBounds(ns: string, maxPods: number, minAvailable: number): Promise<{ stop(): { maxSeen: number; minAvailableSeen: number; steps: number; violations: string[] } }> {
  const list = await pods(ns).list();
  const state = new Map<string, Pod>();
  for (const p of list.items) state.set(p.metadata.name!, p);
  let maxSeen = 0;
  let minAvailableSeen = Infinity;
  let steps = 0;
  const violations: string[] = [];
  const check = (what: string) => {
    steps++;
    const all = [...state.values()];
    const available = all.filter((p) => isReady(p) && !p.metadata.deletionTimestamp).length;
    maxSeen = Math.max(maxSeen, all.length);
    minAvailableSeen = Math.min(minAvailableSeen, available);
    if (all.length > maxPods) violations.push(`${what}: ${all.length} pods > ${maxPods}`);
    if (available < minAvailable) violations.push(`${what}: ${available} available < ${minAvailable}`);
  };
  check('start');
  const h = pods(ns).watch(
    { resourceVersion: list.metadata.resourceVersion },
    {
      onEvent: (ev) => {
        const p = ev.object as Pod;
        if (ev.type === 'DELETED') state.delete(p.metadata.name!);
        else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') state.set(p.metadata.name!, p);
        else return;
        check(`${ev.type} ${p.metadata.name}`);
      },
      onClose: () => undefined,
    },
  );
  return {
    stop() {
      h.close();
      return { maxSeen, minAvailableSeen, steps, violations };
    },
  };
}

async function complete(ns: string, name: string, timeoutMs = 30_000): Promise<Deployment> {
  return eventually(
    async () => {
      const d = await deployments(ns).get(name);
      const s = d.status ?? {};
      const r = d.spec.replicas ?? 1;
      return (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (s.updatedReplicas ?? 0) === r && (s.replicas ?? 0) === r && (s.availableReplicas ?? 0) === r && d;
    },
    `deployment ${name} complete`,
    timeoutMs,
  );
}

async function setImage(ns: string, name: string, image: string): Promise<void> {
  await deployments(ns).patch(name, 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } });
}

test('a Deployment scaled from 0 to 10 runs one ReplicaSet of 10 pods and reports what kubectl reads', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('hello', { replicas: 0 }));
    const [rs0] = await eventually(async () => {
      const l = await rsList(ns);
      return l.length === 1 && l;
    }, 'the ReplicaSet');
    assert.equal(rs0!.spec.replicas, 0);
    assert.equal(rs0!.metadata.name, `hello-${hashOf(rs0!)}`);
    assert.equal(rs0!.spec.template?.metadata?.labels?.['pod-template-hash'], hashOf(rs0!));
    assert.equal(rs0!.spec.selector?.matchLabels?.['pod-template-hash'], hashOf(rs0!));
    assert.equal(rs0!.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    await eventually(async () => (await deployments(ns).get('hello')).metadata.annotations?.['deployment.kubernetes.io/revision'] === '1', 'the Deployment revision');

    await deployments(ns).patch('hello', 'merge', { spec: { replicas: 10 } }, { subresource: 'scale' });
    await eventually(async () => (await podList(ns)).length === 10, '10 pods');
    const rd = readier(ns, () => true, 0);
    const d = await complete(ns, 'hello');
    await rd.stop();
    const rss = await rsList(ns);
    assert.equal(rss.length, 1);
    assert.equal(rss[0]!.spec.replicas, 10);
    assert.equal(rss[0]!.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '10');
    assert.equal(rss[0]!.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '13');
    assert.deepEqual({ ...d.status, conditions: undefined }, { observedGeneration: 2, replicas: 10, updatedReplicas: 10, readyReplicas: 10, availableReplicas: 10, conditions: undefined });
    const conds = Object.fromEntries((d.status?.conditions ?? []).map((c) => [c.type, c]));
    assert.equal(conds.Available?.status, 'True');
    assert.equal(conds.Available?.reason, 'MinimumReplicasAvailable');
    assert.equal(conds.Available?.message, 'Deployment has minimum availability.');
    const progressing = await eventually(async () => {
      const c = (await deployments(ns).get('hello')).status?.conditions?.find((x) => x.type === 'Progressing');
      return c?.reason === 'NewReplicaSetAvailable' && c;
    }, 'Progressing NewReplicaSetAvailable');
    assert.equal(progressing.status, 'True');
    assert.equal(progressing.message, `ReplicaSet "${rss[0]!.metadata.name}" has successfully progressed.`);
    const evs = await eventually(async () => {
      const e = await deploymentEvents(ns);
      return e.length > 0 && e;
    }, 'events');
    assert.deepEqual(evs, [`ScalingReplicaSet: Scaled up replica set ${rss[0]!.metadata.name} to 10 from 0`]);
  } finally {
    await m.stop();
  }
});

test('a new image rolls out within maxSurge and maxUnavailable at every observed step, and rollout undo returns to the old ReplicaSet', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('web', { replicas: 10 }));
    const rd0 = readier(ns, () => true, 0);
    await complete(ns, 'web');
    await rd0.stop();
    const [first] = await rsList(ns);

    // 25% of 10: maxSurge 3 (rounded up), maxUnavailable 2 (rounded down)
    const bounds = await watchBounds(ns, 13, 8);
    await setImage(ns, 'web', 'registry.k8s.io/echoserver:1.10');
    const newRS = await eventually(async () => (await rsList(ns)).find((r) => r.metadata.uid !== first!.metadata.uid), 'the new ReplicaSet');
    const rd = readier(ns, (p) => hashOf(p) === hashOf(newRS));
    const d = await complete(ns, 'web');
    await rd.stop();
    await sleep(100);
    const seen = bounds.stop();
    assert.deepEqual(seen.violations, []);
    // every one of 10 creations, 10 readiness changes and 10 deletions was checked
    assert.ok(seen.steps >= 31, `steps observed: ${seen.steps}`);
    assert.equal(seen.maxSeen, 13, 'the surge was used');
    assert.ok(seen.minAvailableSeen >= 8);

    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const after = await rsList(ns);
    assert.equal(after.length, 2);
    const old = after.find((r) => r.metadata.uid === first!.metadata.uid)!;
    const cur = after.find((r) => r.metadata.uid === newRS.metadata.uid)!;
    assert.equal(old.spec.replicas, 0);
    assert.equal(cur.spec.replicas, 10);
    assert.equal(old.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(cur.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const ps = await podList(ns);
    assert.equal(ps.length, 10);
    assert.ok(ps.every((p) => hashOf(p) === hashOf(cur)));
    const evs = await deploymentEvents(ns);
    assert.ok(evs.includes(`ScalingReplicaSet: Scaled up replica set ${cur.metadata.name} to 3`), evs.join('\n'));
    assert.ok(evs.includes(`ScalingReplicaSet: Scaled down replica set ${old.metadata.name} to 8 from 10`), evs.join('\n'));
    assert.ok(evs.some((e) => e.startsWith(`ScalingReplicaSet: Scaled down replica set ${old.metadata.name} to 0 from `)), evs.join('\n'));

    // kubectl rollout undo: a JSON patch putting the previous revision's template back
    const template = structuredClone(old.spec.template!);
    delete template.metadata!.labels!['pod-template-hash'];
    const annotations = { ...(d.metadata.annotations ?? {}) };
    await deployments(ns).patch('web', 'json', [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ]);
    const bounds2 = await watchBounds(ns, 13, 8);
    const rd2 = readier(ns, (p) => hashOf(p) === hashOf(old));
    const back = await complete(ns, 'web');
    await rd2.stop();
    await sleep(100);
    assert.deepEqual(bounds2.stop().violations, []);
    const rss = await rsList(ns);
    assert.equal(rss.length, 2, 'no third ReplicaSet: the old one is reused');
    const reused = rss.find((r) => r.metadata.uid === old.metadata.uid)!;
    assert.equal(reused.spec.replicas, 10);
    assert.equal(reused.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(reused.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal((back.spec.template?.spec as { containers: { image: string }[] }).containers[0]!.image, 'registry.k8s.io/echoserver:1.4');
  } finally {
    await m.stop();
  }
});

test('Recreate deletes every old pod before the first new one is created', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('batch', { replicas: 3, strategy: { type: 'Recreate' } }));
    const rd0 = readier(ns, () => true, 0);
    await complete(ns, 'batch');
    await rd0.stop();
    const [oldRS] = await rsList(ns);
    const mixed: string[] = [];
    const names = new Map<string, string | undefined>();
    const list = await pods(ns).list();
    for (const p of list.items) names.set(p.metadata.name!, hashOf(p));
    const h = pods(ns).watch(
      { resourceVersion: list.metadata.resourceVersion },
      {
        onEvent: (ev) => {
          const p = ev.object as Pod;
          if (ev.type === 'DELETED') names.delete(p.metadata.name!);
          else if (ev.type === 'ADDED') names.set(p.metadata.name!, hashOf(p));
          const hashes = new Set(names.values());
          if (hashes.size > 1) mixed.push([...names.entries()].join(' '));
        },
        onClose: () => undefined,
      },
    );
    await setImage(ns, 'batch', 'registry.k8s.io/echoserver:1.10');
    const rd = readier(ns, (p) => hashOf(p) !== hashOf(oldRS!), 0);
    await complete(ns, 'batch');
    await rd.stop();
    h.close();
    assert.deepEqual(mixed, []);
    const rss = await rsList(ns);
    assert.equal(rss.length, 2);
    assert.equal(rss.find((r) => r.metadata.uid === oldRS!.metadata.uid)!.spec.replicas, 0);
    const evs = await deploymentEvents(ns);
    const downAt = evs.indexOf(`ScalingReplicaSet: Scaled down replica set ${oldRS!.metadata.name} to 0 from 3`);
    const newName = rss.find((r) => r.metadata.uid !== oldRS!.metadata.uid)!.metadata.name;
    const upAt = evs.findIndex((e) => e.startsWith(`ScalingReplicaSet: Scaled up replica set ${newName} to 3`));
    assert.ok(downAt >= 0 && upAt > downAt, evs.join('\n'));
  } finally {
    await m.stop();
  }
});

test('a paused Deployment does not roll out a new template, still scales, and rolls out on resume', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('p', { replicas: 2 }));
    const rd = readier(ns, () => true, 0);
    await complete(ns, 'p');
    await deployments(ns).patch('p', 'merge', { spec: { paused: true } });
    const paused = await eventually(async () => {
      const c = (await deployments(ns).get('p')).status?.conditions?.find((x) => x.type === 'Progressing');
      return c?.reason === 'DeploymentPaused' && c;
    }, 'the paused condition');
    assert.equal(paused.status, 'Unknown');
    assert.equal(paused.message, 'Deployment is paused');
    await setImage(ns, 'p', 'registry.k8s.io/echoserver:1.10');
    await deployments(ns).patch('p', 'merge', { spec: { replicas: 4 } });
    await eventually(async () => (await podList(ns)).length === 4, 'scaled while paused');
    await eventually(async () => {
      const d = await deployments(ns).get('p');
      return d.status?.observedGeneration === d.metadata.generation;
    }, 'observed');
    assert.equal((await rsList(ns)).length, 1, 'no new ReplicaSet while paused');

    await deployments(ns).patch('p', 'merge', { spec: { paused: false } });
    await eventually(async () => (await rsList(ns)).length === 2, 'the rollout starts on resume');
    const d = await complete(ns, 'p');
    await rd.stop();
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const c = await eventually(async () => {
      const x = (await deployments(ns).get('p')).status?.conditions?.find((y) => y.type === 'Progressing');
      return x?.reason === 'NewReplicaSetAvailable' && x;
    }, 'progress after resume');
    assert.equal(c.status, 'True');
  } finally {
    await m.stop();
  }
});

test('scaling in the middle of a rollout scales old and new ReplicaSets in proportion', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('prop', { replicas: 10 }));
    const rd = readier(ns, () => true, 0);
    await complete(ns, 'prop');
    await rd.stop();
    const [first] = await rsList(ns);
    await setImage(ns, 'prop', 'registry.k8s.io/echoserver:does-not-start');
    // new pods never become ready: the rollout stops at old 8 + new 5 (13 = 10 + maxSurge)
    await eventually(async () => {
      const l = await rsList(ns);
      const o = l.find((r) => r.metadata.uid === first!.metadata.uid);
      const n = l.find((r) => r.metadata.uid !== first!.metadata.uid);
      return o?.spec.replicas === 8 && n?.spec.replicas === 5;
    }, 'the stalled rollout at 8 + 5');
    await deployments(ns).patch('prop', 'merge', { spec: { replicas: 20 } }, { subresource: 'scale' });
    const l = await eventually(async () => {
      const x = await rsList(ns);
      const o = x.find((r) => r.metadata.uid === first!.metadata.uid);
      const n = x.find((r) => r.metadata.uid !== first!.metadata.uid);
      return o?.spec.replicas === 15 && n?.spec.replicas === 10 && x;
    }, 'proportional sizes 15 + 10 (= 20 + maxSurge 5)');
    for (const r of l) {
      assert.equal(r.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '20');
      assert.equal(r.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '25');
    }
    const evs = await deploymentEvents(ns);
    assert.ok(evs.includes(`ScalingReplicaSet: Scaled up replica set ${first!.metadata.name} to 15 from 8`), evs.join('\n'));
  } finally {
    await m.stop();
  }
});

test('a rollout that makes no progress reports ProgressDeadlineExceeded', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('stuck', { replicas: 1, progressDeadlineSeconds: 1 }));
    const c = await eventually(
      async () => {
        const x = (await deployments(ns).get('stuck')).status?.conditions?.find((y) => y.type === 'Progressing');
        return x?.reason === 'ProgressDeadlineExceeded' && x;
      },
      'the deadline',
      10_000,
    );
    const [rs] = await rsList(ns);
    assert.equal(c.status, 'False');
    assert.equal(c.message, `ReplicaSet "${rs!.metadata.name}" has timed out progressing.`);
    const a = (await deployments(ns).get('stuck')).status?.conditions?.find((y) => y.type === 'Available');
    assert.equal(a?.status, 'False');
    assert.equal(a?.reason, 'MinimumReplicasUnavailable');
  } finally {
    await m.stop();
  }
});

test('old ReplicaSets beyond revisionHistoryLimit are deleted once a rollout completes', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('hist', { replicas: 1, revisionHistoryLimit: 1 }));
    const rd = readier(ns, () => true, 0);
    await complete(ns, 'hist');
    const revisions: string[] = [];
    for (const tag of ['2', '3', '4']) {
      await setImage(ns, 'hist', `registry.k8s.io/echoserver:${tag}`);
      await complete(ns, 'hist');
      revisions.push(tag);
    }
    await rd.stop();
    const rss = await eventually(async () => {
      const l = await rsList(ns);
      return l.length === 2 && l;
    }, 'two ReplicaSets left');
    const images = rss.map((r) => (r.spec.template?.spec as { containers: { image: string }[] }).containers[0]!.image).sort();
    assert.deepEqual(images, ['registry.k8s.io/echoserver:3', 'registry.k8s.io/echoserver:4']);
    const revs = rss.map((r) => r.metadata.annotations?.['deployment.kubernetes.io/revision']).sort();
    assert.deepEqual(revs, ['3', '4']);
  } finally {
    await m.stop();
  }
});

test('a hash collision with a foreign ReplicaSet bumps collisionCount and creates the ReplicaSet under another name', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    // paused, the controller creates no ReplicaSet yet: squat the name it would use
    const created = await deployments(ns).create(deploymentBody('col', { replicas: 1, paused: true }));
    const hash = computeHash(created.spec.template);
    await replicaSets(ns).create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `col-${hash}`, labels: { app: 'squatter' } },
      spec: { replicas: 0, selector: { matchLabels: { app: 'squatter' } }, template: { metadata: { labels: { app: 'squatter' } }, spec: { containers: [{ name: 'x', image: 'x' }] } } },
    });
    await deployments(ns).patch('col', 'merge', { spec: { paused: false } });
    const d = await eventually(async () => {
      const x = await deployments(ns).get('col');
      return x.status?.collisionCount === 1 && x;
    }, 'collisionCount 1');
    const owned = await eventually(async () => (await rsList(ns)).find((r) => r.metadata.ownerReferences?.[0]?.uid === d.metadata.uid), 'the Deployment ReplicaSet');
    assert.equal(owned.metadata.name, `col-${computeHash(created.spec.template, 1)}`);
    const squatter = await replicaSets(ns).get(`col-${hash}`);
    assert.equal(squatter.metadata.ownerReferences, undefined, 'the foreign ReplicaSet is left alone');
  } finally {
    await m.stop();
  }
});

test('a controller-manager restarted mid-rollout converges with no duplicate pods and no lost ReplicaSets', async () => {
  let m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('restart', { replicas: 10 }));
    const rd0 = readier(ns, () => true, 0);
    await complete(ns, 'restart');
    await rd0.stop();
    const [first] = await rsList(ns);
    const seenRS = new Set<string>();
    const rsWatch = replicaSets(ns).watch({}, { onEvent: (ev) => void seenRS.add((ev.object as ReplicaSet).metadata.uid!), onClose: () => undefined });
    const bounds = await watchBounds(ns, 13, 8);
    await setImage(ns, 'restart', 'registry.k8s.io/echoserver:1.10');
    const newRS = await eventually(async () => (await rsList(ns)).find((r) => r.metadata.uid !== first!.metadata.uid), 'the new ReplicaSet');
    const rd = readier(ns, (p) => hashOf(p) === hashOf(newRS), 30);
    await eventually(async () => (await podList(ns)).filter((p) => hashOf(p) === hashOf(newRS) && isReady(p)).length >= 4, 'the rollout under way');
    await m.stop();
    // the pods keep becoming ready while no controller runs
    await sleep(300);
    m = await manager();
    const d = await complete(ns, 'restart');
    await rd.stop();
    await sleep(100);
    rsWatch.close();
    assert.deepEqual(bounds.stop().violations, []);
    const rss = await rsList(ns);
    assert.equal(rss.length, 2, 'no ReplicaSet lost or added');
    assert.deepEqual([...seenRS].sort(), [first!.metadata.uid, newRS.metadata.uid].sort(), 'no other ReplicaSet ever existed');
    const ps = await podList(ns);
    assert.equal(ps.length, 10);
    assert.ok(ps.every((p) => hashOf(p) === hashOf(newRS)));
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  } finally {
    await m.stop();
  }
});

test('the deprecated rollback request (deprecated.deployment.rollback.to) puts the previous template back and is cleared', async () => {
  const m = await manager();
  const ns = await namespace();
  try {
    await deployments(ns).create(deploymentBody('rb', { replicas: 1 }));
    const rd = readier(ns, () => true, 0);
    await complete(ns, 'rb');
    await setImage(ns, 'rb', 'registry.k8s.io/echoserver:1.10');
    await complete(ns, 'rb');
    await deployments(ns).patch('rb', 'merge', { metadata: { annotations: { 'deprecated.deployment.rollback.to': '0' } } });
    const d = await eventually(async () => {
      const x = await deployments(ns).get('rb');
      return !x.metadata.annotations?.['deprecated.deployment.rollback.to'] && (x.spec.template?.spec as { containers: { image: string }[] }).containers[0]!.image === 'registry.k8s.io/echoserver:1.4' && x;
    }, 'the template rolled back and the request cleared');
    await complete(ns, 'rb');
    await rd.stop();
    assert.equal((await rsList(ns)).length, 2);
    const evs = await deploymentEvents(ns);
    assert.ok(evs.includes(`DeploymentRollback: Rolled back deployment "${d.metadata.name}" to revision 1`), evs.join('\n'));
  } finally {
    await m.stop();
  }
});

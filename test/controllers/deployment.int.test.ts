// Acceptance for Deployments with the real kubectl against a real `rudder server` (its
// controller-manager running the deployment and replicaset controllers), the seed flow of
// shared/seeds/003: create a Deployment, scale it to 10, `set image` and watch the rollout keep
// within maxSurge/maxUnavailable at every observed step, `rollout status`, `rollout history`,
// `rollout undo` back, `rollout restart`, `rollout pause`/`resume`, and what `kubectl describe`
// shows. No kubelet runs (--disable-agent): a stand-in marks pods Running and Ready through the
// status subresource, as a kubelet would report them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { httpsTransportFromKubeconfig } from '../../src/client/https.ts';
import { eventually, startServer, type TestServer } from '../harness.ts';

type Json = any;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isReady = (p: Json) => !!p.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True');

describe('Deployments with kubectl', () => {
  let s: TestServer;
  let client: Client;

  const json = async (args: string[]) => JSON.parse(await s.k([...args, '-o', 'json']));
  const pods = async (): Promise<Json[]> => (await json(['get', 'pods', '-l', 'app=hello-world'])).items;
  const replicaSets = async (): Promise<Json[]> => (await json(['get', 'replicasets', '-l', 'app=hello-world'])).items;

  /** Marks one pod Running and Ready through the status subresource, as the kubelet reports it. */
  const markReady = async (name: string) => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
    const r = await s.request('PATCH', `/api/v1/namespaces/default/pods/${name}/status`, {
      headers: { 'content-type': 'application/merge-patch+json' },
      body: { status: { phase: 'Running', startTime: now, conditions: [cond('PodScheduled'), cond('Initialized'), cond('ContainersReady'), cond('Ready')] } },
    });
    assert.ok(r.status === 200 || r.status === 404, r.text());
  };

  /** The kubelet stand-in: readies pods one at a time (those `which` selects) until stopped. */
  const readier = (which: (p: Json) => boolean = () => true) => {
    let running = true;
    const loop = (async () => {
      while (running) {
        const list = (await s.request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dhello-world')).json().items as Json[];
        const next = list.find((p) => !isReady(p) && !p.metadata.deletionTimestamp && which(p));
        if (next) await markReady(next.metadata.name);
        await sleep(next ? 20 : 50);
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
      },
    };
  };

  /** Watches the Deployment's pods and records every state that breaks the rollout bounds. */
  const watchBounds = async (maxPods: number, minAvailable: number) => {
    const podsApi = client.resource('', 'pods').namespace('default');
    const list = await podsApi.list({ labelSelector: 'app=hello-world' });
    const state = new Map<string, Json>(list.items.map((p) => [p.metadata.name!, p]));
    const violations: string[] = [];
    let steps = 0;
    let maxSeen = 0;
    const h = podsApi.watch(
      { labelSelector: 'app=hello-world', resourceVersion: list.metadata.resourceVersion },
      {
        onEvent: (ev) => {
          const p = ev.object as Json;
          if (ev.type === 'DELETED') state.delete(p.metadata.name);
          else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') state.set(p.metadata.name, p);
          else return;
          steps++;
          const all = [...state.values()];
          const available = all.filter((x) => isReady(x) && !x.metadata.deletionTimestamp).length;
          maxSeen = Math.max(maxSeen, all.length);
          if (all.length > maxPods) violations.push(`${ev.type} ${p.metadata.name}: ${all.length} pods > ${maxPods}`);
          if (available < minAvailable) violations.push(`${ev.type} ${p.metadata.name}: ${available} available < ${minAvailable}`);
        },
        onClose: () => undefined,
      },
    );
    return {
      stop() {
        h.close();
        return { violations, steps, maxSeen };
      },
    };
  };

  const rolloutStatus = async () => {
    const r = await s.kubectl(['rollout', 'status', 'deployment/hello-world', '--timeout=90s'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /deployment "hello-world" successfully rolled out\n$/);
    return r.stdout;
  };

  before(async () => {
    s = await startServer();
    client = new Client(httpsTransportFromKubeconfig(s.kubeconfig).transport);
  });
  after(async () => {
    await client?.transport.close();
    await s?.stop();
  });

  test('kubectl create deployment runs one pod; scale to 10 runs ten; rollout status reports success', async () => {
    assert.equal((await s.k(['create', 'deployment', 'hello-world', '--image=registry.k8s.io/echoserver:1.4'])).trim(), 'deployment.apps/hello-world created');
    const rd = readier();
    try {
      await eventually(async () => (await pods()).length === 1, 20_000, 'the first pod');
      assert.equal((await s.k(['scale', 'deployment', 'hello-world', '--replicas=10'])).trim(), 'deployment.apps/hello-world scaled');
      await rolloutStatus();
    } finally {
      await rd.stop();
    }
    const d = await json(['get', 'deployment', 'hello-world']);
    assert.deepEqual([d.status.replicas, d.status.updatedReplicas, d.status.readyReplicas, d.status.availableReplicas], [10, 10, 10, 10]);
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    const table = await s.k(['get', 'deployment', 'hello-world']);
    assert.match(table, /hello-world\s+10\/10\s+10\s+10\s/);
    const [rs] = await replicaSets();
    assert.match(rs.metadata.name, /^hello-world-[bcdfghjklmnpqrstvwxz2456789]+$/);
    const described = await s.k(['describe', 'deployment', 'hello-world']);
    assert.match(described, new RegExp(`ScalingReplicaSet\\s+\\S+\\s+deployment-controller\\s+Scaled up replica set ${rs.metadata.name} to 1\\n`));
    assert.match(described, new RegExp(`ScalingReplicaSet\\s+\\S+\\s+deployment-controller\\s+Scaled up replica set ${rs.metadata.name} to 10 from 1`));
    assert.match(described, /Available\s+True\s+MinimumReplicasAvailable/);
    assert.match(described, /Progressing\s+True\s+NewReplicaSetAvailable/);
    assert.match(described, new RegExp(`NewReplicaSet:\\s+${rs.metadata.name} \\(10/10 replicas created\\)`));
  });

  test('kubectl set image rolls out within maxSurge 3 and maxUnavailable 2 at every observed step', async () => {
    const [old] = await replicaSets();
    const bounds = await watchBounds(13, 8);
    assert.equal((await s.k(['set', 'image', 'deployment/hello-world', 'echoserver=registry.k8s.io/echoserver:1.10'])).trim(), 'deployment.apps/hello-world image updated');
    const rd = readier((p) => p.metadata.labels['pod-template-hash'] !== old.metadata.labels['pod-template-hash']);
    let out: string;
    try {
      out = await rolloutStatus();
    } finally {
      await rd.stop();
    }
    await sleep(200);
    const seen = bounds.stop();
    assert.deepEqual(seen.violations, []);
    assert.ok(seen.steps >= 30, `steps observed: ${seen.steps}`);
    assert.match(out, /Waiting for deployment "hello-world" rollout to finish: \d+ (out of 10 new replicas have been updated|old replicas are pending termination|of 10 updated replicas are available)\.\.\./);
    const rss = await replicaSets();
    assert.equal(rss.length, 2);
    const ps = await pods();
    assert.equal(ps.length, 10);
    assert.ok(ps.every((p) => p.spec.containers[0].image === 'registry.k8s.io/echoserver:1.10'));
    const history = await s.k(['rollout', 'history', 'deployment/hello-world']);
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
  });

  test('kubectl rollout undo goes back to the previous ReplicaSet, and history moves it to revision 3', async () => {
    const before = await replicaSets();
    const rev1 = before.find((r) => r.metadata.annotations['deployment.kubernetes.io/revision'] === '1');
    assert.equal((await s.k(['rollout', 'undo', 'deployment/hello-world'])).trim(), 'deployment.apps/hello-world rolled back');
    const bounds = await watchBounds(13, 8);
    const rd = readier((p) => p.metadata.labels['pod-template-hash'] === rev1.metadata.labels['pod-template-hash']);
    try {
      await rolloutStatus();
    } finally {
      await rd.stop();
    }
    assert.deepEqual(bounds.stop().violations, []);
    const after = await replicaSets();
    assert.equal(after.length, 2, 'the old ReplicaSet is reused, none is created');
    const reused = after.find((r) => r.metadata.uid === rev1.metadata.uid);
    assert.equal(reused.spec.replicas, 10);
    assert.equal(reused.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    assert.equal(reused.metadata.annotations['deployment.kubernetes.io/revision-history'], '1');
    const ps = await pods();
    assert.ok(ps.length === 10 && ps.every((p) => p.spec.containers[0].image === 'registry.k8s.io/echoserver:1.4'));
    const history = await s.k(['rollout', 'history', 'deployment/hello-world']);
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n/);
    const detail = await s.k(['rollout', 'history', 'deployment/hello-world', '--revision=3']);
    assert.match(detail, /Image:\s+registry\.k8s\.io\/echoserver:1\.4/);
  });

  test('kubectl rollout restart rolls every pod onto a new ReplicaSet', async () => {
    const beforePods = new Set((await pods()).map((p) => p.metadata.name));
    assert.equal((await s.k(['rollout', 'restart', 'deployment/hello-world'])).trim(), 'deployment.apps/hello-world restarted');
    const rd = readier((p) => !beforePods.has(p.metadata.name));
    try {
      await rolloutStatus();
    } finally {
      await rd.stop();
    }
    const ps = await pods();
    assert.equal(ps.length, 10);
    assert.ok(ps.every((p) => !beforePods.has(p.metadata.name) && p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']));
    assert.equal((await replicaSets()).length, 3);
    const d = await json(['get', 'deployment', 'hello-world']);
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '4');
  });

  test('kubectl rollout pause holds a new image back until kubectl rollout resume', async () => {
    assert.equal((await s.k(['rollout', 'pause', 'deployment/hello-world'])).trim(), 'deployment.apps/hello-world paused');
    await s.k(['set', 'image', 'deployment/hello-world', 'echoserver=registry.k8s.io/echoserver:1.11']);
    await eventually(async () => {
      const d = await json(['get', 'deployment', 'hello-world']);
      return d.status.observedGeneration === d.metadata.generation && d.status.conditions.some((c: Json) => c.type === 'Progressing' && c.reason === 'DeploymentPaused');
    }, 20_000, 'the paused Deployment observed');
    assert.equal((await replicaSets()).length, 3, 'no ReplicaSet for the new image while paused');
    assert.equal((await s.k(['rollout', 'resume', 'deployment/hello-world'])).trim(), 'deployment.apps/hello-world resumed');
    const rd = readier((p) => p.spec.containers[0].image === 'registry.k8s.io/echoserver:1.11');
    try {
      await rolloutStatus();
    } finally {
      await rd.stop();
    }
    const ps = await pods();
    assert.ok(ps.length === 10 && ps.every((p) => p.spec.containers[0].image === 'registry.k8s.io/echoserver:1.11'));
  });
});

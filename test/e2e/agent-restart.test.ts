// An agent killed with SIGKILL and started again (as root; cluster.ts): its containers keep
// running through the outage and the new agent adopts them — the same container IDs, no restart,
// no duplicate — and its containerd too when that survived, or starts a new one when it did not.
// What changed in the API while the agent was down (a pod deleted) is carried out once it is back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CriClient } from '../../src/kubelet/cri/client.ts';
import { agentPaths } from '../../src/kubelet/runtime/agent-runtime.ts';
import { containerdPaths } from '../../src/kubelet/runtime/containerd.ts';
import { startCluster, type E2ECluster, type E2ENode } from './cluster.ts';
import { httpGetIn, isReady, sleep, until, waitPods, type PodJson } from './kube.ts';

const TESTSERVER = 'registry.rudder.test/testserver:1';

interface RuntimeView {
  containers: { id: string; podUid: string; state: string; createdAt: string }[];
  sandboxes: { id: string; podUid: string; state: string }[];
}

async function runtimeView(node: E2ENode): Promise<RuntimeView> {
  const cri = new CriClient(`unix://${containerdPaths(agentPaths(node.dataDir).containerd).socket}`, { timeoutMs: 10_000 });
  try {
    const containers = (await cri.listContainers()).map((x) => ({ id: x.id, podUid: x.labels?.['io.kubernetes.pod.uid'] ?? '', state: x.state, createdAt: String(x.created_at) }));
    const sandboxes = (await cri.listPodSandbox()).map((x) => ({ id: x.id, podUid: x.metadata?.uid ?? '', state: x.state }));
    return { containers, sandboxes };
  } finally {
    cri.close();
  }
}

/** What must not change across an agent restart, per pod: container id, start time, restarts, IP. */
function fingerprint(ps: PodJson[]): Map<string, string> {
  return new Map(
    ps.map((p) => {
      const s = p.status.containerStatuses![0]!;
      return [p.metadata.uid, `${s.containerID} ${s.state.running?.startedAt} restarts=${s.restartCount} ip=${p.status.podIP}`];
    }),
  );
}

describe('an agent killed -9 and restarted', () => {
  let c: E2ECluster;
  let n1: E2ENode;
  before(async () => {
    c = await startCluster();
    n1 = await c.addNode('n1');
    await c.waitReady('n1');
    const labels = { app: 'steady' };
    await c.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'steady', namespace: 'default' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'testserver',
                  image: TESTSERVER,
                  readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
                  livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      }),
    });
    await waitPods(c, 'app=steady', (ps) => ps.length === 3 && ps.every(isReady));
  });
  after(async () => {
    await c?.destroy();
  });

  it('keeps its containers: after SIGKILL and a restart the pods have the same container IDs, restartCount 0, and nothing is duplicated; containerd is adopted', async () => {
    const before = await waitPods(c, 'app=steady', (ps) => ps.length === 3 && ps.every(isReady));
    const was = fingerprint(before);
    const rtBefore = await runtimeView(n1);
    const containerdPid = n1.containerdPid();
    assert.ok(containerdPid);
    for (const [, f] of was) assert.match(f, /restarts=0/);

    const oldAgent = n1.agent;
    await c.restartAgent('n1');
    assert.equal(oldAgent.running, false);
    assert.match(n1.agent.logs(), new RegExp(`containerd adopted \\(pid ${containerdPid}\\)`));
    assert.equal(n1.containerdPid(), containerdPid);

    // Give the new kubelet time to relist, sync every pod and probe them.
    await c.waitReady('n1');
    await sleep(5000);
    const after = await waitPods(c, 'app=steady', (ps) => ps.length === 3 && ps.every(isReady));
    assert.deepEqual(fingerprint(after), was);
    const rtAfter = await runtimeView(n1);
    assert.deepEqual(rtAfter.containers.map((x) => `${x.id} ${x.state}`).sort(), rtBefore.containers.map((x) => `${x.id} ${x.state}`).sort());
    assert.deepEqual(rtAfter.sandboxes.map((x) => x.id).sort(), rtBefore.sandboxes.map((x) => x.id).sort());
    // The kubelet started nothing and killed nothing: no Killing or Started events after the first ones.
    for (const p of after) {
      const reasons = (JSON.parse(await c.k(['get', 'events', '--field-selector', `involvedObject.name=${p.metadata.name}`, '-o', 'json'])).items as { reason: string; count?: number }[]).map(
        (e) => `${e.reason}x${e.count ?? 1}`,
      );
      assert.ok(!reasons.some((r) => /^Killing/.test(r)), reasons.join());
      assert.equal(reasons.filter((r) => /^Started/.test(r)).join(), 'Startedx1');
    }
  });

  it('while the agent is down the containers keep serving; a pod deleted meanwhile is stopped once it is back', async () => {
    const ps = await waitPods(c, 'app=steady', (ps) => ps.length === 3 && ps.every(isReady));
    const was = fingerprint(ps);
    const oldAgent = n1.agent;
    process.kill(oldAgent.pid!, 'SIGKILL');
    await oldAgent.exited();
    for (const p of ps) assert.equal((await httpGetIn(n1.ns, `http://${p.status.podIP}:8080/hostname`)).body.trim(), p.metadata.name, 'served with no agent');
    // Scale down while no kubelet watches: one pod is marked for deletion and waits for its node.
    const victim = ps[0]!;
    await c.k(['delete', 'pod', victim.metadata.name, '--wait=false']);
    await sleep(1000);
    const marked = JSON.parse(await c.k(['get', 'pod', victim.metadata.name, '-o', 'json']));
    assert.ok(marked.metadata.deletionTimestamp, 'graceful deletion waits for the kubelet');
    assert.ok((await runtimeView(n1)).containers.some((x) => x.podUid === victim.metadata.uid && x.state === 'CONTAINER_RUNNING'));

    await c.restartAgent('n1');
    await until('the deleted pod is gone', 60_000, async () => ((await c.kubectl(['get', 'pod', victim.metadata.name])).code !== 0 ? true : undefined));
    await until('its containers are gone', 30_000, async () => ((await runtimeView(n1)).containers.some((x) => x.podUid === victim.metadata.uid) ? undefined : true));
    // The survivors are untouched; the ReplicaSet's replacement runs beside them.
    const now = await waitPods(c, 'app=steady', (ps) => ps.length === 3 && ps.every(isReady));
    const fp = fingerprint(now);
    for (const p of ps.slice(1)) assert.equal(fp.get(p.metadata.uid), was.get(p.metadata.uid));
    const running = (await runtimeView(n1)).containers.filter((x) => x.state === 'CONTAINER_RUNNING');
    assert.deepEqual(running.map((x) => x.podUid).sort(), now.map((p) => p.metadata.uid).sort(), 'one running container per pod');
  });

  it('with containerd killed too, the restarted agent starts a new containerd and adopts the containers that survived it', async () => {
    const ps = await waitPods(c, 'app=steady', (ps) => ps.length === 3 && ps.every(isReady));
    const was = fingerprint(ps);
    const oldContainerd = n1.containerdPid()!;
    const oldAgent = n1.agent;
    process.kill(oldAgent.pid!, 'SIGKILL');
    await oldAgent.exited();
    process.kill(oldContainerd, 'SIGKILL');
    await until('containerd is gone', 10_000, async () => {
      try {
        process.kill(oldContainerd, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    // The shims hold the containers: they still serve.
    for (const p of ps) assert.equal((await httpGetIn(n1.ns, `http://${p.status.podIP}:8080/hostname`)).body.trim(), p.metadata.name);

    await c.restartAgent('n1');
    assert.match(n1.agent.logs(), /containerd started \(pid \d+\)/);
    assert.notEqual(n1.containerdPid(), oldContainerd);
    await c.waitReady('n1');
    await sleep(5000);
    const after = await waitPods(c, 'app=steady', (ps) => ps.length === 3 && ps.every(isReady));
    assert.deepEqual(fingerprint(after), was);
    const running = (await runtimeView(n1)).containers.filter((x) => x.state === 'CONTAINER_RUNNING');
    assert.deepEqual(running.map((x) => x.id).sort(), [...was.values()].map((f) => f.split(' ')[0]!.replace('containerd://', '')).sort());
  });
});

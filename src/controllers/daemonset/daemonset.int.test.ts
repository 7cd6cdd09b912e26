// The DaemonSet controller against an in-process API server with Node objects: placement by
// node selector and taints, node changes, rolling updates with maxUnavailable and maxSurge,
// OnDelete, failed pods, status. No scheduler runs: pods stay unbound with the node-name
// affinity the controller sets, and the test flips them Ready as a kubelet would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import type { Client } from '../../client/client.ts';
import { readyNode, setPodReady, startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { createNamespace, eventsFor, finishPod, waitFor } from '../workload/test-helpers.ts';
import { daemonSetController } from './daemonset-controller.ts';
import { targetNodeName } from './daemonset-utils.ts';

type Json = any;

function ds(name: string, o: { nodeSelector?: Record<string, string>; updateStrategy?: Json; image?: string } = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      ...(o.updateStrategy ? { updateStrategy: o.updateStrategy } : {}),
      template: {
        metadata: { labels: { app: name } },
        spec: { ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}), containers: [{ name: 'agent', image: o.image ?? 'agent:1' }] },
      },
    },
  };
}

describe('DaemonSet controller', () => {
  let env: ControllerTestEnv;
  let client: Client;
  let ns = 0;
  const nodes = () => client.resource('', 'nodes');
  const pods = (n: string) => client.resource('', 'pods').namespace(n);
  const sets = (n: string) => client.resource('apps', 'daemonsets').namespace(n);
  const live = async (n: string) => ((await pods(n).list()).items as Json[]).filter((p) => !p.metadata.deletionTimestamp);
  const byNode = async (n: string) => {
    const m: Record<string, Json[]> = {};
    for (const p of await live(n)) (m[targetNodeName(p)!] ??= []).push(p);
    return m;
  };
  const newNs = async () => {
    const name = `ds-${++ns}`;
    await createNamespace(client, name);
    return name;
  };
  const readyAll = async (n: string) => {
    for (const p of await live(n)) if (!p.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True')) await setPodReady(client, n, p.metadata.name);
  };
  const status = (n: string, name: string) => sets(n).get(name).then((d) => (d as Json).status ?? {});

  before(async () => {
    env = await startControllerTest([daemonSetController()], { log: process.env.CONTROLLER_LOG ? (m) => console.error(m) : undefined });
    client = env.client;
    await nodes().create(readyNode('node-a', { labels: { role: 'edge' } }));
    await nodes().create(readyNode('node-b', { labels: { role: 'edge' } }));
    await nodes().create(readyNode('node-c'));
  });
  after(async () => {
    await env.stop();
  });

  test('one pod per node the nodeSelector picks, bound by node affinity, with the daemon tolerations; status counts them', async () => {
    const n = await newNs();
    await sets(n).create(ds('edge', { nodeSelector: { role: 'edge' } }));
    const m = await waitFor('pods on node-a and node-b', async () => {
      const got = await byNode(n);
      return Object.keys(got).sort().join() === 'node-a,node-b' ? got : undefined;
    });
    const pod = m['node-a']![0];
    assert.match(pod.metadata.name, /^edge-[a-z0-9]{5}$/);
    assert.equal(pod.spec.nodeName, undefined, 'the scheduler binds it');
    assert.deepEqual(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-a'] }] },
    ]);
    const tolerated = pod.spec.tolerations.map((t: Json) => `${t.key}:${t.effect}`).sort();
    for (const t of ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/disk-pressure:NoSchedule', 'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/pid-pressure:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']) {
      assert.ok(tolerated.includes(t), `${t} in ${tolerated}`);
    }
    assert.ok(pod.spec.tolerations.every((t: Json) => t.tolerationSeconds === undefined), 'tolerated forever');
    assert.ok(pod.metadata.labels['controller-revision-hash']);
    assert.equal(pod.metadata.ownerReferences[0].kind, 'DaemonSet');

    let s = await waitFor('status 2 scheduled', async () => {
      const st = await status(n, 'edge');
      return st.currentNumberScheduled === 2 ? st : undefined;
    });
    assert.equal(s.desiredNumberScheduled, 2);
    assert.equal(s.numberReady, 0);
    assert.equal(s.numberMisscheduled, 0);
    assert.equal(s.numberUnavailable, 2);
    await readyAll(n);
    s = await waitFor('status ready', async () => {
      const st = await status(n, 'edge');
      return st.numberReady === 2 ? st : undefined;
    });
    assert.equal(s.numberAvailable, 2);
    assert.equal(s.updatedNumberScheduled, 2);
    assert.equal(s.numberUnavailable, undefined);
    const ds1 = await sets(n).get('edge');
    assert.equal(s.observedGeneration, ds1.metadata.generation);
    const events = await waitFor('create events', async () => {
      const ev = (await eventsFor(client, n, 'DaemonSet', 'edge')).filter((e) => e.reason === 'SuccessfulCreate');
      return ev.length === 2 ? ev : undefined;
    });
    assert.deepEqual(events.map((e) => e.message).sort(), [m['node-a']![0].metadata.name, m['node-b']![0].metadata.name].map((x) => `Created pod: ${x}`).sort());
    assert.ok(events.every((e) => e.source?.component === 'daemonset-controller'));

    // a node that gains the label gets a pod; one that loses it loses its pod
    await nodes().patch('node-c', 'merge', { metadata: { labels: { role: 'edge' } } });
    await waitFor('pod on node-c', async () => (await byNode(n))['node-c']?.length === 1);
    await nodes().patch('node-a', 'merge', { metadata: { labels: { role: null } } });
    await waitFor('node-a emptied', async () => !(await byNode(n))['node-a']);
    await nodes().patch('node-a', 'merge', { metadata: { labels: { role: 'edge' } } });
    await nodes().patch('node-c', 'merge', { metadata: { labels: { role: null } } });
    await waitFor('back on a and b', async () => Object.keys(await byNode(n)).sort().join() === 'node-a,node-b');
  });

  test('taints: NoSchedule keeps a running pod (counted misscheduled) but places no new one; NoExecute evicts', async () => {
    const n = await newNs();
    await sets(n).create(ds('t', { nodeSelector: { role: 'edge' } }));
    await waitFor('two pods', async () => Object.keys(await byNode(n)).length === 2);
    await readyAll(n);
    await nodes().patch('node-b', 'merge', { spec: { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] } });
    const s = await waitFor('misscheduled 1', async () => {
      const st = await status(n, 't');
      return st.numberMisscheduled === 1 ? st : undefined;
    });
    assert.equal(s.desiredNumberScheduled, 1);
    assert.equal((await byNode(n))['node-b']?.length, 1, 'the running pod stays');
    await nodes().patch('node-b', 'merge', { spec: { taints: [{ key: 'dedicated', value: 'x', effect: 'NoExecute' }] } });
    await waitFor('evicted from node-b', async () => !(await byNode(n))['node-b']);
    await nodes().patch('node-b', 'merge', { spec: { taints: null } });
    await waitFor('back on node-b', async () => (await byNode(n))['node-b']?.length === 1);
  });

  test('RollingUpdate with maxUnavailable 1 replaces one node at a time, never more than one unavailable', async () => {
    const n = await newNs();
    await nodes().patch('node-c', 'merge', { metadata: { labels: { role: 'edge' } } });
    try {
      await sets(n).create(ds('ru', { nodeSelector: { role: 'edge' } }));
      await waitFor('three pods', async () => Object.keys(await byNode(n)).length === 3);
      await readyAll(n);
      await waitFor('ready', async () => (await status(n, 'ru')).numberAvailable === 3);
      await sets(n).patch('ru', 'merge', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:2' }] } } } });
      const newHash = async () => {
        const revs = ((await client.resource('apps', 'controllerrevisions').namespace(n).list()).items as Json[]).sort((a, b) => b.revision - a.revision);
        return revs[0]?.revision === 2 ? revs[0].metadata.labels['controller-revision-hash'] : undefined;
      };
      const hash = await waitFor('second revision', newHash);
      let maxUnavailable = 0;
      await waitFor(
        'all updated',
        async () => {
          const all = await live(n);
          const m = await byNode(n);
          const unavailable = ['node-a', 'node-b', 'node-c'].filter((node) => !(m[node] ?? []).some((p) => p.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True'))).length;
          maxUnavailable = Math.max(maxUnavailable, unavailable);
          await readyAll(n);
          return all.length === 3 && all.every((p) => p.metadata.labels['controller-revision-hash'] === hash && p.spec.containers[0].image === 'agent:2') && unavailable === 0;
        },
        20_000,
      );
      assert.equal(maxUnavailable, 1, 'one node at a time');
      const s = await waitFor('status updated', async () => {
        const st = await status(n, 'ru');
        return st.updatedNumberScheduled === 3 && st.numberAvailable === 3 ? st : undefined;
      });
      assert.equal(s.desiredNumberScheduled, 3);
    } finally {
      await nodes().patch('node-c', 'merge', { metadata: { labels: { role: null } } });
    }
  });

  test('RollingUpdate with maxSurge 1 starts the new pod beside the old one and removes the old once the new is Ready', async () => {
    const n = await newNs();
    await sets(n).create(ds('surge', { nodeSelector: { role: 'edge' }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    await waitFor('two pods', async () => Object.keys(await byNode(n)).length === 2);
    await readyAll(n);
    await waitFor('ready', async () => (await status(n, 'surge')).numberAvailable === 2);
    await sets(n).patch('surge', 'merge', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:2' }] } } } });
    const surged = await waitFor('a node with two pods', async () => {
      const m = await byNode(n);
      return Object.entries(m).find(([, ps]) => ps.length === 2);
    });
    const [node, two] = surged;
    const oldPod = two.find((p: Json) => p.spec.containers[0].image === 'agent:1');
    const newPod = two.find((p: Json) => p.spec.containers[0].image === 'agent:2');
    assert.ok(oldPod && newPod);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await byNode(n))[node]!.length, 2, 'the old pod stays until the new one is Ready');
    assert.equal(Object.values(await byNode(n)).filter((ps) => ps.length === 2).length, 1, 'one surge pod at a time');
    await setPodReady(client, n, newPod.metadata.name);
    await waitFor('old pod removed', async () => (await byNode(n))[node]!.length === 1);
    await waitFor(
      'all updated',
      async () => {
        await readyAll(n);
        const all = await live(n);
        return all.length === 2 && all.every((p) => p.spec.containers[0].image === 'agent:2' && p.status?.conditions?.some((c: Json) => c.type === 'Ready' && c.status === 'True'));
      },
      20_000,
    );
  });

  test('OnDelete keeps old pods until deleted; a failed pod is replaced with a FailedDaemonPod warning', async () => {
    const n = await newNs();
    await sets(n).create(ds('od', { nodeSelector: { role: 'edge' }, updateStrategy: { type: 'OnDelete' } }));
    const m = await waitFor('two pods', async () => {
      const got = await byNode(n);
      return Object.keys(got).length === 2 ? got : undefined;
    });
    await readyAll(n);
    await sets(n).patch('od', 'merge', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'agent:2' }] } } } });
    await waitFor('revision 2', async () => (await client.resource('apps', 'controllerrevisions').namespace(n).list()).items.length === 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok((await live(n)).every((p) => p.spec.containers[0].image === 'agent:1'));
    await pods(n).delete(m['node-a']![0].metadata.name);
    await waitFor('node-a recreated with the new template', async () => (await byNode(n))['node-a']?.[0]?.spec.containers[0].image === 'agent:2');
    const onB = m['node-b']![0].metadata.name;
    await finishPod(client, n, onB, 'Failed');
    await waitFor('failed pod replaced', async () => {
      const b = (await byNode(n))['node-b'];
      return b?.length === 1 && b[0].metadata.name !== onB;
    });
    const warn = await waitFor('FailedDaemonPod', async () => (await eventsFor(client, n, 'DaemonSet', 'od')).find((e) => e.reason === 'FailedDaemonPod'));
    assert.equal(warn.type, 'Warning');
    assert.equal(warn.message, `Found failed daemon pod ${n}/${onB} on node node-b, will try to kill it`);
  });
});

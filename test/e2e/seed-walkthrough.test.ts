// The walkthrough of shared/seeds/003 ("Hello world on k8s"), for real and as root: `rudder server`
// and `rudder agent` nodes in network namespaces (cluster.ts), containers in each node's own
// containerd, the image pulled from the test registry, driven by the real kubectl. The seed's
// k8s.gcr.io/echoserver becomes the local test server image, its minikube node an agent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CriClient } from '../../src/kubelet/cri/client.ts';
import { agentPaths } from '../../src/kubelet/runtime/agent-runtime.ts';
import { containerdPaths } from '../../src/kubelet/runtime/containerd.ts';
import { startCluster, type E2ECluster, type E2ENode } from './cluster.ts';
import { httpGetIn, pods, until, waitPods, type PodJson } from './kube.ts';

const IMAGE = 'registry.rudder.test/testserver:1';

/** The sections of `kubectl describe` output: top-level "Key:" lines and what is indented below them. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let key = '';
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Za-z -]*):(.*)$/.exec(line);
    if (m) {
      key = m[1]!;
      out.set(key, m[2]!.trim());
    } else if (key) out.set(key, `${out.get(key)}\n${line}`);
  }
  return out;
}

/** The rows of the Events table of `kubectl describe`: type, reason, from, message. */
function eventRows(events: string): { type: string; reason: string; from: string; message: string }[] {
  const lines = events.split('\n');
  const header = lines.findIndex((l) => /^\s*Type\s+Reason\s+Age\s+From\s+Message/.test(l));
  assert.ok(header >= 0, `an Events table:\n${events}`);
  const cols = lines[header]!;
  const at = (name: string) => cols.indexOf(name);
  return lines
    .slice(header + 2)
    .filter((l) => l.trim())
    .map((l) => ({
      type: l.slice(at('Type'), at('Reason')).trim(),
      reason: l.slice(at('Reason'), at('Age')).trim(),
      from: l.slice(at('From'), at('Message')).trim(),
      message: l.slice(at('Message')).trim(),
    }));
}

async function containersOn(node: E2ENode): Promise<{ id: string; podUid: string; state: string }[]> {
  const cri = new CriClient(`unix://${containerdPaths(agentPaths(node.dataDir).containerd).socket}`, { timeoutMs: 10_000 });
  try {
    return (await cri.listContainers()).map((x) => ({ id: x.id, podUid: x.labels?.['io.kubernetes.pod.uid'] ?? '', state: x.state }));
  } finally {
    cri.close();
  }
}

describe('the seed walkthrough (shared/seeds/003) with the local test images', () => {
  let c: E2ECluster;
  let n1: E2ENode;
  let podName = '';
  before(async () => {
    c = await startCluster();
    n1 = await c.addNode('n1');
    await c.waitReady('n1');
  });
  after(async () => {
    await c?.destroy();
  });

  it('kubectl create deployment runs its pod: kubectl get pods shows it Running 1/1', async () => {
    assert.equal(await c.k(['create', 'deployment', 'hello-world', `--image=${IMAGE}`]), 'deployment.apps/hello-world created\n');
    await waitPods(c, 'app=hello-world', (ps) => ps.length === 1 && ps[0]!.status.containerStatuses?.[0]?.ready === true);
    const out = await c.k(['get', 'pods']);
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    assert.equal(lines.length, 2, out);
    const m = /^(hello-world-[a-z0-9]{6,10}-[a-z0-9]{5})\s+1\/1\s+Running\s+0\s+\d+s$/.exec(lines[1]!);
    assert.ok(m, `a Running 1/1 row:\n${out}`);
    podName = m[1]!;
  });

  it('kubectl describe pod reads like the seed: node, IP, owner, container, conditions, volumes, QoS, tolerations and the events Scheduled → Pulling → Pulled → Created → Started', async () => {
    assert.ok(podName, 'the pod of the first test');
    const text = await c.k(['describe', 'pod', podName]);
    const s = sections(text);
    const pod = (await pods(c, 'app=hello-world'))[0]!;
    const hash = pod.metadata.labels?.['pod-template-hash'];
    assert.equal(s.get('Name'), podName);
    assert.equal(s.get('Namespace'), 'default');
    assert.equal(s.get('Priority'), '0');
    assert.equal(s.get('Node'), `n1/${n1.ip}`);
    assert.match(s.get('Start Time') ?? '', /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    assert.equal(s.get('Labels'), `app=hello-world\n                  pod-template-hash=${hash}`);
    assert.equal(s.get('Status'), 'Running');
    assert.match(s.get('IP') ?? '', /^10\.42\.\d+\.\d+$/);
    assert.equal(s.get('IP'), pod.status.podIP);
    assert.equal(s.get('Controlled By'), `ReplicaSet/hello-world-${hash}`);

    const containers = s.get('Containers') ?? '';
    const cs = pod.status.containerStatuses![0]!;
    assert.match(containers, /^\s+testserver:$/m);
    assert.match(containers, new RegExp(`^\\s+Container ID:\\s+containerd://${cs.containerID!.replace('containerd://', '')}$`, 'm'));
    assert.match(cs.containerID!, /^containerd:\/\/[0-9a-f]{64}$/);
    assert.match(containers, new RegExp(`^\\s+Image:\\s+${IMAGE.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.match(containers, /^\s+Image ID:\s+registry\.rudder\.test\/testserver@sha256:[0-9a-f]{64}$/m);
    assert.match(containers, /^\s+State:\s+Running\n\s+Started:\s+\w{3}, /m);
    assert.match(containers, /^\s+Ready:\s+True$/m);
    assert.match(containers, /^\s+Restart Count:\s+0$/m);
    assert.match(containers, /^\s+Mounts:\n\s+\/var\/run\/secrets\/kubernetes\.io\/serviceaccount from kube-api-access-[a-z0-9]{5} \(ro\)$/m);

    const conditions = s.get('Conditions') ?? '';
    for (const t of ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) assert.match(conditions, new RegExp(`^\\s+${t}\\s+True\\s*$`, 'm'));
    assert.match(s.get('Volumes') ?? '', /^\s+kube-api-access-[a-z0-9]{5}:\n\s+Type:\s+Projected \(a volume that contains injected data from multiple sources\)$/m);
    assert.equal(s.get('QoS Class'), 'BestEffort');
    assert.equal(s.get('Node-Selectors'), '<none>');
    assert.match(s.get('Tolerations') ?? '', /^node\.kubernetes\.io\/not-ready:NoExecute op=Exists for 300s\n\s+node\.kubernetes\.io\/unreachable:NoExecute op=Exists for 300s$/);

    const rows = eventRows(s.get('Events') ?? '');
    assert.deepEqual(
      rows.map((r) => r.reason),
      ['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started'],
      text,
    );
    assert.ok(rows.every((r) => r.type === 'Normal'));
    assert.deepEqual(
      rows.map((r) => r.from),
      ['default-scheduler', 'kubelet', 'kubelet', 'kubelet', 'kubelet'],
    );
    const [scheduled, pulling, pulled, created, started] = rows.map((r) => r.message);
    assert.equal(scheduled, `Successfully assigned default/${podName} to n1`);
    assert.equal(pulling, `Pulling image "${IMAGE}"`);
    assert.match(pulled!, new RegExp(`^Successfully pulled image "${IMAGE.replace(/[.]/g, '\\.')}" in [\\d.]+m?s \\([\\d.]+m?s including waiting\\)\\. Image size: \\d+ bytes\\.$`));
    assert.equal(created, 'Created container: testserver');
    assert.equal(started, 'Started container testserver');
  });

  it('the pod serves on its IP, and kubectl expose makes a Service whose endpoints hold it', async () => {
    const pod = (await pods(c, 'app=hello-world'))[0]!;
    const r = await httpGetIn(n1.ns, `http://${pod.status.podIP}:8080/`);
    assert.equal(r.status, 200);
    assert.equal(r.body.trim(), `testserver ${pod.metadata.name}`);
    assert.equal(await c.k(['expose', 'deployment', 'hello-world', '--type=NodePort', '--port=8080']), 'service/hello-world exposed\n');
    const svc = JSON.parse(await c.k(['get', 'service', 'hello-world', '-o', 'json']));
    assert.equal(svc.spec.type, 'NodePort');
    assert.ok(svc.spec.ports[0].nodePort >= 30000 && svc.spec.ports[0].nodePort <= 32767);
    await until('the Service endpoints hold the pod', 30_000, async () => {
      const ep = JSON.parse(await c.k(['get', 'endpoints', 'hello-world', '-o', 'json']));
      const ips = (ep.subsets ?? []).flatMap((x: { addresses?: { ip: string }[] }) => (x.addresses ?? []).map((a) => a.ip));
      return ips.length === 1 && ips[0] === pod.status.podIP ? true : undefined;
    });
  });

  it('a second node joins and the deployment scaled out runs on both nodes', async () => {
    const n2 = await c.addNode('n2');
    await c.waitReady('n2');
    assert.equal(await c.k(['scale', 'deployment/hello-world', '--replicas=6']), 'deployment.apps/hello-world scaled\n');
    const ps = await waitPods(c, 'app=hello-world', (ps) => ps.length === 6 && ps.every((p) => p.status.containerStatuses?.[0]?.ready), 120_000);
    const perNode = new Map<string, PodJson[]>();
    for (const p of ps) perNode.set(p.spec.nodeName!, [...(perNode.get(p.spec.nodeName!) ?? []), p]);
    assert.deepEqual([...perNode.keys()].sort(), ['n1', 'n2'], 'pods on both nodes');
    // each node runs the containers of exactly the pods bound to it, with addresses from its own pod CIDR
    for (const node of [n1, n2]) {
      const nodeObj = JSON.parse(await c.k(['get', 'node', node.name, '-o', 'json']));
      const prefix = nodeObj.spec.podCIDR.replace(/\.0\/24$/, '.');
      const mine = perNode.get(node.name)!;
      for (const p of mine) assert.ok(p.status.podIP?.startsWith(prefix), `${p.metadata.name} ${p.status.podIP} in ${nodeObj.spec.podCIDR}`);
      const running = (await containersOn(node)).filter((x) => x.state === 'CONTAINER_RUNNING');
      assert.deepEqual(running.map((x) => x.podUid).sort(), mine.map((p) => p.metadata.uid).sort());
    }
    // a pod on n2 is reachable from n2's namespace
    const onN2 = perNode.get('n2')![0]!;
    assert.equal((await httpGetIn(n2.ns, `http://${onN2.status.podIP}:8080/hostname`)).body.trim(), onN2.metadata.name);
  });

  it('deleting the service and the deployment removes the pods and their containers from the nodes', async () => {
    await c.k(['delete', 'services', 'hello-world']);
    await c.k(['delete', 'deployment', 'hello-world']);
    await waitPods(c, 'app=hello-world', (ps) => ps.length === 0, 90_000);
    for (const node of c.nodes) {
      await until(`${node.name} has no containers left`, 30_000, async () => ((await containersOn(node)).length === 0 ? true : undefined));
    }
  });
});

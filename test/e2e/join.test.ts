// Nodes joining a cluster for real (as root): `rudder server` in one network namespace, agents in
// others, each with its own containerd, joined with tokens from `rudder token create`; images
// pulled from the test registry through the registries file. See cluster.ts for the layout and
// for why nothing here can reach past this machine.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startCluster, type E2ECluster } from './cluster.ts';

describe('joining nodes', () => {
  let c: E2ECluster;
  before(async () => {
    c = await startCluster();
  });
  after(async () => {
    await c?.destroy();
  });

  const inNamespace = (pid: number | undefined, ns: string) => !!pid && statSync(`/proc/${pid}/ns/net`).ino === statSync(`/run/netns/${ns}`).ino;

  it('an agent joins with a token from `rudder token create` and its node becomes Ready', async () => {
    const token = await c.token();
    assert.match(token, /^K10[0-9a-f]{64}::[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const n1 = await c.addNode('n1', { token });
    const node = await c.waitReady('n1');
    assert.deepEqual(node.status.addresses, [{ type: 'InternalIP', address: n1.ip }, { type: 'Hostname', address: 'n1' }]);
    assert.match(node.spec.podCIDR, /^10\.42\.\d+\.0\/24$/);
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    // the node joined through TLS bootstrapping: a request by the token's user, approved and issued
    const csrs = JSON.parse(await c.k(['get', 'csr', '-o', 'json'])).items as { spec: { username: string; signerName: string }; status: { conditions?: { type: string; reason: string }[]; certificate?: string } }[];
    const id = /::([a-z0-9]{6})\./.exec(token)![1];
    const joined = csrs.find((x) => x.spec.username === `system:bootstrap:${id}`);
    assert.equal(joined?.spec.signerName, 'kubernetes.io/kube-apiserver-client-kubelet');
    assert.equal(joined?.status.conditions?.[0]?.reason, 'AutoApproved');
    assert.ok(joined?.status.certificate);
    // the agent's containerd is its own, inside the node's namespace
    assert.ok(inNamespace(n1.containerdPid(), n1.ns), 'containerd runs in the node namespace');
  });

  it('network safety: the node blackholes the cluster and service CIDRs; no namespace has a default route', () => {
    const n1 = c.nodes.find((n) => n.name === 'n1')!;
    const blackholes = c.routes(n1.ns, 'type', 'blackhole');
    assert.match(blackholes, /^blackhole 10\.42\.0\.0\/16/m);
    assert.match(blackholes, /^blackhole 10\.43\.0\.0\/16/m);
    for (const ns of [c.fabricNs, c.serverNs, ...c.nodes.map((n) => n.ns)]) assert.doesNotMatch(c.routes(ns), /^default/m, ns);
  });

  it('a second node joins from another namespace with its own containerd', async () => {
    const n2 = await c.addNode('n2');
    await c.waitReady('n2');
    const n1 = c.nodes.find((n) => n.name === 'n1')!;
    assert.notEqual(n2.containerdPid(), n1.containerdPid());
    assert.ok(inNamespace(n2.containerdPid(), n2.ns));
    const names = (JSON.parse(await c.k(['get', 'nodes', '-o', 'json'])).items as { metadata: { name: string } }[]).map((n) => n.metadata.name).sort();
    assert.deepEqual(names, ['n1', 'n2']);
  });

  it('a pod bound to a node pulls its image through the registry mirror and runs', async () => {
    await c.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'pulled', namespace: 'default' },
        spec: { nodeName: 'n2', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36', command: ['sleep', '3600'] }] },
      }),
    });
    const end = Date.now() + 120_000;
    let pod: Record<string, any> = {};
    while (Date.now() < end) {
      pod = JSON.parse(await c.k(['get', 'pod', 'pulled', '-o', 'json']));
      if (pod.status?.phase === 'Running') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(pod.status?.phase, 'Running', JSON.stringify(pod.status));
    assert.match(pod.status.podIP, /^10\.42\.\d+\.\d+$/);
    const events = await c.k(['get', 'events', '--field-selector', 'involvedObject.name=pulled', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}']);
    assert.match(events, /^Pulling$/m);
    assert.match(events, /^Pulled$/m);
    await c.k(['delete', 'pod', 'pulled', '--wait=false']);
  });

  it('a wrong token is refused in one line and the agent exits non-zero', async () => {
    const good = await c.token();
    const wrong = good.replace(/\.[a-z0-9]{16}$/, '.0000000000000000');
    const r = await c.runAgentOnce('n3', wrong);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^rudder agent: the server at https:\/\/172\.31\.0\.2:6443 refused the join token [a-z0-9]{6}: it is wrong, expired or revoked \(make a new one with "rudder token create" on a server\)$/);
    assert.equal((await c.kubectl(['get', 'node', 'n3'])).code, 1);
  });
});

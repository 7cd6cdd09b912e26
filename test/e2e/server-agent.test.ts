// `rudder server` runs an agent on its own machine unless --disable-agent (as root): its node
// registers as system:node:<name> through the in-process transport, with its own containerd inside
// the server's network namespace, and runs pods.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SERVER_IP, SERVER_NODE, startCluster, type E2ECluster } from './cluster.ts';

describe("the server's own agent", () => {
  let c: E2ECluster;
  before(async () => {
    c = await startCluster({ serverAgent: true });
  });
  after(async () => {
    await c?.destroy();
  });

  it('registers the server machine as a node that becomes Ready', async () => {
    const node = await c.waitReady(SERVER_NODE);
    assert.deepEqual(node.status.addresses, [{ type: 'InternalIP', address: SERVER_IP }, { type: 'Hostname', address: SERVER_NODE }]);
    const srv = c.nodes.find((n) => n.name === SERVER_NODE)!;
    const pid = srv.containerdPid();
    assert.ok(pid && statSync(`/proc/${pid}/ns/net`).ino === statSync(`/run/netns/${c.serverNs}`).ino, "containerd runs in the server's namespace");
    const lease = JSON.parse(await c.k(['get', 'lease', '-n', 'kube-node-lease', SERVER_NODE, '-o', 'json']));
    assert.equal(lease.spec.holderIdentity, SERVER_NODE);
    assert.match(c.routes(c.serverNs, 'type', 'blackhole'), /^blackhole 10\.42\.0\.0\/16[\s\S]*^blackhole 10\.43\.0\.0\/16/m);
  });

  it('runs a pod bound to it, with its image pulled through the registry mirror', async () => {
    await c.k(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'on-server', namespace: 'default' },
        spec: { nodeName: SERVER_NODE, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'registry.rudder.test/testserver:1', args: ['sleep', '3600'] }] },
      }),
    });
    const end = Date.now() + 120_000;
    let pod: Record<string, any> = {};
    while (Date.now() < end) {
      pod = JSON.parse(await c.k(['get', 'pod', 'on-server', '-o', 'json']));
      if (pod.status?.phase === 'Running') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(pod.status?.phase, 'Running', JSON.stringify(pod.status));
    await c.k(['delete', 'pod', 'on-server', '--wait=false']);
  });
});

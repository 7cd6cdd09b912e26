// Hollow nodes at scale against a real server (cluster.ts; the server in its own network namespace):
// `rudder sim --nodes 100` joins a hundred nodes with one join token, each bootstrapping its own
// certificate, and a Deployment of 1,000 replicas is scheduled over them and becomes Ready —
// the controllers, the scheduler and a hundred kubelets (simulated runtime) at once.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCluster, type E2ECluster, type NsProcess } from './cluster.ts';
import { until } from './kube.ts';

const NODES = 100;
const REPLICAS = 1000;

interface NodeList {
  items: { metadata: { name: string; labels?: Record<string, string> }; spec: { podCIDR?: string }; status: { conditions?: { type: string; status: string }[] } }[];
}

describe(`rudder sim --nodes ${NODES} and a Deployment of ${REPLICAS} replicas`, () => {
  let c: E2ECluster;
  let sim: NsProcess;
  before(async () => {
    c = await startCluster();
  });
  after(async () => {
    await c?.destroy();
  });

  it(`${NODES} hollow nodes join with one token and become Ready`, async () => {
    const token = await c.token();
    sim = c.rudder(['sim', '--server', c.serverUrl, '--token', token, '--nodes', String(NODES), '--data-dir', join(c.dir, 'sim')]);
    await sim.waitFor(new RegExp(`${NODES} hollow nodes \\(hollow-node-00 … hollow-node-99\\) started in \\d+ ms`), 240_000, 'rudder sim');
    const nodes = await until(
      `${NODES} Ready nodes`,
      60_000,
      async () => {
        const list = JSON.parse(await c.k(['get', 'nodes', '-o', 'json'])) as NodeList;
        const ready = list.items.filter((n) => n.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
        return ready.length === NODES ? list : undefined;
      },
      () => sim.logs().slice(-2000),
      2000,
    );
    assert.deepEqual(
      nodes.items.map((n) => n.metadata.name).sort(),
      Array.from({ length: NODES }, (_, i) => `hollow-node-${String(i).padStart(2, '0')}`),
    );
    // Each is a node in its own right: a hostname label, a pod CIDR of its own, a Lease it renews.
    assert.equal(new Set(nodes.items.map((n) => n.spec.podCIDR)).size, NODES);
    for (const n of nodes.items) assert.equal(n.metadata.labels?.['kubernetes.io/hostname'], n.metadata.name);
    const leases = JSON.parse(await c.k(['get', 'leases', '-n', 'kube-node-lease', '-o', 'json'])).items as { spec: { holderIdentity: string } }[];
    assert.equal(leases.filter((l) => l.spec.holderIdentity.startsWith('hollow-node-')).length, NODES);
    // Joined through TLS bootstrapping: one issued node certificate each.
    const csrs = JSON.parse(await c.k(['get', 'csr', '-o', 'json'])).items as { spec: { signerName: string }; status: { certificate?: string } }[];
    assert.equal(csrs.filter((x) => x.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet' && x.status.certificate).length, NODES);
  });

  it(`a Deployment of ${REPLICAS} replicas spreads over them and becomes Ready`, async () => {
    assert.ok(sim?.running, 'the sim of the first test runs');
    const t0 = Date.now();
    await c.k(['create', 'deployment', 'scale', '--image=registry.rudder.test/testserver:1', `--replicas=${REPLICAS}`]);
    let last = '';
    await until(
      `${REPLICAS} ready replicas`,
      300_000,
      async () => {
        const d = JSON.parse(await c.k(['get', 'deployment', 'scale', '-o', 'json']));
        last = JSON.stringify(d.status);
        return d.status?.readyReplicas === REPLICAS && d.status?.availableReplicas === REPLICAS ? true : undefined;
      },
      () => `${last}\n${sim.logs().slice(-2000)}`,
      2000,
    );
    const took = Date.now() - t0;
    const row = (await c.k(['get', 'deployment', 'scale', '--no-headers'])).trim();
    assert.match(row, new RegExp(`^scale\\s+${REPLICAS}/${REPLICAS}\\s+${REPLICAS}\\s+${REPLICAS}\\s`));
    const pods = JSON.parse(await c.k(['get', 'pods', '-l', 'app=scale', '-o', 'json'])).items as { spec: { nodeName?: string }; status: { phase?: string; podIP?: string } }[];
    assert.equal(pods.length, REPLICAS);
    assert.ok(pods.every((p) => p.status.phase === 'Running' && p.status.podIP));
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    assert.equal(perNode.size, NODES, 'every hollow node runs some');
    // The scheduler's spreading keeps the nodes even (the default topology spread allows a skew of 3).
    const counts = [...perNode.values()];
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 6, `pods per node between ${Math.min(...counts)} and ${Math.max(...counts)}`);
    process.stderr.write(`# ${REPLICAS} replicas Ready on ${NODES} hollow nodes in ${took} ms\n`);
    await c.k(['delete', 'deployment', 'scale', '--wait=false']);
  });
});

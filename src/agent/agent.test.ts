// The agent end to end with the simulated runtime (no root needed): it joins with a token, its
// node registers and becomes Ready under its own certificate, the kubelet's serving certificate is
// issued for the node's addresses, plugged-in components get what they need and stop with it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KObject } from '../api/meta.ts';
import { agentPreflight, runAgent, type AgentHookContext, type AgentOptions, type RunningAgent } from './agent.ts';
import { startAgentTestCluster, type AgentTestCluster } from './testing.ts';

interface NodeObj extends KObject {
  spec?: { podCIDR?: string };
  status?: { conditions?: { type: string; status: string }[]; addresses?: { type: string; address: string }[] };
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('preflight', () => {
  it('says in one line what is missing and how to fix it, and lets --simulated through', () => {
    assert.equal(agentPreflight({ simulated: true, uid: 1000 }), undefined);
    assert.equal(
      agentPreflight({ simulated: false, uid: 1000 }),
      'running containers needs root: run the agent as root, or use --simulated, or point --container-runtime-endpoint at a running containerd',
    );
    assert.equal(agentPreflight({ simulated: false, containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock', uid: 1000 }), 'the agent installs network routes and needs root: run it as root, or use --simulated');
    assert.equal(agentPreflight({ simulated: false, uid: 0, path: '/nonexistent' }), 'containerd is not installed: install with: apt-get install containerd runc containernetworking-plugins');
  });
});

describe('a simulated agent joining a cluster', () => {
  let cluster: AgentTestCluster;
  let dir: string;
  let agent: RunningAgent | undefined;
  let hookCtx: AgentHookContext | undefined;
  let hookStopped = false;
  let proxyCtx: AgentHookContext | undefined;
  let options: AgentOptions;

  before(async () => {
    cluster = await startAgentTestCluster();
    dir = mkdtempSync(join(tmpdir(), 'rudder-agent-'));
    const { token } = await cluster.joinToken();
    options = {
      server: cluster.url,
      token,
      dataDir: dir,
      nodeName: 'hollow-1',
      nodeIPs: ['192.0.2.50'],
      kubeletPort: 10250,
      simulated: true,
      clusterDns: ['10.43.0.10'],
      resolvConf: '',
      clusterCidr: '10.42.0.0/16',
      serviceCidr: '10.43.0.0/16',
    };
  });
  after(async () => {
    await agent?.stop();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers its node, which becomes Ready and gets a pod CIDR', async () => {
    agent = await runAgent(options, {
      transportFor: cluster.transportFor,
      log: () => {},
      kubelet: { relistPeriodMs: 200, nodeStatusUpdateFrequencyMs: 1000 },
      hooks: {
        kubeletServer: async (ctx) => {
          hookCtx = ctx;
          return { stop: async () => void (hookStopped = true) };
        },
        proxy: async (ctx) => {
          proxyCtx = ctx;
          return { stop: async () => {} };
        },
      },
    });
    await agent.kubelet.ready();
    const node = await until('a Ready node', async () => {
      const n = await cluster.admin.resource<NodeObj>('', 'nodes').get('hollow-1');
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && n.spec?.podCIDR ? n : undefined;
    });
    assert.match(node.spec!.podCIDR!, /^10\.42\.\d+\.0\/24$/);
    assert.deepEqual(node.status?.addresses, [{ type: 'InternalIP', address: '192.0.2.50' }, { type: 'Hostname', address: 'hollow-1' }]);
    const lease = await cluster.admin.resource<KObject & { spec: { holderIdentity: string } }>('coordination.k8s.io', 'leases').namespace('kube-node-lease').get('hollow-1');
    assert.equal(lease.spec.holderIdentity, 'hollow-1');
  });

  it('the node was written by the node itself, with its own certificate', async () => {
    const node = await cluster.admin.resource<NodeObj>('', 'nodes').get('hollow-1');
    const managers = (node.metadata.managedFields ?? []).map((f) => (f as { manager?: string }).manager);
    assert.ok(managers.some((m) => m?.startsWith('kubelet')), `managers: ${managers.join(', ')}`);
    const cert = new X509Certificate(agent!.clientCert!.current()!.certPem);
    assert.match(cert.subject, /CN=system:node:hollow-1/);
  });

  it('the kubelet API hook gets a serving certificate for the node\'s addresses and the client CA', async () => {
    assert.ok(hookCtx);
    assert.equal(hookCtx.nodeName, 'hollow-1');
    assert.equal(hookCtx.clientCaPem, cluster.pki.clientCaCert);
    const pair = await hookCtx.servingCert.ready();
    const cert = new X509Certificate(pair.certPem);
    assert.equal(cert.subjectAltName, 'DNS:hollow-1, IP Address:192.0.2.50');
    assert.ok(cert.checkIssued(new X509Certificate(cluster.pki.serverCaCert)));
    assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(pair.keyPem)));
  });

  it('a component gets a client of its own identity: the proxy acts as system:kube-proxy', { timeout: 30_000 }, async () => {
    const proxy = await proxyCtx!.clientFor('system:kube-proxy');
    const me = (await proxy.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {} } })) as { status: { userInfo: { username: string } } };
    assert.equal(me.status.userInfo.username, 'system:kube-proxy');
    // upstream's system:node-proxier lets it read what the proxy needs
    assert.ok(Array.isArray((await proxy.resource('discovery.k8s.io', 'endpointslices').list()).items));
    assert.equal(await proxyCtx!.clientFor('system:kube-proxy'), proxy, 'one client per identity');
  });

  it('stopping the agent stops what was plugged in', async () => {
    await agent!.stop();
    agent = undefined;
    assert.equal(hookStopped, true);
  });

  it('a wrong token fails in one line before anything starts', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'rudder-agent-'));
    let started = false;
    try {
      await assert.rejects(
        runAgent(
          { ...options, dataDir: fresh, nodeName: 'hollow-2', token: options.token.replace(/\.[a-z0-9]{16}$/, '.aaaaaaaaaaaaaaaa') },
          { transportFor: cluster.transportFor, log: () => {}, hooks: { kubeletServer: async () => ((started = true), { stop: async () => {} }) } },
        ),
        (e: Error) => /refused the join token/.test(e.message) && !e.message.includes('\n'),
      );
      assert.equal(started, false);
      await assert.rejects(cluster.admin.resource('', 'nodes').get('hollow-2'), /not found/);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

it("loading the agent (kubelet, probes, streaming, network policy, DNS) does not load Node's undici", () => {
  // undici: any ES import of node:http reads its lazy WebSocket exports (~1.5 MiB of the agent's
  // memory); the agent uses neither fetch nor WebSocket.
  const code = `await import(${JSON.stringify(new URL('./agent.ts', import.meta.url).href)}); console.log(process.moduleLoadList.some((m) => m.includes('undici')));`;
  const out = execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(out.trim(), 'false');
});

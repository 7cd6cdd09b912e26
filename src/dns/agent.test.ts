// The DNS as the agent starts it: served on the node's addresses, the kube-dns Service ensured with
// the --cluster-dns address, CoreDNS-named counters on /metrics, everything stopped with the agent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { AgentHookContext } from '../agent/agent.ts';
import { startTestApiServer } from '../apiserver/testing.ts';
import { Client } from '../client/client.ts';
import { startAgentDns } from './agent.ts';
import { queryDns, startStubResolver } from './testing.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('the agent DNS serves the node address, ensures kube-dns with the cluster DNS address, and counts on /metrics', async () => {
  const api = await startTestApiServer();
  const stub = await startStubResolver({ 'up.example A': [{ name: 'up.example', type: 'A', class: 'IN', ttl: 30, data: '192.0.2.3' }] });
  const admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
  const logs: string[] = [];
  const ctx = {
    nodeName: 'node-a',
    nodeIPs: ['127.0.0.1'],
    client: admin,
    clusterDns: ['10.43.0.10'],
    log: (m: string) => logs.push(m),
  } as unknown as AgentHookContext;
  const metricsPort = await freePort();
  const c = await startAgentDns(ctx, { port: 0, upstreams: [{ host: '127.0.0.1', port: stub.port }], metricsPort });
  try {
    const r = await queryDns('kube-dns.kube-system.svc.cluster.local', 'A', { port: c.dns.port }).then(async (first) => {
      // the Service is created asynchronously by the publisher: ask until it is there
      for (let i = 0; i < 100 && !first.answers?.length; i++) {
        await new Promise((res) => setTimeout(res, 50));
        first = await queryDns('kube-dns.kube-system.svc.cluster.local', 'A', { port: c.dns.port });
      }
      return first;
    });
    assert.deepEqual(r.answers?.map((a) => String((a as { data: unknown }).data)), ['10.43.0.10']);
    const up = await queryDns('up.example', 'A', { port: c.dns.port, proto: 'tcp' });
    assert.deepEqual(up.answers?.map((a) => String((a as { data: unknown }).data)), ['192.0.2.3']);
    // counters reach /metrics within the threads' report interval
    let text = '';
    for (let i = 0; i < 40; i++) {
      text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      if (/coredns_dns_requests_total\{proto="tcp"\} [1-9]/.test(text)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.match(text, /coredns_dns_requests_total\{proto="udp"\} [1-9]/);
    assert.match(text, /coredns_dns_requests_total\{proto="tcp"\} [1-9]/);
    assert.match(text, /coredns_dns_responses_total\{rcode="NOERROR"\} [1-9]/);
  } finally {
    await c.stop();
    await stub.stop();
    await api.stop();
  }
  // a loopback address may not be an endpoint: the publisher says so instead of failing silently
  assert.ok(logs.some((l) => /may not be in the loopback range/.test(l)), logs.join('\n'));
});

test("loading the agent DNS does not load Node's undici (the agent does not use fetch or WebSocket)", () => {
  const code = `await import(${JSON.stringify(new URL('./agent.ts', import.meta.url).href)}); console.log(process.moduleLoadList.some((m) => m.includes('undici')));`;
  const out = execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(out.trim(), 'false');
});

test('with --cluster-dns-processes 2 the agent DNS answers from a second process reading its socket', async () => {
  const api = await startTestApiServer();
  const admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
  const ctx = {
    nodeName: 'node-a',
    nodeIPs: ['127.0.0.1'],
    client: admin,
    clusterDns: ['10.43.0.10'],
    clusterDnsProcesses: 2,
    log: () => {},
  } as unknown as AgentHookContext;
  const c = await startAgentDns(ctx, { port: 0, upstreams: [], metricsPort: 0 });
  try {
    const workers = await c.dns.workers();
    assert.equal(workers.length, 1, 'one child process beside the agent');
    assert.notEqual(workers[0]!.id, process.pid);
    assert.doesNotThrow(() => process.kill(workers[0]!.id, 0), 'the child process runs');
    // queries land on whichever process reads first; every one is answered from the same records
    let found = 0;
    for (let i = 0; i < 100 && found < 20; i++) {
      const r = await queryDns('kube-dns.kube-system.svc.cluster.local', 'A', { port: c.dns.port });
      if (r.answers?.length) found++;
      else await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(found, 20);
  } finally {
    await c.stop();
    await api.stop();
  }
});

// The process pool without an API server: a program holding serving processes is killed outright
// (as an agent can be), and its serving processes must not outlive it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { processAlive, queryDns } from './testing.ts';

// a program that serves one Service with two serving processes (itself and a child) and prints
// its port and its child's pid once every process holds the records
const program = `
import { Forwarder } from ${JSON.stringify(new URL('./forward.ts', import.meta.url).href)};
import { ClusterRecords, applyRecordOp } from ${JSON.stringify(new URL('./records.ts', import.meta.url).href)};
import { Resolver } from ${JSON.stringify(new URL('./resolve.ts', import.meta.url).href)};
import { DnsServer } from ${JSON.stringify(new URL('./server.ts', import.meta.url).href)};
import { startDnsWorkers } from ${JSON.stringify(new URL('./workers.ts', import.meta.url).href)};
const records = new ClusterRecords();
const config = { zone: 'cluster.local', ttl: 5, podMode: 'insecure', localIPs: [] };
const server = new DnsServer({ listen: [{ host: '127.0.0.1', port: 0 }], resolver: new Resolver(records, config), forwarder: new Forwarder({ upstreams: [] }) });
const port = await server.start();
const pool = await startDnsWorkers({ kind: 'process', count: 1, listen: [], sockets: server.udpSockets, config, upstreams: [], log: console.error });
for (const op of [
  { op: 'namespace', name: 'default' },
  { op: 'service', obj: { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.43.0.20', clusterIPs: ['10.43.0.20'], ports: [{ port: 80 }] } } },
  { op: 'synced' },
]) {
  applyRecordOp(records, op);
  pool.push(op);
}
await pool.settled();
console.log(JSON.stringify({ port, children: (await pool.workers()).map((w) => w.id) }));
`;

test('when the program holding serving processes is killed, its serving processes exit too and the port stops answering', async () => {
  const holder = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => holder.once('exit', () => r()));
  let children: number[] = [];
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: holder.stdout! }).once('line', resolve);
      holder.once('exit', (code) => reject(new Error(`the program exited (${code}) before serving`)));
    });
    const started = JSON.parse(line) as { port: number; children: number[] };
    children = started.children;
    assert.equal(children.length, 1);
    assert.ok(processAlive(children[0]!));
    const r = await queryDns('web.default.svc.cluster.local', 'A', { port: started.port });
    assert.deepEqual(r.answers?.map((a) => String((a as { data: unknown }).data)), ['10.43.0.20']);

    holder.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 5000;
    while (processAlive(children[0]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(processAlive(children[0]!), false, `serving process ${children[0]} outlived its program`);
    await assert.rejects(queryDns('web.default.svc.cluster.local', 'A', { port: started.port, timeoutMs: 300 }));
  } finally {
    if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    for (const pid of children) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});

// The probe kinds against servers on loopback (the only addresses a test may reach), and exec through
// the simulated runtime.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Container } from '../api-types.ts';
import { SimulatedRuntime } from '../runtime/simulated.ts';
import { PROBE_USER_AGENT, probeExec, probeGrpc, probeHttp, probeTcp, resolvePort } from './prober.ts';

describe('probes', () => {
  let http: Server;
  let port = 0;
  let seenHeaders: Record<string, string | string[] | undefined> = {};
  before(async () => {
    http = createServer((req, res) => {
      seenHeaders = req.headers;
      if (req.url === '/healthz') return void res.end('ok');
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/healthz' });
        return void res.end();
      }
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
      res.writeHead(503);
      res.end('not ready');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => {
    http.closeAllConnections();
    http.close(() => r());
  }));

  const c: Container = { name: 'c', ports: [{ name: 'web', containerPort: 0 }] };

  it('httpGet succeeds on 2xx (following a redirect to the same host) with kube-probe\'s headers', async () => {
    assert.deepEqual(await probeHttp({ path: '/healthz', port }, c, '127.0.0.1', { timeoutMs: 1000 }), { result: 'success', output: 'ok' });
    assert.equal(seenHeaders['user-agent'], PROBE_USER_AGENT);
    assert.equal((await probeHttp({ path: '/redirect', port, httpHeaders: [{ name: 'X-Probe', value: '1' }] }, c, '127.0.0.1', { timeoutMs: 1000 })).result, 'success');
    assert.equal(seenHeaders['x-probe'], '1');
  });

  it('httpGet fails with upstream\'s message on another status, a refused connection, or a timeout', async () => {
    assert.deepEqual(await probeHttp({ path: '/readyz', port }, c, '127.0.0.1', { timeoutMs: 1000 }), { result: 'failure', output: 'HTTP probe failed with statuscode: 503' });
    const refused = await probeHttp({ path: '/x', port: 1 }, c, '127.0.0.1', { timeoutMs: 1000 });
    assert.deepEqual(refused, { result: 'failure', output: 'Get "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused' });
    const slow = await probeHttp({ path: '/slow', port }, c, '127.0.0.1', { timeoutMs: 200 });
    assert.deepEqual(slow, { result: 'failure', output: `Get "http://127.0.0.1:${port}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
  });

  it('resolves named ports from the container', () => {
    assert.equal(resolvePort('web', { name: 'c', ports: [{ name: 'web', containerPort: 8080 }] }), 8080);
    assert.equal(resolvePort('8081', c), 8081);
    assert.throws(() => resolvePort('nope', c), /couldn't find port: nope/);
  });

  it('tcpSocket succeeds when something listens and fails when refused', async () => {
    assert.equal((await probeTcp('127.0.0.1', port, 1000)).result, 'success');
    assert.deepEqual(await probeTcp('127.0.0.1', 1, 1000), { result: 'failure', output: 'dial tcp 127.0.0.1:1: connect: connection refused' });
  });

  it('exec succeeds on exit 0 and fails with the output otherwise, or on timeout', async () => {
    const rt = new SimulatedRuntime();
    const sc = { metadata: { name: 'p', uid: 'u', namespace: 'n' } };
    const sid = await rt.runPodSandbox(sc);
    const cid = await rt.createContainer(sid, { metadata: { name: 'c' }, image: { image: 'registry.k8s.io/pause:3.10' }, command: ['sleep', '3600'] }, sc);
    await rt.startContainer(cid);
    assert.deepEqual(await probeExec(rt, cid, ['sh', '-c', 'echo fine'], 1), { result: 'success', output: 'fine\n' });
    assert.deepEqual(await probeExec(rt, cid, ['sh', '-c', 'echo broken >&2; exit 2'], 1), { result: 'failure', output: 'broken\n' });
    assert.deepEqual(await probeExec(rt, cid, ['sleep', '5'], 1), { result: 'failure', output: 'command "sleep 5" timed out' });
    await rt.close();
  });

  it('grpc checks grpc.health.v1 and fails on NOT_SERVING or when nothing answers', async () => {
    const def = protoLoader.fromJSON({ nested: { grpc: { nested: { health: { nested: { v1: { nested: {
      HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
      HealthCheckResponse: { fields: { status: { type: 'ServingStatus', id: 1 } }, nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2 } } } },
      Health: { methods: { Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', comment: '' } } },
    } } } } } } } }, { enums: String });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } } };
    const server = new grpc.Server();
    server.addService(pkg.grpc.health.v1.Health.service, {
      Check: (call: { request: { service: string } }, cb: (e: null, r: { status: string }) => void) => cb(null, { status: call.request.service === 'down' ? 'NOT_SERVING' : 'SERVING' }),
    });
    const gport = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    try {
      assert.deepEqual(await probeGrpc('127.0.0.1', gport, '', 2000), { result: 'success', output: '' });
      assert.deepEqual(await probeGrpc('127.0.0.1', gport, 'down', 2000), { result: 'failure', output: 'service unhealthy (responded with "NOT_SERVING")' });
    } finally {
      server.forceShutdown();
    }
    const none = await probeGrpc('127.0.0.1', 1, '', 300);
    assert.equal(none.result, 'failure');
    assert.match(none.output, /^timeout: failed to connect service "127\.0\.0\.1:1" within 0\.3s/);
  });
});

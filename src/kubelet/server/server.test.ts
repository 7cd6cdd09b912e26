// The kubelet's HTTPS API against a fake runtime whose stream server speaks the real protocols
// (SPDY remote command and port-forward through src/streaming, WebSocket v4 through `ws`).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { Pod } from '../api-types.ts';
import { formatCriLogLine, type AttachRequest, type Container, type ContainerFilter, type ExecRequest, type PodSandbox, type PodSandboxFilter, type Runtime } from '../runtime/runtime.ts';
import { SpdySession } from '../../streaming/spdy.ts';
import { Channel, CLOSE_SIGNAL, acceptSpdyRemoteCommand, channelMessage, exitCodeFromErrorStream, exitStatus, openSpdyRemoteCommand, parseChannelMessage } from '../../streaming/remotecommand.ts';
import { forwardConnectionOverSpdy, servePortForwardSession } from '../../streaming/portforward.ts';
import { requestUpgrade, UpgradeFailedError } from '../../streaming/upgrade.ts';
import { testCa, type CertAndKey } from './certs.ts';
import { startKubeletServer, type KubeletServer } from './server.ts';

const dir = mkdtempSync(join(tmpdir(), 'rudder-kubelet-server-'));
const UID = 'uid-web';

/** The fake runtime's state: one ready sandbox with a running container "app" and an exited one "done". */
const containers: Container[] = [
  { id: 'c-app', pod_sandbox_id: 's-web', metadata: { name: 'app', attempt: 0 }, image: { image: 'busybox' }, image_ref: '', state: 'CONTAINER_RUNNING', created_at: '1000', labels: { 'io.kubernetes.pod.uid': UID, 'io.kubernetes.container.name': 'app' }, annotations: {}, image_id: '' } as Container,
  { id: 'c-done', pod_sandbox_id: 's-web', metadata: { name: 'done', attempt: 0 }, image: { image: 'busybox' }, image_ref: '', state: 'CONTAINER_EXITED', created_at: '1000', labels: { 'io.kubernetes.pod.uid': UID, 'io.kubernetes.container.name': 'done' }, annotations: {}, image_id: '' } as Container,
];
const sandboxes: PodSandbox[] = [
  { id: 's-web', metadata: { name: 'web', namespace: 'default', uid: UID, attempt: 0 }, state: 'SANDBOX_READY', created_at: '1000', labels: { 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': UID }, annotations: {}, runtime_handler: '' } as PodSandbox,
];
const logFiles: Record<string, string> = {};
const matches = (labels: Record<string, string>, sel?: Record<string, string>) => Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);

/** Requests the runtime was asked for, by token. */
const execs = new Map<string, { kind: 'exec' | 'attach'; req: ExecRequest | AttachRequest } | { kind: 'portforward'; sandbox: string; ports: number[] }>();
let streamPort = 0;
let echoPort = 0;

const runtime = {
  kind: 'fake',
  containerStatus: async (id: string) => {
    const c = containers.find((x) => x.id === id);
    if (!c) throw Object.assign(new Error('not found'), { code: 'NotFound' });
    return { id, state: c.state, log_path: logFiles[id] ?? '' };
  },
  listContainers: async (f?: ContainerFilter) => containers.filter((c) => (!f?.state || c.state === f.state.state) && matches(c.labels, f?.label_selector)),
  listPodSandboxes: async (f?: PodSandboxFilter) => sandboxes.filter((s) => (!f?.state || s.state === f.state.state) && matches(s.labels, f?.label_selector)),
  listContainerStats: async () => [{ attributes: { id: 'c-app', metadata: { name: 'app' }, labels: {}, annotations: {} }, cpu: { timestamp: '0', usage_core_nano_seconds: { value: '5000' }, usage_nano_cores: { value: '100' } }, memory: { timestamp: '0', working_set_bytes: { value: '2048' }, usage_bytes: { value: '4096' }, available_bytes: null, rss_bytes: null, page_faults: null, major_page_faults: null }, writable_layer: null }],
  imageFsInfo: async () => [],
  exec: async (req: ExecRequest) => {
    const t = randomBytes(6).toString('hex');
    execs.set(t, { kind: 'exec', req });
    return `http://127.0.0.1:${streamPort}/exec/${t}`;
  },
  attach: async (req: AttachRequest) => {
    const t = randomBytes(6).toString('hex');
    execs.set(t, { kind: 'attach', req });
    return `http://127.0.0.1:${streamPort}/attach/${t}`;
  },
  portForward: async (sandbox: string, ports: number[]) => {
    const t = randomBytes(6).toString('hex');
    execs.set(t, { kind: 'portforward', sandbox, ports });
    return `http://127.0.0.1:${streamPort}/portforward/${t}`;
  },
} as unknown as Runtime;

const pods = new Map<string, Pod>();
const podObject = (statuses: object[]): Pod =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: UID },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'busybox' }, { name: 'done', image: 'busybox' }] },
    status: { phase: 'Running', containerStatuses: statuses },
  }) as Pod;

describe('the kubelet\'s HTTPS API', () => {
  let kubelet: KubeletServer;
  let streamServer: Server;
  let echo: ReturnType<typeof createTcpServer>;
  let ca: Awaited<ReturnType<typeof testCa>>;
  let apiserver: CertAndKey;
  let other: CertAndKey;
  let stranger: CertAndKey;
  const sockets: Duplex[] = [];

  before(async () => {
    ca = await testCa();
    apiserver = await ca.clientCert('kube-apiserver-kubelet-client');
    other = await ca.clientCert('system:node:other', ['system:nodes']);
    stranger = await (await testCa('another-ca')).clientCert('kube-apiserver-kubelet-client');
    // A pod "echo" target for port-forward.
    echo = createTcpServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    echoPort = (echo.address() as AddressInfo).port;
    // The runtime's stream server: the real protocols, a scripted command.
    const wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => (p.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false) });
    streamServer = createHttpServer();
    streamServer.on('upgrade', async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      sockets.push(socket);
      const [, kind, token] = req.url!.split('/');
      const x = execs.get(token!);
      if (!x) return socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      if (req.headers.upgrade === 'websocket') {
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.send(channelMessage(Channel.stdout, `v4 ${kind}`));
          ws.send(channelMessage(Channel.error, JSON.stringify(exitStatus(0))));
          ws.close();
        });
        return;
      }
      const proto = x.kind === 'portforward' ? 'portforward.k8s.io' : 'v4.channel.k8s.io';
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${proto}\r\n\r\n`);
      const session = new SpdySession(socket, { role: 'server' });
      if (x.kind === 'portforward') {
        servePortForwardSession(session, async () => {
          const s = connect(echoPort, '127.0.0.1');
          await once(s, 'connect');
          return s;
        });
        return;
      }
      const r = x.req as ExecRequest;
      const s = await acceptSpdyRemoteCommand(session, { stdin: !!r.stdin, stdout: !!r.stdout, stderr: !!r.stderr, tty: !!r.tty });
      const chunks: Buffer[] = [];
      if (s.stdin) for await (const c of s.stdin) chunks.push(c as Buffer);
      s.stdout?.end(`${x.kind} ${(r.cmd ?? []).join(' ')}: ${Buffer.concat(chunks).toString()}`);
      s.stderr?.end('to stderr');
      s.error.end(JSON.stringify(exitStatus(r.cmd?.[0] === 'fail' ? 5 : 0, r.cmd)));
      await once(s.error, 'finish');
      session.close();
    });
    streamServer.listen(0, '127.0.0.1');
    await once(streamServer, 'listening');
    streamPort = (streamServer.address() as AddressInfo).port;

    logFiles['c-app'] = join(dir, 'app.log');
    writeFileSync(logFiles['c-app'], ['one', 'two', 'three'].map((t, i) => formatCriLogLine(`2024-05-01T10:00:0${i}Z`, 'stdout', t)).join(''));
    pods.set('web', podObject([{ name: 'app', ready: true, restartCount: 0, image: 'busybox', imageID: '', containerID: 'containerd://c-app', state: { running: { startedAt: 'x' } } }, { name: 'done', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { waiting: { reason: 'ContainerCreating' } } }]));
    const serving = await ca.servingCert(['127.0.0.1']);
    kubelet = await startKubeletServer({
      nodeName: 'node-a',
      runtime,
      pods: { pod: (ns, n) => (ns === 'default' ? pods.get(n) : undefined), pods: () => [...pods.values()] },
      tls: serving,
      clientCA: ca.cert,
      allowedUsers: ['kube-apiserver-kubelet-client'],
      authorize: async (user, attrs) => user.name === 'system:node:other' && attrs.subresource === 'stats',
      address: '127.0.0.1',
      port: 0,
    });
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await kubelet?.close();
    streamServer?.closeAllConnections();
    streamServer?.close();
    echo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, creds: CertAndKey | null = apiserver, method = 'GET') =>
    new Promise<{ status: number; body: string; type?: string }>((resolve, reject) => {
      const r = httpsRequest({ host: '127.0.0.1', port: kubelet.port, path, method, ...(creds ?? {}), rejectUnauthorized: false, agent: false }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b, type: res.headers['content-type'] }));
      });
      r.on('error', reject);
      r.end();
    });

  const upgrade = (path: string, headers: Record<string, string | string[]>, creds: CertAndKey = apiserver, method = 'POST') =>
    requestUpgrade({ url: new URL(`https://127.0.0.1:${kubelet.port}${path}`), method, headers: { Connection: 'Upgrade', ...headers }, tls: { ...creds, rejectUnauthorized: false } });

  it('admits only client certificates of its CA, and only allowed users, with upstream\'s refusals', async () => {
    assert.deepEqual(await get('/pods', null), { status: 401, body: 'Unauthorized', type: 'text/plain; charset=utf-8' });
    assert.equal((await get('/pods', stranger)).status, 401);
    assert.deepEqual(await get('/pods', other), { status: 403, body: 'Forbidden (user=system:node:other, verb=get, resource=nodes, subresource=proxy)', type: 'text/plain; charset=utf-8' });
    assert.equal((await get('/exec/default/web/app?output=1', other, 'POST')).body, 'Forbidden (user=system:node:other, verb=create, resource=nodes, subresource=proxy)');
    // The authorize hook decides for other users: this one may read stats.
    assert.equal((await get('/stats/summary', other)).status, 200);
  });

  it('serves /healthz, /pods and /runningpods/', async () => {
    assert.equal((await get('/healthz')).body, 'ok');
    const list = JSON.parse((await get('/pods')).body);
    assert.equal(list.kind, 'PodList');
    assert.deepEqual(list.items.map((p: Pod) => p.metadata.name), ['web']);
    const running = JSON.parse((await get('/runningpods/')).body);
    assert.deepEqual(running.items, [{ metadata: { name: 'web', namespace: 'default', uid: UID, creationTimestamp: null }, spec: { containers: [{ name: 'app', image: 'busybox', resources: {} }] }, status: {} }]);
  });

  it('summarizes the node and its pods\' containers from runtime stats', async () => {
    const s = JSON.parse((await get('/stats/summary')).body);
    assert.equal(s.node.nodeName, 'node-a');
    assert.ok(s.node.memory.workingSetBytes > 0);
    assert.equal(s.pods.length, 1);
    assert.deepEqual(s.pods[0].podRef, { name: 'web', namespace: 'default', uid: UID });
    assert.equal(s.pods[0].containers[0].name, 'app');
    assert.equal(s.pods[0].containers[0].memory.workingSetBytes, 2048);
    assert.equal(s.pods[0].cpu.usageNanoCores, 100);
  });

  it('serves container logs with the query\'s options, and upstream\'s errors', async () => {
    assert.deepEqual(await get('/containerLogs/default/web/app?tailLines=2'), { status: 200, body: 'two\nthree\n', type: 'text/plain; charset=utf-8' });
    assert.equal((await get('/containerLogs/default/web/app?timestamps=true&tailLines=1')).body, '2024-05-01T10:00:02.000000000Z three\n');
    assert.deepEqual(await get('/containerLogs/default/nope/app'), { status: 404, body: 'pod "nope" does not exist', type: 'text/plain; charset=utf-8' });
    assert.equal((await get('/containerLogs/default/web/ghost')).body, 'container "ghost" not found in pod "web"');
    assert.deepEqual(await get('/containerLogs/default/web/done'), { status: 400, body: 'container "done" in pod "web" is waiting to start: ContainerCreating', type: 'text/plain; charset=utf-8' });
    assert.equal((await get('/containerLogs/default/web/app?previous=true')).body, 'previous terminated container "app" in pod "web" not found');
    assert.equal((await get('/containerLogs/default/web/app?tailLines=-1')).status, 422);
  });

  it('answers streaming requests that are not upgrades, or lack a pod, container or stream, as upstream', async () => {
    assert.deepEqual(await get('/exec/default/web/app?command=ls&output=1', apiserver, 'POST'), { status: 500, body: 'Upgrade request required', type: 'text/plain; charset=utf-8' });
    const fail = async (path: string) => upgrade(path, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' }).then(() => 'upgraded', (e: UpgradeFailedError) => `${e.statusCode} ${e.body}`);
    assert.equal(await fail('/exec/default/nope/app?command=ls&output=1'), '404 pod does not exist');
    assert.equal(await fail('/exec/default/web/done?command=ls&output=1'), '500 container not found ("done")');
    assert.equal(await fail('/exec/default/web/app?command=ls'), '400 you must specify at least 1 of stdin, stdout, stderr');
    assert.equal(await fail('/portForward/default/web/wrong-uid'), '404 pod not found');
  });

  it('proxies a SPDY exec to the runtime\'s stream URL as it is', async () => {
    const up = await upgrade('/exec/default/web/app?command=cat&command=-n&input=1&output=1&error=1', { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': ['v4.channel.k8s.io', 'v3.channel.k8s.io'] });
    assert.equal(up.headers['x-stream-protocol-version'], 'v4.channel.k8s.io');
    const session = new SpdySession(up.socket, { role: 'client' });
    const s = await openSpdyRemoteCommand(session, { stdin: true, stdout: true, stderr: true, tty: false });
    s.stdin!.end('typed');
    const read = async (x: NodeJS.ReadableStream) => {
      const c: Buffer[] = [];
      for await (const b of x) c.push(b as Buffer);
      return Buffer.concat(c).toString();
    };
    assert.deepEqual(await Promise.all([read(s.stdout!), read(s.stderr!), read(s.error)]), ['exec cat -n: typed', 'to stderr', JSON.stringify(exitStatus(0, ['cat', '-n']))]);
    session.destroy();
    const x = [...execs.values()].at(-1)!;
    assert.deepEqual(x, { kind: 'exec', req: { container_id: 'c-app', cmd: ['cat', '-n'], tty: false, stdin: true, stdout: true, stderr: true } });
  });

  /** A v5 WebSocket client: sends, then collects channels until the close. */
  const v5 = (path: string, send: (ws: WebSocket) => void, protocol = 'v5.channel.k8s.io') =>
    new Promise<{ out: Record<number, string>; code: number; protocol: string }>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${kubelet.port}${path}`, [protocol], { ...apiserver, rejectUnauthorized: false });
      const out: Record<number, string> = {};
      ws.on('open', () => send(ws));
      ws.on('message', (d: Buffer) => {
        const m = parseChannelMessage(d);
        if (m) out[m.channel] = (out[m.channel] ?? '') + m.data.toString();
      });
      ws.on('close', (code) => resolve({ out, code, protocol: ws.protocol }));
      ws.on('error', reject);
    });

  it('serves a v5.channel.k8s.io exec itself, over SPDY to the runtime: stdin\'s CLOSE signal, output, exit code', async () => {
    const r = await v5('/exec/default/web/app?command=fail&input=1&output=1&error=1', (ws) => {
      ws.send(channelMessage(Channel.stdin, 'abc'));
      ws.send(Buffer.from([CLOSE_SIGNAL, Channel.stdin]));
    });
    assert.equal(r.protocol, 'v5.channel.k8s.io');
    assert.equal(r.code, 1000);
    assert.equal(r.out[Channel.stdout], 'exec fail: abc');
    assert.equal(r.out[Channel.stderr], 'to stderr');
    assert.equal(exitCodeFromErrorStream(Buffer.from(r.out[Channel.error]!)), 5);
  });

  it('serves attach the same way', async () => {
    const r = await v5('/attach/default/web/app?output=1', () => {});
    assert.equal(r.out[Channel.stdout], 'attach : ');
    assert.deepEqual([...execs.values()].at(-1), { kind: 'attach', req: { container_id: 'c-app', tty: false, stdin: false, stdout: true, stderr: false } });
  });

  it('proxies a v4.channel.k8s.io WebSocket to the runtime, which speaks it', async () => {
    const r = await v5('/exec/default/web/app?command=ls&output=1', () => {}, 'v4.channel.k8s.io');
    assert.equal(r.protocol, 'v4.channel.k8s.io');
    assert.equal(r.out[Channel.stdout], 'v4 exec');
  });

  it('proxies a SPDY port-forward to the runtime\'s sandbox URL', async () => {
    const up = await upgrade(`/portForward/default/web/${UID}`, { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' });
    assert.equal(up.headers['x-stream-protocol-version'], 'portforward.k8s.io');
    const session = new SpdySession(up.socket, { role: 'client' });
    const { Duplex: D, PassThrough } = await import('node:stream');
    const input = new PassThrough();
    const output = new PassThrough();
    let got = '';
    output.on('data', (c) => (got += c));
    input.write('echo me');
    const fwd = forwardConnectionOverSpdy(session, 8080, 0, D.from({ readable: input, writable: output }));
    while (got !== 'echo me') await new Promise((r) => setTimeout(r, 10));
    input.end();
    await fwd;
    session.destroy();
    assert.deepEqual([...execs.values()].at(-1), { kind: 'portforward', sandbox: 's-web', ports: [] });
  });

  it('a WebSocket port-forward of the channel flavour must name its ports', async () => {
    const r = await upgrade('/portForward/default/web', { Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': 'v4.channel.k8s.io' }, apiserver, 'GET').then(
      () => 'upgraded',
      (e: UpgradeFailedError) => `${e.statusCode} ${e.body}`,
    );
    assert.equal(r, '400 query parameter "port" is required');
  });
});

// The API server's streaming subresources against a fake kubelet (HTTPS, client certificates
// required), driven the way the server drives them: a Ctx from the request, errors through
// writeError, upgrade requests through upgradeResponse.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { KObject } from '../../api/meta.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki } from '../pki.ts';
import { writeError, type Ctx, type Res } from '../http.ts';
import { parseRequestInfo } from '../requestinfo.ts';
import { streamingConnectHandlers, upgradeResponse } from './index.ts';

interface Seen {
  path: string;
  query: URLSearchParams;
  user: string;
  headers: IncomingMessage['headers'];
}

describe('API server streaming subresources', () => {
  let kubelet: ReturnType<typeof createHttpsServer>;
  let front: Server;
  let frontPort = 0;
  const seen: Seen[] = [];
  const objects = new Map<string, KObject>();
  const sockets: Duplex[] = [];
  const pkiDir = mkdtempSync(join(tmpdir(), 'rudder-streaming-pki-'));
  let releaseSlowStream!: () => void;
  const slowStream = new Promise<void>((r) => (releaseSlowStream = r));
  /** What the fake kubelet answers to /containerLogs, by container name. */
  const logAnswers: Record<string, (res: ServerResponse) => void> = {};

  before(async () => {
    // The cluster's PKI: the fake kubelet serves with a certificate of the server CA and accepts
    // client certificates of the client CA, as a joined node's kubelet does.
    const pki = await ensurePki(pkiDir, { sans: ['127.0.0.1'] });
    const client = await pki.signClientCert('kube-apiserver-kubelet-client', ['system:masters']);
    kubelet = createHttpsServer({ cert: pki.servingCert, key: pki.servingKey, ca: pki.clientCaCert, requestCert: true, rejectUnauthorized: true });
    const record = (req: IncomingMessage) => {
      const u = new URL(req.url!, 'https://k');
      seen.push({ path: u.pathname, query: u.searchParams, user: (req.socket as TLSSocket).getPeerCertificate().subject.CN as string, headers: req.headers });
    };
    kubelet.on('request', (req: IncomingMessage, res: ServerResponse) => {
      record(req);
      const u = new URL(req.url!, 'https://k');
      const c = u.pathname.split('/')[4]!;
      if (u.pathname.startsWith('/containerLogs/')) return (logAnswers[c] ?? ((r) => r.end(`log of ${c}\n`)))(res);
      if (u.pathname === '/slow-stream') {
        // the head now, the body when the test releases it
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.flushHeaders();
        void slowStream.then(() => res.end('late\n'));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: u.pathname }));
    });
    // Upgrades: answered as the kubelet would, choosing the client's first subprotocol.
    const wss = new WebSocketServer({ noServer: true, handleProtocols: (p) => [...p][0] ?? false });
    kubelet.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      sockets.push(socket);
      record(req);
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.send(Buffer.from([1, ...Buffer.from(`kubelet ${new URL(req.url!, 'https://k').pathname}`)]));
        ws.on('message', (m: Buffer) => ws.send(m));
      });
    });
    kubelet.listen(0, '127.0.0.1');
    await once(kubelet, 'listening');
    const kport = (kubelet.address() as AddressInfo).port;

    const node = (name: string, addresses: { type: string; address: string }[]) =>
      objects.set(`node/${name}`, { apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses, daemonEndpoints: { kubeletEndpoint: { Port: kport } } } } as KObject);
    node('n1', [{ type: 'Hostname', address: 'n1.invalid' }, { type: 'InternalIP', address: '127.0.0.1' }]);
    node('bare', []);
    const pod = (name: string, spec: Record<string, unknown>) => objects.set(`pod/${name}`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec } as KObject);
    pod('one', { nodeName: 'n1', containers: [{ name: 'app' }] });
    pod('two', { nodeName: 'n1', initContainers: [{ name: 'init' }], containers: [{ name: 'a' }, { name: 'b' }] });
    pod('unscheduled', { containers: [{ name: 'app' }] });
    pod('lost', { nodeName: 'gone', containers: [{ name: 'app' }] });
    pod('homeless', { nodeName: 'bare', containers: [{ name: 'app' }] });

    const handlers = streamingConnectHandlers({
      getPod: async (_ns, n) => objects.get(`pod/${n}`),
      getNode: async (n) => objects.get(`node/${n}`),
      kubelet: { cert: client.cert, key: client.key, ca: pki.serverCaCert },
    });
    const dispatch = (req: IncomingMessage, res: Res) => {
      const url = req.url!;
      const q = url.indexOf('?');
      const path = q >= 0 ? url.slice(0, q) : url;
      const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
      const info = parseRequestInfo(req.method!, path, query);
      const ctx: Ctx = { req, res, method: req.method!, path, query, info, warnings: [], started: Date.now() };
      const h = handlers.get(`/${info.resource}/${info.subresource}`)!;
      h(ctx).catch((e) => writeError(ctx, e));
    };
    front = createHttpServer((req, res) => dispatch(req, res as unknown as Res));
    front.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      sockets.push(socket);
      dispatch(req, upgradeResponse(socket, head));
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    frontPort = (front.address() as AddressInfo).port;
  });

  after(() => {
    for (const s of sockets) s.destroy();
    kubelet.closeAllConnections();
    front.closeAllConnections();
    kubelet.close();
    front.close();
    rmSync(pkiDir, { recursive: true, force: true });
  });

  const get = (path: string, method = 'GET') =>
    new Promise<{ status: number; body: string; type?: string }>((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: frontPort, path, method }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b, type: res.headers['content-type'] }));
      });
      r.on('error', reject);
      r.end();
    });
  const status = async (path: string) => {
    const r = await get(path);
    const s = JSON.parse(r.body);
    return { code: r.status, reason: s.reason, message: s.message };
  };
  const base = '/api/v1/namespaces/default/pods';

  it('pods/log asks the node\'s kubelet (by InternalIP, with the API server\'s client certificate) with the same options', async () => {
    const r = await get(`${base}/one/log?follow=true&previous=true&timestamps=true&sinceSeconds=30&tailLines=5&limitBytes=100`);
    assert.deepEqual(r, { status: 200, body: 'log of app\n', type: 'text/plain' });
    const k = seen.at(-1)!;
    assert.equal(k.path, '/containerLogs/default/one/app');
    assert.equal(k.user, 'kube-apiserver-kubelet-client');
    assert.deepEqual(Object.fromEntries(k.query), { follow: 'true', previous: 'true', timestamps: 'true', sinceSeconds: '30', tailLines: '5', limitBytes: '100' });
    await get(`${base}/one/log?sinceTime=2024-05-01T10:00:00.123Z`);
    assert.equal(seen.at(-1)!.query.get('sinceTime'), '2024-05-01T10:00:00Z');
  });

  it('pods/log picks a pod\'s only container, and asks for a name among all of them otherwise', async () => {
    assert.deepEqual(await status(`${base}/two/log`), { code: 400, reason: 'BadRequest', message: 'a container name must be specified for pod two, choose one of: [a b init]' });
    assert.deepEqual(await status(`${base}/two/log?container=c`), { code: 400, reason: 'BadRequest', message: 'container c is not valid for pod two' });
    assert.equal((await get(`${base}/two/log?container=init`)).body, 'log of init\n');
  });

  it('pods/log validates its options as PodLogOptions', async () => {
    assert.deepEqual(await status(`${base}/one/log?tailLines=-1`), { code: 422, reason: 'Invalid', message: 'PodLogOptions "one" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0' });
    assert.deepEqual(await status(`${base}/one/log?sinceSeconds=1&sinceTime=2024-05-01T10:00:00Z`), { code: 422, reason: 'Invalid', message: 'PodLogOptions "one" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified' });
    assert.deepEqual(await status(`${base}/one/log?limitBytes=0`), { code: 422, reason: 'Invalid', message: 'PodLogOptions "one" is invalid: limitBytes: Invalid value: 0: must be greater than 0' });
    assert.deepEqual(await status(`${base}/one/log?tailLines=x`), { code: 400, reason: 'BadRequest', message: 'strconv.ParseInt: parsing "x": invalid syntax' });
  });

  it('pods/log of missing objects, unscheduled pods and unreachable nodes', async () => {
    assert.deepEqual(await status(`${base}/nope/log`), { code: 404, reason: 'NotFound', message: 'pods "nope" not found' });
    assert.deepEqual(await get(`${base}/unscheduled/log`), { status: 200, body: '', type: 'text/plain' });
    assert.deepEqual(await status(`${base}/lost/log`), { code: 404, reason: 'NotFound', message: 'nodes "gone" not found' });
    assert.deepEqual(await status(`${base}/homeless/log`), { code: 500, reason: 'InternalError', message: 'Internal error occurred: no preferred addresses found; known addresses: []' });
  });

  it('pods/log turns the kubelet\'s errors into API errors as upstream\'s response checker does', async () => {
    const answer = (code: number, body: string) => (res: ServerResponse) => {
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(body);
    };
    objects.set('pod/err', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'err', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'bad' }, { name: 'gone' }, { name: 'boom' }] } } as KObject);
    logAnswers.bad = answer(400, 'container "bad" in pod "err" is waiting to start: ContainerCreating');
    logAnswers.gone = answer(404, 'pod "err" does not exist');
    logAnswers.boom = answer(500, 'failed to read');
    assert.deepEqual(await status(`${base}/err/log?container=bad`), { code: 400, reason: 'BadRequest', message: 'container "bad" in pod "err" is waiting to start: ContainerCreating' });
    assert.deepEqual(await status(`${base}/err/log?container=gone`), { code: 404, reason: 'NotFound', message: 'the server could not find the requested resource ( pods/log err)' });
    assert.deepEqual(await status(`${base}/err/log?container=boom`), { code: 500, reason: 'InternalError', message: 'Internal error occurred: failed to read' });
  });

  it('pods/log with follow passes output on as it comes', async () => {
    objects.set('pod/slow', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'slow', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'slow' }] } } as KObject);
    let finish!: () => void;
    const released = new Promise<void>((r) => (finish = r));
    logAnswers.slow = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      void released.then(() => res.end('last\n'));
    };
    const chunks: string[] = [];
    const done = new Promise<void>((resolve) => {
      httpRequest({ host: '127.0.0.1', port: frontPort, path: `${base}/slow/log?follow=true` }, (res) => {
        res.on('data', (c) => {
          chunks.push(c.toString());
          if (chunks.length === 1) finish();
        });
        res.on('end', () => resolve());
      }).end();
    });
    await done;
    assert.deepEqual(chunks, ['first\n', 'last\n']);
  });

  /**
   * GET over HTTP/1.1 through the front whose backend sends its head and holds its body until
   * `release`: fails unless the 200 head arrives first; then releases and resolves with the body.
   */
  const headBeforeBody = (path: string, release: () => void) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${path}: no head before the body`)), 5000);
      httpRequest({ host: '127.0.0.1', port: frontPort, path }, (res) => {
        clearTimeout(timer);
        assert.equal(res.statusCode, 200);
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
        release();
      }).end();
    });

  it('pods/log with follow is answered at once, before the container has written anything', async () => {
    objects.set('pod/quiet', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'quiet', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'quiet' }] } } as KObject);
    let finish!: () => void;
    const released = new Promise<void>((r) => (finish = r));
    logAnswers.quiet = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders(); // as the kubelet does: the head now, output when there is some
      void released.then(() => res.end('late\n'));
    };
    assert.equal(await headBeforeBody(`${base}/quiet/log?follow=true`, finish), 'late\n');
  });

  it('exec, attach and portforward need an upgrade', async () => {
    assert.deepEqual(await status(`${base}/one/exec?command=ls`), { code: 400, reason: 'BadRequest', message: 'Upgrade request required' });
    assert.deepEqual(await status(`${base}/one/portforward`), { code: 400, reason: 'BadRequest', message: 'Upgrade request required' });
  });

  /** A WebSocket through the front; resolves with the negotiated protocol and the first message. */
  const ws = (path: string, protocol: string) =>
    new Promise<{ protocol: string; first: string; echo: string }>((resolve, reject) => {
      const w = new WebSocket(`ws://127.0.0.1:${frontPort}${path}`, [protocol]);
      const msgs: Buffer[] = [];
      w.on('open', () => w.send(Buffer.from([0, ...Buffer.from('ping')])));
      w.on('message', (m: Buffer) => {
        msgs.push(m);
        if (msgs.length === 2) {
          resolve({ protocol: w.protocol, first: msgs[0]!.subarray(1).toString(), echo: msgs[1]!.subarray(1).toString() });
          w.close();
        }
      });
      w.on('unexpected-response', (_req, res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c));
        res.on('end', () => reject(new Error(`${res.statusCode} ${b}`)));
      });
      w.on('error', reject);
    });

  it('exec is the kubelet\'s connection, subprotocol and all, with the kubelet\'s parameter names', async () => {
    const r = await ws(`${base}/one/exec?command=sh&command=-c&command=echo%20hi&stdin=true&stdout=true&stderr=false&tty=false`, 'v5.channel.k8s.io');
    assert.deepEqual(r, { protocol: 'v5.channel.k8s.io', first: 'kubelet /exec/default/one/app', echo: 'ping' });
    const k = seen.at(-1)!;
    assert.deepEqual([...k.query], [['command', 'sh'], ['command', '-c'], ['command', 'echo hi'], ['input', '1'], ['output', '1']]);
    assert.equal(k.user, 'kube-apiserver-kubelet-client');
    assert.equal(k.headers.authorization, undefined);
  });

  it('attach and portforward the same way; portforward passes its ports on', async () => {
    assert.equal((await ws(`${base}/two/attach?container=b&stdin=true&tty=true`, 'v5.channel.k8s.io')).first, 'kubelet /attach/default/two/b');
    assert.deepEqual([...seen.at(-1)!.query], [['input', '1'], ['output', '1'], ['error', '1'], ['tty', '1']]);
    const pf = await ws(`${base}/one/portforward?ports=8080&ports=9090`, 'v4.channel.k8s.io');
    assert.deepEqual(pf, { protocol: 'v4.channel.k8s.io', first: 'kubelet /portForward/default/one', echo: 'ping' });
    assert.equal(seen.at(-1)!.query.get('port'), '8080,9090');
  });

  it('an upgrade for a missing pod is a Status, as for any request', async () => {
    await assert.rejects(ws(`${base}/nope/exec?command=ls`, 'v5.channel.k8s.io'), (e: Error) => e.message.startsWith('404 ') && JSON.parse(e.message.slice(4)).message === 'pods "nope" not found');
    await assert.rejects(ws(`${base}/unscheduled/exec?command=ls`, 'v5.channel.k8s.io'), (e: Error) => JSON.parse(e.message.slice(4)).message === 'pod unscheduled does not have a host assigned');
  });

  it('a proxied answer\'s head is passed on at once, before its body', async () => {
    assert.equal(await headBeforeBody('/api/v1/nodes/n1/proxy/slow-stream', releaseSlowStream), 'late\n');
  });

  it('nodes/proxy reaches the kubelet\'s own paths', async () => {
    const r = await get('/api/v1/nodes/n1/proxy/stats/summary');
    assert.deepEqual(JSON.parse(r.body), { path: '/stats/summary' });
    assert.equal(seen.at(-1)!.user, 'kube-apiserver-kubelet-client');
  });
});

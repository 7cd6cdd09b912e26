// Test support until the API server wires the streaming subresources itself: an HTTPS front for a
// real `rudder server` that serves pods/log, exec, attach, portforward and the proxy subresources
// with src/apiserver/streaming (exactly the handlers the server will use, driven through the same
// Ctx and upgradeResponse path) and passes every other request to the real server. kubectl talks
// to the front with the admin's client certificate; the front reads Pods and Nodes from the real
// server as the admin.
import { request as httpsRequest, Agent, createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { KObject } from '../../src/api/meta.ts';
import { writeError, type Ctx, type Res } from '../../src/apiserver/http.ts';
import { parseRequestInfo } from '../../src/apiserver/requestinfo.ts';
import { streamingConnectHandlers, upgradeResponse, type KubeletClientConfig } from '../../src/apiserver/streaming/index.ts';
import { testCa } from '../../src/kubelet/server/certs.ts';
import type { TestServer } from '../harness.ts';

export interface StreamingFront {
  url: string;
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startStreamingFront(server: TestServer, kubelet: KubeletClientConfig, dir: string): Promise<StreamingFront> {
  const agent = new Agent({ ca: server.creds.ca, cert: server.creds.cert, key: server.creds.key, keepAlive: true });
  const getJson = (path: string) =>
    new Promise<KObject | undefined>((resolve, reject) => {
      const r = httpsRequest(server.url + path, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : resolve(undefined)));
      });
      r.on('error', reject);
      r.end();
    });
  const handlers = streamingConnectHandlers({
    getPod: (ns, n) => getJson(`/api/v1/namespaces/${ns}/pods/${n}`),
    getNode: (n) => getJson(`/api/v1/nodes/${n}`),
    getService: (ns, n) => getJson(`/api/v1/namespaces/${ns}/services/${n}`),
    getEndpoints: (ns, n) => getJson(`/api/v1/namespaces/${ns}/endpoints/${n}`),
    kubelet,
  });

  /** The streaming handler for a request, when it is one. */
  const handlerFor = (req: IncomingMessage, res: Res): { ctx: Ctx; h: (ctx: Ctx) => Promise<void> } | undefined => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = decodeURIComponent(q >= 0 ? url.slice(0, q) : url);
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
    const method = (req.method ?? 'GET').toUpperCase();
    const info = parseRequestInfo(method, path, query);
    if (!info.isResourceRequest || !info.subresource) return undefined;
    const h = handlers.get(`/${info.resource}/${info.subresource}`);
    if (!h) return undefined;
    const ctx: Ctx = { req, res, method, path, query, info, warnings: [], started: Date.now(), user: { name: 'admin', groups: ['system:masters'] } };
    return { ctx, h };
  };

  const passThrough = (req: IncomingMessage, res: ServerResponse) => {
    const headers = { ...req.headers };
    delete headers.host;
    const out = httpsRequest(server.url + (req.url ?? '/'), { method: req.method, headers, agent }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const tls = await (await testCa('streaming-front-ca')).servingCert(['127.0.0.1']);
  const front: Server = createServer({ cert: tls.cert, key: tls.key });
  front.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const m = handlerFor(req, res as unknown as Res);
    if (!m) return passThrough(req, res);
    m.h(m.ctx).catch((e) => writeError(m.ctx, e));
  });
  const upgraded = new Set<Duplex>();
  front.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const res = upgradeResponse(socket, head);
    const m = handlerFor(req, res);
    if (!m) {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    m.h(m.ctx).catch((e) => writeError(m.ctx, e));
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  const port = (front.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = join(dir, 'front-kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'front', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'admin', user: { 'client-certificate-data': Buffer.from(server.creds.cert).toString('base64'), 'client-key-data': Buffer.from(server.creds.key).toString('base64') } }],
      contexts: [{ name: 'front', context: { cluster: 'front', user: 'admin', namespace: 'default' } }],
      'current-context': 'front',
    }),
  );
  return {
    url,
    kubeconfig,
    close: async () => {
      agent.destroy();
      for (const s of upgraded) s.destroy();
      front.closeAllConnections();
      await new Promise<void>((r) => front.close(() => r()));
    },
  };
}

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { UpgradeFailedError, forwardedUpgradeHeaders, proxyUpgrade, requestUpgrade } from './upgrade.ts';

describe('HTTP upgrades', () => {
  let backend: Server;
  let front: Server;
  let backendUrl = '';
  let frontPort = 0;
  const seen: IncomingMessage[] = [];
  const sockets: Duplex[] = [];
  before(async () => {
    // The backend answers /refuse with 403 and a body; every other upgrade with 101, echoing bytes.
    backend = createServer((_req, res) => res.end('plain'));
    backend.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      sockets.push(socket);
      seen.push(req);
      if (req.url === '/refuse') {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nforbidden');
        return;
      }
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\nHELLO`);
      socket.on('data', (d) => socket.write(Buffer.from(d.toString().toUpperCase())));
    });
    // The front proxies every upgrade to the backend, as the API server and the kubelet do.
    front = createServer();
    front.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      sockets.push(socket);
      const headers = forwardedUpgradeHeaders(req.rawHeaders);
      headers.host = new URL(backendUrl).host;
      void proxyUpgrade(socket, head, { url: new URL(backendUrl + req.url), method: req.method!, headers });
    });
    backend.listen(0, '127.0.0.1');
    front.listen(0, '127.0.0.1');
    await Promise.all([once(backend, 'listening'), once(front, 'listening')]);
    backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    frontPort = (front.address() as AddressInfo).port;
  });
  after(() => {
    for (const s of sockets) s.destroy();
    backend.closeAllConnections();
    front.closeAllConnections();
    backend.close();
    front.close();
  });

  const upgradeHeaders = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': ['v4.channel.k8s.io', 'v3.channel.k8s.io'], Authorization: 'Bearer secret', 'Impersonate-User': 'someone' };

  it('a proxied upgrade gets the backend\'s 101 with its headers, then carries bytes both ways', async () => {
    const up = await requestUpgrade({ url: new URL(`http://127.0.0.1:${frontPort}/exec/x`), method: 'POST', headers: upgradeHeaders });
    assert.equal(up.headers['x-stream-protocol-version'], 'v4.channel.k8s.io');
    const got: Buffer[] = [up.head];
    up.socket.on('data', (d: Buffer) => got.push(d));
    up.socket.write('ping');
    while (Buffer.concat(got).toString() !== 'HELLOPING') await new Promise((r) => setTimeout(r, 5));
    up.socket.destroy();
    // The backend saw each protocol version on its own header line, and no client credentials.
    const req = seen.at(-1)!;
    const versions = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i]!.toLowerCase() === 'x-stream-protocol-version').length;
    assert.equal(versions, 2);
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers['impersonate-user'], undefined);
    assert.equal(req.method, 'POST');
  });

  it('a backend that refuses the upgrade is answered to the client as it is', async () => {
    await assert.rejects(
      requestUpgrade({ url: new URL(`http://127.0.0.1:${frontPort}/refuse`), method: 'GET', headers: upgradeHeaders }),
      (e: unknown) => e instanceof UpgradeFailedError && e.statusCode === 403 && e.body.toString() === 'forbidden' && e.message === 'unable to upgrade connection: forbidden',
    );
  });

  it('a backend that cannot be reached rejects without answering the client', async () => {
    const unreachable = proxyUpgrade(
      { write: () => assert.fail('nothing may be written'), end: () => assert.fail('nothing may be written'), destroyed: false } as unknown as Duplex,
      Buffer.alloc(0),
      { url: new URL('http://127.0.0.1:1/'), method: 'GET', headers: { Connection: 'Upgrade', Upgrade: 'websocket' } },
    );
    await assert.rejects(unreachable, /ECONNREFUSED/);
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { SpdySession } from './spdy.ts';
import { forwardConnectionOverSpdy, parsePort, portPrefix, servePortForwardSession, webSocketDuplex } from './portforward.ts';

/** A local connection whose bytes we write and whose replies we collect. */
function fakeLocal(request: string): { local: Duplex; reply: Promise<string> } {
  const input = new PassThrough();
  const output = new PassThrough();
  input.end(request);
  const chunks: Buffer[] = [];
  output.on('data', (c: Buffer) => chunks.push(c));
  const reply = new Promise<string>((r) => output.on('end', () => r(Buffer.concat(chunks).toString())));
  return { local: Duplex.from({ readable: input, writable: output }), reply };
}

describe('port-forward over SPDY', () => {
  let tcp: Server;
  let echo: Server;
  let echoPort = 0;
  const accepted: Socket[] = [];
  const dialed: number[] = [];
  before(async () => {
    tcp = createServer((s) => accepted.push(s)).listen(0, '127.0.0.1');
    // The "pod": answers every connection with what it read, uppercased, then closes.
    echo = createServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => s.end(Buffer.concat(chunks).toString().toUpperCase()));
    }).listen(0, '127.0.0.1');
    await Promise.all([once(tcp, 'listening'), once(echo, 'listening')]);
    echoPort = (echo.address() as AddressInfo).port;
  });
  after(() => {
    for (const s of accepted) s.destroy();
    tcp.close();
    echo.close();
  });

  const pair = async () => {
    const n = accepted.length;
    const c = connect((tcp.address() as AddressInfo).port, '127.0.0.1');
    await once(c, 'connect');
    while (accepted.length === n) await new Promise((r) => setTimeout(r, 5));
    const server = new SpdySession(accepted[n]!, { role: 'server' });
    // Every port the client asks for is dialed on the echo server, and recorded.
    servePortForwardSession(server, async (port) => {
      dialed.push(port);
      if (port === 9) throw new Error('connect: connection refused');
      const s = connect(echoPort, '127.0.0.1');
      await once(s, 'connect');
      return s;
    }, 'pod test/p');
    return { client: new SpdySession(c, { role: 'client' }), server };
  };

  it('carries each connection on an error+data stream pair, several at once', async () => {
    const { client } = await pair();
    const a = fakeLocal('first request');
    const b = fakeLocal('second request');
    await Promise.all([forwardConnectionOverSpdy(client, 8080, 0, a.local), forwardConnectionOverSpdy(client, 8081, 1, b.local)]);
    assert.equal(await a.reply, 'FIRST REQUEST');
    assert.equal(await b.reply, 'SECOND REQUEST');
    assert.deepEqual(dialed.slice(-2).sort(), [8080, 8081]);
    client.destroy();
  });

  it('reports the server\'s failure to dial as the error stream\'s text', async () => {
    const { client } = await pair();
    const c = fakeLocal('x');
    await assert.rejects(forwardConnectionOverSpdy(client, 9, 0, c.local), /^Error: error forwarding port 9 to pod test\/p: connect: connection refused$/);
    client.destroy();
  });

  it('pairs streams of clients without requestid by stream id, as upstream\'s server does', async () => {
    const { client } = await pair();
    const error = await client.openStream({ streamtype: ['error'], port: ['7070'] });
    error.end();
    const data = await client.openStream({ streamtype: ['data'], port: ['7070'] });
    data.end('legacy');
    const chunks: Buffer[] = [];
    for await (const c of data) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'LEGACY');
    assert.equal(dialed.at(-1), 7070);
    client.destroy();
  });

  it('ports are 1–65535; the WebSocket flavour prefixes each channel with its port, little-endian', () => {
    assert.equal(parsePort('8080'), 8080);
    assert.throws(() => parsePort('0'), /invalid port: 0/);
    assert.throws(() => parsePort('70000'), /invalid port: 70000/);
    assert.throws(() => parsePort('http'), /invalid port: http/);
    assert.deepEqual([...portPrefix(8080)], [0x90, 0x1f]);
  });
});

describe('SPDY tunnelled through a WebSocket (SPDY/3.1+portforward.k8s.io)', () => {
  let wss: WebSocketServer;
  let port = 0;
  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    port = (wss.address() as AddressInfo).port;
  });
  after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });

  it('turns binary messages into one byte stream each way, so a SPDY session runs over it', async () => {
    const serverSide = once(wss, 'connection') as Promise<[WebSocket]>;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, 'open');
    const [sws] = await serverSide;
    const client = new SpdySession(webSocketDuplex(ws), { role: 'client' });
    const server = new SpdySession(webSocketDuplex(sws), { role: 'server' });
    const got = once(server, 'stream');
    const s = await client.openStream({ streamtype: ['data'], port: ['80'] });
    const [peer] = (await got) as [import('./spdy.ts').SpdyStream];
    s.end('through the tunnel '.repeat(5000));
    const chunks: Buffer[] = [];
    for await (const c of peer) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'through the tunnel '.repeat(5000));
    const closed = once(server, 'close');
    client.destroy();
    await closed;
  });

  it('rejects text messages, which the tunnel never carries', async () => {
    const serverSide = once(wss, 'connection') as Promise<[WebSocket]>;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, 'open');
    const [sws] = await serverSide;
    const d = webSocketDuplex(sws);
    const err = once(d, 'error');
    ws.send('text');
    const [e] = (await err) as [Error];
    assert.equal(e.message, 'invalid message type received');
    ws.terminate();
  });
});

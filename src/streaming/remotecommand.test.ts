import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { SpdySession, type SpdyStream } from './spdy.ts';
import {
  Channel,
  CLOSE_SIGNAL,
  STREAM_PROTOCOL_V5,
  acceptSpdyRemoteCommand,
  bridgeV5WebSocketToSpdy,
  channelMessage,
  exitCodeFromErrorStream,
  exitStatus,
  openSpdyRemoteCommand,
  parseChannelMessage,
  streamOptionsFromQuery,
  type RemoteCommandStreams,
  type StreamOptions,
} from './remotecommand.ts';

describe('remotecommand statuses', () => {
  it('a non-zero exit is Failure/NonZeroExitCode with an ExitCode cause, as runtimes send it', () => {
    const st = exitStatus(3, ['sh', '-c', 'exit 3']);
    assert.equal(st.status, 'Failure');
    assert.equal(st.reason, 'NonZeroExitCode');
    assert.deepEqual(st.details?.causes, [{ reason: 'ExitCode', message: '3' }]);
    assert.equal(st.message, 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3');
    assert.equal(exitCodeFromErrorStream(Buffer.from(JSON.stringify(st))), 3);
  });

  it('success is an empty error stream or a Success status; anything else is an error with its message', () => {
    assert.equal(exitCodeFromErrorStream(Buffer.alloc(0)), 0);
    assert.equal(exitCodeFromErrorStream(Buffer.from('{"metadata":{},"status":"Success"}')), 0);
    const e = exitCodeFromErrorStream(Buffer.from('{"status":"Failure","message":"container not running"}'));
    assert.ok(e instanceof Error && e.message === 'container not running');
    const plain = exitCodeFromErrorStream(Buffer.from('some v1 error text'));
    assert.ok(plain instanceof Error && plain.message === 'some v1 error text');
  });

  it('the kubelet\'s query names the streams input/output/error/tty; a TTY drops stderr; one stream is required', () => {
    assert.deepEqual(streamOptionsFromQuery(new URLSearchParams('input=1&output=1&error=1')), { stdin: true, stdout: true, stderr: true, tty: false });
    assert.deepEqual(streamOptionsFromQuery(new URLSearchParams('output=1&error=1&tty=1')), { stdin: false, stdout: true, stderr: false, tty: true });
    assert.throws(() => streamOptionsFromQuery(new URLSearchParams('tty=1')), /you must specify at least 1 of stdin, stdout, stderr/);
  });

  it('WebSocket messages carry their channel in the first byte', () => {
    assert.deepEqual([...channelMessage(Channel.stderr, 'hi')], [2, 104, 105]);
    assert.deepEqual(parseChannelMessage(Buffer.from([CLOSE_SIGNAL, Channel.stdin])), { channel: 255, data: Buffer.from([0]) });
    assert.equal(parseChannelMessage(Buffer.alloc(0)), undefined);
  });
});

/** A loopback TCP pair of SPDY sessions: client and server. */
async function spdyPair(server: Server, accepted: Socket[]): Promise<{ client: SpdySession; server: SpdySession }> {
  const n = accepted.length;
  const c = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(c, 'connect');
  while (accepted.length === n) await new Promise((r) => setTimeout(r, 5));
  return { client: new SpdySession(c, { role: 'client' }), server: new SpdySession(accepted[n]!, { role: 'server' }) };
}

const readAll = async (s: NodeJS.ReadableStream): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
};

/**
 * A runtime's side of one command, as containerd runs it: uppercases stdin to stdout, writes a
 * note to stderr, then reports `exit` on the error stream and closes.
 */
async function fakeRuntime(session: SpdySession, o: StreamOptions, exit: number): Promise<void> {
  const s = await acceptSpdyRemoteCommand(session, o, 5000);
  const input = s.stdin ? await readAll(s.stdin) : '';
  s.stdout?.end(input.toUpperCase());
  s.stderr?.end('note\n');
  s.error.end(exit === 0 ? '' : JSON.stringify(exitStatus(exit, ['cmd'])));
  await once(s.error, 'finish');
  session.close();
}

describe('remotecommand over SPDY', () => {
  let server: Server;
  const accepted: Socket[] = [];
  before(async () => {
    server = createServer((s) => accepted.push(s)).listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });

  it('the client opens error, stdin, stdout, stderr in that order and the server matches them by streamtype', async () => {
    const { client, server: srv } = await spdyPair(server, accepted);
    const o = { stdin: true, stdout: true, stderr: true, tty: false };
    const runtime = fakeRuntime(srv, o, 4);
    const s = await openSpdyRemoteCommand(client, o);
    assert.deepEqual([s.error.id, s.stdin!.id, s.stdout!.id, s.stderr!.id], [1, 3, 5, 7]);
    assert.equal(s.resize, undefined);
    s.stdin!.end('hello');
    const [out, err, status] = await Promise.all([readAll(s.stdout!), readAll(s.stderr!), readAll(s.error)]);
    assert.equal(out, 'HELLO');
    assert.equal(err, 'note\n');
    assert.equal(exitCodeFromErrorStream(Buffer.from(status)), 4);
    await runtime;
  });

  it('a TTY command has a resize stream and no stderr', async () => {
    const { client, server: srv } = await spdyPair(server, accepted);
    const o = { stdin: true, stdout: true, stderr: true, tty: true };
    const accepting = acceptSpdyRemoteCommand(srv, o, 5000);
    const s = await openSpdyRemoteCommand(client, o);
    const a = await accepting;
    assert.equal(s.stderr, undefined);
    assert.equal(a.stderr, undefined);
    s.resize!.write(JSON.stringify({ Width: 80, Height: 24 }));
    const [chunk] = (await once(a.resize!, 'data')) as [Buffer];
    assert.deepEqual(JSON.parse(chunk.toString()), { Width: 80, Height: 24 });
    client.destroy();
  });

  it('the server gives up when the client does not open every stream in time', async () => {
    const { client, server: srv } = await spdyPair(server, accepted);
    const accepting = acceptSpdyRemoteCommand(srv, { stdin: true, stdout: true, stderr: false, tty: false }, 200);
    await client.openStream({ streamtype: ['error'] });
    await assert.rejects(accepting, /timed out waiting for client to create streams \(have error\)/);
    client.destroy();
  });
});

describe('v5.channel.k8s.io WebSocket bridged to SPDY', () => {
  let tcp: Server;
  const accepted: Socket[] = [];
  let wss: WebSocketServer;
  let port = 0;
  /** What each WebSocket connection is bridged to, set by the test before it connects. */
  let nextStreams: () => Promise<RemoteCommandStreams>;
  before(async () => {
    tcp = createServer((s) => accepted.push(s)).listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => (p.has(STREAM_PROTOCOL_V5) ? STREAM_PROTOCOL_V5 : false) });
    await once(wss, 'listening');
    port = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws) => void bridgeV5WebSocketToSpdy(ws, nextStreams()));
  });
  after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    for (const s of accepted) s.destroy();
    tcp.close();
  });

  /** A v5 client: collects output per channel until the server closes, as kubectl does. */
  const v5Client = (send: (ws: WebSocket) => void) =>
    new Promise<{ out: Record<number, string>; code: number }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [STREAM_PROTOCOL_V5]);
      const out: Record<number, string> = {};
      ws.on('open', () => send(ws));
      ws.on('message', (d: Buffer) => {
        const m = parseChannelMessage(d)!;
        out[m.channel] = (out[m.channel] ?? '') + m.data.toString();
      });
      ws.on('close', (code) => resolve({ out, code }));
      ws.on('error', reject);
    });

  it('stdin (even sent before the runtime answered) reaches the runtime, the CLOSE signal ends it, output and status come back, then a normal close', async () => {
    const o = { stdin: true, stdout: true, stderr: true, tty: false };
    let runtime: Promise<void> | undefined;
    nextStreams = async () => {
      const { client, server: srv } = await spdyPair(tcp, accepted);
      runtime = fakeRuntime(srv, o, 2);
      // The runtime answers late: the client's first messages wait in the bridge.
      await new Promise((r) => setTimeout(r, 100));
      return openSpdyRemoteCommand(client, o);
    };
    const r = await v5Client((ws) => {
      ws.send(channelMessage(Channel.stdin, 'abc'));
      ws.send(channelMessage(Channel.stdin, 'def'));
      ws.send(Buffer.from([CLOSE_SIGNAL, Channel.stdin]));
    });
    await runtime;
    assert.equal(r.code, 1000);
    assert.equal(r.out[Channel.stdout], 'ABCDEF');
    assert.equal(r.out[Channel.stderr], 'note\n');
    assert.equal(exitCodeFromErrorStream(Buffer.from(r.out[Channel.error]!)), 2);
  });

  it('a runtime that resets each stream as it arrives (an attach meeting the container\'s exit) still ends the exchange', async () => {
    const o = { stdin: true, stdout: true, stderr: false, tty: true };
    nextStreams = async () => {
      const { client, server: srv } = await spdyPair(tcp, accepted);
      // Replied to, then reset at once: the client sees each reset while still opening the next
      // stream, before the bridge has taken the streams.
      srv.on('stream', (st: SpdyStream) => setImmediate(() => st.reset()));
      return openSpdyRemoteCommand(client, o);
    };
    const r = await v5Client(() => {});
    assert.equal(r.code, 1000);
    assert.equal(r.out[Channel.error], undefined);
  });

  it('the status reaches the client after all output, even when the runtime ends its error stream first', async () => {
    const o = { stdin: false, stdout: true, stderr: false, tty: false };
    nextStreams = async () => {
      const { client, server: srv } = await spdyPair(tcp, accepted);
      void (async () => {
        const s = await acceptSpdyRemoteCommand(srv, o, 5000);
        s.error.end(JSON.stringify(exitStatus(1, ['cmd'])));
        await new Promise((r) => setTimeout(r, 50));
        s.stdout!.end('late output\n');
      })();
      return openSpdyRemoteCommand(client, o);
    };
    const order: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [STREAM_PROTOCOL_V5]);
      ws.on('message', (d: Buffer) => order.push(parseChannelMessage(d)!.channel));
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    assert.deepEqual(order, [Channel.stdout, Channel.error]);
  });

  it('a runtime that cannot be reached becomes a Failure status on the error channel', async () => {
    nextStreams = () => Promise.reject(new Error('dial tcp 127.0.0.1:1: connect: connection refused'));
    const r = await v5Client(() => {});
    assert.equal(r.code, 1000);
    const st = JSON.parse(r.out[Channel.error]!);
    assert.equal(st.status, 'Failure');
    assert.equal(st.message, 'dial tcp 127.0.0.1:1: connect: connection refused');
  });

  it('a client that goes away resets the runtime\'s streams', async () => {
    const o = { stdin: true, stdout: true, stderr: false, tty: false };
    let runtimeSide: RemoteCommandStreams | undefined;
    let opened!: () => void;
    const ready = new Promise<void>((r) => (opened = r));
    nextStreams = async () => {
      const { client, server: srv } = await spdyPair(tcp, accepted);
      const acc = acceptSpdyRemoteCommand(srv, o, 5000);
      const s = await openSpdyRemoteCommand(client, o);
      runtimeSide = await acc;
      opened();
      return s;
    };
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [STREAM_PROTOCOL_V5]);
    await once(ws, 'open');
    await ready;
    const stdin = runtimeSide!.stdin as SpdyStream;
    const reset = once(stdin, 'reset');
    ws.terminate();
    await reset;
  });
});

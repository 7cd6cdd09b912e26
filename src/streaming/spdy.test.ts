import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { SPDY3_HEADER_DICTIONARY } from './spdy-dictionary.ts';
import {
  FLAG_FIN,
  FrameReader,
  HeaderCodec,
  RstStatus,
  SpdySession,
  decodeFrame,
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  type Frame,
  type SpdyStream,
} from './spdy.ts';

describe('SPDY/3 header dictionary', () => {
  it('is the 1,423 bytes of the SPDY/3 specification', () => {
    assert.equal(SPDY3_HEADER_DICTIONARY.length, 1423);
    assert.equal(createHash('sha256').update(SPDY3_HEADER_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
    // Its first word is the length-prefixed "options".
    assert.deepEqual([...SPDY3_HEADER_DICTIONARY.subarray(0, 11)], [0, 0, 0, 7, ...Buffer.from('options')]);
  });
});

describe('SPDY header blocks', () => {
  it('encode names lowercased with 32-bit lengths and several values joined by NUL', () => {
    const b = encodeHeaderBlock({ StreamType: ['error'], x: ['a', 'b'] });
    const expect = Buffer.concat([
      Buffer.from([0, 0, 0, 2]),
      Buffer.from([0, 0, 0, 10]), Buffer.from('streamtype'), Buffer.from([0, 0, 0, 5]), Buffer.from('error'),
      Buffer.from([0, 0, 0, 1]), Buffer.from('x'), Buffer.from([0, 0, 0, 3]), Buffer.from('a\0b'),
    ]);
    assert.deepEqual(b, expect);
    assert.deepEqual(decodeHeaderBlock(b), { streamtype: ['error'], x: ['a', 'b'] });
  });

  it('compress with the SPDY dictionary, one sync-flushed block after another from one zlib context', async () => {
    const c = new HeaderCodec('compress');
    const d = new HeaderCodec('decompress');
    const h1 = { streamtype: ['data'], port: ['8080'], requestid: ['0'] };
    const h2 = { streamtype: ['error'], port: ['8080'], requestid: ['1'] };
    const z1 = await c.run(encodeHeaderBlock(h1));
    const z2 = await c.run(encodeHeaderBlock(h2));
    // Each block ends with the empty stored block of a sync flush.
    assert.equal(z1.subarray(-4).toString('hex'), '0000ffff');
    assert.equal(z2.subarray(-4).toString('hex'), '0000ffff');
    // The second block refers back to the first (shared context), so it is smaller than a fresh one.
    const fresh = await new HeaderCodec('compress').run(encodeHeaderBlock(h2));
    assert.ok(z2.length < fresh.length, `${z2.length} < ${fresh.length}`);
    // A standard zlib inflater primed with the dictionary reads the first block.
    assert.deepEqual(decodeHeaderBlock(zlib.inflateSync(z1, { dictionary: SPDY3_HEADER_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH })), h1);
    assert.deepEqual(decodeHeaderBlock(await d.run(z1)), h1);
    assert.deepEqual(decodeHeaderBlock(await d.run(z2)), h2);
    c.close();
    d.close();
  });

  it('fail to decompress without the dictionary', async () => {
    const z = await new HeaderCodec('compress').run(encodeHeaderBlock({ streamtype: ['stdout'] }));
    assert.throws(() => zlib.inflateSync(z, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), /dictionary/i);
  });
});

describe('SPDY frames from Go peers (bytes captured from kubectl 1.33 and containerd 1.6)', () => {
  // kubectl port-forward opening the error and data streams of its first connection: two
  // SYN_STREAMs whose header blocks share one zlib context (the second refers back to the first).
  const KUBECTL_SYN_STREAMS = [
    '800300010000003e0000000100000000000078f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614cb45e01c60616061c0c0c0c0590489c64c50f2663400000000ffff',
    '800300010000001a00000003000000000000826a26ac0ad57850499508000000ffff',
  ];
  // containerd's stream server replying to them with empty header sets.
  const CONTAINERD_SYN_REPLIES = ['80030002000000140000000178f9e3c6a7c26260606000000000ffff', '800300020000000c00000003026100000000ffff'];

  const decodeAll = async (hexes: string[]) => {
    const d = new HeaderCodec('decompress');
    const out: Frame[] = [];
    for (const h of hexes) {
      const raws = new FrameReader().push(Buffer.from(h, 'hex'));
      assert.equal(raws.length, 1);
      out.push(await decodeFrame(raws[0]!, (b) => d.run(b)));
    }
    d.close();
    return out;
  };

  it('decode kubectl\'s SYN_STREAMs with their streamtype, port and requestid headers', async () => {
    const [a, b] = await decodeAll(KUBECTL_SYN_STREAMS);
    assert.deepEqual(a, { type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 0, slot: 0, flags: 0, headers: { streamtype: ['error'], port: ['8080'], requestid: ['0'] } });
    assert.deepEqual(b, { type: 'syn_stream', streamId: 3, associatedTo: 0, priority: 0, slot: 0, flags: 0, headers: { port: ['8080'], requestid: ['0'], streamtype: ['data'] } });
  });

  it('decode containerd\'s SYN_REPLYs', async () => {
    assert.deepEqual(await decodeAll(CONTAINERD_SYN_REPLIES), [
      { type: 'syn_reply', streamId: 1, flags: 0, headers: {} },
      { type: 'syn_reply', streamId: 3, flags: 0, headers: {} },
    ]);
  });

  it('cannot decode the second block alone: the context carries over from frame to frame', async () => {
    await assert.rejects(decodeAll([KUBECTL_SYN_STREAMS[1]!]));
  });
});

describe('SPDY frames', () => {
  const roundTrip = async (frames: Frame[]): Promise<Frame[]> => {
    const c = new HeaderCodec('compress');
    const d = new HeaderCodec('decompress');
    const bytes: Buffer[] = [];
    for (const f of frames) {
      const hasHeaders = f.type === 'syn_stream' || f.type === 'syn_reply' || f.type === 'headers';
      bytes.push(encodeFrame(f, hasHeaders ? await c.run(encodeHeaderBlock(f.headers)) : undefined));
    }
    // Feed the bytes in awkward pieces: frames must come out whole and in order.
    const all = Buffer.concat(bytes);
    const r = new FrameReader();
    const raws = [];
    for (let i = 0; i < all.length; i += 7) raws.push(...r.push(all.subarray(i, i + 7)));
    assert.equal(r.buffered, 0);
    const out: Frame[] = [];
    for (const raw of raws) out.push(await decodeFrame(raw, (b) => d.run(b)));
    return out;
  };

  it('survive an encode/decode round trip, every type', async () => {
    const frames: Frame[] = [
      { type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 3, slot: 0, flags: 0, headers: { streamtype: ['error'] } },
      { type: 'syn_reply', streamId: 1, flags: 0, headers: {} },
      { type: 'data', streamId: 1, flags: 0, data: Buffer.from('hello') },
      { type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.alloc(0) },
      { type: 'headers', streamId: 3, flags: FLAG_FIN, headers: { a: ['b'] } },
      { type: 'rst_stream', streamId: 5, flags: 0, status: RstStatus.CANCEL },
      { type: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 65536 }, { flags: 1, id: 4, value: 100 }] },
      { type: 'ping', flags: 0, id: 7 },
      { type: 'goaway', flags: 0, lastGoodStreamId: 9, status: 0 },
      { type: 'window_update', streamId: 1, flags: 0, delta: 4096 },
    ];
    assert.deepEqual(await roundTrip(frames), frames);
  });

  it('lay out control and data headers as the specification says', () => {
    assert.equal(encodeFrame({ type: 'ping', flags: 0, id: 1 }).toString('hex'), '80030006' + '00000004' + '00000001');
    assert.equal(encodeFrame({ type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('ab') }).toString('hex'), '00000003' + '01000002' + '6162');
    assert.equal(encodeFrame({ type: 'rst_stream', streamId: 1, flags: 0, status: 5 }).toString('hex'), '80030003' + '00000008' + '00000001' + '00000005');
    assert.equal(encodeFrame({ type: 'goaway', flags: 0, lastGoodStreamId: 2, status: 0 }).toString('hex'), '80030007' + '00000008' + '00000002' + '00000000');
    assert.equal(encodeFrame({ type: 'window_update', streamId: 1, flags: 0, delta: 10 }).toString('hex'), '80030009' + '00000008' + '00000001' + '0000000a');
  });

  it('reject a frame of another SPDY version', async () => {
    const raw = new FrameReader().push(Buffer.from('80020006000000040000000' + '1', 'hex'));
    await assert.rejects(decodeFrame(raw[0]!, async (b) => b), /unsupported SPDY version 2/);
  });
});

describe('SPDY sessions over TCP', () => {
  let server: ReturnType<typeof createServer>;
  let port = 0;
  const accepted: Socket[] = [];
  before(async () => {
    server = createServer((s) => accepted.push(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });

  const pair = async (): Promise<{ client: SpdySession; server: SpdySession }> => {
    const n = accepted.length;
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    while (accepted.length === n) await new Promise((r) => setTimeout(r, 5));
    return { client: new SpdySession(c, { role: 'client' }), server: new SpdySession(accepted[n]!, { role: 'server' }) };
  };
  const readAll = async (s: SpdyStream): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };

  it('open a stream with headers, carry data both ways, and half-close each side', async () => {
    const { client, server } = await pair();
    const got = once(server, 'stream');
    const cs = await client.openStream({ streamtype: ['stdin'], port: ['80'] });
    const [ss] = (await got) as [SpdyStream];
    assert.equal(cs.id, 1);
    assert.equal(ss.id, 1);
    assert.equal(ss.header('streamType'), 'stdin');
    assert.equal(ss.header('port'), '80');
    cs.end('from client');
    assert.equal(await readAll(ss), 'from client');
    // The server may still write after the client's FIN (half-closed, not closed).
    ss.end('from server '.repeat(10_000));
    assert.equal(await readAll(cs), 'from server '.repeat(10_000));
    await new Promise((r) => setImmediate(r));
    assert.equal(client.openStreams, 0);
    assert.equal(server.openStreams, 0);
    client.destroy();
  });

  it('number client streams odd and server streams even', async () => {
    const { client, server } = await pair();
    const a = await client.openStream({ n: ['1'] });
    const b = await client.openStream({ n: ['2'] });
    const fromServer = once(client, 'stream');
    const c = await server.openStream({ n: ['3'] });
    const [seen] = (await fromServer) as [SpdyStream];
    assert.deepEqual([a.id, b.id, c.id, seen.id], [1, 3, 2, 2]);
    client.destroy();
  });

  it('answer the peer\'s pings and time their own', async () => {
    const { client, server } = await pair();
    assert.ok((await client.ping()) >= 0);
    assert.ok((await server.ping()) >= 0);
    client.destroy();
  });

  it('reject opening a stream the peer resets, and end a stream the peer resets', async () => {
    const { client, server } = await pair();
    server.on('stream', (s) => {
      if (s.header('kind') === 'refuse') s.reset(RstStatus.REFUSED_STREAM);
    });
    // With autoReply the reset comes after the reply; the opener sees the stream end with 'reset'.
    const s = await client.openStream({ kind: ['refuse'] });
    const [status] = (await once(s, 'reset')) as [number];
    assert.equal(status, RstStatus.REFUSED_STREAM);
    client.destroy();
  });

  it('refuse an open before the reply when the peer does not reply but resets', async () => {
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const serverSock = accepted[accepted.length - 1]!;
    const client = new SpdySession(c, { role: 'client' });
    const server = new SpdySession(serverSock, { role: 'server', autoReply: false });
    server.on('stream', (s) => s.reset(RstStatus.REFUSED_STREAM));
    await assert.rejects(client.openStream({ a: ['b'] }), /reset by peer \(status 3\)/);
    client.destroy();
  });

  it('close: GOAWAY first, the connection ends once open streams finish, new streams are refused', async () => {
    const { client, server } = await pair();
    const got = once(server, 'stream');
    const cs = await client.openStream({ a: ['1'] });
    const [ss] = (await got) as [SpdyStream];
    const goaway = once(server, 'goaway');
    client.close();
    await goaway;
    await assert.rejects(client.openStream({ b: ['2'] }), /closed to new streams/);
    // The open stream still works both ways.
    cs.end('last words');
    assert.equal(await readAll(ss), 'last words');
    const closed = Promise.all([once(server, 'close'), once(client, 'close')]);
    ss.end();
    await readAll(cs);
    await closed;
    assert.ok(client.isClosed && server.isClosed);
  });

  it('grant window for consumed data only to a peer that does flow control (spdystream does not)', async () => {
    // A hand-driven peer: it opens a stream, sends 40 KiB, and counts our WINDOW_UPDATE frames.
    const n = accepted.length;
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    while (accepted.length === n) await new Promise((r) => setTimeout(r, 5));
    const us = new SpdySession(accepted[n]!, { role: 'server' });
    const codec = new HeaderCodec('compress');
    const updates: number[] = [];
    const reader = new FrameReader();
    c.on('data', (d: Buffer) => {
      for (const f of reader.push(d)) if (f.control && f.type === 9) updates.push(f.payload.readUInt32BE(4));
    });
    const got = once(us, 'stream');
    c.write(encodeFrame({ type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 0, slot: 0, flags: 0, headers: { a: ['b'] } }, await codec.run(encodeHeaderBlock({ a: ['b'] }))));
    const [s] = (await got) as [SpdyStream];
    let read = 0;
    s.on('data', (d: Buffer) => (read += d.length));
    const send40k = () => c.write(encodeFrame({ type: 'data', streamId: 1, flags: 0, data: Buffer.alloc(40 * 1024) }));
    send40k();
    while (read < 40 * 1024) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(updates, [], 'no WINDOW_UPDATE to a peer that never spoke of windows');
    // Once the peer sends SETTINGS (it does flow control), consumed data is granted back.
    c.write(encodeFrame({ type: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 65536 }] }));
    send40k();
    while (read < 80 * 1024) await new Promise((r) => setTimeout(r, 5));
    while (updates.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.ok(updates.every((u) => u > 0) && updates.reduce((a, b) => a + b, 0) >= 40 * 1024, `updates: ${updates.join(', ')}`);
    codec.close();
    us.destroy();
    c.destroy();
  });

  it('end every stream when the connection drops, keeping data already received', async () => {
    const { client, server } = await pair();
    const got = once(server, 'stream');
    const cs = await client.openStream({ a: ['1'] });
    const [ss] = (await got) as [SpdyStream];
    ss.write('before the drop');
    await new Promise((r) => setTimeout(r, 50));
    const clientClosed = once(client, 'close');
    server.destroy();
    assert.equal(await readAll(cs), 'before the drop');
    await clientClosed;
    await assert.rejects(new Promise((res, rej) => cs.write('x', (e) => (e ? rej(e) : res(undefined)))));
  });
});

// SPDY/3.1 framing and sessions, as Kubernetes' streaming peers speak it (kubectl and client-go
// through moby/spdystream, the kubelet, containerd's CRI stream server).
//
// Wire format (draft-mbelshe-httpbis-spdy-00 + 3.1's session window): every frame has an 8-byte
// header. Control frames: C=1, 15-bit version (3), 16-bit type, 8-bit flags, 24-bit length. Data
// frames: C=0, 31-bit stream id, 8-bit flags, 24-bit length. Header blocks (SYN_STREAM, SYN_REPLY,
// HEADERS) are a 32-bit count of name/value pairs with 32-bit length prefixes, lowercase names,
// several values joined by NUL; each direction compresses them with one zlib stream primed with the
// SPDY/3 dictionary, flushed (Z_SYNC_FLUSH) after every block.
//
// Flow control: spdystream neither sends WINDOW_UPDATE nor honours it, so a sender that waited
// for window would stall after 64 KiB. We therefore do not limit what we send by the peer's window
// (TCP backpressure bounds it instead) but we do grant window for what we consume, so a peer that
// does follow SPDY/3.1 flow control keeps sending.
//
// Ordering contracts: frames leave in the order they were queued (header compression is
// asynchronous, so every frame goes through one write chain); frames are handled in arrival order
// (header decompression likewise). A stream opened by us may carry data only after the peer's
// SYN_REPLY, because spdystream drops data on a stream it has not replied to.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import { SPDY3_HEADER_DICTIONARY } from './spdy-dictionary.ts';

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  INVALID_CREDENTIALS: 10,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes. */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** SETTINGS ids (only INITIAL_WINDOW_SIZE matters here). */
export const SettingsId = { INITIAL_WINDOW_SIZE: 7 } as const;

export const DEFAULT_WINDOW = 64 * 1024;
const MAX_LENGTH = 0xffffff;
/** Data written to a stream is cut into frames of at most this many bytes. */
const DATA_CHUNK = 32 * 1024;

/** Header names (lowercase) to their values; a name may carry several values. */
export type SpdyHeaders = Record<string, string[]>;

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedTo: number; priority: number; slot: number; flags: number; headers: SpdyHeaders }
  | { type: 'syn_reply'; streamId: number; flags: number; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; flags: number; status: number }
  | { type: 'settings'; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; flags: number; id: number }
  | { type: 'goaway'; flags: number; lastGoodStreamId: number; status: number }
  | { type: 'headers'; streamId: number; flags: number; headers: SpdyHeaders }
  | { type: 'window_update'; streamId: number; flags: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

// --------------------------------------------------------------------------- header blocks

/** The uncompressed name/value block of a header set (names lowercased, values NUL-joined). */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed name/value block; repeated names accumulate their values. */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  if (block.length < 4) throw new SpdyProtocolError('header block too short');
  const count = block.readUInt32BE(0);
  let off = 4;
  const take = (): Buffer => {
    if (off + 4 > block.length) throw new SpdyProtocolError('truncated header block');
    const len = block.readUInt32BE(off);
    off += 4;
    if (off + len > block.length) throw new SpdyProtocolError('truncated header block');
    const b = block.subarray(off, off + len);
    off += len;
    return b;
  };
  for (let i = 0; i < count; i++) {
    const name = take().toString('utf8').toLowerCase();
    const values = take().toString('utf8').split('\0');
    (out[name] ??= []).push(...values);
  }
  return out;
}

/** The first value of a header, by case-insensitive name. */
export function headerValue(h: SpdyHeaders, name: string): string | undefined {
  return h[name.toLowerCase()]?.[0];
}

/**
 * One direction's zlib context for header blocks. Calls must not overlap (the session serializes
 * them); each call returns exactly the bytes of one sync-flushed block.
 */
export class HeaderCodec {
  private readonly z: zlib.Deflate | zlib.Inflate;
  private out: Buffer[] = [];
  private failed: Error | undefined;
  private pending: ((e: Error) => void) | undefined;

  constructor(direction: 'compress' | 'decompress') {
    this.z =
      direction === 'compress'
        ? zlib.createDeflate({ dictionary: SPDY3_HEADER_DICTIONARY, level: zlib.constants.Z_BEST_COMPRESSION })
        : zlib.createInflate({ dictionary: SPDY3_HEADER_DICTIONARY });
    this.z.on('data', (c: Buffer) => this.out.push(c));
    this.z.on('error', (e: Error) => {
      this.failed = e;
      this.pending?.(e);
    });
  }

  run(input: Buffer): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<Buffer>((resolve, reject) => {
      this.pending = reject;
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.pending = undefined;
        if (this.failed) return reject(this.failed);
        const r = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
        this.out = [];
        resolve(r);
      });
    });
  }

  close(): void {
    this.z.close();
  }
}

// --------------------------------------------------------------------------- frames

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_LENGTH) throw new SpdyProtocolError(`control frame of ${payload.length} bytes is too large`);
  const h = Buffer.allocUnsafe(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24 | payload.length) >>> 0, 4);
  return Buffer.concat([h, payload]);
}

export function encodeDataFrame(streamId: number, data: Buffer, flags = 0): Buffer {
  if (data.length > MAX_LENGTH) throw new SpdyProtocolError(`data frame of ${data.length} bytes is too large`);
  const h = Buffer.allocUnsafe(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24 | data.length) >>> 0, 4);
  return data.length ? Buffer.concat([h, data]) : h;
}

/**
 * Encodes a frame. Header-bearing frames need `compressedHeaders` (the block after the session's
 * compressor); the others are encoded whole.
 */
export function encodeFrame(f: Frame, compressedHeaders?: Buffer): Buffer {
  switch (f.type) {
    case 'data':
      return encodeDataFrame(f.streamId, f.data, f.flags);
    case 'syn_stream': {
      const p = Buffer.allocUnsafe(10);
      p.writeUInt32BE(f.streamId & 0x7fffffff, 0);
      p.writeUInt32BE(f.associatedTo & 0x7fffffff, 4);
      p.writeUInt8((f.priority & 0x7) << 5, 8);
      p.writeUInt8(f.slot & 0xff, 9);
      return controlFrame(FrameType.SYN_STREAM, f.flags, Buffer.concat([p, need(compressedHeaders)]));
    }
    case 'syn_reply':
      return controlFrame(FrameType.SYN_REPLY, f.flags, Buffer.concat([u32(f.streamId & 0x7fffffff), need(compressedHeaders)]));
    case 'headers':
      return controlFrame(FrameType.HEADERS, f.flags, Buffer.concat([u32(f.streamId & 0x7fffffff), need(compressedHeaders)]));
    case 'rst_stream':
      return controlFrame(FrameType.RST_STREAM, f.flags, Buffer.concat([u32(f.streamId & 0x7fffffff), u32(f.status)]));
    case 'settings': {
      const parts = [u32(f.entries.length)];
      for (const e of f.entries) parts.push(u32(((e.flags & 0xff) << 24 | (e.id & 0xffffff)) >>> 0), u32(e.value));
      return controlFrame(FrameType.SETTINGS, f.flags, Buffer.concat(parts));
    }
    case 'ping':
      return controlFrame(FrameType.PING, f.flags, u32(f.id));
    case 'goaway':
      return controlFrame(FrameType.GOAWAY, f.flags, Buffer.concat([u32(f.lastGoodStreamId & 0x7fffffff), u32(f.status)]));
    case 'window_update':
      return controlFrame(FrameType.WINDOW_UPDATE, f.flags, Buffer.concat([u32(f.streamId & 0x7fffffff), u32(f.delta & 0x7fffffff)]));
    case 'unknown':
      return controlFrame(f.frameType, f.flags, f.payload);
  }
}

function need(b: Buffer | undefined): Buffer {
  if (!b) throw new Error('a header-bearing frame needs its compressed header block');
  return b;
}

/** A frame as cut from the byte stream, before header decompression. */
export type RawFrame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; version: number; type: number; flags: number; payload: Buffer };

/** Cuts frames out of a byte stream fed in arbitrary chunks. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: RawFrame[] = [];
    while (this.buf.length >= 8) {
      const w0 = this.buf.readUInt32BE(0);
      const w1 = this.buf.readUInt32BE(4);
      const len = w1 & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const body = this.buf.subarray(8, 8 + len);
      if (w0 & 0x80000000) {
        out.push({ control: true, version: (w0 >>> 16) & 0x7fff, type: w0 & 0xffff, flags: w1 >>> 24, payload: body });
      } else {
        out.push({ control: false, streamId: w0 & 0x7fffffff, flags: w1 >>> 24, data: body });
      }
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }

  /** Bytes received but not yet a whole frame. */
  get buffered(): number {
    return this.buf.length;
  }
}

/**
 * Decodes a raw frame; header blocks go through `decompress` (the session's inflate context).
 * Throws SpdyProtocolError for malformed frames.
 */
export async function decodeFrame(raw: RawFrame, decompress: (b: Buffer) => Promise<Buffer>): Promise<Frame> {
  if (!raw.control) return { type: 'data', streamId: raw.streamId, flags: raw.flags, data: raw.data };
  const p = raw.payload;
  if (raw.version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${raw.version}`);
  const min = (n: number) => {
    if (p.length < n) throw new SpdyProtocolError(`control frame type ${raw.type} too short (${p.length} bytes)`);
  };
  switch (raw.type) {
    case FrameType.SYN_STREAM: {
      min(10);
      const headers = decodeHeaderBlock(await decompress(p.subarray(10)));
      return {
        type: 'syn_stream',
        streamId: p.readUInt32BE(0) & 0x7fffffff,
        associatedTo: p.readUInt32BE(4) & 0x7fffffff,
        priority: p.readUInt8(8) >>> 5,
        slot: p.readUInt8(9),
        flags: raw.flags,
        headers,
      };
    }
    case FrameType.SYN_REPLY:
    case FrameType.HEADERS: {
      min(4);
      const headers = decodeHeaderBlock(await decompress(p.subarray(4)));
      const streamId = p.readUInt32BE(0) & 0x7fffffff;
      return raw.type === FrameType.SYN_REPLY ? { type: 'syn_reply', streamId, flags: raw.flags, headers } : { type: 'headers', streamId, flags: raw.flags, headers };
    }
    case FrameType.RST_STREAM:
      min(8);
      return { type: 'rst_stream', streamId: p.readUInt32BE(0) & 0x7fffffff, flags: raw.flags, status: p.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      min(4);
      const n = p.readUInt32BE(0);
      min(4 + n * 8);
      const entries: { flags: number; id: number; value: number }[] = [];
      for (let i = 0; i < n; i++) {
        const w = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: w >>> 24, id: w & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags: raw.flags, entries };
    }
    case FrameType.PING:
      min(4);
      return { type: 'ping', flags: raw.flags, id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      min(4);
      return { type: 'goaway', flags: raw.flags, lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff, status: p.length >= 8 ? p.readUInt32BE(4) : 0 };
    case FrameType.WINDOW_UPDATE:
      min(8);
      return { type: 'window_update', streamId: p.readUInt32BE(0) & 0x7fffffff, flags: raw.flags, delta: p.readUInt32BE(4) & 0x7fffffff };
    default:
      return { type: 'unknown', frameType: raw.type, flags: raw.flags, payload: p };
  }
}

// --------------------------------------------------------------------------- sessions

export interface SpdySessionOptions {
  /** The client opens odd-numbered streams and pings, the server even-numbered ones. */
  role: 'client' | 'server';
  /**
   * Reply (empty SYN_REPLY) to every stream the peer opens before emitting 'stream', as
   * Kubernetes' servers do; default true. With false, call SpdyStream.reply() yourself.
   */
  autoReply?: boolean;
}

interface SessionEvents {
  stream: [SpdyStream];
  goaway: [number];
  error: [Error];
  close: [];
}

/**
 * A SPDY/3.1 session over a byte stream (an upgraded HTTP connection or a tunnel). Owns the
 * socket: closing or destroying the session ends it.
 */
export class SpdySession extends EventEmitter<SessionEvents> {
  readonly role: 'client' | 'server';
  private readonly socket: Duplex;
  private readonly autoReply: boolean;
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCodec('compress');
  private readonly decompressor = new HeaderCodec('decompress');
  private readonly streams = new Map<number, SpdyStream>();
  private nextStreamId: number;
  private nextPingId: number;
  private lastPeerStreamId = 0;
  private readonly pings = new Map<number, { started: number; resolve: (ms: number) => void; reject: (e: Error) => void }>();
  private writeChain: Promise<void> = Promise.resolve();
  private readChain: Promise<void> = Promise.resolve();
  private readonly pausedBy = new Set<SpdyStream>();
  private goneAway = false;
  private peerGoneAway = false;
  private peerFlowControl = false;
  private closing = false;
  private closed = false;

  constructor(socket: Duplex, opts: SpdySessionOptions) {
    super();
    this.socket = socket;
    this.role = opts.role;
    this.autoReply = opts.autoReply ?? true;
    this.nextStreamId = opts.role === 'client' ? 1 : 2;
    this.nextPingId = opts.role === 'client' ? 1 : 2;
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    // The peer's close is handled after every frame received before it (frames are handled in an
    // asynchronous chain; ending streams early would drop data still in it).
    const afterFrames = () => {
      this.readChain = this.readChain.then(() => this.onSocketGone());
    };
    socket.on('end', afterFrames);
    socket.on('close', afterFrames);
    socket.on('error', (e: Error) => {
      // A connection error ends the session ('close' follows), after the frames already received;
      // it is reported only to a listener, since a peer resetting the connection after its last
      // stream is ordinary.
      if (!this.closed && this.listenerCount('error') > 0) this.emit('error', e);
      afterFrames();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Number of streams not yet closed in both directions. */
  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Opens a stream and resolves once the peer replies (its SYN_REPLY), or rejects when the peer
   * resets it or the session ends first. `fin` opens it half-closed (nothing to send).
   */
  openStream(headers: SpdyHeaders, opts: { fin?: boolean; priority?: number } = {}): Promise<SpdyStream> {
    if (this.closed || this.goneAway || this.peerGoneAway) return Promise.reject(new Error('SPDY session is closed to new streams'));
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const s = new SpdyStream(this, id, headers, false);
    this.streams.set(id, s);
    if (opts.fin) s.markLocalEnd();
    this.queue(async () =>
      encodeFrame(
        { type: 'syn_stream', streamId: id, associatedTo: 0, priority: opts.priority ?? 0, slot: 0, flags: opts.fin ? FLAG_FIN : 0, headers },
        await this.compressor.run(encodeHeaderBlock(headers)),
      ),
    );
    return s.replied.then(() => s);
  }

  /** Round-trip time of a PING, in milliseconds. */
  ping(): Promise<number> {
    if (this.closed) return Promise.reject(new Error('SPDY session is closed'));
    const id = this.nextPingId;
    this.nextPingId = this.nextPingId > 0x7ffffffd ? this.nextPingId - 0x7ffffffc : this.nextPingId + 2;
    return new Promise((resolve, reject) => {
      this.pings.set(id, { started: Date.now(), resolve, reject });
      this.queue(() => encodeFrame({ type: 'ping', flags: 0, id }));
    });
  }

  /**
   * Sends GOAWAY (no new streams either way) and ends the connection once every stream has closed,
   * as spdystream does.
   */
  close(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.sendGoAway(GoAwayStatus.OK);
    this.maybeFinishClose();
  }

  /** Ends the connection now; open streams end with it. */
  destroy(err?: Error): void {
    if (this.closed) return;
    this.socket.destroy(err);
    this.onSocketGone();
  }

  // ---- internal, used by SpdyStream

  /** @internal Queues a frame; `cb` runs once the bytes are handed to the socket (or failed). */
  queue(build: () => Buffer | Promise<Buffer>, cb?: (err?: Error | null) => void): void {
    this.writeChain = this.writeChain.then(async () => {
      if (this.closed || this.socket.destroyed || this.socket.writableEnded) {
        cb?.(new Error('SPDY session is closed'));
        return;
      }
      let buf: Buffer;
      try {
        buf = await build();
      } catch (e) {
        cb?.(e as Error);
        this.fail(e as Error);
        return;
      }
      if (cb) this.socket.write(buf, (err) => cb(err));
      else this.socket.write(buf);
    });
  }

  /** @internal */
  sendData(stream: SpdyStream, data: Buffer, fin: boolean, cb: (err?: Error | null) => void): void {
    if (data.length <= DATA_CHUNK) {
      this.queue(() => encodeDataFrame(stream.id, data, fin ? FLAG_FIN : 0), cb);
      return;
    }
    for (let off = 0; off < data.length; off += DATA_CHUNK) {
      const last = off + DATA_CHUNK >= data.length;
      const piece = data.subarray(off, off + DATA_CHUNK);
      this.queue(() => encodeDataFrame(stream.id, piece, last && fin ? FLAG_FIN : 0), last ? cb : undefined);
    }
  }

  /** @internal */
  sendReply(stream: SpdyStream, headers: SpdyHeaders, fin: boolean): void {
    this.queue(async () => encodeFrame({ type: 'syn_reply', streamId: stream.id, flags: fin ? FLAG_FIN : 0, headers }, await this.compressor.run(encodeHeaderBlock(headers))));
  }

  /** @internal */
  sendReset(stream: SpdyStream, status: number): void {
    this.queue(() => encodeFrame({ type: 'rst_stream', streamId: stream.id, flags: 0, status }));
  }

  /**
   * @internal Grants the peer window for bytes we have consumed (see the flow-control note) — only
   * to a peer that has shown it does flow control (sent SETTINGS or WINDOW_UPDATE): spdystream
   * does not, and a write racing its close would fail the connection with EPIPE.
   */
  grantWindow(stream: SpdyStream, bytes: number): void {
    if (bytes <= 0 || this.closed || !this.peerFlowControl || this.peerGoneAway) return;
    this.queue(() => Buffer.concat([encodeFrame({ type: 'window_update', streamId: stream.id, flags: 0, delta: bytes }), encodeFrame({ type: 'window_update', streamId: 0, flags: 0, delta: bytes })]));
  }

  /** @internal */
  pauseFor(stream: SpdyStream): void {
    this.pausedBy.add(stream);
    this.socket.pause();
  }

  /** @internal */
  resumeFor(stream: SpdyStream): void {
    if (this.pausedBy.delete(stream) && this.pausedBy.size === 0 && !this.closed) this.socket.resume();
  }

  /** @internal A stream closed in both directions (or reset). */
  forget(stream: SpdyStream): void {
    this.streams.delete(stream.id);
    this.resumeFor(stream);
    this.maybeFinishClose();
  }

  // ---- inbound

  private onBytes(chunk: Buffer): void {
    let frames: RawFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    for (const raw of frames) {
      this.readChain = this.readChain.then(async () => {
        if (this.closed) return;
        let f: Frame;
        try {
          f = await decodeFrame(raw, (b) => this.decompressor.run(b));
        } catch (e) {
          this.fail(e as Error);
          return;
        }
        this.handle(f);
      });
    }
  }

  private handle(f: Frame): void {
    switch (f.type) {
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (!s) return; // data for a stream already reset or closed: dropped, as spdystream does
        s.onData(f.data);
        if (f.flags & FLAG_FIN) s.onRemoteEnd();
        return;
      }
      case 'syn_stream': {
        const peerParity = this.role === 'client' ? 0 : 1;
        if (f.streamId === 0 || f.streamId % 2 !== peerParity || f.streamId <= this.lastPeerStreamId) {
          this.queue(() => encodeFrame({ type: 'rst_stream', streamId: f.streamId, flags: 0, status: RstStatus.PROTOCOL_ERROR }));
          return;
        }
        this.lastPeerStreamId = f.streamId;
        if (this.goneAway || this.closing) {
          this.queue(() => encodeFrame({ type: 'rst_stream', streamId: f.streamId, flags: 0, status: RstStatus.REFUSED_STREAM }));
          return;
        }
        const s = new SpdyStream(this, f.streamId, f.headers, true);
        this.streams.set(f.streamId, s);
        if (f.flags & FLAG_UNIDIRECTIONAL) s.markLocalEnd();
        if (this.autoReply) s.reply();
        if (f.flags & FLAG_FIN) s.onRemoteEnd();
        this.emit('stream', s);
        return;
      }
      case 'syn_reply': {
        const s = this.streams.get(f.streamId);
        if (!s) return;
        s.onReply(f.headers);
        if (f.flags & FLAG_FIN) s.onRemoteEnd();
        return;
      }
      case 'headers': {
        const s = this.streams.get(f.streamId);
        if (!s) return;
        s.emit('headers', f.headers);
        if (f.flags & FLAG_FIN) s.onRemoteEnd();
        return;
      }
      case 'rst_stream': {
        this.streams.get(f.streamId)?.onReset(f.status);
        return;
      }
      case 'ping': {
        const ours = f.id % 2 === (this.role === 'client' ? 1 : 0);
        if (!ours) {
          this.queue(() => encodeFrame({ type: 'ping', flags: 0, id: f.id }));
          return;
        }
        const p = this.pings.get(f.id);
        if (p) {
          this.pings.delete(f.id);
          p.resolve(Date.now() - p.started);
        }
        return;
      }
      case 'goaway':
        this.peerGoneAway = true;
        this.emit('goaway', f.lastGoodStreamId);
        // Streams we opened above the peer's last good id were never processed: fail them.
        for (const s of this.streams.values()) {
          if (!s.peerInitiated && s.id > f.lastGoodStreamId && !s.isReplied) s.onReset(RstStatus.REFUSED_STREAM);
        }
        this.maybeFinishClose();
        return;
      case 'settings':
      case 'window_update':
        // No send-side flow control (see the header comment); the peer does receive-side control.
        this.peerFlowControl = true;
        return;
      case 'unknown':
        return; // unknown control frames are ignored, as the specification says
    }
  }

  private sendGoAway(status: number): void {
    if (this.goneAway) return;
    this.goneAway = true;
    const last = this.lastPeerStreamId;
    this.queue(() => encodeFrame({ type: 'goaway', flags: 0, lastGoodStreamId: last, status }));
  }

  private maybeFinishClose(): void {
    if (!this.closing || this.closed || this.streams.size > 0) return;
    this.writeChain = this.writeChain.then(() => {
      if (!this.socket.destroyed) this.socket.end();
    });
  }

  private fail(e: Error): void {
    if (this.closed) return;
    if (e instanceof SpdyProtocolError) {
      this.sendGoAway(GoAwayStatus.PROTOCOL_ERROR);
      this.writeChain = this.writeChain.then(() => void this.socket.end());
    }
    if (this.listenerCount('error') > 0) this.emit('error', e);
    setImmediate(() => this.destroy());
  }

  private onSocketGone(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pings.values()) p.reject(new Error('SPDY session closed'));
    this.pings.clear();
    for (const s of [...this.streams.values()]) s.onSessionGone();
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit('close');
  }
}

/**
 * One SPDY stream as a Duplex: writes become DATA frames, end() sends FIN (a half-close), and
 * the peer's FIN ends the readable side. `headers` are the SYN_STREAM headers (ours or the peer's).
 * Events besides Duplex's: 'headers' (a HEADERS frame's SpdyHeaders), 'reset' (the peer's RST status).
 */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  /** True for streams the peer opened. */
  readonly peerInitiated: boolean;
  replyHeaders: SpdyHeaders | undefined;
  /** Resolves when the stream is replied to (by us for peer streams, by the peer for ours). */
  readonly replied: Promise<void>;
  private readonly session: SpdySession;
  private resolveReplied!: () => void;
  private rejectReplied!: (e: Error) => void;
  private _replied = false;
  private localEnded = false;
  private remoteEnded = false;
  private wasReset = false;
  private sessionGone = false;
  private unacked = 0;

  constructor(session: SpdySession, id: number, headers: SpdyHeaders, peerInitiated: boolean) {
    super({ allowHalfOpen: true });
    this.session = session;
    this.id = id;
    this.headers = headers;
    this.peerInitiated = peerInitiated;
    this.replied = new Promise<void>((res, rej) => {
      this.resolveReplied = res;
      this.rejectReplied = rej;
    });
    // A reply that never comes must not surface as an unhandled rejection when nobody waits.
    this.replied.catch(() => {});
  }

  get isReplied(): boolean {
    return this._replied;
  }

  /** The first value of one of the stream's SYN_STREAM headers. */
  header(name: string): string | undefined {
    return headerValue(this.headers, name);
  }

  /** Replies to a peer-opened stream (done automatically unless the session has autoReply off). */
  reply(headers: SpdyHeaders = {}, fin = false): void {
    if (!this.peerInitiated || this._replied) return;
    this._replied = true;
    this.session.sendReply(this, headers, fin);
    if (fin) this.markLocalEnd();
    this.resolveReplied();
  }

  /** Aborts the stream in both directions with RST_STREAM. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.wasReset) return;
    this.wasReset = true;
    this.session.sendReset(this, status);
    this.rejectReplied(new Error(`SPDY stream ${this.id} reset`));
    this.session.forget(this);
    this.destroy();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.wasReset) return cb(new Error(`SPDY stream ${this.id} was reset`));
    if (this.sessionGone) return cb(new Error('SPDY session is closed'));
    if (this.localEnded) return cb(new Error(`write after end on SPDY stream ${this.id}`));
    const send = () => this.session.sendData(this, chunk, false, cb);
    if (this._replied) send();
    else this.replied.then(send, (e: Error) => cb(e));
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.wasReset || this.localEnded || this.sessionGone) return cb();
    const fin = () => {
      this.localEnded = true;
      this.session.sendData(this, Buffer.alloc(0), true, (err) => {
        this.maybeForget();
        cb(err && !this.wasReset ? err : null);
      });
    };
    if (this._replied) fin();
    else this.replied.then(fin, () => cb());
  }

  override _read(): void {
    this.session.resumeFor(this);
    if (this.unacked > 0) {
      this.session.grantWindow(this, this.unacked);
      this.unacked = 0;
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.wasReset && !this.sessionGone && !(this.localEnded && this.remoteEnded)) {
      this.wasReset = true;
      this.session.sendReset(this, RstStatus.CANCEL);
    }
    this.rejectReplied(new Error(`SPDY stream ${this.id} closed`));
    this.session.forget(this);
    cb(err);
  }

  // ---- called by the session

  /** @internal */
  markLocalEnd(): void {
    this.localEnded = true;
  }

  /** @internal */
  onReply(headers: SpdyHeaders): void {
    if (this._replied) return;
    this._replied = true;
    this.replyHeaders = headers;
    this.resolveReplied();
  }

  /** @internal */
  onData(data: Buffer): void {
    if (this.remoteEnded || this.wasReset) return;
    this.unacked += data.length;
    if (!this.push(data)) this.session.pauseFor(this);
    else if (this.unacked >= DEFAULT_WINDOW / 2) {
      this.session.grantWindow(this, this.unacked);
      this.unacked = 0;
    }
  }

  /** @internal */
  onRemoteEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    this.push(null);
    this.maybeForget();
  }

  /** @internal */
  onReset(status: number): void {
    if (this.wasReset) return;
    this.wasReset = true;
    this.rejectReplied(new Error(`SPDY stream ${this.id} reset by peer (status ${status})`));
    this.emit('reset', status);
    this.session.forget(this);
    if (!this.remoteEnded) {
      this.remoteEnded = true;
      this.push(null);
    }
    this.destroy();
  }

  /**
   * @internal The connection ended. The readable side ends (data already received stays readable,
   * so output that arrived just before the peer closed is not lost); the writable side ends too.
   */
  onSessionGone(): void {
    this.sessionGone = true;
    this.rejectReplied(new Error(`SPDY session closed before stream ${this.id} was replied to`));
    if (!this.remoteEnded) {
      this.remoteEnded = true;
      this.push(null);
    }
    if (!this.writableEnded && !this.destroyed) this.end();
  }

  private maybeForget(): void {
    if (this.localEnded && this.remoteEnded) this.session.forget(this);
  }
}

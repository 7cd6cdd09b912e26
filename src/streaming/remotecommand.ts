// Kubernetes' remote command protocol (exec and attach): the channel.k8s.io family.
//
// Over SPDY (v1–v4) each standard stream is a SPDY stream named by its `streamType` header; the
// client opens them (error first, then stdin, stdout, stderr, and resize for a TTY in v3+) and the
// server replies to each. Over WebSocket each binary message starts with a channel byte: 0 stdin,
// 1 stdout, 2 stderr, 3 error, 4 resize. v4 carries a metav1.Status on the error stream (a
// non-zero exit is Failure/NonZeroExitCode with an ExitCode cause); v5 (WebSocket only) adds the
// CLOSE signal [255, channel], so a client can end stdin without closing the connection.
//
// The runtimes (containerd 1.6) speak up to v4; kubectl ≥ 1.30 speaks v5 over WebSocket and falls
// back to SPDY. bridgeV5WebSocketToSpdy joins the two: a v5 client in front, v4 SPDY streams to the
// runtime behind, with stdin's CLOSE signal becoming the stdin stream's FIN.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Status } from '../api/errors.ts';
import { headerValue, type SpdySession, type SpdyStream } from './spdy.ts';

export const STREAM_PROTOCOL_V1 = 'channel.k8s.io';
export const STREAM_PROTOCOL_V2 = 'v2.channel.k8s.io';
export const STREAM_PROTOCOL_V3 = 'v3.channel.k8s.io';
export const STREAM_PROTOCOL_V4 = 'v4.channel.k8s.io';
export const STREAM_PROTOCOL_V5 = 'v5.channel.k8s.io';
/** The WebSocket flavours that carry base64 text instead of binary (served by the runtimes). */
export const BASE64_STREAM_PROTOCOL_V1 = 'base64.channel.k8s.io';

/** The HTTP header a SPDY upgrade lists its protocol versions in (and the server answers with one). */
export const STREAM_PROTOCOL_HEADER = 'X-Stream-Protocol-Version';
/** The SPDY stream header naming a stream's role (lowercase on the wire). */
export const STREAM_TYPE_HEADER = 'streamtype';

export type StreamType = 'stdin' | 'stdout' | 'stderr' | 'error' | 'resize';

/** WebSocket channel numbers. */
export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
/** v5's CLOSE signal: a message [255, channel] half-closes that channel. */
export const CLOSE_SIGNAL = 255;

/** Which standard streams a command has (upstream's remotecommand Options). */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The SPDY streams of one remote command; absent ones were not requested. */
export interface RemoteCommandStreams {
  error: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

/** Terminal size as sent on the resize stream / channel (JSON, one object per change). */
export interface TerminalSize {
  Width: number;
  Height: number;
}

/** The reason and cause type upstream uses for a command's non-zero exit. */
export const NON_ZERO_EXIT_CODE_REASON = 'NonZeroExitCode';
export const EXIT_CODE_CAUSE = 'ExitCode';

/** The error-stream Status for a command that exited with `code` (what runtimes send). */
export function exitStatus(code: number, command: string[] = []): Omit<Status, 'kind' | 'apiVersion'> {
  if (code === 0) return { metadata: {}, status: 'Success', code: 0 };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: NON_ZERO_EXIT_CODE_REASON,
    details: { causes: [{ reason: EXIT_CODE_CAUSE, message: String(code) }] },
    code: 500,
  };
}

/** A Failure status for errors that are not the command's own (upstream: InternalError). */
export function failureStatus(message: string): Omit<Status, 'kind' | 'apiVersion'> {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 };
}

/**
 * What a client concludes from the error stream's bytes (v4+): 0 for success or an empty stream,
 * the ExitCode cause for a non-zero exit, or an Error carrying the status message.
 */
export function exitCodeFromErrorStream(bytes: Buffer): number | Error {
  const text = bytes.toString('utf8').trim();
  if (!text) return 0;
  let st: Partial<Status>;
  try {
    st = JSON.parse(text) as Partial<Status>;
  } catch {
    return new Error(text);
  }
  if (st.status === 'Success') return 0;
  if (st.reason === NON_ZERO_EXIT_CODE_REASON) {
    const c = st.details?.causes?.find((x) => x.reason === EXIT_CODE_CAUSE);
    const n = Number(c?.message);
    if (Number.isInteger(n)) return n;
  }
  return new Error(st.message ?? text);
}

/** Upstream's NewOptions checks of the kubelet's query (input/output/error/tty = "1"). */
export function streamOptionsFromQuery(q: URLSearchParams): StreamOptions {
  const on = (k: string) => q.get(k) === '1' || q.get(k) === 'true';
  const tty = on('tty');
  const o = { stdin: on('input'), stdout: on('output'), stderr: on('error'), tty };
  // A TTY merges stderr into stdout.
  if (tty) o.stderr = false;
  if (!o.stdin && !o.stdout && !o.stderr) throw new Error('you must specify at least 1 of stdin, stdout, stderr');
  return o;
}

// ------------------------------------------------------------------------------ SPDY sides

/**
 * The client's side over SPDY: opens the streams in client-go's order (error, stdin, stdout,
 * stderr, resize), each after the previous was replied to. The error stream is half-closed at
 * once (the client never writes to it).
 */
export async function openSpdyRemoteCommand(session: SpdySession, o: StreamOptions): Promise<RemoteCommandStreams> {
  const open = (t: StreamType) => session.openStream({ [STREAM_TYPE_HEADER]: [t] });
  const error = await open('error');
  error.end();
  const out: RemoteCommandStreams = { error };
  if (o.stdin) out.stdin = await open('stdin');
  if (o.stdout) out.stdout = await open('stdout');
  if (o.stderr && !o.tty) out.stderr = await open('stderr');
  if (o.tty) out.resize = await open('resize');
  return out;
}

/**
 * The server's side over SPDY: waits for every stream `o` calls for, in any order, as upstream's
 * server does (streams are replied to by the session). Rejects after timeoutMs.
 */
export function acceptSpdyRemoteCommand(session: SpdySession, o: StreamOptions, timeoutMs = 30_000): Promise<RemoteCommandStreams> {
  const want = new Set<StreamType>(['error']);
  if (o.stdin) want.add('stdin');
  if (o.stdout) want.add('stdout');
  if (o.stderr && !o.tty) want.add('stderr');
  if (o.tty) want.add('resize');
  return new Promise((resolve, reject) => {
    const got: Partial<Record<StreamType, SpdyStream>> = {};
    const timer = setTimeout(() => done(new Error(`timed out waiting for client to create streams (have ${Object.keys(got).join(', ') || 'none'})`)), timeoutMs);
    const onStream = (s: SpdyStream) => {
      const t = headerValue(s.headers, STREAM_TYPE_HEADER) as StreamType | undefined;
      if (!t || !want.has(t) || got[t]) {
        s.reset();
        return;
      }
      got[t] = s;
      if (Object.keys(got).length === want.size) done();
    };
    const onClose = () => done(new Error('connection closed before the client created its streams'));
    const done = (err?: Error) => {
      clearTimeout(timer);
      session.off('stream', onStream);
      session.off('close', onClose);
      if (err) reject(err);
      else resolve({ error: got.error!, stdin: got.stdin, stdout: got.stdout, stderr: got.stderr, resize: got.resize });
    };
    session.on('stream', onStream);
    session.on('close', onClose);
  });
}

// ------------------------------------------------------------------------------ WebSocket

/** One WebSocket message of the channel protocols: [channel, ...data]. */
export function channelMessage(channel: number, data: Uint8Array | string = Buffer.alloc(0)): Buffer {
  const d = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = Buffer.allocUnsafe(1 + d.length);
  out[0] = channel;
  out.set(d, 1);
  return out;
}

/** Splits a channel-protocol message; undefined for an empty one. */
export function parseChannelMessage(msg: Buffer): { channel: number; data: Buffer } | undefined {
  if (msg.length === 0) return undefined;
  return { channel: msg[0]!, data: msg.subarray(1) };
}

/** Queue depth (bytes) at which output streams pause until the WebSocket drains. */
const WS_HIGH_WATER = 1 << 20;

/**
 * Serves a v5.channel.k8s.io WebSocket client with SPDY remote-command streams to a runtime.
 * Attach this as soon as the WebSocket opens: client messages that arrive before `streams`
 * resolves are kept. Resolves when the exchange is over (the WebSocket closed); a rejected
 * `streams` becomes a Failure status on the error channel.
 *
 * Contract with the client (client-go's v5 executor): stdout/stderr data are forwarded as they
 * come; the error stream's Status is sent once, after the runtime has ended that stream and every
 * output stream; then the WebSocket closes normally (1000).
 */
export function bridgeV5WebSocketToSpdy(ws: WebSocket, streams: Promise<RemoteCommandStreams>, onEnd?: () => void): Promise<void> {
  return new Promise<void>((resolveBridge) => {
    let s: RemoteCommandStreams | undefined;
    const early: Buffer[] = [];
    let finished = false;
    let endReported = false;
    const reportEnd = () => {
      if (endReported) return;
      endReported = true;
      onEnd?.();
    };
    const finish = (code = 1000, reason = '') => {
      if (finished) return;
      finished = true;
      if (ws.readyState === ws.OPEN) ws.close(code, reason);
      reportEnd();
    };
    const send = (channel: number, data: Buffer, src?: Duplex) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(channelMessage(channel, data), { binary: true }, () => src?.resume());
      if (src && ws.bufferedAmount > WS_HIGH_WATER) src.pause();
    };
    const onClientMessage = (m: Buffer) => {
      if (!s) {
        early.push(m);
        return;
      }
      const msg = parseChannelMessage(m);
      if (!msg) return;
      if (msg.channel === CLOSE_SIGNAL) {
        const ch = msg.data[0];
        if (ch === Channel.stdin) s.stdin?.end();
        else if (ch === Channel.resize) s.resize?.end();
        return;
      }
      if (msg.channel === Channel.stdin) s.stdin?.write(msg.data);
      else if (msg.channel === Channel.resize) s.resize?.write(msg.data);
    };
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (!isBinary) return; // the channel protocols are binary-only
      onClientMessage(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
    });
    ws.on('close', () => {
      finished = true;
      if (s) for (const st of [s.stdin, s.stdout, s.stderr, s.resize, s.error]) st?.destroy();
      reportEnd();
      resolveBridge();
    });
    ws.on('error', () => {
      /* 'close' follows */
    });

    streams.then(
      (got) => {
        if (finished) {
          for (const st of [got.stdin, got.stdout, got.stderr, got.resize, got.error]) st?.destroy();
          return;
        }
        s = got;
        let pending = 1 + (got.stdout ? 1 : 0) + (got.stderr ? 1 : 0);
        const errBytes: Buffer[] = [];
        // The status goes last, after every byte of output: a v5 client is done with the exchange
        // once it has the status, and drops output that arrives after it.
        const ended = () => {
          if (--pending !== 0) return;
          const b = Buffer.concat(errBytes);
          if (b.length) send(Channel.error, b);
          finish();
        };
        // A stream is over at its end, or at its close without one: a runtime may reset its
        // streams (containerd does for an attach that meets the container's exit), and a reset
        // stream closes without 'end' — possibly already while the later streams were still being
        // opened, before these listeners existed. Waiting for 'end' alone held the client forever.
        const whenOver = (st: Duplex, then: () => void) => {
          let over = false;
          const once = () => {
            if (over) return;
            over = true;
            then();
          };
          if (st.destroyed || st.readableEnded) queueMicrotask(once);
          st.once('end', once);
          st.once('close', once);
        };
        got.error.on('data', (d: Buffer) => errBytes.push(d));
        whenOver(got.error, ended);
        got.error.on('error', () => {});
        for (const [ch, st] of [[Channel.stdout, got.stdout], [Channel.stderr, got.stderr]] as const) {
          if (!st) continue;
          st.on('data', (d: Buffer) => send(ch, d, st));
          whenOver(st, ended);
          st.on('error', () => {});
        }
        for (const st of [got.stdin, got.resize]) st?.on('error', () => {});
        for (const m of early.splice(0)) onClientMessage(m);
      },
      (err: Error) => {
        if (finished) return;
        send(Channel.error, Buffer.from(JSON.stringify({ kind: 'Status', apiVersion: 'v1', ...failureStatus(err.message) })));
        finish();
      },
    );
  });
}

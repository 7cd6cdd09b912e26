// For tests and the benchmark: a DNS client over UDP and TCP (dns-packet on the wire), and a stub
// upstream resolver that answers from a fixed table on loopback — what the cluster DNS forwards to
// in tests instead of any real resolver.
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { bindUdpThenTcp } from './server.ts';
import type { Answer } from 'dns-packet';
import { decodeMessage, encodeQuery, type DecodedReply } from './wire.ts';

export interface QueryOptions {
  host?: string;
  port: number;
  proto?: 'udp' | 'tcp';
  /** Adds an EDNS0 OPT record advertising this UDP size. */
  udpSize?: number;
  id?: number;
  timeoutMs?: number;
}

/** Sends one query and resolves with the decoded reply (rejects on timeout). */
export async function queryDns(name: string, type: string, o: QueryOptions): Promise<DecodedReply & { size: number }> {
  const raw = await exchange(encodeQuery({ id: o.id ?? Math.floor(Math.random() * 65536), name, type, udpSize: o.udpSize }), o);
  return Object.assign(decodeMessage(raw), { size: raw.length });
}

/** Sends raw query bytes and resolves with the raw reply. */
export function exchange(msg: Buffer, o: QueryOptions): Promise<Buffer> {
  const host = o.host ?? '127.0.0.1';
  const timeoutMs = o.timeoutMs ?? 3000;
  if ((o.proto ?? 'udp') === 'udp') {
    return new Promise((resolve, reject) => {
      const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      const t = setTimeout(() => {
        s.close();
        reject(new Error(`no reply from ${host}:${o.port} (udp)`));
      }, timeoutMs);
      s.on('message', (m) => {
        clearTimeout(t);
        s.close();
        resolve(m);
      });
      s.send(msg, o.port, host);
    });
  }
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port: o.port });
    let got = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from ${host}:${o.port} (tcp)`));
    }, timeoutMs);
    sock.on('connect', () => {
      const frame = Buffer.alloc(msg.length + 2);
      frame.writeUInt16BE(msg.length, 0);
      msg.copy(frame, 2);
      sock.write(frame);
    });
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= got.readUInt16BE(0) + 2) {
        clearTimeout(t);
        sock.destroy();
        resolve(got.subarray(2, got.readUInt16BE(0) + 2));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

export interface StubResolver {
  port: number;
  /** Questions asked, as "name type", in order. */
  readonly asked: string[];
  stop(): Promise<void>;
}

/**
 * An upstream resolver on host (loopback by default) answering from `table` ("name type" → answers;
 * a name in `nxdomain`, or with `unknownIsNxdomain` a name the table has no type of, is NXDOMAIN;
 * anything else NOERROR without answers), over UDP and TCP, on `port` (default: one the system picks).
 */
export async function startStubResolver(table: Record<string, Answer[]>, o: { host?: string; port?: number; nxdomain?: string[]; unknownIsNxdomain?: boolean } = {}): Promise<StubResolver> {
  const host = o.host ?? '127.0.0.1';
  const asked: string[] = [];
  const answer = (msg: Buffer): Buffer => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    asked.push(`${question.name} ${question.type}`);
    const answers = table[`${question.name.toLowerCase()} ${question.type}`] ?? [];
    const name = question.name.toLowerCase();
    const nx = o.nxdomain?.includes(name) || (o.unknownIsNxdomain && !Object.keys(table).some((k) => k.slice(0, k.lastIndexOf(' ')) === name));
    return dnsPacket.encode({
      id: q.id,
      type: 'response',
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (nx ? 3 : 0),
      questions: q.questions,
      answers,
    });
  };
  const conns = new Set<import('node:net').Socket>();
  const serveTcp = (sock: import('node:net').Socket) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        const n = buf.readUInt16BE(0);
        const reply = answer(buf.subarray(2, n + 2));
        buf = buf.subarray(n + 2);
        const frame = Buffer.alloc(reply.length + 2);
        frame.writeUInt16BE(reply.length, 0);
        reply.copy(frame, 2);
        sock.write(frame);
      }
    });
    sock.on('error', () => sock.destroy());
  };
  let udp!: Socket;
  let tcp!: Server;
  const port = await bindUdpThenTcp(
    async () => {
      const u = (udp = createSocket(host.includes(':') ? 'udp6' : 'udp4'));
      u.on('message', (m, r) => u.send(answer(m), r.port, r.address));
      const p = await new Promise<number>((resolve, reject) => {
        u.once('error', reject);
        u.bind(o.port ?? 0, host, () => resolve(u.address().port));
      });
      return { port: p, close: () => new Promise<void>((r) => u.close(() => r())) };
    },
    (p) =>
      new Promise<void>((resolve, reject) => {
        const t = (tcp = createServer(serveTcp));
        t.once('error', reject);
        t.listen(p, host, () => resolve());
      }),
    o.port ? 1 : 20,
  );
  return {
    port,
    asked,
    stop: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

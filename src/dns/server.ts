// The DNS server: UDP and TCP listeners in front of the resolver (cluster names) and the forwarder
// (everything else).
//
// - Each query is answered from the resolver's Resolution: authoritative replies are encoded here
//   (wire.ts), forwarded ones are the upstream's bytes under the query's id.
// - Replies with several addresses are shuffled (k3s's `loadbalance`), CNAMEs first.
// - Hot path: an authoritative reply is kept, encoded, under the query's bytes (less the id) until
//   the records change (the store's generation); a repeated query is answered from it without
//   decoding: the key is a hash of the bytes (no string is built), checked against the stored
//   bytes, and over UDP the stored reply itself is sent with the query's id written into it (no
//   copy) whenever no earlier send is still queued on the socket. Replies that are shuffled, or
//   depend on an upstream, are not kept.
// - TCP (RFC 7766): 2-byte length framing, several queries per connection, replies as they are
//   ready, connections closed after `tcpIdleMs` without a query.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket as TcpSocket } from 'node:net';
import type { Answer } from 'dns-packet';
import type { Forwarder } from './forward.ts';
import type { Resolver } from './resolve.ts';
import { encodeReply, errorReplyFromHeader, headerOf, maxReplySize, parseQuery, type ParsedQuery, type ReplyParts } from './wire.ts';

export interface ListenAddress {
  host: string;
  /** 0: any free port (the first listener's; the others then use the same one). */
  port: number;
}

export interface DnsServerOptions {
  listen: readonly ListenAddress[];
  resolver: Resolver;
  forwarder: Forwarder;
  log?: (msg: string) => void;
  tcpIdleMs?: number;
  /** Entries of the encoded-reply cache (default 20,000). */
  replyCacheEntries?: number;
  /** Share the port with other servers (one per thread: the kernel spreads UDP clients among them). */
  reusePort?: boolean;
  /** Serve TCP too (default true; with several threads one of them does). */
  tcp?: boolean;
  /**
   * UDP sockets already bound elsewhere to serve as well (another process's, received over IPC:
   * every holder reads the same receive queue). Served from start() on, closed here by stop().
   */
  sockets?: readonly Socket[];
}

export interface DnsServerStats {
  queries: { udp: number; tcp: number };
  /** Replies by rcode name. */
  rcodes: Record<string, number>;
  replyCacheHits: number;
  truncated: number;
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** A kept reply: the query bytes it answers (from offset 2: flags and question, less the id) and the encoded reply. */
interface CachedReply {
  query: Buffer;
  reply: Buffer;
}

/** FNV-1a over msg[2..], seeded per transport (TCP replies differ: no 512-byte limit). */
function questionHash(msg: Buffer, proto: 'udp' | 'tcp'): number {
  let h = proto === 'udp' ? 0x811c9dc5 : 0x050c5d1f;
  for (let i = 2; i < msg.length; i++) h = Math.imul(h ^ msg[i]!, 0x01000193);
  return h >>> 0;
}

function sameQuestion(msg: Buffer, kept: Buffer): boolean {
  if (msg.length - 2 !== kept.length) return false;
  for (let i = 0; i < kept.length; i++) if (msg[i + 2] !== kept[i]) return false;
  return true;
}

/**
 * UDP and TCP on one free port: `udp` binds a port the kernel finds free for UDP, `tcp` the same
 * number, which may be taken for TCP (another program's listener or connection); then the UDP
 * socket is let go and another port tried, up to `attempts` times. Other failures are thrown.
 */
export async function bindUdpThenTcp(
  udp: () => Promise<{ port: number; close(): Promise<void> }>,
  tcp: (port: number) => Promise<void>,
  attempts = 20,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const u = await udp();
    try {
      await tcp(u.port);
      return u.port;
    } catch (e) {
      await u.close();
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= attempts) throw e;
    }
  }
}

export class DnsServer {
  readonly stats: DnsServerStats = { queries: { udp: 0, tcp: 0 }, rcodes: {}, replyCacheHits: 0, truncated: 0 };
  private readonly o: DnsServerOptions;
  private readonly log: (msg: string) => void;
  private readonly udp: Socket[] = [];
  private readonly tcp: Server[] = [];
  private readonly conns = new Set<TcpSocket>();
  private readonly replyCache = new Map<number, CachedReply>();
  private replyCacheGen = -1;
  private port = 0;

  constructor(o: DnsServerOptions) {
    this.o = o;
    this.log = o.log ?? (() => {});
  }

  /** Binds every listener; answers the port (the one chosen when asked for 0). */
  async start(): Promise<number> {
    let port = 0;
    for (const s of this.o.sockets ?? []) {
      this.serveUdp(s);
      s.on('error', (e) => this.log(`dns: udp: ${e.message}`));
      this.udp.push(s);
      port ||= s.address().port;
    }
    for (const l of this.o.listen) {
      const want = l.port || port;
      if (want === 0 && this.o.tcp !== false) {
        port = await this.bindAnyPort(l.host);
        continue;
      }
      port = await this.bindUdp(l.host, want);
      if (this.o.tcp !== false) await this.bindTcp(l.host, port);
    }
    this.port = port;
    return port;
  }

  private bindAnyPort(host: string): Promise<number> {
    return bindUdpThenTcp(
      async () => {
        const port = await this.bindUdp(host, 0);
        return { port, close: () => new Promise<void>((r) => this.udp.pop()!.close(() => r())) };
      },
      (port) => this.bindTcp(host, port),
    );
  }

  get boundPort(): number {
    return this.port;
  }

  /** The UDP sockets served (bound by start()), to share with other processes. */
  get udpSockets(): readonly Socket[] {
    return this.udp;
  }

  async stop(): Promise<void> {
    for (const s of this.udp.splice(0)) await new Promise<void>((r) => s.close(() => r()));
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    for (const s of this.tcp.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  }

  private bindUdp(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const family = isIP(host) === 6 ? 6 : 4;
      // replies go to the address a query came from, always an IP: answer the "lookup" at once
      // (dgram's default defers every send by a tick through dns.lookup)
      const lookup = (address: string, _o: unknown, cb: (err: Error | null, address: string, family: number) => void) => cb(null, address, family);
      const s = createSocket({ type: family === 6 ? 'udp6' : 'udp4', reusePort: !!this.o.reusePort, lookup: lookup as never });
      s.once('error', reject);
      this.serveUdp(s);
      s.bind(port, host, () => {
        s.off('error', reject);
        s.on('error', (e) => this.log(`dns: udp ${host}: ${e.message}`));
        // room for bursts while the thread is busy (the kernel caps it at net.core.rmem_max)
        try {
          s.setRecvBufferSize(4 << 20);
        } catch {
          // keep the default
        }
        this.udp.push(s);
        resolve(s.address().port);
      });
    });
  }

  private serveUdp(s: Socket): void {
    s.on('message', (msg, rinfo) => {
      this.stats.queries.udp++;
      // the kept reply goes out as it is (its id set) only while no send queued on any of our
      // sockets may still point at it: a send that could not complete at once keeps the buffer
      const kept = this.udpQueuesEmpty() ? this.cachedReply(msg, 'udp') : undefined;
      if (kept) {
        kept[0] = msg[0]!;
        kept[1] = msg[1]!;
        s.send(kept, rinfo.port, rinfo.address);
        return;
      }
      const out = this.handle(msg, 'udp');
      const send = (b: Buffer | undefined) => {
        if (b) s.send(b, rinfo.port, rinfo.address);
      };
      if (out instanceof Promise) out.then(send, (e: Error) => this.log(`dns: ${e.message}`));
      else send(out);
    });
  }

  private bindTcp(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const srv = createServer((sock) => this.serveTcp(sock));
      srv.once('error', reject);
      srv.listen({ port, host, reusePort: !!this.o.reusePort }, () => {
        srv.off('error', reject);
        this.tcp.push(srv);
        resolve();
      });
    });
  }

  private serveTcp(sock: TcpSocket): void {
    this.conns.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(this.o.tcpIdleMs ?? 10_000, () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    const reply = (b: Buffer | undefined) => {
      if (!b || sock.destroyed) return;
      const frame = Buffer.alloc(b.length + 2);
      frame.writeUInt16BE(b.length, 0);
      b.copy(frame, 2);
      sock.write(frame);
    };
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < n + 2) break;
        const msg = Buffer.from(buf.subarray(2, n + 2));
        buf = buf.subarray(n + 2);
        this.stats.queries.tcp++;
        const out = this.handle(msg, 'tcp');
        if (out instanceof Promise) out.then(reply, (e: Error) => this.log(`dns: ${e.message}`));
        else reply(out);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
  }

  private udpQueuesEmpty(): boolean {
    for (const u of this.udp) if (u.getSendQueueCount() !== 0) return false;
    return true;
  }

  private count(rcode: number): void {
    const name = RCODE_NAMES[rcode] ?? String(rcode);
    this.stats.rcodes[name] = (this.stats.rcodes[name] ?? 0) + 1;
  }

  /**
   * The kept reply to this query (counted as answered), or undefined. The buffer is the cache's
   * own: the caller writes the query's id into it and must be done with it before the next query.
   */
  private cachedReply(msg: Buffer, proto: 'udp' | 'tcp'): Buffer | undefined {
    const gen = this.o.resolver.records.generation;
    if (gen !== this.replyCacheGen) {
      this.replyCache.clear();
      this.replyCacheGen = gen;
    }
    if (msg.length < 12) return undefined;
    const hit = this.replyCache.get(questionHash(msg, proto));
    if (!hit || !sameQuestion(msg, hit.query)) return undefined;
    this.stats.replyCacheHits++;
    this.count(hit.reply[3]! & 0xf);
    return hit.reply;
  }

  /** One query's reply: synchronous when the resolver answers alone, a promise when upstreams are asked. */
  handle(msg: Buffer, proto: 'udp' | 'tcp'): Buffer | undefined | Promise<Buffer | undefined> {
    const kept = this.cachedReply(msg, proto);
    if (kept) {
      const out = Buffer.allocUnsafe(kept.length);
      kept.copy(out);
      out[0] = msg[0]!;
      out[1] = msg[1]!;
      return out;
    }
    if (msg.length < 12) return undefined;
    const h = headerOf(msg)!;
    if (h.flags & 0x8000) return undefined; // a response: never answer one
    let q: ParsedQuery;
    try {
      q = parseQuery(msg);
    } catch {
      this.count(1);
      return errorReplyFromHeader(h, 'FORMERR');
    }
    if (q.opcode !== 0) {
      this.count(4);
      return errorReplyFromHeader(h, 'NOTIMP');
    }
    const max = maxReplySize(proto, q);
    if (q.questions.length !== 1) return this.reply(q, { rcode: 'FORMERR', authoritative: false, answers: [], authorities: [], additionals: [] }, max);
    if (q.edns && q.edns.version > 0) return this.reply(q, { rcode: 'BADVERS', authoritative: false, answers: [], authorities: [], additionals: [] }, max);
    const question = q.questions[0]!;
    const res = this.o.resolver.resolve({ name: question.name, type: question.type });
    if (res.kind === 'forward') {
      const key = `${question.name.toLowerCase()}|${question.type}|${question.class ?? 'IN'}|${q.edns?.do ? 1 : 0}|${max}|${q.cd ? 1 : 0}`;
      return this.o.forwarder.forward(msg, proto, key).then((r) => {
        if (r) {
          this.count(r.length >= 4 ? r[3]! & 0xf : 2);
          return r;
        }
        return this.reply(q, { rcode: 'SERVFAIL', authoritative: false, answers: [], authorities: [], additionals: [] }, max);
      });
    }
    if (res.chase) {
      const chase = res.chase;
      return this.o.forwarder.lookup(chase.target, chase.type).then((upstream) => {
        const answers = upstream ? [...res.answers, ...chase.cnames, ...upstream] : res.answers;
        if (!answers.length) {
          const soa = this.o.resolver.soa(question.name.slice(question.name.length - this.o.resolver.config.zone.length));
          return this.reply(q, { rcode: 'NOERROR', authoritative: true, answers: [], authorities: [soa], additionals: [] }, max);
        }
        return this.reply(q, { rcode: res.rcode, authoritative: true, answers: shuffleAddresses(answers), authorities: res.authorities, additionals: res.additionals }, max);
      });
    }
    const addresses = res.answers.filter((a) => a.type === 'A' || a.type === 'AAAA').length;
    const out = this.reply(q, { rcode: res.rcode, authoritative: res.rcode !== 'REFUSED', answers: addresses > 1 ? shuffleAddresses(res.answers) : res.answers, authorities: res.authorities, additionals: res.additionals }, max);
    if (addresses <= 1 && this.o.resolver.records.synced) {
      if (this.replyCache.size >= (this.o.replyCacheEntries ?? 20_000)) this.replyCache.clear();
      // a copy: the caller owns `out` (and the UDP path writes ids into the kept one)
      this.replyCache.set(questionHash(msg, proto), { query: Buffer.from(msg.subarray(2)), reply: Buffer.from(out) });
    }
    return out;
  }

  private reply(q: ParsedQuery, parts: ReplyParts, max: number): Buffer {
    const { buf, truncated } = encodeReply(q, parts, max);
    if (truncated) this.stats.truncated++;
    this.count(buf[3]! & 0xf);
    return buf;
  }
}

/** CoreDNS's loadbalance (round_robin): address records in random order, other records where they were. */
export function shuffleAddresses(answers: Answer[]): Answer[] {
  const idx: number[] = [];
  answers.forEach((a, i) => {
    if (a.type === 'A' || a.type === 'AAAA') idx.push(i);
  });
  if (idx.length < 2) return answers;
  const addrs = idx.map((i) => answers[i]!);
  for (let i = addrs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [addrs[i], addrs[j]] = [addrs[j]!, addrs[i]!];
  }
  const out = [...answers];
  idx.forEach((pos, k) => (out[pos] = addrs[k]!));
  return out;
}

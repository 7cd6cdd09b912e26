// Forwarding names outside the cluster's zones to the upstream resolvers (CoreDNS's
// `forward . /etc/resolv.conf` behind `cache 30`, as k3s configures it).
//
// - Only the resolvers configured (--resolv-conf, or a test's stub) are ever asked; with none, a
//   forwarded query is SERVFAIL. Nothing here falls back to the machine's resolver.
// - A query goes out over the transport it came in on, with a fresh random id; upstreams are tried
//   in random order (forward's default policy), each for `timeoutMs`, until one answers.
// - Replies that are NOERROR or NXDOMAIN and not truncated are cached for their smallest TTL, at
//   most 30 s, and served with their TTLs aged.
import { createSocket, type Socket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import type { Answer } from 'dns-packet';
import { decodeMessage, encodeMessage, encodeQuery } from './wire.ts';

export interface Upstream {
  host: string;
  port: number;
}

export interface ForwarderOptions {
  upstreams: readonly Upstream[];
  /** Per upstream try (ms); default 2000. */
  timeoutMs?: number;
  /** Largest TTL a forwarded reply is cached for (s); default 30 (k3s's `cache 30`), 0 = no cache. */
  cacheMaxTtl?: number;
  cacheMaxEntries?: number;
  now?: () => number;
  log?: (msg: string) => void;
}

interface Pending {
  resolve(buf: Buffer | undefined): void;
  upstream: Upstream;
  timer: NodeJS.Timeout;
}

interface CacheEntry {
  reply: Buffer;
  storedAt: number;
  expiresAt: number;
  /** Seconds it is kept: served TTLs never exceed it (as CoreDNS's cache). */
  ttl: number;
}

export class Forwarder {
  readonly upstreams: readonly Upstream[];
  readonly stats = { forwarded: 0, cacheHits: 0, failures: 0 };
  private readonly timeoutMs: number;
  private readonly cacheMaxTtl: number;
  private readonly cacheMaxEntries: number;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  private readonly sockets = new Map<4 | 6, Socket>();
  private readonly pending = new Map<number, Pending>();
  private readonly cache = new Map<string, CacheEntry>();
  private closed = false;

  constructor(o: ForwarderOptions) {
    this.upstreams = o.upstreams;
    this.timeoutMs = o.timeoutMs ?? 2000;
    this.cacheMaxTtl = o.cacheMaxTtl ?? 30;
    this.cacheMaxEntries = o.cacheMaxEntries ?? 10_000;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => {});
  }

  /**
   * Forwards a query (its bytes as received) and answers the upstream's reply carrying the query's
   * id, or undefined when no upstream answered. `cacheKey` names the question (undefined: no cache).
   */
  async forward(query: Buffer, proto: 'udp' | 'tcp', cacheKey?: string): Promise<Buffer | undefined> {
    const id = query.readUInt16BE(0);
    if (cacheKey && this.cacheMaxTtl > 0) {
      const hit = this.fromCache(`${proto}|${cacheKey}`, id);
      if (hit) return hit;
    }
    this.stats.forwarded++;
    for (const up of shuffled(this.upstreams)) {
      const reply = proto === 'udp' ? await this.viaUdp(query, up) : await this.viaTcp(query, up);
      if (!reply) continue;
      reply.writeUInt16BE(id, 0);
      if (cacheKey && this.cacheMaxTtl > 0) this.store(`${proto}|${cacheKey}`, reply);
      return reply;
    }
    this.stats.failures++;
    return undefined;
  }

  /** Resolves (name, type) upstream for a CNAME's target; undefined when no upstream answered. */
  async lookup(name: string, type: 'A' | 'AAAA'): Promise<Answer[] | undefined> {
    const q = encodeQuery({ id: 0, name, type, udpSize: 1232 });
    const reply = await this.forward(q, 'udp', `${name.toLowerCase()}|${type}|IN|0|1232`);
    if (!reply) return undefined;
    try {
      const m = decodeMessage(reply);
      if (m.flag_tc) {
        const viaTcp = await this.forward(q, 'tcp', `${name.toLowerCase()}|${type}|IN|0|1232`);
        return viaTcp ? (decodeMessage(viaTcp).answers ?? []) : undefined;
      }
      return m.answers ?? [];
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  // ------------------------------------------------------------------------------ transports

  private socket(family: 4 | 6): Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = createSocket(family === 4 ? 'udp4' : 'udp6');
    s.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      const p = this.pending.get(msg.readUInt16BE(0));
      // only the upstream asked may answer (a reply from elsewhere is ignored, as a spoofing guard)
      if (!p || p.upstream.port !== rinfo.port || !sameHost(p.upstream.host, rinfo.address)) return;
      this.pending.delete(msg.readUInt16BE(0));
      clearTimeout(p.timer);
      p.resolve(msg);
    });
    s.on('error', (e) => this.log(`forward: udp socket: ${e.message}`));
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  private freshId(): number {
    for (;;) {
      const id = randomInt(0, 65536);
      if (!this.pending.has(id)) return id;
    }
  }

  private viaUdp(query: Buffer, up: Upstream): Promise<Buffer | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const family = isIP(up.host) === 6 ? 6 : 4;
    const id = this.freshId();
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, this.timeoutMs);
      this.pending.set(id, { resolve, upstream: up, timer });
      this.socket(family).send(out, up.port, up.host, (err) => {
        if (!err) return;
        this.log(`forward: ${up.host}:${up.port}: ${err.message}`);
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(undefined);
      });
    });
  }

  private viaTcp(query: Buffer, up: Upstream): Promise<Buffer | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const id = randomInt(0, 65536);
    return new Promise((resolve) => {
      const sock = connect({ host: up.host, port: up.port });
      let got = Buffer.alloc(0);
      let done = false;
      const finish = (b: Buffer | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        resolve(b);
      };
      const timer = setTimeout(() => finish(undefined), this.timeoutMs);
      sock.on('connect', () => {
        const frame = Buffer.alloc(query.length + 2);
        frame.writeUInt16BE(query.length, 0);
        query.copy(frame, 2);
        frame.writeUInt16BE(id, 2);
        sock.write(frame);
      });
      sock.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length < 2) return;
        const n = got.readUInt16BE(0);
        if (got.length < n + 2) return;
        const msg = got.subarray(2, n + 2);
        finish(msg.length >= 12 && msg.readUInt16BE(0) === id ? Buffer.from(msg) : undefined);
      });
      sock.on('error', (e) => {
        this.log(`forward: ${up.host}:${up.port} (tcp): ${e.message}`);
        finish(undefined);
      });
      sock.on('close', () => finish(undefined));
    });
  }

  // ------------------------------------------------------------------------------ cache

  private store(key: string, reply: Buffer): void {
    let m;
    try {
      m = decodeMessage(reply);
    } catch {
      return;
    }
    if (m.flag_tc || (m.rcode !== 'NOERROR' && m.rcode !== 'NXDOMAIN')) return;
    const ttls = [...(m.answers ?? []), ...(m.authorities ?? [])].filter((r) => r.type !== 'OPT').map((r) => (r as { ttl?: number }).ttl ?? 0);
    const ttl = Math.min(this.cacheMaxTtl, ...ttls);
    if (ttl <= 0) return;
    if (this.cache.size >= this.cacheMaxEntries) this.cache.clear();
    const now = this.now();
    this.cache.set(key, { reply: Buffer.from(reply), storedAt: now, expiresAt: now + ttl * 1000, ttl });
  }

  private fromCache(key: string, id: number): Buffer | undefined {
    const e = this.cache.get(key);
    if (!e) return undefined;
    const now = this.now();
    if (now >= e.expiresAt) {
      this.cache.delete(key);
      return undefined;
    }
    const aged = Math.floor((now - e.storedAt) / 1000);
    const m = decodeMessage(e.reply);
    m.id = id;
    for (const list of [m.answers, m.authorities, m.additionals]) {
      for (const r of list ?? []) if (r.type !== 'OPT') (r as { ttl?: number }).ttl = Math.max(0, Math.min((r as { ttl?: number }).ttl ?? 0, e.ttl) - aged);
    }
    this.stats.cacheHits++;
    return encodeMessage(m);
  }
}

function sameHost(a: string, b: string): boolean {
  return a === b || a.replace(/^::ffff:/, '') === b.replace(/^::ffff:/, '');
}

function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(0, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ClusterIP and NodePort allocation for Services, from --service-cidr and
// --service-node-port-range. The allocated sets are rebuilt from the services cache at start and
// kept current by its events; in-flight allocations are reserved until their write settles.
import { field, type FieldError } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import type { CacheEvent, ResourceCache } from './cache.ts';

export function parseCidr(cidr: string): { base: number; bits: number; size: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) throw new Error(`invalid CIDR "${cidr}": only IPv4 CIDRs are supported`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32 || bits < 1) throw new Error(`invalid CIDR "${cidr}"`);
  const ip = ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
  const size = 2 ** (32 - bits);
  const base = Math.floor(ip / size) * size;
  return { base, bits, size };
}

export function ipToInt(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function intToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

type Svc = { spec?: { type?: string; clusterIP?: string; clusterIPs?: string[]; ports?: { nodePort?: number }[] } };

function ipsOf(o: KObject): string[] {
  const s = (o as Svc).spec;
  const ips = s?.clusterIPs?.length ? s.clusterIPs : s?.clusterIP ? [s.clusterIP] : [];
  return ips.filter((x) => x && x !== 'None');
}

function portsOf(o: KObject): number[] {
  return ((o as Svc).spec?.ports ?? []).map((p) => p.nodePort).filter((p): p is number => typeof p === 'number' && p > 0);
}

export class ServiceAllocators {
  readonly cidr: string;
  private readonly net: { base: number; size: number };
  readonly portRange: [number, number];
  private readonly ips = new Map<number, number>(); // ip -> refcount
  private readonly ports = new Map<number, number>();

  constructor(serviceCidr: string, nodePortRange: string, cache: ResourceCache) {
    this.cidr = serviceCidr;
    this.net = parseCidr(serviceCidr);
    const m = /^(\d+)-(\d+)$/.exec(nodePortRange);
    if (!m || Number(m[1]) > Number(m[2])) throw new Error(`invalid --service-node-port-range "${nodePortRange}": want FROM-TO`);
    this.portRange = [Number(m[1]), Number(m[2])];
    for (const e of cache.items.values()) this.track(e.obj, 1);
    cache.watchers.add({ onEvent: (ev: CacheEvent) => this.onEvent(ev) });
  }

  private onEvent(ev: CacheEvent): void {
    if (ev.prev) this.track(ev.prev.obj, -1);
    if (ev.type !== 'DELETED') this.track(ev.entry.obj, 1);
  }

  private track(o: KObject, d: number): void {
    for (const ip of ipsOf(o)) this.bump(this.ips, ipToInt(ip), d);
    for (const p of portsOf(o)) this.bump(this.ports, p, d);
  }

  private bump(m: Map<number, number>, k: number | undefined, d: number): void {
    if (k === undefined) return;
    const n = (m.get(k) ?? 0) + d;
    if (n <= 0) m.delete(k);
    else m.set(k, n);
  }

  /** The first usable address: the `kubernetes` Service's ClusterIP. */
  firstIP(): string {
    return intToIp(this.net.base + 1);
  }

  private inRange(ip: number): boolean {
    return ip > this.net.base && ip < this.net.base + this.net.size - 1;
  }

  /**
   * Allocates (or checks the requested) ClusterIP and NodePorts of a new service, reserving them.
   * Returns field errors in upstream's wording; on success the returned release undoes the reservation.
   */
  allocate(o: KObject, old?: KObject): { errors: FieldError[]; release: () => void } {
    const spec = ((o as Record<string, unknown>).spec ??= {}) as Record<string, unknown> & Svc['spec'];
    const taken: { m: Map<number, number>; k: number }[] = [];
    const release = () => {
      for (const t of taken) this.bump(t.m, t.k, -1);
    };
    const errors: FieldError[] = [];
    const type = (spec.type as string | undefined) ?? 'ClusterIP';
    const oldIps = old ? ipsOf(old) : [];
    // ClusterIP
    if (type !== 'ExternalName') {
      const req = (spec.clusterIP as string | undefined) || (spec.clusterIPs as string[] | undefined)?.[0];
      if (req === 'None') {
        spec.clusterIP = 'None';
        spec.clusterIPs = ['None'];
      } else if (old && oldIps.length) {
        spec.clusterIP = oldIps[0];
        spec.clusterIPs = oldIps;
      } else if (req) {
        const n = ipToInt(req);
        if (n === undefined) {
          errors.push(field.invalid('spec.clusterIPs[0]', req, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
        } else if (!this.inRange(n)) {
          errors.push(
            field.invalid('spec.clusterIPs', [req], `failed to allocate IP ${req}: provided IP is not in the valid range. The range of valid IPs is ${this.cidr}`),
          );
        } else if (this.ips.has(n)) {
          errors.push(field.invalid('spec.clusterIPs', [req], `failed to allocate IP ${req}: provided IP is already allocated`));
        } else {
          this.bump(this.ips, n, 1);
          taken.push({ m: this.ips, k: n });
          spec.clusterIP = req;
          spec.clusterIPs = [req];
        }
      } else {
        const n = this.pickIp();
        if (n === undefined) {
          errors.push(field.internal('spec.clusterIPs', `failed to allocate a serviceIP: range is full`));
        } else {
          this.bump(this.ips, n, 1);
          taken.push({ m: this.ips, k: n });
          spec.clusterIP = intToIp(n);
          spec.clusterIPs = [intToIp(n)];
        }
      }
    }
    // NodePorts
    if (type === 'NodePort' || type === 'LoadBalancer') {
      const oldPorts = new Set(old ? portsOf(old) : []);
      const ports = (spec.ports ?? []) as { nodePort?: number }[];
      ports.forEach((p, i) => {
        if (p.nodePort) {
          if (oldPorts.has(p.nodePort)) return;
          const [lo, hi] = this.portRange;
          if (p.nodePort < lo || p.nodePort > hi) {
            errors.push(
              field.invalid(`spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`),
            );
          } else if (this.ports.has(p.nodePort)) {
            errors.push(field.invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
          } else {
            this.bump(this.ports, p.nodePort, 1);
            taken.push({ m: this.ports, k: p.nodePort });
          }
        } else {
          const n = this.pickPort();
          if (n === undefined) errors.push(field.internal(`spec.ports[${i}].nodePort`, 'range is full'));
          else {
            this.bump(this.ports, n, 1);
            taken.push({ m: this.ports, k: n });
            p.nodePort = n;
          }
        }
      });
    } else {
      for (const p of (spec.ports ?? []) as { nodePort?: number }[]) delete p.nodePort;
    }
    if (errors.length) release();
    return { errors, release };
  }

  private pickIp(): number | undefined {
    const first = this.net.base + 2; // .1 belongs to the kubernetes Service
    const count = this.net.size - 3;
    if (count <= 0) return undefined;
    const start = Math.floor(Math.random() * count);
    for (let i = 0; i < count; i++) {
      const n = first + ((start + i) % count);
      if (!this.ips.has(n)) return n;
    }
    return undefined;
  }

  private pickPort(): number | undefined {
    const [lo, hi] = this.portRange;
    const count = hi - lo + 1;
    const start = Math.floor(Math.random() * count);
    for (let i = 0; i < count; i++) {
      const n = lo + ((start + i) % count);
      if (!this.ports.has(n)) return n;
    }
    return undefined;
  }
}

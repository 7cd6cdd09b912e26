// Address and port ranges as closed integer intervals: what NetworkPolicy peers (ipBlock with
// except, pod IPs) and ports (endPort ranges) become before they are written as nftables interval
// set elements, which must not overlap.
import { isIPv4 } from 'node:net';

export interface Range {
  from: number;
  to: number;
}

export function ipv4ToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}

export function intToIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** An IPv4 CIDR ("10.0.0.0/8", or a bare address) as a range; undefined for anything else (IPv6 included). */
export function cidrRange(cidr: string): Range | undefined {
  const [addr, bitsText] = cidr.split('/');
  if (!addr || !isIPv4(addr)) return undefined;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  const from = Math.floor(ipv4ToInt(addr) / size) * size;
  return { from, to: from + size - 1 };
}

/** Sorted, with overlapping ranges merged (adjacent ones stay apart: fewer element changes as pods come and go). */
export function mergeRanges(rs: readonly Range[]): Range[] {
  const sorted = [...rs].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/** `base` less every range of `minus`. */
export function subtractRanges(base: readonly Range[], minus: readonly Range[]): Range[] {
  let out = mergeRanges(base);
  for (const m of mergeRanges(minus)) {
    const next: Range[] = [];
    for (const r of out) {
      if (m.to < r.from || m.from > r.to) {
        next.push(r);
        continue;
      }
      if (m.from > r.from) next.push({ from: r.from, to: m.from - 1 });
      if (m.to < r.to) next.push({ from: m.to + 1, to: r.to });
    }
    out = next;
  }
  return out;
}

export function rangeContains(rs: readonly Range[], n: number): boolean {
  return rs.some((r) => r.from <= n && n <= r.to);
}

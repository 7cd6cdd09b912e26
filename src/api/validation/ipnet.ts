// IP addresses and CIDRs parsed as Go's net package does (with k8s.io/utils/net's sloppy IPv4:
// leading zeros read as decimal), as numbers, for the containment and range checks validation
// needs. Text-only checks (isIP, isCIDR) live in names.ts.

export interface IPNet {
  bits: 32 | 128;
  /** The network address (masked). */
  addr: bigint;
  prefix: number;
}

export function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(Number(p));
  }
  return v;
}

export function parseIPv6(s: string): bigint | undefined {
  if (!s.includes(':') || s.includes('%')) return undefined;
  let text = s;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    // Drop the dotted tail, keeping a "::" that directly precedes it.
    const head = text.slice(0, lastColon + 1);
    text = head.endsWith('::') ? head : head.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (x: string) => (x === '' ? [] : x.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  for (const g of [...left, ...right]) if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
  const known = left.length + right.length + tail.length;
  if (halves.length === 2 ? known > 7 : known !== 8) return undefined;
  const words = [
    ...left.map((g) => BigInt(parseInt(g, 16))),
    ...Array(halves.length === 2 ? 8 - known : 0).fill(0n),
    ...right.map((g) => BigInt(parseInt(g, 16))),
    ...tail,
  ];
  return words.reduce((acc: bigint, w: bigint) => (acc << 16n) | w, 0n);
}

/** Go's net.ParseCIDR (sloppy about IPv4 leading zeros); IPv4-mapped addresses count as IPv4. */
export function parseCIDR(s: string): IPNet | undefined {
  const i = s.indexOf('/');
  if (i < 0) return undefined;
  const ipText = s.slice(0, i);
  const lenText = s.slice(i + 1);
  if (!/^[0-9]{1,3}$/.test(lenText)) return undefined;
  const prefix = Number(lenText);
  const v4 = parseIPv4(ipText);
  if (v4 !== undefined) {
    if (prefix > 32) return undefined;
    return { bits: 32, addr: mask(v4, 32, prefix), prefix };
  }
  const v6 = parseIPv6(ipText);
  if (v6 === undefined || prefix > 128) return undefined;
  return { bits: 128, addr: mask(v6, 128, prefix), prefix };
}

function mask(v: bigint, bits: number, prefix: number): bigint {
  const host = BigInt(bits - prefix);
  return (v >> host) << host;
}

export function netContains(n: IPNet, other: IPNet): boolean {
  return n.bits === other.bits && mask(other.addr, n.bits, n.prefix) === n.addr;
}

/** An address, IPv4 (32 bits) or IPv6 (128 bits); undefined when it does not parse. */
export function parseIP(s: string): { bits: 32 | 128; addr: bigint } | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { bits: 32, addr: v4 };
  const v6 = parseIPv6(s);
  if (v6 === undefined) return undefined;
  // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv4 addresses to Go.
  if (v6 >> 32n === 0xffffn) return { bits: 32, addr: v6 & 0xffffffffn };
  return { bits: 128, addr: v6 };
}

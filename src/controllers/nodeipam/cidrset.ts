// A set of equally sized subnets of a cluster CIDR, handed out one per node (upstream's
// pkg/controller/nodeipam/ipam/cidrset): allocation is round-robin from the subnet after the last
// one handed out, so a released subnet is not reused at once; occupy() marks subnets a node already
// has (a restart learns the state from the nodes themselves).
import { parseCIDR, type IPNet } from '../../api/validation/ipnet.ts';

export const ERR_NO_CIDRS_REMAINING = 'CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range';
export const ERR_SUBNET_TOO_BIG = 'New CIDR set failed; the node CIDR size is too big';
/** IPv6 cluster CIDRs may be split at most 2^16 ways (upstream's clusterSubnetMaxDiff). */
const CLUSTER_SUBNET_MAX_DIFF = 16;

export class CidrSet {
  readonly cluster: IPNet;
  readonly nodeMaskSize: number;
  readonly maxCIDRs: number;
  private readonly used: Uint8Array;
  private allocated = 0;
  private nextCandidate = 0;

  constructor(clusterCidr: string, nodeMaskSize: number) {
    const c = parseCIDR(clusterCidr);
    if (!c) throw new Error(`invalid CIDR address: ${clusterCidr}`);
    if (nodeMaskSize < c.prefix || nodeMaskSize > c.bits) throw new Error(`node mask size ${nodeMaskSize} does not fit cluster CIDR ${clusterCidr}`);
    const diff = nodeMaskSize - c.prefix;
    if ((c.bits === 128 && diff > CLUSTER_SUBNET_MAX_DIFF) || diff > 24) throw new Error(ERR_SUBNET_TOO_BIG);
    this.cluster = c;
    this.nodeMaskSize = nodeMaskSize;
    this.maxCIDRs = 2 ** diff;
    this.used = new Uint8Array(this.maxCIDRs);
  }

  get family(): 'IPv4' | 'IPv6' {
    return this.cluster.bits === 32 ? 'IPv4' : 'IPv6';
  }

  /** Subnets handed out or occupied. */
  get allocatedCount(): number {
    return this.allocated;
  }

  /** The next free subnet (round-robin), marked used; throws ERR_NO_CIDRS_REMAINING when full. */
  allocateNext(): string {
    if (this.allocated === this.maxCIDRs) throw new Error(ERR_NO_CIDRS_REMAINING);
    let candidate = this.nextCandidate;
    for (let i = 0; i < this.maxCIDRs && this.used[candidate]; i++) candidate = (candidate + 1) % this.maxCIDRs;
    this.nextCandidate = (candidate + 1) % this.maxCIDRs;
    this.used[candidate] = 1;
    this.allocated++;
    return this.format(candidate);
  }

  /** Marks every subnet the CIDR covers as used (idempotent); throws when it lies outside the cluster CIDR. */
  occupy(cidr: string): void {
    const [b, e] = this.indices(cidr);
    for (let i = b; i <= e; i++) {
      if (!this.used[i]) {
        this.used[i] = 1;
        this.allocated++;
      }
    }
  }

  /** Frees every subnet the CIDR covers (idempotent). */
  release(cidr: string): void {
    const [b, e] = this.indices(cidr);
    for (let i = b; i <= e; i++) {
      if (this.used[i]) {
        this.used[i] = 0;
        this.allocated--;
      }
    }
  }

  /** Whether the CIDR is of this set's family and within the cluster CIDR. */
  contains(cidr: string): boolean {
    const n = parseCIDR(cidr);
    if (!n || n.bits !== this.cluster.bits) return false;
    return this.overlaps(n);
  }

  private overlaps(n: IPNet): boolean {
    const p = Math.min(n.prefix, this.cluster.prefix);
    const host = BigInt(n.bits - p);
    return n.addr >> host === this.cluster.addr >> host;
  }

  private indices(cidr: string): [number, number] {
    const n = parseCIDR(cidr);
    if (!n || n.bits !== this.cluster.bits || !this.overlaps(n)) throw new Error(`cidr ${cidr} is out the range of cluster cidr ${this.describe()}`);
    if (n.prefix <= this.cluster.prefix) return [0, this.maxCIDRs - 1];
    const bits = BigInt(this.cluster.bits);
    const shift = bits - BigInt(this.nodeMaskSize);
    const rel = (v: bigint) => Number(((v ^ this.cluster.addr) >> shift) & ((1n << BigInt(this.nodeMaskSize - this.cluster.prefix)) - 1n));
    if (n.prefix >= this.nodeMaskSize) {
      const i = rel(n.addr);
      return [i, i];
    }
    const last = n.addr | ((1n << (bits - BigInt(n.prefix))) - 1n);
    return [rel(n.addr), rel(last)];
  }

  private format(index: number): string {
    const addr = this.cluster.addr | (BigInt(index) << BigInt(this.cluster.bits - this.nodeMaskSize));
    return `${formatIP(addr, this.cluster.bits)}/${this.nodeMaskSize}`;
  }

  describe(): string {
    return `${formatIP(this.cluster.addr, this.cluster.bits)}/${this.cluster.prefix}`;
  }
}

/** Go's net.IP.String(): dotted quad, or RFC 5952 IPv6 (longest zero run of two or more groups as ::). */
export function formatIP(addr: bigint, bits: 32 | 128): string {
  if (bits === 32) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 255n)).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

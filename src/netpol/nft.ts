// Writing a Ruleset (model.ts) to nftables: the whole table from scratch, or — once a ruleset is in
// place — only the difference to the next one (set elements, chain bodies, map entries), as one
// `nft -f` transaction either way. The table is `inet rudder-netpol`, apart from the proxy's
// `ip kube-proxy`, so the two never rewrite each other's rules.
import { TABLE, type AddrPort, type ChainModel, type PortRange, type RuleModel, type Ruleset, type SetModel } from './model.ts';
import { intToIPv4 } from './ranges.ts';

/** What the applier needs of nft (the proxy's runnerNft provides it). */
export interface NftApply {
  apply(script: string): Promise<void>;
}

const SET_SPEC: Record<SetModel['kind'], string> = {
  addr: 'type ipv4_addr; flags interval;',
  ports: 'type inet_proto . inet_service; flags interval;',
  addrports: 'type ipv4_addr . inet_proto . inet_service;',
};

export function setElements(s: SetModel): string[] {
  switch (s.kind) {
    case 'addr':
      return s.ranges.map((r) => (r.from === r.to ? intToIPv4(r.from) : `${intToIPv4(r.from)}-${intToIPv4(r.to)}`));
    case 'ports':
      return s.ports.map((p: PortRange) => `${p.proto} . ${p.from === p.to ? p.from : `${p.from}-${p.to}`}`);
    case 'addrports':
      return s.elements.map((e: AddrPort) => `${e.ip} . ${e.proto} . ${e.port}`);
  }
}

/** A chain's statements: its rules, then the drop every isolated pod ends with. */
export function chainStatements(c: ChainModel): string[] {
  const peerField = c.direction === 'ingress' ? 'ip saddr' : 'ip daddr';
  // ingress rules decide (accept); egress rules let the packet go on to the destination's ingress check
  const verdict = c.direction === 'ingress' ? 'accept' : 'return';
  const out = c.rules.map((r: RuleModel) => {
    if (r.self !== undefined) return `${peerField} ${r.self} ${verdict}`;
    const parts: string[] = [];
    if (r.peers) parts.push(`${peerField} @${r.peers}`);
    if (r.ports) parts.push(`meta l4proto . th dport @${r.ports}`);
    if (r.addrPorts) parts.push(`${peerField} . meta l4proto . th dport @${r.addrPorts}`);
    return [...parts, verdict].join(' ');
  });
  out.push('drop');
  return out;
}

function header(table: string): string[] {
  return [
    `add map inet ${table} ingress { type ipv4_addr : verdict; }`,
    `add map inet ${table} egress { type ipv4_addr : verdict; }`,
  ];
}

function forwardChain(table: string): string[] {
  return [
    `add chain inet ${table} forward { type filter hook forward priority filter; policy accept; }`,
    // replies to allowed connections, and traffic the node itself sends to its pods (kubelet probes)
    `add rule inet ${table} forward ct state established,related accept`,
    `add rule inet ${table} forward fib saddr type local accept`,
    `add rule inet ${table} forward ip saddr vmap @egress`,
    `add rule inet ${table} forward ip daddr vmap @ingress`,
  ];
}

function elementLines(table: string, set: string, verb: 'add' | 'delete', elements: readonly string[]): string[] {
  // batches keep each line of the script a sane length
  const out: string[] = [];
  for (let i = 0; i < elements.length; i += 500) out.push(`${verb} element inet ${table} ${set} { ${elements.slice(i, i + 500).join(', ')} }`);
  return out;
}

function mapEntries(m: Map<string, string>): string[] {
  return [...m].map(([ip, chain]) => `${ip} : jump ${chain}`);
}

/** The whole table, replacing whatever is there. */
export function renderFull(m: Ruleset, table = TABLE): string {
  const lines = [`add table inet ${table}`, `delete table inet ${table}`, `add table inet ${table}`, ...header(table)];
  for (const [name, s] of m.sets) {
    lines.push(`add set inet ${table} ${name} { ${SET_SPEC[s.kind]} }`);
    lines.push(...elementLines(table, name, 'add', setElements(s)));
  }
  for (const [name, c] of m.chains) {
    lines.push(`add chain inet ${table} ${name}`);
    for (const st of chainStatements(c)) lines.push(`add rule inet ${table} ${name} ${st}`);
  }
  lines.push(...forwardChain(table));
  lines.push(...elementLines(table, 'ingress', 'add', mapEntries(m.ingress)));
  lines.push(...elementLines(table, 'egress', 'add', mapEntries(m.egress)));
  return lines.join('\n') + '\n';
}

/** The changes from `prev` (what the table holds) to `next`; '' when there are none. */
export function renderDiff(prev: Ruleset, next: Ruleset, table = TABLE): string {
  const lines: string[] = [];
  // 1. sets and their elements
  for (const [name, s] of next.sets) {
    const old = prev.sets.get(name);
    const want = setElements(s);
    if (!old) {
      lines.push(`add set inet ${table} ${name} { ${SET_SPEC[s.kind]} }`);
      lines.push(...elementLines(table, name, 'add', want));
      continue;
    }
    const have = new Set(setElements(old));
    const wantSet = new Set(want);
    lines.push(...elementLines(table, name, 'delete', [...have].filter((e) => !wantSet.has(e))));
    lines.push(...elementLines(table, name, 'add', want.filter((e) => !have.has(e))));
  }
  // 2. chains: new ones, and rewritten bodies
  for (const [name, c] of next.chains) {
    const old = prev.chains.get(name);
    const body = chainStatements(c);
    if (old) {
      if (JSON.stringify(chainStatements(old)) === JSON.stringify(body)) continue;
      lines.push(`flush chain inet ${table} ${name}`);
    } else lines.push(`add chain inet ${table} ${name}`);
    for (const st of body) lines.push(`add rule inet ${table} ${name} ${st}`);
  }
  // 3. which pods jump where
  for (const map of ['ingress', 'egress'] as const) {
    const a = prev[map];
    const b = next[map];
    const gone = [...a].filter(([ip, chain]) => b.get(ip) !== chain).map(([ip]) => ip);
    const added = [...b].filter(([ip, chain]) => a.get(ip) !== chain);
    lines.push(...elementLines(table, map, 'delete', gone));
    lines.push(...elementLines(table, map, 'add', added.map(([ip, chain]) => `${ip} : jump ${chain}`)));
  }
  // 4. what nothing refers to any more
  for (const name of prev.chains.keys()) if (!next.chains.has(name)) lines.push(`delete chain inet ${table} ${name}`);
  for (const name of prev.sets.keys()) if (!next.sets.has(name)) lines.push(`delete set inet ${table} ${name}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * Keeps the table equal to the last ruleset given: the first apply (and any after a failure) writes
 * it whole, later ones only the difference.
 */
export class NetpolApplier {
  private applied: Ruleset | undefined;
  readonly stats = { full: 0, partial: 0, lastScriptBytes: 0, lastMs: 0 };
  private readonly nft: NftApply;
  private readonly table: string;

  constructor(nft: NftApply, table = TABLE) {
    this.nft = nft;
    this.table = table;
  }

  /** Asks for the next apply to write the whole table (e.g. someone may have changed it). */
  invalidate(): void {
    this.applied = undefined;
  }

  async apply(next: Ruleset): Promise<'full' | 'partial' | 'unchanged'> {
    const full = !this.applied;
    const script = full ? renderFull(next, this.table) : renderDiff(this.applied!, next, this.table);
    if (!script) return 'unchanged';
    const t0 = performance.now();
    try {
      await this.nft.apply(script);
    } catch (e) {
      this.applied = undefined;
      throw e;
    }
    this.applied = next;
    this.stats.lastMs = performance.now() - t0;
    this.stats.lastScriptBytes = script.length;
    if (full) this.stats.full++;
    else this.stats.partial++;
    return full ? 'full' : 'partial';
  }

  /** Removes the table. */
  async cleanup(): Promise<void> {
    this.applied = undefined;
    await this.nft.apply(`add table inet ${this.table}\ndelete table inet ${this.table}\n`);
  }
}

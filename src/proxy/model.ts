// The ruleset model: what the proxy wants in its nftables table, as plain data. The rule
// computation (rules.ts) produces it, the state (state.ts) diffs it, nft-script.ts writes it out.
import { createHash } from 'node:crypto';

/** Our table, as upstream names it (family ip). */
export const TABLE = 'kube-proxy';

export interface BaseChainSpec {
  type: 'filter' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** Numeric: nft 1.0.6 refuses `priority dstnat` on the output hook. */
  priority: number;
}

export interface ChainSpec {
  name: string;
  base?: BaseChainSpec;
  comment?: string;
  /** nft rule bodies, in order (e.g. "ip saddr 10.0.0.1 jump mark-for-masquerade"). */
  rules: readonly string[];
}

export interface SetSpec {
  name: string;
  kind: 'set' | 'map';
  /** The type clause: "type ipv4_addr . inet_proto . inet_service : verdict" or "typeof …". */
  type: string;
  flags?: readonly string[];
  timeoutSeconds?: number;
  comment?: string;
}

/** One element: the container (set or map) name, the key, and the value ("" in a set). */
export type Element = readonly [container: string, key: string, value: string];

/** What one Service adds to the table; chains and sets may be shared with other Services by name. */
export interface Contribution {
  chains: ChainSpec[];
  sets: SetSpec[];
  /**
   * Flat triples: container, key, value ("" in a set), container, key, value, … — no object per
   * element, as there are 10,000s. A triple may repeat (the state counts it once).
   */
  elements: string[];
}

/** A whole ruleset: the static skeleton plus every Service's contribution. */
export interface Ruleset {
  chains: Map<string, ChainSpec>;
  sets: Map<string, SetSpec>;
  /** container → key → value */
  elements: Map<string, Map<string, string>>;
}

export function setSpecText(s: SetSpec): string {
  const parts = [s.type];
  if (s.flags?.length) parts.push(`flags ${s.flags.join(',')}`);
  if (s.timeoutSeconds) parts.push(`timeout ${s.timeoutSeconds}s`);
  if (s.comment) parts.push(`comment ${quote(s.comment)}`);
  return parts.join(' ; ');
}

export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '')}"`;
}

// ---- upstream's chain and set names for per-Service chains (pkg/proxy/nftables) ----

/** knftables.NameLengthMax */
const NAME_LENGTH_MAX = 256;
const CHAIN_NAME_PREFIX_LENGTH_MAX = 16;
const CHAIN_NAME_BASE_LENGTH_MAX = NAME_LENGTH_MAX - CHAIN_NAME_PREFIX_LENGTH_MAX;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The first 8 characters of base32(sha256(name)): 40 bits, 5 bytes. */
function hash8(name: string): string {
  const d = createHash('sha256').update(name).digest();
  let bits = 0;
  for (let i = 0; i < 5; i++) bits = bits * 256 + d[i]!;
  let out = '';
  for (let i = 7; i >= 0; i--) out += BASE32[Math.floor(bits / 2 ** (5 * i)) % 32];
  return out;
}

/** upstream's hashAndTruncate: "HASH-name", cut to fit with "..." when too long. */
export function hashAndTruncate(name: string): string {
  let n = `${hash8(name)}-${name}`;
  if (n.length > CHAIN_NAME_BASE_LENGTH_MAX) n = n.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3) + '...';
  return n;
}

/** "HASH-namespace/name/protocol/portName" */
export function servicePortChainNameBase(namespace: string, name: string, protocol: string, portName: string): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}`);
}

/** "HASH-namespace/name/protocol/portName__ip/port" (IPv6 colons become dots). */
export function servicePortEndpointChainNameBase(namespace: string, name: string, protocol: string, portName: string, ip: string, port: number): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}__${ip.replaceAll(':', '.')}/${port}`);
}

/** Per-Service chain names contain a "/", which no static or shared chain does. */
export function isServiceChainName(name: string): boolean {
  return name.includes('/');
}

export function isAffinitySetName(name: string): boolean {
  return name.startsWith('affinity-');
}

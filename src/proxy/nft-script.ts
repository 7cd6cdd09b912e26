// Writing the ruleset as `nft -f` transactions: a full sync that makes the table exactly the
// desired one, and a partial sync from a Delta. Each script is one atomic transaction; statement
// order inside it matters (a chain must exist before a rule jumps to it, a set may only be deleted
// after the rules using it are flushed, a chain only after nothing points at it).
import type { ChainSpec, SetSpec } from './model.ts';
import { quote, setSpecText } from './model.ts';
import type { Delta } from './state.ts';

/** Elements per `add element` statement: keeps lines reasonable, costs nothing in nft. */
const ELEMENT_CHUNK = 500;

export interface FullSyncInput {
  table: string;
  /** Static and per-Service chains (static first). */
  chains: Iterable<ChainSpec>;
  /** Static sets and maps. */
  staticSets: Iterable<SetSpec>;
  /** Per-Service sets (affinity). */
  dynamicSets: Iterable<SetSpec>;
  /** Each container's elements (key → value). */
  elements: ReadonlyArray<readonly [string, ReadonlyMap<string, string>]>;
  /** What the table holds now (undefined: no table yet). */
  existing?: ExistingTable;
  /** Delete and re-create the base chains first (the first sync of a process), so a changed priority applies. */
  recreateBaseChains: boolean;
}

export interface ExistingTable {
  chains: Set<string>;
  /** name → timeout in seconds (0 without) */
  sets: Map<string, number>;
}

export interface FullSyncScript {
  script: string;
  /** Chains in the table that nothing wants: flushed now, to be deleted by a later transaction. */
  staleChains: string[];
}

function chainDecl(table: string, c: ChainSpec): string {
  const opts: string[] = [];
  if (c.base) opts.push(`type ${c.base.type} hook ${c.base.hook} priority ${c.base.priority}`);
  if (c.comment) opts.push(`comment ${quote(c.comment)}`);
  return `add chain ip ${table} ${c.name}${opts.length ? ` { ${opts.join(' ; ')} ; }` : ''}`;
}

function setDecl(table: string, s: SetSpec): string {
  return `add ${s.kind} ip ${table} ${s.name} { ${setSpecText(s)} ; }`;
}

function pushElements(out: string[], verb: 'add' | 'delete', table: string, container: string, items: readonly string[]): void {
  for (let i = 0; i < items.length; i += ELEMENT_CHUNK) out.push(`${verb} element ip ${table} ${container} { ${items.slice(i, i + ELEMENT_CHUNK).join(', ')} }`);
}

function elementText(key: string, value: string): string {
  return value === '' ? key : `${key} : ${value}`;
}

export function renderFullSync(input: FullSyncInput): FullSyncScript {
  const t = input.table;
  const out: string[] = [`add table ip ${t} { comment "rules for kube-proxy" ; }`];
  const chains = [...input.chains];
  if (input.recreateBaseChains) {
    for (const c of chains) if (c.base) out.push(`add chain ip ${t} ${c.name}`, `delete chain ip ${t} ${c.name}`);
  }
  const wanted = new Set<string>();
  for (const c of chains) {
    wanted.add(c.name);
    out.push(chainDecl(t, c), `flush chain ip ${t} ${c.name}`);
  }
  const staleChains: string[] = [];
  for (const name of input.existing?.chains ?? []) {
    if (wanted.has(name)) continue;
    out.push(`flush chain ip ${t} ${name}`);
    staleChains.push(name);
  }
  const staticNames = new Set<string>();
  for (const s of input.staticSets) {
    staticNames.add(s.name);
    out.push(setDecl(t, s), `flush ${s.kind} ip ${t} ${s.name}`);
  }
  const dynamic = new Map<string, SetSpec>();
  for (const s of input.dynamicSets) dynamic.set(s.name, s);
  for (const [name, timeout] of input.existing?.sets ?? []) {
    if (staticNames.has(name)) continue;
    const want = dynamic.get(name);
    // `add set` on an existing set keeps its old timeout: re-create it when the timeout changed.
    if (!want || (want.timeoutSeconds ?? 0) !== timeout) out.push(`delete set ip ${t} ${name}`);
  }
  for (const s of dynamic.values()) out.push(setDecl(t, s));
  for (const c of chains) for (const r of c.rules) out.push(`add rule ip ${t} ${c.name} ${r}`);
  for (const [container, m] of input.elements) {
    const items: string[] = [];
    for (const [k, v] of m) items.push(elementText(k, v));
    pushElements(out, 'add', t, container, items);
  }
  return { script: out.join('\n') + '\n', staleChains };
}

/** The transaction for a Delta; chainsRemoved are flushed here and must be deleted later. */
export function renderDelta(table: string, d: Delta): string {
  const t = table;
  const out: string[] = [];
  for (const name of d.chainsAdded.keys()) out.push(`add chain ip ${t} ${name}`, `flush chain ip ${t} ${name}`);
  for (const name of d.chainsChanged.keys()) out.push(`flush chain ip ${t} ${name}`);
  for (const name of d.chainsRemoved) out.push(`flush chain ip ${t} ${name}`);
  for (const name of d.setsRemoved) out.push(`delete set ip ${t} ${name}`);
  for (const name of d.setsChanged.keys()) out.push(`delete set ip ${t} ${name}`);
  for (const s of d.setsAdded.values()) out.push(setDecl(t, s));
  for (const s of d.setsChanged.values()) out.push(setDecl(t, s));
  for (const [name, rules] of d.chainsAdded) for (const r of rules) out.push(`add rule ip ${t} ${name} ${r}`);
  for (const [name, rules] of d.chainsChanged) for (const r of rules) out.push(`add rule ip ${t} ${name} ${r}`);
  for (const [container, ch] of d.elements) if (ch.del.length) pushElements(out, 'delete', t, container, ch.del);
  for (const [container, ch] of d.elements) if (ch.add.length) pushElements(out, 'add', t, container, ch.add.map(([k, v]) => elementText(k, v)));
  return out.length ? out.join('\n') + '\n' : '';
}

/** Deletes chains left over by earlier transactions. */
export function renderDeleteChains(table: string, chains: readonly string[]): string {
  return chains.map((c) => `delete chain ip ${table} ${c}`).join('\n') + '\n';
}

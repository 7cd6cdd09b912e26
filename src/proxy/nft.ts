// The nft program as the proxy uses it: run one transaction from a script, and read back which
// chains and sets the table holds.
import { CommandError, execRunner, type Runner } from '../network/exec.ts';
import type { ExistingTable } from './nft-script.ts';

export interface Nft {
  /** Runs `nft -f -` (one atomic transaction); rejects with nft's message on failure. */
  apply(script: string): Promise<void>;
  /** The chains and sets of `ip <table>`; undefined when the table does not exist. */
  listTable(table: string): Promise<ExistingTable | undefined>;
}

/** nft through a Runner (the machine's, or one entering a network namespace). */
export function runnerNft(run: Runner = execRunner()): Nft {
  return {
    async apply(script) {
      const r = await run('nft', ['-f', '-'], script);
      if (r.code !== 0) throw new CommandError('nft -f -', r);
    },
    async listTable(table) {
      // -t: without set contents
      const r = await run('nft', ['-j', '-t', 'list', 'table', 'ip', table]);
      if (r.code !== 0) {
        if (/No such file or directory/.test(r.stderr)) return undefined;
        throw new CommandError(`nft list table ip ${table}`, r);
      }
      return parseTableListing(r.stdout);
    },
  };
}

export function parseTableListing(json: string): ExistingTable {
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, { name?: string; timeout?: number }>> };
  const out: ExistingTable = { chains: new Set(), sets: new Map() };
  for (const item of doc.nftables ?? []) {
    if (item.chain?.name) out.chains.add(item.chain.name);
    const s = item.set ?? item.map;
    if (s?.name) out.sets.set(s.name, s.timeout ?? 0);
  }
  return out;
}

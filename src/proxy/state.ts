// The proxier's view of the dynamic part of its table: every Service's contribution, merged, and
// the difference since the last time it was written out. Chains, sets and elements may be claimed
// by several Services (shared dispatch chains, an endpoint's hairpin pair, a LoadBalancer IP:port
// two Services both claim); each is in the table while anyone claims it, with the claim of the
// smallest Service key winning when claims disagree, so the result does not depend on event order.
import type { ChainSpec, Contribution, SetSpec } from './model.ts';
import { setSpecText } from './model.ts';

/** Several owners of one key, with a count of distinct values (agreeing claims are the usual case). */
interface Multi<V> {
  byOwner: Map<string, V>;
  distinct: Map<string, { n: number; value: V }>;
}

/**
 * key → who claims it, and the effective value (the smallest owner's when claims disagree), kept
 * up to date in `eff` so that reading the whole table costs nothing. A single owner, the common
 * case, is just the owner's key string in `owners` (no object per key: the table holds 10,000s
 * of elements); several owners (shared chains, hairpin pairs) make it a Multi.
 */
class ClaimTable<V> {
  readonly eff = new Map<string, V>();
  private readonly owners = new Map<string, string | Multi<V>>();
  private readonly text: (v: V) => string;

  constructor(text: (v: V) => string) {
    this.text = text;
  }

  effective(key: string): V | undefined {
    return this.eff.get(key);
  }

  claim(key: string, owner: string, value: V): void {
    const o = this.owners.get(key);
    if (o === undefined || o === owner) {
      if (o === undefined) this.owners.set(key, owner);
      this.eff.set(key, value);
      return;
    }
    let m: Multi<V>;
    if (typeof o === 'string') {
      const v = this.eff.get(key)!;
      m = { byOwner: new Map([[o, v]]), distinct: new Map([[this.text(v), { n: 1, value: v }]]) };
      this.owners.set(key, m);
    } else m = o;
    const old = m.byOwner.get(owner);
    if (old !== undefined) this.uncount(m, old);
    m.byOwner.set(owner, value);
    const t = this.text(value);
    const d = m.distinct.get(t);
    if (d) d.n++;
    else m.distinct.set(t, { n: 1, value });
    this.eff.set(key, this.resolve(m));
  }

  release(key: string, owner: string): void {
    const o = this.owners.get(key);
    if (o === undefined) return;
    if (typeof o === 'string') {
      if (o === owner) {
        this.owners.delete(key);
        this.eff.delete(key);
      }
      return;
    }
    const old = o.byOwner.get(owner);
    if (old === undefined) return;
    o.byOwner.delete(owner);
    this.uncount(o, old);
    if (o.byOwner.size === 1) {
      const [last, v] = o.byOwner.entries().next().value!;
      this.owners.set(key, last);
      this.eff.set(key, v);
    } else this.eff.set(key, this.resolve(o));
  }

  private resolve(m: Multi<V>): V {
    if (m.distinct.size === 1) return m.distinct.values().next().value!.value;
    let best: string | undefined;
    for (const o of m.byOwner.keys()) if (best === undefined || o < best) best = o;
    return m.byOwner.get(best!)!;
  }

  private uncount(m: Multi<V>, v: V): void {
    const t = this.text(v);
    const d = m.distinct.get(t)!;
    if (--d.n === 0) m.distinct.delete(t);
  }
}

export interface ElementChanges {
  /** keys to delete (removed, or re-added with another value) */
  del: string[];
  /** key, value to add */
  add: Array<[string, string]>;
}

export interface Delta {
  /** Chains to create, with their rules. */
  chainsAdded: Map<string, readonly string[]>;
  /** Existing chains whose rules change (flush, then add these). */
  chainsChanged: Map<string, readonly string[]>;
  /** Chains nobody claims any more. */
  chainsRemoved: string[];
  setsAdded: Map<string, SetSpec>;
  /** Existing sets whose declaration changes (deleted and added again). */
  setsChanged: Map<string, SetSpec>;
  setsRemoved: string[];
  elements: Map<string, ElementChanges>;
}

export function emptyDelta(d: Delta): boolean {
  return !d.chainsAdded.size && !d.chainsChanged.size && !d.chainsRemoved.length && !d.setsAdded.size && !d.setsChanged.size && !d.setsRemoved.length && !d.elements.size;
}

interface StoredContribution {
  chains: Map<string, ChainSpec>;
  sets: Map<string, SetSpec>;
  /** flat triples, as in Contribution */
  elements: string[];
}

function store(c: Contribution): StoredContribution {
  return { chains: new Map(c.chains.map((x) => [x.name, x])), sets: new Map(c.sets.map((x) => [x.name, x])), elements: c.elements };
}

/** container → key → value of a triple list (the last of repeated keys wins; they agree). */
function indexElements(e: readonly string[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (let i = 0; i < e.length; i += 3) {
    let m = out.get(e[i]!);
    if (!m) out.set(e[i]!, (m = new Map()));
    m.set(e[i + 1]!, e[i + 2]!);
  }
  return out;
}

const chainTexts = new WeakMap<ChainSpec, string>();
/** A chain's rules as one string, remembered per (shared, immutable) ChainSpec object. */
function rulesText(c: ChainSpec | undefined): string | undefined {
  if (!c) return undefined;
  let t = chainTexts.get(c);
  if (t === undefined) chainTexts.set(c, (t = c.rules.join('\n')));
  return t;
}
const setText = (s: SetSpec | undefined) => (s ? setSpecText(s) : undefined);

export class RulesetState {
  private readonly contributions = new Map<string, StoredContribution>();
  private readonly chains = new ClaimTable<ChainSpec>((c) => rulesText(c)!);
  private readonly sets = new ClaimTable<SetSpec>(setSpecText);
  /** container → its elements' claims */
  private readonly elements = new Map<string, ClaimTable<string>>();
  // The effective values before the first change since the last takeDelta (undefined: absent).
  private readonly chainsBefore = new Map<string, ChainSpec | undefined>();
  private readonly setsBefore = new Map<string, SetSpec | undefined>();
  private readonly elementsBefore = new Map<string, Map<string, string | undefined>>();

  private table(container: string): ClaimTable<string> {
    let t = this.elements.get(container);
    if (!t) this.elements.set(container, (t = new ClaimTable<string>((v) => v)));
    return t;
  }

  private claimElement(container: string, key: string, owner: string, value: string, track: boolean): void {
    const t = this.table(container);
    if (track) this.rememberElement(container, key, t);
    t.claim(key, owner, value);
  }

  private releaseElement(container: string, key: string, owner: string, track: boolean): void {
    const t = this.table(container);
    if (track) this.rememberElement(container, key, t);
    t.release(key, owner);
  }

  private rememberElement(container: string, key: string, t: ClaimTable<string>): void {
    let b = this.elementsBefore.get(container);
    if (!b) this.elementsBefore.set(container, (b = new Map()));
    if (!b.has(key)) b.set(key, t.effective(key));
  }

  /**
   * Replaces one Service's contribution (undefined: the Service is gone). With `track` false the
   * change is not recorded for takeDelta (the caller writes the whole state next).
   */
  update(owner: string, next: Contribution | undefined, track = true): void {
    const prev = this.contributions.get(owner);
    const cur = next ? store(next) : undefined;
    const cb = track ? this.chainsBefore : undefined;
    const sb = track ? this.setsBefore : undefined;
    if (prev) {
      for (const name of prev.chains.keys()) {
        if (cur?.chains.has(name)) continue;
        if (cb && !cb.has(name)) cb.set(name, this.chains.effective(name));
        this.chains.release(name, owner);
      }
      for (const name of prev.sets.keys()) {
        if (cur?.sets.has(name)) continue;
        if (sb && !sb.has(name)) sb.set(name, this.sets.effective(name));
        this.sets.release(name, owner);
      }
    }
    if (cur) {
      for (const [name, c] of cur.chains) {
        const p = prev?.chains.get(name);
        if (p && (p === c || rulesText(p) === rulesText(c))) continue;
        if (cb && !cb.has(name)) cb.set(name, this.chains.effective(name));
        this.chains.claim(name, owner, c);
      }
      for (const [name, st] of cur.sets) {
        const p = prev?.sets.get(name);
        if (p && setText(p) === setText(st)) continue;
        if (sb && !sb.has(name)) sb.set(name, this.sets.effective(name));
        this.sets.claim(name, owner, st);
      }
    }
    if (!prev) {
      const e = cur?.elements ?? [];
      for (let i = 0; i < e.length; i += 3) this.claimElement(e[i]!, e[i + 1]!, owner, e[i + 2]!, track);
    } else {
      const before = indexElements(prev.elements);
      const after = cur ? indexElements(cur.elements) : new Map<string, Map<string, string>>();
      for (const [c, m] of before) {
        const a = after.get(c);
        for (const k of m.keys()) if (!a?.has(k)) this.releaseElement(c, k, owner, track);
      }
      for (const [c, m] of after) {
        const b = before.get(c);
        for (const [k, v] of m) if (b?.get(k) !== v) this.claimElement(c, k, owner, v, track);
      }
    }
    if (cur) this.contributions.set(owner, cur);
    else this.contributions.delete(owner);
  }

  /** What changed since the last call, and forget it. */
  takeDelta(): Delta {
    const d: Delta = { chainsAdded: new Map(), chainsChanged: new Map(), chainsRemoved: [], setsAdded: new Map(), setsChanged: new Map(), setsRemoved: [], elements: new Map() };
    for (const [name, old] of this.chainsBefore) {
      const now = this.chains.effective(name);
      if (rulesText(old) === rulesText(now)) continue;
      if (!old) d.chainsAdded.set(name, now!.rules);
      else if (!now) d.chainsRemoved.push(name);
      else d.chainsChanged.set(name, now.rules);
    }
    for (const [name, old] of this.setsBefore) {
      const now = this.sets.effective(name);
      if (setText(old) === setText(now)) continue;
      if (!old) d.setsAdded.set(name, now!);
      else if (!now) d.setsRemoved.push(name);
      else d.setsChanged.set(name, now);
    }
    for (const [container, m] of this.elementsBefore) {
      const t = this.table(container);
      for (const [key, old] of m) {
        const now = t.effective(key);
        if (old === now) continue;
        let ch = d.elements.get(container);
        if (!ch) d.elements.set(container, (ch = { del: [], add: [] }));
        if (old !== undefined) ch.del.push(key);
        if (now !== undefined) ch.add.push([key, now]);
      }
    }
    this.markWritten();
    return d;
  }

  /** Forgets pending changes without reporting them (after a full sync wrote the whole state). */
  markWritten(): void {
    this.chainsBefore.clear();
    this.setsBefore.clear();
    this.elementsBefore.clear();
  }

  /** The chains every Service needs, as they stand (read-only). */
  allChains(): ReadonlyMap<string, ChainSpec> {
    return this.chains.eff;
  }

  /** Read-only. */
  allSets(): ReadonlyMap<string, SetSpec> {
    return this.sets.eff;
  }

  /** container → key → value (read-only; containers may be empty). */
  allElements(): ReadonlyMap<string, ReadonlyMap<string, string>> {
    const out = new Map<string, ReadonlyMap<string, string>>();
    for (const [c, t] of this.elements) out.set(c, t.eff);
    return out;
  }

  get serviceCount(): number {
    return this.contributions.size;
  }

  owners(): IterableIterator<string> {
    return this.contributions.keys();
  }
}

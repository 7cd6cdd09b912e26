// The proxier's view of the dynamic part of its table: every Service's contribution, merged, and
// the difference since the last time it was written out. Chains, sets and elements may be claimed
// by several Services (shared dispatch chains, an endpoint's hairpin pair, a LoadBalancer IP:port
// two Services both claim); each is in the table while anyone claims it, with the claim of the
// smallest Service key winning when claims disagree, so the result does not depend on event order.
import type { ChainSpec, Contribution, SetSpec } from './model.ts';
import { setSpecText, splitElementId } from './model.ts';

/** Several owners of one key, with a count of distinct values (agreeing claims are the usual case). */
interface Multi<V> {
  byOwner: Map<string, V>;
  distinct: Map<string, { n: number; value: V }>;
}

/**
 * key → who claims it. A single owner, the common case, lives in two flat maps (no object per
 * key: the table holds 10,000s of elements); several owners (shared chains, hairpin pairs) move
 * the key to `multi`.
 */
class ClaimTable<V> {
  private readonly owner = new Map<string, string>();
  private readonly value = new Map<string, V>();
  private readonly multi = new Map<string, Multi<V>>();
  private readonly text: (v: V) => string;

  constructor(text: (v: V) => string) {
    this.text = text;
  }

  *keys(): IterableIterator<string> {
    yield* this.owner.keys();
    yield* this.multi.keys();
  }

  effective(key: string): V | undefined {
    const m = this.multi.get(key);
    if (!m) return this.value.get(key);
    if (m.distinct.size === 1) return m.distinct.values().next().value!.value;
    let best: string | undefined;
    for (const o of m.byOwner.keys()) if (best === undefined || o < best) best = o;
    return m.byOwner.get(best!);
  }

  claim(key: string, owner: string, value: V): void {
    let m = this.multi.get(key);
    if (!m) {
      const cur = this.owner.get(key);
      if (cur === undefined || cur === owner) {
        this.owner.set(key, owner);
        this.value.set(key, value);
        return;
      }
      const v = this.value.get(key)!;
      m = { byOwner: new Map([[cur, v]]), distinct: new Map([[this.text(v), { n: 1, value: v }]]) };
      this.owner.delete(key);
      this.value.delete(key);
      this.multi.set(key, m);
    }
    const old = m.byOwner.get(owner);
    if (old !== undefined) this.uncount(m, old);
    m.byOwner.set(owner, value);
    const t = this.text(value);
    const d = m.distinct.get(t);
    if (d) d.n++;
    else m.distinct.set(t, { n: 1, value });
  }

  release(key: string, owner: string): void {
    const m = this.multi.get(key);
    if (!m) {
      if (this.owner.get(key) === owner) {
        this.owner.delete(key);
        this.value.delete(key);
      }
      return;
    }
    const old = m.byOwner.get(owner);
    if (old === undefined) return;
    m.byOwner.delete(owner);
    this.uncount(m, old);
    if (m.byOwner.size === 1) {
      const [o, v] = m.byOwner.entries().next().value!;
      this.multi.delete(key);
      this.owner.set(key, o);
      this.value.set(key, v);
    }
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
  /** elementId → value */
  elements: Map<string, string>;
}

function store(c: Contribution): StoredContribution {
  return { chains: new Map(c.chains.map((x) => [x.name, x])), sets: new Map(c.sets.map((x) => [x.name, x])), elements: c.elements };
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
  /** elementId → claims */
  private readonly elements = new ClaimTable<string>((v) => v);
  // The effective values before the first change since the last takeDelta (undefined: absent).
  private readonly chainsBefore = new Map<string, ChainSpec | undefined>();
  private readonly setsBefore = new Map<string, SetSpec | undefined>();
  private readonly elementsBefore = new Map<string, string | undefined>();

  /**
   * Replaces one Service's contribution (undefined: the Service is gone). With `track` false the
   * change is not recorded for takeDelta (the caller writes the whole state next).
   */
  update(owner: string, next: Contribution | undefined, track = true): void {
    const prev = this.contributions.get(owner);
    const cur = next ? store(next) : undefined;
    const cb = track ? this.chainsBefore : undefined;
    const sb = track ? this.setsBefore : undefined;
    const eb = track ? this.elementsBefore : undefined;
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
      for (const k of prev.elements.keys()) {
        if (cur?.elements.has(k)) continue;
        if (eb && !eb.has(k)) eb.set(k, this.elements.effective(k));
        this.elements.release(k, owner);
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
      for (const [k, v] of cur.elements) {
        if (prev?.elements.get(k) === v) continue;
        if (eb && !eb.has(k)) eb.set(k, this.elements.effective(k));
        this.elements.claim(k, owner, v);
      }
      this.contributions.set(owner, cur);
    } else this.contributions.delete(owner);
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
    for (const [k, old] of this.elementsBefore) {
      const now = this.elements.effective(k);
      if (old === now) continue;
      const [container, key] = splitElementId(k);
      let ch = d.elements.get(container);
      if (!ch) d.elements.set(container, (ch = { del: [], add: [] }));
      if (old !== undefined) ch.del.push(key);
      if (now !== undefined) ch.add.push([key, now]);
    }
    this.chainsBefore.clear();
    this.setsBefore.clear();
    this.elementsBefore.clear();
    return d;
  }

  /** Forgets pending changes without reporting them (after a full sync wrote the whole state). */
  markWritten(): void {
    this.chainsBefore.clear();
    this.setsBefore.clear();
    this.elementsBefore.clear();
  }

  /** The chains every Service needs, as they stand. */
  allChains(): Map<string, ChainSpec> {
    const out = new Map<string, ChainSpec>();
    for (const name of this.chains.keys()) out.set(name, this.chains.effective(name)!);
    return out;
  }

  allSets(): Map<string, SetSpec> {
    const out = new Map<string, SetSpec>();
    for (const name of this.sets.keys()) out.set(name, this.sets.effective(name)!);
    return out;
  }

  /** container → key → value */
  allElements(): Map<string, Map<string, string>> {
    const out = new Map<string, Map<string, string>>();
    for (const k of this.elements.keys()) {
      const [container, key] = splitElementId(k);
      let m = out.get(container);
      if (!m) out.set(container, (m = new Map()));
      m.set(key, this.elements.effective(k)!);
    }
    return out;
  }

  get serviceCount(): number {
    return this.contributions.size;
  }

  owners(): IterableIterator<string> {
    return this.contributions.keys();
  }
}

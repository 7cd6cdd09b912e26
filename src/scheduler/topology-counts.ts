// Pod counts per topology domain: (topologyKey, value) → number of pods. InterPodAffinity and
// PodTopologySpread are built on these; the cache keeps some of them up to date incrementally
// (see SchedulerCache.podCounts) so a cycle need not walk every pod in the cluster.

export class TopologyCounts {
  /** topologyKey → value → count; zero counts are not stored. */
  readonly byKey = new Map<string, Map<string, number>>();
  /** Pairs with a non-zero count. */
  size = 0;

  get(key: string, value: string): number {
    return this.byKey.get(key)?.get(value) ?? 0;
  }

  /** Adds delta to the node's domain of key; a node without the key counts nowhere. */
  bump(labels: Readonly<Record<string, string>>, key: string, delta: number): void {
    const v = labels[key];
    if (v !== undefined) this.add(key, v, delta);
  }

  add(key: string, value: string, delta: number): void {
    if (delta === 0) return;
    let m = this.byKey.get(key);
    if (!m) this.byKey.set(key, (m = new Map()));
    const before = m.get(value) ?? 0;
    const n = before + delta;
    if (n === 0) {
      m.delete(value);
      if (m.size === 0) this.byKey.delete(key);
    } else m.set(value, n);
    if (before === 0 && n !== 0) this.size++;
    else if (before !== 0 && n === 0) this.size--;
  }

  /** Whether any of the node's (key, value) label pairs has a positive count. */
  anyOn(labels: Readonly<Record<string, string>>): boolean {
    for (const [key, m] of this.byKey) {
      const v = labels[key];
      if (v !== undefined && (m.get(v) ?? 0) > 0) return true;
    }
    return false;
  }

  /** Adds every count of other into this one. */
  merge(other: TopologyCounts): void {
    for (const [k, m] of other.byKey) for (const [v, n] of m) this.add(k, v, n);
  }

  clone(): TopologyCounts {
    const c = new TopologyCounts();
    for (const [k, m] of this.byKey) c.byKey.set(k, new Map(m));
    c.size = this.size;
    return c;
  }
}

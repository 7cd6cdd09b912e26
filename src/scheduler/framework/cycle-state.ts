// CycleState: what plugins compute for one pod in one scheduling cycle (PreFilter results read
// by Filter, PreScore results read by Score). Created per cycle, dropped afterwards.

/** State that preemption or nominated-pod dry runs may change implements clone(). */
export interface Cloneable {
  clone(): unknown;
}

function isCloneable(v: unknown): v is Cloneable {
  return typeof v === 'object' && v !== null && typeof (v as Cloneable).clone === 'function';
}

export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** Plugins whose PreFilter answered Skip: their Filter is not called this cycle. */
  skipFilterPlugins = new Set<string>();
  /** Plugins whose PreScore answered Skip: their Score is not called this cycle. */
  skipScorePlugins = new Set<string>();

  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, v: unknown): void {
    this.data.set(key, v);
  }

  delete(key: string): void {
    this.data.delete(key);
  }

  /** A copy whose cloneable entries are cloned, so a dry run cannot disturb the original. */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, isCloneable(v) ? v.clone() : v);
    c.skipFilterPlugins = new Set(this.skipFilterPlugins);
    c.skipScorePlugins = new Set(this.skipScorePlugins);
    return c;
  }
}

// Small numeric helpers shared by the benchmark's orchestrator and load generator.

/** The q-quantile (0..1) of xs by nearest rank; NaN for an empty list. Does not modify xs. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Rounds to a sensible number of significant digits for a table. */
export function fmt(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 100) return String(Math.round(x));
  return Number(x.toPrecision(digits)).toString();
}

/** Wall-clock time in epoch milliseconds with sub-millisecond precision (comparable across processes and with strace -ttt). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

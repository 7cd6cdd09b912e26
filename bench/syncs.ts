// Reads what `strace -f -ttt -T -e trace=fsync,fdatasync,…` wrote: one record per successful
// sync call with when it ended (epoch ms), so the benchmark can count syncs inside a load window
// and check that each acknowledged write had a sync complete before its acknowledgement.

import { readFileSync } from 'node:fs';

export interface SyncCall {
  call: string;
  /** Epoch ms the call returned. */
  end: number;
  ms: number;
}

const CALLS = 'fsync|fdatasync|sync_file_range|syncfs';
// "PID 1700000000.123456 fdatasync(12)   = 0 <0.000512>" (PID present with -f once there are threads)
const DONE = new RegExp(`^(?:\\d+\\s+)?(\\d+\\.\\d+) (${CALLS})\\(.*\\)\\s+= (-?\\d+).*<(\\d+\\.\\d+)>$`);
// "PID 1700000000.124000 <... fdatasync resumed>) = 0 <0.000544>" (timestamp is when it returned)
const RESUMED = new RegExp(`^(?:\\d+\\s+)?(\\d+\\.\\d+) <\\.\\.\\. (${CALLS}) resumed>.*= (-?\\d+).*<(\\d+\\.\\d+)>$`);

export function readSyncs(file: string): SyncCall[] {
  const out: SyncCall[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    let m = DONE.exec(line);
    if (m) {
      if (m[3] === '0') out.push({ call: m[2]!, end: Number(m[1]) * 1000 + Number(m[4]) * 1000, ms: Number(m[4]) * 1000 });
      continue;
    }
    m = RESUMED.exec(line);
    if (m && m[3] === '0') out.push({ call: m[2]!, end: Number(m[1]) * 1000, ms: Number(m[4]) * 1000 });
  }
  return out.sort((a, b) => a.end - b.end);
}

export interface SyncCount {
  total: number;
  byCall: Record<string, number>;
}

export function syncsIn(syncs: readonly SyncCall[], window: [number, number]): SyncCount {
  const byCall: Record<string, number> = {};
  let total = 0;
  for (const s of syncs) {
    if (s.end < window[0] || s.end > window[1]) continue;
    total++;
    byCall[s.call] = (byCall[s.call] ?? 0) + 1;
  }
  return { total, byCall };
}

/** Of the given [sent, acknowledged] intervals, how many contain the end of at least one sync. */
export function intervalsWithSync(syncs: readonly SyncCall[], intervals: readonly [number, number][]): number {
  const ends = syncs.map((s) => s.end);
  let n = 0;
  for (const [a, b] of intervals) {
    // first sync ending at or after a
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    if (lo < ends.length && ends[lo]! <= b) n++;
  }
  return n;
}

// Summarizes a V8 .cpuprofile (from `node --cpu-prof`) over a time window: self and inclusive time
// per function (name, file:line), and self time per file. Sample times are CLOCK_MONOTONIC µs, the
// clock of process.hrtime, so the load generator's window selects exactly the measured load.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  fn: string;
  where: string;
  ms: number;
  pct: number;
  /** For self-time entries: the callers that time came through, most first. */
  callers?: { fn: string; where: string; ms: number }[];
}

export interface ProfileSummary {
  /** Sampled time inside the window, ms (idle excluded). */
  busyMs: number;
  idleMs: number;
  windowMs: number;
  self: HotSpot[];
  inclusive: HotSpot[];
  files: HotSpot[];
}

function location(cf: CallFrame, root: string): string {
  if (!cf.url) return '(native)';
  let file = cf.url;
  if (file.startsWith('file://')) file = relative(root, fileURLToPath(file));
  return `${file}:${cf.lineNumber + 1}`;
}

export function summarizeProfile(file: string, root: string, window?: [number, number], top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const keyOf = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}\u0000${location(n.callFrame, root)}`;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const files = new Map<string, number>();
  // leaf key → caller key → ms: who calls the functions that burn the time.
  const callers = new Map<string, Map<string, number>>();
  let t = p.startTime;
  let busy = 0;
  let idle = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    // A sample's delta is the time since the previous sample; attribute it to this one.
    const dt = p.timeDeltas[i]! / 1000;
    if (window && (t < window[0] || t > window[1])) continue;
    const leaf = byId.get(p.samples[i]!)!;
    const name = leaf.callFrame.functionName;
    if (name === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const k = keyOf(leaf);
    self.set(k, (self.get(k) ?? 0) + dt);
    const f = leaf.callFrame.url ? location(leaf.callFrame, root).replace(/:\d+$/, '') : name.startsWith('(') ? name : '(native)';
    files.set(f, (files.get(f) ?? 0) + dt);
    let up = parent.get(leaf.id);
    while (up !== undefined && keyOf(byId.get(up)!) === k) up = parent.get(up);
    if (up !== undefined) {
      const ck = keyOf(byId.get(up)!);
      let m = callers.get(k);
      if (!m) callers.set(k, (m = new Map()));
      m.set(ck, (m.get(ck) ?? 0) + dt);
    }
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const kk = keyOf(byId.get(id)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + dt);
    }
  }
  const rank = (m: Map<string, number>, skip: (k: string) => boolean = () => false): HotSpot[] =>
    [...m]
      .filter(([k]) => !skip(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => {
        const [fn, where] = k.split('\u0000') as [string, string | undefined];
        return { fn, where: where ?? '', ms: Math.round(ms), pct: Math.round((1000 * ms) / busy) / 10 };
      });
  return {
    busyMs: Math.round(busy),
    idleMs: Math.round(idle),
    windowMs: window ? Math.round((window[1] - window[0]) / 1000) : Math.round((p.endTime - p.startTime) / 1000),
    self: rank(self).map((h) => {
      const m = callers.get(`${h.fn}\u0000${h.where}`);
      if (!m) return h;
      return {
        ...h,
        callers: [...m]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([ck, ms]) => {
            const [fn, where] = ck.split('\u0000') as [string, string];
            return { fn, where, ms: Math.round(ms) };
          }),
      };
    }),
    // The roots ((root), the event loop's entry points) are 100% by construction; leave them out.
    inclusive: rank(incl, (k) => k.startsWith('(root)') || k.startsWith('(program)')),
    files: rank(files),
  };
}

export function formatProfile(title: string, s: ProfileSummary, top = 20): string {
  const lines = [`${title}: ${s.busyMs} ms busy, ${s.idleMs} ms idle in a ${s.windowMs} ms window`];
  const table = (h: string, xs: HotSpot[]) => {
    lines.push(`  ${h}`);
    for (const x of xs.slice(0, top)) {
      lines.push(`    ${String(x.pct).padStart(5)}%  ${String(x.ms).padStart(6)} ms  ${x.fn}  ${x.where}`);
      if (x.callers?.length) lines.push(`${' '.repeat(20)}← ${x.callers.map((c) => `${c.fn} ${c.where} (${c.ms} ms)`).join('; ')}`);
    }
  };
  table('self time by function', s.self);
  table('inclusive time by function', s.inclusive);
  table('self time by file', s.files);
  return lines.join('\n');
}

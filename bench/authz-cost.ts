// The cost of authorization and audit on the API create benchmark (issue 7, item 8): pod creates/s
// and latency against two API servers in the same run —
//   on:  the default authorization (Node,RBAC) and an audit Policy logging every request at
//        Metadata level to a file;
//   off: --authorization-mode=AlwaysAllow and no audit policy (auditing off);
// and, to tell the two costs apart, a third:
//   rbac: the default authorization, no audit policy.
// Both are sent the same creates by the same user, "bench-user" (a client certificate from the
// cluster's CA, not in system:masters, so RBAC really decides: a RoleBinding to `edit` in the
// bench namespace, made on every server). The machine is shared and noisy, so the sides run back
// to back in rounds, rotating which goes first, and the figure is the median over rounds of on/off
// (and rbac/off); the rudder process's CPU time per create is reported too (steadier than the rate when the
// CPU a process gets varies). Not a test: it prints, writes JSON and asserts nothing.
//
// --profile instead runs one `on` server under `node --cpu-prof` through one create load and
// reports the share of its busy CPU time spent inside each file of src/apiserver/auth/ and in
// src/apiserver/audit.ts (a sample counts for a file when any frame on its stack is in it): an
// attribution that does not depend on what else the machine is doing.
//
//   node bench/authz-cost.ts [--rounds 5] [--count 3000] [--concurrency 16,64] [--backend sqlite|etcd] [--out FILE]
//   node bench/authz-cost.ts --profile [--count 5000]

import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePki } from '../src/apiserver/pki.ts';
import type { Job, LoadResult, Target } from './loadgen.ts';
import { NODE, ROOT, cleanupAll, cpuMeter, newDir, mainThreadProfile, startEtcdDefault, startRudder, track, type Creds, type Etcd, type Rudder } from './processes.ts';
import { fmt, median } from './stats.ts';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    count: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16,64' },
    backend: { type: 'string', default: 'sqlite' },
    out: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const PAIRS = Number(opt.rounds);
const COUNT = Number(opt.count);
const LEVELS = opt.concurrency.split(',').map(Number);
if (!['sqlite', 'etcd'].includes(opt.backend)) throw new Error('--backend: sqlite or etcd');

const T0 = performance.now();
const log = (m: string) => process.stderr.write(`[authz-cost ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)}s] ${m}\n`);

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
`;

type Side = 'on' | 'rbac' | 'off';
const SIDES: Side[] = ['on', 'rbac', 'off'];

/** An admin request (setup only; the load itself goes through the load generator). */
function adminRequest(r: Rudder, method: string, path: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const b = Buffer.from(JSON.stringify(body));
    const req = httpsRequest(r.url + path, { method, ca: r.creds.ca, cert: r.creds.cert, key: r.creds.key, headers: { 'content-type': 'application/json', 'content-length': b.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(b);
  });
}

async function setUp(side: Side, etcd: Etcd | undefined, cpuProfDir?: string): Promise<{ server: Rudder; user: Creds; auditLog?: string }> {
  const dir = newDir(`rudder-${side}`);
  const extraArgs: string[] = [];
  let auditLog: string | undefined;
  if (side === 'off') extraArgs.push('--authorization-mode', 'AlwaysAllow');
  if (side === 'on') {
    const policy = join(dir, 'audit-policy.yaml');
    writeFileSync(policy, AUDIT_POLICY);
    auditLog = join(dir, 'audit.log');
    extraArgs.push('--audit-policy-file', policy, '--audit-log-path', auditLog);
  }
  const server = await startRudder({ dataDir: join(dir, 'data'), datastore: etcd?.url, apiOnly: true, extraArgs, cpuProfDir });
  const pki = await ensurePki(join(server.dataDir, 'server', 'tls'), { sans: [] });
  const cert = await pki.signClientCert('bench-user', []);
  const ns = await adminRequest(server, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
  const sa = await adminRequest(server, 'POST', '/api/v1/namespaces/bench/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  const rb = await adminRequest(server, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/bench/rolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'bench-user-edit' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bench-user' }],
  });
  if (ns !== 201 || sa !== 201 || rb !== 201) throw new Error(`${side}: setup answered namespace ${ns}, serviceaccount ${sa}, rolebinding ${rb}`);
  return { server, user: { ca: server.creds.ca, cert: cert.cert, key: cert.key }, auditLog };
}

// ---------------------------------------------------------------- the load generator

class LoadGen {
  private readonly proc: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  constructor() {
    this.proc = track(fork(join(import.meta.dirname, 'loadgen.ts'), [], { execPath: NODE, execArgv: ['--disable-warning=ExperimentalWarning'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.proc.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error) w.reject(new Error(`load generator: ${m.error}`));
      else w.resolve(m.result);
    });
  }
  get pid(): number {
    return this.proc.pid!;
  }
  call<T>(job: Job): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, job });
    });
  }
  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.disconnect();
    await done;
  }
}

// ---------------------------------------------------------------- the run

interface Run {
  rate: number;
  p50: number;
  p99: number;
  /** rudder's CPU milliseconds per create. */
  cpuMsPerCreate: number;
  errors: number;
}

async function main() {
  const etcd = opt.backend === 'etcd' ? await startEtcdDefault() : undefined;
  const lg = new LoadGen();
  const sides = new Map<Side, Awaited<ReturnType<typeof setUp>>>();
  try {
    for (const s of SIDES) sides.set(s, await setUp(s, etcd));
    const target = (s: Side): Target => ({ url: sides.get(s)!.server.url, creds: sides.get(s)!.user });
    const one = async (s: Side, prefix: string, count: number, c: number): Promise<Run> => {
      const meter = cpuMeter({ rudder: sides.get(s)!.server.pid });
      const r = await lg.call<LoadResult>({ kind: 'create', target: target(s), namespace: 'bench', prefix, count, concurrency: c, proto: 'h2' });
      const cores = meter().rudder!;
      if (r.errors) log(`WARNING ${s} ${prefix}: ${r.errors} failed; first: ${r.firstError}`);
      return { rate: r.rate, p50: r.p50, p99: r.p99, cpuMsPerCreate: (cores * r.seconds * 1000) / Math.max(1, r.n - r.errors), errors: r.errors };
    };
    log('warm-up');
    for (const s of SIDES) {
      const w = await one(s, 'warm', 1000, 16);
      if (w.errors) throw new Error(`warm-up ${s}: requests failed`);
    }
    const results: Record<number, Record<Side, Run[]>> = {};
    const load0 = loadavg()[0]!;
    for (const c of LEVELS) {
      results[c] = { on: [], rbac: [], off: [] };
      for (let p = 0; p < PAIRS; p++) {
        const order = SIDES.map((_, i) => SIDES[(i + p) % SIDES.length]!);
        for (const s of order) {
          const r = await one(s, `c${c}-p${p}`, COUNT, c);
          results[c]![s].push(r);
          log(`c=${String(c).padStart(2)} round ${p + 1}/${PAIRS} ${s.padEnd(4)}: ${Math.round(r.rate)}/s p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms, ${r.cpuMsPerCreate.toFixed(2)} CPU ms/create`);
        }
      }
    }
    const load1 = loadavg()[0]!;

    const summary = LEVELS.map((c) => {
      const rs = results[c]!;
      const med = (xs: Run[]) => ({ rate: median(xs.map((r) => r.rate)), p50: median(xs.map((r) => r.p50)), p99: median(xs.map((r) => r.p99)), cpuMsPerCreate: median(xs.map((r) => r.cpuMsPerCreate)) });
      /** Median over rounds of side/off. */
      const ratios = (side: Side) => {
        const ratio = (f: (r: Run) => number) => median(rs[side].map((r, i) => f(r) / f(rs.off[i]!)));
        return { rate: ratio((r) => r.rate), p99: ratio((r) => r.p99), cpuMsPerCreate: ratio((r) => r.cpuMsPerCreate) };
      };
      return { concurrency: c, on: med(rs.on), rbac: med(rs.rbac), off: med(rs.off), onVsOff: ratios('on'), rbacVsOff: ratios('rbac'), rounds: rs };
    });
    const auditBytes = statSync(sides.get('on')!.auditLog!).size;

    const rows: string[][] = [['', 'on (Node,RBAC + audit)', 'rbac (no audit)', 'off (AlwaysAllow)', 'on/off', 'rbac/off', 'goal (on/off)']];
    for (const s of summary) {
      rows.push([`creates/s c=${s.concurrency}`, fmt(s.on.rate), fmt(s.rbac.rate), fmt(s.off.rate), fmt(s.onVsOff.rate), fmt(s.rbacVsOff.rate), '>= 0.90']);
      rows.push([`  p50 / p99 ms`, `${fmt(s.on.p50)} / ${fmt(s.on.p99)}`, `${fmt(s.rbac.p50)} / ${fmt(s.rbac.p99)}`, `${fmt(s.off.p50)} / ${fmt(s.off.p99)}`, `p99 ${fmt(s.onVsOff.p99)}`, `p99 ${fmt(s.rbacVsOff.p99)}`, '']);
      rows.push([`  rudder CPU ms/create`, fmt(s.on.cpuMsPerCreate), fmt(s.rbac.cpuMsPerCreate), fmt(s.off.cpuMsPerCreate), fmt(s.onVsOff.cpuMsPerCreate), fmt(s.rbacVsOff.cpuMsPerCreate), '']);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const table = rows.map((r) => r.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
    process.stdout.write(`\n${table}\n\nratios are medians over rounds of back-to-back runs; ${PAIRS} rounds of ${COUNT} pod creates per level on ${opt.backend}, HTTP/2, as bench-user (RoleBinding to edit); audit log ${(auditBytes / 1e6).toFixed(1)} MB; load average ${load0.toFixed(2)} -> ${load1.toFixed(2)}; ${cpus().length} × ${cpus()[0]?.model}\n`);
    const out = opt.out ?? join(ROOT, 'bench', 'results', `authz-cost-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, JSON.stringify({ started: new Date(Date.now() - (performance.now() - T0)).toISOString(), backend: opt.backend, rounds: PAIRS, count: COUNT, loadavg: [load0, load1], cpus: cpus().length, cpuModel: cpus()[0]?.model, auditBytes, summary }, null, 2));
    log(`wrote ${out}`);
  } finally {
    await lg.close().catch(() => {});
    for (const s of sides.values()) await s.server.stop().catch(() => {});
    await etcd?.stop();
    cleanupAll();
  }
}

/** Busy ms in the window, and per file of interest the ms of samples with a frame in that file. */
function shares(file: string, window: [number, number]): { busyMs: number; files: Record<string, number>; auditLeaves: Record<string, number> } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[]; startTime: number; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const interesting = (url: string) => {
    const m = /\/src\/apiserver\/(auth\/[^/]+\.ts|audit\.ts)$/.exec(url);
    return m?.[1];
  };
  const files: Record<string, number> = {};
  /** Where the audit's time goes: the sampled leaf function of stacks through audit.ts. */
  const auditLeaves: Record<string, number> = {};
  let busy = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (t < window[0] || t > window[1]) continue;
    const leaf = byId.get(p.samples[i]!)!;
    if (leaf.callFrame.functionName === '(idle)') continue;
    const dt = p.timeDeltas[i]! / 1000;
    busy += dt;
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const f = interesting(byId.get(id)!.callFrame.url);
      if (f && !seen.has(f)) {
        seen.add(f);
        files[f] = (files[f] ?? 0) + dt;
      }
    }
    if (seen.has('audit.ts')) {
      const where = leaf.callFrame.url ? leaf.callFrame.url.replace(/^.*\/(src|node:)/, '$1') : '(native)';
      const k = `${leaf.callFrame.functionName || '(anonymous)'} ${where}`;
      auditLeaves[k] = (auditLeaves[k] ?? 0) + dt;
    }
  }
  return { busyMs: busy, files, auditLeaves };
}

async function profile() {
  const lg = new LoadGen();
  const profDir = newDir('cpuprof');
  let side: Awaited<ReturnType<typeof setUp>> | undefined;
  try {
    side = await setUp('on', undefined, profDir);
    const target: Target = { url: side.server.url, creds: side.user };
    await lg.call<LoadResult>({ kind: 'create', target, namespace: 'bench', prefix: 'warm', count: 1000, concurrency: 16, proto: 'h2' });
    const r = await lg.call<LoadResult>({ kind: 'create', target, namespace: 'bench', prefix: 'p', count: COUNT, concurrency: 64, proto: 'h2' });
    log(`${r.n} creates at c=64 under the profiler: ${Math.round(r.rate)}/s, ${r.errors} errors`);
    await side.server.stop();
    const file = mainThreadProfile(profDir);
    if (!file) throw new Error('no .cpuprofile written');
    const s = shares(file, r.monoWindow);
    const perCreate = (ms: number) => ((ms * 1000) / r.n).toFixed(1);
    process.stdout.write(`\nbusy ${Math.round(s.busyMs)} ms over ${r.n} creates (${perCreate(s.busyMs)} µs of sampled CPU per create); inclusive time per file:\n`);
    for (const [f, ms] of Object.entries(s.files).sort((a, b) => b[1] - a[1])) {
      process.stdout.write(`  ${((100 * ms) / s.busyMs).toFixed(2).padStart(6)}%  ${perCreate(ms).padStart(6)} µs/create  src/apiserver/${f}\n`);
    }
    process.stdout.write('the audit\'s time by sampled leaf function:\n');
    for (const [f, ms] of Object.entries(s.auditLeaves).sort((a, b) => b[1] - a[1]).slice(0, 8)) {
      process.stdout.write(`  ${((100 * ms) / s.busyMs).toFixed(2).padStart(6)}%  ${perCreate(ms).padStart(6)} µs/create  ${f}\n`);
    }
  } finally {
    await lg.close().catch(() => {});
    await side?.server.stop().catch(() => {});
    cleanupAll();
  }
}

process.on('SIGINT', () => {
  cleanupAll();
  process.exit(130);
});
await (opt.profile ? profile() : main());

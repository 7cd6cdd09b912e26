// Test harness: starts a real `rudder server` process (loopback, a free port, a temporary data
// dir) and drives it with the real kubectl and with raw HTTPS requests. Every test that starts a
// server stops it by PID and removes its data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '..');
export const RUDDER = join(ROOT, 'bin', 'rudder');
export const KUBECTL = '/usr/bin/kubectl';
export const kubectlVersion = (minor: number) => `/usr/lib/google-cloud-sdk/bin/kubectl.1.${minor}`;

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = any>(): T;
  text(): string;
}

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  kubeconfig: string;
  proc: ChildProcess;
  /** Runs kubectl (the dispatcher by default) with this server's kubeconfig and a fresh cache. */
  kubectl(args: string[], opts?: { input?: string; binary?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** kubectl that must succeed; returns stdout. */
  k(args: string[], opts?: { input?: string; binary?: string }): Promise<string>;
  /** A raw HTTPS request as the admin. */
  request(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string>; anonymous?: boolean }): Promise<HttpResult>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its data dir unless keepData. */
  stop(opts?: { keepData?: boolean; signal?: NodeJS.Signals }): Promise<void>;
  logs(): string;
  creds: { ca: string; cert: string; key: string };
}

export interface StartOptions {
  datastoreEndpoint?: string;
  extraArgs?: string[];
  dataDir?: string;
}

export async function startServer(o: StartOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'rudder-test-'));
  const args = [
    'server',
    '--data-dir',
    dataDir,
    '--https-listen-port',
    '0',
    '--bind-address',
    '127.0.0.1',
    '--advertise-address',
    '127.0.0.1',
    '--disable-agent',
    ...(o.datastoreEndpoint ? ['--datastore-endpoint', o.datastoreEndpoint] : []),
    ...(o.extraArgs ?? []),
  ];
  const proc = spawn(RUDDER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const started = new Promise<number>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`rudder server did not become ready in 60s:\n${out}`)), 60_000);
    const check = () => {
      const m = /API server ready at https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        res(Number(m[1]));
      }
    };
    proc.stderr!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`rudder server exited with ${code}:\n${out}`));
    });
  });
  let port: number;
  try {
    port = await started;
  } catch (e) {
    // A server that never became ready leaves nothing behind: its process, and the data dir made here.
    if (proc.exitCode === null) proc.kill('SIGKILL');
    if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const kc = parseYaml(readFileSync(kubeconfig, 'utf8'));
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  const creds = {
    ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b64(kc.users[0].user['client-certificate-data']),
    key: b64(kc.users[0].user['client-key-data']),
  };
  const agent = new Agent({ ca: creds.ca, cert: creds.cert, key: creds.key, keepAlive: true });
  const anonAgent = new Agent({ ca: creds.ca, keepAlive: false });
  const home = mkdtempSync(join(tmpdir(), 'rudder-kubectl-'));
  const url = `https://127.0.0.1:${port}`;

  const kubectl = (kargs: string[], ko: { input?: string; binary?: string; timeoutMs?: number } = {}) =>
    new Promise<KubectlResult>((res) => {
      const p = spawn(ko.binary ?? KUBECTL, ['--cache-dir', join(home, 'cache'), ...kargs], {
        env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: kubeconfig },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let so = '';
      let se = '';
      p.stdout.on('data', (c) => (so += c));
      p.stderr.on('data', (c) => (se += c));
      const t = setTimeout(() => p.kill('SIGKILL'), ko.timeoutMs ?? 60_000);
      p.on('close', (code) => {
        clearTimeout(t);
        res({ code: code ?? -1, stdout: so, stderr: se });
      });
      // A program that exits without reading its input closes the pipe first (EPIPE): its exit code says how it went.
      p.stdin.on('error', () => {});
      p.stdin.end(ko.input ?? '');
    });

  const request = (method: string, path: string, ro: { body?: unknown; headers?: Record<string, string>; anonymous?: boolean } = {}) =>
    new Promise<HttpResult>((res, rej) => {
      const body = ro.body === undefined ? undefined : Buffer.isBuffer(ro.body) ? ro.body : typeof ro.body === 'string' ? Buffer.from(ro.body) : Buffer.from(JSON.stringify(ro.body));
      const headers: Record<string, string> = { ...(body && !ro.headers?.['content-type'] ? { 'content-type': 'application/json' } : {}), ...(ro.headers ?? {}) };
      if (body) headers['content-length'] = String(body.length);
      const req = httpsRequest(url + path, { method, headers, agent: ro.anonymous ? anonAgent : agent }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => {
          const b = Buffer.concat(chunks);
          res({
            status: r.statusCode ?? 0,
            headers: r.headers,
            body: b,
            json: () => JSON.parse(b.toString('utf8')),
            text: () => b.toString('utf8'),
          });
        });
        r.on('error', rej);
      });
      req.on('error', rej);
      req.end(body);
    });

  const server: TestServer = {
    url,
    port,
    dataDir,
    kubeconfig,
    proc,
    creds,
    kubectl,
    async k(kargs, ko) {
      const r = await kubectl(kargs, ko);
      if (r.code !== 0) throw new Error(`kubectl ${kargs.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    request,
    logs: () => out,
    async stop(so = {}) {
      agent.destroy();
      anonAgent.destroy();
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill(so.signal ?? 'SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(t);
      }
      rmSync(home, { recursive: true, force: true });
      if (!so.keepData && !o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Polls fn until it returns a truthy value or the timeout passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

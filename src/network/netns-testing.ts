// Network namespaces for tests and benchmarks that need real packets: nodes, pods and clients as
// namespaces this process creates (named rudder-t-<random>-<role>), joined by veth pairs and
// bridges among themselves only. No namespace gets a default route, so nothing can leave the
// machine. Everything created — namespaces and the processes started in them — goes in cleanup().
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { execRunner, mustRun, type Runner } from './exec.ts';

export interface HttpResult {
  ok: boolean;
  /** The response body (the serving endpoint's name and the client address it saw). */
  body?: string;
  /** The error code, e.g. ECONNREFUSED, ETIMEDOUT. */
  code?: string;
  ms: number;
}

/** A small HTTP server: answers "<name> <remote address>" to every request. */
const SERVER_JS = `
const http = require('node:http');
const [name, port] = process.argv.slice(1);
const s = http.createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end(name + ' ' + req.socket.remoteAddress + '\\n'); });
s.keepAliveTimeout = 60000;
s.listen(Number(port), '0.0.0.0', () => process.stdout.write('listening\\n'));
`;

/** A client taking JSON lines {id, host, port, timeoutMs} and answering JSON lines (one new connection each). */
const CLIENT_JS = `
const http = require('node:http');
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const q = JSON.parse(line);
  const t0 = performance.now();
  let done = false;
  const reply = (r) => { if (done) return; done = true; process.stdout.write(JSON.stringify({ id: q.id, ms: performance.now() - t0, ...r }) + '\\n'); };
  const req = http.get({ host: q.host, port: q.port, path: '/', agent: false, timeout: q.timeoutMs }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => reply({ ok: true, body: body.trim() }));
  });
  req.on('timeout', () => { req.destroy(); reply({ ok: false, code: 'ETIMEDOUT' }); });
  req.on('error', (e) => reply({ ok: false, code: e.code || String(e) }));
});
process.stdout.write('ready\\n');
`;

export class HttpClient {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (r: HttpResult) => void>();
  private nextId = 1;

  constructor(child: ChildProcess) {
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') return;
      const r = JSON.parse(line) as HttpResult & { id: number };
      this.waiting.get(r.id)?.(r);
      this.waiting.delete(r.id);
    });
  }

  get(host: string, port: number, timeoutMs = 3000): Promise<HttpResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(JSON.stringify({ id, host, port, timeoutMs }) + '\n');
    });
  }
}

export class TestNet {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly root = execRunner();

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  static create(): TestNet {
    return new TestNet(`rudder-t-${randomBytes(3).toString('hex')}`);
  }

  /** Creates namespace <prefix>-<role> with loopback up; answers its name. */
  async ns(role: string): Promise<string> {
    const name = `${this.prefix}-${role}`;
    await mustRun(this.root, 'ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await mustRun(this.run(name), 'ip', ['link', 'set', 'lo', 'up']);
    return name;
  }

  run(ns: string): Runner {
    return execRunner({ netns: ns });
  }

  /** `ip …` inside ns. */
  ip(ns: string, ...args: string[]): Promise<string> {
    return mustRun(this.run(ns), 'ip', args);
  }

  /** A veth pair between two namespaces, each end up with its address (CIDR form), if given. */
  async veth(a: { ns: string; ifname: string; addr?: string }, b: { ns: string; ifname: string; addr?: string }): Promise<void> {
    await mustRun(this.root, 'ip', ['link', 'add', a.ifname, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
    for (const e of [a, b]) {
      if (e.addr) await this.ip(e.ns, 'addr', 'add', e.addr, 'dev', e.ifname);
      await this.ip(e.ns, 'link', 'set', e.ifname, 'up');
    }
  }

  /** A bridge in ns with an address, as a node's pod bridge (cni0). */
  async bridge(ns: string, name: string, addr: string): Promise<void> {
    await this.ip(ns, 'link', 'add', name, 'type', 'bridge');
    await this.ip(ns, 'addr', 'add', addr, 'dev', name);
    await this.ip(ns, 'link', 'set', name, 'up');
  }

  /**
   * A "pod": namespace <role> with eth0 at addr, its peer a port of the node's bridge in hairpin
   * mode (as the CNI bridge plugin with hairpinMode), and routes to `via` for the given CIDRs.
   */
  async pod(role: string, node: { ns: string; bridge: string; gateway: string }, addr: string, routes: readonly string[]): Promise<string> {
    const ns = await this.ns(role);
    const hostIf = `veth${this.namespaces.length}`;
    await this.veth({ ns, ifname: 'eth0', addr }, { ns: node.ns, ifname: hostIf });
    await this.ip(node.ns, 'link', 'set', hostIf, 'master', node.bridge);
    await mustRun(this.run(node.ns), 'bridge', ['link', 'set', 'dev', hostIf, 'hairpin', 'on']);
    for (const r of routes) await this.ip(ns, 'route', 'add', r, 'via', node.gateway);
    return ns;
  }

  /** Starts a program inside ns; it is killed by cleanup(). */
  spawn(ns: string, cmd: string, args: readonly string[]): ChildProcess {
    const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr!.on('data', () => {});
    this.children.push(child);
    return child;
  }

  /** An HTTP server in ns answering "<name> <client address>"; resolves once it listens. */
  async httpServer(ns: string, name: string, port: number): Promise<ChildProcess> {
    const child = this.spawn(ns, process.execPath, ['-e', SERVER_JS, name, String(port)]);
    await waitForLine(child, 'listening');
    return child;
  }

  /** A client in ns making one new HTTP connection per request. */
  async httpClient(ns: string): Promise<HttpClient> {
    const child = this.spawn(ns, process.execPath, ['-e', CLIENT_JS]);
    await waitForLine(child, 'ready');
    return new HttpClient(child);
  }

  /**
   * The same, synchronously, for a process 'exit' handler (a benchmark killed by a closed pipe or
   * an uncaught error skips its finally blocks).
   */
  cleanupSync(): void {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }

  /** Kills every process started here and deletes every namespace made here. */
  async cleanup(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGKILL');
        await exited;
      }
    }
    this.children.length = 0;
    for (const ns of this.namespaces.splice(0).reverse()) await this.root('ip', ['netns', 'delete', ns]);
  }
}

function waitForLine(child: ChildProcess, want: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (b: Buffer) => {
      seen += b.toString('utf8');
      if (!seen.split('\n').includes(want)) return;
      done();
      resolve();
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`exited with ${code} before "${want}"`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no "${want}" from ${child.spawnargs.join(' ').slice(0, 80)}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

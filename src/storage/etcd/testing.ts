// Test harness: runs real etcd processes (Debian's etcd-server, /usr/bin/etcd) on free loopback
// ports with temporary data directories, for the storage tests, API server integration tests and
// benchmarks. Never touches the system service, its ports or its data.
//
//   const etcd = await startEtcd({ members: 3 });
//   ... EtcdStore.open(etcd.endpoints) ...
//   etcd.kill(1);          // SIGKILL one member by PID
//   await etcd.stop();     // kill every member and delete the data directories
//
// Members are killed by PID on stop(), and also when the test process exits without stop().

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_VALUE_BYTES } from '../store.ts';

export interface EtcdCluster {
  /** Client URLs, one per member, e.g. http://127.0.0.1:41234. */
  readonly endpoints: string[];
  /** `openStore` URL for all members: endpoints joined with commas. */
  readonly url: string;
  /** The member processes' PIDs (for strace and the like). */
  readonly pids: number[];
  /** With tls: the CA and a client certificate the members accept. */
  readonly tls?: { caFile: string; certFile: string; keyFile: string };
  /** SIGKILLs member i (no-op if it is already dead) and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** Kills every member and removes the data directories. Idempotent. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  members?: number;
  /** etcd binary; default /usr/bin/etcd or ETCD_BIN. */
  bin?: string;
  /** Milliseconds to wait for the cluster to become healthy. Default 20 s. */
  startTimeoutMs?: number;
  /** Serve clients over https with a fresh CA and require client certificates (uses openssl). */
  tls?: boolean;
}

interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  serverCert: string;
  serverKey: string;
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl. */
function makeCertificates(dir: string): TlsFiles {
  const f = (n: string) => join(dir, n);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (out: string) => ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out);
  key(f('ca.key'));
  ossl('req', '-x509', '-new', '-key', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=rudder-test-etcd-ca');
  const issue = (name: string, cn: string, ext: string) => {
    key(f(`${name}.key`));
    ossl('req', '-new', '-key', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(f(`${name}.ext`), ext);
    ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`));
  };
  issue('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  issue('client', 'rudder', 'extendedKeyUsage=clientAuth\n');
  return { caFile: f('ca.crt'), certFile: f('client.crt'), keyFile: f('client.key'), serverCert: f('server.crt'), serverKey: f('server.key') };
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function etcdBinary(): string | undefined {
  const bin = process.env.ETCD_BIN ?? '/usr/bin/etcd';
  return existsSync(bin) ? bin : undefined;
}

async function freePorts(n: number): Promise<number[]> {
  // Hold all listeners open until every port is chosen so the same port is not handed out twice.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

async function healthy(clientUrl: string, tls: TlsFiles | undefined): Promise<boolean> {
  const get = tls ? httpsGet : httpGet;
  return new Promise((resolve) => {
    const req = get(
      `${clientUrl}/health`,
      { timeout: 1000, ...(tls ? { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : {}) },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: string }).health === 'true');
          } catch {
            resolve(false);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const members = opts.members ?? 1;
  const bin = opts.bin ?? etcdBinary();
  if (!bin) throw new Error('etcd is not installed (apt-get install etcd-server), or set ETCD_BIN');
  const dir = await mkdtemp(join(tmpdir(), 'rudder-etcd-'));
  const ports = await freePorts(members * 2);
  const names = Array.from({ length: members }, (_, i) => `m${i}`);
  let tls: TlsFiles | undefined;
  try {
    tls = opts.tls ? makeCertificates(dir) : undefined;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot make test certificates with openssl: ${(e as Error).message}`);
  }
  const clientUrls = names.map((_, i) => `${tls ? 'https' : 'http'}://127.0.0.1:${ports[2 * i]}`);
  const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[2 * i + 1]}`);
  const initialCluster = names.map((n, i) => `${n}=${peerUrls[i]}`).join(',');
  const procs: ChildProcess[] = [];
  const logs: string[][] = names.map(() => []);
  const exited: Promise<void>[] = [];
  for (let i = 0; i < members; i++) {
    const args = [
      `--name=${names[i]}`,
      `--data-dir=${join(dir, names[i])}`,
      `--listen-client-urls=${clientUrls[i]}`,
      `--advertise-client-urls=${clientUrls[i]}`,
      `--listen-peer-urls=${peerUrls[i]}`,
      `--initial-advertise-peer-urls=${peerUrls[i]}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=rudder-test-${process.pid}-${ports[0]}`,
      // Room for a value of MAX_VALUE_BYTES plus its key and the request's framing.
      `--max-request-bytes=${MAX_VALUE_BYTES + 512 * 1024}`,
      // Fast elections so tests that kill a member recover in about a second.
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=warn',
    ];
    if (tls) {
      args.push(`--cert-file=${tls.serverCert}`, `--key-file=${tls.serverKey}`, `--trusted-ca-file=${tls.caFile}`, '--client-cert-auth');
    }
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const keep = (d: Buffer) => {
      const log = logs[i];
      log.push(d.toString());
      if (log.length > 200) log.splice(0, log.length - 200);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    exited.push(
      new Promise<void>((resolve) => {
        child.once('exit', () => {
          live.delete(child);
          resolve();
        });
        child.once('error', (e) => {
          logs[i].push(String(e));
          live.delete(child);
          resolve();
        });
      }),
    );
    procs.push(child);
  }

  let stopped = false;
  const kill = async (i: number): Promise<void> => {
    const c = procs[i];
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await exited[i];
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(procs.map((_, i) => kill(i)));
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  try {
    for (;;) {
      const dead = procs.findIndex((c) => c.exitCode !== null || c.signalCode !== null);
      if (dead >= 0) throw new Error(`etcd member ${names[dead]} exited during startup:\n${logs[dead].join('').slice(-2000)}`);
      const ok = await Promise.all(clientUrls.map((u) => healthy(u, tls)));
      if (ok.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`etcd did not become healthy in time:\n${logs.map((l) => l.join('').slice(-1000)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    endpoints: clientUrls,
    url: clientUrls.join(','),
    pids: procs.map((c) => c.pid!),
    tls: tls && { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile },
    kill,
    stop,
  };
}

// Test support: TCP connections opened inside another network namespace.
//
// A test node's containerd serves its stream URLs on 127.0.0.1 of the node's namespace, while the
// test's kubelet server runs in the root namespace (where the API server can reach it). A Node
// process cannot switch namespaces itself, so one helper process is started inside the namespace
// (nsenter --net) and listens on a unix socket — a filesystem object, reachable from any namespace.
// Each connection to it names its target in a first line ("<host> <port>\n"); the helper answers
// "ok\n" once connected (or "error <message>\n") and then relays bytes both ways.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as unixConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

const HELPER = `
const net = require('node:net');
const path = process.argv[1];
const srv = net.createServer((c) => {
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    const nl = buf.indexOf(10);
    if (nl < 0) return;
    c.off('data', onData);
    const [host, port] = buf.subarray(0, nl).toString().trim().split(' ');
    const rest = buf.subarray(nl + 1);
    const t = net.connect(Number(port), host);
    t.once('connect', () => {
      c.write('ok\\n');
      if (rest.length) t.write(rest);
      c.pipe(t); t.pipe(c);
    });
    // Ends travel through the pipes (a half-close flushes what is still buffered); only errors cut.
    t.on('error', (e) => { if (!t.connecting) { c.destroy(); return; } c.end('error ' + e.message + '\\n'); });
    c.on('error', () => t.destroy());
    c.on('close', () => t.destroy());
  };
  c.on('data', onData);
});
srv.listen(path, () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface NetnsConnector {
  connect(host: string, port: number): Promise<Duplex>;
  close(): void;
}

/** Starts the helper inside the namespace at netnsPath (e.g. /run/netns/x); needs root. */
export async function netnsConnector(netnsPath: string): Promise<NetnsConnector> {
  const dir = mkdtempSync(join(tmpdir(), 'rudder-netns-'));
  const sock = join(dir, 'relay.sock');
  const child: ChildProcess = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', HELPER, sock], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`netns relay exited with ${code}`)));
    child.once('error', reject);
  });
  return {
    connect: (host, port) =>
      new Promise<Duplex>((resolve, reject) => {
        const s: Socket = unixConnect(sock);
        s.once('error', reject);
        s.once('connect', () => s.write(`${host} ${port}\n`));
        // The answer line is read in paused mode ('readable'), so no byte after it can flow away
        // before the caller attaches its reader; removing the listener leaves the socket unpaused.
        let line = Buffer.alloc(0);
        const onReadable = () => {
          let chunk: Buffer | null;
          while ((chunk = s.read() as Buffer | null) !== null) {
            line = Buffer.concat([line, chunk]);
            const nl = line.indexOf(10);
            if (nl < 0) continue;
            s.off('readable', onReadable);
            const answer = line.subarray(0, nl).toString();
            const rest = line.subarray(nl + 1);
            if (answer !== 'ok') {
              s.destroy();
              reject(new Error(answer.replace(/^error /, '')));
              return;
            }
            s.off('error', reject);
            if (rest.length) s.unshift(rest);
            resolve(s);
            return;
          }
        };
        s.on('readable', onReadable);
      }),
    close: () => {
      child.stdin!.end();
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

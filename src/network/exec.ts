// Running the kernel's configuration tools (iproute2's `ip`, `nft`, `sysctl` files) from Node.
// Node has no netlink sockets, so the network and the proxy speak to the kernel through these
// programs; a Runner is the one seam tests and benchmarks replace or point into a namespace.
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never rejects for a non-zero exit (the caller reads `code`). */
export type Runner = (cmd: string, args: readonly string[], input?: string) => Promise<RunResult>;

export class CommandError extends Error {
  readonly result: RunResult;
  constructor(what: string, result: RunResult) {
    super(`${what}: exit ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.result = result;
  }
}

/**
 * The machine's runner. With `netns`, every program runs inside /run/netns/<netns> through
 * nsenter (not `ip netns exec`, which remounts /sys).
 */
export function execRunner(opts: { netns?: string } = {}): Runner {
  return (cmd, args, input) =>
    new Promise((resolve, reject) => {
      const argv = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, '--', cmd, ...args] : [cmd, ...args];
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
      child.stdin.on('error', () => {}); // a program that exits without reading its input is reported by its exit code
      child.stdin.end(input ?? '');
    });
}

/** Runs and requires exit 0; answers stdout. */
export async function mustRun(run: Runner, cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw new CommandError(`${cmd} ${args.join(' ')}`, r);
  return r.stdout;
}

/**
 * Sets a sysctl by its /proc/sys path (e.g. "net/ipv4/ip_forward") when it differs; answers
 * whether it wrote. Goes through the runner (`cat`, `sh -c`) so that it lands in the runner's
 * namespace, not this process's.
 */
export async function ensureSysctl(run: Runner, key: string, value: string): Promise<boolean> {
  if (!/^[a-z0-9_/.-]+$/.test(key) || !/^[0-9]+$/.test(value)) throw new Error(`bad sysctl ${key}=${value}`);
  const path = `/proc/sys/${key}`;
  const cur = (await mustRun(run, 'cat', [path])).trim();
  if (cur === value) return false;
  await mustRun(run, 'sh', ['-c', `echo ${value} > ${path}`]);
  return true;
}

// Test and benchmark support: a real containerd in a network namespace the caller owns, with the
// test images imported, and a cleanup that leaves nothing behind (sandboxes, containerd and its
// shims, mounts under the data dir, cgroups, the namespace, the data dir), even after a failure.
//
// Network safety (DESIGN.md §8): the namespace has only loopback (no default route, no link out),
// and the pods' bridge lives inside it, so nothing a test runs can send a packet off the machine.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CriClient } from '../cri/client.ts';
import { Containerd, importImage } from './containerd.ts';
import { writeCniConfig } from './cni.ts';

export const TEST_IMAGES = {
  pause: 'registry.k8s.io/pause:3.10',
  busybox: 'docker.io/library/busybox:1.36',
  testserver: 'registry.rudder.test/testserver:1',
} as const;

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Builds the test images if needed (fast when up to date) and returns their tarballs. */
export function testImageTarballs(): string[] {
  const dir = process.env.RUDDER_IMAGES_DIR ?? join(repoRoot, 'build', 'images');
  execFileSync(join(repoRoot, 'scripts', 'images', 'build.sh'), { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUDDER_IMAGES_DIR: dir } });
  return ['pause.tar', 'busybox.tar', 'testserver.tar'].map((f) => join(dir, f));
}

/** Why the real-runtime tests cannot run here, or undefined. */
export function realRuntimeProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'these tests start containerd and need root';
  return undefined;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Creates a network namespace with loopback up and nothing else. */
export function createNetns(prefix = 'rudder-t'): { name: string; path: string; remove: () => void } {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  sh('ip', ['netns', 'add', name]);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return {
    name,
    path: `/run/netns/${name}`,
    remove: () => {
      try {
        sh('ip', ['netns', 'del', name]);
      } catch {
        // already gone
      }
    },
  };
}

/** Mount points at or below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const path = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (path === dir || path.startsWith(dir + '/')) out.push(path);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Pids of processes whose command line contains every one of the given arguments. */
export function pidsWithArgs(...args: string[]): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (args.every((a) => argv.includes(a))) pids.push(Number(d));
  }
  return pids;
}

/** Removes a cgroup tree named `name` (at the top of each hierarchy), deepest first. */
export function removeCgroupTree(name: string): void {
  if (!existsSync('/sys/fs/cgroup')) return;
  const roots = readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h));
  roots.push('/sys/fs/cgroup');
  for (const root of roots) {
    const top = join(root, name);
    if (!existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string): void => {
      dirs.push(d);
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    };
    try {
      walk(top);
    } catch {
      continue;
    }
    for (const d of dirs.sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(d);
      } catch {
        // still has processes or already removed
      }
    }
  }
}

export interface TestNode {
  netns: string;
  netnsPath: string;
  dir: string;
  endpoint: string;
  podCidr: string;
  /** A cgroup parent unique to this node, for sandboxes' linux.cgroup_parent (removed at cleanup). */
  cgroupRoot: string;
  containerd: Containerd;
  cleanup(): Promise<void>;
}

/**
 * Starts containerd in a fresh network namespace with a CNI bridge for podCidr (inside the namespace,
 * so any private range is safe) and imports the test images. Call cleanup() in a finally/after hook.
 */
export async function startTestNode(o: { podCidr?: string } = {}): Promise<TestNode> {
  const problem = realRuntimeProblem();
  if (problem) throw new Error(problem);
  const tarballs = testImageTarballs();
  const ns = createNetns();
  const dir = mkdtempSync('/tmp/rudder-t-');
  const podCidr = o.podCidr ?? '10.244.0.0/24';
  const cgroupRoot = `rudder-t-${randomBytes(4).toString('hex')}`;
  const cniConfDir = join(dir, 'cni', 'net.d');
  writeCniConfig(cniConfDir, { podCidr, ipamDataDir: join(dir, 'cni', 'networks') });
  const containerd = new Containerd({ dir: join(dir, 'containerd'), cniConfDir, netns: ns.path });
  const node: TestNode = {
    netns: ns.name,
    netnsPath: ns.path,
    dir,
    endpoint: containerd.endpoint,
    podCidr,
    cgroupRoot: `/${cgroupRoot}`,
    containerd,
    cleanup: async () => {
      const errors: string[] = [];
      const step = async (what: string, f: () => unknown): Promise<void> => {
        try {
          await f();
        } catch (e) {
          errors.push(`${what}: ${(e as Error).message}`);
        }
      };
      if (existsSync(containerd.paths.socket)) {
        await step('removing sandboxes', async () => {
          const probe = new CriClient(containerd.endpoint, { timeoutMs: 2000 });
          const up = await probe.version().then(() => true, () => false);
          probe.close();
          if (!up) return; // stopped on purpose, or dead: the steps below clean up without it
          const c = new CriClient(containerd.endpoint, { timeoutMs: 20_000 });
          try {
            for (const s of await c.listPodSandbox()) {
              await c.stopPodSandbox(s.id).catch(() => undefined);
              await c.removePodSandbox(s.id).catch(() => undefined);
            }
          } finally {
            c.close();
          }
        });
      }
      await step('stopping containerd', () => containerd.stop());
      // Whatever outlived containerd: shims (found by our socket in their arguments), then runc's
      // record of containers under our state dir.
      await step('killing shims', () => {
        for (const pid of pidsWithArgs('-address', containerd.paths.socket)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      });
      const runcRoot = join(containerd.paths.state, 'runc', 'k8s.io');
      if (existsSync(runcRoot)) {
        await step('deleting runc containers', () => {
          for (const id of readdirSync(runcRoot)) {
            try {
              sh('runc', ['--root', runcRoot, 'delete', '--force', id]);
            } catch {
              // already gone
            }
          }
        });
      }
      await step('unmounting', () => {
        for (const mp of mountsUnder(dir)) {
          try {
            sh('umount', [mp]);
          } catch {
            sh('umount', ['-l', mp]);
          }
        }
      });
      await step('removing cgroups', () => removeCgroupTree(cgroupRoot));
      await step('removing the network namespace', () => ns.remove());
      await step('removing the data dir', () => {
        if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
        else throw new Error(`mounts remain under ${dir}`);
      });
      if (errors.length) throw new Error(`test node cleanup: ${errors.join('; ')}`);
    },
  };
  try {
    await containerd.start();
    for (const t of tarballs) await importImage(containerd.paths.socket, t);
  } catch (e) {
    await node.cleanup().catch(() => undefined);
    throw e;
  }
  return node;
}

/** The size of a file, or 0 when it does not exist (for log assertions). */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

// Mounting memory-backed directories: secret and projected volumes and emptyDir with medium Memory
// live on tmpfs, so their contents never touch a disk. The system mounter needs root (it runs
// mount(8), through one long-lived shell: command-shell.ts says why); NoTmpfsMounter is for tests
// and hollow nodes, and says so in every failure.
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CommandShell } from './command-shell.ts';

export interface Mounter {
  /** Mounts a tmpfs on dir (which exists), limited to sizeBytes when given. */
  mountTmpfs(dir: string, sizeBytes?: bigint): Promise<void>;
  /** Unmounts dir; no error when it is not a mount point. */
  unmount(dir: string): Promise<void>;
  /** Whether dir is a mount point. */
  isMountPoint(dir: string): Promise<boolean>;
}

/**
 * Whether dir is the root of a mount of another filesystem than its parent's: its device differs
 * (or it is its parent, "/"). Every mount this mounter makes is a tmpfs, always another device, so
 * this is exact for them; a bind mount within one filesystem would not be seen. A stat of the two
 * directories instead of parsing /proc/self/mountinfo, whose size grows with every container's
 * and every pod's mounts: reading it synchronously on each volume was a third of an agent's busy
 * time while pods started.
 */
async function isOwnMount(dir: string): Promise<boolean> {
  const parent = dirname(dir);
  const [d, p] = await Promise.all([stat(dir).catch(() => undefined), stat(parent).catch(() => undefined)]);
  if (!d || !p) return false;
  return d.dev !== p.dev || d.ino === p.ino;
}

export class SystemMounter implements Mounter {
  readonly #shell = new CommandShell();

  /** Runs the command; throws `<what> failed: <its output>` unless it exits 0. */
  async #run(what: string, argv: string[]): Promise<void> {
    const r = await this.#shell.run(argv);
    if (r.code !== 0) throw new Error(`${what} failed: ${r.output.trim() || `exit status ${r.code}`}`);
  }

  async mountTmpfs(dir: string, sizeBytes?: bigint): Promise<void> {
    if (await isOwnMount(dir)) return;
    const opts = sizeBytes && sizeBytes > 0n ? ['-o', `size=${sizeBytes}`] : [];
    await this.#run('mount', ['mount', '-t', 'tmpfs', ...opts, 'tmpfs', dir]);
  }
  async unmount(dir: string): Promise<void> {
    if (!(await isOwnMount(dir))) return;
    try {
      await this.#run('umount', ['umount', dir]);
    } catch {
      await this.#run('umount', ['umount', '-l', dir]);
    }
  }
  async isMountPoint(dir: string): Promise<boolean> {
    return isOwnMount(dir);
  }
}

/**
 * A mounter without tmpfs, for tests that cannot mount: memory-backed volumes are plain directories.
 * Never use it where real secrets are: it is the one place they would reach a disk.
 */
export class NoTmpfsMounter implements Mounter {
  readonly mounted = new Set<string>();
  async mountTmpfs(dir: string): Promise<void> {
    this.mounted.add(dir);
  }
  async unmount(dir: string): Promise<void> {
    this.mounted.delete(dir);
  }
  async isMountPoint(dir: string): Promise<boolean> {
    return this.mounted.has(dir);
  }
}

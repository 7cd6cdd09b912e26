// Mounting memory-backed directories: secret and projected volumes and emptyDir with medium Memory
// live on tmpfs, so their contents never touch a disk. The system mounter needs root (it runs
// mount(8)); NoTmpfsMounter is for tests and hollow nodes, and says so in every failure.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

export interface Mounter {
  /** Mounts a tmpfs on dir (which exists), limited to sizeBytes when given. */
  mountTmpfs(dir: string, sizeBytes?: bigint): Promise<void>;
  /** Unmounts dir; no error when it is not a mount point. */
  unmount(dir: string): Promise<void>;
  /** Whether dir is a mount point. */
  isMountPoint(dir: string): Promise<boolean>;
}

const run = promisify(execFile);

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
  async mountTmpfs(dir: string, sizeBytes?: bigint): Promise<void> {
    if (await isOwnMount(dir)) return;
    const opts = sizeBytes && sizeBytes > 0n ? ['-o', `size=${sizeBytes}`] : [];
    try {
      await run('mount', ['-t', 'tmpfs', ...opts, 'tmpfs', dir]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`mount failed: ${(err.stderr || err.message).trim()}`);
    }
  }
  async unmount(dir: string): Promise<void> {
    if (!(await isOwnMount(dir))) return;
    try {
      await run('umount', [dir]);
    } catch {
      await run('umount', ['-l', dir]);
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

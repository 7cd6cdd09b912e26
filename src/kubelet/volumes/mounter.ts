// Mounting memory-backed directories: secret and projected volumes and emptyDir with medium Memory
// live on tmpfs, so their contents never touch a disk. The system mounter needs root (it runs
// mount(8)); NoTmpfsMounter is for tests and hollow nodes, and says so in every failure.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

function mountPoints(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp) out.add(mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
  }
  return out;
}

export class SystemMounter implements Mounter {
  async mountTmpfs(dir: string, sizeBytes?: bigint): Promise<void> {
    if (mountPoints().has(dir)) return;
    const opts = sizeBytes && sizeBytes > 0n ? ['-o', `size=${sizeBytes}`] : [];
    try {
      await run('mount', ['-t', 'tmpfs', ...opts, 'tmpfs', dir]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`mount failed: ${(err.stderr || err.message).trim()}`);
    }
  }
  async unmount(dir: string): Promise<void> {
    if (!mountPoints().has(dir)) return;
    try {
      await run('umount', [dir]);
    } catch {
      await run('umount', ['-l', dir]);
    }
  }
  async isMountPoint(dir: string): Promise<boolean> {
    return mountPoints().has(dir);
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

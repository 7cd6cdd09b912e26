// The system mounter for real (root): a tmpfs on a temporary directory, seen as a mount point
// until it is unmounted; mounting twice and unmounting a plain directory change nothing.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SystemMounter } from './mounter.ts';

const mountedIn = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === dir).length;

describe('the system mounter (root)', () => {
  let base: string;
  const m = new SystemMounter();
  before(() => (base = mkdtempSync(join(tmpdir(), 'rudder-mounter-'))));
  after(async () => {
    await m.unmount(join(base, 'vol')).catch(() => {});
    rmSync(base, { recursive: true, force: true });
  });

  it('mounts a tmpfs once, reports the mount point, and unmounts it', async () => {
    const dir = join(base, 'vol');
    mkdirSync(dir);
    assert.equal(await m.isMountPoint(dir), false);
    await m.mountTmpfs(dir, 1024n * 1024n);
    await m.mountTmpfs(dir, 1024n * 1024n);
    assert.equal(mountedIn(dir), 1, 'a second mountTmpfs must not stack another tmpfs');
    assert.equal(await m.isMountPoint(dir), true);
    writeFileSync(join(dir, 'secret'), 'x');
    await m.unmount(dir);
    assert.equal(mountedIn(dir), 0);
    assert.equal(await m.isMountPoint(dir), false);
    // What was written lived on the tmpfs only.
    assert.throws(() => readFileSync(join(dir, 'secret')), /ENOENT/);
  });

  it("a mount that fails says why, in mount's own words", async () => {
    await assert.rejects(m.mountTmpfs(join(base, 'no-such-dir')), /^Error: mount failed: mount: .*no-such-dir/);
  });

  it('unmounting a directory that is not a mount point, or does not exist, is no error', async () => {
    const plain = join(base, 'plain');
    mkdirSync(plain);
    await m.unmount(plain);
    await m.unmount(join(base, 'missing'));
    assert.equal(await m.isMountPoint(join(base, 'missing')), false);
  });
});

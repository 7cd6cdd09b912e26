// Writes a volume's files so that a container never sees half an update (upstream's AtomicWriter,
// pkg/volume/util/atomic_writer.go): the files go into a fresh timestamped directory, the `..data`
// symlink is swapped to it with one rename, and each user-visible top-level name is a symlink into
// `..data`. Readers following `<dir>/key` see the old set or the new set, never a mix.
import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface FileProjection {
  data: Buffer;
  /** File mode (e.g. 0o644). */
  mode: number;
  /** Owner uid/gid to set (fsGroup, projected tokens); -1 or undefined leaves it. */
  uid?: number;
  gid?: number;
}

export type Payload = Map<string, FileProjection>;

const DATA_DIR = '..data';
const DATA_DIR_TMP = '..data_tmp';

/** Checks a payload path as upstream's validatePath does. */
export function validatePayloadPath(p: string): string | undefined {
  if (p === '') return 'invalid path: must not be empty';
  if (p.startsWith('/')) return `invalid path: must be relative path: ${p}`;
  if (p.length > 4096) return `invalid path: must be less than or equal to 4096 characters`;
  const parts = p.split('/');
  for (const part of parts) {
    if (part === '..') return `invalid path: must not contain '..': ${p}`;
    if (part.length > 255) return `invalid path: must not contain a segment longer than 255 characters`;
  }
  if (parts[0].startsWith('..')) return `invalid path: must not start with '..': ${p}`;
  return undefined;
}

function timestampDirName(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ts = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${ts}.${randomBytes(5).readUInt32BE(0) % 10_000_000_000}`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Whether the files under `..data` are exactly the payload (contents and modes). */
async function sameAsCurrent(dir: string, payload: Payload): Promise<boolean> {
  let target: string;
  try {
    target = await readlink(join(dir, DATA_DIR));
  } catch {
    return false;
  }
  const base = join(dir, target);
  const current = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(base, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else current.add(r);
    }
  };
  try {
    await walk('');
  } catch {
    return false;
  }
  if (current.size !== payload.size) return false;
  for (const [p, f] of payload) {
    if (!current.has(p)) return false;
    try {
      const st = await lstat(join(base, p));
      if ((st.mode & 0o7777) !== f.mode) return false;
      if (!(await readFile(join(base, p))).equals(f.data)) return false;
    } catch {
      return false;
    }
  }
  // The user-visible links must exist too.
  for (const top of topLevel(payload)) if (!(await exists(join(dir, top)))) return false;
  return true;
}

function topLevel(payload: Payload): Set<string> {
  return new Set([...payload.keys()].map((p) => p.split('/')[0]));
}

/**
 * Makes `dir` hold exactly the payload. Answers whether anything changed. Throws on an invalid
 * path (nothing is written then).
 */
export async function writeAtomic(dir: string, payload: Payload, now: Date = new Date()): Promise<boolean> {
  for (const p of payload.keys()) {
    const err = validatePayloadPath(p);
    if (err) throw new Error(err);
  }
  await mkdir(dir, { recursive: true });
  if (await sameAsCurrent(dir, payload)) return false;
  let oldTs: string | undefined;
  try {
    oldTs = await readlink(join(dir, DATA_DIR));
  } catch {
    // first write
  }
  const tsName = timestampDirName(now);
  const tsDir = join(dir, tsName);
  await mkdir(tsDir, { mode: 0o755 });
  await chmod(tsDir, 0o755);
  for (const [p, f] of payload) {
    const file = join(tsDir, p);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, f.data, { mode: f.mode });
    await chmod(file, f.mode);
    if ((f.uid ?? -1) >= 0 || (f.gid ?? -1) >= 0) await chown(file, f.uid ?? -1, f.gid ?? -1);
  }
  const tmpLink = join(dir, DATA_DIR_TMP);
  await rm(tmpLink, { force: true });
  await symlink(tsName, tmpLink);
  await rename(tmpLink, join(dir, DATA_DIR));
  const wanted = topLevel(payload);
  for (const top of wanted) {
    const link = join(dir, top);
    let ok = false;
    try {
      ok = (await readlink(link)) === join(DATA_DIR, top);
    } catch {
      // missing, or not a link
    }
    if (!ok) {
      await rm(link, { recursive: true, force: true });
      await symlink(join(DATA_DIR, top), link);
    }
  }
  for (const e of await readdir(dir)) {
    if (e.startsWith('..')) {
      if (e !== DATA_DIR && e !== tsName) await rm(join(dir, e), { recursive: true, force: true });
      continue;
    }
    if (!wanted.has(e)) await rm(join(dir, e), { recursive: true, force: true });
  }
  if (oldTs && oldTs !== tsName) await rm(join(dir, oldTs), { recursive: true, force: true });
  return true;
}

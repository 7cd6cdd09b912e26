// Pushes OCI image-layout tarballs (scripts/images/build.sh) to a registry over the Distribution
// API: every blob with a monolithic upload, then the manifest under its tag. An image named
// `<registry host>/<repository>:<tag>` is pushed as `<repository>:<tag>`, so a mirror of that host
// serves it (docker.io/library/busybox:1.36 → library/busybox:1.36).
//
// Run inside the network namespace the registry listens in:
//   nsenter --net=/run/netns/<ns> node push-images.ts http://HOST:PORT FILE.tar…
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** `docker.io/library/busybox:1.36` → { repository: 'library/busybox', tag: '1.36' }. */
export function repositoryOf(image: string): { repository: string; tag: string } {
  const slash = image.indexOf('/');
  const rest = slash > 0 && /[.:]|^localhost$/.test(image.slice(0, slash)) ? image.slice(slash + 1) : image;
  const colon = rest.lastIndexOf(':');
  return colon > rest.lastIndexOf('/') ? { repository: rest.slice(0, colon), tag: rest.slice(colon + 1) } : { repository: rest, tag: 'latest' };
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 200 || r.status === 401) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`registry at ${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function pushBlob(url: string, repository: string, dir: string, d: Descriptor): Promise<void> {
  const head = await fetch(`${url}/v2/${repository}/blobs/${d.digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`starting an upload to ${repository}: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location')!, url);
  location.searchParams.set('digest', d.digest);
  const body = readFileSync(join(dir, 'blobs', ...d.digest.split(':')));
  const put = await fetch(location, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) } });
  if (put.status !== 201) throw new Error(`uploading ${d.digest} to ${repository}: ${put.status} ${await put.text()}`);
}

/** Pushes one tarball; answers the images pushed. */
export async function pushTarball(url: string, file: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rudder-push-'));
  try {
    execFileSync('tar', ['-xf', file, '-C', dir]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    const pushed: string[] = [];
    for (const m of index.manifests) {
      const name = m.annotations?.['io.containerd.image.name'];
      if (!name) continue;
      const { repository, tag } = repositoryOf(name);
      const manifestBytes = readFileSync(join(dir, 'blobs', ...m.digest.split(':')));
      const manifest = JSON.parse(manifestBytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
      for (const b of [manifest.config, ...manifest.layers]) await pushBlob(url, repository, dir, b);
      const put = await fetch(`${url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', body: manifestBytes, headers: { 'content-type': m.mediaType } });
      if (put.status !== 201) throw new Error(`putting the manifest of ${name}: ${put.status} ${await put.text()}`);
      pushed.push(`${repository}:${tag}`);
    }
    return pushed;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const [url, ...files] = process.argv.slice(2);
  if (!url || files.length === 0) {
    console.error('usage: push-images.ts http://HOST:PORT FILE.tar…');
    process.exit(2);
  }
  await waitFor(url, 30_000);
  for (const f of files) for (const i of await pushTarball(url, f)) console.log(`pushed ${i}`);
}

// Making sure a container's image is there (upstream's pkg/kubelet/images image_manager.go, 1.33):
// the pull policy decides whether a local image will do (asked with ImageStatus first, because
// containerd's PullImage contacts the registry even for a present image); pulls use the pod's
// imagePullSecrets for the image's registry; a failed pull backs off per pod and image (10 s
// doubling to 5 min), reported as ErrImagePull then ImagePullBackOff. Events and messages are
// upstream's: Pulling, Pulled, Failed, BackOff, ErrImageNeverPull.
import type { Container, Pod, Secret } from './api-types.ts';
import { Backoff, goDuration } from './backoff.ts';
import { isRuntimeError, type AuthConfig, type Image, type PodSandboxConfig, type Runtime } from './runtime/runtime.ts';

export type ImageErrorReason = 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName' | 'ImageInspectError' | 'RegistryUnavailable';

export class ImageError extends Error {
  readonly reason: ImageErrorReason;
  constructor(reason: ImageErrorReason, message: string) {
    super(message);
    this.name = 'ImageError';
    this.reason = reason;
  }
}

export interface ImageEvents {
  (type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** Splits an image reference into repository, tag and digest (docker's reference grammar, loosely). */
export function parseImageRef(image: string): { repo: string; tag: string; digest: string } {
  let rest = image;
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = '';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repo: rest, tag, digest };
}

/** upstream's applyDefaultImageTag: an image without tag or digest gets ":latest". */
export function applyDefaultImageTag(image: string): string {
  const { tag, digest } = parseImageRef(image);
  if (!tag && !digest) return `${image}:latest`;
  return image;
}

/** The registry host of an image reference, as docker normalizes it ("docker.io" for short names). */
export function registryOf(image: string): string {
  const { repo } = parseImageRef(image);
  const slash = repo.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = repo.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return first;
  return 'docker.io';
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

function normalizeRegistryKey(k: string): string {
  let s = k.replace(/^[a-z]+:\/\//, '');
  s = s.replace(/\/v[12]\/?$/, '').replace(/\/+$/, '');
  const host = s.split('/')[0];
  if (DOCKER_HUB.has(host)) return 'docker.io' + s.slice(host.length);
  return s;
}

interface DockerAuth {
  username?: string;
  password?: string;
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/**
 * The credentials for an image from the pod's pull secrets (kubernetes.io/dockerconfigjson and
 * kubernetes.io/dockercfg), matched by registry host and the longest path prefix of the repository.
 */
export function credentialsFor(image: string, secrets: readonly Secret[]): AuthConfig | undefined {
  const { repo } = parseImageRef(image);
  const host = registryOf(image);
  const path = repo.includes('/') && host !== 'docker.io' ? repo : repo.startsWith('docker.io/') ? repo : `docker.io/${repo.includes('/') ? repo : `library/${repo}`}`;
  let best: { len: number; auth: AuthConfig } | undefined;
  for (const s of secrets) {
    let auths: Record<string, DockerAuth> | undefined;
    try {
      if (s.type === 'kubernetes.io/dockerconfigjson' && s.data?.['.dockerconfigjson']) {
        auths = (JSON.parse(Buffer.from(s.data['.dockerconfigjson'], 'base64').toString('utf8')) as { auths?: Record<string, DockerAuth> }).auths;
      } else if (s.type === 'kubernetes.io/dockercfg' && s.data?.['.dockercfg']) {
        auths = JSON.parse(Buffer.from(s.data['.dockercfg'], 'base64').toString('utf8')) as Record<string, DockerAuth>;
      }
    } catch {
      continue;
    }
    for (const [k, a] of Object.entries(auths ?? {})) {
      const key = normalizeRegistryKey(k);
      const keyHost = key.split('/')[0];
      if (keyHost !== host) continue;
      if (key !== keyHost && !(path === key || path.startsWith(`${key}/`))) continue;
      if (best && best.len >= key.length) continue;
      let { username, password } = a;
      if ((!username || !password) && a.auth) {
        const dec = Buffer.from(a.auth, 'base64').toString('utf8');
        const i = dec.indexOf(':');
        if (i >= 0) {
          username = dec.slice(0, i);
          password = dec.slice(i + 1);
        }
      }
      const auth: AuthConfig = { server_address: keyHost };
      if (username) auth.username = username;
      if (password) auth.password = password;
      if (a.identitytoken) auth.identity_token = a.identitytoken;
      if (a.registrytoken) auth.registry_token = a.registrytoken;
      best = { len: key.length, auth };
    }
  }
  return best?.auth;
}

export interface EnsureImageOptions {
  pod: Pod;
  container: Container;
  pullSecrets: readonly Secret[];
  sandboxConfig?: PodSandboxConfig;
  event: ImageEvents;
}

export interface ImageInfo {
  /** What to create the container from (the image's id). */
  imageRef: string;
  uid?: number;
  username?: string;
}

export class ImageManager {
  readonly #runtime: Runtime;
  readonly #backoff: Backoff;
  readonly #now: () => number;
  readonly #prevPullError = new Map<string, string>();

  constructor(runtime: Runtime, now: () => number, backoff?: Backoff) {
    this.#runtime = runtime;
    this.#now = now;
    this.#backoff = backoff ?? new Backoff({ initialMs: 10_000, maxMs: 300_000, now });
  }

  /** When a pull that failed for this pod and image may be tried again (0 when not backing off). */
  backoffEndsAt(uid: string, image: string): number {
    return this.#backoff.updateEndsAt(`${uid}_${image}`);
  }

  forgetPod(uid: string): void {
    this.#backoff.deletePrefix(`${uid}_`);
    for (const k of this.#prevPullError.keys()) if (k.startsWith(`${uid}_`)) this.#prevPullError.delete(k);
  }

  static #infoOf(imageRef: string, st: Image | null): ImageInfo {
    const info: ImageInfo = { imageRef };
    if (st?.uid && st.uid.value !== undefined && st.uid.value !== '') info.uid = Number(st.uid.value);
    if (st?.username) info.username = st.username;
    return info;
  }

  /** upstream's EnsureImageExists. Throws ImageError with the reason and message the status shows. */
  async ensureImageExists(o: EnsureImageOptions): Promise<ImageInfo> {
    const requested = o.container.image ?? '';
    if (!requested) throw new ImageError('InvalidImageName', `Failed to apply default image tag "": couldn't parse image name "": invalid reference format`);
    const image = applyDefaultImageTag(requested);
    const policy = o.container.imagePullPolicy ?? (parseImageRef(requested).tag === 'latest' || !parseImageRef(requested).tag ? 'Always' : 'IfNotPresent');
    if (policy !== 'Always') {
      let present;
      try {
        present = await this.#runtime.imageStatus(image);
      } catch (e) {
        const msg = `Failed to inspect image "${image}": ${(e as Error).message}`;
        o.event('Warning', 'InspectFailed', msg);
        throw new ImageError('ImageInspectError', msg);
      }
      if (present) {
        o.event('Normal', 'Pulled', `Container image "${requested}" already present on machine`);
        return ImageManager.#infoOf(present.id, present);
      }
      if (policy === 'Never') {
        const msg = `Container image "${requested}" is not present with pull policy of Never`;
        o.event('Warning', 'ErrImageNeverPull', msg);
        throw new ImageError('ErrImageNeverPull', msg);
      }
    }
    const key = `${o.pod.metadata.uid}_${requested}`;
    if (this.#backoff.isInBackOffSinceUpdate(key)) {
      let msg = `Back-off pulling image "${requested}"`;
      o.event('Normal', 'BackOff', msg);
      const prev = this.#prevPullError.get(key);
      if (prev) msg = `${msg}: ${prev}`;
      throw new ImageError('ImagePullBackOff', msg);
    }
    this.#prevPullError.delete(key);
    o.event('Normal', 'Pulling', `Pulling image "${requested}"`);
    const start = this.#now();
    let ref: string;
    try {
      ref = await this.#runtime.pullImage(image, credentialsFor(image, o.pullSecrets), o.sandboxConfig);
    } catch (e) {
      const msg = isRuntimeError(e) ? e.message : (e as Error).message;
      o.event('Warning', 'Failed', `Failed to pull image "${requested}": ${msg}`);
      this.#backoff.next(key, this.#now());
      this.#prevPullError.set(key, `ErrImagePull: ${msg}`);
      throw new ImageError('ErrImagePull', msg);
    }
    const took = Math.max(0, this.#now() - start);
    const st = await this.#runtime.imageStatus(ref).catch(() => null);
    const info = ImageManager.#infoOf(ref, st);
    const size = st?.size ?? '0';
    o.event('Normal', 'Pulled', `Successfully pulled image "${requested}" in ${goDuration(took)} (${goDuration(took)} including waiting). Image size: ${size} bytes.`);
    this.#backoff.gc();
    return info;
  }
}

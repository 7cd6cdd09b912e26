// The pod's volumes on the node (upstream's volume manager with the in-tree plugins the kubelet runs
// itself): set up before containers start and refreshed at every sync, torn down when the pod is
// gone. Layout as upstream: <root>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>.
//
// - emptyDir: a directory (0777); medium Memory: a tmpfs sized by sizeLimit, else the pod's memory
//   limit, else the node's allocatable memory.
// - configMap, downwardAPI: files written atomically (atomic-writer.ts) on disk.
// - secret, projected: the same, on a tmpfs — their contents never reach a disk; projected
//   serviceAccountToken sources get a TokenRequest-issued token, rotated at 80% of its lifetime.
// - hostPath: the host path itself, checked or created by its type.
// - persistentVolumeClaim: the bound PV's hostPath (created for DirectoryOrCreate) or local path
//   (created when a local-path provisioner made the PV).
// Failures name the volume as upstream's FailedMount events do.
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigMap, HostPathType, PersistentVolume, PersistentVolumeClaim, Pod, ResourceList, Secret, Volume } from '../api-types.ts';
import type { VolumeHostPath } from '../container-config.ts';
import { unitValue } from '../qos.ts';
import { TokenManager } from '../token-manager.ts';
import { writeAtomic, type Payload } from './atomic-writer.ts';
import type { Mounter } from './mounter.ts';
import { configMapPayload, downwardApiPayload, secretPayload, VolumeSetupError } from './payload.ts';

export interface VolumeFailure {
  volume: string;
  message: string;
}

/** Volumes that could not be set up; the pod's containers must wait. */
export class VolumeMountError extends Error {
  readonly failures: VolumeFailure[];
  constructor(failures: VolumeFailure[]) {
    super(failures.map((f) => `MountVolume.SetUp failed for volume "${f.volume}" : ${f.message}`).join('; '));
    this.name = 'VolumeMountError';
    this.failures = failures;
  }
}

export interface VolumeSources {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  pvc(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  pv(name: string): Promise<PersistentVolume | undefined>;
}

export interface VolumeManagerOptions {
  rootDir: string;
  /** 'host' writes volumes; 'none' (hollow nodes) resolves their sources but writes nothing. */
  mode: 'host' | 'none';
  mounter: Mounter;
  sources: VolumeSources;
  tokens?: TokenManager;
  nodeAllocatable: () => ResourceList;
  now: () => number;
}

export interface PodVolumes {
  volumes: Map<string, VolumeHostPath>;
  /** When a volume's content must be refreshed next (token rotation), ms since the epoch. */
  refreshAt?: number;
}

const LOCAL_PATH_PROVISIONERS = new Set(['rancher.io/local-path', 'rudder.io/local-path']);

export function podDir(rootDir: string, uid: string): string {
  return join(rootDir, 'pods', uid);
}

function pluginDir(plugin: string): string {
  return `kubernetes.io~${plugin}`;
}

function pluginOf(v: Volume): string | undefined {
  if (v.emptyDir) return 'empty-dir';
  if (v.configMap) return 'configmap';
  if (v.secret) return 'secret';
  if (v.downwardAPI) return 'downward-api';
  if (v.projected) return 'projected';
  if (v.hostPath) return 'host-path';
  if (v.persistentVolumeClaim) return 'pvc';
  return undefined;
}

/** The pod's memory limit when every container has one (what a memory emptyDir may use), else undefined. */
function podMemoryLimit(pod: Pod): bigint | undefined {
  let sum = 0n;
  for (const c of pod.spec.containers) {
    const l = c.resources?.limits?.memory;
    if (l === undefined) return undefined;
    sum += unitValue(l);
  }
  return sum;
}

async function typeCheck(path: string, type: HostPathType | undefined): Promise<void> {
  const t = type ?? '';
  const st = await stat(path).catch(() => undefined);
  const fail = (what: string) => {
    throw new VolumeSetupError(`hostPath type check failed: ${path} is not a ${what}`);
  };
  switch (t) {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!st) {
        await mkdir(path, { recursive: true, mode: 0o755 });
        return;
      }
      if (!st.isDirectory()) fail('directory');
      return;
    case 'Directory':
      if (!st) throw new VolumeSetupError(`hostPath type check failed: ${path} is not a directory`);
      if (!st.isDirectory()) fail('directory');
      return;
    case 'FileOrCreate':
      if (!st) {
        await writeFile(path, '', { mode: 0o644, flag: 'a' }).catch((e: Error) => {
          throw new VolumeSetupError(`hostPath type check failed: ${path}: ${e.message}`);
        });
        return;
      }
      if (!st.isFile()) fail('file');
      return;
    case 'File':
      if (!st?.isFile()) fail('file');
      return;
    case 'Socket':
      if (!st?.isSocket()) fail('socket file');
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail('character device');
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail('block device');
      return;
  }
}

export class VolumeManager {
  readonly #o: VolumeManagerOptions;

  constructor(o: VolumeManagerOptions) {
    this.#o = o;
  }

  podDir(uid: string): string {
    return podDir(this.#o.rootDir, uid);
  }

  volumeDir(uid: string, plugin: string, name: string): string {
    return join(this.podDir(uid), 'volumes', pluginDir(plugin), name);
  }

  /** Sets up (or refreshes) every volume of the pod. Throws VolumeMountError naming each volume that failed. */
  async setUpPod(pod: Pod): Promise<PodVolumes> {
    const uid = pod.metadata.uid ?? '';
    const volumes = new Map<string, VolumeHostPath>();
    const failures: VolumeFailure[] = [];
    let refreshAt: number | undefined;
    if (this.#o.mode === 'host') await mkdir(this.podDir(uid), { recursive: true, mode: 0o750 });
    // Independent volumes are set up at once; results are kept in the pod's order.
    const results = await Promise.all((pod.spec.volumes ?? []).map((v) => this.#setUp(pod, v).then((r) => ({ v, r }), (e: Error) => ({ v, e }))));
    for (const x of results) {
      if ('e' in x) failures.push({ volume: x.v.name, message: x.e.message });
      else {
        volumes.set(x.v.name, x.r.path);
        if (x.r.refreshAt !== undefined) refreshAt = Math.min(refreshAt ?? Infinity, x.r.refreshAt);
      }
    }
    if (failures.length) throw new VolumeMountError(failures);
    return { volumes, refreshAt };
  }

  async #setUp(pod: Pod, v: Volume): Promise<{ path: VolumeHostPath; refreshAt?: number }> {
    const uid = pod.metadata.uid ?? '';
    const ns = pod.metadata.namespace ?? '';
    const host = this.#o.mode === 'host';
    const plugin = pluginOf(v);
    const fsGroup = pod.spec.securityContext?.fsGroup;
    if (!plugin) throw new VolumeSetupError(`volume type is not supported by this kubelet`);
    const dir = this.volumeDir(uid, plugin, v.name);
    switch (plugin) {
      case 'empty-dir': {
        if (host) {
          const fresh = !existsSync(dir);
          await mkdir(dir, { recursive: true });
          if (v.emptyDir?.medium === 'Memory') {
            let size = v.emptyDir.sizeLimit !== undefined ? unitValue(v.emptyDir.sizeLimit) : undefined;
            const podLimit = podMemoryLimit(pod);
            const alloc = unitValue(this.#o.nodeAllocatable().memory);
            for (const cap of [podLimit, alloc]) if (cap !== undefined && cap > 0n && (size === undefined || cap < size)) size = cap;
            await this.#o.mounter.mountTmpfs(dir, size);
          }
          if (fresh || v.emptyDir?.medium === 'Memory') {
            await chmod(dir, fsGroup !== undefined ? 0o2777 : 0o777);
            if (fsGroup !== undefined) await chown(dir, -1, fsGroup);
          }
        }
        return { path: { path: dir, readOnly: false } };
      }
      case 'configmap': {
        const s = v.configMap!;
        const cm = await this.#o.sources.configMap(ns, s.name ?? '');
        const payload = configMapPayload(cm, s.name ?? '', s.items, s.defaultMode, !!s.optional);
        if (host) await this.#write(dir, payload, false, fsGroup);
        return { path: { path: dir, readOnly: true } };
      }
      case 'secret': {
        const s = v.secret!;
        const sec = await this.#o.sources.secret(ns, s.secretName ?? '');
        const payload = secretPayload(sec, s.secretName ?? '', s.items, s.defaultMode, !!s.optional);
        if (host) await this.#write(dir, payload, true, fsGroup);
        return { path: { path: dir, readOnly: true } };
      }
      case 'downward-api': {
        const s = v.downwardAPI!;
        const payload = downwardApiPayload(pod, s.items, s.defaultMode, this.#o.nodeAllocatable());
        if (host) await this.#write(dir, payload, false, fsGroup);
        return { path: { path: dir, readOnly: true } };
      }
      case 'projected': {
        const { payload, refreshAt } = await this.#projected(pod, v);
        if (host) await this.#write(dir, payload, true, fsGroup);
        return { path: { path: dir, readOnly: true }, refreshAt };
      }
      case 'host-path': {
        const hp = v.hostPath!;
        if (host) await typeCheck(hp.path, hp.type);
        return { path: { path: hp.path, readOnly: false } };
      }
      case 'pvc': {
        const claim = v.persistentVolumeClaim!;
        const pvc = await this.#o.sources.pvc(ns, claim.claimName);
        if (!pvc) throw new VolumeSetupError(`persistentvolumeclaim "${claim.claimName}" not found`);
        const pvName = pvc.spec?.volumeName;
        if (!pvName || pvc.status?.phase === 'Pending') throw new VolumeSetupError(`PVC ${ns}/${claim.claimName} has non-bound phase ("${pvc.status?.phase ?? 'Pending'}") or empty pvc.Spec.VolumeName ("${pvName ?? ''}")`);
        const pv = await this.#o.sources.pv(pvName);
        if (!pv) throw new VolumeSetupError(`persistentvolume "${pvName}" not found`);
        const readOnly = !!claim.readOnly;
        if (pv.spec?.hostPath) {
          if (host) await typeCheck(pv.spec.hostPath.path, pv.spec.hostPath.type);
          return { path: { path: pv.spec.hostPath.path, readOnly } };
        }
        if (pv.spec?.local) {
          const p = pv.spec.local.path;
          const provisioner = pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] ?? '';
          if (host) {
            if (!existsSync(p) && LOCAL_PATH_PROVISIONERS.has(provisioner)) await mkdir(p, { recursive: true, mode: 0o777 });
            const st = await stat(p).catch(() => undefined);
            if (!st?.isDirectory()) throw new VolumeSetupError(`path "${p}" does not exist`);
          }
          return { path: { path: p, readOnly } };
        }
        throw new VolumeSetupError(`persistentvolume "${pvName}" has a volume source this kubelet does not mount`);
      }
    }
    throw new VolumeSetupError(`volume type is not supported by this kubelet`);
  }

  async #projected(pod: Pod, v: Volume): Promise<{ payload: Payload; refreshAt?: number }> {
    const ns = pod.metadata.namespace ?? '';
    const s = v.projected!;
    const mode = s.defaultMode;
    const payload: Payload = new Map();
    let refreshAt: number | undefined;
    for (const src of s.sources ?? []) {
      let part: Payload = new Map();
      if (src.configMap) {
        const name = src.configMap.name ?? '';
        part = configMapPayload(await this.#o.sources.configMap(ns, name), name, src.configMap.items, mode, !!src.configMap.optional);
      } else if (src.secret) {
        const name = src.secret.name ?? '';
        part = secretPayload(await this.#o.sources.secret(ns, name), name, src.secret.items, mode, !!src.secret.optional);
      } else if (src.downwardAPI) {
        part = downwardApiPayload(pod, src.downwardAPI.items, mode, this.#o.nodeAllocatable());
      } else if (src.serviceAccountToken) {
        if (this.#o.mode !== 'host' || !this.#o.tokens) continue;
        const t = src.serviceAccountToken;
        const sa = pod.spec.serviceAccountName || 'default';
        let issued;
        try {
          issued = await this.#o.tokens.getToken({
            namespace: ns,
            serviceAccount: sa,
            audiences: t.audience ? [t.audience] : [],
            expirationSeconds: t.expirationSeconds ?? 3600,
            pod: { name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
          });
        } catch (e) {
          throw new VolumeSetupError(`failed to fetch token: ${(e as Error).message}`);
        }
        part.set(t.path, { data: Buffer.from(issued.token), mode: mode ?? 0o644 });
        const at = TokenManager.refreshAt(issued);
        refreshAt = Math.min(refreshAt ?? Infinity, at);
      }
      for (const [p, f] of part) payload.set(p, f);
    }
    return { payload, refreshAt };
  }

  async #write(dir: string, payload: Payload, memory: boolean, fsGroup: number | undefined): Promise<void> {
    await mkdir(dir, { recursive: true });
    if (memory) await this.#o.mounter.mountTmpfs(dir);
    if (fsGroup !== undefined) for (const f of payload.values()) {
      f.gid = fsGroup;
      f.mode |= 0o040;
    }
    await writeAtomic(dir, payload, new Date(this.#o.now()));
  }

  /** Unmounts and removes the pod's directory (volumes, hosts file, termination logs). */
  async tearDownPod(uid: string): Promise<void> {
    if (this.#o.mode !== 'host') return;
    const base = this.podDir(uid);
    const vols = join(base, 'volumes');
    if (existsSync(vols)) {
      for (const plugin of await readdir(vols)) {
        for (const name of await readdir(join(vols, plugin)).catch(() => [] as string[])) {
          await this.#o.mounter.unmount(join(vols, plugin, name));
        }
      }
    }
    // Never follow into a mount that could not be removed: rm would delete what it holds.
    for (const plugin of existsSync(vols) ? await readdir(vols) : []) {
      for (const name of await readdir(join(vols, plugin)).catch(() => [] as string[])) {
        if (await this.#o.mounter.isMountPoint(join(vols, plugin, name))) throw new Error(`volume ${join(vols, plugin, name)} is still mounted`);
      }
    }
    await rm(base, { recursive: true, force: true });
  }

  /** Uids of pods that still have a directory on this node. */
  async podsOnDisk(): Promise<string[]> {
    if (this.#o.mode !== 'host') return [];
    const dir = join(this.#o.rootDir, 'pods');
    try {
      const out: string[] = [];
      for (const e of await readdir(dir)) if ((await lstat(join(dir, e))).isDirectory()) out.push(e);
      return out;
    } catch {
      return [];
    }
  }
}

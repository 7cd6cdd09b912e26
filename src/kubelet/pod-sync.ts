// Carrying out a pod's sync against the runtime (upstream's Kubelet.SyncPod with the kuberuntime
// manager's SyncPod, killPod and startContainer): volumes first, then the actions computePodActions
// chose — kill what must go, make the sandbox, start the next init container or the containers,
// each through image pull, config, create, start and postStart, postponed while in back-off. Every
// failure to start a container is remembered with upstream's reason (CrashLoopBackOff,
// ErrImagePull, CreateContainerConfigError, …) for the status's waiting state. Termination stops
// containers with their grace period (preStop first) and then the sandbox.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../client/clock.ts';
import type { ConfigMap, Container, Pod, PodStatus, ResourceList, Secret, Service } from './api-types.ts';
import { Backoff, goDuration } from './backoff.ts';
import type { ResolvedConfig } from './config.ts';
import { buildContainerConfig, buildSandboxConfig, containerMounts, podLogDir } from './container-config.ts';
import { podDnsConfig, type HostDnsConfig } from './dns.ts';
import { ContainerConfigError, envReferences, makeEnvironment } from './env.ts';
import type { KubeletEvents } from './events.ts';
import { hostNetworkHostsFile, managedHostsFile } from './hosts.ts';
import { ImageError, type ImageManager } from './images.ts';
import { formatPod, hashContainer, type ContainerType } from './labels.ts';
import { runHook } from './lifecycle.ts';
import { computePodActions, isSidecar, type KillReason, type ProbeView } from './pod-actions.ts';
import type { PodTracer } from './pod-trace.ts';
import { emptyPodState, fromCriSandboxStatus, type RuntimeContainer, type RuntimePodState } from './pod-state.ts';
import { generatePodStatus, isTerminalPhase, type StartFailure } from './pod-status.ts';
import type { ProbeManager } from './probes/manager.ts';
import type { ObjectCache } from './object-cache.ts';
import type { RuntimeState } from './runtime-state.ts';
import { isNotFound, type PodSandboxConfig, type Runtime } from './runtime/runtime.ts';
import { verifyRunAsNonRoot } from './security.ts';
import { VolumeMountError, type PodVolumes, type VolumeManager } from './volumes/volume-manager.ts';

export const MINIMUM_GRACE_PERIOD_SECONDS = 2;

export interface PodSyncDeps {
  config: ResolvedConfig;
  runtime: Runtime;
  /** The runtime's name for container IDs ("containerd"). */
  runtimeName: () => string;
  state: RuntimeState;
  images: ImageManager;
  volumes: VolumeManager;
  probes: ProbeManager;
  events: KubeletEvents;
  configMaps: ObjectCache<ConfigMap>;
  secrets: ObjectCache<Secret>;
  services: () => Service[];
  clock: Clock;
  /** Container restart back-off. */
  backoff: Backoff;
  hostDns: () => HostDnsConfig | undefined;
  memoryCapacity: () => bigint;
  allocatable: () => ResourceList;
  /** Writes an intermediate status (the status manager; not awaited). */
  setStatus: (pod: Pod, status: PodStatus) => void;
  /** The status last set for the pod, if any (the status manager's). */
  cachedStatus: (uid: string) => PodStatus | undefined;
  /** Whether httpGet hooks connect (false for simulated pods, whose IPs lead nowhere). */
  network: boolean;
  log: (m: string) => void;
  /** Marks a starting pod's stages (benchmarks). */
  trace?: PodTracer;
}

export interface SyncOutcome {
  status: PodStatus;
  state: RuntimePodState;
  /** The pod reached Succeeded or Failed: nothing of it will run again. */
  terminal: boolean;
  /** Sync again by then at the latest (a back-off ends, a token is due, a retry). */
  nextSyncAt?: number;
}

/** A pod object good enough to name a container in events and stop it, rebuilt from its labels. */
export function podFromRuntime(state: RuntimePodState): Pod {
  const names = [...new Set(state.containers.map((c) => c.name))];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: state.name, namespace: state.namespace, uid: state.uid },
    spec: { containers: names.map((name) => ({ name })) },
  };
}

function uidOf(pod: Pod): string {
  return pod.metadata.uid ?? '';
}

export class PodSyncer {
  readonly #d: PodSyncDeps;
  readonly #failures = new Map<string, Map<string, StartFailure>>();
  readonly #retry = new Map<string, number>();
  /** Pods synced at least once (until forgotten): only they can have made anything in the runtime. */
  readonly #synced = new Set<string>();

  constructor(deps: PodSyncDeps) {
    this.#d = deps;
  }

  #failuresOf(uid: string): Map<string, StartFailure> {
    let f = this.#failures.get(uid);
    if (!f) this.#failures.set(uid, (f = new Map()));
    return f;
  }

  probeView(): ProbeView {
    return {
      liveness: (id) => this.#d.probes.result('liveness', id),
      startup: (id) => this.#d.probes.result('startup', id),
    };
  }

  /** When the pod's activeDeadlineSeconds runs out (ms), counted from its startTime. */
  #deadline(pod: Pod): number | undefined {
    const secs = pod.spec.activeDeadlineSeconds;
    const start = Date.parse(pod.status?.startTime ?? '');
    if (secs === undefined || !Number.isFinite(start)) return undefined;
    return start + secs * 1000;
  }

  /** upstream's activeDeadlineHandler.ShouldEvict. */
  #deadlineExceeded(pod: Pod): boolean {
    const d = this.#deadline(pod);
    return d !== undefined && this.#d.clock.now() >= d;
  }

  /** The status for the pod as things stand (pure over the given runtime state). */
  status(pod: Pod, state: RuntimePodState, podIsTerminal: boolean): PodStatus {
    const s = this.#generate(pod, state, podIsTerminal);
    if (this.#deadlineExceeded(pod)) {
      // An internal module asked for the pod to go: it fails, with its reason (upstream's PodSyncHandlers).
      s.phase = 'Failed';
      s.reason = 'DeadlineExceeded';
      s.message = 'Pod was active on the node longer than the specified deadline';
    }
    return s;
  }

  #generate(pod: Pod, state: RuntimePodState, podIsTerminal: boolean): PodStatus {
    return generatePodStatus({
      pod,
      state,
      probes: { readiness: (id) => this.#d.probes.result('readiness', id), startup: (id) => this.#d.probes.result('startup', id) },
      startFailures: this.#failures.get(uidOf(pod)) ?? new Map(),
      hostIPs: this.#d.config.nodeIPs,
      runtimeName: this.#d.runtimeName(),
      now: this.#d.clock.now(),
      podIsTerminal,
      previous: this.#d.cachedStatus(uidOf(pod)),
    });
  }

  forget(uid: string): void {
    this.#failures.delete(uid);
    this.#retry.delete(uid);
    this.#synced.delete(uid);
  }

  /** Starts the whole-pod retry back-off over (the node just became able to run pods). */
  resetRetries(): void {
    this.#retry.clear();
  }

  /** A back-off for retrying whole-pod failures (sandbox, volumes): 1 s doubling to 30 s. */
  #retryAt(uid: string): number {
    const prev = this.#retry.get(uid) ?? 500;
    const next = Math.min(prev * 2, 30_000);
    this.#retry.set(uid, next);
    return this.#d.clock.now() + next;
  }

  /** upstream's syncPod for a pod that should be running. */
  async syncPod(pod: Pod, signal?: AbortSignal): Promise<SyncOutcome> {
    const d = this.#d;
    const uid = uidOf(pod);
    d.trace?.mark(pod, 'sync');
    // A pod's first sync need not ask the runtime when a relist has shown it has nothing of the pod:
    // only this pod's worker makes sandboxes for it, and this is its first sync (what an earlier
    // kubelet made is in every relist). Two List calls fewer per new pod, while a burst of pods
    // keeps the runtime busy.
    const first = !this.#synced.has(uid);
    this.#synced.add(uid);
    let state = first && d.state.absent(uid) ? emptyPodState(uid, pod.metadata.name ?? '', pod.metadata.namespace ?? '') : await d.state.podState(uid, pod.metadata.name, pod.metadata.namespace);
    const pre = this.status(pod, state, false);
    if (pre.reason === 'DeadlineExceeded' && pod.status?.reason !== 'DeadlineExceeded') d.events.pod(pod, 'Normal', 'DeadlineExceeded', pre.message ?? '');
    if (isTerminalPhase(pre.phase)) return { status: pre, state, terminal: true };
    d.setStatus(pod, pre);

    // Volumes are set up while the sandbox is made: containers wait for both, the sandbox needs
    // neither (rudder's overlap of upstream's volumes-then-sandbox order; nothing else differs).
    // A new sandbox is asked for first: the runtime's part is the longest, and volume setup (a
    // token request, files, a tmpfs) would otherwise queue ahead of it in the agent.
    let volumesP: Promise<{ v: PodVolumes } | { e: unknown }> | undefined;
    const setUpVolumes = () => (volumesP ??= d.volumes.setUpPod(pod).then((v) => (d.trace?.mark(pod, 'volumes-ready'), { v }), (e: unknown) => ({ e })));
    const volumeFailure = async (): Promise<SyncOutcome | undefined> => {
      const r = await setUpVolumes();
      if (!('e' in r)) return undefined;
      if (!(r.e instanceof VolumeMountError)) throw r.e;
      for (const f of r.e.failures) d.events.pod(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${f.volume}" : ${f.message}`);
      state = await d.state.podState(uid, pod.metadata.name, pod.metadata.namespace);
      return { status: this.status(pod, state, false), state, terminal: false, nextSyncAt: this.#retryAt(uid) };
    };
    const actions = computePodActions(pod, state, this.probeView());
    if (!actions.createSandbox) setUpVolumes();
    // Whether this sync changed anything in the runtime: if not, the state read at its start is
    // still what the runtime has (changes of its own come through the relist), and is not read again.
    let acted = actions.createSandbox;
    const pullSecrets = await this.#pullSecrets(pod);
    const failures = this.#failuresOf(uid);
    let nextSyncAt: number | undefined;
    const deadline = this.#deadline(pod);
    if (deadline !== undefined) nextSyncAt = deadline;
    const soonest = (t: number | undefined) => {
      if (t !== undefined && t > 0) nextSyncAt = Math.min(nextSyncAt ?? Infinity, t);
    };

    if (actions.createSandbox && actions.sandboxId) d.events.pod(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
    if (actions.killPod) {
      await this.killPod(pod, state);
      if (!actions.createSandbox) {
        const vf = await volumeFailure();
        if (vf) return vf;
        state = await d.state.podState(uid, pod.metadata.name, pod.metadata.namespace);
        const status = this.status(pod, state, false);
        return { status, state, terminal: isTerminalPhase(status.phase), nextSyncAt };
      }
    } else {
      for (const k of actions.containersToKill) {
        const rc = state.containers.find((c) => c.id === k.id);
        if (rc) {
          acted = true;
          await this.killContainer(pod, rc, k.message, k.reason);
        }
      }
    }
    if (await this.#gc(state)) acted = true;

    const latest = state.sandboxes[0];
    const attempt = actions.createSandbox ? actions.attempt : (latest?.attempt ?? 0);
    const dns = podDnsConfig(pod, { clusterDNS: d.config.clusterDNS, clusterDomain: d.config.clusterDomain, host: d.hostDns(), nodeIPs: d.config.nodeIPs });
    const sandboxConfig = buildSandboxConfig(pod, {
      attempt,
      podLogsRoot: d.config.podLogsDir,
      dns: dns.config,
      cgroupRoot: d.config.cgroupRoot,
      seccompProfileRoot: d.config.seccompProfileRoot,
      clusterDomain: d.config.clusterDomain,
    });
    let sandboxId = actions.sandboxId;
    let podIPs = actions.createSandbox ? [] : (latest?.ips ?? []);
    if (actions.createSandbox) {
      if (dns.warning) d.events.pod(pod, 'Warning', 'DNSConfigForming', dns.warning);
      if (dns.missingClusterDns) {
        d.events.pod(pod, 'Warning', 'MissingClusterDNS', `pod: ${JSON.stringify(formatPod(pod))}. kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`);
      }
      try {
        await mkdir(podLogDir(d.config.podLogsDir, pod), { recursive: true, mode: 0o755 });
        d.trace?.mark(pod, 'sandbox-request');
        const sandboxP = d.runtime.runPodSandbox(sandboxConfig);
        setUpVolumes();
        sandboxId = await sandboxP;
        podIPs = fromCriSandboxStatus(await d.runtime.podSandboxStatus(sandboxId)).ips;
        d.trace?.mark(pod, 'sandbox-ready');
      } catch (e) {
        await setUpVolumes();
        d.events.pod(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
        state = await d.state.podState(uid, pod.metadata.name, pod.metadata.namespace);
        return { status: this.status(pod, state, false), state, terminal: false, nextSyncAt: this.#retryAt(uid) };
      }
    }
    const vf = await volumeFailure();
    if (vf) return vf;
    const vols = ((await setUpVolumes()) as { v: PodVolumes }).v;
    soonest(vols.refreshAt);
    if (signal?.aborted) return { status: pre, state, terminal: false };
    this.#retry.delete(uid);
    if (pod.spec.hostNetwork) podIPs = [...d.config.nodeIPs];
    const hostsFile = await this.#writeHosts(pod, podIPs);
    const ctx: StartContext = { pod, sandboxId, sandboxConfig, podIPs, volumes: vols, hostsFile, pullSecrets, state, signal };

    const inits = pod.spec.initContainers ?? [];
    const starts: [Container, ContainerType][] = [
      ...actions.initContainersToStart.map((i): [Container, ContainerType] => [inits[i], 'init']),
      ...actions.containersToStart.map((i): [Container, ContainerType] => [pod.spec.containers[i], 'container']),
    ];
    for (const [c, type] of starts) {
      if (signal?.aborted) break;
      const bo = this.#doBackOff(pod, c, state);
      if (bo) {
        failures.set(c.name, bo.failure);
        soonest(bo.retryAt);
        continue;
      }
      acted = true;
      soonest(await this.#start(ctx, c, type));
    }
    if (acted) state = await d.state.podState(uid, pod.metadata.name, pod.metadata.namespace);
    const status = this.status(pod, state, false);
    // The deadline may pass during the sync: the pod fails with this status, and no later sync sees it first.
    if (status.reason === 'DeadlineExceeded' && pre.reason !== 'DeadlineExceeded' && pod.status?.reason !== 'DeadlineExceeded') d.events.pod(pod, 'Normal', 'DeadlineExceeded', status.message ?? '');
    d.trace?.mark(pod, 'synced', status.phase);
    return { status, state, terminal: isTerminalPhase(status.phase), nextSyncAt };
  }

  /** upstream's doBackOff: whether the container's last exit is still within its back-off. */
  #doBackOff(pod: Pod, c: Container, state: RuntimePodState): { failure: StartFailure; retryAt: number } | undefined {
    const exited = state.containers.find((x) => x.name === c.name && x.state === 'exited');
    if (!exited) return undefined;
    const key = `${pod.metadata.name}_${pod.metadata.namespace}_${uidOf(pod)}_${c.name}_${hashContainer(c)}`;
    const b = this.#d.backoff;
    if (b.isInBackOffSince(key, exited.finishedAt)) {
      this.#d.events.container(pod, c.name, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${formatPod(pod)}`);
      return {
        failure: { reason: 'CrashLoopBackOff', message: `back-off ${goDuration(b.get(key))} restarting failed container=${c.name} pod=${formatPod(pod)}` },
        retryAt: b.endsAt(key, exited.finishedAt) + 1,
      };
    }
    b.next(key, exited.finishedAt);
    return undefined;
  }

  async #pullSecrets(pod: Pod): Promise<Secret[]> {
    const out: Secret[] = [];
    const missing: string[] = [];
    for (const ref of pod.spec.imagePullSecrets ?? []) {
      if (!ref.name) continue;
      const s = await this.#d.secrets.get(pod.metadata.namespace ?? '', ref.name).catch(() => undefined);
      if (s) out.push(s);
      else missing.push(ref.name);
    }
    if (missing.length) {
      this.#d.events.pod(pod, 'Warning', 'FailedToRetrieveImagePullSecret', `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`);
    }
    return out;
  }

  async #writeHosts(pod: Pod, podIPs: string[]): Promise<string | undefined> {
    if (this.#d.config.volumes !== 'host' || podIPs.length === 0) return undefined;
    const file = join(this.#d.volumes.podDir(uidOf(pod)), 'etc-hosts');
    let content: string;
    if (pod.spec.hostNetwork) {
      const nodeHosts = await readFile(this.#d.config.hostsFile, 'utf8').catch(() => '');
      content = hostNetworkHostsFile(pod, nodeHosts);
    } else content = managedHostsFile(pod, podIPs, this.#d.config.clusterDomain);
    const old = await readFile(file, 'utf8').catch(() => undefined);
    if (old !== content) {
      await mkdir(this.#d.volumes.podDir(uidOf(pod)), { recursive: true });
      await writeFile(file, content, { mode: 0o644 });
    }
    return file;
  }

  /** upstream's calcRestartCountByLogDir: one more than the highest <n>.log of the container. */
  async #restartCountFromLogs(pod: Pod, name: string): Promise<number> {
    const dir = join(podLogDir(this.#d.config.podLogsDir, pod), name);
    let max = 0;
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      const m = /^(\d+)\.log/.exec(f);
      if (m) max = Math.max(max, Number(m[1]) + 1);
    }
    return max;
  }

  /**
   * upstream's startContainer: image, config, create, start, postStart. Records the failure reason
   * (or clears it); answers when to retry if an image pull is backing off.
   */
  async #start(ctx: StartContext, c: Container, type: ContainerType): Promise<number | undefined> {
    const d = this.#d;
    const { pod } = ctx;
    const uid = uidOf(pod);
    const failures = this.#failuresOf(uid);
    const fail = (reason: string, message: string): void => {
      failures.set(c.name, { reason, message });
    };
    // 1. the image
    let image;
    try {
      image = await d.images.ensureImageExists({
        pod,
        container: c,
        pullSecrets: ctx.pullSecrets,
        sandboxConfig: ctx.sandboxConfig,
        event: (t, reason, message) => d.events.container(pod, c.name, t, reason, message),
      });
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      d.events.container(pod, c.name, 'Warning', 'Failed', `Error: ${e.reason}`);
      fail(e.reason, e.message);
      return e.reason === 'ErrImagePull' || e.reason === 'ImagePullBackOff' ? d.images.backoffEndsAt(uid, c.image ?? '') + 1 : this.#d.clock.now() + 10_000;
    }
    d.trace?.mark(pod, 'image-ready');
    // 2. the config
    const previous = ctx.state.containers.find((x) => x.name === c.name);
    const restartCount = previous ? previous.restartCount + 1 : await this.#restartCountFromLogs(pod, c.name);
    let config;
    try {
      const refs = envReferences(c);
      const ns = pod.metadata.namespace ?? '';
      const cms = new Map<string, ConfigMap | undefined>();
      const secs = new Map<string, Secret | undefined>();
      for (const n of refs.configMaps) cms.set(n, await d.configMaps.get(ns, n));
      for (const n of refs.secrets) secs.set(n, await d.secrets.get(ns, n));
      const envRes = makeEnvironment(pod, c, {
        configMap: (n) => cms.get(n),
        secret: (n) => secs.get(n),
        services: d.services(),
        podIPs: ctx.podIPs,
        hostIPs: d.config.nodeIPs,
        nodeAllocatable: d.allocatable(),
      });
      for (const s of envRes.skipped) {
        d.events.pod(pod, 'Warning', 'InvalidEnvironmentVariableNames', `Keys [${s.keys.join(', ')}] from the EnvFrom ${s.kind} ${ns}/${s.name} were skipped since they are considered invalid environment variable names.`);
      }
      verifyRunAsNonRoot(pod, c, image);
      let terminationMessageFile: string | undefined;
      if (d.config.volumes === 'host' && c.terminationMessagePath) {
        const dir = join(d.volumes.podDir(uid), 'containers', c.name);
        await mkdir(dir, { recursive: true });
        terminationMessageFile = join(dir, randomBytes(4).toString('hex'));
        await writeFile(terminationMessageFile, '');
        await chmod(terminationMessageFile, 0o666);
      }
      const mounts = containerMounts(c, { volumes: ctx.volumes.volumes, env: envRes.env, hostsFile: ctx.hostsFile, terminationMessageFile });
      if (d.config.volumes === 'host') for (const m of mounts) if (m.createDir && !existsSync(m.createDir)) await mkdir(m.createDir, { recursive: true, mode: 0o755 });
      config = buildContainerConfig(pod, c, {
        type,
        restartCount,
        imageRef: image.imageRef,
        env: envRes.env,
        mounts,
        memoryCapacity: d.memoryCapacity(),
        seccompProfileRoot: d.config.seccompProfileRoot,
      });
    } catch (e) {
      if (e instanceof ContainerConfigError) {
        d.events.container(pod, c.name, 'Warning', 'Failed', `Error: ${e.message}`);
        fail('CreateContainerConfigError', e.message);
        return d.clock.now() + 10_000;
      }
      throw e;
    }
    // 3. create
    let id: string;
    try {
      d.trace?.mark(pod, 'create-request');
      id = await d.runtime.createContainer(ctx.sandboxId, config, ctx.sandboxConfig);
      d.trace?.mark(pod, 'create-done');
    } catch (e) {
      d.events.container(pod, c.name, 'Warning', 'Failed', `Error: ${(e as Error).message}`);
      fail('CreateContainerError', (e as Error).message);
      return d.clock.now() + 10_000;
    }
    d.events.container(pod, c.name, 'Normal', 'Created', `Created container: ${c.name}`, id);
    // 4. start
    try {
      await d.runtime.startContainer(id);
      d.trace?.mark(pod, 'start-done');
    } catch (e) {
      d.events.container(pod, c.name, 'Warning', 'Failed', `Error: ${(e as Error).message}`, id);
      fail('RunContainerError', (e as Error).message.split(id).join(c.name));
      return undefined;
    }
    d.events.container(pod, c.name, 'Normal', 'Started', `Started container ${c.name}`, id);
    failures.delete(c.name);
    d.probes.kick(uid);
    // 5. postStart
    if (c.lifecycle?.postStart) {
      const podIP = ctx.podIPs[0] ?? '';
      const err = await runHook(c.lifecycle.postStart, d.network ? undefined : 'skip-http', { runtime: d.runtime, clock: d.clock, pod, container: c, containerId: id, podIP, signal: ctx.signal });
      if (err) {
        d.log(err);
        d.events.container(pod, c.name, 'Warning', 'FailedPostStartHook', 'PostStartHook failed', id);
        const rc = (await d.state.podState(uid, pod.metadata.name, pod.metadata.namespace)).containers.find((x) => x.id === id);
        if (rc) await this.killContainer(pod, rc, 'FailedPostStartHook', '');
        fail('PostStartHookError', err);
      }
    }
    return undefined;
  }

  /** upstream's setTerminationGracePeriod. */
  #gracePeriod(pod: Pod, spec: Container | undefined, rc: RuntimeContainer, reason: KillReason): number {
    if (pod.metadata.deletionGracePeriodSeconds !== undefined) return pod.metadata.deletionGracePeriodSeconds;
    if (pod.spec.terminationGracePeriodSeconds !== undefined) {
      if (reason === 'startup' && spec?.startupProbe?.terminationGracePeriodSeconds !== undefined) return spec.startupProbe.terminationGracePeriodSeconds;
      if (reason === 'liveness' && spec?.livenessProbe?.terminationGracePeriodSeconds !== undefined) return spec.livenessProbe.terminationGracePeriodSeconds;
      return pod.spec.terminationGracePeriodSeconds;
    }
    return rc.podDeletionGracePeriod ?? rc.podTerminationGracePeriod ?? MINIMUM_GRACE_PERIOD_SECONDS;
  }

  /** upstream's killContainer: the Killing event, preStop within the grace period, then stop (TERM, KILL after the rest). */
  async killContainer(pod: Pod, rc: RuntimeContainer, message: string, reason: KillReason, graceOverride?: number): Promise<void> {
    const d = this.#d;
    const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === rc.name);
    let grace = this.#gracePeriod(pod, spec, rc, reason);
    d.events.container(pod, rc.name, 'Normal', 'Killing', message || `Stopping container ${rc.name}`, rc.id);
    if (graceOverride !== undefined) grace = graceOverride;
    // A pod rebuilt from labels has specs without images: its preStop comes from the annotation.
    const preStop = spec?.image !== undefined ? spec.lifecycle?.preStop : rc.preStop;
    if (preStop && grace > 0 && rc.state === 'running') {
      const start = d.clock.now();
      const ac = new AbortController();
      const podIP = d.state.cached(uidOf(pod))?.sandboxes[0]?.ips[0] ?? (pod.spec.hostNetwork ? d.config.nodeIPs[0] : '') ?? '';
      const hook = runHook(preStop, d.network ? undefined : 'skip-http', { runtime: d.runtime, clock: d.clock, pod, container: spec ?? { name: rc.name }, containerId: rc.id, podIP, signal: ac.signal }).then((err) => {
        if (err) {
          d.log(err);
          d.events.container(pod, rc.name, 'Warning', 'FailedPreStopHook', 'PreStopHook failed', rc.id);
        }
      });
      const timeout = d.clock.after(grace * 1000, ac.signal).catch(() => undefined);
      await Promise.race([hook, timeout]);
      ac.abort();
      grace -= Math.floor((d.clock.now() - start) / 1000);
    }
    if (grace < MINIMUM_GRACE_PERIOD_SECONDS) grace = MINIMUM_GRACE_PERIOD_SECONDS;
    try {
      await d.runtime.stopContainer(rc.id, grace);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Stops every container (in parallel, with the pod's grace or the override) and then the sandboxes. */
  async killPod(pod: Pod, state: RuntimePodState, graceOverride?: number): Promise<void> {
    const d = this.#d;
    const running = state.containers.filter((c) => c.state !== 'exited');
    // Sidecars stop last, in the reverse of their order, once the containers they serve are gone.
    const sidecars = (pod.spec.initContainers ?? []).filter(isSidecar).map((c) => c.name);
    const first = running.filter((c) => !sidecars.includes(c.name));
    const results = await Promise.allSettled(first.map((rc) => this.killContainer(pod, rc, '', '', graceOverride)));
    for (const name of [...sidecars].reverse()) {
      for (const rc of running.filter((c) => c.name === name)) results.push(...(await Promise.allSettled([this.killContainer(pod, rc, '', '', graceOverride)])));
    }
    for (const r of results) if (r.status === 'rejected') d.log(`kill container in pod ${formatPod(pod)} failed: ${(r.reason as Error).message}`);
    for (const s of state.sandboxes) {
      if (!s.ready) continue;
      try {
        await d.runtime.stopPodSandbox(s.id);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** upstream's syncTerminatingPod: everything stopped, with the effective grace period. */
  async terminatePod(pod: Pod | undefined, uid: string, graceOverride?: number): Promise<RuntimePodState> {
    const d = this.#d;
    const state = await d.state.podState(uid);
    const p = pod ?? podFromRuntime(state);
    let grace = graceOverride;
    if (grace === undefined && pod) grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    await this.killPod(p, state, grace);
    return d.state.podState(uid, state.name, state.namespace);
  }

  /** Removes the pod's containers and sandboxes from the runtime, and its log directory. */
  async removePod(uid: string): Promise<void> {
    const d = this.#d;
    const state = await d.state.podState(uid);
    for (const c of state.containers) await d.runtime.removeContainer(c.id).catch((e) => isNotFound(e) || d.log(`remove container ${c.id}: ${(e as Error).message}`));
    for (const s of state.sandboxes) await d.runtime.removePodSandbox(s.id).catch((e) => isNotFound(e) || d.log(`remove sandbox ${s.id}: ${(e as Error).message}`));
    if (state.name && state.namespace) {
      await rm(join(d.config.podLogsDir, `${state.namespace}_${state.name}_${uid}`), { recursive: true, force: true }).catch(() => undefined);
    }
    d.state.forget(uid);
  }

  /**
   * Container GC within a pod (upstream keeps one dead instance per container): the two newest
   * instances of each name stay (current and previous, for lastState and logs --previous).
   * Sandboxes that are neither the newest nor ready and hold no containers go too.
   */
  /** Answers whether it removed anything. */
  async #gc(state: RuntimePodState): Promise<boolean> {
    const d = this.#d;
    const seen = new Map<string, number>();
    const keep = new Set<string>();
    let removed = false;
    for (const c of state.containers) {
      const n = (seen.get(c.name) ?? 0) + 1;
      seen.set(c.name, n);
      if (n <= 2 || c.state !== 'exited') keep.add(c.id);
      else {
        removed = true;
        await d.runtime.removeContainer(c.id).catch(() => undefined);
      }
    }
    for (const s of state.sandboxes.slice(1)) {
      if (s.ready) continue;
      if (state.containers.some((c) => c.sandboxId === s.id && keep.has(c.id))) continue;
      removed = true;
      await d.runtime.removePodSandbox(s.id).catch(() => undefined);
    }
    return removed;
  }
}

interface StartContext {
  pod: Pod;
  sandboxId: string;
  sandboxConfig: PodSandboxConfig;
  podIPs: string[];
  volumes: PodVolumes;
  hostsFile?: string;
  pullSecrets: Secret[];
  state: RuntimePodState;
  signal?: AbortSignal;
}

// The kubelet, composed: startKubelet wires the node manager (registration, status, lease), the pod
// informer (pods bound to this node), the per-pod workers with their syncer, the runtime relist,
// probes, volumes, images, the status manager and the event recorder, all speaking to the cluster
// through src/client only. Stopping the kubelet leaves containers running: a kubelet started again
// adopts them.
import { mkdirSync, readFileSync } from 'node:fs';
import type { Client } from '../client/client.ts';
import { realClock, type Clock } from '../client/clock.ts';
import { EventBroadcaster } from '../client/events.ts';
import { SharedInformerFactory } from '../client/informer.ts';
import type { SharedInformer } from '../client/informer.ts';
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod, ResourceList, Secret, Service } from './api-types.ts';
import { Backoff } from './backoff.ts';
import { resolveConfig, type KubeletConfig, type ResolvedConfig } from './config.ts';
import { parseResolvConf, type HostDnsConfig } from './dns.ts';
import { envReferences } from './env.ts';
import { KubeletEvents } from './events.ts';
import { ImageManager } from './images.ts';
import { readMachineInfo, readMachineUsage, type MachineInfo } from './node/machine.ts';
import { NodeManager } from './node/node-manager.ts';
import { nodeAllocatable, type NodeSettings } from './node/node-status.ts';
import { ObjectCache } from './object-cache.ts';
import { nodePodInformer } from './pod-informer.ts';
import { PodSyncer } from './pod-sync.ts';
import { PodWorkers } from './pod-workers.ts';
import { tracerFor, type PodTracer } from './pod-trace.ts';
import { ProbeManager, probeTypeWord } from './probes/manager.ts';
import { probeExec, probeGrpc, probeHttp, probeTcp, resolvePort, type ProbeOutcome } from './probes/prober.ts';
import { milliValue, unitValue } from './qos.ts';
import { RuntimeState } from './runtime-state.ts';
import type { Runtime } from './runtime/runtime.ts';
import { StatusManager } from './status-manager.ts';
import { TokenManager } from './token-manager.ts';
import { SystemMounter, type Mounter } from './volumes/mounter.ts';
import { VolumeManager } from './volumes/volume-manager.ts';
import { StatusError } from '../api/errors.ts';

export interface KubeletDeps {
  client: Client;
  runtime: Runtime;
  clock?: Clock;
  log?: (msg: string) => void;
  /** Hands the node's pod CIDR to the runtime's network (AgentRuntime.setPodCidr). */
  setPodCidr?: (cidr: string) => unknown;
  /** How memory-backed volumes are mounted (default: mount(8); tests without root pass NoTmpfsMounter). */
  mounter?: Mounter;
  random?: () => number;
  /**
   * Whether httpGet/tcpSocket/grpc probes and httpGet hooks really connect (default: unless the
   * runtime is simulated, whose pod IPs lead nowhere; then they succeed without a packet sent).
   */
  network?: boolean;
  /** Where per-pod start-up stages are marked (default: config.podStartupTrace's file, else nowhere). */
  trace?: PodTracer;
}

/** What the streaming server (port 10250) and the CLI need from a running kubelet. */
export interface Kubelet {
  readonly nodeName: string;
  readonly config: ResolvedConfig;
  readonly runtime: Runtime;
  /** Resolves once the node is registered and the pod informer has synced. */
  ready(): Promise<void>;
  /**
   * The pod of this node with that namespace and name, carrying the freshest status the kubelet
   * has (the one it last set, else the API's) — the streaming server's PodLookup.
   */
  pod(namespace: string, name: string): Pod | undefined;
  /** Every pod bound to this node, likewise. */
  pods(): Pod[];
  /** The runtime id of a pod's container (the current instance, or the previous with previous=true). */
  containerId(namespace: string, podName: string, containerName: string, previous?: boolean): Promise<string | undefined>;
  /** The pod's current sandbox id (for port-forward). */
  sandboxId(namespace: string, podName: string): Promise<string | undefined>;
  /** The CRI log file of a pod's container. */
  logPath(namespace: string, podName: string, containerName: string, previous?: boolean): Promise<string | undefined>;
  /** Resolves when no pod sync is running or pending (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** The ConfigMaps and Secrets a pod refers to (volumes, env, envFrom, image pull secrets). */
export function podReferences(pod: Pod): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) configMaps.add(s.configMap.name);
      if (s.secret?.name) secrets.add(s.secret.name);
    }
  }
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    const r = envReferences(c);
    for (const n of r.configMaps) configMaps.add(n);
    for (const n of r.secrets) secrets.add(n);
  }
  for (const s of pod.spec.imagePullSecrets ?? []) if (s.name) secrets.add(s.name);
  return { configMaps, secrets };
}

function quantityBytes(v: string | undefined): bigint {
  return v ? unitValue(v) : 0n;
}

export async function startKubelet(config: KubeletConfig, deps: KubeletDeps): Promise<Kubelet> {
  const cfg = resolveConfig(config);
  const clock = deps.clock ?? realClock;
  const log = deps.log ?? ((m: string) => console.error(`kubelet: ${m}`));
  const { client, runtime } = deps;
  const trace = deps.trace ?? tracerFor(config.podStartupTrace);
  if (cfg.volumes === 'host') mkdirSync(cfg.rootDir, { recursive: true });

  const machine: MachineInfo = { ...readMachineInfo(cfg.volumes === 'host' ? cfg.rootDir : '/'), hostname: cfg.hostname, ...cfg.machine };
  const settings: NodeSettings = {
    nodeName: cfg.nodeName,
    hostname: cfg.hostname,
    nodeIPs: cfg.nodeIPs,
    kubeletPort: cfg.kubeletPort,
    maxPods: cfg.maxPods,
    labels: cfg.nodeLabels,
    taints: cfg.registerWithTaints,
    reserved: {
      cpuMilli: milliValue(cfg.reserved.cpu),
      memoryBytes: quantityBytes(cfg.reserved.memory),
      ephemeralStorageBytes: quantityBytes(cfg.reserved['ephemeral-storage']),
    },
    eviction: cfg.eviction,
  };
  const allocatable: ResourceList = nodeAllocatable(machine, settings);
  const hollow = cfg.volumes !== 'host';
  const network = deps.network ?? runtime.kind !== 'simulated';

  let hostDns: HostDnsConfig | undefined;
  if (cfg.resolvConf) {
    try {
      hostDns = parseResolvConf(readFileSync(cfg.resolvConf, 'utf8'));
    } catch (e) {
      log(`could not read --resolv-conf ${cfg.resolvConf}: ${(e as Error).message}`);
      hostDns = { nameservers: [], searches: [], options: [] };
    }
  }

  let runtimeName = runtime.kind === 'simulated' ? 'simulated' : 'containerd';
  try {
    runtimeName = (await runtime.version()).runtime_name || runtimeName;
  } catch (e) {
    log(`container runtime version unknown yet: ${(e as Error).message}`);
  }

  const broadcaster = new EventBroadcaster({ client, clock, log });
  const events = new KubeletEvents(broadcaster.newRecorder({ component: 'kubelet', host: cfg.nodeName }));

  // eslint-disable-next-line prefer-const
  let workers: PodWorkers;
  const syncUsers = (cache: ObjectCache<ConfigMap> | ObjectCache<Secret>, ns: string, name: string) => {
    for (const uid of cache.users(ns, name)) workers.sync(uid);
  };
  const configMaps: ObjectCache<ConfigMap> = new ObjectCache<ConfigMap>({ client, plural: 'configmaps', clock, log, onChange: (ns, n) => syncUsers(configMaps, ns, n) });
  const secrets: ObjectCache<Secret> = new ObjectCache<Secret>({ client, plural: 'secrets', clock, log, onChange: (ns, n) => syncUsers(secrets, ns, n) });
  const tokens = new TokenManager(client, clock);
  const getOr404 = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return undefined;
      throw e;
    }
  };
  const volumes = new VolumeManager({
    rootDir: cfg.rootDir,
    mode: cfg.volumes,
    mounter: deps.mounter ?? new SystemMounter(),
    sources: {
      configMap: (ns, n) => configMaps.get(ns, n),
      secret: (ns, n) => secrets.get(ns, n),
      pvc: (ns, n) => getOr404(() => client.resource<PersistentVolumeClaim>('', 'persistentvolumeclaims').namespace(ns).get(n)),
      pv: (n) => getOr404(() => client.resource<PersistentVolume>('', 'persistentvolumes').get(n)),
    },
    tokens,
    nodeAllocatable: () => allocatable,
    now: () => clock.now(),
  });
  const state = new RuntimeState(runtime);
  const images = new ImageManager(runtime, () => clock.now(), new Backoff({ initialMs: cfg.backoffInitialMs, maxMs: cfg.backoffMaxMs, now: () => clock.now() }));
  const backoff = new Backoff({ initialMs: cfg.backoffInitialMs, maxMs: cfg.backoffMaxMs, now: () => clock.now() });

  const podIPOf = (pod: Pod): string => {
    if (pod.spec.hostNetwork) return cfg.nodeIPs[0];
    return state.cached(pod.metadata.uid ?? '')?.sandboxes[0]?.ips[0] ?? pod.status?.podIP ?? '';
  };
  const runProbe = async (pod: Pod, c: import('./api-types.ts').Container, _t: string, p: import('./api-types.ts').Probe, containerId: string): Promise<ProbeOutcome> => {
    const timeoutMs = Math.max(1, p.timeoutSeconds ?? 1) * 1000;
    if (p.exec) return probeExec(runtime, containerId, p.exec.command ?? [], Math.max(1, p.timeoutSeconds ?? 1));
    if (!network) return { result: 'success', output: '' };
    const ip = podIPOf(pod);
    try {
      if (p.httpGet) return await probeHttp(p.httpGet, c, ip, { timeoutMs });
      if (p.tcpSocket) return await probeTcp(p.tcpSocket.host || ip, resolvePort(p.tcpSocket.port, c), timeoutMs);
      if (p.grpc) return await probeGrpc(ip, p.grpc.port, p.grpc.service ?? '', timeoutMs);
    } catch (e) {
      return { result: 'error', output: (e as Error).message };
    }
    return { result: 'error', output: 'missing probe handler' };
  };
  const probes = new ProbeManager({
    clock,
    run: runProbe,
    containerView: (uid, name) => {
      const c = state.cached(uid)?.containers.find((x) => x.name === name);
      return c ? { containerId: c.id, running: c.state === 'running', startedAt: c.startedAt } : undefined;
    },
    onResultChange: (uid) => workers.sync(uid),
    onProbeFailure: (pod, c, type, output, errored) => {
      const what = probeTypeWord(type);
      events.container(pod, c.name, 'Warning', 'Unhealthy', errored ? `${what} probe errored: ${output}` : `${what} probe failed: ${output}`);
    },
    initialReadiness: (uid, name, containerId) => {
      const st = workers.pod(uid)?.status;
      const s = [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? [])].find((x) => x.name === name);
      return s?.ready && s.containerID?.endsWith(`://${containerId}`) ? 'success' : undefined;
    },
  });

  const statusManager = new StatusManager({
    client,
    log,
    apiPod: (uid) => workers.pod(uid),
    retry: (fn) => clock.setTimeout(fn, 1000),
    trace,
  });

  const serviceFactory = new SharedInformerFactory(client, { clock, log });
  const serviceInformer = serviceFactory.informerFor<Service>('', 'services');
  const podInformer: SharedInformer<Pod> = nodePodInformer<Pod>(client, cfg.nodeName, { clock, log });

  const syncer = new PodSyncer({
    config: cfg,
    runtime,
    runtimeName: () => runtimeName,
    state,
    images,
    volumes,
    probes,
    events,
    configMaps,
    secrets,
    services: () => serviceInformer.indexer.list(),
    clock,
    backoff,
    hostDns: () => hostDns,
    memoryCapacity: () => machine.memoryBytes,
    allocatable: () => allocatable,
    setStatus: (pod, status) => void statusManager.setStatus(pod, status),
    cachedStatus: (uid) => statusManager.status(uid),
    network,
    log,
    trace,
  });

  workers = new PodWorkers({
    syncer,
    statusManager,
    clock,
    log,
    syncFrequencyMs: cfg.syncFrequencyMs,
    random: deps.random,
    onSyncing: (pod) => {
      const uid = pod.metadata.uid ?? '';
      const refs = podReferences(pod);
      configMaps.register(uid, pod.metadata.namespace ?? '', refs.configMaps);
      secrets.register(uid, pod.metadata.namespace ?? '', refs.secrets);
      probes.addPod(pod);
    },
    onTerminating: (uid) => probes.removePod(uid),
    onTerminated: async (uid) => {
      probes.removePod(uid);
      await volumes.tearDownPod(uid);
      configMaps.unregister(uid);
      secrets.unregister(uid);
      tokens.deletePod(uid);
      images.forgetPod(uid);
      backoff.deletePrefix(`${workers.pod(uid)?.metadata.name}_${workers.pod(uid)?.metadata.namespace}_${uid}_`);
    },
  });

  podInformer.addEventHandler({
    onAdd: (pod) => {
      if (pod.spec?.nodeName !== cfg.nodeName) return;
      trace.mark(pod, 'informer');
      workers.update(pod);
    },
    onUpdate: (_old, pod) => pod.spec?.nodeName === cfg.nodeName && workers.update(pod),
    onDelete: (pod) => workers.remove(pod),
  });

  const nodeManager = new NodeManager({
    client,
    runtime,
    clock,
    log,
    events,
    machine,
    settings,
    usage: () => (hollow ? undefined : readMachineUsage(cfg.rootDir)),
    statusUpdateFrequencyMs: cfg.nodeStatusUpdateFrequencyMs,
    statusReportFrequencyMs: cfg.nodeStatusReportFrequencyMs,
    leaseDurationSeconds: cfg.nodeLeaseDurationSeconds,
    onPodCidr: (cidr) => {
      try {
        const changed = deps.setPodCidr?.(cidr);
        if (changed) log(`pod CIDR ${cidr} handed to the runtime`);
        // The runtime loads its network config in a moment: look again soon rather than a period later.
        nodeManager.syncSoon(1000);
      } catch (e) {
        log(`could not configure the pod network for ${cidr}: ${(e as Error).message}`);
      }
    },
    onReady: () => {
      syncer.resetRetries();
      for (const uid of workers.uids()) workers.sync(uid);
    },
  });

  const nodeFactory = new SharedInformerFactory(client, { clock, log, fieldSelector: `metadata.name=${cfg.nodeName}` });
  nodeFactory.informerFor<import('./api-types.ts').Node>('', 'nodes').addEventHandler({
    onAdd: (n) => nodeManager.observe(n),
    onUpdate: (_o, n) => nodeManager.observe(n),
  });

  let stopped = false;
  const nodeStarted = nodeManager.start();
  serviceFactory.start();
  podInformer.start();
  nodeFactory.start();

  // The relist (upstream's PLEG): runtime changes wake the pods' workers; pods the runtime has and
  // the API does not are stopped and removed, once the pod list is known.
  let relistTimer: { cancel(): void } | undefined;
  let orphanDirsChecked = false;
  const relist = async (): Promise<void> => {
    if (stopped) return;
    try {
      const { pods, changed } = await state.relist();
      const synced = podInformer.hasSynced();
      for (const uid of changed) {
        if (workers.has(uid)) workers.sync(uid);
        else if (synced && pods.has(uid) && !podInformer.indexer.list().some((p) => p.metadata.uid === uid)) workers.orphan(uid);
      }
      if (synced && !orphanDirsChecked) {
        orphanDirsChecked = true;
        for (const [uid] of pods) if (!workers.has(uid) && !podInformer.indexer.list().some((p) => p.metadata.uid === uid)) workers.orphan(uid);
        for (const uid of await volumes.podsOnDisk()) if (!workers.has(uid)) await volumes.tearDownPod(uid).catch((e) => log(`orphaned pod ${uid}: ${(e as Error).message}`));
      }
    } catch (e) {
      log(`relist failed: ${(e as Error).message}`);
    } finally {
      if (!stopped) relistTimer = clock.setTimeout(() => void relist(), cfg.relistPeriodMs);
    }
  };
  void relist();

  const podByName = (ns: string, name: string): Pod | undefined => podInformer.indexer.get(`${ns}/${name}`);
  const freshest = (p: Pod): Pod => {
    const st = statusManager.status(p.metadata.uid ?? '');
    return st ? { ...p, status: st } : p;
  };
  const containerOf = async (ns: string, podName: string, containerName: string, previous = false) => {
    const pod = podByName(ns, podName);
    if (!pod) return undefined;
    const st = await state.podState(pod.metadata.uid ?? '', podName, ns);
    return st.containers.filter((c) => c.name === containerName)[previous ? 1 : 0];
  };

  return {
    nodeName: cfg.nodeName,
    config: cfg,
    runtime,
    async ready() {
      await nodeStarted;
      await podInformer.waitForSync();
    },
    pod: (ns, name) => {
      const p = podByName(ns, name);
      return p && freshest(p);
    },
    pods: () => podInformer.indexer.list().filter((p) => p.spec?.nodeName === cfg.nodeName).map(freshest),
    async containerId(ns, podName, containerName, previous) {
      return (await containerOf(ns, podName, containerName, previous))?.id;
    },
    async sandboxId(ns, podName) {
      const pod = podByName(ns, podName);
      if (!pod) return undefined;
      return (await state.podState(pod.metadata.uid ?? '', podName, ns)).sandboxes.find((s) => s.ready)?.id;
    },
    async logPath(ns, podName, containerName, previous) {
      return (await containerOf(ns, podName, containerName, previous))?.logPath || undefined;
    },
    idle: () => workers.idle(),
    async stop() {
      if (stopped) return;
      stopped = true;
      relistTimer?.cancel();
      nodeManager.stop();
      podInformer.stop();
      serviceFactory.shutdown();
      nodeFactory.shutdown();
      await workers.stop();
      probes.stop();
      configMaps.stop();
      secrets.stop();
      // Queued events get a moment to go out; a server that does not answer does not hold the stop.
      await Promise.race([broadcaster.flush(), new Promise((r) => setTimeout(r, 2000).unref())]);
      broadcaster.shutdown();
    },
  };
}

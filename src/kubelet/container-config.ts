// The CRI configs the kubelet sends, built purely from the pod and what was resolved for it
// (upstream's generatePodSandboxConfig, generateContainerConfig and makeMounts): names and attempts,
// labels and annotations the kubelet reads back after a restart, DNS, hostname and port mappings,
// the cgroup parent, security contexts, resources, environment, expanded command and mounts.
import type { Container, Pod, VolumeMount } from './api-types.ts';
import { ContainerConfigError, expand, expandCommandAndArgs, type EnvKV } from './env.ts';
import { podHostnameAndDomain } from './hosts.ts';
import { containerAnnotations, containerLabels, podSandboxAnnotations, podSandboxLabels, type ContainerType } from './labels.ts';
import { containerLinuxResources, podCgroupParent, podQosClass } from './qos.ts';
import { containerLogPath, podLogDirectory, type ContainerConfig, type DNSConfig, type Mount, type PodSandboxConfig, type PortMapping } from './runtime/runtime.ts';
import { containerSecurityContext, sandboxSecurityContext } from './security.ts';

export interface SandboxSettings {
  attempt: number;
  /** The root of pod log directories (upstream's /var/log/pods). */
  podLogsRoot: string;
  dns: DNSConfig;
  cgroupRoot: string;
  seccompProfileRoot: string;
  clusterDomain: string;
}

export function podLogDir(podLogsRoot: string, pod: Pod): string {
  return podLogDirectory(podLogsRoot, pod.metadata.namespace ?? '', pod.metadata.name ?? '', pod.metadata.uid ?? '');
}

function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      const m: PortMapping = { protocol: p.protocol ?? 'TCP', container_port: p.containerPort, host_port: p.hostPort };
      if (p.hostIP) m.host_ip = p.hostIP;
      out.push(m);
    }
  }
  return out;
}

/** upstream's generatePodSandboxConfig. */
export function buildSandboxConfig(pod: Pod, s: SandboxSettings): PodSandboxConfig {
  const m = pod.metadata;
  const config: PodSandboxConfig = {
    metadata: { name: m.name ?? '', uid: m.uid ?? '', namespace: m.namespace ?? '', attempt: s.attempt },
    labels: podSandboxLabels(pod),
    annotations: podSandboxAnnotations(pod),
    log_directory: podLogDir(s.podLogsRoot, pod),
    dns_config: s.dns,
    port_mappings: portMappings(pod),
    linux: {
      cgroup_parent: podCgroupParent(s.cgroupRoot, podQosClass(pod), m.uid ?? ''),
      security_context: sandboxSecurityContext(pod, s.seccompProfileRoot),
    },
  };
  // A host-network sandbox has no UTS namespace of its own: the runtime refuses a hostname for it.
  if (!pod.spec.hostNetwork) {
    const { hostname, domain } = podHostnameAndDomain(pod, s.clusterDomain);
    config.hostname = pod.spec.setHostnameAsFQDN && domain ? `${hostname}.${domain}`.slice(0, 64) : hostname;
  } else config.hostname = '';
  const sysctls = pod.spec.securityContext?.sysctls;
  if (sysctls?.length) config.linux!.sysctls = Object.fromEntries(sysctls.map((x) => [x.name, x.value]));
  return config;
}

/** Where a pod volume is on the host, as resolved by the volume manager. */
export interface VolumeHostPath {
  path: string;
  /** configMap, secret, downwardAPI and projected volumes are always read-only in containers. */
  readOnly: boolean;
}

const PROPAGATION = {
  None: 'PROPAGATION_PRIVATE',
  HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
  Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
} as const;

function validSubPath(p: string): boolean {
  return !p.startsWith('/') && !p.split('/').includes('..');
}

export interface MountInputs {
  volumes: ReadonlyMap<string, VolumeHostPath>;
  env: readonly EnvKV[];
  /** The pod's managed /etc/hosts file, when it gets one. */
  hostsFile?: string;
  /** The file the container's termination message goes to. */
  terminationMessageFile?: string;
}

export interface ContainerMount extends Mount {
  /** A subPath directory the caller must create before the container starts. */
  createDir?: string;
}

/** upstream's makeMounts: volume mounts (with subPath and subPathExpr), /etc/hosts and the termination log. */
export function containerMounts(container: Container, m: MountInputs): ContainerMount[] {
  const out: ContainerMount[] = [];
  const envMap = new Map(m.env.map((e) => [e.name, e.value]));
  let mountsHosts = false;
  for (const vm of container.volumeMounts ?? []) {
    const vol = m.volumes.get(vm.name);
    if (!vol) throw new ContainerConfigError(`cannot find volume "${vm.name}" to mount into container "${container.name}"`);
    let hostPath = vol.path;
    let createDir: string | undefined;
    const sub = subPathOf(vm, envMap);
    if (sub) {
      if (!validSubPath(sub)) throw new ContainerConfigError(`unable to provision SubPath \`${sub}\`: must be a relative path without '..'`);
      hostPath = `${vol.path.replace(/\/+$/, '')}/${sub}`;
      createDir = hostPath;
    }
    if (vm.mountPath === '/etc/hosts') mountsHosts = true;
    const mount: ContainerMount = { container_path: vm.mountPath, host_path: hostPath, readonly: !!vm.readOnly || vol.readOnly };
    if (vm.mountPropagation) mount.propagation = PROPAGATION[vm.mountPropagation];
    if (createDir) mount.createDir = createDir;
    out.push(mount);
  }
  if (m.hostsFile && !mountsHosts) out.push({ container_path: '/etc/hosts', host_path: m.hostsFile, readonly: false });
  if (m.terminationMessageFile && container.terminationMessagePath) {
    out.push({ container_path: container.terminationMessagePath, host_path: m.terminationMessageFile });
  }
  return out;
}

function subPathOf(vm: VolumeMount, env: ReadonlyMap<string, string>): string {
  if (vm.subPathExpr) {
    const v = expand(vm.subPathExpr, (n) => env.get(n) ?? '');
    if (!v) throw new ContainerConfigError(`failed to prepare subPath for volumeMount "${vm.name}" of container: empty subPathExpr`);
    return v;
  }
  return vm.subPath ?? '';
}

export interface ContainerSettings {
  type: ContainerType;
  restartCount: number;
  /** The image to run (the runtime's reference for the pulled image). */
  imageRef: string;
  env: readonly EnvKV[];
  mounts: readonly Mount[];
  /** The node's memory capacity in bytes (for the OOM score of Burstable pods). */
  memoryCapacity: bigint;
  seccompProfileRoot: string;
}

/** upstream's generateContainerConfig. */
export function buildContainerConfig(pod: Pod, container: Container, s: ContainerSettings): ContainerConfig {
  const { command, args } = expandCommandAndArgs(container, s.env);
  const config: ContainerConfig = {
    metadata: { name: container.name, attempt: s.restartCount },
    image: { image: s.imageRef, user_specified_image: container.image ?? '' },
    labels: containerLabels(pod, container),
    annotations: containerAnnotations(pod, container, s.restartCount, s.type),
    envs: s.env.map((e) => ({ key: e.name, value: e.value })),
    mounts: s.mounts.map(({ container_path, host_path, readonly, propagation }) => {
      const mm: Mount = { container_path, host_path };
      if (readonly) mm.readonly = true;
      if (propagation) mm.propagation = propagation;
      return mm;
    }),
    log_path: containerLogPath(container.name, s.restartCount),
    stdin: !!container.stdin,
    stdin_once: !!container.stdinOnce,
    tty: !!container.tty,
    linux: {
      resources: containerLinuxResources(pod, container, s.memoryCapacity),
      security_context: containerSecurityContext(pod, container, s.seccompProfileRoot),
    },
  };
  if (command) config.command = command;
  if (args) config.args = args;
  if (container.workingDir) config.working_dir = container.workingDir;
  return config;
}

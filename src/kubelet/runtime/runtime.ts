// The container runtime as the kubelet's pod workers see it: CRI's operations and vocabulary (the
// config and status messages of ../cri/types.ts), behind one interface with two implementations —
// CriRuntime (containerd or any CRI runtime over gRPC) and SimulatedRuntime (the same states without
// containers, for hollow nodes). Both pass the contract suite in contract.ts.
//
// Errors: every failure is a RuntimeError whose code is the gRPC code by Go's name. The codes the
// kubelet acts on: 'NotFound' (the sandbox, container or image does not exist), 'DeadlineExceeded'
// (an exec timed out), 'Unimplemented' (the runtime lacks the feature), 'Unavailable' (the runtime is
// down). Messages are the runtime's own (for containerd, `rpc error: code = … desc = …`).
//
// Semantics shared by both implementations (containerd 1.6's, which upstream's kubelet relies on):
// - stopPodSandbox stops every container of the sandbox and may be repeated; removePodSandbox stops a
//   ready sandbox first, removes its containers, and succeeds for an unknown id;
// - removeContainer stops a running container first and succeeds for an unknown id;
// - stopContainer, startContainer, containerStatus, podSandboxStatus and execSync fail with NotFound
//   for an unknown id; starting an exited container or exec in a non-running one fails (Unknown);
// - imageStatus answers null, not an error, for an image the runtime does not have;
// - a sandbox or container config without linux.security_context.namespace_options gets upstream's
//   (network POD, pid CONTAINER, ipc POD; a container takes its sandbox's), not CRI's pid POD.
import type { GrpcCodeName } from '../cri/client.ts';
import type {
  AttachRequest, AuthConfig, Container, ContainerConfig, ContainerFilter, ContainerStats, ContainerStatsFilter, ContainerStatus,
  ExecRequest, FilesystemUsage, Image, LinuxContainerResources, PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxStatus,
  RuntimeCondition, VersionResponse,
} from '../cri/types.ts';

export type * from '../cri/types.ts';

export class RuntimeError extends Error {
  readonly code: GrpcCodeName;
  /** The operation that failed, e.g. 'containerStatus'. */
  readonly op: string;
  constructor(op: string, code: GrpcCodeName, message: string) {
    super(message);
    this.name = 'RuntimeError';
    this.op = op;
    this.code = code;
  }
}

export function isRuntimeError(e: unknown, code?: GrpcCodeName): e is RuntimeError {
  return e instanceof RuntimeError && (code === undefined || e.code === code);
}
export const isNotFound = (e: unknown): boolean => isRuntimeError(e, 'NotFound');

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface Runtime {
  /** 'cri' or 'simulated'. */
  readonly kind: string;
  version(): Promise<VersionResponse>;
  /** RuntimeReady and NetworkReady, as the node's Ready condition needs. */
  status(): Promise<RuntimeCondition[]>;

  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string>;
  stopPodSandbox(podSandboxId: string): Promise<void>;
  removePodSandbox(podSandboxId: string): Promise<void>;
  podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus>;
  listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandbox[]>;

  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string>;
  startContainer(containerId: string): Promise<void>;
  /** Signals the container (its stop signal, TERM by default) and kills it after timeoutSeconds. */
  stopContainer(containerId: string, timeoutSeconds: number): Promise<void>;
  removeContainer(containerId: string): Promise<void>;
  containerStatus(containerId: string): Promise<ContainerStatus>;
  listContainers(filter?: ContainerFilter): Promise<Container[]>;
  updateContainerResources(containerId: string, linux: LinuxContainerResources): Promise<void>;
  reopenContainerLog(containerId: string): Promise<void>;

  /** Runs cmd in the container and waits; timeoutSeconds 0 waits indefinitely (DeadlineExceeded past it). */
  execSync(containerId: string, cmd: string[], timeoutSeconds?: number): Promise<ExecResult>;
  /** Single-use streaming URLs on the runtime's stream server (see notes/runtime-facts.md). */
  exec(req: ExecRequest): Promise<string>;
  attach(req: AttachRequest): Promise<string>;
  portForward(podSandboxId: string, ports: number[]): Promise<string>;

  containerStats(containerId: string): Promise<ContainerStats | null>;
  listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]>;

  /** Pulls an image; resolves with its image reference (the id the runtime gives it). */
  pullImage(image: string, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig): Promise<string>;
  imageStatus(image: string): Promise<Image | null>;
  listImages(): Promise<Image[]>;
  removeImage(image: string): Promise<void>;
  imageFsInfo(): Promise<FilesystemUsage[]>;

  close(): Promise<void>;
}

// ---- conventions shared with upstream's kubelet ----

/** The directory of a pod's logs: <root>/<namespace>_<name>_<uid> (root is /var/log/pods upstream). */
export function podLogDirectory(root: string, namespace: string, name: string, uid: string): string {
  return `${root}/${namespace}_${name}_${uid}`;
}

/** A container's log file relative to its pod's log directory: <container>/<restartCount>.log. */
export function containerLogPath(containerName: string, restartCount: number): string {
  return `${containerName}/${restartCount}.log`;
}

export interface CriLogLine {
  /** RFC 3339 with nanoseconds, as written. */
  time: string;
  stream: 'stdout' | 'stderr';
  /** true for a 'P' (partial) line: the text continues in the next line of the same stream. */
  partial: boolean;
  text: string;
}

/** Parses one line of a CRI container log (`<RFC3339Nano> <stdout|stderr> <F|P> text`), or null. */
export function parseCriLogLine(line: string): CriLogLine | null {
  const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s.exec(line);
  if (!m) return null;
  return { time: m[1], stream: m[2] as 'stdout' | 'stderr', partial: m[3] === 'P', text: m[4] };
}

/** A CRI log line for text (one line, without its newline) written at time t. */
export function formatCriLogLine(t: Date | string, stream: 'stdout' | 'stderr', text: string, partial = false): string {
  const time = typeof t === 'string' ? t : t.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
  return `${time} ${stream} ${partial ? 'P' : 'F'} ${text}\n`;
}

/** A CRI timestamp (nanoseconds since the epoch, decimal) as a Date (millisecond precision). */
export function nanosToDate(nanos: string | number): Date {
  return new Date(Number(BigInt(nanos) / 1_000_000n));
}

/**
 * An image name in the fully qualified form runtimes report (docker's normalization):
 * 'busybox' → 'docker.io/library/busybox:latest', 'me/app:1' → 'docker.io/me/app:1',
 * 'localhost:5000/app' → 'localhost:5000/app:latest'; names with a digest keep it and get no tag.
 */
export function normalizeImageName(name: string): string {
  let rest = name;
  let domain = 'docker.io';
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      domain = first;
      rest = rest.slice(slash + 1);
    }
  }
  if (domain === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  if (!rest.includes('@') && !/:[^/]+$/.test(rest)) rest += ':latest';
  return `${domain}/${rest}`;
}

// A typed CRI v1 client (RuntimeService and ImageService) over @grpc/grpc-js, for a runtime on a unix
// socket (containerd, CRI-O). The wire table is cri-v1.json (cri-api v0.36.0), loaded with keepCase,
// 64-bit integers as strings, enums as names and defaults on (see types.ts).
//
// Errors: every failed call rejects with a CriError carrying the gRPC code by Go's name ('NotFound',
// 'Unavailable', …) and the message in Go's form, `rpc error: code = NotFound desc = …`, which is
// what upstream's kubelet shows in events and statuses.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import type {
  AttachRequest, AuthConfig, Container, ContainerConfig, ContainerFilter, ContainerStats, ContainerStatsFilter,
  ContainerStatusResponse, ExecRequest, ExecSyncResponse, Image, ImageFsInfoResponse, ImageSpec,
  LinuxContainerResources, PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxStatusResponse, StatusResponse,
  VersionResponse,
} from './types.ts';

/** gRPC status codes by the names Go's codes package gives them. */
export const GRPC_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable',
  'DataLoss', 'Unauthenticated',
] as const;
export type GrpcCodeName = (typeof GRPC_CODE_NAMES)[number];

export class CriError extends Error {
  readonly code: GrpcCodeName;
  /** The RPC that failed, e.g. 'RuntimeService/ContainerStatus'. */
  readonly method: string;
  /** The runtime's own description (the part after `desc =`). */
  readonly details: string;
  constructor(method: string, code: GrpcCodeName, details: string) {
    super(`rpc error: code = ${code} desc = ${details}`);
    this.name = 'CriError';
    this.method = method;
    this.code = code;
    this.details = details;
  }
}

export function isCriError(e: unknown, code?: GrpcCodeName): e is CriError {
  return e instanceof CriError && (code === undefined || e.code === code);
}

export interface CriClientOptions {
  /** Deadline of ordinary calls; upstream kubelet's --runtime-request-timeout default is 2 minutes. */
  timeoutMs?: number;
  /** Deadline of PullImage (upstream sets none, relying on progress detection); default 10 minutes. */
  pullTimeoutMs?: number;
}

let packageDefinition: protoLoader.PackageDefinition | undefined;
function definitions(): protoLoader.PackageDefinition {
  packageDefinition ??= protoLoader.fromJSON(JSON.parse(readFileSync(new URL('./cri-v1.json', import.meta.url), 'utf8')), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return packageDefinition;
}

/** 'unix:///run/x.sock', 'unix:/run/x.sock' or a bare '/run/x.sock' → the gRPC target. */
export function criTarget(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint;
  if (endpoint.startsWith('unix:')) return `unix://${endpoint.slice(5)}`;
  if (endpoint.startsWith('/')) return `unix://${endpoint}`;
  throw new Error(`unsupported container runtime endpoint "${endpoint}": expected unix:///path/to/socket`);
}

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => grpc.ClientUnaryCall;

export class CriClient {
  readonly endpoint: string;
  readonly #runtime: grpc.Client;
  readonly #image: grpc.Client;
  readonly #timeoutMs: number;
  readonly #pullTimeoutMs: number;

  constructor(endpoint: string, options: CriClientOptions = {}) {
    this.endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#pullTimeoutMs = options.pullTimeoutMs ?? 600_000;
    const pkg = grpc.loadPackageDefinition(definitions()) as unknown as {
      runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } };
    };
    // Upstream's kubelet raises the receive limit to 16 MiB: a ListContainers on a full node exceeds 4 MiB.
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
    };
    const target = criTarget(endpoint);
    this.#runtime = new pkg.runtime.v1.RuntimeService(target, grpc.credentials.createInsecure(), channelOptions);
    this.#image = new pkg.runtime.v1.ImageService(target, grpc.credentials.createInsecure(), channelOptions);
  }

  #call<T>(client: grpc.Client, service: string, method: string, req: unknown, timeoutMs?: number): Promise<T> {
    const fn = (client as unknown as Record<string, Unary>)[method];
    const deadline = Date.now() + (timeoutMs ?? this.#timeoutMs);
    return new Promise((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline }, (err, res) => {
        if (err) reject(new CriError(`${service}/${method}`, GRPC_CODE_NAMES[err.code] ?? 'Unknown', err.details || err.message));
        else resolve(res as T);
      });
    });
  }
  #rt<T>(method: string, req: unknown, timeoutMs?: number): Promise<T> {
    return this.#call<T>(this.#runtime, 'RuntimeService', method, req, timeoutMs);
  }
  #img<T>(method: string, req: unknown, timeoutMs?: number): Promise<T> {
    return this.#call<T>(this.#image, 'ImageService', method, req, timeoutMs);
  }

  // ---- RuntimeService ----

  version(): Promise<VersionResponse> {
    return this.#rt('Version', { version: 'v1' });
  }
  status(verbose = false): Promise<StatusResponse> {
    return this.#rt('Status', { verbose });
  }
  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    const r = await this.#rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config, runtime_handler: runtimeHandler });
    return r.pod_sandbox_id;
  }
  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.#rt('StopPodSandbox', { pod_sandbox_id: podSandboxId });
  }
  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.#rt('RemovePodSandbox', { pod_sandbox_id: podSandboxId });
  }
  podSandboxStatus(podSandboxId: string, verbose = false): Promise<PodSandboxStatusResponse> {
    return this.#rt('PodSandboxStatus', { pod_sandbox_id: podSandboxId, verbose });
  }
  async listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    return (await this.#rt<{ items: PodSandbox[] }>('ListPodSandbox', { filter: filter ?? null })).items;
  }
  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const r = await this.#rt<{ container_id: string }>('CreateContainer', {
      pod_sandbox_id: podSandboxId,
      config,
      sandbox_config: sandboxConfig,
    });
    return r.container_id;
  }
  async startContainer(containerId: string): Promise<void> {
    await this.#rt('StartContainer', { container_id: containerId });
  }
  /** timeoutSeconds is the grace period before the runtime kills; the call's deadline allows for it. */
  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.#rt('StopContainer', { container_id: containerId, timeout: timeoutSeconds }, this.#timeoutMs + timeoutSeconds * 1000);
  }
  async removeContainer(containerId: string): Promise<void> {
    await this.#rt('RemoveContainer', { container_id: containerId });
  }
  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    return (await this.#rt<{ containers: Container[] }>('ListContainers', { filter: filter ?? null })).containers;
  }
  containerStatus(containerId: string, verbose = false): Promise<ContainerStatusResponse> {
    return this.#rt('ContainerStatus', { container_id: containerId, verbose });
  }
  async updateContainerResources(containerId: string, linux: LinuxContainerResources): Promise<void> {
    await this.#rt('UpdateContainerResources', { container_id: containerId, linux });
  }
  async reopenContainerLog(containerId: string): Promise<void> {
    await this.#rt('ReopenContainerLog', { container_id: containerId });
  }
  /** timeoutSeconds 0 means no timeout on the command; the call's deadline then is the default one. */
  execSync(containerId: string, cmd: string[], timeoutSeconds = 0): Promise<ExecSyncResponse> {
    return this.#rt('ExecSync', { container_id: containerId, cmd, timeout: timeoutSeconds }, this.#timeoutMs + timeoutSeconds * 1000);
  }
  async exec(req: ExecRequest): Promise<string> {
    return (await this.#rt<{ url: string }>('Exec', req)).url;
  }
  async attach(req: AttachRequest): Promise<string> {
    return (await this.#rt<{ url: string }>('Attach', req)).url;
  }
  async portForward(podSandboxId: string, ports: number[]): Promise<string> {
    return (await this.#rt<{ url: string }>('PortForward', { pod_sandbox_id: podSandboxId, port: ports })).url;
  }
  async containerStats(containerId: string): Promise<ContainerStats | null> {
    return (await this.#rt<{ stats: ContainerStats | null }>('ContainerStats', { container_id: containerId })).stats;
  }
  async listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]> {
    return (await this.#rt<{ stats: ContainerStats[] }>('ListContainerStats', { filter: filter ?? null })).stats;
  }
  async updateRuntimeConfig(podCidr: string): Promise<void> {
    await this.#rt('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: podCidr } } });
  }

  // ---- ImageService ----

  async pullImage(image: ImageSpec, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig): Promise<string> {
    const r = await this.#img<{ image_ref: string }>('PullImage', { image, auth: auth ?? null, sandbox_config: sandboxConfig ?? null }, this.#pullTimeoutMs);
    return r.image_ref;
  }
  /** The image, or null when the runtime does not have it (not an error in CRI). */
  async imageStatus(image: ImageSpec, verbose = false): Promise<Image | null> {
    return (await this.#img<{ image: Image | null }>('ImageStatus', { image, verbose })).image;
  }
  async listImages(filter?: ImageSpec): Promise<Image[]> {
    return (await this.#img<{ images: Image[] }>('ListImages', { filter: filter ? { image: filter } : null })).images;
  }
  async removeImage(image: ImageSpec): Promise<void> {
    await this.#img('RemoveImage', { image });
  }
  imageFsInfo(): Promise<ImageFsInfoResponse> {
    return this.#img('ImageFsInfo', {});
  }

  close(): void {
    this.#runtime.close();
    this.#image.close();
  }
}

// The Runtime over CRI: containerd (the agent's own, or one named by --container-runtime-endpoint)
// or any other CRI v1 runtime. A thin adapter: CRI errors become RuntimeErrors with the same code.
import { CriClient, isCriError, type CriClientOptions } from '../cri/client.ts';
import type {
  AttachRequest, AuthConfig, Container, ContainerConfig, ContainerFilter, ContainerStats, ContainerStatsFilter, ContainerStatus,
  ExecRequest, FilesystemUsage, Image, LinuxContainerResources, PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxStatus,
  RuntimeCondition, VersionResponse,
} from '../cri/types.ts';
import { RuntimeError, type ExecResult, type Runtime } from './runtime.ts';

/**
 * Upstream's defaults where a config leaves namespace_options out. CRI's own default for an omitted
 * pid mode is POD (every container sees the pause process as PID 1), which is not what a pod without
 * shareProcessNamespace gets from upstream's kubelet; and a container without them falls back to
 * that too, whatever its sandbox says.
 */
export function withNamespaceOptions(config: PodSandboxConfig): PodSandboxConfig {
  if (config.linux?.security_context?.namespace_options) return config;
  return {
    ...config,
    linux: {
      ...config.linux,
      security_context: { ...config.linux?.security_context, namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
}

export class CriRuntime implements Runtime {
  readonly kind = 'cri';
  readonly client: CriClient;

  constructor(endpoint: string, options?: CriClientOptions) {
    this.client = new CriClient(endpoint, options);
  }

  async #do<T>(op: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (isCriError(e)) throw new RuntimeError(op, e.code, e.message);
      throw e;
    }
  }

  version(): Promise<VersionResponse> {
    return this.#do('version', () => this.client.version());
  }
  status(): Promise<RuntimeCondition[]> {
    return this.#do('status', async () => (await this.client.status()).status?.conditions ?? []);
  }

  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string> {
    return this.#do('runPodSandbox', () => this.client.runPodSandbox(withNamespaceOptions(config), runtimeHandler));
  }
  stopPodSandbox(id: string): Promise<void> {
    return this.#do('stopPodSandbox', () => this.client.stopPodSandbox(id));
  }
  removePodSandbox(id: string): Promise<void> {
    return this.#do('removePodSandbox', () => this.client.removePodSandbox(id));
  }
  podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    return this.#do('podSandboxStatus', async () => {
      const r = await this.client.podSandboxStatus(id);
      if (!r.status) throw new RuntimeError('podSandboxStatus', 'Unknown', `runtime returned no status for sandbox "${id}"`);
      return r.status;
    });
  }
  listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    return this.#do('listPodSandboxes', () => this.client.listPodSandbox(filter));
  }

  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const sandbox = withNamespaceOptions(sandboxConfig);
    let c = config;
    if (!config.linux?.security_context?.namespace_options) {
      const namespace_options = sandbox.linux!.security_context!.namespace_options!;
      c = { ...config, linux: { ...config.linux, security_context: { ...config.linux?.security_context, namespace_options } } };
    }
    return this.#do('createContainer', () => this.client.createContainer(podSandboxId, c, sandbox));
  }
  startContainer(id: string): Promise<void> {
    return this.#do('startContainer', () => this.client.startContainer(id));
  }
  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    return this.#do('stopContainer', () => this.client.stopContainer(id, timeoutSeconds));
  }
  removeContainer(id: string): Promise<void> {
    return this.#do('removeContainer', () => this.client.removeContainer(id));
  }
  containerStatus(id: string): Promise<ContainerStatus> {
    return this.#do('containerStatus', async () => {
      const r = await this.client.containerStatus(id);
      if (!r.status) throw new RuntimeError('containerStatus', 'Unknown', `runtime returned no status for container "${id}"`);
      return r.status;
    });
  }
  listContainers(filter?: ContainerFilter): Promise<Container[]> {
    return this.#do('listContainers', () => this.client.listContainers(filter));
  }
  updateContainerResources(id: string, linux: LinuxContainerResources): Promise<void> {
    return this.#do('updateContainerResources', () => this.client.updateContainerResources(id, linux));
  }
  reopenContainerLog(id: string): Promise<void> {
    return this.#do('reopenContainerLog', () => this.client.reopenContainerLog(id));
  }

  execSync(id: string, cmd: string[], timeoutSeconds = 0): Promise<ExecResult> {
    return this.#do('execSync', async () => {
      const r = await this.client.execSync(id, cmd, timeoutSeconds);
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exit_code };
    });
  }
  exec(req: ExecRequest): Promise<string> {
    return this.#do('exec', () => this.client.exec(req));
  }
  attach(req: AttachRequest): Promise<string> {
    return this.#do('attach', () => this.client.attach(req));
  }
  portForward(podSandboxId: string, ports: number[]): Promise<string> {
    return this.#do('portForward', () => this.client.portForward(podSandboxId, ports));
  }

  containerStats(id: string): Promise<ContainerStats | null> {
    return this.#do('containerStats', () => this.client.containerStats(id));
  }
  listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]> {
    return this.#do('listContainerStats', () => this.client.listContainerStats(filter));
  }

  pullImage(image: string, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig): Promise<string> {
    return this.#do('pullImage', () => this.client.pullImage({ image }, auth, sandboxConfig));
  }
  imageStatus(image: string): Promise<Image | null> {
    return this.#do('imageStatus', () => this.client.imageStatus({ image }));
  }
  listImages(): Promise<Image[]> {
    return this.#do('listImages', () => this.client.listImages());
  }
  removeImage(image: string): Promise<void> {
    return this.#do('removeImage', () => this.client.removeImage({ image }));
  }
  imageFsInfo(): Promise<FilesystemUsage[]> {
    return this.#do('imageFsInfo', async () => (await this.client.imageFsInfo()).image_filesystems);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

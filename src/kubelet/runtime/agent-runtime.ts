// The agent's runtime, composed: which Runtime the kubelet gets (simulated, an existing CRI endpoint,
// or the agent's own supervised containerd), the CNI config for the node's pod CIDR once it is known,
// and the once-each import of <data-dir>/agent/images. The CLI builds one of these from its flags.
//
// The pod CIDR is allocated by the controller-manager after the node registers, so containerd starts
// without a network config (its NetworkReady condition is false, which keeps the node NotReady, as
// upstream) and setPodCidr() writes it later; containerd watches the directory and loads it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient } from '../cri/client.ts';
import { writeCniConfig } from './cni.ts';
import { Containerd, DEFAULT_SANDBOX_IMAGE, containerdPaths, importImage, importImagesOnce, type ContainerdEvent } from './containerd.ts';
import { CriRuntime } from './cri-runtime.ts';
import { parseRegistries } from './registries.ts';
import type { Runtime } from './runtime.ts';
import { SimulatedRuntime, type SimulatedRuntimeOptions } from './simulated.ts';

export interface AgentPaths {
  /** containerd's home (config, socket, root, state). */
  containerd: string;
  cniConfDir: string;
  cniIpamDir: string;
  /** Image tarballs imported once each at start. */
  images: string;
  /** Where the kubelet puts pods' log directories (upstream: /var/log/pods). */
  podLogs: string;
}

export function agentPaths(dataDir: string): AgentPaths {
  const agent = join(dataDir, 'agent');
  return {
    containerd: join(agent, 'containerd'),
    cniConfDir: join(agent, 'cni', 'net.d'),
    cniIpamDir: join(agent, 'cni', 'networks'),
    images: join(agent, 'images'),
    podLogs: join(agent, 'logs', 'pods'),
  };
}

export type AgentRuntimeEvent =
  | ContainerdEvent
  | { type: 'imported'; file: string; images: string[] }
  | { type: 'import-failed'; file: string; error: string };

export interface AgentRuntimeOptions {
  dataDir: string;
  /** --container-runtime-endpoint: use that runtime and start nothing. */
  endpoint?: string;
  /** --simulated: no containers at all. */
  simulated?: boolean | SimulatedRuntimeOptions;
  /** Run containerd inside this network namespace (a path such as /run/netns/NAME). */
  netns?: string;
  /** --registry-config: a k3s-format registries file. */
  registriesFile?: string;
  sandboxImage?: string;
  onEvent?: (e: AgentRuntimeEvent) => void;
}

export interface AgentRuntime {
  runtime: Runtime;
  /** The supervised containerd, when the agent runs its own. */
  containerd?: Containerd;
  paths: AgentPaths;
  /** Writes the CNI config for the node's pod CIDR (own containerd only); true when it changed. */
  setPodCidr(podCidr: string): boolean;
  /** Closes the runtime client and stops the agent's own containerd (containers keep running). */
  stop(): Promise<void>;
}

/**
 * Starts the runtime the flags ask for. Throws a RuntimeSetupError (one line, with the fix) when the
 * agent's own containerd cannot run, and an Error naming the file for a bad registries file; in both
 * cases nothing is left running.
 */
export async function startAgentRuntime(o: AgentRuntimeOptions): Promise<AgentRuntime> {
  const paths = agentPaths(o.dataDir);
  if (o.simulated) {
    const runtime = new SimulatedRuntime({ images: [o.sandboxImage ?? DEFAULT_SANDBOX_IMAGE], ...(o.simulated === true ? {} : o.simulated) });
    return { runtime, paths, setPodCidr: () => false, stop: () => runtime.close() };
  }
  if (o.endpoint) {
    const runtime = new CriRuntime(o.endpoint);
    return { runtime, paths, setPodCidr: () => false, stop: () => runtime.close() };
  }
  const registries = o.registriesFile ? parseRegistries(readFileSync(o.registriesFile, 'utf8'), o.registriesFile) : undefined;
  const containerd = new Containerd({
    dir: paths.containerd,
    cniConfDir: paths.cniConfDir,
    sandboxImage: o.sandboxImage,
    registries,
    netns: o.netns,
    onEvent: o.onEvent,
  });
  await containerd.start();
  const imports = await importImagesOnce(containerd.paths.socket, paths.images, containerd.paths.imported);
  for (const [file, images] of Object.entries(imports.imported)) o.onEvent?.({ type: 'imported', file, images });
  for (const [file, error] of Object.entries(imports.failed)) o.onEvent?.({ type: 'import-failed', file, error });
  const runtime = new CriRuntime(containerd.endpoint);
  return {
    runtime,
    containerd,
    paths,
    setPodCidr: (podCidr) => writeCniConfig(paths.cniConfDir, { podCidr, ipamDataDir: paths.cniIpamDir }),
    stop: async () => {
      await runtime.close();
      await containerd.stop();
    },
  };
}

/**
 * `rudder images import FILE`: imports into the running agent's containerd of dataDir. When it is not
 * running, says how to get the image in instead (one line).
 */
export async function importIntoAgent(dataDir: string, file: string): Promise<string[]> {
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  const socket = containerdPaths(agentPaths(dataDir).containerd).socket;
  const probe = new CriClient(`unix://${socket}`, { timeoutMs: 2000 });
  const up = existsSync(socket) && (await probe.version().then(() => true, () => false));
  probe.close();
  if (!up) {
    throw new Error(`the agent's containerd for ${dataDir} is not running: start the agent, or copy ${file} into ${agentPaths(dataDir).images}/ to import it at the next start`);
  }
  return importImage(socket, file);
}

// Reading a cluster the way a user does (kubectl) for the end-to-end tests: waiting for objects to
// reach a state, and reading a container's log from its node's disk (the file `kubectl logs`
// serves), so the kubelet's acceptance tests do not depend on the streaming path.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentPaths } from '../../src/kubelet/runtime/agent-runtime.ts';
import { containerLogPath, podLogDirectory } from '../../src/kubelet/runtime/runtime.ts';
import { runIn, type E2ECluster, type E2ENode } from './cluster.ts';

// The shapes the tests read; loose on purpose (the API answers more).
export interface ContainerState {
  running?: { startedAt?: string };
  waiting?: { reason?: string; message?: string };
  terminated?: { exitCode: number; reason?: string; startedAt?: string; finishedAt?: string; containerID?: string };
}
export interface ContainerStatus {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  containerID?: string;
  image: string;
  imageID: string;
  state: ContainerState;
  lastState: ContainerState;
}
export interface PodJson {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  spec: { nodeName?: string; containers: { name: string }[] };
  status: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    qosClass?: string;
    conditions?: { type: string; status: string; reason?: string }[];
    containerStatuses?: ContainerStatus[];
  };
}
export interface EventJson {
  reason: string;
  message: string;
  type: string;
  count?: number;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  involvedObject: { name: string; fieldPath?: string };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls f until it answers something other than undefined; throws with the last observation after timeoutMs. */
export async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>, last?: () => string, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms${last ? `\n${last()}` : ''}`);
    await sleep(everyMs);
  }
}

export async function getJson<T = any>(c: E2ECluster, args: string[]): Promise<T> {
  return JSON.parse(await c.k(['get', ...args, '-o', 'json'])) as T;
}

export async function pods(c: E2ECluster, selector: string, namespace = 'default'): Promise<PodJson[]> {
  return (await getJson<{ items: PodJson[] }>(c, ['pods', '-n', namespace, '-l', selector])).items;
}

export function condition(p: PodJson, type: string): string | undefined {
  return p.status.conditions?.find((x) => x.type === type)?.status;
}

export function isReady(p: PodJson): boolean {
  return condition(p, 'Ready') === 'True';
}

/** Waits until a pod satisfies ok; answers that pod. */
export async function waitPod(c: E2ECluster, name: string, ok: (p: PodJson) => boolean, timeoutMs = 90_000, namespace = 'default'): Promise<PodJson> {
  let last: PodJson | undefined;
  return until(
    `pod ${namespace}/${name}`,
    timeoutMs,
    async () => {
      const r = await c.kubectl(['get', 'pod', '-n', namespace, name, '-o', 'json']);
      if (r.code !== 0) return undefined;
      last = JSON.parse(r.stdout) as PodJson;
      return ok(last) ? last : undefined;
    },
    () => JSON.stringify(last?.status, null, 1),
  );
}

/** Waits until the pods matching a selector satisfy ok (as a whole); answers them. */
export async function waitPods(c: E2ECluster, selector: string, ok: (ps: PodJson[]) => boolean, timeoutMs = 90_000, namespace = 'default'): Promise<PodJson[]> {
  let last: PodJson[] = [];
  return until(
    `pods ${selector}`,
    timeoutMs,
    async () => {
      last = await pods(c, selector, namespace);
      return ok(last) ? last : undefined;
    },
    () => last.map((p) => `${p.metadata.name} ${p.spec.nodeName} ${p.status.phase} ${JSON.stringify(p.status.containerStatuses?.map((s) => s.state))}`).join('\n'),
  );
}

/** The events of one object, oldest first (as `kubectl describe` lists them). */
export async function eventsOf(c: E2ECluster, name: string, namespace = 'default'): Promise<EventJson[]> {
  const items = (await getJson<{ items: (EventJson & { lastTimestamp?: string; eventTime?: string; metadata: { name: string } })[] }>(c, ['events', '-n', namespace, '--field-selector', `involvedObject.name=${name}`])).items;
  return items;
}

/**
 * A container's log as the kubelet's runtime wrote it on the node (CRI format:
 * `<time> <stream> <F|P> <text>`), reduced to its text lines: what `kubectl logs` shows.
 */
export function containerLog(node: E2ENode, pod: PodJson, container: string, restartCount = 0): string {
  const dir = podLogDirectory(agentPaths(node.dataDir).podLogs, pod.metadata.namespace, pod.metadata.name, pod.metadata.uid);
  const file = join(dir, containerLogPath(container, restartCount));
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    let listing = '';
    try {
      listing = readdirSync(dir, { recursive: true }).join(', ');
    } catch {
      listing = '(no pod log directory)';
    }
    throw new Error(`no log ${file} (${(e as Error).message}); present: ${listing}`);
  }
  // A partial line (tag P) continues in the next record.
  let text = '';
  for (const l of raw.split('\n')) {
    if (!l) continue;
    const [, , tag, ...rest] = l.split(' ');
    text += rest.join(' ') + (tag === 'P' ? '' : '\n');
  }
  return text;
}

/** GET url from inside a network namespace (a node's, to reach its pods); answers status and body. */
export async function httpGetIn(ns: string, url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const script = `fetch(process.argv[1], { signal: AbortSignal.timeout(${timeoutMs}) }).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => { console.error(String(e.cause ?? e)); process.exit(2); })`;
  const r = await runIn(ns, process.execPath, ['-e', script, url], { timeoutMs: timeoutMs + 5000 });
  if (r.code !== 0) throw new Error(`GET ${url} in ${ns}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return JSON.parse(r.stdout) as { status: number; body: string };
}

// Reading what the runtime holds, per pod (upstream's GetPodStatus) and for all pods at once (the
// generic PLEG's relist: containerd 1.6 has no container events, so the kubelet lists every second
// and syncs the pods whose sandboxes or containers changed). Container statuses are cached by id
// while the listed state is unchanged, and an exited container's forever, so a relist costs two List
// calls plus one Status call per change. An exited container's termination message is read here,
// once, from the file the container wrote (or the tail of its log, per its policy).
import { open } from 'node:fs/promises';
import { POD_UID_LABEL, containerInfoFromAnnotations } from './labels.ts';
import { emptyPodState, fromCriContainerStatus, fromCriSandboxStatus, podIdentityFromLabels, type RuntimeContainer, type RuntimePodState, type RuntimeSandbox } from './pod-state.ts';
import { isNotFound, parseCriLogLine, type Container, type PodSandbox, type Runtime } from './runtime/runtime.ts';

export const MAX_TERMINATION_MESSAGE_BYTES = 4096;
export const MAX_TERMINATION_LOG_LINES = 80;
export const MAX_TERMINATION_LOG_BYTES = 2048;

async function readHead(path: string, max: number): Promise<string | undefined> {
  let f;
  try {
    f = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await f.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await f.close();
  }
}

async function readTail(path: string, max: number): Promise<string> {
  let f;
  try {
    f = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = (await f.stat()).size;
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    await f.read(buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    await f.close();
  }
}

/** The last lines of a CRI log, as text (at most MAX_TERMINATION_LOG_LINES lines and _BYTES bytes). */
export async function logTail(path: string): Promise<string> {
  const raw = await readTail(path, 64 * 1024);
  const lines = raw.split('\n').filter(Boolean);
  let text = '';
  for (const l of lines.slice(-MAX_TERMINATION_LOG_LINES)) {
    const p = parseCriLogLine(l);
    if (!p) continue;
    text += p.text + (p.partial ? '' : '\n');
  }
  return text.length > MAX_TERMINATION_LOG_BYTES ? text.slice(text.length - MAX_TERMINATION_LOG_BYTES) : text;
}

/** Adds the termination message to an exited container's message, as upstream's convertToKubeContainerStatus. */
async function withTerminationMessage(c: RuntimeContainer, annotations: Record<string, string>): Promise<RuntimeContainer> {
  if (c.state !== 'exited') return c;
  const info = containerInfoFromAnnotations(annotations);
  const fallback = info.terminationMessagePolicy === 'FallbackToLogsOnError' && c.exitCode !== 0 && c.reason !== 'ContainerCannotRun';
  let msg = '';
  let checkLogs = fallback;
  if (info.terminationMessagePath) {
    const host = c.mounts[info.terminationMessagePath];
    if (host) {
      const data = await readHead(host, MAX_TERMINATION_MESSAGE_BYTES);
      if (data !== undefined) {
        msg = data;
        checkLogs = fallback && data.length === 0;
      }
    }
  }
  if (checkLogs && c.logPath) msg = await logTail(c.logPath);
  if (!msg) return c;
  return { ...c, message: c.message ? `${c.message}: ${msg}` : msg };
}

interface CachedContainer {
  listedState: string;
  value: RuntimeContainer;
}
interface CachedSandbox {
  listedState: string;
  value: RuntimeSandbox;
}

function sortNewestFirst<T extends { createdAt: number }>(xs: T[]): T[] {
  return xs.sort((a, b) => b.createdAt - a.createdAt);
}

export class RuntimeState {
  readonly #runtime: Runtime;
  readonly #containers = new Map<string, CachedContainer>();
  readonly #sandboxes = new Map<string, CachedSandbox>();
  #last = new Map<string, RuntimePodState>();
  /** Whether a relist has completed (then #last holds every pod the runtime had at its listing). */
  #relisted = false;

  constructor(runtime: Runtime) {
    this.#runtime = runtime;
  }

  async #container(c: Container): Promise<RuntimeContainer | undefined> {
    const hit = this.#containers.get(c.id);
    if (hit && hit.listedState === c.state) return hit.value;
    let s;
    try {
      s = await this.#runtime.containerStatus(c.id);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const value = await withTerminationMessage(fromCriContainerStatus(s, c.pod_sandbox_id), s.annotations ?? {});
    this.#containers.set(c.id, { listedState: s.state, value });
    return value;
  }

  async #sandbox(s: PodSandbox): Promise<RuntimeSandbox | undefined> {
    const hit = this.#sandboxes.get(s.id);
    if (hit && hit.listedState === s.state) return hit.value;
    let st;
    try {
      st = await this.#runtime.podSandboxStatus(s.id);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const value = fromCriSandboxStatus(st);
    this.#sandboxes.set(s.id, { listedState: st.state, value });
    return value;
  }

  async #build(sandboxes: PodSandbox[], containers: Container[]): Promise<Map<string, RuntimePodState>> {
    const pods = new Map<string, RuntimePodState>();
    const podOf = (labels: Record<string, string>): RuntimePodState | undefined => {
      const id = podIdentityFromLabels(labels);
      if (!id) return undefined;
      let p = pods.get(id.uid);
      if (!p) pods.set(id.uid, (p = emptyPodState(id.uid, id.name, id.namespace)));
      return p;
    };
    await Promise.all(sandboxes.map(async (s) => {
      const p = podOf(s.labels);
      if (!p) return;
      const v = await this.#sandbox(s);
      if (v) p.sandboxes.push(v);
    }));
    await Promise.all(containers.map(async (c) => {
      const p = podOf(c.labels);
      if (!p) return;
      const v = await this.#container(c);
      if (v) p.containers.push(v);
    }));
    for (const p of pods.values()) {
      sortNewestFirst(p.sandboxes);
      sortNewestFirst(p.containers);
    }
    return pods;
  }

  /** The runtime's view of one pod, fresh. */
  async podState(uid: string, name = '', namespace = ''): Promise<RuntimePodState> {
    const selector = { [POD_UID_LABEL]: uid };
    const [sandboxes, containers] = await Promise.all([
      this.#runtime.listPodSandboxes({ label_selector: selector }),
      this.#runtime.listContainers({ label_selector: selector }),
    ]);
    const pods = await this.#build(sandboxes, containers);
    const st = pods.get(uid) ?? emptyPodState(uid, name, namespace);
    this.#last.set(uid, st);
    return st;
  }

  /**
   * Whether the runtime had nothing of the pod when last looked at: a relist has completed and
   * neither it nor a later podState saw the pod. Whatever was made for the pod since, its maker knows.
   */
  absent(uid: string): boolean {
    return this.#relisted && !this.#last.has(uid);
  }

  /** The last state seen of a pod (from podState or relist), without asking the runtime. */
  cached(uid: string): RuntimePodState | undefined {
    return this.#last.get(uid);
  }

  /** Lists everything; answers every pod's state and the uids whose state changed since the last relist. */
  async relist(): Promise<{ pods: Map<string, RuntimePodState>; changed: Set<string> }> {
    const [sandboxes, containers] = await Promise.all([this.#runtime.listPodSandboxes(), this.#runtime.listContainers()]);
    const pods = await this.#build(sandboxes, containers);
    const changed = new Set<string>();
    for (const [uid, st] of pods) {
      const old = this.#last.get(uid);
      if (!old || fingerprint(old) !== fingerprint(st)) changed.add(uid);
    }
    for (const uid of this.#last.keys()) if (!pods.has(uid)) changed.add(uid);
    // Forget statuses of what no longer exists.
    const ids = new Set(containers.map((c) => c.id));
    for (const id of this.#containers.keys()) if (!ids.has(id)) this.#containers.delete(id);
    const sids = new Set(sandboxes.map((s) => s.id));
    for (const id of this.#sandboxes.keys()) if (!sids.has(id)) this.#sandboxes.delete(id);
    this.#last = pods;
    this.#relisted = true;
    return { pods, changed };
  }

  forget(uid: string): void {
    this.#last.delete(uid);
  }
}

/** What makes a pod's runtime state "changed" for the relist: ids and states. */
export function fingerprint(s: RuntimePodState): string {
  return [...s.sandboxes.map((x) => `${x.id}:${x.ready}`), ...s.containers.map((c) => `${c.id}:${c.state}`)].sort().join(',');
}

// Plugin results and the failure message: upstream's framework.Status codes, the per-node
// statuses of a failed cycle, and FitError's message ("0/3 nodes are available: ...") built with
// upstream's exact counting, sorting and punctuation.

export const Code = {
  Success: 0,
  Error: 1,
  Unschedulable: 2,
  UnschedulableAndUnresolvable: 3,
  Wait: 4,
  Skip: 5,
  Pending: 6,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const CODE_NAMES = ['Success', 'Error', 'Unschedulable', 'UnschedulableAndUnresolvable', 'Wait', 'Skip', 'Pending'];

/**
 * A plugin's answer. Plugins return `null` (or undefined) for success, so the hot path allocates
 * nothing; a Status object always means something other than plain success.
 */
export class Status {
  readonly code: Code;
  readonly reasons: string[];
  /** The plugin that produced it (set by the framework). */
  plugin = '';
  readonly err?: Error;

  constructor(code: Code, ...reasons: string[]) {
    this.code = code;
    this.reasons = reasons;
  }

  static error(err: Error | string): Status {
    const e = typeof err === 'string' ? new Error(err) : err;
    const s = new Status(Code.Error, e.message);
    (s as { err?: Error }).err = e;
    return s;
  }

  /** The reasons joined by ", " (upstream's Status.Message). */
  message(): string {
    return this.reasons.join(', ');
  }

  /** Unschedulable or UnschedulableAndUnresolvable. */
  isRejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable || this.code === Code.Pending;
  }

  withPlugin(name: string): this {
    this.plugin = name;
    return this;
  }

  toString(): string {
    return `${CODE_NAMES[this.code]}${this.reasons.length ? `: ${this.message()}` : ''}`;
  }
}

export type MaybeStatus = Status | null | undefined;

const fixedStatuses = new Map<string, Status>();

/**
 * A shared Status for a per-node outcome that does not vary (e.g. "Insufficient cpu"): filters
 * return it for every node they reject instead of allocating one each time. Callers only ever
 * set its plugin name, and a given outcome is only returned by one plugin.
 */
export function fixedStatus(code: Code, ...reasons: string[]): Status {
  const key = `${code}\x00${reasons.join('\x00')}`;
  let s = fixedStatuses.get(key);
  if (!s) {
    if (fixedStatuses.size >= 4096) fixedStatuses.clear();
    s = new Status(code, ...reasons);
    Object.freeze(s.reasons);
    fixedStatuses.set(key, s);
  }
  return s;
}

export function isSuccess(s: MaybeStatus): boolean {
  return !s || s.code === Code.Success;
}

export function isSkip(s: MaybeStatus): boolean {
  return !!s && s.code === Code.Skip;
}

export function codeOf(s: MaybeStatus): Code {
  return s ? s.code : Code.Success;
}

/** An Error carrying a Status (a plugin or API failure, not a "does not fit"). */
export class SchedulerError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message());
    this.status = status;
  }
}

/**
 * The statuses of the nodes a cycle rejected, plus one status for every node not listed (those a
 * PreFilter ruled out wholesale). upstream's NodeToStatus.
 */
export class NodeToStatus {
  readonly map = new Map<string, Status>();
  absent: Status;

  constructor(absent: Status = new Status(Code.UnschedulableAndUnresolvable)) {
    this.absent = absent;
  }

  set(node: string, s: Status): void {
    this.map.set(node, s);
  }

  /** The status of a node: its own, or the absent nodes' one. */
  get(node: string): Status {
    return this.map.get(node) ?? this.absent;
  }

  get size(): number {
    return this.map.size;
  }

  /** Names of the nodes (from `all`) whose status has this code, absent ones included. */
  nodesWithCode(all: readonly string[], code: Code): string[] {
    const out: string[] = [];
    for (const n of all) if (this.get(n).code === code) out.push(n);
    return out;
  }
}

/** Why a cycle found no node (upstream's Diagnosis). */
export interface Diagnosis {
  nodeToStatus: NodeToStatus;
  /** Plugins that rejected the pod (Unschedulable/UnschedulableAndUnresolvable); drive requeueing. */
  unschedulablePlugins: Set<string>;
  /** Plugins that answered Pending. */
  pendingPlugins: Set<string>;
  preFilterMsg: string;
  postFilterMsg: string;
}

export function newDiagnosis(): Diagnosis {
  return { nodeToStatus: new NodeToStatus(), unschedulablePlugins: new Set(), pendingPlugins: new Set(), preFilterMsg: '', postFilterMsg: '' };
}

export function addPluginStatus(d: Diagnosis, s: Status): void {
  if (!s.plugin) return;
  if (s.code === Code.Unschedulable || s.code === Code.UnschedulableAndUnresolvable) d.unschedulablePlugins.add(s.plugin);
  if (s.code === Code.Pending) d.pendingPlugins.add(s.plugin);
}

/** Go's sort.Strings order: byte-wise on UTF-8, which for these messages is code-unit order. */
function goStringLess(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * upstream's FitError.Error(): "0/N nodes are available:" then the PreFilter message, or else
 * the histogram of node reasons ("<count> <reason>" sorted as strings, ", "-joined) counting
 * the nodes absent from the map with the absent status; each part ends with "."; then the
 * PostFilter (preemption) message as it is.
 */
export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) {
    msg += ` ${d.preFilterMsg}.`;
  } else {
    const reasons = new Map<string, number>();
    for (const s of d.nodeToStatus.map.values()) for (const r of s.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const absentCount = numAllNodes - d.nodeToStatus.size;
    if (absentCount > 0) for (const r of d.nodeToStatus.absent.reasons) reasons.set(r, (reasons.get(r) ?? 0) + absentCount);
    const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort(goStringLess);
    if (parts.length) msg += ` ${parts.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}`;
  return msg;
}

/** A cycle that found no node for the pod; message() is computed when asked, after PostFilter. */
export class FitError {
  readonly numAllNodes: number;
  readonly diagnosis: Diagnosis;
  constructor(numAllNodes: number, diagnosis: Diagnosis) {
    this.numAllNodes = numAllNodes;
    this.diagnosis = diagnosis;
  }
  message(): string {
    return fitErrorMessage(this.numAllNodes, this.diagnosis);
  }
}

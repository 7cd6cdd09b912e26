// The framework of one profile: its plugins instantiated from the registry, ordered per
// extension point as upstream expands MultiPoint, and the runners the scheduling and binding
// cycles call. Pure of I/O except what plugins do in PreBind/Bind.

import { EXTENSION_POINTS, type ExtensionPoint, type ResolvedProfile } from '../config.ts';
import type { ClusterEventWithHint } from '../events.ts';
import type { NodeInfo } from '../nodeinfo.ts';
import type { PodInfo } from '../podinfo.ts';
import { Code, isSkip, isSuccess, Status, type MaybeStatus, type NodeToStatus } from '../status.ts';
import type { Pod } from '../types.ts';
import { CycleState } from './cycle-state.ts';
import {
  MAX_NODE_SCORE,
  MIN_NODE_SCORE,
  type BindPlugin,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type FrameworkRunner,
  type Plugin,
  type PluginFactory,
  type PermitPlugin,
  type PostBindPlugin,
  type PostFilterPlugin,
  type PostFilterResult,
  type PreBindPlugin,
  type PreEnqueuePlugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type QueueSortPlugin,
  type ReservePlugin,
  type ScorePlugin,
} from './interfaces.ts';

export type Registry = ReadonlyMap<string, PluginFactory>;

/** Which method makes a plugin belong to an extension point. */
const EP_METHOD: Record<ExtensionPoint, string> = {
  preEnqueue: 'preEnqueue',
  queueSort: 'less',
  preFilter: 'preFilter',
  filter: 'filter',
  postFilter: 'postFilter',
  preScore: 'preScore',
  score: 'score',
  reserve: 'reserve',
  permit: 'permit',
  preBind: 'preBind',
  bind: 'bind',
  postBind: 'postBind',
};

const EP_TYPE_NAME: Record<ExtensionPoint, string> = {
  preEnqueue: 'PreEnqueuePlugin',
  queueSort: 'QueueSortPlugin',
  preFilter: 'PreFilterPlugin',
  filter: 'FilterPlugin',
  postFilter: 'PostFilterPlugin',
  preScore: 'PreScorePlugin',
  score: 'ScorePlugin',
  reserve: 'ReservePlugin',
  permit: 'PermitPlugin',
  preBind: 'PreBindPlugin',
  bind: 'BindPlugin',
  postBind: 'PostBindPlugin',
};

function implementsEP(p: Plugin, ep: ExtensionPoint): boolean {
  return typeof (p as unknown as Record<string, unknown>)[EP_METHOD[ep]] === 'function';
}

function intersect(a: Set<string> | null, b: ReadonlySet<string>): Set<string> {
  if (a === null) return new Set(b);
  const out = new Set<string>();
  for (const x of a) if (b.has(x)) out.add(x);
  return out;
}

export class FrameworkError extends Error {
  override name = 'FrameworkError';
}

export interface WeightedScorePlugin {
  plugin: ScorePlugin;
  weight: number;
}

export interface NodeScores {
  /** Feasible nodes, in the order they were found. */
  nodes: readonly NodeInfo[];
  /** Weighted total per node, parallel to nodes. */
  totals: number[];
  /** Per-plugin weighted scores, parallel to nodes (only when asked for). */
  byPlugin?: Map<string, number[]>;
}

export interface PreFilterOutcome {
  /** null: every node; a set: only these nodes are worth filtering. */
  nodeNames: Set<string> | null;
  status: MaybeStatus;
  /** Plugins that narrowed the node set or rejected the pod. */
  plugins: Set<string>;
}

interface WaitingPod {
  pod: PodInfo;
  pending: Map<string, { cancel(): void }>;
  settle(s: MaybeStatus): void;
  done: Promise<MaybeStatus>;
}

/** The timers a framework needs (the scheduler's clock). */
export interface FrameworkTimers {
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export class Framework implements FrameworkRunner {
  readonly profileName: string;
  readonly percentageOfNodesToScore: number | undefined;
  readonly handle: Handle;
  readonly pluginsMap = new Map<string, Plugin>();
  queueSortPlugin!: QueueSortPlugin;
  preEnqueuePlugins: PreEnqueuePlugin[] = [];
  preFilterPlugins: PreFilterPlugin[] = [];
  filterPlugins: FilterPlugin[] = [];
  postFilterPlugins: PostFilterPlugin[] = [];
  preScorePlugins: PreScorePlugin[] = [];
  scorePlugins: WeightedScorePlugin[] = [];
  reservePlugins: ReservePlugin[] = [];
  permitPlugins: PermitPlugin[] = [];
  preBindPlugins: PreBindPlugin[] = [];
  bindPlugins: BindPlugin[] = [];
  postBindPlugins: PostBindPlugin[] = [];
  private readonly waitingPods = new Map<string, WaitingPod>();
  private scoreScratch: number[] = [];
  private readonly timers: FrameworkTimers;

  constructor(profile: ResolvedProfile, registry: Registry, handle: Handle, timers: FrameworkTimers = { setTimeout: (fn, ms) => {
    const h = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(h) };
  } }) {
    this.profileName = profile.schedulerName;
    this.percentageOfNodesToScore = profile.percentageOfNodesToScore;
    this.handle = handle;
    this.timers = timers;
    const plugins = profile.plugins;

    // Instantiate every plugin named anywhere, once.
    const names = new Set<string>();
    for (const p of plugins.multiPoint.enabled ?? []) names.add(p.name);
    for (const ep of EXTENSION_POINTS) for (const p of plugins[ep].enabled ?? []) names.add(p.name);
    for (const name of names) {
      const factory = registry.get(name);
      if (!factory) throw new FrameworkError(`plugin "${name}" does not exist`);
      const pl = factory(profile.pluginConfig.get(name) ?? {}, handle);
      this.pluginsMap.set(name, pl);
    }

    const lists = new Map<ExtensionPoint, Plugin[]>();
    for (const ep of EXTENSION_POINTS) lists.set(ep, this.expand(ep, profile));

    const queueSort = lists.get('queueSort')!;
    if (queueSort.length !== 1) throw new FrameworkError(queueSort.length === 0 ? 'queue sort plugin required for profile' : 'only one queue sort plugin can be enabled');
    this.queueSortPlugin = queueSort[0] as QueueSortPlugin;
    if (lists.get('bind')!.length === 0) throw new FrameworkError('at least one bind plugin is needed for profile');
    this.preEnqueuePlugins = lists.get('preEnqueue') as PreEnqueuePlugin[];
    this.preFilterPlugins = lists.get('preFilter') as PreFilterPlugin[];
    this.filterPlugins = lists.get('filter') as FilterPlugin[];
    this.postFilterPlugins = lists.get('postFilter') as PostFilterPlugin[];
    this.preScorePlugins = lists.get('preScore') as PreScorePlugin[];
    this.reservePlugins = lists.get('reserve') as ReservePlugin[];
    this.permitPlugins = lists.get('permit') as PermitPlugin[];
    this.preBindPlugins = lists.get('preBind') as PreBindPlugin[];
    this.bindPlugins = lists.get('bind') as BindPlugin[];
    this.postBindPlugins = lists.get('postBind') as PostBindPlugin[];

    // Weights: MultiPoint's, overridden by the score point's; zero means one.
    const weights = new Map<string, number>();
    for (const p of plugins.multiPoint.enabled ?? []) weights.set(p.name, p.weight ?? 0);
    for (const p of plugins.score.enabled ?? []) weights.set(p.name, p.weight ?? 0);
    this.scorePlugins = (lists.get('score') as ScorePlugin[]).map((plugin) => ({ plugin, weight: weights.get(plugin.name) || 1 }));
    handle.framework = this;
  }

  /**
   * upstream's expandMultiPointPlugins for one extension point: plugins enabled there explicitly
   * and also at MultiPoint keep the explicit position first, then MultiPoint's own order, then the
   * remaining explicit ones; a point's disabled list removes MultiPoint plugins ("*": all).
   */
  private expand(ep: ExtensionPoint, profile: ResolvedProfile): Plugin[] {
    const set = profile.plugins[ep];
    const explicit: string[] = [];
    for (const p of set.enabled ?? []) {
      const pl = this.pluginsMap.get(p.name)!;
      if (!implementsEP(pl, ep)) throw new FrameworkError(`plugin "${p.name}" does not extend ${EP_TYPE_NAME[ep]} plugin`);
      if (explicit.includes(p.name)) throw new FrameworkError(`plugin "${p.name}" already registered as "${EP_TYPE_NAME[ep]}"`);
      explicit.push(p.name);
    }
    const disabled = new Set((set.disabled ?? []).map((d) => d.name));
    if (disabled.has('*')) return explicit.map((n) => this.pluginsMap.get(n)!);
    const multi: string[] = [];
    const overrides = new Set<string>();
    for (const p of profile.plugins.multiPoint.enabled ?? []) {
      const pl = this.pluginsMap.get(p.name)!;
      if (!implementsEP(pl, ep)) continue;
      if (disabled.has(p.name)) continue;
      if (explicit.includes(p.name)) {
        overrides.add(p.name);
        continue;
      }
      if (multi.includes(p.name)) throw new FrameworkError(`plugin "${p.name}" already registered as "${EP_TYPE_NAME[ep]}"`);
      multi.push(p.name);
    }
    const ordered = [...explicit.filter((n) => overrides.has(n)), ...multi, ...explicit.filter((n) => !overrides.has(n))];
    return ordered.map((n) => this.pluginsMap.get(n)!);
  }

  /** The cluster events each plugin registered (for the queue's requeueing). */
  eventRegistrations(): Map<string, ClusterEventWithHint[]> {
    const out = new Map<string, ClusterEventWithHint[]>();
    for (const [name, pl] of this.pluginsMap) {
      const ee = pl as Partial<EnqueueExtensions>;
      if (typeof ee.eventsToRegister === 'function') out.set(name, ee.eventsToRegister());
    }
    return out;
  }

  hasFilterPlugins(): boolean {
    return this.filterPlugins.length > 0;
  }

  hasPostFilterPlugins(): boolean {
    return this.postFilterPlugins.length > 0;
  }

  hasScorePlugins(): boolean {
    return this.scorePlugins.length > 0;
  }

  // -------------------------------------------------------------------------------------------
  // Scheduling cycle

  runPreEnqueuePlugins(pod: Pod): MaybeStatus {
    for (const pl of this.preEnqueuePlugins) {
      const s = pl.preEnqueue(pod);
      if (!isSuccess(s)) return s!.withPlugin(pl.name);
    }
    return null;
  }

  /**
   * upstream's RunPreFilterPlugins: Skip marks the plugin's Filter as skipped; an
   * UnschedulableAndUnresolvable stops at once; an Unschedulable lets the others run (their state
   * is needed for preemption) and is returned at the end; results are intersected and an empty
   * intersection rejects the pod.
   */
  runPreFilterPlugins(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): PreFilterOutcome {
    let nodeNames: Set<string> | null = null;
    const withNodes = new Set<string>();
    let returnStatus: Status | null = null;
    for (const pl of this.preFilterPlugins) {
      let s: MaybeStatus;
      let r: PreFilterResult | undefined;
      try {
        const out = pl.preFilter(state, pod, nodes);
        if (out instanceof Status || out == null) s = out;
        else {
          s = out.status;
          r = out.result;
        }
      } catch (e) {
        s = Status.error(e as Error);
      }
      if (isSkip(s)) {
        state.skipFilterPlugins.add(pl.name);
        continue;
      }
      if (!isSuccess(s)) {
        s!.withPlugin(pl.name);
        if (s!.code === Code.UnschedulableAndUnresolvable) return { nodeNames: null, status: s, plugins: new Set([pl.name]) };
        if (s!.code === Code.Unschedulable) {
          returnStatus = s!;
          continue;
        }
        const e = Status.error(`running PreFilter plugin "${pl.name}": ${s!.message()}`).withPlugin(pl.name);
        return { nodeNames: null, status: e, plugins: new Set() };
      }
      if (r) {
        withNodes.add(pl.name);
        nodeNames = intersect(nodeNames, r.nodeNames);
        if (nodeNames.size === 0) {
          const list = [...withNodes].sort();
          const msg = list.length === 1 ? `node(s) didn't satisfy plugin ${list[0]}` : `node(s) didn't satisfy plugin(s) [${list.join(' ')}] simultaneously`;
          return { nodeNames, status: new Status(Code.UnschedulableAndUnresolvable, msg), plugins: withNodes };
        }
      }
    }
    if (returnStatus) return { nodeNames: null, status: returnStatus, plugins: new Set([returnStatus.plugin]) };
    return { nodeNames, status: null, plugins: withNodes };
  }

  runPreFilterExtensionAddPod(state: CycleState, pod: PodInfo, toAdd: PodInfo, node: NodeInfo): MaybeStatus {
    for (const pl of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(pl.name)) continue;
      const ext = pl.preFilterExtensions?.();
      if (!ext) continue;
      const s = ext.addPod(state, pod, toAdd, node);
      if (!isSuccess(s)) return Status.error(`running AddPod on PreFilter plugin "${pl.name}": ${s!.message()}`).withPlugin(pl.name);
    }
    return null;
  }

  runPreFilterExtensionRemovePod(state: CycleState, pod: PodInfo, toRemove: PodInfo, node: NodeInfo): MaybeStatus {
    for (const pl of this.preFilterPlugins) {
      if (state.skipFilterPlugins.has(pl.name)) continue;
      const ext = pl.preFilterExtensions?.();
      if (!ext) continue;
      const s = ext.removePod(state, pod, toRemove, node);
      if (!isSuccess(s)) return Status.error(`running RemovePod on PreFilter plugin "${pl.name}": ${s!.message()}`).withPlugin(pl.name);
    }
    return null;
  }

  /** The filters active this cycle (those whose PreFilter did not Skip). */
  activeFilters(state: CycleState): FilterPlugin[] {
    if (state.skipFilterPlugins.size === 0) return this.filterPlugins;
    return this.filterPlugins.filter((p) => !state.skipFilterPlugins.has(p.name));
  }

  /** Runs the filters in order until one rejects (upstream's RunFilterPlugins). */
  runFilterPlugins(state: CycleState, pod: PodInfo, node: NodeInfo, filters: readonly FilterPlugin[] = this.activeFilters(state)): MaybeStatus {
    let i = 0;
    try {
      for (; i < filters.length; i++) {
        const s = filters[i]!.filter(state, pod, node);
        if (s && s.code !== Code.Success) {
          const name = filters[i]!.name;
          if (!s.isRejected()) return Status.error(`running "${name}" filter plugin: ${s.message()}`).withPlugin(name);
          return s.withPlugin(name);
        }
      }
    } catch (e) {
      const name = filters[i]!.name;
      return Status.error(`running "${name}" filter plugin: ${(e as Error).message}`).withPlugin(name);
    }
    return null;
  }

  /**
   * upstream's RunFilterPluginsWithNominatedPods: when pods of equal or higher priority are
   * nominated to the node, the filters must pass both with them counted as running and without.
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, node: NodeInfo, filters?: readonly FilterPlugin[]): MaybeStatus {
    const nominator = this.handle.nominator;
    if (!nominator || !nominator.hasNominatedPods()) return this.runFilterPlugins(state, pod, node, filters);
    const nominated = nominator.nominatedPodsForNode(node.name);
    if (!nominated || nominated.length === 0) return this.runFilterPlugins(state, pod, node, filters);
    let nodeWith: NodeInfo | undefined;
    let stateWith: CycleState | undefined;
    for (const npi of nominated) {
      if (npi.priority >= pod.priority && npi.uid !== pod.uid) {
        if (!nodeWith) {
          nodeWith = node.clone();
          stateWith = state.clone();
        }
        nodeWith.addPod(npi);
        const s = this.runPreFilterExtensionAddPod(stateWith!, pod, npi, nodeWith);
        if (!isSuccess(s)) return s;
      }
    }
    if (!nodeWith) return this.runFilterPlugins(state, pod, node, filters);
    const first = this.runFilterPlugins(stateWith!, pod, nodeWith, filters);
    if (!isSuccess(first)) return first;
    return this.runFilterPlugins(state, pod, node, filters);
  }

  runPostFilterPlugins(state: CycleState, pod: PodInfo, statuses: NodeToStatus): { result?: PostFilterResult; status: MaybeStatus } {
    // Only a Success or Error ends the chain; the rejections' messages are reported.
    let result: PostFilterResult | undefined;
    const reasons: string[] = [];
    let rejectorPlugin = '';
    for (const pl of this.postFilterPlugins) {
      let out: { result?: PostFilterResult; status: MaybeStatus };
      try {
        out = pl.postFilter(state, pod, statuses);
      } catch (e) {
        return { status: Status.error(e as Error).withPlugin(pl.name) };
      }
      if (isSuccess(out.status)) return { ...(out.result ? { result: out.result } : {}), status: null };
      const s = out.status!;
      if (s.code === Code.UnschedulableAndUnresolvable) return { ...(out.result ? { result: out.result } : {}), status: s.withPlugin(pl.name) };
      if (s.code === Code.Error) return { status: s.withPlugin(pl.name) };
      if (!s.isRejected()) return { status: Status.error(`PostFilter plugin "${pl.name}" returned ${s}`).withPlugin(pl.name) };
      if (!rejectorPlugin) rejectorPlugin = pl.name;
      reasons.push(...s.reasons);
      if (out.result && (out.result.nominatingInfo?.mode ?? 'noop') !== 'noop') result = out.result;
    }
    const st = new Status(Code.Unschedulable, ...reasons).withPlugin(rejectorPlugin);
    return result ? { result, status: st } : { status: st };
  }

  runPreScorePlugins(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): MaybeStatus {
    for (const pl of this.preScorePlugins) {
      let s: MaybeStatus;
      try {
        s = pl.preScore(state, pod, nodes);
      } catch (e) {
        s = Status.error(e as Error);
      }
      if (isSkip(s)) {
        state.skipScorePlugins.add(pl.name);
        continue;
      }
      if (!isSuccess(s)) return Status.error(`running PreScore plugin "${pl.name}": ${s!.message()}`).withPlugin(pl.name);
    }
    return null;
  }

  /**
   * Scores every node with every active score plugin, normalizes, applies the weights and sums
   * (upstream's RunScorePlugins). Throws SchedulerError-like Status errors as { status }.
   */
  runScorePlugins(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], recordPerPlugin = false): { scores?: NodeScores; status: MaybeStatus } {
    const n = nodes.length;
    const totals = new Array<number>(n).fill(0);
    const byPlugin = recordPerPlugin ? new Map<string, number[]>() : undefined;
    // one scratch array reused across plugins and cycles (per-plugin copies only when recorded)
    if (this.scoreScratch.length !== n) this.scoreScratch = new Array<number>(n).fill(0);
    for (const { plugin, weight } of this.scorePlugins) {
      if (state.skipScorePlugins.has(plugin.name)) continue;
      const scores = byPlugin ? new Array<number>(n) : this.scoreScratch;
      try {
        for (let i = 0; i < n; i++) scores[i] = plugin.score(state, pod, nodes[i]!);
        if (plugin.normalizeScore) {
          const s = plugin.normalizeScore(state, pod, nodes, scores);
          if (!isSuccess(s)) return { status: Status.error(`running Normalize on Score plugins: ${s!.message()}`).withPlugin(plugin.name) };
        }
      } catch (e) {
        return { status: Status.error(`running Score plugins: ${(e as Error).message}`).withPlugin(plugin.name) };
      }
      for (let i = 0; i < n; i++) {
        const v = scores[i]!;
        if (!(v >= MIN_NODE_SCORE && v <= MAX_NODE_SCORE)) {
          return { status: Status.error(`plugin "${plugin.name}" returns an invalid score ${v}, it should in the range of [${MIN_NODE_SCORE}, ${MAX_NODE_SCORE}] after normalizing`).withPlugin(plugin.name) };
        }
        const w = v * weight;
        totals[i] += w;
        if (byPlugin) scores[i] = w;
      }
      byPlugin?.set(plugin.name, scores);
    }
    return { scores: { nodes, totals, ...(byPlugin ? { byPlugin } : {}) }, status: null };
  }

  // -------------------------------------------------------------------------------------------
  // Binding cycle

  /** Reserve in order; on failure the caller runs unreserve (all plugins, reverse order). */
  runReservePluginsReserve(state: CycleState, pod: PodInfo, nodeName: string): MaybeStatus {
    for (const pl of this.reservePlugins) {
      let s: MaybeStatus;
      try {
        s = pl.reserve(state, pod, nodeName);
      } catch (e) {
        s = Status.error(e as Error);
      }
      if (!isSuccess(s)) {
        if (s!.isRejected()) return s!.withPlugin(pl.name);
        return Status.error(`running Reserve plugin "${pl.name}": ${s!.message()}`).withPlugin(pl.name);
      }
    }
    return null;
  }

  runReservePluginsUnreserve(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (let i = this.reservePlugins.length - 1; i >= 0; i--) {
      try {
        this.reservePlugins[i]!.unreserve(state, pod, nodeName);
      } catch {
        // unreserve must not fail; a throwing plugin cannot stop the others from cleaning up
      }
    }
  }

  /**
   * Permit in order; Wait parks the pod (upstream's waitingPods) for the longest timeout asked,
   * and waitOnPermit then resolves when every waiting plugin allowed it, any rejected it, or
   * the timeout passed.
   */
  runPermitPlugins(state: CycleState, pod: PodInfo, nodeName: string): MaybeStatus {
    const waits = new Map<string, number>();
    for (const pl of this.permitPlugins) {
      let out: { status: MaybeStatus; timeoutMs?: number };
      try {
        out = pl.permit(state, pod, nodeName);
      } catch (e) {
        out = { status: Status.error(e as Error) };
      }
      const s = out.status;
      if (isSuccess(s)) continue;
      if (s!.isRejected()) return s!.withPlugin(pl.name);
      if (s!.code === Code.Wait) {
        waits.set(pl.name, Math.min(out.timeoutMs ?? 15 * 60_000, 15 * 60_000));
        continue;
      }
      return Status.error(`running Permit plugin "${pl.name}": ${s!.message()}`).withPlugin(pl.name);
    }
    if (waits.size === 0) return null;
    let settle!: (s: MaybeStatus) => void;
    const done = new Promise<MaybeStatus>((r) => (settle = r));
    const wp: WaitingPod = { pod, pending: new Map(), settle: (s) => {
      for (const t of wp.pending.values()) t.cancel();
      wp.pending.clear();
      this.waitingPods.delete(pod.uid);
      settle(s);
    }, done };
    for (const [name, ms] of waits) {
      wp.pending.set(name, this.timers.setTimeout(() => wp.settle(new Status(Code.Unschedulable, `rejected due to timeout after waiting ${ms / 1000}s at plugin ${name}`).withPlugin(name)), ms));
    }
    this.waitingPods.set(pod.uid, wp);
    return new Status(Code.Wait).withPlugin([...waits.keys()][0]!);
  }

  /** Resolves with the permit outcome of a pod parked by runPermitPlugins (null: allowed). */
  async waitOnPermit(pod: PodInfo): Promise<MaybeStatus> {
    const wp = this.waitingPods.get(pod.uid);
    if (!wp) return null;
    return wp.done;
  }

  /** A permit plugin allows a waiting pod; it proceeds once no plugin is pending. */
  allowWaitingPod(uid: string, plugin: string): void {
    const wp = this.waitingPods.get(uid);
    if (!wp) return;
    wp.pending.get(plugin)?.cancel();
    wp.pending.delete(plugin);
    if (wp.pending.size === 0) wp.settle(null);
  }

  rejectWaitingPod(uid: string, plugin: string, msg: string): boolean {
    const wp = this.waitingPods.get(uid);
    if (!wp) return false;
    wp.settle(new Status(Code.Unschedulable, msg).withPlugin(plugin));
    return true;
  }

  isWaiting(uid: string): boolean {
    return this.waitingPods.has(uid);
  }

  async runPreBindPlugins(state: CycleState, pod: PodInfo, nodeName: string, signal?: AbortSignal): Promise<MaybeStatus> {
    for (const pl of this.preBindPlugins) {
      let s: MaybeStatus;
      try {
        s = await pl.preBind(state, pod, nodeName, signal);
      } catch (e) {
        s = Status.error(e as Error);
      }
      if (isSkip(s)) continue;
      if (!isSuccess(s)) {
        if (s!.isRejected()) return s!.withPlugin(pl.name);
        return Status.error(`running PreBind plugin "${pl.name}": ${s!.message()}`).withPlugin(pl.name);
      }
    }
    return null;
  }

  /** Bind with the first bind plugin that does not Skip. */
  async runBindPlugins(state: CycleState, pod: PodInfo, nodeName: string, signal?: AbortSignal): Promise<MaybeStatus> {
    let last: MaybeStatus = null;
    for (const pl of this.bindPlugins) {
      let s: MaybeStatus;
      try {
        s = await pl.bind(state, pod, nodeName, signal);
      } catch (e) {
        s = Status.error(e as Error);
      }
      if (isSkip(s)) {
        last = s;
        continue;
      }
      if (!isSuccess(s)) {
        if (s!.isRejected()) return s!.withPlugin(pl.name);
        return Status.error(`running Bind plugin "${pl.name}": ${s!.message()}`).withPlugin(pl.name);
      }
      return null;
    }
    return last ?? null;
  }

  runPostBindPlugins(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (const pl of this.postBindPlugins) {
      try {
        pl.postBind(state, pod, nodeName);
      } catch {
        // informational only
      }
    }
  }
}

export { CycleState };

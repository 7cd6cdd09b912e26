// KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): the `--scheduler-config` file,
// decoded, defaulted and validated as upstream does, down to resolved profiles that the
// framework builder consumes. Defaulting follows pkg/scheduler/apis/config/v1: the default
// plugins are declared at MultiPoint, a profile's own plugin sets are merged into them
// (mergePluginSet), and every enabled plugin with an Args type gets its defaulted args.

import { parse as parseYaml } from 'yaml';

export const API_VERSION = 'kubescheduler.config.k8s.io/v1';
export const KIND = 'KubeSchedulerConfiguration';

export interface PluginRef {
  name: string;
  weight?: number;
}

export interface PluginSet {
  enabled?: PluginRef[];
  disabled?: { name: string }[];
}

export const EXTENSION_POINTS = [
  'preEnqueue',
  'queueSort',
  'preFilter',
  'filter',
  'postFilter',
  'preScore',
  'score',
  'reserve',
  'permit',
  'preBind',
  'bind',
  'postBind',
] as const;
export type ExtensionPoint = (typeof EXTENSION_POINTS)[number];

export type Plugins = { [K in ExtensionPoint | 'multiPoint']?: PluginSet };

export interface PluginConfig {
  name: string;
  args?: Record<string, unknown>;
}

export interface ProfileConfig {
  schedulerName?: string;
  percentageOfNodesToScore?: number | null;
  plugins?: Plugins;
  pluginConfig?: PluginConfig[];
}

export interface LeaderElectionConfig {
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  resourceName: string;
  resourceNamespace: string;
}

/** The decoded file, before defaulting (fields as the user wrote them). */
export interface KubeSchedulerConfiguration {
  apiVersion?: string;
  kind?: string;
  parallelism?: number;
  percentageOfNodesToScore?: number | null;
  podInitialBackoffSeconds?: number;
  podMaxBackoffSeconds?: number;
  leaderElection?: Record<string, unknown>;
  profiles?: ProfileConfig[];
  [other: string]: unknown;
}

/** One profile after defaulting: the merged plugin sets and every plugin's args. */
export interface ResolvedProfile {
  schedulerName: string;
  /** undefined: use the configuration-wide value. */
  percentageOfNodesToScore?: number;
  plugins: Required<Plugins>;
  pluginConfig: Map<string, Record<string, unknown>>;
}

export interface SchedulerSettings {
  parallelism: number;
  /** 0 means upstream's adaptive percentage. */
  percentageOfNodesToScore: number;
  podInitialBackoffMs: number;
  podMaxBackoffMs: number;
  leaderElection: LeaderElectionConfig;
  profiles: ResolvedProfile[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/**
 * upstream's v1 default plugins (1.33, without the feature-gated DynamicResources), in
 * upstream's order. VolumeRestrictions, NodeVolumeLimits and VolumeZone (between
 * NodeResourcesFit and PodTopologySpread upstream) are not implemented by rudder yet and so are
 * not in the default set.
 */
export const DEFAULT_MULTIPOINT: PluginRef[] = [
  { name: 'SchedulingGates' },
  { name: 'PrioritySort' },
  { name: 'NodeUnschedulable' },
  { name: 'NodeName' },
  { name: 'TaintToleration', weight: 3 },
  { name: 'NodeAffinity', weight: 2 },
  { name: 'NodePorts' },
  { name: 'NodeResourcesFit', weight: 1 },
  { name: 'VolumeBinding' },
  { name: 'PodTopologySpread', weight: 2 },
  { name: 'InterPodAffinity', weight: 2 },
  { name: 'DefaultPreemption' },
  { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  { name: 'ImageLocality', weight: 1 },
  { name: 'DefaultBinder' },
];

const DEFAULT_RESOURCES = () => [
  { name: 'cpu', weight: 1 },
  { name: 'memory', weight: 1 },
];

/** Plugins with an Args type, and their defaulting (SetDefaults_<Name>Args). */
export const ARGS_DEFAULTERS: Record<string, (args: Record<string, unknown>) => Record<string, unknown>> = {
  DefaultPreemption: (a) => ({ minCandidateNodesPercentage: 10, minCandidateNodesAbsolute: 100, ...a }),
  InterPodAffinity: (a) => ({ hardPodAffinityWeight: 1, ignorePreferredTermsOfExistingPods: false, ...a }),
  NodeAffinity: (a) => ({ ...a }),
  NodeResourcesBalancedAllocation: (a) => {
    const out = { ...a };
    if (!Array.isArray(out.resources) || out.resources.length === 0) out.resources = DEFAULT_RESOURCES();
    else out.resources = (out.resources as { name: string; weight?: number }[]).map((r) => ({ ...r, weight: r.weight || 1 }));
    return out;
  },
  NodeResourcesFit: (a) => {
    const out: Record<string, unknown> = { ...a };
    const ss = { ...((out.scoringStrategy as Record<string, unknown> | undefined) ?? {}) };
    if (!ss.type) ss.type = 'LeastAllocated';
    if (!Array.isArray(ss.resources) || ss.resources.length === 0) ss.resources = DEFAULT_RESOURCES();
    out.scoringStrategy = ss;
    return out;
  },
  PodTopologySpread: (a) => ({ defaultingType: 'System', ...a }),
  VolumeBinding: (a) => ({ bindTimeoutSeconds: 600, ...a }),
};

function asArray<T>(v: unknown, path: string): T[] {
  if (v == null) return [];
  if (!Array.isArray(v)) throw new ConfigError(`${path}: must be a list`);
  return v as T[];
}

/** upstream's mergePluginSet: user disables remove defaults ("*" all), user enables replace in place or append. */
export function mergePluginSet(defaults: PluginSet, custom: PluginSet | undefined): PluginSet {
  const disabledNames = new Set<string>();
  const disabled: { name: string }[] = [];
  for (const d of custom?.disabled ?? []) {
    disabled.push({ name: d.name });
    disabledNames.add(d.name);
  }
  for (const d of defaults.disabled ?? []) {
    disabled.push({ name: d.name });
    disabledNames.add(d.name);
  }
  const customEnabled = custom?.enabled ?? [];
  const customIndex = new Map<string, number>();
  customEnabled.forEach((p, i) => customIndex.set(p.name, i));
  const replaced = new Set<number>();
  const enabled: PluginRef[] = [];
  if (!disabledNames.has('*')) {
    for (const p of defaults.enabled ?? []) {
      if (disabledNames.has(p.name)) continue;
      const i = customIndex.get(p.name);
      if (i !== undefined) {
        enabled.push(customEnabled[i]!);
        replaced.add(i);
      } else enabled.push(p);
    }
  }
  customEnabled.forEach((p, i) => {
    if (!replaced.has(i)) enabled.push(p);
  });
  return { enabled, disabled };
}

function mergePlugins(custom: Plugins | undefined): Required<Plugins> {
  const out = {} as Required<Plugins>;
  out.multiPoint = mergePluginSet({ enabled: DEFAULT_MULTIPOINT }, custom?.multiPoint);
  for (const ep of EXTENSION_POINTS) out[ep] = mergePluginSet({}, custom?.[ep]);
  return out;
}

function checkPluginSet(set: unknown, path: string): PluginSet {
  if (set == null) return {};
  if (typeof set !== 'object') throw new ConfigError(`${path}: must be an object`);
  const s = set as Record<string, unknown>;
  const enabled = asArray<PluginRef>(s.enabled, `${path}.enabled`).map((p, i) => {
    if (!p || typeof p.name !== 'string' || !p.name) throw new ConfigError(`${path}.enabled[${i}].name: Required value`);
    if (p.weight !== undefined && (typeof p.weight !== 'number' || !Number.isInteger(p.weight) || p.weight < 0)) {
      throw new ConfigError(`${path}.enabled[${i}].weight: Invalid value: ${JSON.stringify(p.weight)}: must be a non-negative integer`);
    }
    return { name: p.name, ...(p.weight !== undefined ? { weight: p.weight } : {}) };
  });
  const disabled = asArray<{ name: string }>(s.disabled, `${path}.disabled`).map((p, i) => {
    if (!p || typeof p.name !== 'string' || !p.name) throw new ConfigError(`${path}.disabled[${i}].name: Required value`);
    return { name: p.name };
  });
  return { enabled, disabled };
}

/** Every plugin a profile enables at any extension point, in first-seen order. */
export function enabledPluginNames(plugins: Required<Plugins>): string[] {
  const seen = new Set<string>();
  for (const p of plugins.multiPoint.enabled ?? []) seen.add(p.name);
  for (const ep of EXTENSION_POINTS) for (const p of plugins[ep].enabled ?? []) seen.add(p.name);
  return [...seen];
}

function resolveProfile(p: ProfileConfig, i: number): ResolvedProfile {
  const path = `profiles[${i}]`;
  const rawPlugins = (p.plugins ?? {}) as Record<string, unknown>;
  const custom: Plugins = {};
  for (const key of Object.keys(rawPlugins)) {
    if (key !== 'multiPoint' && !(EXTENSION_POINTS as readonly string[]).includes(key)) throw new ConfigError(`${path}.plugins: unknown field "${key}"`);
    custom[key as ExtensionPoint] = checkPluginSet(rawPlugins[key], `${path}.plugins.${key}`);
  }
  const plugins = mergePlugins(custom);
  const pluginConfig = new Map<string, Record<string, unknown>>();
  asArray<PluginConfig>(p.pluginConfig, `${path}.pluginConfig`).forEach((pc, j) => {
    if (!pc || typeof pc.name !== 'string' || !pc.name) throw new ConfigError(`${path}.pluginConfig[${j}].name: Required value`);
    if (pluginConfig.has(pc.name)) throw new ConfigError(`${path}.pluginConfig[${j}]: Duplicate value: "${pc.name}"`);
    const args = (pc.args ?? {}) as Record<string, unknown>;
    const d = ARGS_DEFAULTERS[pc.name];
    pluginConfig.set(pc.name, d ? d(args) : args);
  });
  for (const name of enabledPluginNames(plugins)) {
    if (pluginConfig.has(name)) continue;
    const d = ARGS_DEFAULTERS[name];
    if (d) pluginConfig.set(name, d({}));
  }
  const pct = p.percentageOfNodesToScore;
  if (pct != null && (typeof pct !== 'number' || pct < 0 || pct > 100)) {
    throw new ConfigError(`${path}.percentageOfNodesToScore: Invalid value: ${JSON.stringify(pct)}: not in valid range [0-100]`);
  }
  return {
    schedulerName: p.schedulerName || DEFAULT_SCHEDULER_NAME,
    ...(pct != null ? { percentageOfNodesToScore: pct } : {}),
    plugins,
    pluginConfig,
  };
}

function durationMs(v: unknown, dflt: number, path: string): number {
  if (v == null) return dflt;
  if (typeof v === 'number') return v * 1000;
  if (typeof v !== 'string') throw new ConfigError(`${path}: must be a duration`);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let consumed = 0;
  for (const m of v.matchAll(re)) {
    total += parseFloat(m[1]!) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== v.length || consumed === 0) throw new ConfigError(`${path}: invalid duration ${JSON.stringify(v)}`);
  return total;
}

/**
 * Decodes (YAML or JSON text, or an already decoded object), defaults and validates a
 * KubeSchedulerConfiguration. Throws ConfigError with the offending field path.
 */
export function loadSchedulerConfig(input: string | KubeSchedulerConfiguration | undefined): SchedulerSettings {
  let cfg: KubeSchedulerConfiguration = {};
  if (typeof input === 'string') {
    const doc = parseYaml(input) as unknown;
    if (doc != null && (typeof doc !== 'object' || Array.isArray(doc))) throw new ConfigError('the scheduler configuration must be an object');
    cfg = (doc ?? {}) as KubeSchedulerConfiguration;
  } else if (input) cfg = input;
  if (typeof input === 'string' || cfg.apiVersion !== undefined || cfg.kind !== undefined) {
    if (cfg.apiVersion !== API_VERSION) {
      throw new ConfigError(`no kind "${cfg.kind ?? ''}" is registered for version "${cfg.apiVersion ?? ''}" (want apiVersion ${API_VERSION})`);
    }
    if (cfg.kind !== KIND) throw new ConfigError(`no kind "${cfg.kind ?? ''}" is registered for version "${API_VERSION}"`);
  }
  const pct = cfg.percentageOfNodesToScore ?? 0;
  if (typeof pct !== 'number' || pct < 0 || pct > 100) {
    throw new ConfigError(`percentageOfNodesToScore: Invalid value: ${JSON.stringify(pct)}: not in valid range [0-100]`);
  }
  const initial = cfg.podInitialBackoffSeconds ?? 1;
  const max = cfg.podMaxBackoffSeconds ?? 10;
  if (!(initial > 0)) throw new ConfigError(`podInitialBackoffSeconds: Invalid value: ${initial}: must be greater than 0`);
  if (max < initial) throw new ConfigError(`podMaxBackoffSeconds: Invalid value: ${max}: must be greater than or equal to PodInitialBackoffSeconds`);
  const parallelism = cfg.parallelism ?? 16;
  if (!(parallelism > 0)) throw new ConfigError(`parallelism: Invalid value: ${parallelism}: should be an integer greater than 0`);
  const rawProfiles = asArray<ProfileConfig>(cfg.profiles, 'profiles');
  const profiles = (rawProfiles.length ? rawProfiles : [{}]).map(resolveProfile);
  const names = new Set<string>();
  profiles.forEach((p, i) => {
    if (names.has(p.schedulerName)) throw new ConfigError(`profiles[${i}].schedulerName: Duplicate value: "${p.schedulerName}"`);
    names.add(p.schedulerName);
  });
  const le = (cfg.leaderElection ?? {}) as Record<string, unknown>;
  return {
    parallelism,
    percentageOfNodesToScore: pct,
    podInitialBackoffMs: initial * 1000,
    podMaxBackoffMs: max * 1000,
    leaderElection: {
      leaderElect: le.leaderElect !== false,
      leaseDurationMs: durationMs(le.leaseDuration, 15000, 'leaderElection.leaseDuration'),
      renewDeadlineMs: durationMs(le.renewDeadline, 10000, 'leaderElection.renewDeadline'),
      retryPeriodMs: durationMs(le.retryPeriod, 2000, 'leaderElection.retryPeriod'),
      resourceName: typeof le.resourceName === 'string' && le.resourceName ? le.resourceName : 'kube-scheduler',
      resourceNamespace: typeof le.resourceNamespace === 'string' && le.resourceNamespace ? le.resourceNamespace : 'kube-system',
    },
    profiles,
  };
}

// What an object charges against a ResourceQuota: upstream's quota evaluators (pkg/quota/v1/
// evaluator/core and the generic object-count evaluator), as pure functions over plain objects.
// The ResourceQuota admission plugin charges new objects with them; the quota controller can
// recompute status.used with the same functions.
import {
  addQuantities,
  compareQuantities,
  quantityFromInt,
  quantityFromJSON,
  quantityString,
  subtractQuantities,
  type Quantity,
} from '../../api/quantity.ts';
import { podQOS } from '../strategies.ts';
import { podResources } from './limit-ranger.ts';
import type { Json } from './common.ts';

export type ResourceList = Record<string, Quantity>;

const STORAGE_CLASS_SUFFIX = '.storageclass.storage.k8s.io/';
const POD_RESOURCES = new Set([
  'pods',
  'count/pods',
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
]);
const POD_RESOURCE_PREFIXES = ['hugepages-', 'requests.hugepages-'];
/** Core resources whose object count has a legacy quota name besides count/<resource>. */
const LEGACY_COUNT_NAMES: Record<string, string> = {
  configmaps: 'configmaps',
  resourcequotas: 'resourcequotas',
  replicationcontrollers: 'replicationcontrollers',
  secrets: 'secrets',
};
/** Resource names cpu and memory quotas require every container to state (upstream's validationSet). */
const EXPLICIT_REQUEST_NAMES = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

const one = (): Quantity => quantityFromInt(1);

function toList(rl: Json): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(rl ?? {})) {
    try {
      out[k] = quantityFromJSON(v);
    } catch {
      /* malformed quantities are validation's to report */
    }
  }
  return out;
}

/** An extended resource (vendor.example/gpu) as quota names it: requests.<name>. */
function isExtendedResourceName(name: string): boolean {
  return name.includes('/') && !name.startsWith('kubernetes.io/') && !name.startsWith('requests.');
}

function isExtendedQuotaName(name: string): boolean {
  return name.startsWith('requests.') && isExtendedResourceName(name.slice('requests.'.length));
}

/** upstream's podComputeUsageHelper: the quota names a set of requests and limits charges. */
function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = { pods: one() };
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    if (requests[r]) {
      out[r] = requests[r]!;
      out[`requests.${r}`] = requests[r]!;
    }
    if (limits[r]) out[`limits.${r}`] = limits[r]!;
  }
  for (const [r, q] of Object.entries(requests)) {
    if (r.startsWith('hugepages-')) {
      out[r] = q;
      out[`requests.${r}`] = q;
    }
    if (isExtendedResourceName(r)) out[`requests.${r}`] = q;
  }
  return out;
}

/** upstream's QuotaV1Pod: terminal pods, and pods stuck past their deletion grace, are not charged. */
export function podIsCharged(pod: Json, now: Date): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const ts = pod.metadata?.deletionTimestamp;
  const grace = pod.metadata?.deletionGracePeriodSeconds;
  if (ts && typeof grace === 'number' && now.getTime() > Date.parse(ts) + grace * 1000) return false;
  return true;
}

/** upstream's PodUsageFunc. */
export function podUsage(pod: Json, now: Date): ResourceList {
  const out: ResourceList = { 'count/pods': one() };
  if (!podIsCharged(pod, now)) return out;
  const requests = podResources(pod, 'requests');
  const limits = podResources(pod, 'limits');
  const overhead = toList(pod.spec?.overhead);
  for (const [k, q] of Object.entries(overhead)) {
    requests[k] = requests[k] ? addQuantities(requests[k]!, q) : q;
    if (limits[k]) limits[k] = addQuantities(limits[k]!, q);
  }
  return { ...out, ...computeUsage(requests, limits) };
}

/** upstream's service evaluator: the service, and the node ports and load balancers it asks for. */
export function serviceUsage(svc: Json): ResourceList {
  const out: ResourceList = { services: one(), 'count/services': one() };
  const ports: Json[] = svc.spec?.ports ?? [];
  const type = svc.spec?.type ?? 'ClusterIP';
  if (type === 'NodePort') out['services.nodeports'] = quantityFromInt(ports.length);
  if (type === 'LoadBalancer') {
    const n = svc.spec?.allocateLoadBalancerNodePorts === false ? ports.filter((p) => p?.nodePort).length : ports.length;
    out['services.nodeports'] = quantityFromInt(n);
    out['services.loadbalancers'] = one();
  }
  return out;
}

/** upstream's persistent volume claim evaluator: the claim and its storage, also per storage class. */
export function pvcUsage(pvc: Json): ResourceList {
  const out: ResourceList = { persistentvolumeclaims: one(), 'count/persistentvolumeclaims': one() };
  const cls: string = pvc.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? pvc.spec?.storageClassName ?? '';
  if (cls) out[`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`] = one();
  const storage = toList(pvc.spec?.resources?.requests).storage;
  if (storage) {
    out['requests.storage'] = storage;
    if (cls) out[`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`] = storage;
  }
  return out;
}

/** The count/<resource>[.<group>] name of an object kind. */
export function objectCountName(group: string, plural: string): string {
  return group ? `count/${plural}.${group}` : `count/${plural}`;
}

/** Which evaluator a quota resource name belongs to, and for the object counts, which kind it counts. */
export type QuotaResourceOwner =
  | { kind: 'pods' }
  | { kind: 'services' }
  | { kind: 'persistentvolumeclaims' }
  | { kind: 'count'; group: string; plural: string };

export function ownerOfQuotaName(name: string): QuotaResourceOwner | undefined {
  if (POD_RESOURCES.has(name) || POD_RESOURCE_PREFIXES.some((p) => name.startsWith(p)) || isExtendedQuotaName(name)) return { kind: 'pods' };
  if (name === 'services' || name === 'count/services' || name === 'services.nodeports' || name === 'services.loadbalancers') return { kind: 'services' };
  if (name === 'persistentvolumeclaims' || name === 'count/persistentvolumeclaims' || name === 'requests.storage' || name.includes(STORAGE_CLASS_SUFFIX)) {
    return { kind: 'persistentvolumeclaims' };
  }
  for (const [plural, legacy] of Object.entries(LEGACY_COUNT_NAMES)) if (name === legacy) return { kind: 'count', group: '', plural };
  if (name.startsWith('count/')) {
    const rest = name.slice('count/'.length);
    const dot = rest.indexOf('.');
    return dot < 0 ? { kind: 'count', group: '', plural: rest } : { kind: 'count', group: rest.slice(dot + 1), plural: rest.slice(0, dot) };
  }
  return undefined;
}

/** The evaluator of one kind of object: what it charges and which quotas it answers to. */
export interface QuotaEvaluator {
  /** Charged on create; on update too for kinds whose usage can change (services, claims). */
  handlesUpdate: boolean;
  usage(obj: Json, now: Date): ResourceList;
  /** Whether a quota resource name is one this evaluator charges. */
  matchesName(name: string): boolean;
  /** Whether the quota's scopes select the object (only pods have scopes; a scoped quota never matches other kinds). */
  matchesScopes(quota: Json, obj: Json): boolean;
  /** upstream's Constraints: a refusal reason (without the "failed quota" prefix), or undefined. */
  constraints(required: string[], obj: Json): string | undefined;
}

function quotaScopeSelectors(quota: Json): Json[] {
  const out: Json[] = [];
  for (const s of quota.spec?.scopes ?? []) out.push({ scopeName: s, operator: 'Exists' });
  for (const e of quota.spec?.scopeSelector?.matchExpressions ?? []) out.push(e);
  return out;
}

function usesCrossNamespacePodAffinity(pod: Json): boolean {
  const terms: Json[] = [];
  for (const k of ['podAffinity', 'podAntiAffinity']) {
    const a = pod.spec?.affinity?.[k];
    if (!a) continue;
    terms.push(...(a.requiredDuringSchedulingIgnoredDuringExecution ?? []));
    for (const w of a.preferredDuringSchedulingIgnoredDuringExecution ?? []) terms.push(w?.podAffinityTerm);
  }
  return terms.some((t) => t && ((t.namespaces ?? []).length > 0 || t.namespaceSelector != null));
}

function podMatchesScope(sel: Json, pod: Json): boolean {
  const terminating = typeof pod.spec?.activeDeadlineSeconds === 'number' && pod.spec.activeDeadlineSeconds >= 0;
  switch (sel?.scopeName) {
    case 'Terminating':
      return terminating;
    case 'NotTerminating':
      return !terminating;
    case 'BestEffort':
      return podQOS(pod) === 'BestEffort';
    case 'NotBestEffort':
      return podQOS(pod) !== 'BestEffort';
    case 'CrossNamespacePodAffinity':
      return usesCrossNamespacePodAffinity(pod);
    case 'PriorityClass': {
      const cls: string = pod.spec?.priorityClassName ?? '';
      const values: string[] = sel.values ?? [];
      switch (sel.operator) {
        case 'Exists':
          return cls !== '';
        case 'In':
          return values.includes(cls);
        case 'NotIn':
          return !values.includes(cls);
        default:
          // DoesNotExist: upstream matches against a label set that always holds the key
          return false;
      }
    }
    default:
      return false;
  }
}

const podEvaluator: QuotaEvaluator = {
  handlesUpdate: false,
  usage: podUsage,
  matchesName: (n) => ownerOfQuotaName(n)?.kind === 'pods',
  matchesScopes: (quota, pod) => quotaScopeSelectors(quota).every((s) => podMatchesScope(s, pod)),
  constraints(required, pod) {
    const want = required.filter((r) => EXPLICIT_REQUEST_NAMES.has(r));
    if (want.length === 0) return undefined;
    const missing = new Map<string, Set<string>>();
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
      const have = computeUsage(toList(c.resources?.requests), toList(c.resources?.limits));
      for (const r of want) {
        if (have[r]) continue;
        if (!missing.has(r)) missing.set(r, new Set());
        missing.get(r)!.add(c.name);
      }
    }
    if (missing.size === 0) return undefined;
    const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`);
    return `must specify ${parts.join('; ')}`;
  },
};

const unscoped = (quota: Json) => quotaScopeSelectors(quota).length === 0;

const serviceEvaluator: QuotaEvaluator = {
  handlesUpdate: true,
  usage: serviceUsage,
  matchesName: (n) => ownerOfQuotaName(n)?.kind === 'services',
  matchesScopes: unscoped,
  constraints: () => undefined,
};

const pvcEvaluator: QuotaEvaluator = {
  handlesUpdate: true,
  usage: pvcUsage,
  matchesName: (n) => ownerOfQuotaName(n)?.kind === 'persistentvolumeclaims',
  matchesScopes: unscoped,
  constraints: () => undefined,
};

function countEvaluator(group: string, plural: string): QuotaEvaluator {
  const names = new Set([objectCountName(group, plural)]);
  if (!group && LEGACY_COUNT_NAMES[plural]) names.add(LEGACY_COUNT_NAMES[plural]!);
  return {
    handlesUpdate: false,
    usage: () => Object.fromEntries([...names].map((n) => [n, one()])),
    matchesName: (n) => names.has(n),
    matchesScopes: unscoped,
    constraints: () => undefined,
  };
}

export function evaluatorFor(group: string, plural: string): QuotaEvaluator {
  if (group === '' && plural === 'pods') return podEvaluator;
  if (group === '' && plural === 'services') return serviceEvaluator;
  if (group === '' && plural === 'persistentvolumeclaims') return pvcEvaluator;
  return countEvaluator(group, plural);
}

// ------------------------------------------------------------------------------ list arithmetic

export function addLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = { ...a };
  for (const [k, q] of Object.entries(b)) out[k] = out[k] ? addQuantities(out[k]!, q) : q;
  return out;
}

/** a - b, keeping only positive differences (upstream's SubtractWithNonNegativeResult). */
export function subtractNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, q] of Object.entries(a)) {
    const d = b[k] ? subtractQuantities(q, b[k]!) : q;
    out[k] = d.nanos > 0n ? d : { nanos: 0n, format: q.format };
  }
  return out;
}

export function maskList(rl: ResourceList, names: Iterable<string>): ResourceList {
  const out: ResourceList = {};
  for (const n of names) if (rl[n]) out[n] = rl[n]!;
  return out;
}

export function isZeroList(rl: ResourceList): boolean {
  return Object.values(rl).every((q) => q.nanos === 0n);
}

/** The names whose value in `a` exceeds `limit` (upstream's LessThanOrEqual). */
export function exceeding(a: ResourceList, limit: ResourceList): string[] {
  return Object.keys(a).filter((k) => limit[k] && compareQuantities(a[k]!, limit[k]!) > 0);
}

/** upstream's prettyPrint: sorted name=value pairs joined by commas. */
export function prettyPrint(rl: ResourceList): string {
  return Object.keys(rl)
    .sort()
    .map((k) => `${k}=${quantityString(rl[k]!)}`)
    .join(',');
}

export function listFromJSON(rl: Json): ResourceList {
  return toList(rl);
}

export function listToJSON(rl: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(rl).sort()) out[k] = quantityString(rl[k]!);
  return out;
}

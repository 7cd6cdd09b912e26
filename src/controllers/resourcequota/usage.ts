// What objects charge against a ResourceQuota (upstream's pkg/quota/v1/evaluator/core and the
// generic object-count evaluator), as pure functions: the usage of one object, and the usage of a
// namespace's objects for the resource names a quota limits.
import type { KObject } from '../../api/meta.ts';
import { addQuantities, compareQuantities, quantityFromInt, quantityFromJSON, quantityString, type Quantity } from '../../api/quantity.ts';

export type ResourceList = Map<string, Quantity>;

const STORAGE_CLASS_SUFFIX = '.storageclass.storage.k8s.io/';
const one = (): Quantity => quantityFromInt(1);
const zero = (): Quantity => quantityFromInt(0);

function toList(rl: unknown): ResourceList {
  const out: ResourceList = new Map();
  for (const [k, v] of Object.entries((rl ?? {}) as Record<string, unknown>)) {
    try {
      out.set(k, quantityFromJSON(v));
    } catch {
      /* malformed quantities are validation's to report */
    }
  }
  return out;
}

function add(into: ResourceList, from: ResourceList): void {
  for (const [k, v] of from) into.set(k, into.has(k) ? addQuantities(into.get(k)!, v) : v);
}

function max(into: ResourceList, from: ResourceList): void {
  for (const [k, v] of from) if (!into.has(k) || compareQuantities(v, into.get(k)!) > 0) into.set(k, v);
}

interface Container {
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  restartPolicy?: string;
}

/** upstream's PodRequests/PodLimits: containers summed, init containers as a floor (sidecars added), overhead on top. */
export function podRequestsAndLimits(pod: KObject): { requests: ResourceList; limits: ResourceList } {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[]; overhead?: Record<string, unknown> };
  const compute = (which: 'requests' | 'limits'): ResourceList => {
    const sum: ResourceList = new Map();
    for (const c of spec.containers ?? []) add(sum, toList(c.resources?.[which]));
    const restartable: ResourceList = new Map();
    const initMax: ResourceList = new Map();
    for (const c of spec.initContainers ?? []) {
      const own = toList(c.resources?.[which]);
      let effective: ResourceList;
      if (c.restartPolicy === 'Always') {
        add(sum, own);
        add(restartable, own);
        effective = new Map(restartable);
      } else {
        effective = new Map(own);
        add(effective, restartable);
      }
      max(initMax, effective);
    }
    max(sum, initMax);
    const overhead = toList(spec.overhead);
    if (which === 'requests') add(sum, overhead);
    else for (const [k, v] of overhead) if (sum.has(k)) sum.set(k, addQuantities(sum.get(k)!, v));
    return sum;
  };
  return { requests: compute('requests'), limits: compute('limits') };
}

function isExtendedResourceName(name: string): boolean {
  if (name.startsWith('requests.')) return false;
  if (!name.includes('/')) return false;
  return !name.startsWith('kubernetes.io/');
}

/** upstream's QuotaV1Pod: terminal pods and pods past their deletion grace period are not charged. */
export function podCharged(pod: KObject, nowMs: number): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return false;
  const m = pod.metadata;
  if (m.deletionTimestamp && m.deletionGracePeriodSeconds !== undefined) {
    const t = Date.parse(m.deletionTimestamp);
    if (!Number.isNaN(t) && nowMs > t + m.deletionGracePeriodSeconds * 1000) return false;
  }
  return true;
}

/** A pod's usage (upstream's podComputeUsageHelper plus count/pods). */
export function podUsage(pod: KObject, nowMs: number): ResourceList {
  const out: ResourceList = new Map();
  if (!podCharged(pod, nowMs)) return out;
  const { requests, limits } = podRequestsAndLimits(pod);
  out.set('pods', one());
  out.set('count/pods', one());
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    const q = requests.get(r);
    if (q) {
      out.set(r, q);
      out.set(`requests.${r}`, q);
    }
    const l = limits.get(r);
    if (l) out.set(`limits.${r}`, l);
  }
  for (const [r, q] of requests) {
    if (r.startsWith('hugepages-')) {
      out.set(r, q);
      out.set(`requests.${r}`, q);
    }
    if (isExtendedResourceName(r)) out.set(`requests.${r}`, q);
  }
  return out;
}

/** Whether the quota's pod resources include this name (upstream's pod evaluator MatchingResources). */
export function isPodResource(name: string): boolean {
  if (['pods', 'count/pods', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage'].includes(name)) return true;
  if (name.startsWith('hugepages-') || name.startsWith('requests.hugepages-')) return true;
  return name.startsWith('requests.') && isExtendedResourceName(name.slice('requests.'.length));
}

export function serviceUsage(svc: KObject): ResourceList {
  const spec = (svc.spec ?? {}) as { type?: string; ports?: { nodePort?: number }[]; allocateLoadBalancerNodePorts?: boolean };
  const ports = spec.ports?.length ?? 0;
  const out: ResourceList = new Map([
    ['count/services', one()],
    ['services', one()],
    ['services.loadbalancers', zero()],
    ['services.nodeports', zero()],
  ]);
  if (spec.type === 'NodePort') out.set('services.nodeports', quantityFromInt(ports));
  else if (spec.type === 'LoadBalancer') {
    const withNodePorts = spec.allocateLoadBalancerNodePorts === false ? (spec.ports ?? []).filter((p) => p.nodePort).length : ports;
    out.set('services.nodeports', quantityFromInt(withNodePorts));
    out.set('services.loadbalancers', one());
  }
  return out;
}

export function pvcUsage(pvc: KObject): ResourceList {
  const spec = (pvc.spec ?? {}) as { storageClassName?: string; resources?: { requests?: Record<string, unknown> } };
  const out: ResourceList = new Map([
    ['persistentvolumeclaims', one()],
    ['count/persistentvolumeclaims', one()],
  ]);
  const sc = spec.storageClassName ?? '';
  if (sc) out.set(`${sc}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`, one());
  const storage = toList(spec.resources?.requests).get('storage');
  if (storage) {
    out.set('requests.storage', storage);
    if (sc) out.set(`${sc}${STORAGE_CLASS_SUFFIX}requests.storage`, storage);
  }
  return out;
}

export function isServiceResource(name: string): boolean {
  return ['services', 'count/services', 'services.loadbalancers', 'services.nodeports'].includes(name);
}

export function isPvcResource(name: string): boolean {
  return name === 'persistentvolumeclaims' || name === 'count/persistentvolumeclaims' || name === 'requests.storage' || (name.includes(STORAGE_CLASS_SUFFIX) && (name.endsWith('/persistentvolumeclaims') || name.endsWith('/requests.storage')));
}

/** Legacy object-count names: the resource counted. */
export const LEGACY_COUNTS: Record<string, { group: string; plural: string }> = {
  configmaps: { group: '', plural: 'configmaps' },
  secrets: { group: '', plural: 'secrets' },
  replicationcontrollers: { group: '', plural: 'replicationcontrollers' },
  resourcequotas: { group: '', plural: 'resourcequotas' },
};

/** The resource a count/<resource>[.<group>] name counts. */
export function parseObjectCount(name: string): { group: string; plural: string } | undefined {
  if (LEGACY_COUNTS[name]) return LEGACY_COUNTS[name];
  if (!name.startsWith('count/')) return undefined;
  const rest = name.slice('count/'.length);
  const i = rest.indexOf('.');
  return i < 0 ? { group: '', plural: rest } : { group: rest.slice(i + 1), plural: rest.slice(0, i) };
}

// ---------------------------------------------------------------------------------- scopes

export interface ScopedResourceSelectorRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

function podPriorityClass(pod: KObject): string {
  return (pod.spec as { priorityClassName?: string } | undefined)?.priorityClassName ?? '';
}

function isBestEffort(pod: KObject): boolean {
  const qos = (pod.status as { qosClass?: string } | undefined)?.qosClass;
  if (qos) return qos === 'BestEffort';
  const { requests, limits } = podRequestsAndLimits(pod);
  for (const m of [requests, limits]) for (const k of m.keys()) if (k === 'cpu' || k === 'memory') return false;
  return true;
}

function usesCrossNamespaceAffinity(pod: KObject): boolean {
  const a = (pod.spec as { affinity?: Record<string, { requiredDuringSchedulingIgnoredDuringExecution?: unknown[]; preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm?: unknown }[] }> } | undefined)?.affinity;
  if (!a) return false;
  for (const k of ['podAffinity', 'podAntiAffinity']) {
    const x = a[k];
    if (!x) continue;
    const terms = [...((x.requiredDuringSchedulingIgnoredDuringExecution ?? []) as { namespaces?: string[]; namespaceSelector?: unknown }[]), ...((x.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => w.podAffinityTerm) as { namespaces?: string[]; namespaceSelector?: unknown }[])];
    if (terms.some((t) => t && ((t.namespaces?.length ?? 0) > 0 || t.namespaceSelector !== undefined))) return true;
  }
  return false;
}

/** Whether a pod falls under one scope requirement (upstream's podMatchesScopeFunc). */
export function podMatchesScope(pod: KObject, req: ScopedResourceSelectorRequirement): boolean {
  const activeDeadline = (pod.spec as { activeDeadlineSeconds?: number } | undefined)?.activeDeadlineSeconds;
  switch (req.scopeName) {
    case 'Terminating':
      return activeDeadline !== undefined && activeDeadline >= 0;
    case 'NotTerminating':
      return activeDeadline === undefined || activeDeadline < 0;
    case 'BestEffort':
      return isBestEffort(pod);
    case 'NotBestEffort':
      return !isBestEffort(pod);
    case 'PriorityClass': {
      const pc = podPriorityClass(pod);
      switch (req.operator) {
        case 'Exists':
          return true;
        case 'DoesNotExist':
          return false;
        case 'In':
          return (req.values ?? []).includes(pc);
        case 'NotIn':
          return !(req.values ?? []).includes(pc);
        default:
          return false;
      }
    }
    case 'CrossNamespacePodAffinity':
      return usesCrossNamespaceAffinity(pod);
    default:
      return false;
  }
}

/** A quota's scopes and scope selector as requirements (scopes are "Exists"). */
export function quotaScopes(quota: KObject): ScopedResourceSelectorRequirement[] {
  const spec = (quota.spec ?? {}) as { scopes?: string[]; scopeSelector?: { matchExpressions?: ScopedResourceSelectorRequirement[] } };
  return [...(spec.scopes ?? []).map((s) => ({ scopeName: s, operator: 'Exists' })), ...(spec.scopeSelector?.matchExpressions ?? [])];
}

/** BestEffort quotas track only the pod count (upstream restricts their resources to pods). */
function scopeAllowsResource(scopes: readonly ScopedResourceSelectorRequirement[], name: string): boolean {
  if (scopes.some((s) => s.scopeName === 'BestEffort')) return name === 'pods' || name === 'count/pods';
  return true;
}

// ---------------------------------------------------------------------------------- totals

export interface NamespaceObjects {
  pods(): readonly KObject[];
  services(): readonly KObject[];
  pvcs(): readonly KObject[];
  /** Objects of a resource counted by count/<resource>.<group>; undefined when unknown. */
  count(group: string, plural: string): number | undefined;
}

/**
 * Usage for every resource name the quota's hard limits name (zero where nothing is charged),
 * honouring its scopes; names no evaluator knows are left out.
 */
export function computeUsage(quota: KObject, objects: NamespaceObjects, nowMs: number): ResourceList {
  const hard = toList((quota.spec as { hard?: unknown } | undefined)?.hard);
  const scopes = quotaScopes(quota);
  const used: ResourceList = new Map();
  const wantPods = [...hard.keys()].filter((k) => isPodResource(k) && scopeAllowsResource(scopes, k));
  if (wantPods.length) {
    const total: ResourceList = new Map(wantPods.map((k) => [k, zero()]));
    for (const p of objects.pods()) {
      if (!scopes.every((s) => podMatchesScope(p, s))) continue;
      const u = podUsage(p, nowMs);
      for (const k of wantPods) if (u.has(k)) total.set(k, addQuantities(total.get(k)!, u.get(k)!));
    }
    for (const [k, v] of total) used.set(k, v);
  }
  // scopes only ever select pods
  const unscoped = scopes.length === 0;
  const wantSvc = [...hard.keys()].filter(isServiceResource);
  if (wantSvc.length) {
    const total: ResourceList = new Map(wantSvc.map((k) => [k, zero()]));
    if (unscoped) for (const s of objects.services()) for (const [k, v] of serviceUsage(s)) if (total.has(k)) total.set(k, addQuantities(total.get(k)!, v));
    for (const [k, v] of total) used.set(k, v);
  }
  const wantPvc = [...hard.keys()].filter(isPvcResource);
  if (wantPvc.length) {
    const total: ResourceList = new Map(wantPvc.map((k) => [k, zero()]));
    if (unscoped) for (const p of objects.pvcs()) for (const [k, v] of pvcUsage(p)) if (total.has(k)) total.set(k, addQuantities(total.get(k)!, v));
    for (const [k, v] of total) used.set(k, v);
  }
  for (const k of hard.keys()) {
    if (used.has(k)) continue;
    const r = parseObjectCount(k);
    if (!r) continue;
    const n = unscoped ? objects.count(r.group, r.plural) : 0;
    if (n !== undefined) used.set(k, quantityFromInt(n));
  }
  return used;
}

/** A resource list as JSON (canonical quantity strings), keys sorted. */
export function listToJSON(l: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...l.keys()].sort()) out[k] = quantityString(l.get(k)!);
  return out;
}

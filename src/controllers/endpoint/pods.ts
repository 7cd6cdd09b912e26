// Pods as service endpoints: the shared rules of the Endpoints and EndpointSlice controllers
// (upstream's k8s.io/endpointslice/util and pkg/api/v1/pod helpers). Pure functions over plain
// objects, plus two small per-controller trackers.
import type { KObject } from '../../api/meta.ts';
import { matchesLabels, validatedSelectorFromSet } from '../../api/labels.ts';
import { getCondition, isPodTerminal } from '../cluster/objects.ts';

export interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}

export interface ServiceSpec {
  selector?: Record<string, string> | null;
  type?: string;
  clusterIP?: string;
  ipFamilies?: string[];
  ports?: ServicePort[];
  publishNotReadyAddresses?: boolean;
}

export interface PodSpec {
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
  containers?: { ports?: { name?: string; containerPort: number; protocol?: string }[] }[];
  initContainers?: { restartPolicy?: string; ports?: { name?: string; containerPort: number; protocol?: string }[] }[];
}

export interface PodStatus {
  podIP?: string;
  podIPs?: { ip: string }[];
}

export const serviceSpec = (svc: KObject): ServiceSpec => (svc.spec ?? {}) as ServiceSpec;
export const podSpec = (pod: KObject): PodSpec => (pod.spec ?? {}) as PodSpec;
export const podStatus = (pod: KObject): PodStatus => (pod.status ?? {}) as PodStatus;

/** What the endpoint controllers read of a pod, computed once per (frozen, never changing) pod object. */
interface PodFacts {
  ips: string[];
  ready: boolean;
  /** The Ready condition's lastTransitionTime in ms, 0 when absent. */
  readyTransition: number;
}

const facts = new WeakMap<KObject, PodFacts>();

function podFacts(pod: KObject): PodFacts {
  let f = facts.get(pod);
  if (f) return f;
  const s = podStatus(pod);
  const ips = s.podIPs?.length ? s.podIPs.map((p) => p.ip) : s.podIP ? [s.podIP] : [];
  const ready = getCondition(pod, 'Ready');
  f = { ips, ready: ready?.status === 'True', readyTransition: ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) || 0 : 0 };
  facts.set(pod, f);
  return f;
}

/** Pod IPs in order (status.podIPs, or the single status.podIP). */
export function podIPs(pod: KObject): string[] {
  return podFacts(pod).ips;
}

/** upstream's IsPodReady: the Ready condition is True. */
export function podReady(pod: KObject): boolean {
  return podFacts(pod).ready;
}

/**
 * upstream's ShouldPodBeInEndpoints: not terminal, has an IP, and (unless includeTerminating)
 * not being deleted.
 */
export function shouldPodBeInEndpoints(pod: KObject, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (podIPs(pod).length === 0) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

/** A pod's hostname is published when its subdomain names the service (same namespace). */
export function shouldSetHostname(pod: KObject, svc: KObject): boolean {
  const s = podSpec(pod);
  return !!s.hostname && s.subdomain === svc.metadata.name && svc.metadata.namespace === pod.metadata.namespace;
}

export function isServiceIPSet(svc: KObject): boolean {
  const ip = serviceSpec(svc).clusterIP;
  return !!ip && ip !== 'None';
}

export function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/**
 * upstream's FindPort: a numeric targetPort is the port; a named one is looked up among the
 * containers' ports (and restartable init containers') with the service port's protocol.
 * Undefined when no port matches.
 */
export function findPort(pod: KObject, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  const protocol = sp.protocol ?? 'TCP';
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const s = podSpec(pod);
  for (const c of s.containers ?? []) for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  for (const c of s.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') continue;
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/** The ready condition's last transition (what upstream's trigger time tracker reads). */
function podTriggerTime(pod: KObject): number {
  return podFacts(pod).readyTransition;
}

/**
 * upstream's podEndpointsChanged: [pod changed in a way that may change its endpoints,
 * labels (or hostname/subdomain) changed so its services may differ].
 */
export function podEndpointsChanged(oldPod: KObject, newPod: KObject): [boolean, boolean] {
  const labelsChanged =
    JSON.stringify(sortedLabels(oldPod.metadata.labels)) !== JSON.stringify(sortedLabels(newPod.metadata.labels)) ||
    podSpec(oldPod).hostname !== podSpec(newPod).hostname ||
    podSpec(oldPod).subdomain !== podSpec(newPod).subdomain;
  if (oldPod.metadata.deletionTimestamp !== newPod.metadata.deletionTimestamp) return [true, labelsChanged];
  if (podReady(oldPod) !== podReady(newPod)) return [true, labelsChanged];
  const a = podIPs(oldPod);
  const b = podIPs(newPod);
  if (a.length !== b.length || a.some((ip, i) => ip !== b[i])) return [true, labelsChanged];
  return [false, labelsChanged];
}

function sortedLabels(l: Record<string, string> | undefined): [string, string][] {
  return Object.entries(l ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Keys (ns/name) of the services in `services` whose selector matches these labels. Nil selectors match nothing. */
export function servicesForLabels(services: readonly KObject[], labels: Record<string, string> | undefined): Set<string> {
  const out = new Set<string>();
  for (const svc of services) {
    const sel = serviceSpec(svc).selector;
    if (sel === undefined || sel === null) continue;
    if (matchesLabels(validatedSelectorFromSet(sel), labels)) out.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
  }
  return out;
}

/**
 * upstream's GetServicesToUpdateOnPodChange: for an update, the services of the new labels,
 * plus those of the old labels when labels changed (all of them if the pod changed too,
 * otherwise only the ones not common to both). `servicesInNamespace` lists the pod's namespace's services.
 */
export function servicesToUpdateOnPodChange(servicesInNamespace: readonly KObject[], oldPod: KObject | undefined, newPod: KObject): Set<string> {
  if (!oldPod) return servicesForLabels(servicesInNamespace, newPod.metadata.labels);
  if (oldPod.metadata.resourceVersion === newPod.metadata.resourceVersion) return new Set();
  const [podChanged, labelsChanged] = podEndpointsChanged(oldPod, newPod);
  if (!podChanged && !labelsChanged) return new Set();
  const now = servicesForLabels(servicesInNamespace, newPod.metadata.labels);
  if (!labelsChanged) return now;
  const before = servicesForLabels(servicesInNamespace, oldPod.metadata.labels);
  if (podChanged) return new Set([...now, ...before]);
  const out = new Set<string>();
  for (const k of now) if (!before.has(k)) out.add(k);
  for (const k of before) if (!now.has(k)) out.add(k);
  return out;
}

/**
 * upstream's TriggerTimeTracker: the earliest pod Ready transition (or service creation) that
 * changed since the service's last sync; 0 when nothing did. Feeds the
 * endpoints.kubernetes.io/last-change-trigger-time annotation.
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, { pods: Map<string, number>; service: number }>();

  compute(svc: KObject, pods: readonly KObject[]): number {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    let state = this.states.get(key);
    if (!state) this.states.set(key, (state = { pods: new Map(), service: 0 }));
    // the state becomes the pods' current times, updated in place (most pods have not changed)
    const known = state.pods;
    let min = 0;
    const take = (t: number) => {
      if (min === 0 || t < min) min = t;
    };
    let recorded = 0;
    for (const p of pods) {
      const name = p.metadata.name!;
      const t = podTriggerTime(p);
      if (!t) {
        known.delete(name);
        continue;
      }
      recorded++;
      const before = known.get(name);
      if (before === t) continue;
      if (t > (before ?? 0)) take(t);
      known.set(name, t);
    }
    if (known.size > recorded) {
      // pods that left the service
      const present = new Set(pods.map((p) => p.metadata.name!));
      for (const name of known.keys()) if (!present.has(name)) known.delete(name);
    }
    const st = Date.parse(svc.metadata.creationTimestamp ?? '') || 0;
    if (st > state.service) take(st);
    state.service = st;
    return min;
  }

  delete(key: string): void {
    this.states.delete(key);
  }
}

/** Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z').replace(/\.Z$/, 'Z');
}

/**
 * Remembers the resourceVersion each write of ours produced, so that a cache still showing an
 * older version is recognized as stale (upstream's staleEndpointsTracker and the slice tracker's
 * generations; resourceVersions are compared as the store's revisions).
 */
export class WrittenVersions {
  private readonly m = new Map<string, number>();

  record(key: string, resourceVersion: string | undefined): void {
    const rv = Number(resourceVersion);
    if (Number.isFinite(rv)) this.m.set(key, Math.max(rv, this.m.get(key) ?? 0));
  }

  /** The cached object is older than what we wrote. */
  isStale(key: string, cached: KObject | undefined): boolean {
    const w = this.m.get(key);
    if (w === undefined) return false;
    if (!cached) return true;
    return Number(cached.metadata.resourceVersion) < w;
  }

  /** Whether an observed version is newer than what we wrote (someone else changed it). */
  isNewer(key: string, obj: KObject): boolean {
    const w = this.m.get(key);
    return w === undefined || Number(obj.metadata.resourceVersion) > w;
  }

  written(key: string): boolean {
    return this.m.has(key);
  }

  delete(key: string): void {
    this.m.delete(key);
  }

  keys(): IterableIterator<string> {
    return this.m.keys();
  }
}

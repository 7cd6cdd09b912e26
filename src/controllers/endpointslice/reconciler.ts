// EndpointSlice reconciliation (upstream's k8s.io/endpointslice reconciler.go and utils.go): the
// desired endpoints of a Service, grouped by port set and address type, are fitted into the
// existing slices with as few writes as possible — endpoints that left are dropped and changed ones
// replaced in place, new ones fill slices already being written (fullest first), then a single
// unchanged slice that can take them all, and only then new slices of at most maxEndpointsPerSlice.
// A Service with no endpoints keeps one empty placeholder slice.
//
// Pure: computes what to create, update and delete; the controller writes.
import type { KObject, OwnerReference } from '../../api/meta.ts';
import { findPort, isServiceIPSet, podIPs, podReady, serviceSpec, shouldPodBeInEndpoints, shouldSetHostname, isIPv6 } from '../endpoint/pods.ts';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface SlicePort {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string; resourceVersion?: string };
  nodeName?: string;
  zone?: string;
  hints?: unknown;
}

export interface EndpointSlice extends KObject {
  addressType: string;
  endpoints: SliceEndpoint[];
  ports: SlicePort[];
}

const keys = new WeakMap<SliceEndpoint, string>();

function computeEndpointKey(ep: SliceEndpoint): string {
  // NUL cannot occur in any of these fields (addresses, DNS labels, object names): the join is unambiguous
  const addrs = ep.addresses.length === 1 ? ep.addresses[0]! : [...ep.addresses].sort().join('\u0001');
  return `${addrs}\u0000${ep.hostname ?? ''}\u0000${ep.targetRef?.namespace ?? ''}\u0000${ep.targetRef?.name ?? ''}`;
}

/** upstream's endpoint hash: addresses (sorted), hostname, and the target's namespace/name. */
export function endpointKey(ep: SliceEndpoint): string {
  let k = keys.get(ep);
  if (k === undefined) {
    k = computeEndpointKey(ep);
    keys.set(ep, k);
  }
  return k;
}

const listKeys = new WeakMap<readonly SliceEndpoint[], string[]>();

/** The keys of a slice's endpoints, in order; kept for the (frozen) lists of cached slices. */
function endpointKeys(eps: readonly SliceEndpoint[]): string[] {
  let k = listKeys.get(eps);
  if (k === undefined) {
    k = eps.map(computeEndpointKey);
    if (Object.isFrozen(eps)) listKeys.set(eps, k);
  }
  return k;
}

/** Equal beyond the key: node, zone, conditions, target (ignoring its resourceVersion). */
export function endpointsEqualBeyondKey(a: SliceEndpoint, b: SliceEndpoint): boolean {
  if ((a.nodeName ?? null) !== (b.nodeName ?? null) || (a.zone ?? null) !== (b.zone ?? null)) return false;
  const c = a.conditions ?? {};
  const d = b.conditions ?? {};
  if ((c.ready ?? null) !== (d.ready ?? null) || (c.serving ?? null) !== (d.serving ?? null) || (c.terminating ?? null) !== (d.terminating ?? null)) return false;
  const t = a.targetRef;
  const u = b.targetRef;
  if (!t || !u) return !t && !u;
  return t.kind === u.kind && t.namespace === u.namespace && t.name === u.name && t.uid === u.uid;
}

/** A key for a set of ports, order-insensitive (upstream's PortMapKey). */
export function portMapKey(ports: readonly SlicePort[] | undefined): string {
  return (ports ?? [])
    .map((p) => JSON.stringify([p.name ?? null, p.port ?? null, p.protocol ?? null, p.appProtocol ?? null]))
    .sort()
    .join('|');
}

/** Address types a Service's slices have, from spec.ipFamilies (or its cluster IP; both when headless and unknown). */
export function addressTypesForService(svc: KObject): Set<string> {
  const spec = serviceSpec(svc);
  const out = new Set<string>();
  for (const f of spec.ipFamilies ?? []) if (f === 'IPv4' || f === 'IPv6') out.add(f);
  if (out.size) return out;
  if (spec.clusterIP && spec.clusterIP !== 'None') return new Set([isIPv6(spec.clusterIP) ? 'IPv6' : 'IPv4']);
  return new Set(['IPv4', 'IPv6']);
}

/** upstream's getEndpointPorts: one port per service port that resolves on this pod. */
export function endpointPorts(svc: KObject, pod: KObject): SlicePort[] {
  const spec = serviceSpec(svc);
  const out: SlicePort[] = [];
  if (!spec.ports?.length && spec.clusterIP === 'None') return out;
  for (const sp of spec.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const p: SlicePort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

/** upstream's podToEndpoint: ready = serving and not terminating (or publishNotReadyAddresses). */
export function podToEndpoint(pod: KObject, node: KObject | undefined, svc: KObject, addressType: string): SliceEndpoint {
  const serving = podReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = !!serviceSpec(svc).publishNotReadyAddresses || (serving && !terminating);
  const ep: SliceEndpoint = {
    addresses: podIPs(pod).filter((ip) => isIPv6(ip) === (addressType === 'IPv6')),
    conditions: { ready, serving, terminating },
  };
  if (shouldSetHostname(pod, svc)) ep.hostname = (pod.spec as { hostname?: string }).hostname;
  ep.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  if (nodeName) ep.nodeName = nodeName;
  const zone = node?.metadata.labels?.[LABEL_ZONE];
  if (zone) ep.zone = zone;
  return ep;
}

function isReservedLabel(k: string): boolean {
  return k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS;
}

/**
 * upstream's setEndpointSliceLabels: the Service's labels (reserved ones excepted) plus the
 * headless marker, service-name and managed-by; `changed` when the slice's own labels (reserved
 * excepted) differ from the Service's.
 */
export function sliceLabels(slice: KObject | undefined, svc: KObject, controllerName: string): { labels: Record<string, string>; changed: boolean } {
  const mine: Record<string, string> = {};
  for (const [k, v] of Object.entries(slice?.metadata.labels ?? {})) if (!isReservedLabel(k)) mine[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) if (!isReservedLabel(k)) labels[k] = v;
  const changed = Object.keys(mine).length !== Object.keys(labels).length || Object.entries(labels).some(([k, v]) => mine[k] !== v);
  if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata.name!;
  labels[LABEL_MANAGED_BY] = controllerName;
  return { labels, changed };
}

export function serviceOwnerRef(svc: KObject): OwnerReference {
  return { apiVersion: 'v1', kind: 'Service', name: svc.metadata.name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** upstream's getEndpointSlicePrefix: "<service>-" when that is a valid name prefix. */
export function slicePrefix(name: string): string {
  const p = `${name}-`;
  return p.length <= 253 - 5 ? p : name;
}

export function newSlice(svc: KObject, ports: SlicePort[], addressType: string, controllerName: string): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { generateName: slicePrefix(svc.metadata.name!), namespace: svc.metadata.namespace, ownerReferences: [serviceOwnerRef(svc)], labels: sliceLabels(undefined, svc, controllerName).labels },
    addressType,
    endpoints: [],
    ports,
  };
}

export function ownedBy(slice: KObject, svc: KObject): boolean {
  return !!slice.metadata.ownerReferences?.some((o) => o.uid === svc.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1');
}

export interface SliceChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

/**
 * A copy of a (cached, immutable) slice to write: its own metadata and endpoint list, sharing the
 * rest. Callers replace what they change (labels, annotations, endpoints) and never modify the
 * shared parts.
 */
function copyForUpdate(s: EndpointSlice): EndpointSlice {
  return { ...s, metadata: { ...s.metadata }, endpoints: [...(s.endpoints ?? [])] };
}

/**
 * Fits `desired` (key → endpoint, in preference order) into the existing slices of one port set
 * (upstream's reconcileByPortMapping). `labelsFor` gives a slice's labels and whether they changed.
 */
export function reconcileByPortMapping(
  existing: readonly EndpointSlice[],
  desired: Map<string, SliceEndpoint>,
  makeSlice: () => EndpointSlice,
  labelsFor: (s: EndpointSlice) => { labels: Record<string, string>; changed: boolean },
  maxPerSlice: number,
): SliceChanges {
  const byName = new Map<string, EndpointSlice>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();
  for (const s of existing) {
    byName.set(s.metadata.name!, s);
    const kept: SliceEndpoint[] = [];
    let updated = false;
    const eps = s.endpoints ?? [];
    const epKeys = endpointKeys(eps);
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[i]!;
      const k = epKeys[i]!;
      const want = desired.get(k);
      if (!want) continue;
      kept.push(want);
      if (!endpointsEqualBeyondKey(want, ep)) updated = true;
      desired.delete(k);
    }
    const { labels, changed } = labelsFor(s);
    if (updated || (s.endpoints ?? []).length !== kept.length) {
      if (kept.length === 0) toDelete.add(s.metadata.name!);
      else {
        const copy = copyForUpdate(s);
        copy.endpoints = kept;
        copy.metadata.labels = labels;
        byName.set(s.metadata.name!, copy);
        toUpdate.add(s.metadata.name!);
      }
    } else if (changed) {
      const copy = copyForUpdate(s);
      copy.metadata.labels = labels;
      byName.set(s.metadata.name!, copy);
      toUpdate.add(s.metadata.name!);
    } else unchanged.add(s.metadata.name!);
  }
  const pending = [...desired.values()];
  let next = 0;
  // fill slices that are being written anyway, fullest first
  if (pending.length > 0 && toUpdate.size > 0) {
    const slices = [...toUpdate].map((n) => byName.get(n)!).sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const s of slices) while (next < pending.length && s.endpoints.length < maxPerSlice) s.endpoints.push(pending[next++]!);
  }
  const create: EndpointSlice[] = [];
  while (next < pending.length) {
    let fill: EndpointSlice | undefined;
    const left = pending.length - next;
    if (left < maxPerSlice && unchanged.size > 0) {
      // the unchanged slice that would end up closest to full
      let closest = maxPerSlice;
      for (const n of unchanged) {
        const s = byName.get(n)!;
        const diff = maxPerSlice - (left + s.endpoints.length);
        if (diff >= 0 && diff < closest) {
          closest = diff;
          fill = s;
        }
      }
      if (fill) {
        fill = copyForUpdate(fill);
        byName.set(fill.metadata.name!, fill);
      }
    }
    if (!fill) fill = makeSlice();
    while (next < pending.length && fill.endpoints.length < maxPerSlice) fill.endpoints.push(pending[next++]!);
    if (fill.metadata.name) {
      toUpdate.add(fill.metadata.name);
      unchanged.delete(fill.metadata.name);
    } else create.push(fill);
  }
  return { create, update: [...toUpdate].map((n) => byName.get(n)!), delete: [...toDelete].map((n) => byName.get(n)!) };
}

/** Whether two placeholder slices are the same (namespace, labels, owners, ports, type, endpoints). */
function samePlaceholder(a: EndpointSlice, b: EndpointSlice): boolean {
  if (a.metadata.namespace !== b.metadata.namespace) return false;
  const la = a.metadata.labels ?? {};
  const lb = b.metadata.labels ?? {};
  if (Object.keys(la).length !== Object.keys(lb).length || Object.entries(la).some(([k, v]) => lb[k] !== v)) return false;
  const owners = (s: EndpointSlice) => JSON.stringify((s.metadata.ownerReferences ?? []).map((o) => [o.apiVersion, o.kind, o.name, o.uid, o.controller ?? null, o.blockOwnerDeletion ?? null]));
  return owners(a) === owners(b) && a.addressType === b.addressType && (a.endpoints ?? []).length === 0 && (b.endpoints ?? []).length === 0 && portMapKey(a.ports) === portMapKey(b.ports);
}

/**
 * Per pod object, what it was turned into for a service, node and address type (all immutable
 * objects, so an entry stays right while they are the same objects).
 */
export type EndpointMemo = WeakMap<
  KObject,
  { svc: KObject; node: KObject | undefined; addressType: string; include: boolean; ports: SlicePort[]; portsKey: string; ep: SliceEndpoint; key: string }
>;

export interface ReconcileInput {
  service: KObject;
  pods: readonly KObject[];
  existing: readonly EndpointSlice[];
  node(name: string): KObject | undefined;
  maxEndpointsPerSlice?: number;
  controllerName?: string;
  memo?: EndpointMemo;
}

/**
 * The changes for a Service's slices (upstream's Reconciler.Reconcile up to finalize): slices of
 * address types the Service no longer has are deleted; per address type, endpoints are grouped by
 * port set. `errors` lists pods skipped because their node is unknown (the sync is retried).
 */
export function reconcileService(input: ReconcileInput): SliceChanges & { errors: string[] } {
  const { service: svc } = input;
  const max = input.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const controllerName = input.controllerName ?? CONTROLLER_NAME;
  const types = addressTypesForService(svc);
  const out: SliceChanges & { errors: string[] } = { create: [], update: [], delete: [], errors: [] };
  const byType = new Map<string, EndpointSlice[]>();
  for (const s of input.existing) {
    if (!types.has(s.addressType)) out.delete.push(s);
    else byType.set(s.addressType, [...(byType.get(s.addressType) ?? []), s]);
  }
  const publishNotReady = !!serviceSpec(svc).publishNotReadyAddresses;
  for (const addressType of types) {
    const existing = byType.get(addressType) ?? [];
    const toDelete: EndpointSlice[] = [];
    const existingByPorts = new Map<string, EndpointSlice[]>();
    for (const s of existing) {
      if (ownedBy(s, svc)) {
        const k = portMapKey(s.ports);
        existingByPorts.set(k, [...(existingByPorts.get(k) ?? []), s]);
      } else toDelete.push(s);
    }
    const desiredByPorts = new Map<string, { ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
    for (const pod of input.pods) {
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName ?? '';
      const node = input.node(nodeName);
      let m = input.memo?.get(pod);
      if (!m || m.svc !== svc || m.node !== node || m.addressType !== addressType) {
        const ports = endpointPorts(svc, pod);
        const ep = podToEndpoint(pod, node, svc, addressType);
        m = { svc, node, addressType, include: shouldPodBeInEndpoints(pod, true), ports, portsKey: portMapKey(ports), ep, key: endpointKey(ep) };
        input.memo?.set(pod, m);
      }
      if (!m.include) continue;
      let d = desiredByPorts.get(m.portsKey);
      if (!d) desiredByPorts.set(m.portsKey, (d = { ports: m.ports, endpoints: new Map() }));
      if (!node && !publishNotReady) {
        out.errors.push(`skipping Pod ${pod.metadata.name} for Service ${svc.metadata.namespace}/${svc.metadata.name}: Node ${nodeName} Not Found`);
        continue;
      }
      if (m.ep.addresses.length > 0) d.endpoints.set(m.key, m.ep);
    }
    const create: EndpointSlice[] = [];
    const update: EndpointSlice[] = [];
    for (const [k, d] of desiredByPorts) {
      const r = reconcileByPortMapping(
        existingByPorts.get(k) ?? [],
        d.endpoints,
        () => newSlice(svc, d.ports, addressType, controllerName),
        (s) => sliceLabels(s, svc, controllerName),
        max,
      );
      create.push(...r.create);
      update.push(...r.update);
      toDelete.push(...r.delete);
    }
    for (const [k, slices] of existingByPorts) if (!desiredByPorts.has(k)) toDelete.push(...slices);
    if (existing.length === toDelete.length && create.length === 0) {
      const placeholder = newSlice(svc, [], addressType, controllerName);
      if (toDelete.length === 1 && samePlaceholder(toDelete[0]!, placeholder)) toDelete.length = 0;
      else create.push(placeholder);
    }
    out.create.push(...create);
    out.update.push(...update);
    out.delete.push(...toDelete);
  }
  return out;
}

/**
 * upstream's finalize: creates become updates of slices that would be deleted (same address type,
 * owned by the Service), so a slice is reused rather than replaced.
 */
export function reuseDeletedSlices(svc: KObject, c: SliceChanges): SliceChanges {
  const create = [...c.create];
  const update = [...c.update];
  const del = [...c.delete];
  for (let i = 0; i < del.length && create.length > 0; ) {
    const d = del[i]!;
    const s = create[create.length - 1]!;
    if (d.addressType === s.addressType && ownedBy(d, svc)) {
      s.metadata.name = d.metadata.name;
      s.metadata.resourceVersion = d.metadata.resourceVersion;
      delete s.metadata.generateName;
      create.pop();
      update.push(s);
      del.splice(i, 1);
    } else i++;
  }
  return { create, update, delete: del };
}

// Resource arithmetic with upstream's units: cpu in millicores, every other resource in whole
// units (bytes for memory and ephemeral-storage), each rounded up as Quantity.MilliValue() and
// Value() do. Quantities are parsed once per distinct string (a small memo), so the hot path
// never touches the arbitrary-precision parser.

import { quantityFromJSON, quantityMilliValue, quantityValue } from '../api/quantity.ts';
import type { Container, Pod, ResourceList } from './types.ts';

export const RESOURCE_CPU = 'cpu';
export const RESOURCE_MEMORY = 'memory';
export const RESOURCE_EPHEMERAL_STORAGE = 'ephemeral-storage';
export const RESOURCE_PODS = 'pods';

/** Requests the scheduler assumes for a container that sets none (upstream's schedutil defaults). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

interface Parsed {
  milli: number;
  value: number;
}

const memo = new Map<string, Parsed>();

function parsed(q: string | number): Parsed {
  const key = typeof q === 'number' ? String(q) : q;
  let p = memo.get(key);
  if (!p) {
    let milli = 0;
    let value = 0;
    try {
      const qq = quantityFromJSON(q);
      milli = Number(quantityMilliValue(qq));
      value = Number(quantityValue(qq));
    } catch {
      // A malformed quantity cannot pass API validation; count it as zero rather than crash.
    }
    p = { milli, value };
    if (memo.size > 4096) memo.clear();
    memo.set(key, p);
  }
  return p;
}

/** The amount in the scheduler's unit for that resource: millicores for cpu, units otherwise. */
export function amount(name: string, q: string | number): number {
  const p = parsed(q);
  return name === RESOURCE_CPU ? p.milli : p.value;
}

/**
 * upstream's IsScalarResourceName: extended resources (a domain-prefixed name), hugepages-*,
 * attachable-volumes-* and kubernetes.io/-prefixed native resources. Other unprefixed names
 * than cpu, memory, ephemeral-storage and pods are ignored by the scheduler.
 */
export function isScalarResourceName(name: string): boolean {
  if (name.startsWith('hugepages-') || name.startsWith('attachable-volumes-')) return true;
  return name.includes('/') && !name.startsWith('requests.');
}

/** upstream's IsExtendedResourceName: a domain-prefixed name outside kubernetes.io/. */
export function isExtendedResourceName(name: string): boolean {
  return name.includes('/') && !name.includes('kubernetes.io/') && !name.startsWith('requests.');
}

/** A resource vector in scheduler units; absent scalar resources are zero. */
export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  allowedPodNumber: number;
  /** Scalar (extended, hugepages, …) resources; null when there are none. */
  scalar: Map<string, number> | null;
}

export function emptyResource(): Resource {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, allowedPodNumber: 0, scalar: null };
}

export function cloneResource(r: Resource): Resource {
  return { ...r, scalar: r.scalar ? new Map(r.scalar) : null };
}

/** Resource from a resource list (node allocatable), as upstream's NewResource. */
export function resourceFromList(list: ResourceList | null | undefined): Resource {
  const r = emptyResource();
  if (!list) return r;
  for (const name of Object.keys(list)) {
    const q = list[name]!;
    switch (name) {
      case RESOURCE_CPU:
        r.milliCPU += amount(name, q);
        break;
      case RESOURCE_MEMORY:
        r.memory += amount(name, q);
        break;
      case RESOURCE_EPHEMERAL_STORAGE:
        r.ephemeralStorage += amount(name, q);
        break;
      case RESOURCE_PODS:
        r.allowedPodNumber += amount(name, q);
        break;
      default:
        if (isScalarResourceName(name)) {
          r.scalar ??= new Map();
          r.scalar.set(name, (r.scalar.get(name) ?? 0) + amount(name, q));
        }
    }
  }
  return r;
}

export function scalarOf(r: Resource, name: string): number {
  return r.scalar?.get(name) ?? 0;
}

/** A plain map of resource name → amount in scheduler units (the aggregate of a pod's requests). */
export type Amounts = Map<string, number>;

function addAmounts(into: Amounts, from: Amounts): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

function maxAmounts(into: Amounts, from: Amounts): void {
  for (const [k, v] of from) {
    const cur = into.get(k);
    if (cur === undefined || v > cur) into.set(k, v);
  }
}

function containerRequests(c: Container, nonMissing: boolean): Amounts {
  const out: Amounts = new Map();
  const req = c.resources?.requests;
  if (req) for (const name of Object.keys(req)) out.set(name, amount(name, req[name]!));
  if (nonMissing) {
    if (!out.has(RESOURCE_CPU)) out.set(RESOURCE_CPU, DEFAULT_MILLI_CPU_REQUEST);
    if (!out.has(RESOURCE_MEMORY)) out.set(RESOURCE_MEMORY, DEFAULT_MEMORY_REQUEST);
  }
  return out;
}

/**
 * A pod's effective requests, as upstream's resourcehelper.PodRequests: regular containers and
 * sidecars (restartable init containers) run together and are summed; each ordinary init
 * container runs alone beside the sidecars started before it, so the pod needs the larger of the
 * sum and every such moment; pod overhead is added on top. With `nonMissing`, a container that
 * sets no cpu or memory request counts the scheduler's defaults (100m, 200Mi) instead, as the
 * scoring and NonZeroRequested accounting do.
 */
export function podRequests(pod: Pod, nonMissing = false): Amounts {
  const reqs: Amounts = new Map();
  for (const c of pod.spec.containers ?? []) addAmounts(reqs, containerRequests(c, nonMissing));
  const sidecars: Amounts = new Map();
  const initMax: Amounts = new Map();
  for (const c of pod.spec.initContainers ?? []) {
    let r = containerRequests(c, nonMissing);
    if (c.restartPolicy === 'Always') {
      addAmounts(reqs, r);
      addAmounts(sidecars, r);
      r = new Map(sidecars);
    } else {
      addAmounts(r, sidecars);
    }
    maxAmounts(initMax, r);
  }
  maxAmounts(reqs, initMax);
  const overhead = pod.spec.overhead;
  if (overhead) for (const name of Object.keys(overhead)) reqs.set(name, (reqs.get(name) ?? 0) + amount(name, overhead[name]!));
  return reqs;
}

/** The Resource view of a pod's requests (what NodeResourcesFit checks). */
export function resourceFromAmounts(a: Amounts): Resource {
  const r = emptyResource();
  for (const [name, v] of a) {
    switch (name) {
      case RESOURCE_CPU:
        r.milliCPU = v;
        break;
      case RESOURCE_MEMORY:
        r.memory = v;
        break;
      case RESOURCE_EPHEMERAL_STORAGE:
        r.ephemeralStorage = v;
        break;
      case RESOURCE_PODS:
        break;
      default:
        if (isScalarResourceName(name)) {
          r.scalar ??= new Map();
          r.scalar.set(name, v);
        }
    }
  }
  return r;
}

// The LimitRanger admission plugin, as upstream's plugin/pkg/admission/limitranger: the
// LimitRanges of a namespace default the requests and limits of a new pod's containers (and say
// so in the kubernetes.io/limit-ranger annotation), then bound them with min, max and
// maxLimitRequestRatio per Container and per Pod; PersistentVolumeClaims are bounded by their
// storage request. Refusals are 403s with upstream's wording, several aggregated in brackets.
import {
  compareQuantities,
  quantityFromJSON,
  quantityMilliValue,
  quantityString,
  quantityValue,
  addQuantities,
  type Quantity,
} from '../../api/quantity.ts';
import type { AdmissionPlugin } from '../registry.ts';
import { podQOS } from '../strategies.ts';
import { NamespacedLister, admissionForbidden, aggregateMessage, type Json } from './common.ts';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

type ResourceList = Record<string, Quantity>;

const MAX_MILLI_VALUE = ((1n << 63n) - 1n) / 1000n;

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

const str = (q: Quantity) => quantityString(q);

/** upstream's requestLimitEnforcedValues: milli-units when nothing overflows, else whole units. */
function enforcedValues(req: Quantity | undefined, lim: Quantity | undefined, enforced: Quantity): [bigint, bigint, bigint] {
  const zero: Quantity = { nanos: 0n, format: 'DecimalSI' };
  const r = req ?? zero;
  const l = lim ?? zero;
  const units: [bigint, bigint, bigint] = [quantityValue(r), quantityValue(l), quantityValue(enforced)];
  if (units.every((u) => u <= MAX_MILLI_VALUE)) return [quantityMilliValue(r), quantityMilliValue(l), quantityMilliValue(enforced)];
  return units;
}

function minConstraint(limitType: string, name: string, enforced: Quantity, request: ResourceList, limit: ResourceList): string | undefined {
  const req = request[name];
  const lim = limit[name];
  const [r, l, e] = enforcedValues(req, lim, enforced);
  if (!req) return `minimum ${name} usage per ${limitType} is ${str(enforced)}.  No request is specified`;
  if (r < e) return `minimum ${name} usage per ${limitType} is ${str(enforced)}, but request is ${str(req)}`;
  if (lim && l < e) return `minimum ${name} usage per ${limitType} is ${str(enforced)}, but limit is ${str(lim)}`;
  return undefined;
}

function maxRequestConstraint(limitType: string, name: string, enforced: Quantity, request: ResourceList): string | undefined {
  const req = request[name];
  const [r, , e] = enforcedValues(req, undefined, enforced);
  if (!req) return `maximum ${name} usage per ${limitType} is ${str(enforced)}.  No request is specified`;
  if (r > e) return `maximum ${name} usage per ${limitType} is ${str(enforced)}, but request is ${str(req)}`;
  return undefined;
}

function maxConstraint(limitType: string, name: string, enforced: Quantity, request: ResourceList, limit: ResourceList): string | undefined {
  const req = request[name];
  const lim = limit[name];
  const [r, l, e] = enforcedValues(req, lim, enforced);
  if (!lim) return `maximum ${name} usage per ${limitType} is ${str(enforced)}.  No limit is specified`;
  if (l > e) return `maximum ${name} usage per ${limitType} is ${str(enforced)}, but limit is ${str(lim)}`;
  if (req && r > e) return `maximum ${name} usage per ${limitType} is ${str(enforced)}, but request is ${str(req)}`;
  return undefined;
}

function limitRequestRatioConstraint(limitType: string, name: string, enforced: Quantity, request: ResourceList, limit: ResourceList): string | undefined {
  const req = request[name];
  const lim = limit[name];
  const [r, l] = enforcedValues(req, lim, enforced);
  if (!req || r === 0n) return `${name} max limit to request ratio per ${limitType} is ${str(enforced)}, but no request is specified or request is 0`;
  if (!lim || l === 0n) return `${name} max limit to request ratio per ${limitType} is ${str(enforced)}, but no limit is specified or limit is 0`;
  let observed = Number(l) / Number(r);
  const display = observed;
  let max = Number(quantityValue(enforced));
  if (quantityValue(enforced) <= MAX_MILLI_VALUE) {
    observed *= 1000;
    max = Number(quantityMilliValue(enforced));
  }
  if (observed > max) return `${name} max limit to request ratio per ${limitType} is ${str(enforced)}, but provided ratio is ${display.toFixed(6)}`;
  return undefined;
}

const sortedEntries = (rl: Json): [string, Quantity][] =>
  Object.entries(toList(rl)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Defaults from every Container item of one LimitRange (later items win, as upstream's loop). */
function defaultRequirements(lr: Json): { requests: Record<string, unknown>; limits: Record<string, unknown> } {
  const requests: Record<string, unknown> = {};
  const limits: Record<string, unknown> = {};
  for (const item of lr.spec?.limits ?? []) {
    if (item?.type !== 'Container') continue;
    Object.assign(requests, item.defaultRequest ?? {});
    Object.assign(limits, item.default ?? {});
  }
  return { requests, limits };
}

/** upstream's PodMutateLimitFunc: fills missing requests and limits, recording what it set. */
export function mutatePodLimits(lr: Json, pod: Json): void {
  const defaults = defaultRequirements(lr);
  const notes: string[] = [];
  const merge = (c: Json, prefix: string) => {
    const res = (c.resources ??= {});
    const setRequests: string[] = [];
    const setLimits: string[] = [];
    for (const [k, v] of Object.entries(defaults.limits)) {
      if ((res.limits ?? {})[k] === undefined) {
        (res.limits ??= {})[k] = v;
        setLimits.push(k);
      }
    }
    for (const [k, v] of Object.entries(defaults.requests)) {
      if ((res.requests ?? {})[k] === undefined) {
        (res.requests ??= {})[k] = v;
        setRequests.push(k);
      }
    }
    if (setRequests.length) notes.push(`${setRequests.sort().join(', ')} request for ${prefix} ${c.name}`);
    if (setLimits.length) notes.push(`${setLimits.sort().join(', ')} limit for ${prefix} ${c.name}`);
  };
  for (const c of pod.spec?.containers ?? []) merge(c, 'container');
  for (const c of pod.spec?.initContainers ?? []) merge(c, 'init container');
  if (notes.length) {
    const m = (pod.metadata ??= {});
    m.annotations = { ...(m.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: 'LimitRanger plugin set: ' + notes.join('; ') };
  }
}

function addInto(list: ResourceList, add: ResourceList): void {
  for (const [k, q] of Object.entries(add)) list[k] = list[k] ? addQuantities(list[k]!, q) : q;
}

function maxInto(list: ResourceList, other: ResourceList): void {
  for (const [k, q] of Object.entries(other)) if (!list[k] || compareQuantities(q, list[k]!) > 0) list[k] = q;
}

/**
 * A pod's effective requests or limits (upstream's podRequests/podLimits): the containers' sum,
 * sidecars (restartable init containers) added, and at least the largest init container
 * together with the sidecars started before it.
 */
export function podResources(pod: Json, which: 'requests' | 'limits'): ResourceList {
  const total: ResourceList = {};
  for (const c of pod.spec?.containers ?? []) addInto(total, toList(c.resources?.[which]));
  const sidecars: ResourceList = {};
  const init: ResourceList = {};
  for (const c of pod.spec?.initContainers ?? []) {
    const own = toList(c.resources?.[which]);
    let effective: ResourceList;
    if (c.restartPolicy === 'Always') {
      addInto(total, own);
      addInto(sidecars, own);
      effective = { ...sidecars };
    } else {
      effective = { ...own };
      addInto(effective, sidecars);
    }
    maxInto(init, effective);
  }
  maxInto(total, init);
  return total;
}

/** upstream's PodValidateLimitFunc; returns the violations in order. */
export function validatePodLimits(lr: Json, pod: Json): string[] {
  const errs: string[] = [];
  const push = (e: string | undefined) => e && errs.push(e);
  for (const item of lr.spec?.limits ?? []) {
    const type = item?.type;
    if (type === 'Container') {
      for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
        const req = toList(c.resources?.requests);
        const lim = toList(c.resources?.limits);
        for (const [k, v] of sortedEntries(item.min)) push(minConstraint(type, k, v, req, lim));
        for (const [k, v] of sortedEntries(item.max)) push(maxConstraint(type, k, v, req, lim));
        for (const [k, v] of sortedEntries(item.maxLimitRequestRatio)) push(limitRequestRatioConstraint(type, k, v, req, lim));
      }
    }
    if (type === 'Pod') {
      const req = podResources(pod, 'requests');
      const lim = podResources(pod, 'limits');
      for (const [k, v] of sortedEntries(item.min)) push(minConstraint(type, k, v, req, lim));
      for (const [k, v] of sortedEntries(item.max)) push(maxConstraint(type, k, v, req, lim));
      for (const [k, v] of sortedEntries(item.maxLimitRequestRatio)) push(limitRequestRatioConstraint(type, k, v, req, lim));
    }
  }
  return errs;
}

/** upstream's PersistentVolumeClaimValidateLimitFunc: min and max of the storage request. */
export function validatePvcLimits(lr: Json, pvc: Json): string[] {
  const errs: string[] = [];
  const req = toList(pvc.spec?.resources?.requests);
  for (const item of lr.spec?.limits ?? []) {
    if (item?.type !== 'PersistentVolumeClaim') continue;
    for (const [k, v] of sortedEntries(item.min)) {
      const e = minConstraint('PersistentVolumeClaim', k, v, req, {});
      if (e) errs.push(e);
    }
    for (const [k, v] of sortedEntries(item.max)) {
      const e = maxRequestConstraint('PersistentVolumeClaim', k, v, req);
      if (e) errs.push(e);
    }
  }
  return errs;
}

export function limitRanger(): AdmissionPlugin {
  const lister = new NamespacedLister('', 'limitranges');
  return {
    name: 'LimitRanger',
    async admit(a, reg) {
      if (a.subresource !== '' || !a.object || a.resource.group !== '') return;
      const isPod = a.resource.plural === 'pods';
      const isPvc = a.resource.plural === 'persistentvolumeclaims';
      // Containers cannot change after creation, so pod updates are not looked at.
      if (!(isPod && a.operation === 'CREATE') && !(isPvc && (a.operation === 'CREATE' || a.operation === 'UPDATE'))) return;
      if (a.oldObject?.metadata?.deletionTimestamp) return;
      const ranges = await lister.list(reg, a.namespace);
      if (ranges.length === 0) return;
      const obj = a.object as Json;
      // Mutation first (all ranges), then validation, as upstream's mutating and validating phases.
      if (isPod) {
        for (const e of ranges) mutatePodLimits(e.obj, obj);
        // rudder's registry derives status.qosClass before admission (upstream after, in
        // PrepareForCreate); the defaults just added can change the class, so derive it again.
        if (obj.status?.qosClass) obj.status.qosClass = podQOS(obj);
      }
      for (const e of ranges) {
        const errs = isPod ? validatePodLimits(e.obj, obj) : validatePvcLimits(e.obj, obj);
        if (errs.length) throw admissionForbidden(a, aggregateMessage(errs));
      }
    },
  };
}

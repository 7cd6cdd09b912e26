// The EndpointSlice mirroring controller (upstream pkg/controller/endpointslicemirroring):
// Endpoints written by hand for a Service without a selector are mirrored into EndpointSlices
// (managed-by endpointslicemirroring-controller.k8s.io, owned by the Endpoints), one slice per
// address type and port set holding up to 1000 addresses of a subset. Endpoints labelled
// endpointslice.kubernetes.io/skip-mirror=true (the API server's `kubernetes`), leader-election
// records, and Endpoints of Services with a selector are not mirrored (their mirrors are removed).
import type { KObject } from '../../api/meta.ts';
import { parseIP } from '../../api/validation/ipnet.ts';
import { EVENT_TYPE_WARNING } from '../../client/events.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { hasStatusCause, isNotFound, NAMESPACE_TERMINATING_CAUSE } from '../cluster/errors.ts';
import { ANNOTATION_LEADER, ANNOTATION_TRIGGER_TIME } from '../endpoint/endpoints.ts';
import type { EndpointAddress, EndpointSubset } from '../endpoint/subsets.ts';
import { endpointKey, endpointsEqualBeyondKey, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, portMapKey, slicePrefix, type EndpointSlice, type SliceEndpoint, type SlicePort } from '../endpointslice/reconciler.ts';
import { EndpointSliceTracker, serviceKeyOfSlice } from '../endpointslice/tracker.ts';

export const MIRRORING_CONTROLLER_NAME = 'endpointslicemirroring-controller.k8s.io';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
export const MAX_ENDPOINTS_PER_SUBSET = 1000;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const WORKERS = 5;

export function shouldMirror(endpoints: KObject | undefined): boolean {
  if (!endpoints) return false;
  if (endpoints.metadata.labels?.[LABEL_SKIP_MIRROR] === 'true') return false;
  return endpoints.metadata.annotations?.[ANNOTATION_LEADER] === undefined;
}

function addressToEndpoint(a: EndpointAddress, ready: boolean): SliceEndpoint {
  const ep: SliceEndpoint = { addresses: [a.ip], conditions: { ready } };
  if (a.hostname) ep.hostname = a.hostname;
  if (a.targetRef) ep.targetRef = a.targetRef;
  if (a.nodeName) ep.nodeName = a.nodeName;
  return ep;
}

/** A mirrored slice for one address type and port set. */
export function newMirroredSlice(endpoints: KObject, ports: SlicePort[], addressType: string, name?: string): EndpointSlice {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(endpoints.metadata.labels ?? {})) if (k !== LABEL_MANAGED_BY && k !== LABEL_SERVICE_NAME) labels[k] = v;
  labels[LABEL_SERVICE_NAME] = endpoints.metadata.name!;
  labels[LABEL_MANAGED_BY] = MIRRORING_CONTROLLER_NAME;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(endpoints.metadata.annotations ?? {})) if (k !== ANNOTATION_TRIGGER_TIME && k !== LAST_APPLIED) annotations[k] = v;
  const meta: KObject['metadata'] = {
    namespace: endpoints.metadata.namespace,
    labels,
    ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: endpoints.metadata.name!, uid: endpoints.metadata.uid!, controller: true, blockOwnerDeletion: true }],
  };
  if (Object.keys(annotations).length) meta.annotations = annotations;
  if (name) meta.name = name;
  else meta.generateName = slicePrefix(endpoints.metadata.name!);
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta, addressType, endpoints: [], ports };
}

export interface MirrorPlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
  invalidAddresses: number;
  skippedAddresses: number;
}

/** The slices an Endpoints object should have, against the existing mirrored ones. */
export function planMirror(endpoints: KObject, existing: readonly EndpointSlice[], maxPerSubset = MAX_ENDPOINTS_PER_SUBSET): MirrorPlan {
  const desired = new Map<string, { addressType: string; ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
  let invalid = 0;
  let skipped = 0;
  for (const subset of (endpoints.subsets ?? []) as EndpointSubset[]) {
    const ports: SlicePort[] = (subset.ports ?? []).map((p) => {
      const sp: SlicePort = { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' };
      if (p.appProtocol) sp.appProtocol = p.appProtocol;
      return sp;
    });
    const total = (subset.addresses?.length ?? 0) + (subset.notReadyAddresses?.length ?? 0);
    let added = 0;
    const take = (a: EndpointAddress, ready: boolean) => {
      if (added >= maxPerSubset) return;
      const ip = parseIP(a.ip);
      if (!ip) {
        invalid++;
        return;
      }
      const addressType = ip.bits === 32 ? 'IPv4' : 'IPv6';
      const key = `${addressType}|${portMapKey(ports)}`;
      let d = desired.get(key);
      if (!d) desired.set(key, (d = { addressType, ports, endpoints: new Map() }));
      const ep = addressToEndpoint(a, ready);
      d.endpoints.set(endpointKey(ep), ep);
      added++;
    };
    for (const a of subset.addresses ?? []) take(a, true);
    for (const a of subset.notReadyAddresses ?? []) take(a, false);
    skipped += total - added;
  }
  const existingByKey = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    const k = `${s.addressType}|${portMapKey(s.ports)}`;
    existingByKey.set(k, [...(existingByKey.get(k) ?? []), s]);
  }
  const plan: MirrorPlan = { create: [], update: [], delete: [], invalidAddresses: invalid, skippedAddresses: skipped };
  for (const [k, d] of desired) {
    const slices = existingByKey.get(k) ?? [];
    if (d.endpoints.size === 0) {
      plan.delete.push(...slices);
      continue;
    }
    const first = slices[0];
    plan.delete.push(...slices.slice(1));
    if (first) {
      const existingEps = first.endpoints ?? [];
      const same = existingEps.length === d.endpoints.size && existingEps.every((ep) => {
        const want = d.endpoints.get(endpointKey(ep));
        return want && endpointsEqualBeyondKey(want, ep);
      });
      if (same) continue;
    }
    const s = newMirroredSlice(endpoints, d.ports, d.addressType, first?.metadata.name);
    if (first) s.metadata.resourceVersion = first.metadata.resourceVersion;
    for (const ep of d.endpoints.values()) {
      if (s.endpoints.length >= maxPerSubset) break;
      s.endpoints.push(ep);
    }
    (first ? plan.update : plan.create).push(s);
  }
  for (const [k, slices] of existingByKey) if (!desired.has(k)) plan.delete.push(...slices);
  // recycle slices about to be deleted for the creates
  while (plan.create.length && plan.delete.length) {
    const d = plan.delete.pop()!;
    const c = plan.create.pop()!;
    c.metadata.name = d.metadata.name;
    c.metadata.resourceVersion = d.metadata.resourceVersion;
    delete c.metadata.generateName;
    plan.update.push(c);
  }
  return plan;
}

export const endpointSliceMirroringController: Controller = {
  name: 'endpointslicemirroring',
  setup(ctx: ControllerContext) {
    const services = ctx.informers.informerFor('', 'services');
    const endpoints = ctx.informers.informerFor('', 'endpoints');
    const slices = ctx.informers.informerFor('discovery.k8s.io', 'endpointslices');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'endpoint_slice_mirroring' });
    const recorder = ctx.recorder('endpoint-slice-mirroring-controller');
    const tracker = new EndpointSliceTracker();
    const mirrored = (s: KObject) => s.metadata.labels?.[LABEL_MANAGED_BY] === MIRRORING_CONTROLLER_NAME;

    const onKey = (o: KObject) => queue.add(keyOf(o));
    endpoints.addEventHandler({ onAdd: onKey, onUpdate: (_o, n) => onKey(n), onDelete: onKey });
    services.addEventHandler({ onAdd: onKey, onUpdate: (_o, n) => onKey(n), onDelete: onKey });
    slices.addEventHandler({
      onAdd: (s) => {
        const k = serviceKeyOfSlice(s);
        if (k && mirrored(s) && tracker.shouldSync(s)) queue.add(k);
      },
      onUpdate: (o, s) => {
        const k = serviceKeyOfSlice(s) ?? serviceKeyOfSlice(o);
        if (!k) return;
        if (mirrored(o) !== mirrored(s) || (mirrored(s) && tracker.shouldSync(s))) queue.add(k);
      },
      onDelete: (s) => {
        const k = serviceKeyOfSlice(s);
        if (k && mirrored(s) && tracker.handleDeletion(s)) queue.add(k);
      },
    });
    const client = ctx.client.resource<EndpointSlice>('discovery.k8s.io', 'endpointslices');
    const mirroredSlices = (namespace: string, name: string) =>
      (slices.lister().namespace(namespace).list() as EndpointSlice[]).filter((s) => mirrored(s) && s.metadata.labels?.[LABEL_SERVICE_NAME] === name && !s.metadata.deletionTimestamp);

    const deleteMirrored = async (namespace: string, name: string) => {
      tracker.deleteService(`${namespace}/${name}`);
      for (const s of mirroredSlices(namespace, name)) {
        try {
          await client.namespace(namespace).delete(s.metadata.name!);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
    };

    const sync = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const svc = services.lister().namespace(namespace).get(name);
      const ep = endpoints.lister().namespace(namespace).get(name);
      const selector = (svc?.spec as { selector?: unknown } | undefined)?.selector;
      if (!svc || (selector !== undefined && selector !== null) || !ep || !shouldMirror(ep)) return deleteMirrored(namespace, name);
      const existing = mirroredSlices(namespace, name);
      if (tracker.stale(key, existing)) throw new Error('EndpointSlice informer cache is out of date');
      const plan = planMirror(ep, existing);
      if (plan.invalidAddresses > 0) recorder.event(ep, EVENT_TYPE_WARNING, 'InvalidIPAddress', `Skipped ${plan.invalidAddresses} invalid IP addresses when mirroring to EndpointSlices`);
      if (plan.skippedAddresses > plan.invalidAddresses) {
        recorder.event(ep, EVENT_TYPE_WARNING, 'TooManyAddressesToMirror', `A max of ${MAX_ENDPOINTS_PER_SUBSET} addresses can be mirrored to EndpointSlices per Endpoints subset. ${plan.skippedAddresses} addresses were skipped`);
      }
      if (!ep.metadata.deletionTimestamp) {
        for (const s of plan.create) {
          try {
            tracker.update(await client.namespace(namespace).create(s));
          } catch (e) {
            if (hasStatusCause(e, NAMESPACE_TERMINATING_CAUSE)) return;
            throw new Error(`failed to create EndpointSlice for Endpoints ${namespace}/${name}: ${(e as Error).message}`);
          }
        }
      }
      for (const s of plan.update) {
        try {
          tracker.update(await client.namespace(namespace).update(s));
        } catch (e) {
          throw new Error(`failed to update ${s.metadata.name} EndpointSlice for Endpoints ${namespace}/${name}: ${(e as Error).message}`);
        }
      }
      for (const s of plan.delete) {
        try {
          await client.namespace(namespace).delete(s.metadata.name!);
          tracker.expectDeletion(s);
        } catch (e) {
          if (!isNotFound(e)) throw new Error(`failed to delete ${s.metadata.name} EndpointSlice for Endpoints ${namespace}/${name}: ${(e as Error).message}`);
        }
      }
    };
    return { run: (signal) => runWorkers(queue, WORKERS, sync, signal, ctx.log, 'endpointslicemirroring') };
  },
};

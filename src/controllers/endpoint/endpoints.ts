// The Endpoints controller (upstream pkg/controller/endpoint): for every Service with a selector,
// an Endpoints object of the same name listing the matching pods' addresses per port, ready ones
// under `addresses` and the others under `notReadyAddresses` (all under `addresses` when the
// Service publishes not-ready addresses), in canonical (repacked) form, carrying the Service's
// labels. Services without a selector (such as `kubernetes` in default) and ExternalName Services
// are left alone: their Endpoints belong to whoever wrote them.
import type { KObject } from '../../api/meta.ts';
import { validatedSelectorFromSet } from '../../api/labels.ts';
import { EVENT_TYPE_WARNING } from '../../client/events.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { hasStatusCause, isForbidden, isNotFound, NAMESPACE_TERMINATING_CAUSE } from '../cluster/errors.ts';
import { findPort, isIPv6, isServiceIPSet, podIPs, podReady, rfc3339Nano, serviceSpec, servicesForLabels, servicesToUpdateOnPodChange, shouldPodBeInEndpoints, shouldSetHostname, TriggerTimeTracker, WrittenVersions } from './pods.ts';
import { packSamePorts, repackSubsets, subsetsEqual, type EndpointAddress, type EndpointPort, type EndpointSubset } from './subsets.ts';

export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
export const ANNOTATION_LEADER = 'control-plane.alpha.kubernetes.io/leader';
/** Addresses kept in one Endpoints object; beyond, it is truncated and annotated. */
export const MAX_CAPACITY = 1000;
const WORKERS = 5;

/** The address a pod offers a service: its IP of the service's (first) IP family. */
export function podToEndpointAddress(svc: KObject, pod: KObject): EndpointAddress | undefined {
  const spec = serviceSpec(svc);
  let family = 'IPv4';
  if (spec.ipFamilies?.length) family = spec.ipFamilies[0]!;
  else if (spec.clusterIP && spec.clusterIP !== 'None') family = isIPv6(spec.clusterIP) ? 'IPv6' : 'IPv4';
  else if (isIPv6((pod.status as { podIP?: string } | undefined)?.podIP ?? '')) family = 'IPv6';
  const ip = podIPs(pod).find((i) => isIPv6(i) === (family === 'IPv6'));
  if (!ip) return undefined;
  const addr: EndpointAddress = { ip };
  if (shouldSetHostname(pod, svc)) addr.hostname = (pod.spec as { hostname?: string }).hostname;
  addr.nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName ?? '';
  addr.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  return addr;
}

/**
 * What one pod contributes to a service's Endpoints: its address, under `addresses` or
 * `notReadyAddresses`, for each service port that resolves on it (none when it is left out).
 */
interface PodContribution {
  /** The service object this was computed for. */
  svc: KObject;
  addr?: EndpointAddress;
  ready: boolean;
  ports: EndpointPort[];
  /** The ports' identity, to tell whether every pod serves the same ones. */
  portsKey: string;
}

function podContribution(svc: KObject, pod: KObject): PodContribution {
  const spec = serviceSpec(svc);
  const tolerateUnready = !!spec.publishNotReadyAddresses;
  const none: PodContribution = { svc, ready: false, ports: [], portsKey: '' };
  if (!shouldPodBeInEndpoints(pod, tolerateUnready)) return none;
  const addr = podToEndpointAddress(svc, pod);
  if (!addr) return none;
  const ready = tolerateUnready || podReady(pod);
  const ports: EndpointPort[] = [];
  if (!spec.ports?.length) {
    // a headless service may have no ports
    return spec.clusterIP === 'None' ? { svc, addr, ready, ports, portsKey: '' } : none;
  }
  for (const sp of spec.ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    if (!ep.name) delete ep.name;
    ports.push(ep);
  }
  if (!ports.length) return none;
  return { svc, addr, ready, ports, portsKey: JSON.stringify(ports.map((p) => [p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? ''])) };
}

/** Per pod object, its contribution to the service object it was computed for (both are immutable). */
export type SubsetMemo = WeakMap<KObject, PodContribution>;

/**
 * The repacked subsets of a service's Endpoints from the pods its selector matches. When every
 * pod serves the same ports (the usual case) that is one subset, built without repacking.
 */
export function computeSubsets(svc: KObject, pods: readonly KObject[], memo?: SubsetMemo): EndpointSubset[] {
  const contributions: PodContribution[] = [];
  let samePorts = true;
  for (const pod of pods) {
    let m = memo?.get(pod);
    if (!m || m.svc !== svc) {
      m = podContribution(svc, pod);
      memo?.set(pod, m);
    }
    if (!m.addr) continue;
    if (contributions.length && m.portsKey !== contributions[0]!.portsKey) samePorts = false;
    contributions.push(m);
  }
  if (samePorts) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const c of contributions) (c.ready ? ready : notReady).push(c.addr!);
    return packSamePorts(ready, notReady, contributions[0]?.ports ?? []);
  }
  const subsets: EndpointSubset[] = [];
  for (const c of contributions) {
    const list = [c.addr!];
    const one = (ports: EndpointPort[]) => subsets.push(c.ready ? { addresses: list, ports } : { notReadyAddresses: list, ports });
    if (!c.ports.length) one([]);
    else for (const p of c.ports) one([p]);
  }
  return repackSubsets(subsets);
}

/**
 * upstream's truncateEndpoints: beyond MAX_CAPACITY addresses, ready ones are kept first, each
 * subset keeping its proportional share (rounded up). Answers whether anything was dropped.
 */
export function truncateSubsets(subsets: EndpointSubset[]): boolean {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= MAX_CAPACITY) return false;
  const truncateReady = totalReady > MAX_CAPACITY;
  const max = truncateReady ? MAX_CAPACITY : MAX_CAPACITY - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  for (const s of subsets) {
    const inSubset = truncateReady ? (s.addresses?.length ?? 0) : (s.notReadyAddresses?.length ?? 0);
    const toBeAdded = Math.min(Math.ceil((inSubset / numTotal) * max), canBeAdded);
    if (truncateReady) {
      s.addresses = (s.addresses ?? []).slice(0, toBeAdded);
      s.notReadyAddresses = [];
      canBeAdded -= s.addresses.length;
    } else {
      s.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, toBeAdded);
      canBeAdded -= s.notReadyAddresses.length;
    }
  }
  return true;
}

function withoutHeadless(labels: Record<string, string> | undefined): Record<string, string> {
  const { [LABEL_HEADLESS]: _h, ...rest } = labels ?? {};
  return rest;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ea = Object.entries(a ?? {});
  if (ea.length !== Object.keys(b ?? {}).length) return false;
  return ea.every(([k, v]) => (b ?? {})[k] === v);
}

function capacityAnnotationSetCorrectly(annotations: Record<string, string> | undefined, subsets: readonly EndpointSubset[] | undefined): boolean {
  let n = 0;
  for (const s of subsets ?? []) n += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  if (n > MAX_CAPACITY) return false;
  return !(annotations && ANNOTATION_OVER_CAPACITY in annotations);
}

export const endpointsController: Controller = {
  name: 'endpoint',
  setup(ctx: ControllerContext) {
    const services = ctx.informers.informerFor('', 'services');
    const pods = ctx.informers.informerFor('', 'pods');
    const endpoints = ctx.informers.informerFor('', 'endpoints');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'endpoint' });
    const recorder = ctx.recorder('endpoint-controller');
    const triggers = new TriggerTimeTracker();
    const written = new WrittenVersions();
    const memo: SubsetMemo = new WeakMap();

    services.addEventHandler({
      onAdd: (s) => queue.add(keyOf(s)),
      onUpdate: (_o, s) => queue.add(keyOf(s)),
      onDelete: (s) => queue.add(keyOf(s)),
    });
    const svcsIn = (ns: string) => services.lister().namespace(ns).list();
    pods.addEventHandler({
      onAdd: (p) => {
        for (const k of servicesForLabels(svcsIn(p.metadata.namespace!), p.metadata.labels)) queue.add(k);
      },
      onUpdate: (o, p) => {
        for (const k of servicesToUpdateOnPodChange(svcsIn(p.metadata.namespace!), o, p)) queue.add(k);
      },
      onDelete: (p) => {
        for (const k of servicesForLabels(svcsIn(p.metadata.namespace!), p.metadata.labels)) queue.add(k);
      },
    });
    endpoints.addEventHandler({
      onDelete: (e) => {
        written.delete(keyOf(e));
        queue.add(keyOf(e));
      },
    });

    const client = ctx.client.resource('', 'endpoints');

    const sync = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const svc = services.lister().namespace(namespace).get(name);
      if (!svc) {
        // the service is gone: so are its endpoints (leader-election records excepted)
        const cur = endpoints.lister().namespace(namespace).get(name);
        triggers.delete(key);
        written.delete(key);
        if (!cur || cur.metadata.annotations?.[ANNOTATION_LEADER] !== undefined) return;
        try {
          await client.namespace(namespace).delete(name);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        return;
      }
      const spec = serviceSpec(svc);
      if (spec.type === 'ExternalName') return;
      if (spec.selector === undefined || spec.selector === null) return;
      const matching = pods.lister().namespace(namespace).list(validatedSelectorFromSet(spec.selector));
      const triggerTime = triggers.compute(svc, matching);
      const subsets = computeSubsets(svc, matching, memo);

      const cur = endpoints.lister().namespace(namespace).get(name);
      if (written.isStale(key, cur)) throw new Error(`endpoints informer cache is out of date, resource version ${cur?.metadata.resourceVersion ?? '(none)'} already processed for endpoints ${key}`);
      const create = !cur;
      if (
        cur &&
        subsetsEqual(cur.subsets as EndpointSubset[] | undefined, subsets) &&
        sameLabels(withoutHeadless(cur.metadata.labels), svc.metadata.labels) &&
        capacityAnnotationSetCorrectly(cur.metadata.annotations, cur.subsets as EndpointSubset[] | undefined)
      ) {
        return;
      }
      // a shallow copy: every part that changes is replaced, never modified (cur is the informer's)
      const next: KObject = cur ? { ...cur, metadata: { ...cur.metadata } } : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace } };
      const annotations = { ...(next.metadata.annotations ?? {}) };
      if (triggerTime) annotations[ANNOTATION_TRIGGER_TIME] = rfc3339Nano(triggerTime);
      else delete annotations[ANNOTATION_TRIGGER_TIME];
      if (truncateSubsets(subsets)) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
      else delete annotations[ANNOTATION_OVER_CAPACITY];
      const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
      if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
      else delete labels[LABEL_HEADLESS];
      next.metadata.labels = labels;
      next.metadata.annotations = annotations;
      if (subsets.length) next.subsets = subsets;
      else delete next.subsets;
      try {
        const out = create ? await client.namespace(namespace).create(next) : await client.namespace(namespace).update(next);
        written.record(key, out.metadata.resourceVersion);
      } catch (e) {
        if (create && isForbidden(e) && hasStatusCause(e, NAMESPACE_TERMINATING_CAUSE)) return;
        const ref = { kind: 'Endpoints', apiVersion: 'v1', namespace, name, uid: cur?.metadata.uid };
        if (create) recorder.event(ref, EVENT_TYPE_WARNING, 'FailedToCreateEndpoint', `Failed to create endpoint for service ${namespace}/${name}: ${(e as Error).message}`);
        else recorder.event(ref, EVENT_TYPE_WARNING, 'FailedToUpdateEndpoint', `Failed to update endpoint ${namespace}/${name}: ${(e as Error).message}`);
        throw e;
      }
    };

    return {
      run(signal) {
        // Endpoints left without a Service (deleted while no controller ran) are cleaned up once.
        for (const e of endpoints.lister().list()) {
          if (e.metadata.annotations?.[ANNOTATION_LEADER] === undefined) queue.add(keyOf(e));
        }
        return runWorkers(queue, WORKERS, sync, signal, ctx.log, 'endpoint');
      },
    };
  },
};

// The EndpointSlice controller (upstream pkg/controller/endpointslice): keeps, for every Service
// with a selector, EndpointSlices (labelled kubernetes.io/service-name and managed-by
// endpointslice-controller.k8s.io, owned by the Service) holding the matching pods as endpoints
// with ready/serving/terminating conditions, at most 100 per slice. Slices managed by anyone else
// (the API server's `kubernetes` slice, the mirroring controller's) are never touched.
import type { KObject } from '../../api/meta.ts';
import { validatedSelectorFromSet } from '../../api/labels.ts';
import { EVENT_TYPE_WARNING } from '../../client/events.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { hasStatusCause, isNotFound, NAMESPACE_TERMINATING_CAUSE } from '../cluster/errors.ts';
import { rfc3339Nano, serviceSpec, servicesForLabels, servicesToUpdateOnPodChange, TriggerTimeTracker } from '../endpoint/pods.ts';
import { ANNOTATION_TRIGGER_TIME } from '../endpoint/endpoints.ts';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, reconcileService, reuseDeletedSlices, type EndpointMemo, type EndpointSlice } from './reconciler.ts';
import { EndpointSliceTracker, serviceKeyOfSlice } from './tracker.ts';

const WORKERS = 5;

export class StaleInformerCache extends Error {}

function setTriggerTime(slice: EndpointSlice, t: number): void {
  const a = { ...(slice.metadata.annotations ?? {}) };
  if (t) a[ANNOTATION_TRIGGER_TIME] = rfc3339Nano(t);
  else delete a[ANNOTATION_TRIGGER_TIME];
  slice.metadata.annotations = a;
  if (Object.keys(a).length === 0) delete slice.metadata.annotations;
}

export const endpointSliceController: Controller = {
  name: 'endpointslice',
  setup(ctx: ControllerContext) {
    const services = ctx.informers.informerFor('', 'services');
    const pods = ctx.informers.informerFor('', 'pods');
    const nodes = ctx.informers.informerFor('', 'nodes');
    const slices = ctx.informers.informerFor('discovery.k8s.io', 'endpointslices');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'endpoint_slice' });
    const recorder = ctx.recorder('endpoint-slice-controller');
    const tracker = new EndpointSliceTracker();
    const triggers = new TriggerTimeTracker();
    const memo: EndpointMemo = new WeakMap();
    const managed = (s: KObject) => s.metadata.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME;

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
    const onSlice = (s: KObject) => {
      const key = serviceKeyOfSlice(s);
      if (key && managed(s) && tracker.shouldSync(s)) queue.add(key);
    };
    slices.addEventHandler({
      onAdd: onSlice,
      onUpdate: (o, s) => {
        // a slice taken over by (or from) another manager concerns its Service too
        if (managed(o) !== managed(s)) {
          const key = serviceKeyOfSlice(s) ?? serviceKeyOfSlice(o);
          if (key) queue.add(key);
          return;
        }
        onSlice(s);
      },
      onDelete: (s) => {
        const key = serviceKeyOfSlice(s);
        if (key && managed(s) && tracker.handleDeletion(s)) queue.add(key);
      },
    });

    const client = ctx.client.resource<EndpointSlice>('discovery.k8s.io', 'endpointslices');

    const sync = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const svc = services.lister().namespace(namespace).get(name);
      if (!svc) {
        // the slices go with the Service through their owner reference
        tracker.deleteService(key);
        triggers.delete(key);
        return;
      }
      const spec = serviceSpec(svc);
      if (spec.type === 'ExternalName') return;
      if (spec.selector === undefined || spec.selector === null) return;
      const matching = pods.lister().namespace(namespace).list(validatedSelectorFromSet(spec.selector));
      const existing = (slices.lister().namespace(namespace).list() as EndpointSlice[]).filter(
        (s) => s.metadata.labels?.[LABEL_SERVICE_NAME] === name && managed(s) && !s.metadata.deletionTimestamp,
      );
      if (tracker.stale(key, existing)) throw new StaleInformerCache('EndpointSlice informer cache is out of date');
      const triggerTime = triggers.compute(svc, matching);
      const wanted = reconcileService({ service: svc, pods: matching, existing, node: (n) => (n ? nodes.lister().get(n) : undefined), memo });
      const changes = reuseDeletedSlices(svc, wanted);
      try {
        // no new slices for a Service on its way out: the collector would race us
        if (!svc.metadata.deletionTimestamp) {
          for (const s of changes.create) {
            setTriggerTime(s, triggerTime);
            try {
              tracker.update(await client.namespace(namespace).create(s));
            } catch (e) {
              if (hasStatusCause(e, NAMESPACE_TERMINATING_CAUSE)) return;
              throw new Error(`failed to create EndpointSlice for Service ${namespace}/${name}: ${(e as Error).message}`);
            }
          }
        }
        for (const s of changes.update) {
          setTriggerTime(s, triggerTime);
          try {
            tracker.update(await client.namespace(namespace).update(s));
          } catch (e) {
            throw new Error(`failed to update ${s.metadata.name} EndpointSlice for Service ${namespace}/${name}: ${(e as Error).message}`);
          }
        }
        for (const s of changes.delete) {
          try {
            await client.namespace(namespace).delete(s.metadata.name!);
            tracker.expectDeletion(s);
          } catch (e) {
            if (!isNotFound(e)) throw new Error(`failed to delete ${s.metadata.name} EndpointSlice for Service ${namespace}/${name}: ${(e as Error).message}`);
          }
        }
        if (wanted.errors.length) throw new Error(wanted.errors.join('; '));
      } catch (e) {
        recorder.event(svc, EVENT_TYPE_WARNING, 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${namespace}/${name}: ${(e as Error).message}`);
        throw e;
      }
    };
    return { run: (signal) => runWorkers(queue, WORKERS, sync, signal, ctx.log, 'endpointslice') };
  },
};

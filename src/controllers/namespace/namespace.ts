// The namespace controller (upstream pkg/controller/namespace): a namespace being deleted (phase
// Terminating, set by the API server) loses all its content, reports progress in its status
// conditions, and then gives up the `kubernetes` finalizer through PUT .../finalize; the API server
// removes the namespace once no finalizer is left.
//
// One pass (sync) per namespace key: delete every namespaced resource's collection (list and delete
// one by one where deletecollection is not served), list what remains, update the conditions. Content
// still going away (pods in their grace period, objects with finalizers) is looked at again after
// about half the estimated time; other failures back off.
import type { KObject } from '../../api/meta.ts';
import { RESOURCES, type ResourceDecl } from '../../api/resources.ts';
import { ItemExponentialFailureRateLimiter, WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, type Controller, type ControllerContext } from '../controller.ts';
import { isConflict, isNotFound } from '../cluster/errors.ts';
import { nowRfc3339, parseTime } from '../cluster/objects.ts';
import { failureConditions, updateConditions, type ContentTotals, type NamespaceCondition } from './conditions.ts';

export const FINALIZER_KUBERNETES = 'kubernetes';
/** Seconds assumed for finalizers on remaining items to finish (upstream's finalizerEstimateSeconds). */
export const FINALIZER_ESTIMATE_SECONDS = 15;
const RESYNC_MS = 5 * 60_000;
const WORKERS = 5;

/** Content not yet gone; the namespace is looked at again in estimate/2+1 seconds. */
export class ResourcesRemainingError extends Error {
  readonly estimate: number;
  constructor(estimate: number) {
    super(`some content remains in the namespace, estimate ${estimate} seconds before it is removed`);
    this.estimate = estimate;
  }
}

/** Namespaced resources that can be deleted (what upstream finds through discovery). */
export function deletableNamespacedResources(resources: readonly ResourceDecl[] = RESOURCES): ResourceDecl[] {
  return resources.filter((r) => r.namespaced && (r.verbs ?? ['delete']).includes('delete'));
}

function supports(r: ResourceDecl, verb: string): boolean {
  return (r.verbs ?? ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']).includes(verb);
}

/** upstream's GroupVersionResource.String(): "/v1, Resource=pods", "apps/v1, Resource=deployments". */
function gvrString(r: ResourceDecl): string {
  return `${r.group}/${r.versions[0]}, Resource=${r.plural}`;
}

/** Seconds until the pods' grace periods end, measured from when the namespace was deleted. */
export function estimateGracefulTerminationForPods(pods: readonly KObject[], namespaceDeletedAtMs: number, nowMs: number): number {
  let estimate = 0;
  for (const p of pods) {
    const phase = (p.status as { phase?: string } | undefined)?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const grace = (p.spec as { terminationGracePeriodSeconds?: number } | undefined)?.terminationGracePeriodSeconds;
    if (grace !== undefined && grace > estimate) estimate = grace;
  }
  const allowed = estimate * 1000 - (nowMs - namespaceDeletedAtMs);
  return allowed > 0 ? Math.floor(allowed / 1000) : 0;
}

interface GvrResult {
  estimate: number;
  remaining: number;
  finalizers: Map<string, number>;
}

export class NamespacedResourcesDeleter {
  private readonly ctx: ControllerContext;
  private readonly resources: ResourceDecl[];

  constructor(ctx: ControllerContext, resources = deletableNamespacedResources()) {
    this.ctx = ctx;
    this.resources = resources;
  }

  /** One pass over a namespace; throws ResourcesRemainingError while content is on its way out. */
  async delete(name: string): Promise<void> {
    const nsClient = this.ctx.client.resource('', 'namespaces');
    let ns: KObject;
    try {
      ns = await nsClient.get(name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp) return;
    try {
      ns = await this.retryOnConflict(ns, (cur) => this.ensureTerminating(cur));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp) return;
    if (!(((ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length)) return;
    const estimate = await this.deleteAllContent(ns);
    if (estimate > 0) throw new ResourcesRemainingError(estimate);
    try {
      await this.retryOnConflict(ns, (cur) => this.finalize(cur));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  private async retryOnConflict(ns: KObject, fn: (cur: KObject) => Promise<KObject>): Promise<KObject> {
    let cur = ns;
    for (;;) {
      try {
        return await fn(cur);
      } catch (e) {
        if (!isConflict(e)) throw e;
        const latest = await this.ctx.client.resource('', 'namespaces').get(cur.metadata.name!);
        if (latest.metadata.uid !== cur.metadata.uid) throw new Error('namespace uid has changed across retries');
        cur = latest;
      }
    }
  }

  private async ensureTerminating(ns: KObject): Promise<KObject> {
    const status = (ns.status ?? {}) as { phase?: string };
    if (!ns.metadata.deletionTimestamp || status.phase === 'Terminating') return ns;
    return this.ctx.client.resource('', 'namespaces').updateStatus({ ...ns, status: { ...status, phase: 'Terminating' } });
  }

  /** PUT finalize with our token removed from spec.finalizers (sorted, as upstream's set). */
  private async finalize(ns: KObject): Promise<KObject> {
    const finalizers = [...new Set(((ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES))].sort();
    const body = { ...ns, spec: { ...((ns.spec ?? {}) as object), finalizers } };
    try {
      return (await this.ctx.client.request('PUT', `/api/v1/namespaces/${encodeURIComponent(ns.metadata.name!)}/finalize`, { body })) as KObject;
    } catch (e) {
      if (isNotFound(e)) return ns;
      throw e;
    }
  }

  /** Deletes every namespaced resource's content; answers the longest wait still expected. */
  async deleteAllContent(ns: KObject): Promise<number> {
    const name = ns.metadata.name!;
    const deletedAt = parseTime(ns.metadata.deletionTimestamp) ?? this.ctx.clock.now();
    const totals: ContentTotals = { remainingByResource: new Map(), remainingByFinalizer: new Map(), deleteErrors: [] };
    let estimate = 0;
    for (const r of this.resources) {
      let res: GvrResult;
      try {
        res = await this.deleteAllContentFor(r, name, deletedAt);
      } catch (e) {
        const err = e as Error & { partial?: GvrResult };
        totals.deleteErrors.push(err.message);
        res = err.partial ?? { estimate: 0, remaining: 0, finalizers: new Map() };
      }
      if (res.estimate > estimate) estimate = res.estimate;
      if (res.remaining > 0) {
        totals.remainingByResource.set(`${r.plural}.${r.group}`, res.remaining);
        for (const [f, n] of res.finalizers) if (n > 0) totals.remainingByFinalizer.set(f, (totals.remainingByFinalizer.get(f) ?? 0) + n);
      }
    }
    const now = nowRfc3339(this.ctx.clock);
    const current = ((ns.status as { conditions?: NamespaceCondition[] } | undefined)?.conditions ?? []) as NamespaceCondition[];
    const { conditions, changed } = updateConditions(current, failureConditions(totals, now), now);
    if (changed) {
      try {
        await this.ctx.client.resource('', 'namespaces').updateStatus({ ...ns, status: { ...((ns.status ?? {}) as object), conditions } });
      } catch (e) {
        this.ctx.log(`namespace: updating the status of ${name}: ${(e as Error).message}`);
      }
    }
    if (totals.deleteErrors.length) throw new Error(totals.deleteErrors.join('; '));
    return estimate;
  }

  private async deleteAllContentFor(r: ResourceDecl, namespace: string, deletedAt: number): Promise<GvrResult> {
    const rc = this.ctx.client.resource(r.group, r.plural).namespace(namespace);
    let estimate = 0;
    const partial = (): GvrResult => ({ estimate, remaining: 0, finalizers: new Map() });
    const fail = (e: unknown): never => {
      const err = new Error((e as Error).message) as Error & { partial?: GvrResult };
      err.partial = partial();
      throw err;
    };
    if (r.group === '' && r.plural === 'pods') {
      try {
        const pods = await rc.listAll();
        estimate = estimateGracefulTerminationForPods(pods.items, deletedAt, this.ctx.clock.now());
      } catch (e) {
        fail(e);
      }
    }
    try {
      if (supports(r, 'deletecollection')) await rc.deleteCollection({}, { propagationPolicy: 'Background' });
      else if (supports(r, 'list')) {
        for (const it of (await rc.listAll()).items) {
          try {
            await rc.delete(it.metadata.name!, { propagationPolicy: 'Background' });
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
        }
      }
    } catch (e) {
      fail(e);
    }
    if (!supports(r, 'list')) return { estimate, remaining: 0, finalizers: new Map() };
    let items: KObject[];
    try {
      items = (await rc.listAll()).items;
    } catch (e) {
      return fail(e);
    }
    if (items.length === 0) return { estimate: 0, remaining: 0, finalizers: new Map() };
    const finalizers = new Map<string, number>();
    for (const it of items) for (const f of it.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (estimate !== 0) return { estimate, remaining: items.length, finalizers };
    if (finalizers.size > 0) return { estimate: FINALIZER_ESTIMATE_SECONDS, remaining: items.length, finalizers };
    const err = new Error(`unexpected items still remain in namespace: ${namespace} for gvr: ${gvrString(r)}`) as Error & { partial?: GvrResult };
    err.partial = { estimate, remaining: items.length, finalizers };
    throw err;
  }
}

export const namespaceController: Controller = {
  name: 'namespace',
  setup(ctx) {
    const namespaces = ctx.informers.informerFor('', 'namespaces');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'namespace', rateLimiter: new ItemExponentialFailureRateLimiter(5, 60_000) });
    const enqueue = (ns: KObject) => {
      if (ns.metadata.deletionTimestamp) queue.add(ns.metadata.name!);
    };
    namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) }, RESYNC_MS);
    const deleter = new NamespacedResourcesDeleter(ctx);
    const sync = async (name: string): Promise<void> => {
      try {
        await deleter.delete(name);
      } catch (e) {
        if (!(e instanceof ResourcesRemainingError)) throw e;
        const wait = Math.floor(e.estimate / 2) + 1;
        ctx.log(`namespace: content remaining in ${name}, looking again in ${wait}s`);
        queue.addAfter(name, wait * 1000);
      }
    };
    return { run: (signal) => runWorkers(queue, WORKERS, sync, signal, ctx.log, 'namespace') };
  },
};

// The resource quota controller (upstream pkg/controller/resourcequota): keeps every ResourceQuota's
// status.hard equal to spec.hard and status.used equal to what the namespace's objects charge
// (usage.ts), for exactly the resource names the quota limits. A quota is recomputed when it
// changes, when objects it counts come, go or change what they charge, and every 5 minutes.
import type { KObject } from '../../api/meta.ts';
import { canonicalizeQuantity } from '../../api/quantity.ts';
import { resourceByPlural } from '../../api/resources.ts';
import type { SharedInformer } from '../../client/informer.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { isNotFound } from '../cluster/errors.ts';
import { computeUsage, listToJSON, parseObjectCount, podUsage } from './usage.ts';

export const RESYNC_MS = 5 * 60_000;
const WORKERS = 5;
/** Resources whose informers every quota may need; others are watched once a quota counts them. */
const BASE = [
  ['', 'pods'],
  ['', 'services'],
  ['', 'persistentvolumeclaims'],
  ['', 'configmaps'],
  ['', 'secrets'],
  ['', 'replicationcontrollers'],
  ['', 'resourcequotas'],
] as const;

function sameList(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  for (const k of ka) {
    const vb = (b ?? {})[k];
    if (vb === undefined) return false;
    try {
      if (canonicalizeQuantity((a ?? {})[k]) !== canonicalizeQuantity(vb)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

export const resourceQuotaController: Controller = {
  name: 'resourcequota',
  setup(ctx: ControllerContext) {
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'resourcequota_primary' });
    const informers = new Map<string, SharedInformer>();
    const quotas = ctx.informers.informerFor('', 'resourcequotas');
    const enqueueNamespace = (ns: string | undefined) => {
      if (!ns) return;
      for (const q of quotas.lister().namespace(ns).list()) queue.add(keyOf(q));
    };
    const watch = (group: string, plural: string): SharedInformer => {
      const id = `${group}/${plural}`;
      let inf = informers.get(id);
      if (inf) return inf;
      inf = ctx.informers.informerFor(group, plural);
      informers.set(id, inf);
      if (group === '' && plural === 'pods') {
        inf.addEventHandler({
          onAdd: (p) => enqueueNamespace(p.metadata.namespace),
          onUpdate: (o, p) => {
            // only namespaces with quotas care what a pod charges
            if (quotas.lister().namespace(p.metadata.namespace!).list().length === 0) return;
            const now = ctx.clock.now();
            if (JSON.stringify(listToJSON(podUsage(o, now))) !== JSON.stringify(listToJSON(podUsage(p, now)))) enqueueNamespace(p.metadata.namespace);
          },
          onDelete: (p) => enqueueNamespace(p.metadata.namespace),
        });
      } else if (group === '' && plural === 'resourcequotas') {
        inf.addEventHandler(
          {
            onAdd: (q) => {
              queue.add(keyOf(q));
              enqueueNamespace(q.metadata.namespace);
            },
            onUpdate: (o, q) => {
              const spec = q.spec as { hard?: Record<string, unknown> } | undefined;
              const status = q.status as { hard?: Record<string, unknown> } | undefined;
              if (!sameList(spec?.hard, status?.hard) || JSON.stringify(o.spec) !== JSON.stringify(q.spec)) queue.add(keyOf(q));
            },
            onDelete: (q) => enqueueNamespace(q.metadata.namespace),
          },
        );
      } else {
        inf.addEventHandler({
          onAdd: (o) => enqueueNamespace(o.metadata.namespace),
          onUpdate: (o, n) => {
            if (JSON.stringify(o.spec) !== JSON.stringify(n.spec)) enqueueNamespace(n.metadata.namespace);
          },
          onDelete: (o) => enqueueNamespace(o.metadata.namespace),
        });
      }
      return inf;
    };
    for (const [g, p] of BASE) watch(g, p);

    /** The informer for a counted resource, started and synced on first use; undefined when unknown. */
    const counted = async (group: string, plural: string): Promise<SharedInformer | undefined> => {
      const decl = resourceByPlural(group, plural);
      if (!decl || !decl.namespaced || (decl.verbs && !decl.verbs.includes('list'))) return undefined;
      const known = informers.has(`${group}/${plural}`);
      const inf = watch(group, plural);
      if (!known) ctx.informers.start();
      await inf.waitForSync();
      return inf;
    };

    const client = ctx.client.resource('', 'resourcequotas');
    const sync = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const quota = quotas.lister().namespace(namespace).get(name);
      if (!quota) return;
      const hard = (quota.spec as { hard?: Record<string, unknown> } | undefined)?.hard ?? {};
      const counts = new Map<string, number | undefined>();
      for (const k of Object.keys(hard)) {
        const r = parseObjectCount(k);
        if (!r) continue;
        const inf = await counted(r.group, r.plural);
        counts.set(`${r.group}/${r.plural}`, inf ? inf.lister().namespace(namespace).list().length : undefined);
      }
      const list = (g: string, p: string) => informers.get(`${g}/${p}`)!.lister().namespace(namespace).list();
      const usage = computeUsage(
        quota,
        { pods: () => list('', 'pods'), services: () => list('', 'services'), pvcs: () => list('', 'persistentvolumeclaims'), count: (g, p) => counts.get(`${g}/${p}`) },
        ctx.clock.now(),
      );
      // names no evaluator knows keep what was observed before
      const prev = ((quota.status as { used?: Record<string, string> } | undefined)?.used ?? {}) as Record<string, string>;
      const used: Record<string, string> = {};
      const computed = listToJSON(usage);
      for (const k of Object.keys(hard).sort()) {
        if (computed[k] !== undefined) used[k] = computed[k]!;
        else if (prev[k] !== undefined) used[k] = prev[k]!;
      }
      const status = (quota.status ?? {}) as { hard?: Record<string, unknown>; used?: Record<string, unknown> };
      if (sameList(status.hard, hard) && sameList(status.used, used)) return;
      try {
        await client.namespace(namespace).updateStatus({ ...quota, status: { hard, used } } as KObject);
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
    };
    return {
      run(signal) {
        // the periodic full recount (upstream's resourceQuotaSyncPeriod)
        const resync = () => {
          for (const q of quotas.lister().list()) queue.add(keyOf(q));
          if (!signal.aborted) timer = ctx.clock.setTimeout(resync, RESYNC_MS);
        };
        let timer = ctx.clock.setTimeout(resync, RESYNC_MS);
        signal.addEventListener('abort', () => timer.cancel(), { once: true });
        return runWorkers(queue, WORKERS, sync, signal, ctx.log, 'resourcequota');
      },
    };
  },
};

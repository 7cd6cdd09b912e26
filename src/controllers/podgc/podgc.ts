// The pod garbage collector (upstream pkg/controller/podgc), a pass every GC_CHECK_PERIOD_MS over
// the pod and node caches that force-deletes (grace period 0), after marking them Failed:
// - terminated pods (phase not Pending/Running/Unknown) beyond config.terminatedPodGCThreshold,
//   evicted ones first, then oldest first;
// - terminating pods on NotReady nodes tainted node.kubernetes.io/out-of-service;
// - orphaned pods, bound to a node that is gone: missing from the cache for QUARANTINE_MS and then
//   confirmed absent by a GET (they also get the DisruptionTarget condition, DeletionByPodGC);
// - unscheduled pods that are terminating.
import type { KObject } from '../../api/meta.ts';
import type { Controller, ControllerContext } from '../controller.ts';
import { isNotFound } from '../cluster/errors.ts';
import { getCondition, nowRfc3339, podNodeName, podPhase, type Condition } from '../cluster/objects.ts';
import type { Client } from '../../client/client.ts';

export const GC_CHECK_PERIOD_MS = 20_000;
export const QUARANTINE_MS = 40_000;
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export function isPodTerminated(pod: KObject): boolean {
  const p = podPhase(pod);
  return p !== 'Pending' && p !== 'Running' && p !== 'Unknown';
}

function isEvicted(pod: KObject): boolean {
  const s = pod.status as { phase?: string; reason?: string } | undefined;
  return s?.phase === 'Failed' && s.reason === 'Evicted';
}

/** upstream's byEvictionAndCreationTimestamp: evicted first, then by creation time, then name. */
export function compareForGC(a: KObject, b: KObject): number {
  const ea = isEvicted(a);
  const eb = isEvicted(b);
  if (ea !== eb) return ea ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : (a.metadata.name ?? '') > (b.metadata.name ?? '') ? 1 : 0;
}

/** The terminated pods to delete so that at most `threshold` remain (threshold <= 0: none). */
export function terminatedPodsToDelete(pods: readonly KObject[], threshold: number): KObject[] {
  if (threshold <= 0) return [];
  const terminated = pods.filter(isPodTerminated);
  const n = terminated.length - threshold;
  if (n <= 0) return [];
  return terminated.sort(compareForGC).slice(0, n);
}

function isNodeReady(node: KObject): boolean {
  return getCondition(node, 'Ready')?.status === 'True';
}

function hasTaint(node: KObject, key: string): boolean {
  return ((node.spec as { taints?: { key: string }[] } | undefined)?.taints ?? []).some((t) => t.key === key);
}

/**
 * upstream's markFailedAndDeletePodWithCondition: a pod not yet terminal is patched to Failed
 * (with the condition, if any) so it does not stay Running forever without a kubelet, then
 * deleted with grace period 0. A pod already gone is not an error.
 */
export async function markFailedAndDeletePod(client: Client, pod: KObject, now: string, condition?: Omit<Condition, 'lastTransitionTime'>): Promise<void> {
  const pods = client.resource('', 'pods').namespace(pod.metadata.namespace!);
  try {
    const phase = podPhase(pod);
    if (phase !== 'Succeeded' && phase !== 'Failed') {
      const status: Record<string, unknown> = { phase: 'Failed' };
      if (condition) {
        const old = getCondition(pod, condition.type);
        status.conditions = [{ ...condition, lastProbeTime: null, lastTransitionTime: old && old.status === condition.status ? old.lastTransitionTime : now }];
      }
      await pods.patch(pod.metadata.name!, 'strategic', { metadata: { uid: pod.metadata.uid }, status }, { subresource: 'status' });
    }
    await pods.delete(pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
}

export const podGCController: Controller = {
  name: 'podgc',
  setup(ctx: ControllerContext) {
    const pods = ctx.informers.informerFor('', 'pods');
    const nodes = ctx.informers.informerFor('', 'nodes');
    /** Node names pods refer to that the cache lacks, with when we first noticed. */
    const missingSince = new Map<string, number>();

    const tryDelete = async (pod: KObject, why: string, condition?: Omit<Condition, 'lastTransitionTime'>) => {
      try {
        await markFailedAndDeletePod(ctx.client, pod, nowRfc3339(ctx.clock), condition);
        ctx.log(`podgc: force deleted ${why} pod ${pod.metadata.namespace}/${pod.metadata.name}`);
      } catch (e) {
        ctx.log(`podgc: deleting ${pod.metadata.namespace}/${pod.metadata.name}: ${(e as Error).message}`);
      }
    };

    const gc = async (): Promise<void> => {
      const all = pods.lister().list();
      const nodeLister = nodes.lister();
      const work: Promise<void>[] = [];
      for (const p of terminatedPodsToDelete(all, ctx.config.terminatedPodGCThreshold)) work.push(tryDelete(p, 'terminated'));
      for (const p of all) {
        if (!p.metadata.deletionTimestamp) continue;
        const node = nodeLister.get(podNodeName(p));
        if (node && !isNodeReady(node) && hasTaint(node, TAINT_OUT_OF_SERVICE)) work.push(tryDelete(p, 'terminating out-of-service'));
      }
      await Promise.all(work);
      // orphans: quarantine names the cache lacks, then confirm with the API
      const now = ctx.clock.now();
      const referenced = new Set<string>();
      for (const p of all) {
        const n = podNodeName(p);
        if (!n || nodeLister.get(n)) continue;
        referenced.add(n);
        if (!missingSince.has(n)) missingSince.set(n, now);
      }
      const deleted = new Set<string>();
      for (const [n, since] of missingSince) {
        if (!referenced.has(n) || nodeLister.get(n)) {
          missingSince.delete(n);
          continue;
        }
        if (now - since < QUARANTINE_MS) continue;
        missingSince.delete(n);
        try {
          await ctx.client.resource('', 'nodes').get(n);
        } catch (e) {
          if (isNotFound(e)) deleted.add(n);
          else ctx.log(`podgc: getting node ${n}: ${(e as Error).message}`);
        }
      }
      const orphans: Promise<void>[] = [];
      for (const p of all) {
        if (deleted.has(podNodeName(p))) orphans.push(tryDelete(p, 'orphaned', { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' }));
      }
      await Promise.all(orphans);
      const unscheduled: Promise<void>[] = [];
      for (const p of all) if (p.metadata.deletionTimestamp && !podNodeName(p)) unscheduled.push(tryDelete(p, 'unscheduled terminating'));
      await Promise.all(unscheduled);
    };

    return {
      async run(signal) {
        while (!signal.aborted) {
          await gc();
          try {
            await ctx.clock.after(GC_CHECK_PERIOD_MS, signal);
          } catch {
            return;
          }
        }
      },
    };
  },
};

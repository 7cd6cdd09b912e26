// The taint eviction controller (upstream pkg/controller/tainteviction, the former taint manager):
// pods on a node with NoExecute taints they do not all tolerate are deleted at once; pods that
// tolerate them all for a limited time (tolerationSeconds) are deleted when the shortest of those
// times has passed since the taints were seen; a toleration without tolerationSeconds keeps the pod
// forever. Before deletion the pod gets the DisruptionTarget condition (DeletionByTaintManager).
// Events: TaintManagerEviction "Marking for deletion Pod ns/name", and "Cancelling deletion of Pod
// ns/name" when the taints go away (or become tolerated) first.
import type { KObject } from '../../api/meta.ts';
import { EVENT_TYPE_NORMAL } from '../../client/events.ts';
import type { Timer } from '../../client/clock.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { isNotFound } from '../cluster/errors.ts';
import { getCondition, nowRfc3339, podNodeName } from '../cluster/objects.ts';
import { matchingTolerations, minTolerationMs, taintsOf, tolerationsOf, type Taint } from './taints.ts';
import { PODS_BY_NODE, podsByNodeIndex } from './nodelifecycle.ts';

const RETRIES = 5;

export function noExecuteTaints(node: KObject | undefined): Taint[] {
  return node ? taintsOf(node).filter((t) => t.effect === 'NoExecute') : [];
}

/**
 * When a pod must go, given its node's NoExecute taints: 'now', a delay in ms, or 'never'
 * (no taints, or tolerated forever).
 */
export function evictionDelay(pod: KObject, taints: readonly Taint[]): 'now' | 'never' | number {
  if (taints.length === 0) return 'never';
  const { all, used } = matchingTolerations(taints, tolerationsOf(pod));
  if (!all) return 'now';
  const ms = minTolerationMs(used);
  if (ms < 0) return 'never';
  return ms === 0 ? 'now' : ms;
}

interface Scheduled {
  createdAt: number;
  fireAt: number;
  timer: Timer;
}

export const taintEvictionController: Controller = {
  name: 'taint-eviction-controller',
  setup(ctx: ControllerContext) {
    const nodes = ctx.informers.informerFor('', 'nodes');
    const pods = ctx.informers.informerFor('', 'pods', { indexers: { [PODS_BY_NODE]: podsByNodeIndex } });
    const recorder = ctx.recorder('taint-eviction-controller');
    const scheduled = new Map<string, Scheduled>();
    const evictions = new WorkQueue<string>({ clock: ctx.clock, name: 'taint_eviction' });
    const nodeQueue = new WorkQueue<string>({ clock: ctx.clock, name: 'taint_eviction_nodes' });
    const podQueue = new WorkQueue<string>({ clock: ctx.clock, name: 'taint_eviction_pods' });
    const podRef = (key: string) => {
      const { namespace, name } = splitKey(key);
      return { apiVersion: 'v1', kind: 'Pod', namespace, name, uid: pods.lister().namespace(namespace).get(name)?.metadata.uid };
    };

    const cancel = (key: string, withEvent = true) => {
      const s = scheduled.get(key);
      if (!s) return;
      s.timer.cancel();
      scheduled.delete(key);
      if (withEvent) recorder.event(podRef(key), EVENT_TYPE_NORMAL, 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
    };
    const schedule = (key: string, createdAt: number, fireAt: number) => {
      if (fireAt <= ctx.clock.now()) {
        evictions.add(key);
        return;
      }
      const timer = ctx.clock.setTimeout(() => {
        if (scheduled.get(key)?.timer !== timer) return;
        scheduled.delete(key);
        evictions.add(key);
      }, fireAt - ctx.clock.now());
      scheduled.set(key, { createdAt, fireAt, timer });
    };

    /** upstream's processPodOnNode. */
    const processPodOnNode = (pod: KObject, taints: readonly Taint[]) => {
      const key = keyOf(pod);
      const now = ctx.clock.now();
      const d = evictionDelay(pod, taints);
      if (taints.length === 0 || d === 'never') {
        cancel(key);
        return;
      }
      if (d === 'now') {
        cancel(key);
        schedule(key, now, now);
        return;
      }
      let start = now;
      const s = scheduled.get(key);
      if (s) {
        start = s.createdAt;
        // an eviction already due no later stays as it is
        if (start + d <= s.fireAt) return;
        cancel(key);
      }
      schedule(key, start, start + d);
    };

    nodes.addEventHandler({
      onAdd: (n) => nodeQueue.add(n.metadata.name!),
      onUpdate: (o, n) => {
        if (JSON.stringify(noExecuteTaints(o)) !== JSON.stringify(noExecuteTaints(n))) nodeQueue.add(n.metadata.name!);
      },
      onDelete: (n) => nodeQueue.add(n.metadata.name!),
    });
    pods.addEventHandler({
      onAdd: (p) => podQueue.add(keyOf(p)),
      onUpdate: (o, p) => {
        if (podNodeName(o) !== podNodeName(p) || JSON.stringify(tolerationsOf(o)) !== JSON.stringify(tolerationsOf(p))) podQueue.add(keyOf(p));
      },
      onDelete: (p) => cancel(keyOf(p), false),
    });

    const syncNode = async (name: string): Promise<void> => {
      const node = nodes.lister().get(name);
      const taints = noExecuteTaints(node);
      for (const p of pods.indexer.byIndex(PODS_BY_NODE, name)) processPodOnNode(p, taints);
    };
    const syncPod = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const pod = pods.lister().namespace(namespace).get(name);
      if (!pod) {
        cancel(key, false);
        return;
      }
      const nodeName = podNodeName(pod);
      if (!nodeName) return;
      processPodOnNode(pod, noExecuteTaints(nodes.lister().get(nodeName)));
    };
    /** Adds DisruptionTarget (once) and deletes the pod, a few attempts. */
    const evict = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      recorder.event(podRef(key), EVENT_TYPE_NORMAL, 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
      const client = ctx.client.resource('', 'pods').namespace(namespace);
      let last: unknown;
      for (let i = 0; i < RETRIES; i++) {
        try {
          const pod = await client.get(name);
          if (getCondition(pod, 'DisruptionTarget')?.status !== 'True') {
            const cond = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: nowRfc3339(ctx.clock), lastProbeTime: null };
            await client.patch(name, 'strategic', { metadata: { uid: pod.metadata.uid }, status: { conditions: [cond] } }, { subresource: 'status' });
          }
          await client.delete(name, { preconditions: { uid: pod.metadata.uid } });
          return;
        } catch (e) {
          if (isNotFound(e)) return;
          last = e;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      throw last;
    };

    return {
      run: async (signal) => {
        signal.addEventListener('abort', () => {
          for (const s of scheduled.values()) s.timer.cancel();
        }, { once: true });
        await Promise.all([
          runWorkers(nodeQueue, 2, syncNode, signal, ctx.log, 'taint-eviction-nodes'),
          runWorkers(podQueue, 4, syncPod, signal, ctx.log, 'taint-eviction-pods'),
          runWorkers(evictions, 4, evict, signal, ctx.log, 'taint-eviction'),
        ]);
      },
    };
  },
};

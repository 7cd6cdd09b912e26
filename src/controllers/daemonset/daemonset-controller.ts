// The DaemonSet controller (upstream's pkg/controller/daemon): one pod per eligible node. Pods
// are created unbound, with required node affinity naming their node, and the scheduler binds
// them; nodes are eligible by nodeSelector, node affinity and taints (daemon pods tolerate the
// node-problem taints upstream adds). Rolling updates replace pods within maxUnavailable, or
// surge a new pod beside the old within maxSurge; OnDelete replaces only deleted pods. Every
// template is a ControllerRevision; status counts nodes as upstream does.
import { StatusError } from '../../api/errors.ts';
import { labelSelectorAsSelector, type Selector } from '../../api/labels.ts';
import { clone, type KObject } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, type EventRecorder } from '../../client/events.ts';
import type { Lister } from '../../client/store.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { keyOf, runWorkers, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { claimObjects, ownerRecheck } from '../workload/claim.ts';
import { Expectations } from '../workload/expectations.ts';
import { dependentHandler } from '../workload/handlers.ts';
import { availableAt, controllerOf, newControllerRef, podFromTemplate, podsPrefix, type Json, type Pod } from '../workload/pods.ts';
import { equalRevision, goJson, hashRevisionData, revisionName, sortRevisions, templatePatch, type ControllerRevision } from '../workload/revisions.ts';
import {
  daemonPodTemplate,
  daemonSetCounts,
  daemonSetStatusObject,
  DS_HASH_LABEL,
  nodeNameAffinity,
  nodeShouldRunDaemonPod,
  planNode,
  planRollingUpdate,
  targetNodeName,
  type DaemonSet,
} from './daemonset-utils.ts';

const KIND = 'DaemonSet';
const API_VERSION = 'apps/v1';
/** Pods created or deleted per sync at most (upstream's BurstReplicas). */
const BURST_REPLICAS = 250;
const FAILED_BACKOFF_INITIAL_MS = 1000;
const FAILED_BACKOFF_MAX_MS = 15 * 60_000;

interface Backoff {
  delayMs: number;
  lastUpdate: number;
}

interface Ctx {
  ctx: ControllerContext;
  recorder: EventRecorder;
  sets: Lister<DaemonSet>;
  pods: Lister<Pod>;
  nodes: Lister<KObject>;
  revisions: Lister<ControllerRevision>;
  queue: WorkQueue<string>;
  expectations: Expectations;
  failedBackoff: Map<string, Backoff>;
}

/** The DaemonSet controller ("daemonset", events from "daemonset-controller"). */
export function daemonSetController(): Controller {
  return {
    name: 'daemonset',
    setup(ctx) {
      const dsInf = ctx.informers.informerFor<DaemonSet>('apps', 'daemonsets');
      const podInf = ctx.informers.informerFor<Pod>('', 'pods');
      const nodeInf = ctx.informers.informerFor('', 'nodes');
      const revInf = ctx.informers.informerFor<ControllerRevision>('apps', 'controllerrevisions');
      const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'daemonset' });
      const c: Ctx = {
        ctx,
        recorder: ctx.recorder('daemonset-controller'),
        sets: dsInf.lister(),
        pods: podInf.lister(),
        nodes: nodeInf.lister(),
        revisions: revInf.lister(),
        queue,
        expectations: new Expectations(ctx.clock),
        failedBackoff: new Map(),
      };
      dsInf.addEventHandler({
        onAdd: (ds) => queue.add(keyOf(ds)),
        onUpdate: (_o, ds) => queue.add(keyOf(ds)),
        onDelete: (ds) => {
          c.expectations.delete(keyOf(ds));
          queue.add(keyOf(ds));
        },
      });
      podInf.addEventHandler(
        dependentHandler({
          kind: KIND,
          owners: c.sets,
          enqueue: (k) => queue.add(k),
          observed: (what, k) => (what === 'add' ? c.expectations.creationObserved(k) : c.expectations.deletionObserved(k)),
        }),
      );
      revInf.addEventHandler(dependentHandler({ kind: KIND, owners: c.sets, enqueue: (k) => queue.add(k) }));
      const allSets = () => {
        for (const ds of c.sets.list()) queue.add(keyOf(ds));
      };
      nodeInf.addEventHandler({
        onAdd: (node) => {
          for (const ds of c.sets.list()) if (nodeShouldRunDaemonPod(node, ds).shouldRun) queue.add(keyOf(ds));
        },
        onUpdate: (old, node) => {
          const o = old as Json;
          const n = node as Json;
          // only what changes eligibility matters (shouldIgnoreNodeUpdate)
          if (JSON.stringify(o.metadata.labels ?? {}) === JSON.stringify(n.metadata.labels ?? {}) && JSON.stringify(o.spec?.taints ?? []) === JSON.stringify(n.spec?.taints ?? [])) return;
          for (const ds of c.sets.list()) {
            const a = nodeShouldRunDaemonPod(old, ds);
            const b = nodeShouldRunDaemonPod(node, ds);
            if (a.shouldRun !== b.shouldRun || a.shouldContinueRunning !== b.shouldContinueRunning) queue.add(keyOf(ds));
          }
        },
        onDelete: allSets,
      });
      return { run: (signal) => runWorkers(queue, 2, (key) => syncDaemonSet(c, key), signal, ctx.log, 'daemonset') };
    },
  };
}

function dsClient(c: Ctx, ns: string): ResourceClient<DaemonSet> {
  return c.ctx.client.resource<DaemonSet>('apps', 'daemonsets').namespace(ns);
}

function podsClient(c: Ctx, ns: string): ResourceClient<Pod> {
  return c.ctx.client.resource<Pod>('', 'pods').namespace(ns);
}

function revClient(c: Ctx, ns: string): ResourceClient<ControllerRevision> {
  return c.ctx.client.resource<ControllerRevision>('apps', 'controllerrevisions').namespace(ns);
}

function errText(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

async function syncDaemonSet(c: Ctx, key: string): Promise<void> {
  const { namespace, name } = splitKey(key);
  const shared = c.sets.namespace(namespace).get(name);
  if (!shared) {
    c.expectations.delete(key);
    return;
  }
  const sel = shared.spec?.selector;
  if (sel && typeof sel === 'object' && !sel.matchLabels && !sel.matchExpressions) {
    c.recorder.event(shared, EVENT_TYPE_WARNING, 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
    return;
  }
  let selector: Selector;
  try {
    selector = labelSelectorAsSelector(sel);
  } catch (e) {
    c.recorder.event(shared, EVENT_TYPE_WARNING, 'InvalidSelector', `Invalid selector: ${errText(e)}`);
    return;
  }
  if (selector.requirements.length === 0) {
    c.recorder.event(shared, EVENT_TYPE_WARNING, 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
    return;
  }
  if (shared.metadata.deletionTimestamp) return;
  const ds = clone(shared);
  const nodes = c.nodes.list();
  const { current, old } = await constructHistory(c, ds, selector);
  const hash = current.metadata.labels?.[DS_HASH_LABEL] ?? '';
  const pods = await daemonPods(c, ds, selector);

  if (!c.expectations.satisfied(key)) {
    await updateStatus(c, ds, nodes, pods, hash, false);
    return;
  }
  let err: unknown;
  try {
    await manage(c, ds, nodes, pods, hash, key);
    if (c.expectations.satisfied(key) && ds.spec?.updateStrategy?.type === 'RollingUpdate') {
      const fresh = c.pods.namespace(namespace).list().filter((p) => controllerOf(p)?.uid === ds.metadata.uid);
      await rollingUpdate(c, ds, nodes, fresh, hash, key);
    }
    await cleanupHistory(c, ds, pods, old);
  } catch (e) {
    err = e;
  }
  let statusErr: unknown;
  try {
    const now = c.pods.namespace(namespace).list().filter((p) => controllerOf(p)?.uid === ds.metadata.uid);
    await updateStatus(c, ds, nodes, now, hash, true);
  } catch (e) {
    statusErr = e;
  }
  if (err !== undefined) throw err;
  if (statusErr !== undefined) throw statusErr;
}

async function daemonPods(c: Ctx, ds: DaemonSet, selector: Selector): Promise<Pod[]> {
  return claimObjects(c.pods.namespace(ds.metadata.namespace!).list(), {
    owner: ds,
    ownerRef: newControllerRef(ds, API_VERSION, KIND),
    selector,
    client: podsClient(c, ds.metadata.namespace!),
    recheckOwner: ownerRecheck(dsClient(c, ds.metadata.namespace!), ds, KIND),
  });
}

/** Pods by the node they are for; terminal pods being deleted are left out unless asked for. */
function nodeToDaemonPods(pods: readonly Pod[], includeDeletedTerminal = false): Map<string, Pod[]> {
  const m = new Map<string, Pod[]>();
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (!includeDeletedTerminal && (phase === 'Succeeded' || phase === 'Failed') && pod.metadata.deletionTimestamp) continue;
    const node = targetNodeName(pod);
    if (!node) continue;
    let l = m.get(node);
    if (!l) m.set(node, (l = []));
    l.push(pod);
  }
  return m;
}

async function manage(c: Ctx, ds: DaemonSet, nodes: KObject[], pods: Pod[], hash: string, key: string): Promise<void> {
  const byNode = nodeToDaemonPods(pods);
  const now = c.ctx.clock.now();
  const create: string[] = [];
  const del: string[] = [];
  for (const node of nodes) {
    const bkey = `${ds.metadata.uid}/${ds.metadata.generation ?? 0}/${node.metadata.name}`;
    let backedOff = false;
    const plan = planNode(node, ds, byNode.get(node.metadata.name!), hash, now, () => {
      const b = c.failedBackoff.get(bkey);
      backedOff = !!b && now - b.lastUpdate < b.delayMs;
      return backedOff;
    });
    if (plan.failedInBackoff) {
      const b = c.failedBackoff.get(bkey)!;
      c.queue.addAfter(key, b.delayMs);
    }
    for (const pod of plan.failed) {
      const b = c.failedBackoff.get(bkey);
      const delayMs = !b || now - b.lastUpdate > 2 * FAILED_BACKOFF_MAX_MS ? FAILED_BACKOFF_INITIAL_MS : Math.min(b.delayMs * 2, FAILED_BACKOFF_MAX_MS);
      c.failedBackoff.set(bkey, { delayMs, lastUpdate: now });
      c.recorder.event(ds, EVENT_TYPE_WARNING, 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${node.metadata.name}, will try to kill it`);
    }
    if (plan.create) create.push(node.metadata.name!);
    del.push(...plan.delete);
  }
  // pods for nodes that no longer exist are never scheduled, and pod GC would not see them
  const existing = new Set(nodes.map((n) => n.metadata.name));
  for (const [node, ps] of byNode) {
    if (existing.has(node)) continue;
    for (const p of ps) if (!p.spec?.nodeName && !p.metadata.deletionTimestamp) del.push(p.metadata.name!);
  }
  await syncNodes(c, ds, del, create, hash, key);
}

/** Creates pods for nodes and deletes pods by name, within the burst limit, with expectations. */
async function syncNodes(c: Ctx, ds: DaemonSet, podsToDelete: string[], nodesNeedingPods: string[], hash: string, key: string): Promise<void> {
  const create = nodesNeedingPods.slice(0, BURST_REPLICAS);
  const del = podsToDelete.slice(0, BURST_REPLICAS);
  if (!create.length && !del.length) return;
  c.expectations.expect(key, create.length, del.length);
  const ns = ds.metadata.namespace!;
  const client = podsClient(c, ns);
  const template = daemonPodTemplate(ds, hash);
  const ref = newControllerRef(ds, API_VERSION, KIND);
  const errors: unknown[] = [];
  let pos = 0;
  for (let batch = Math.min(create.length, 1); batch > 0; batch = Math.min(2 * batch, create.length - pos)) {
    const nodesNow = create.slice(pos, pos + batch);
    pos += batch;
    const results = await Promise.allSettled(
      nodesNow.map(async (nodeName) => {
        const pod = podFromTemplate(template, ds, ref, podsPrefix(ds.metadata.name!));
        pod.spec.affinity = nodeNameAffinity(pod.spec.affinity, nodeName);
        try {
          const created = await client.create(pod);
          c.recorder.event(ds, EVENT_TYPE_NORMAL, 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
        } catch (e) {
          c.recorder.event(ds, EVENT_TYPE_WARNING, 'FailedCreate', `Error creating: ${errText(e)}`);
          c.expectations.creationObserved(key);
          throw e;
        }
      }),
    );
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    if (failed.length) {
      errors.push(failed[0]!.reason);
      for (let i = pos; i < create.length; i++) c.expectations.creationObserved(key);
      break;
    }
  }
  await Promise.all(
    del.map(async (podName) => {
      try {
        await client.delete(podName);
        c.recorder.event(ds, EVENT_TYPE_NORMAL, 'SuccessfulDelete', `Deleted pod: ${podName}`);
      } catch (e) {
        c.expectations.deletionObserved(key);
        if (e instanceof StatusError && e.code === 404) return;
        c.recorder.event(ds, EVENT_TYPE_WARNING, 'FailedDelete', `Error deleting: ${errText(e)}`);
        errors.push(e);
      }
    }),
  );
  if (errors.length) throw errors[0];
}

async function rollingUpdate(c: Ctx, ds: DaemonSet, nodes: KObject[], pods: Pod[], hash: string, key: string): Promise<void> {
  const byNode = nodeToDaemonPods(pods);
  for (const n of nodes) if (nodeShouldRunDaemonPod(n, ds).shouldRun && !byNode.has(n.metadata.name!)) byNode.set(n.metadata.name!, []);
  const plan = planRollingUpdate(ds, nodes, byNode, hash, c.ctx.clock.now());
  await syncNodes(c, ds, plan.deletePods, plan.createOnNodes, hash, key);
}

/**
 * The DaemonSet's revisions: adopts orphans, finds the one matching the current template (or
 * creates it, bumping status.collisionCount on a name collision), keeps its number the highest,
 * and answers the others (constructHistory).
 */
async function constructHistory(c: Ctx, ds: DaemonSet, selector: Selector): Promise<{ current: ControllerRevision; old: ControllerRevision[] }> {
  const ns = ds.metadata.namespace!;
  const client = revClient(c, ns);
  const all = c.revisions.namespace(ns).list();
  const histories = await claimObjects(all, {
    owner: ds,
    ownerRef: newControllerRef(ds, API_VERSION, KIND),
    selector,
    client,
    recheckOwner: ownerRecheck(dsClient(c, ns), ds, KIND),
  });
  const patch = templatePatch(ds);
  const matching: ControllerRevision[] = [];
  const old: ControllerRevision[] = [];
  for (let h of histories) {
    if (!h.metadata.labels?.[DS_HASH_LABEL]) {
      const body = clone(h);
      body.metadata.labels = { ...(body.metadata.labels ?? {}), [DS_HASH_LABEL]: body.metadata.name! };
      h = await client.update(body);
    }
    if (goJson(h.data) === goJson(patch)) matching.push(h);
    else old.push(h);
  }
  const next = old.reduce((m, h) => Math.max(m, h.revision), 0) + 1;
  let current: ControllerRevision;
  if (matching.length === 0) {
    current = await snapshot(c, ds, patch, next);
  } else {
    current = matching.reduce((keep, h) => (h.revision >= keep.revision ? h : keep), matching[0]!);
    for (const dup of matching) {
      if (dup === current) continue;
      // relabel pods of the duplicate, then drop it
      for (const pod of c.pods.namespace(ns).list()) {
        if (controllerOf(pod)?.uid !== ds.metadata.uid) continue;
        if (pod.metadata.labels?.[DS_HASH_LABEL] !== current.metadata.labels?.[DS_HASH_LABEL]) {
          await podsClient(c, ns).patch(pod.metadata.name!, 'merge', { metadata: { labels: { [DS_HASH_LABEL]: current.metadata.labels?.[DS_HASH_LABEL] } } });
        }
      }
      await client.delete(dup.metadata.name!).catch((e) => {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      });
    }
    if (current.revision < next) {
      const body = clone(current);
      body.revision = next;
      current = await client.update(body);
    }
  }
  return { current, old };
}

async function snapshot(c: Ctx, ds: DaemonSet, patch: Json, revision: number): Promise<ControllerRevision> {
  const ns = ds.metadata.namespace!;
  const hash = hashRevisionData(ds.spec?.template ?? {}, ds.status?.collisionCount);
  const name = revisionName(ds.metadata.name!, hash);
  const rev: ControllerRevision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace: ns,
      labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [DS_HASH_LABEL]: hash },
      ...(ds.metadata.annotations ? { annotations: { ...ds.metadata.annotations } } : {}),
      ownerReferences: [newControllerRef(ds, API_VERSION, KIND)],
    },
    data: patch,
    revision,
  };
  const client = revClient(c, ns);
  try {
    return await client.create(rev);
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists')) throw e;
    const existing = await client.get(name);
    if (equalRevision(existing, rev)) return existing;
    // a different template has this name: bump the collision count and try again next sync
    const fresh = await dsClient(c, ns).get(ds.metadata.name!);
    if ((fresh.status?.collisionCount ?? undefined) !== (ds.status?.collisionCount ?? undefined)) {
      throw new Error(`found a stale collision count (${ds.status?.collisionCount}, expected ${fresh.status?.collisionCount}) of DaemonSet "${ds.metadata.name}" while processing; will retry until it is updated`);
    }
    const body = clone(fresh);
    body.status = { ...(body.status ?? {}), collisionCount: (fresh.status?.collisionCount ?? 0) + 1 };
    await dsClient(c, ns).updateStatus(body);
    throw e;
  }
}

/** Deletes the oldest revisions beyond revisionHistoryLimit that no pod uses (cleanupHistory). */
async function cleanupHistory(c: Ctx, ds: DaemonSet, pods: Pod[], old: ControllerRevision[]): Promise<void> {
  const limit = ds.spec?.revisionHistoryLimit ?? 10;
  let toKill = old.length - limit;
  if (toKill <= 0) return;
  const live = new Set(pods.map((p) => p.metadata.labels?.[DS_HASH_LABEL]).filter(Boolean));
  const client = revClient(c, ds.metadata.namespace!);
  for (const h of sortRevisions(old)) {
    if (toKill <= 0) break;
    if (live.has(h.metadata.labels?.[DS_HASH_LABEL])) continue;
    try {
      await client.delete(h.metadata.name!);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
    toKill--;
  }
}

async function updateStatus(c: Ctx, ds: DaemonSet, nodes: KObject[], pods: Pod[], hash: string, updateObservedGen: boolean): Promise<void> {
  const now = c.ctx.clock.now();
  const counts = daemonSetCounts(ds, nodes, nodeToDaemonPods(pods), hash, now);
  const cur = ds.status ?? {};
  const observed = updateObservedGen ? ds.metadata.generation : cur.observedGeneration;
  const unchanged =
    (cur.observedGeneration ?? 0) >= (ds.metadata.generation ?? 0) &&
    (Object.keys(counts) as (keyof typeof counts)[]).every((k) => (cur[k] ?? 0) === counts[k]);
  if (!unchanged) {
    const client = dsClient(c, ds.metadata.namespace!);
    const body = clone(ds);
    body.status = daemonSetStatusObject(counts, observed, cur.collisionCount, cur.conditions);
    try {
      await client.updateStatus(body);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409)) throw e;
      const fresh = clone(await client.get(ds.metadata.name!));
      fresh.status = daemonSetStatusObject(counts, observed, fresh.status?.collisionCount, fresh.status?.conditions);
      await client.updateStatus(fresh);
    }
  }
  const minReady = ds.spec?.minReadySeconds ?? 0;
  if (minReady > 0 && counts.numberReady !== counts.numberAvailable) {
    const waits = pods.map((p) => availableAt(p, minReady)).filter((t): t is number => t !== undefined && t > now);
    c.queue.addAfter(keyOf(ds), waits.length ? Math.min(...waits) - now + 1 : minReady * 1000);
  }
}

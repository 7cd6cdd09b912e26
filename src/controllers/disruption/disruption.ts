// The disruption controller (upstream pkg/controller/disruption): keeps each PodDisruptionBudget's
// status — expectedPods, desiredHealthy (from minAvailable or maxUnavailable, integers or
// percentages of the pods' controllers' scale), currentHealthy (Ready pods not being deleted and
// not recently disrupted), disruptionsAllowed, disruptedPods, observedGeneration and the
// DisruptionAllowed condition (SufficientPods / InsufficientPods; SyncFailed when the status cannot
// be computed, with disruptionsAllowed 0: the eviction API then refuses, failing safe).
import type { KObject } from '../../api/meta.ts';
import { resourceByKind } from '../../api/resources.ts';
import { labelSelectorAsSelector, matchesLabels, type LabelSelectorJSON } from '../../api/labels.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING } from '../../client/events.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { isConflict, isNotFound } from '../cluster/errors.ts';
import { controllerRef, isPodReady, nowRfc3339, parseTime } from '../cluster/objects.ts';

/** How long a pod the eviction API let go may take to be deleted before it counts again. */
export const DELETION_TIMEOUT_MS = 2 * 60_000;
const RESYNC_MS = 30_000;
const WORKERS = 4;

type IntOrString = number | string;

interface PDBSpec {
  minAvailable?: IntOrString;
  maxUnavailable?: IntOrString;
  selector?: LabelSelectorJSON | null;
}

interface MetaCondition {
  type: string;
  status: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
  reason: string;
  message: string;
}

interface PDBStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: MetaCondition[];
}

/** upstream's GetScaledValueFromIntOrPercent with rounding up. */
export function scaledValue(v: IntOrString, total: number): number {
  if (typeof v === 'number') return v;
  if (/^-?\d+$/.test(v)) return Number(v);
  if (!v.endsWith('%')) throw new Error('invalid type: string is not a percentage');
  const p = Number(v.slice(0, -1));
  if (!Number.isFinite(p) || v.slice(0, -1) === '') throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
  return Math.ceil((p * total) / 100);
}

/** The pods a budget covers: its namespace's pods its selector matches (a null selector matches none). */
export function podsForPdb(pdb: KObject, pods: readonly KObject[]): KObject[] {
  const sel = labelSelectorAsSelector((pdb.spec as PDBSpec | undefined)?.selector);
  return pods.filter((p) => matchesLabels(sel, p.metadata.labels));
}

/** What the scale of a pod's controller is; undefined when the reference names no known controller. */
export type ScaleFinder = (ref: { apiVersion: string; kind: string; name: string; uid: string }, namespace: string) => Promise<{ uid: string; scale: number } | undefined>;

/**
 * expectedCount and desiredHealthy (upstream's getExpectedPodCount); unmanaged pods are listed
 * (an integer minAvailable does not need controllers at all).
 */
export async function expectedPodCount(pdb: KObject, pods: readonly KObject[], find: ScaleFinder): Promise<{ expected: number; desired: number; unmanaged: string[] }> {
  const spec = (pdb.spec ?? {}) as PDBSpec;
  const expectedScale = async () => {
    const scales = new Map<string, number>();
    const unmanaged: string[] = [];
    for (const p of pods) {
      const ref = controllerRef(p);
      if (!ref) {
        unmanaged.push(p.metadata.name!);
        continue;
      }
      if (scales.has(ref.uid)) continue;
      const found = await find(ref, p.metadata.namespace!);
      if (!found) throw new Error(`found no controllers for pod "${p.metadata.name}"`);
      scales.set(found.uid, found.scale);
    }
    let expected = 0;
    for (const n of scales.values()) expected += n;
    return { expected, unmanaged };
  };
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    const { expected, unmanaged } = await expectedScale();
    const maxUnavailable = scaledValue(spec.maxUnavailable, expected);
    return { expected, desired: Math.max(0, expected - maxUnavailable), unmanaged };
  }
  if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
    if (typeof spec.minAvailable === 'number') return { expected: pods.length, desired: spec.minAvailable, unmanaged: [] };
    const { expected, unmanaged } = await expectedScale();
    return { expected, desired: scaledValue(spec.minAvailable, expected), unmanaged };
  }
  return { expected: 0, desired: 0, unmanaged: [] };
}

/** Pods still counted as disrupted (evicted less than DELETION_TIMEOUT_MS ago, not yet deleting), and when to look again. */
export function disruptedPodMap(pods: readonly KObject[], pdb: KObject, now: number): { disrupted: Record<string, string>; recheckAt?: number; overdue: KObject[] } {
  const recorded = ((pdb.status ?? {}) as PDBStatus).disruptedPods ?? {};
  const disrupted: Record<string, string> = {};
  const overdue: KObject[] = [];
  let recheckAt: number | undefined;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const t = recorded[p.metadata.name!];
    if (t === undefined) continue;
    const at = parseTime(t) ?? 0;
    const expected = at + DELETION_TIMEOUT_MS;
    if (expected < now) overdue.push(p);
    else {
      disrupted[p.metadata.name!] = t;
      if (recheckAt === undefined || expected < recheckAt) recheckAt = expected;
    }
  }
  return { disrupted, recheckAt, overdue };
}

export function countHealthyPods(pods: readonly KObject[], disrupted: Record<string, string>): number {
  let n = 0;
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    if (disrupted[p.metadata.name!] !== undefined) continue;
    if (isPodReady(p)) n++;
  }
  return n;
}

/** meta.SetStatusCondition: replaces the condition of that type, keeping lastTransitionTime unless the status changes. */
export function setCondition(conditions: MetaCondition[], c: MetaCondition, now: string): MetaCondition[] {
  const out = conditions.map((x) => ({ ...x }));
  const old = out.find((x) => x.type === c.type);
  if (!old) {
    out.push({ ...c, lastTransitionTime: c.lastTransitionTime ?? now });
    return out;
  }
  if (old.status !== c.status) old.lastTransitionTime = c.lastTransitionTime ?? now;
  old.status = c.status;
  old.reason = c.reason;
  old.message = c.message;
  old.observedGeneration = c.observedGeneration;
  return out;
}

function allowedCondition(allowed: number, generation: number | undefined): MetaCondition {
  return allowed > 0
    ? { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', observedGeneration: generation }
    : { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '', observedGeneration: generation };
}

function conditionsUpToDate(pdb: KObject): boolean {
  const s = (pdb.status ?? {}) as PDBStatus;
  const c = s.conditions?.find((x) => x.type === 'DisruptionAllowed');
  if (!c || s.observedGeneration !== pdb.metadata.generation) return false;
  return (s.disruptionsAllowed ?? 0) > 0 ? c.status === 'True' && c.reason === 'SufficientPods' : c.status === 'False' && c.reason === 'InsufficientPods';
}

export const disruptionController: Controller = {
  name: 'disruption',
  setup(ctx: ControllerContext) {
    const pdbs = ctx.informers.informerFor('policy', 'poddisruptionbudgets');
    const pods = ctx.informers.informerFor('', 'pods');
    const rcs = ctx.informers.informerFor('', 'replicationcontrollers');
    const rss = ctx.informers.informerFor('apps', 'replicasets');
    const deployments = ctx.informers.informerFor('apps', 'deployments');
    const statefulsets = ctx.informers.informerFor('apps', 'statefulsets');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'disruption' });
    const recorder = ctx.recorder('controllermanager');

    pdbs.addEventHandler({ onAdd: (p) => queue.add(keyOf(p)), onUpdate: (_o, p) => queue.add(keyOf(p)), onDelete: (p) => queue.add(keyOf(p)) }, RESYNC_MS);
    const pdbForPod = (pod: KObject): KObject | undefined => {
      const matching = pdbs.lister().namespace(pod.metadata.namespace!).list().filter((b) => podsForPdb(b, [pod]).length > 0);
      if (matching.length === 0) return undefined;
      if (matching.length > 1) recorder.event(pod, EVENT_TYPE_WARNING, 'MultiplePodDisruptionBudgets', `Pod "${pod.metadata.namespace}"/"${pod.metadata.name}" matches multiple PodDisruptionBudgets.  Chose "${matching[0]!.metadata.name}" arbitrarily.`);
      return matching[0];
    };
    const onPod = (p: KObject) => {
      const b = pdbForPod(p);
      if (b) queue.add(keyOf(b));
    };
    pods.addEventHandler({ onAdd: onPod, onUpdate: (_o, p) => onPod(p), onDelete: onPod });
    // a controller scaling changes the expected count of budgets over its pods
    for (const inf of [rcs, rss, deployments, statefulsets]) {
      inf.addEventHandler({
        onUpdate: (o, n) => {
          if ((o.spec as { replicas?: number })?.replicas === (n.spec as { replicas?: number })?.replicas) return;
          for (const b of pdbs.lister().namespace(n.metadata.namespace!).list()) queue.add(keyOf(b));
        },
      });
    }

    const replicas = (o: KObject) => (o.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    const find: ScaleFinder = async (ref, ns) => {
      const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0]! : '';
      if (group === '' && ref.kind === 'ReplicationController') {
        const rc = rcs.lister().namespace(ns).get(ref.name);
        return rc && rc.metadata.uid === ref.uid ? { uid: rc.metadata.uid!, scale: replicas(rc) } : undefined;
      }
      if (group === 'apps' && ref.kind === 'ReplicaSet') {
        const rs = rss.lister().namespace(ns).get(ref.name);
        if (!rs || rs.metadata.uid !== ref.uid) return undefined;
        // a ReplicaSet run by a Deployment counts with the Deployment's scale
        const owner = controllerRef(rs);
        if (owner && owner.kind === 'Deployment' && owner.apiVersion.startsWith('apps/')) {
          const d = deployments.lister().namespace(ns).get(owner.name);
          if (d && d.metadata.uid === owner.uid) return { uid: d.metadata.uid!, scale: replicas(d) };
          return undefined;
        }
        return { uid: rs.metadata.uid!, scale: replicas(rs) };
      }
      if (group === 'apps' && ref.kind === 'StatefulSet') {
        const s = statefulsets.lister().namespace(ns).get(ref.name);
        return s && s.metadata.uid === ref.uid ? { uid: s.metadata.uid!, scale: replicas(s) } : undefined;
      }
      if (group === 'apps' && ref.kind === 'Deployment') {
        const d = deployments.lister().namespace(ns).get(ref.name);
        return d && d.metadata.uid === ref.uid ? { uid: d.metadata.uid!, scale: replicas(d) } : undefined;
      }
      // anything else with a scale subresource
      try {
        const decl = resourceByKind(group, ref.kind);
        if (!decl?.scale) return undefined;
        const scale = await ctx.client.resource(decl.group, decl.plural).namespace(ns).getScale(ref.name);
        if (scale.metadata.uid && scale.metadata.uid !== ref.uid) return undefined;
        return { uid: ref.uid, scale: scale.spec?.replicas ?? 0 };
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    };

    const client = ctx.client.resource('policy', 'poddisruptionbudgets');
    const writeStatus = async (pdb: KObject, status: PDBStatus) => {
      await client.namespace(pdb.metadata.namespace!).updateStatus({ ...pdb, status } as KObject);
    };

    const trySync = async (pdb: KObject): Promise<void> => {
      const covered = podsForPdb(pdb, pods.lister().namespace(pdb.metadata.namespace!).list());
      if (covered.length === 0) recorder.event(pdb, EVENT_TYPE_NORMAL, 'NoPods', 'No matching pods found');
      let counts;
      try {
        counts = await expectedPodCount(pdb, covered, find);
      } catch (e) {
        recorder.event(pdb, EVENT_TYPE_WARNING, 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${(e as Error).message}`);
        throw e;
      }
      if (counts.unmanaged.length > 0) {
        recorder.event(
          pdb,
          EVENT_TYPE_WARNING,
          'UnmanagedPods',
          `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify((pdb.spec as PDBSpec).selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
        );
      }
      const now = ctx.clock.now();
      const { disrupted, recheckAt, overdue } = disruptedPodMap(covered, pdb, now);
      for (const p of overdue) recorder.event(p, EVENT_TYPE_WARNING, 'NotDeleted', `Pod was expected by PDB ${pdb.metadata.namespace}/${pdb.metadata.name} to be deleted but it wasn't`);
      const currentHealthy = countHealthyPods(covered, disrupted);
      let allowed = currentHealthy - counts.desired;
      if (counts.expected <= 0 || allowed <= 0) allowed = 0;
      const s = (pdb.status ?? {}) as PDBStatus;
      const same =
        s.currentHealthy === currentHealthy &&
        s.desiredHealthy === counts.desired &&
        s.expectedPods === counts.expected &&
        s.disruptionsAllowed === allowed &&
        JSON.stringify(s.disruptedPods ?? {}) === JSON.stringify(disrupted) &&
        s.observedGeneration === pdb.metadata.generation &&
        conditionsUpToDate(pdb);
      if (!same) {
        const status: PDBStatus = {
          observedGeneration: pdb.metadata.generation,
          disruptedPods: Object.keys(disrupted).length ? disrupted : undefined,
          disruptionsAllowed: allowed,
          currentHealthy,
          desiredHealthy: counts.desired,
          expectedPods: counts.expected,
          conditions: setCondition(s.conditions ?? [], allowedCondition(allowed, pdb.metadata.generation), nowRfc3339(ctx.clock)),
        };
        if (!status.disruptedPods) delete status.disruptedPods;
        await writeStatus(pdb, status);
      }
      if (recheckAt !== undefined) queue.addAfter(keyOf(pdb), recheckAt - now);
    };

    const sync = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const pdb = pdbs.lister().namespace(namespace).get(name);
      if (!pdb) return;
      try {
        await trySync(pdb);
      } catch (e) {
        if (isConflict(e) || isNotFound(e)) throw e;
        // fail safe: no disruptions allowed while the status cannot be computed
        const s = (pdb.status ?? {}) as PDBStatus;
        await writeStatus(pdb, {
          ...s,
          disruptionsAllowed: 0,
          conditions: setCondition(s.conditions ?? [], { type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: (e as Error).message, observedGeneration: s.observedGeneration }, nowRfc3339(ctx.clock)),
        });
        throw e;
      }
    };
    return { run: (signal) => runWorkers(queue, WORKERS, sync, signal, ctx.log, 'disruption') };
  },
};

// Evicting a pod, as upstream's EvictionREST (POST pods/NAME/eviction with a policy/v1 or v1beta1
// Eviction): a pod that is terminal, pending or already terminating is deleted at once;
// otherwise the PodDisruptionBudget selecting it must allow a disruption. The budget is checked
// and decremented (status.disruptionsAllowed, status.disruptedPods) under optimistic
// concurrency, then the pod gets the DisruptionTarget condition and is deleted with the
// eviction's DeleteOptions. A budget that allows nothing is a 429 with upstream's message and a
// DisruptionBudget cause; one its controller has not yet processed is a 429 too.
import { StatusError, badRequest, forbidden, timeout } from '../../api/errors.ts';
import { clone, rfc3339, type KObject } from '../../api/meta.ts';
import { labelSelectorAsSelector, matchesLabels } from '../../api/labels.ts';
import type { Ctx } from '../http.ts';
import type { DeleteOptions, Registry, ResourceRegistry } from '../registry.ts';
import { APISERVER_USER, type Json } from '../admission/common.ts';
import { setPodCondition } from './binding.ts';
import { identity, isDryRun, readObject, reply, requireVerb, successStatus } from './io.ts';

const EVICTION = { group: 'policy', versions: ['v1', 'v1beta1'], kind: 'Eviction' };
/** upstream's MaxDisruptedPodSize. */
const MAX_DISRUPTED_POD_SIZE = 2000;
const RETRIES = 20;

export const EVICTION_REFUSED = "Cannot evict pod as it would violate the pod's disruption budget.";

function tooManyRequests(cause: string, retryAfterSeconds: number): StatusError {
  return new StatusError({
    reason: 'TooManyRequests',
    code: 429,
    message: EVICTION_REFUSED,
    details: { ...(retryAfterSeconds ? { retryAfterSeconds } : {}), causes: [{ reason: 'DisruptionBudget', message: cause }] },
  });
}

function stillProcessing(pdbName: string): StatusError {
  return tooManyRequests(`The disruption budget ${pdbName} is still being processed by the server.`, 10);
}

function canIgnorePDB(pod: Json): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
}

function isPodReady(pod: Json): boolean {
  return (pod.status?.conditions ?? []).some((c: Json) => c?.type === 'Ready' && c.status === 'True');
}

/** upstream's getPodDisruptionBudgets: the budgets of the pod's namespace whose selector selects it. */
function budgetsFor(reg: Registry, pod: Json): Json[] {
  const out: Json[] = [];
  for (const e of reg.must('policy', 'poddisruptionbudgets').cache.list(pod.metadata.namespace)) {
    try {
      if (matchesLabels(labelSelectorAsSelector((e.obj as Json).spec?.selector), pod.metadata.labels)) out.push(e.obj);
    } catch {
      /* an invalid selector selects nothing */
    }
  }
  return out;
}

/** upstream's UpdateDisruptionAllowedCondition. */
function setDisruptionAllowedCondition(pdb: Json, now: Date): void {
  const st = pdb.status;
  const want = st.disruptionsAllowed > 0 ? { status: 'True', reason: 'SufficientPods' } : { status: 'False', reason: 'InsufficientPods' };
  const conditions: Json[] = (st.conditions ??= []);
  const i = conditions.findIndex((c) => c?.type === 'DisruptionAllowed');
  const next = { type: 'DisruptionAllowed', status: want.status, observedGeneration: st.observedGeneration, lastTransitionTime: rfc3339(now), reason: want.reason, message: '' };
  if (i < 0) conditions.push(next);
  else {
    if (conditions[i].status === want.status) next.lastTransitionTime = conditions[i].lastTransitionTime;
    next.message = conditions[i].message ?? '';
    conditions[i] = next;
  }
}

/** upstream's checkAndDecrement, applied to a private copy of the budget. */
function checkAndDecrement(pdb: Json, podName: string, now: Date): void {
  const st = (pdb.status ??= {});
  if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) throw stillProcessing(pdb.metadata.name);
  const allowed = st.disruptionsAllowed ?? 0;
  if (allowed < 0) throw forbidden({ group: 'policy', resource: 'poddisruptionbudget' }, pdb.metadata.name, 'pdb disruptions allowed is negative');
  if (Object.keys(st.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE) {
    throw forbidden({ group: 'policy', resource: 'poddisruptionbudget' }, pdb.metadata.name, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  }
  if (allowed === 0) {
    throw tooManyRequests(`The disruption budget ${pdb.metadata.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`, 0);
  }
  st.disruptionsAllowed = allowed - 1;
  if (st.disruptionsAllowed === 0) setDisruptionAllowedCondition(pdb, now);
  st.disruptedPods = { ...(st.disruptedPods ?? {}), [podName]: rfc3339(now) };
}

/** The eviction's DeleteOptions; a dry run asked for in the query or in the body applies (upstream's propagateDryRun). */
function deleteOptionsOf(eviction: Json, dryRun: boolean): DeleteOptions {
  const d = eviction.deleteOptions ?? {};
  const o: DeleteOptions = { dryRun: dryRun || (Array.isArray(d.dryRun) && d.dryRun.length > 0) };
  if (typeof d.gracePeriodSeconds === 'number') o.gracePeriodSeconds = d.gracePeriodSeconds;
  if (d.propagationPolicy) o.propagationPolicy = d.propagationPolicy;
  if (d.preconditions && (d.preconditions.uid || d.preconditions.resourceVersion)) {
    o.preconditions = { ...(d.preconditions.uid ? { uid: d.preconditions.uid } : {}), ...(d.preconditions.resourceVersion ? { resourceVersion: d.preconditions.resourceVersion } : {}) };
  }
  return o;
}

export function podEvictionHandler(reg: Registry): (ctx: Ctx, r: ResourceRegistry) => Promise<void> {
  const pdbs = () => reg.must('policy', 'poddisruptionbudgets');

  /** Adds DisruptionTarget (as upstream's addConditionAndDeletePod) and deletes the pod. */
  const conditionAndDelete = async (pods: ResourceRegistry, ns: string, name: string, opts: DeleteOptions) => {
    if (!opts.dryRun) {
      let updated: KObject | undefined;
      await pods.guaranteedUpdate(
        ns,
        name,
        (pod) => {
          const pre = opts.preconditions;
          if (pre?.uid && pre.uid !== pod.metadata.uid) {
            throw new StatusError({ reason: 'Conflict', code: 409, message: `Operation cannot be fulfilled on Pod "${name}": the UID in the precondition (${pre.uid}) does not match the UID in record (${pod.metadata.uid}). The object might have been deleted and then recreated`, details: { name, kind: 'Pod' } });
          }
          if (pre?.resourceVersion && pre.resourceVersion !== pod.metadata.resourceVersion) {
            throw new StatusError({ reason: 'Conflict', code: 409, message: `Operation cannot be fulfilled on Pod "${name}": the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${pod.metadata.resourceVersion}). The object might have been modified`, details: { name, kind: 'Pod' } });
          }
          setPodCondition(pod, { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' }, reg.now());
          return pod;
        },
        { subresource: 'status', user: opts.user, fieldManager: opts.fieldManager, userAgent: opts.userAgent },
      ).then((o) => (updated = o));
      // The precondition now names the revision this write made.
      if (opts.preconditions?.resourceVersion && updated) opts = { ...opts, preconditions: { ...opts.preconditions, resourceVersion: updated.metadata.resourceVersion } };
    }
    await pods.delete(ns, name, opts);
  };

  return async (ctx, pods) => {
    requireVerb(ctx, pods, 'eviction', 'create');
    const eviction = (await readObject(ctx, EVICTION)) as Json;
    const ns = ctx.info.namespace;
    const name = ctx.info.name;
    if (eviction.metadata.name !== name) throw badRequest('name in URL does not match name in Eviction object');
    const dry = isDryRun(ctx);
    const evDry: string[] = eviction.deleteOptions?.dryRun ?? [];
    if (dry && evDry.length && !(evDry.length === 1 && evDry[0] === 'All')) {
      throw badRequest(`Non-matching dry-run options in request and content: [All] and [${evDry.join(' ')}]`);
    }
    const who = identity(ctx);
    const original: DeleteOptions = { ...deleteOptionsOf(eviction, dry), user: who.user, fieldManager: who.fieldManager, userAgent: who.userAgent };
    const clientRV = !!original.preconditions?.resourceVersion;

    // Pods that need no budget check are deleted directly (retrying conflicts unless the client set a resourceVersion).
    let pod: Json;
    for (let attempt = 0; ; attempt++) {
      pod = (await pods.get(ns, name)).obj;
      if (!canIgnorePDB(pod)) break;
      const opts = { ...original };
      const enforceRV = !(pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || pod.metadata.deletionTimestamp);
      if (enforceRV && !clientRV) opts.preconditions = { ...(opts.preconditions ?? {}), resourceVersion: pod.metadata.resourceVersion };
      try {
        await conditionAndDelete(pods, ns, name, opts);
        return reply(ctx, 201, successStatus(201));
      } catch (e) {
        if (e instanceof StatusError && e.code === 409 && !clientRV && attempt < RETRIES) continue;
        throw e;
      }
    }

    // upstream lists budgets live; a consistent read of the cache is the same.
    await reg.watchCache.sync();
    const budgets = budgetsFor(reg, pod);
    if (budgets.length > 1) {
      return reply(ctx, 500, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.', code: 500 });
    }
    let pinRV = false;
    if (budgets.length === 1) {
      const pdb = budgets[0]!;
      const unhealthyAllowed =
        !isPodReady(pod) &&
        (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' ||
          ((pdb.status?.currentHealthy ?? 0) >= (pdb.status?.desiredHealthy ?? 0) && (pdb.status?.desiredHealthy ?? 0) > 0));
      if (unhealthyAllowed) {
        // An unready pod whose loss does not disrupt the application: no budget is spent, but
        // the delete is pinned to the pod version judged unready.
        pinRV = true;
      } else if (original.dryRun) {
        checkAndDecrement(clone((await pdbs().get(ns, pdb.metadata.name)).obj) as Json, name, reg.now());
      } else {
        try {
          await pdbs().guaranteedUpdate(
            ns,
            pdb.metadata.name,
            (cur) => {
              checkAndDecrement(cur as Json, name, reg.now());
              return cur;
            },
            { subresource: 'status', user: APISERVER_USER },
          );
        } catch (e) {
          if (e instanceof StatusError) throw e;
          throw timeout(`couldn't update PodDisruptionBudget "${pdb.metadata.name}" due to conflicts`, 10);
        }
      }
    }
    const opts = { ...original };
    if (pinRV && !clientRV) opts.preconditions = { ...(opts.preconditions ?? {}), resourceVersion: pod.metadata.resourceVersion };
    try {
      await conditionAndDelete(pods, ns, name, opts);
    } catch (e) {
      if (e instanceof StatusError && e.code === 409 && pinRV && !clientRV) throw stillProcessing(budgets[0]!.metadata.name);
      throw e;
    }
    reply(ctx, 201, successStatus(201));
  };
}

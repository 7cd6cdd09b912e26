// The ResourceQuota admission plugin, as upstream's plugin/pkg/admission/resourcequota: a write
// that would take a namespace's usage past a quota's hard limits is refused with 403 and
// upstream's "exceeded quota" message; an admitted write is charged to every quota that matches
// it by raising the quota's status.used under optimistic concurrency (the registry retries a
// lost race with the fresh quota, so concurrent creates cannot both take the last unit). The
// quota controller later recomputes status.used from what exists.
//
// Where status.used lacks a name (the controller has not run yet), the usage is counted from the
// watch cache instead of refusing with upstream's "status unknown for quota". Limits are read
// from spec.hard (the controller copies them to status.hard; this plugin does too when absent).
import { StatusError } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { AdmissionAttributes, AdmissionPlugin, Registry } from '../registry.ts';
import { APISERVER_USER, NamespacedLister, admissionForbidden, type Json } from './common.ts';
import {
  addLists,
  evaluatorFor,
  exceeding,
  isZeroList,
  listFromJSON,
  listToJSON,
  maskList,
  ownerOfQuotaName,
  podUsage,
  prettyPrint,
  pvcUsage,
  serviceUsage,
  subtractNonNegative,
  type QuotaEvaluator,
  type ResourceList,
} from './quota-usage.ts';

export interface ResourceQuotaOptions {
  now?: () => Date;
}

/**
 * A namespace's usage of one quota resource name, counted from the watch cache: the objects the
 * quota would charge (pods only when its scopes select them).
 */
export function countUsage(reg: Registry, namespace: string, quota: Json, name: string, now: Date): ResourceList {
  const owner = ownerOfQuotaName(name);
  if (!owner) return {};
  let total: ResourceList = {};
  const each = (group: string, plural: string, f: (o: Json) => ResourceList, ev?: QuotaEvaluator) => {
    const r = reg.get(group, plural);
    if (!r) return;
    for (const e of r.cache.list(namespace)) {
      if (ev && !ev.matchesScopes(quota, e.obj)) continue;
      total = addLists(total, maskList(f(e.obj), [name]));
    }
  };
  switch (owner.kind) {
    case 'pods':
      each('', 'pods', (p) => podUsage(p, now), evaluatorFor('', 'pods'));
      break;
    case 'services':
      each('', 'services', serviceUsage);
      break;
    case 'persistentvolumeclaims':
      each('', 'persistentvolumeclaims', pvcUsage);
      break;
    case 'count':
      each(owner.group, owner.plural, () => ({ [name]: { nanos: 1_000_000_000n, format: 'DecimalSI' } }));
      break;
  }
  return { [name]: total[name] ?? { nanos: 0n, format: 'DecimalSI' } };
}

export function resourceQuotaAdmission(opts: ResourceQuotaOptions = {}): AdmissionPlugin {
  const now = opts.now ?? (() => new Date());
  const lister = new NamespacedLister('', 'resourcequotas');

  /** Checks one quota against the request and, unless checkOnly, charges it; throws the 403 on excess. */
  const charge = async (a: AdmissionAttributes, reg: Registry, quotaName: string, delta: ResourceList, checkOnly: boolean) => {
    const rq = reg.must('', 'resourcequotas');
    const evaluate = (cur: Json): Json => {
      const hard = listFromJSON(cur.spec?.hard);
      const requested = maskList(delta, Object.keys(hard));
      const stored = listFromJSON(cur.status?.used);
      const used: ResourceList = {};
      // Every hard name gets a usage, so a quota the controller has not seen yet reads true.
      for (const k of Object.keys(hard)) used[k] = stored[k] ?? countUsage(reg, a.namespace, cur, k, now())[k] ?? { nanos: 0n, format: 'DecimalSI' };
      const newUsage = addLists(used, requested);
      const over = exceeding(maskList(newUsage, Object.keys(requested)), hard);
      if (over.length) {
        throw admissionForbidden(
          a,
          `exceeded quota: ${cur.metadata.name}, requested: ${prettyPrint(maskList(requested, over))}, used: ${prettyPrint(maskList(used, over))}, limited: ${prettyPrint(maskList(hard, over))}`,
        );
      }
      cur.status = { ...(cur.status ?? {}), hard: cur.status?.hard ?? cur.spec?.hard, used: { ...(cur.status?.used ?? {}), ...listToJSON(newUsage) } };
      return cur;
    };
    const cur = rq.cache.get(rq.key(a.namespace, quotaName)) ?? (await rq.current(a.namespace, quotaName));
    if (!cur) return; // a quota deleted meanwhile charges nothing
    if (checkOnly) {
      evaluate(structuredClone(cur.obj));
      return;
    }
    try {
      await rq.guaranteedUpdate(a.namespace, quotaName, (fresh) => evaluate(fresh as Json) as KObject, { subresource: 'status', user: APISERVER_USER, fieldManager: 'kube-apiserver' });
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return;
      throw e;
    }
  };

  return {
    name: 'ResourceQuota',
    async admit(a, reg) {
      if (!a.resource.namespaced || !a.object || a.subresource !== '') return;
      if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
      const ev = evaluatorFor(a.resource.group, a.resource.plural);
      if (a.operation === 'UPDATE' && !ev.handlesUpdate) return;
      const quotas = await lister.list(reg, a.namespace);
      if (quotas.length === 0) return;
      const t = now();
      let delta = ev.usage(a.object, t);
      if (a.operation === 'UPDATE' && a.oldObject) delta = subtractNonNegative(delta, ev.usage(a.oldObject, t));
      if (isZeroList(delta)) return;
      const matching: string[] = [];
      for (const e of quotas) {
        const q = e.obj as Json;
        const restricted = Object.keys(q.spec?.hard ?? {}).filter((n) => ev.matchesName(n));
        if (restricted.length === 0 || !ev.matchesScopes(q, a.object)) continue;
        const why = ev.constraints(restricted, a.object);
        if (why) throw admissionForbidden(a, `failed quota: ${q.metadata.name}: ${why}`);
        matching.push(q.metadata.name);
      }
      // Every quota is checked before any is charged (a refusal by one charges none); the charge
      // itself checks again against the quota it writes, so a race lost meanwhile still refuses.
      for (const name of matching) await charge(a, reg, name, delta, true);
      if (a.dryRun) return;
      for (const name of matching) await charge(a, reg, name, delta, false);
    },
  };
}

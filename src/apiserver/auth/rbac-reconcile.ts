// Reconciles upstream's default RBAC policy at start, with upstream's semantics
// (pkg/registry/rbac/reconciliation, as kube-apiserver's rbac/bootstrap-roles post-start hook
// runs it):
// - missing objects are created;
// - an object annotated rbac.authorization.kubernetes.io/autoupdate=false is left alone;
// - otherwise missing labels and annotations are added (existing values win), missing rules
//   (broken down per group/resource/verb) and missing aggregation selectors are appended, and
//   permissions users added are kept; bindings get missing subjects appended, and a binding whose
//   roleRef differs is deleted and created again (roleRef is immutable).
// Then aggregated ClusterRoles (admin, edit, view) are brought up to date once.
//
// Run after the built-in namespaces exist (bootstrap()), since Roles live in kube-system and
// kube-public.
import { StatusError } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { Registry } from '../registry.ts';
import { syncAggregatedClusterRoles } from './rbac-aggregation.ts';
import {
  AUTOUPDATE_ANNOTATION,
  BOOTSTRAP_LABEL,
  CLUSTER_ROLE_BINDINGS,
  CLUSTER_ROLES,
  CONTROLLER_CLUSTER_ROLE_BINDINGS,
  CONTROLLER_CLUSTER_ROLES,
  NAMESPACE_ROLE_BINDINGS,
  NAMESPACE_ROLES,
  type BindingData,
  type ClusterRoleData,
  type RoleData,
} from './rbac-bootstrap-policy.ts';
import { RBAC_GROUP } from './rbac.ts';
import { covers, type PolicyRule, type Subject } from './rbac-rules.ts';

const SYSTEM = { name: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] };
const API_VERSION = `${RBAC_GROUP}/v1`;

type Json = Record<string, unknown>;
type RoleObject = KObject & { rules?: PolicyRule[]; aggregationRule?: { clusterRoleSelectors?: Json[] } };
type BindingObject = KObject & { roleRef?: { apiGroup?: string; kind?: string; name?: string }; subjects?: Subject[] };

export interface ReconcileReport {
  created: string[];
  updated: string[];
  recreated: string[];
  /** Objects left alone because they carry autoupdate=false. */
  protected: string[];
}

function meta(name: string, namespace?: string, labels: Record<string, string> = {}): KObject['metadata'] {
  const m: KObject['metadata'] = { name, labels: { ...BOOTSTRAP_LABEL, ...labels }, annotations: { [AUTOUPDATE_ANNOTATION]: 'true' } };
  if (namespace) m.namespace = namespace;
  return m;
}

export function clusterRoleObject(d: ClusterRoleData): KObject {
  const o: RoleObject = { apiVersion: API_VERSION, kind: 'ClusterRole', metadata: meta(d.name, undefined, d.labels) };
  if (d.aggregateFrom) o.aggregationRule = { clusterRoleSelectors: d.aggregateFrom.map((matchLabels) => ({ matchLabels })) };
  else o.rules = structuredClone(d.rules ?? []);
  return o;
}

export function roleObject(d: RoleData): KObject {
  return { apiVersion: API_VERSION, kind: 'Role', metadata: meta(d.name, d.namespace), rules: structuredClone(d.rules) } as KObject;
}

export function bindingObject(d: BindingData): KObject {
  return {
    apiVersion: API_VERSION,
    kind: d.namespace ? 'RoleBinding' : 'ClusterRoleBinding',
    metadata: meta(d.name, d.namespace),
    roleRef: { apiGroup: RBAC_GROUP, kind: d.roleKind, name: d.roleName },
    subjects: structuredClone(d.subjects),
  } as KObject;
}

/** The default ClusterRoles, ClusterRoleBindings, Roles and RoleBindings as API objects. */
export function defaultRBACObjects(): { clusterRoles: KObject[]; clusterRoleBindings: KObject[]; roles: KObject[]; roleBindings: KObject[] } {
  return {
    clusterRoles: [...CLUSTER_ROLES, ...CONTROLLER_CLUSTER_ROLES].map(clusterRoleObject),
    clusterRoleBindings: [...CLUSTER_ROLE_BINDINGS, ...CONTROLLER_CLUSTER_ROLE_BINDINGS].map(bindingObject),
    roles: NAMESPACE_ROLES.map(roleObject),
    roleBindings: NAMESPACE_ROLE_BINDINGS.map(bindingObject),
  };
}

/** upstream's merge: `base` entries, overridden by `wins`. Returns undefined when nothing changes. */
function mergeMaps(base: Record<string, string> | undefined, wins: Record<string, string> | undefined): Record<string, string> {
  return { ...(base ?? {}), ...(wins ?? {}) };
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => (a ?? {})[k] === (b ?? {})[k]);
}

function isProtected(o: KObject): boolean {
  return o.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'false';
}

/** upstream's computeReconciledRole in the union case (extra permissions kept). */
export function reconcileRole(existing: KObject, expected: KObject): { changed: boolean; result: KObject } {
  const result = structuredClone(existing) as RoleObject;
  const exp = expected as RoleObject;
  let changed = false;
  result.metadata.annotations = mergeMaps(exp.metadata.annotations, result.metadata.annotations);
  if (!sameMap(result.metadata.annotations, existing.metadata.annotations)) changed = true;
  result.metadata.labels = mergeMaps(exp.metadata.labels, result.metadata.labels);
  if (!sameMap(result.metadata.labels, existing.metadata.labels)) changed = true;
  const missing = covers(result.rules ?? [], exp.rules ?? []).uncovered;
  if (missing.length > 0) {
    result.rules = [...(result.rules ?? []), ...missing];
    changed = true;
  }
  const expSel = exp.aggregationRule?.clusterRoleSelectors;
  if (!exp.aggregationRule && result.aggregationRule) {
    delete result.aggregationRule;
    changed = true;
  } else if (expSel) {
    const have = result.aggregationRule?.clusterRoleSelectors ?? [];
    const haveIds = new Set(have.map((s) => JSON.stringify(s)));
    const add = expSel.filter((s) => !haveIds.has(JSON.stringify(s)));
    if (add.length > 0) {
      result.aggregationRule = { ...(result.aggregationRule ?? {}), clusterRoleSelectors: [...have, ...add] };
      changed = true;
    }
  }
  return { changed, result };
}

function subjectId(s: Subject): string {
  return JSON.stringify([s.kind, s.apiGroup ?? (s.kind === 'ServiceAccount' ? '' : RBAC_GROUP), s.name, s.namespace ?? '']);
}

/** upstream's computeReconciledRoleBinding in the union case (extra subjects kept). */
export function reconcileBinding(existing: KObject, expected: KObject): { changed: boolean; recreate: boolean; result: KObject } {
  const result = structuredClone(existing) as BindingObject;
  const exp = expected as BindingObject;
  let changed = false;
  let recreate = false;
  result.metadata.annotations = mergeMaps(exp.metadata.annotations, result.metadata.annotations);
  if (!sameMap(result.metadata.annotations, existing.metadata.annotations)) changed = true;
  result.metadata.labels = mergeMaps(exp.metadata.labels, result.metadata.labels);
  if (!sameMap(result.metadata.labels, existing.metadata.labels)) changed = true;
  const ref = result.roleRef ?? {};
  const want = exp.roleRef!;
  if (ref.apiGroup !== want.apiGroup || ref.kind !== want.kind || ref.name !== want.name) {
    result.roleRef = { ...want };
    recreate = true;
    changed = true;
  }
  const have = result.subjects ?? [];
  const ids = new Set(have.map(subjectId));
  const missing = (exp.subjects ?? []).filter((s) => !ids.has(subjectId(s)));
  if (missing.length > 0) {
    result.subjects = [...have, ...missing];
    changed = true;
  }
  return { changed, recreate, result };
}

async function reconcileOne(reg: Registry, plural: string, want: KObject, report: ReconcileReport): Promise<void> {
  const r = reg.must(RBAC_GROUP, plural);
  const ns = want.metadata.namespace ?? '';
  const name = want.metadata.name!;
  const label = ns ? `${plural}/${ns}/${name}` : `${plural}/${name}`;
  const binding = plural.endsWith('bindings');
  for (let attempt = 0; ; attempt++) {
    const cur = await r.current(ns, name);
    try {
      if (!cur) {
        await r.create(ns, structuredClone(want), { user: SYSTEM });
        report.created.push(label);
        return;
      }
      if (isProtected(cur.obj)) {
        report.protected.push(label);
        return;
      }
      if (binding) {
        const { changed, recreate, result } = reconcileBinding(cur.obj, want);
        if (!changed) return;
        if (recreate) {
          await r.delete(ns, name, { user: SYSTEM, preconditions: { uid: cur.obj.metadata.uid } });
          const fresh = structuredClone(result);
          for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation'] as const) delete fresh.metadata[k];
          await r.create(ns, fresh, { user: SYSTEM });
          report.recreated.push(label);
          return;
        }
        await r.update(ns, name, result, { user: SYSTEM });
        report.updated.push(label);
        return;
      }
      const { changed, result } = reconcileRole(cur.obj, want);
      if (!changed) return;
      await r.update(ns, name, result, { user: SYSTEM });
      report.updated.push(label);
      return;
    } catch (e) {
      // Another server reconciling at the same time: read again and retry.
      if (e instanceof StatusError && (e.code === 409 || e.code === 404) && attempt < 5) continue;
      throw e;
    }
  }
}

/**
 * Creates or repairs upstream's default RBAC objects, then brings aggregated ClusterRoles up to
 * date. Safe to run on every start and on several servers at once.
 */
export async function reconcileDefaultRBAC(reg: Registry): Promise<ReconcileReport> {
  const report: ReconcileReport = { created: [], updated: [], recreated: [], protected: [] };
  const objs = defaultRBACObjects();
  for (const o of objs.clusterRoles) await reconcileOne(reg, 'clusterroles', o, report);
  for (const o of objs.clusterRoleBindings) await reconcileOne(reg, 'clusterrolebindings', o, report);
  for (const o of objs.roles) await reconcileOne(reg, 'roles', o, report);
  for (const o of objs.roleBindings) await reconcileOne(reg, 'rolebindings', o, report);
  await reg.watchCache.sync();
  await syncAggregatedClusterRoles(reg);
  return report;
}

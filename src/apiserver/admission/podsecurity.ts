// The PodSecurity admission plugin, as upstream's k8s.io/pod-security-admission embedded in
// kube-apiserver: a namespace's labels pod-security.kubernetes.io/enforce|audit|warn (and
// -version) name a level (privileged, baseline, restricted) and a policy version. Pods that
// violate the enforce level are refused; violations of the audit level become an audit
// annotation and violations of the warn level a warning. Workload resources (Deployment,
// ReplicaSet, …) are checked on their pod template for audit and warn only. Invalid labels on a
// namespace are refused; tightening a namespace's enforce level warns about its existing pods.
//
// The decision is a pure function (evaluatePodSecurity); the plugin adapts it to the admission
// chain and hands warnings and audit annotations to the request through the attributes (see
// PodSecurityAttributes).
import { StatusError, field, fieldErrorString, forbidden, invalid, type FieldError } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { AdmissionAttributes, AdmissionPlugin, Registry } from '../registry.ts';
import {
  aggregateCheckResults,
  evaluatePod,
  forbiddenDetail,
  forbiddenReason,
  levelVersionString,
  type Level,
  type LevelVersion,
  type PolicyVersion,
} from './podsecurity-checks.ts';

export const POD_SECURITY = 'PodSecurity';

export const ENFORCE_LEVEL_LABEL = 'pod-security.kubernetes.io/enforce';
export const ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';
export const AUDIT_LEVEL_LABEL = 'pod-security.kubernetes.io/audit';
export const AUDIT_VERSION_LABEL = 'pod-security.kubernetes.io/audit-version';
export const WARN_LEVEL_LABEL = 'pod-security.kubernetes.io/warn';
export const WARN_VERSION_LABEL = 'pod-security.kubernetes.io/warn-version';

/** The prefix of the audit annotations this plugin adds (upstream's plugin name as a domain). */
export const AUDIT_ANNOTATION_PREFIX = 'pod-security.kubernetes.io/';

export interface Policy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

/** upstream's PodSecurityConfiguration (the admission config file's defaults and exemptions). */
export interface PodSecurityConfig {
  defaults: Policy;
  exemptions: { usernames: string[]; namespaces: string[]; runtimeClasses: string[] };
}

const LATEST: PolicyVersion = { latest: true };

/**
 * Upstream's defaults, which k3s keeps unless given an admission config: every level privileged
 * at latest, nothing exempt.
 */
export function defaultPodSecurityConfig(): PodSecurityConfig {
  const p = { level: 'privileged' as Level, version: LATEST };
  return { defaults: { enforce: { ...p }, audit: { ...p }, warn: { ...p } }, exemptions: { usernames: [], namespaces: [], runtimeClasses: [] } };
}

const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];

/** upstream's ParseLevel: an unknown level is restricted, with an error. */
export function parseLevel(s: string): { level: Level; error?: string } {
  if ((LEVELS as string[]).includes(s)) return { level: s as Level };
  return { level: 'restricted', error: `must be one of ${LEVELS.join(', ')}` };
}

/** upstream's ParseVersion: "latest" or "v1.<minor>"; anything else is latest, with an error. */
export function parseVersion(s: string): { version: PolicyVersion; error?: string } {
  if (s === 'latest') return { version: LATEST };
  const m = /^v1\.([0-9]|[1-9][0-9]*)$/.exec(s);
  if (!m) return { version: LATEST, error: 'must be "latest" or "v1.x"' };
  return { version: { latest: false, minor: Number(m[1]) } };
}

/**
 * upstream's PolicyToEvaluate: the namespace's policy from its labels over the defaults, and the
 * label errors. A bad enforce level enforces restricted; a bad audit or warn level fails open.
 */
export function policyToEvaluate(labels: Record<string, string> | undefined, defaults: Policy): { policy: Policy; errors: FieldError[] } {
  const p: Policy = { enforce: { ...defaults.enforce }, audit: { ...defaults.audit }, warn: { ...defaults.warn } };
  const errors: FieldError[] = [];
  if (!labels) return { policy: p, errors };
  const err = (label: string, value: string, msg?: string) => {
    if (msg) errors.push(field.invalid(`metadata.labels[${label}]`, value, msg));
  };
  const level = (label: string, which: keyof Policy, failOpen: boolean) => {
    if (!(label in labels)) return;
    const r = parseLevel(labels[label]!);
    p[which].level = r.error && failOpen ? 'privileged' : r.level;
    err(label, labels[label]!, r.error);
  };
  const version = (label: string, which: keyof Policy) => {
    if (!(label in labels)) return;
    const r = parseVersion(labels[label]!);
    p[which].version = r.version;
    err(label, labels[label]!, r.error);
  };
  level(ENFORCE_LEVEL_LABEL, 'enforce', false);
  version(ENFORCE_VERSION_LABEL, 'enforce');
  level(AUDIT_LEVEL_LABEL, 'audit', true);
  version(AUDIT_VERSION_LABEL, 'audit');
  level(WARN_LEVEL_LABEL, 'warn', true);
  version(WARN_VERSION_LABEL, 'warn');
  return { policy: p, errors };
}

function sameLV(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && a.version.latest === b.version.latest && (a.version.latest || (b.version as { minor: number }).minor === a.version.minor);
}

function compareLevels(a: Level, b: Level): number {
  return Math.sign(LEVELS.indexOf(a) - LEVELS.indexOf(b));
}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The workload kinds whose pod template upstream checks, and where the template is. */
const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  '/pods': [],
  '/replicationcontrollers': ['spec', 'template'],
  '/podtemplates': ['template'],
  'apps/replicasets': ['spec', 'template'],
  'apps/deployments': ['spec', 'template'],
  'apps/statefulsets': ['spec', 'template'],
  'apps/daemonsets': ['spec', 'template'],
  'batch/jobs': ['spec', 'template'],
  'batch/cronjobs': ['spec', 'jobTemplate', 'spec', 'template'],
};

/** Pod subresources that never change what the checks read. */
const IGNORED_POD_SUBRESOURCES = new Set(['exec', 'attach', 'binding', 'eviction', 'log', 'portforward', 'proxy', 'status']);

/** upstream's isSignificantPodUpdate: only images and seccomp annotations change after creation. */
export function isSignificantPodUpdate(pod: Json, old: Json): boolean {
  const ann = pod?.metadata?.annotations ?? {};
  const oldAnn = old?.metadata?.annotations ?? {};
  if (ann['seccomp.security.alpha.kubernetes.io/pod'] !== oldAnn['seccomp.security.alpha.kubernetes.io/pod']) return true;
  const cs = pod?.spec?.containers ?? [];
  const ocs = old?.spec?.containers ?? [];
  const ics = pod?.spec?.initContainers ?? [];
  const oics = old?.spec?.initContainers ?? [];
  if (cs.length !== ocs.length || ics.length !== oics.length) return true;
  const sig = (c: Json, o: Json) => {
    if (c?.image !== o?.image) return true;
    const key = `container.seccomp.security.alpha.kubernetes.io/${c?.name}`;
    return ann[key] !== oldAnn[key];
  };
  for (let i = 0; i < cs.length; i++) if (sig(cs[i], ocs[i])) return true;
  for (let i = 0; i < ics.length; i++) if (sig(ics[i], oics[i])) return true;
  for (const c of pod?.spec?.ephemeralContainers ?? []) {
    const o = (old?.spec?.ephemeralContainers ?? []).find((x: Json) => x?.name === c?.name);
    if (!o || sig(c, o)) return true;
  }
  return false;
}

export interface PodSecurityResult {
  /** Set when the request must be refused. */
  denied?: StatusError;
  /** Warning texts (each becomes a `Warning: 299 - "…"` header). */
  warnings: string[];
  /** Audit annotations, keys prefixed pod-security.kubernetes.io/. */
  auditAnnotations: Record<string, string>;
}

export interface PodSecurityInput {
  attrs: AdmissionAttributes;
  /** The labels of the request's namespace (undefined when it has none or does not exist). */
  namespaceLabels: Record<string, string> | undefined;
  config: PodSecurityConfig;
  /** The namespace's pods, for the warnings of a tightened enforce level. */
  listPods?: (namespace: string) => KObject[];
  /** The most pods checked on an enforce change (upstream: 3000). */
  maxPodsToCheck?: number;
}

const allowed = (auditAnnotations: Record<string, string> = {}): PodSecurityResult => ({ warnings: [], auditAnnotations });

function annotate(out: Record<string, string>, key: string, value: string): void {
  out[AUDIT_ANNOTATION_PREFIX + key] = value;
}

/** The PodSecurity decision for one admission request. */
export function evaluatePodSecurity(input: PodSecurityInput): PodSecurityResult {
  const a = input.attrs;
  if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return allowed();
  const gr = `${a.resource.group}/${a.resource.plural}`;
  if (gr === '/namespaces') return evaluateNamespace(input);
  const templatePath = POD_TEMPLATE_PATHS[gr];
  if (!templatePath) return allowed();
  const isPod = gr === '/pods';
  const cfg = input.config;
  if (isPod ? IGNORED_POD_SUBRESOURCES.has(a.subresource) : a.subresource !== '') return allowed();
  if (a.namespace && cfg.exemptions.namespaces.includes(a.namespace)) return exempt('namespace');
  if (a.user?.name && cfg.exemptions.usernames.includes(a.user.name)) return exempt('user');
  const { policy, errors } = policyToEvaluate(input.namespaceLabels, cfg.defaults);
  if (!errors.length) {
    const quiet = policy.warn.level === 'privileged' && policy.audit.level === 'privileged';
    if (quiet && (!isPod || policy.enforce.level === 'privileged')) return allowed();
  }
  const obj = a.object as Json;
  if (!obj) return allowed();
  if (isPod && a.operation === 'UPDATE' && !isSignificantPodUpdate(obj, a.oldObject)) return allowed();
  let meta: Json = obj.metadata;
  let spec: Json = obj.spec;
  if (!isPod) {
    let t: Json = obj;
    for (const k of templatePath) t = t?.[k];
    if (t == null) return allowed(); // a controller without a pod template has nothing to check
    meta = t.metadata ?? {};
    spec = t.spec ?? {};
  }
  if (spec?.runtimeClassName && cfg.exemptions.runtimeClasses.includes(spec.runtimeClassName)) return exempt('runtimeClass');

  const out: PodSecurityResult = { warnings: [], auditAnnotations: {} };
  if (errors.length) {
    annotate(out.auditAnnotations, 'error', `Failed to parse policy: ${aggregateFieldErrors(errors)}`);
  }
  const cache = new Map<string, ReturnType<typeof aggregateCheckResults>>();
  const evaluate = (lv: LevelVersion) => {
    const key = levelVersionString(lv);
    let r = cache.get(key);
    if (!r) cache.set(key, (r = aggregateCheckResults(evaluatePod(lv, meta, spec))));
    return r;
  };
  if (isPod) {
    annotate(out.auditAnnotations, 'enforce-policy', levelVersionString(policy.enforce));
    const r = evaluate(policy.enforce);
    if (!r.allowed) {
      out.denied = forbidden({ group: '', resource: 'pods' }, a.name, `violates PodSecurity ${JSON.stringify(levelVersionString(policy.enforce))}: ${forbiddenDetail(r)}`);
    }
  }
  const audit = evaluate(policy.audit);
  if (!audit.allowed) {
    annotate(out.auditAnnotations, 'audit-violations', `would violate PodSecurity ${JSON.stringify(levelVersionString(policy.audit))}: ${forbiddenDetail(audit)}`);
  }
  // No warnings on a request refused anyway.
  if (!out.denied) {
    const warn = evaluate(policy.warn);
    if (!warn.allowed) out.warnings.push(`would violate PodSecurity ${JSON.stringify(levelVersionString(policy.warn))}: ${forbiddenDetail(warn)}`);
  }
  return out;
}

function exempt(why: 'namespace' | 'user' | 'runtimeClass'): PodSecurityResult {
  const ann: Record<string, string> = {};
  annotate(ann, 'exempt', why);
  return allowed(ann);
}

function aggregateFieldErrors(errs: FieldError[]): string {
  const msgs = [...new Set(errs.map(fieldErrorString))];
  return msgs.length === 1 ? msgs[0]! : `[${msgs.join(', ')}]`;
}

/** upstream's ValidateNamespace: valid labels, and warnings when enforce tightens. */
function evaluateNamespace(input: PodSecurityInput): PodSecurityResult {
  const a = input.attrs;
  if (a.subresource !== '') return allowed();
  const ns = a.object as Json;
  const name: string = ns?.metadata?.name ?? a.name;
  const { policy, errors } = policyToEvaluate(ns?.metadata?.labels, input.config.defaults);
  if (a.operation === 'CREATE') {
    if (errors.length) return { denied: invalid({ group: '', kind: 'Namespace' }, name, errors), warnings: [], auditAnnotations: {} };
    return allowed();
  }
  const old = policyToEvaluate((a.oldObject as Json)?.metadata?.labels, input.config.defaults);
  if (errors.length) {
    const changed = !old.errors.length || aggregateFieldErrors(errors) !== aggregateFieldErrors(old.errors);
    if (changed) return { denied: invalid({ group: '', kind: 'Namespace' }, name, errors), warnings: [], auditAnnotations: {} };
  }
  const next = policy.enforce;
  const prev = old.policy.enforce;
  if (sameLV(next, prev) || next.level === 'privileged') return allowed();
  const sameVersion = next.version.latest === prev.version.latest && (next.version.latest || (prev.version as { minor: number }).minor === next.version.minor);
  if (sameVersion && compareLevels(next.level, prev.level) < 1) return allowed();
  if (input.config.exemptions.namespaces.includes(name)) return allowed();
  return { warnings: podWarnings(name, next, input), auditAnnotations: {} };
}

/** upstream's EvaluatePodsInNamespace. */
function podWarnings(namespace: string, enforce: LevelVersion, input: PodSecurityInput): string[] {
  const all = input.listPods?.(namespace) ?? [];
  const max = input.maxPodsToCheck ?? 3000;
  const pods = all.slice(0, max);
  const counts = new Map<string, { podName: string; count: number }>();
  const order: string[] = [];
  for (const pod of pods) {
    const spec = (pod as Json).spec ?? {};
    if (spec.runtimeClassName && input.config.exemptions.runtimeClasses.includes(spec.runtimeClassName)) continue;
    const r = aggregateCheckResults(evaluatePod(enforce, pod.metadata, spec));
    if (r.allowed) continue;
    const w = forbiddenReason(r);
    const name = pod.metadata.name!;
    const c = counts.get(w);
    if (!c) {
      counts.set(w, { podName: name, count: 1 });
      order.push(w);
    } else {
      if (name < c.podName) c.podName = name;
      c.count++;
    }
  }
  const warnings: string[] = [];
  if (pods.length < all.length) warnings.push(`new PodSecurity enforce level only checked against the first ${pods.length} of ${all.length} existing pods`);
  if (order.length) warnings.push(`existing pods in namespace ${JSON.stringify(namespace)} violate the new PodSecurity enforce level ${JSON.stringify(levelVersionString(enforce))}`);
  const decorated = order.map((w) => {
    const c = counts.get(w)!;
    if (c.count === 1) return `${c.podName}: ${w}`;
    if (c.count === 2) return `${c.podName} (and 1 other pod): ${w}`;
    return `${c.podName} (and ${c.count - 1} other pods): ${w}`;
  });
  decorated.sort();
  return [...warnings, ...decorated];
}

/**
 * Where the plugin leaves its warnings and audit annotations: the request's admission attributes
 * may carry these (the integrator adds them to AdmissionAttributes and copies them to
 * ctx.warnings and the audit event). Absent, they are dropped.
 */
export interface PodSecurityAttributes extends AdmissionAttributes {
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export function podSecurityAdmission(config: PodSecurityConfig = defaultPodSecurityConfig()): AdmissionPlugin {
  return {
    name: POD_SECURITY,
    admit(a: PodSecurityAttributes, reg: Registry) {
      if (a.operation !== 'CREATE' && a.operation !== 'UPDATE') return;
      const gr = `${a.resource.group}/${a.resource.plural}`;
      if (gr !== '/namespaces' && !(gr in POD_TEMPLATE_PATHS)) return;
      let labels: Record<string, string> | undefined;
      if (gr !== '/namespaces') {
        const nsr = reg.must('', 'namespaces');
        labels = nsr.cache.get(nsr.key('', a.namespace))?.obj.metadata.labels;
      }
      const podsR = reg.must('', 'pods');
      const r = evaluatePodSecurity({
        attrs: a,
        namespaceLabels: labels,
        config,
        listPods: (ns) => podsR.cache.list(ns).map((e) => e.obj),
      });
      if (a.auditAnnotations) Object.assign(a.auditAnnotations, r.auditAnnotations);
      if (r.denied) throw r.denied;
      if (r.warnings.length && a.warnings) a.warnings.push(...r.warnings);
    },
  };
}

// The Pod Security Standards checks, as upstream's k8s.io/pod-security-admission/policy at
// Kubernetes 1.33: each check's id, level, the policy versions its revisions apply from, and its
// forbidden reason and detail in upstream's exact words.
//
// Evaluation order is upstream's: the baseline checks in registration (file-name) order, then
// either the baseline checks that restricted replaces (baseline level) or the restricted checks.
// Pure functions over plain JSON pod metadata and specs.

export type Level = 'privileged' | 'baseline' | 'restricted';

/** A policy version: a minor of v1, or latest. */
export type PolicyVersion = { latest: true } | { latest: false; minor: number };

export interface LevelVersion {
  level: Level;
  version: PolicyVersion;
}

export interface CheckResult {
  allowed: boolean;
  forbiddenReason?: string;
  forbiddenDetail?: string;
}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type CheckFn = (meta: Json, spec: Json, minor: number) => CheckResult;

interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** A baseline check that restricted replaces with a stricter one (upstream's Overlap). */
  overlap?: boolean;
  /** The first policy minor the check applies to. */
  since: number;
  fn: CheckFn;
}

const ALLOWED: CheckResult = { allowed: true };
const deny = (forbiddenReason: string, forbiddenDetail: string): CheckResult => ({ allowed: false, forbiddenReason, forbiddenDetail });

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);

/** upstream's visitContainers: init containers, containers, ephemeral containers. */
function containers(spec: Json): Json[] {
  return [...arr(spec?.initContainers), ...arr(spec?.containers), ...arr(spec?.ephemeralContainers)];
}

function cname(c: Json): string {
  return String(c?.name ?? '');
}

/** Go's strconv.Quote. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** upstream's joinQuote: "a", "b" (without escaping, as upstream). */
export function joinQuote(items: readonly string[]): string {
  if (items.length === 0) return '';
  return `"${items.join('", "')}"`;
}

export function pluralize(singular: string, plural: string, n: number): string {
  return n === 1 ? singular : plural;
}

/** A Go sets.String: unique, listed sorted. */
function sortedSet(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}

function containersPhrase(names: string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}

const isWindows = (spec: Json) => spec?.os?.name === 'windows';

// ------------------------------------------------------------------------------- baseline

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

const appArmorProfile: CheckFn = (meta, spec) => {
  const setters: string[] = [];
  const badTypes = new Set<string>();
  const badType = (p: Json): string | undefined => {
    if (p == null) return undefined;
    const t = String(p.type ?? '');
    return t === 'RuntimeDefault' || t === 'Localhost' ? undefined : t;
  };
  const podType = badType(spec?.securityContext?.appArmorProfile);
  if (podType !== undefined) {
    setters.push('pod');
    badTypes.add(podType);
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const t = badType(c?.securityContext?.appArmorProfile);
    if (t !== undefined) {
      bad.push(cname(c));
      badTypes.add(t);
    }
  }
  if (bad.length) setters.push(containersPhrase(bad));
  const annotations: string[] = [];
  for (const [k, v] of Object.entries((meta?.annotations ?? {}) as Record<string, string>)) {
    if (!k.startsWith(APPARMOR_ANNOTATION_PREFIX)) continue;
    const val = String(v ?? '');
    if (val === '' || val === 'runtime/default' || val.startsWith('localhost/')) continue;
    annotations.push(`${k}=${goQuote(val)}`);
  }
  annotations.sort();
  if (annotations.length) setters.push(pluralize('annotation', 'annotations', annotations.length));
  if (!setters.length) return ALLOWED;
  const values = [...sortedSet(badTypes), ...annotations];
  return deny(
    pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
    `${setters.join(' and ')} must not set AppArmor profile type to ${joinQuote(values)}`,
  );
};

const hostNamespaces: CheckFn = (_meta, spec) => {
  const ns: string[] = [];
  if (spec?.hostNetwork === true) ns.push('hostNetwork=true');
  if (spec?.hostPID === true) ns.push('hostPID=true');
  if (spec?.hostIPC === true) ns.push('hostIPC=true');
  return ns.length ? deny('host namespaces', ns.join(', ')) : ALLOWED;
};

const hostPorts: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const ports = new Set<string>();
  for (const c of containers(spec)) {
    let valid = true;
    for (const p of arr(c?.ports)) {
      if (p?.hostPort && Number(p.hostPort) !== 0) {
        valid = false;
        ports.add(String(p.hostPort));
      }
    }
    if (!valid) bad.push(cname(c));
  }
  if (!bad.length) return ALLOWED;
  const list = sortedSet(ports);
  return deny('hostPort', `${containersPhrase(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`);
};

const privileged: CheckFn = (_meta, spec) => {
  const bad = containers(spec).filter((c) => c?.securityContext?.privileged === true).map(cname);
  return bad.length ? deny('privileged', `${containersPhrase(bad)} must not set securityContext.privileged=true`) : ALLOWED;
};

const procMount: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const types = new Set<string>();
  for (const c of containers(spec)) {
    const pm = c?.securityContext?.procMount;
    if (pm == null || pm === 'Default') continue;
    bad.push(cname(c));
    types.add(String(pm));
  }
  return bad.length ? deny('procMount', `${containersPhrase(bad)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`) : ALLOWED;
};

const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

const seLinuxOptions: CheckFn = (_meta, spec, minor) => {
  const allowed = minor >= 31 ? SELINUX_TYPES_1_31 : SELINUX_TYPES_1_0;
  const setters: string[] = [];
  const badTypes = new Set<string>();
  let setUser = false;
  let setRole = false;
  const valid = (o: Json): boolean => {
    let ok = true;
    const t = String(o?.type ?? '');
    if (!allowed.has(t)) {
      ok = false;
      badTypes.add(t);
    }
    if (o?.user) {
      ok = false;
      setUser = true;
    }
    if (o?.role) {
      ok = false;
      setRole = true;
    }
    return ok;
  };
  const podOpts = spec?.securityContext?.seLinuxOptions;
  if (podOpts != null && !valid(podOpts)) setters.push('pod');
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const o = c?.securityContext?.seLinuxOptions;
    if (o != null && !valid(o)) bad.push(cname(c));
  }
  if (bad.length) setters.push(containersPhrase(bad));
  if (!setters.length) return ALLOWED;
  const data: string[] = [];
  if (badTypes.size) {
    const t = sortedSet(badTypes);
    data.push(`${pluralize('type', 'types', t.length)} ${joinQuote(t)}`);
  }
  if (setUser) data.push('user may not be set');
  if (setRole) data.push('role may not be set');
  return deny('seLinuxOptions', `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`);
};

const SYSCTLS_1_0 = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start'];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports'];
const SYSCTLS_1_29 = [...SYSCTLS_1_27, 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'];

export function allowedSysctls(minor: number): Set<string> {
  return new Set(minor >= 32 ? SYSCTLS_1_32 : minor >= 29 ? SYSCTLS_1_29 : minor >= 27 ? SYSCTLS_1_27 : SYSCTLS_1_0);
}

const sysctls: CheckFn = (_meta, spec, minor) => {
  const allowed = allowedSysctls(minor);
  const bad = arr(spec?.securityContext?.sysctls)
    .map((s) => String(s?.name ?? ''))
    .filter((n) => !allowed.has(n));
  return bad.length ? deny('forbidden sysctls', bad.join(', ')) : ALLOWED;
};

const windowsHostProcess: CheckFn = (_meta, spec) => {
  const bad = containers(spec)
    .filter((c) => c?.securityContext?.windowsOptions?.hostProcess === true)
    .map(cname);
  const setters: string[] = [];
  if (spec?.securityContext?.windowsOptions?.hostProcess === true) setters.push('pod');
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length ? deny('hostProcess', `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`) : ALLOWED;
};

const CAPABILITIES_BASELINE = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

const capabilitiesBaseline: CheckFn = (_meta, spec) => {
  const bad: string[] = [];
  const caps = new Set<string>();
  for (const c of containers(spec)) {
    const capabilities = c?.securityContext?.capabilities;
    if (capabilities == null) continue;
    let valid = true;
    for (const cap of arr(capabilities.add)) {
      if (!CAPABILITIES_BASELINE.has(String(cap))) {
        valid = false;
        caps.add(String(cap));
      }
    }
    if (!valid) bad.push(cname(c));
  }
  return bad.length ? deny('non-default capabilities', `${containersPhrase(bad)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`) : ALLOWED;
};

const hostPathVolumes: CheckFn = (_meta, spec) => {
  const vols = arr(spec?.volumes)
    .filter((v) => v?.hostPath != null)
    .map((v) => String(v?.name ?? ''));
  return vols.length ? deny('hostPath volumes', `${pluralize('volume', 'volumes', vols.length)} ${joinQuote(vols)}`) : ALLOWED;
};

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';
const validSeccomp = (t: unknown) => t === 'Localhost' || t === 'RuntimeDefault';
const validSeccompAnnotation = (v: string) => v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/');

/** Baseline seccomp: the alpha annotations before policy 1.19, the field from 1.19. */
const seccompProfileBaseline: CheckFn = (meta, spec, minor) => {
  if (minor < 19) {
    const ann = (meta?.annotations ?? {}) as Record<string, string>;
    const bad = new Set<string>();
    if (SECCOMP_POD_ANNOTATION in ann && !validSeccompAnnotation(String(ann[SECCOMP_POD_ANNOTATION]))) bad.add(`${SECCOMP_POD_ANNOTATION}=${goQuote(String(ann[SECCOMP_POD_ANNOTATION]))}`);
    for (const c of containers(spec)) {
      const key = SECCOMP_CONTAINER_ANNOTATION_PREFIX + cname(c);
      if (key in ann && !validSeccompAnnotation(String(ann[key]))) bad.add(`${key}=${goQuote(String(ann[key]))}`);
    }
    const list = sortedSet(bad);
    return list.length ? deny('seccompProfile', `forbidden ${pluralize('annotation', 'annotations', list.length)} ${list.join(', ')}`) : ALLOWED;
  }
  const setters: string[] = [];
  const values = new Set<string>();
  const podProfile = spec?.securityContext?.seccompProfile;
  if (podProfile != null && !validSeccomp(podProfile.type)) {
    setters.push('pod');
    values.add(String(podProfile.type ?? ''));
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const p = c?.securityContext?.seccompProfile;
    if (p != null && !validSeccomp(p.type)) {
      bad.push(cname(c));
      values.add(String(p.type ?? ''));
    }
  }
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length ? deny('seccompProfile', `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`) : ALLOWED;
};

// ----------------------------------------------------------------------------- restricted

const allowPrivilegeEscalation: CheckFn = (_meta, spec, minor) => {
  if (minor >= 25 && isWindows(spec)) return ALLOWED;
  const bad = containers(spec)
    .filter((c) => c?.securityContext?.allowPrivilegeEscalation !== false)
    .map(cname);
  return bad.length ? deny('allowPrivilegeEscalation != false', `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`) : ALLOWED;
};

const capabilitiesRestricted: CheckFn = (_meta, spec, minor) => {
  if (minor >= 25 && isWindows(spec)) return ALLOWED;
  const missingDropAll: string[] = [];
  const adding: string[] = [];
  const caps = new Set<string>();
  for (const c of containers(spec)) {
    const capabilities = c?.securityContext?.capabilities;
    if (capabilities == null) {
      missingDropAll.push(cname(c));
      continue;
    }
    if (!arr(capabilities.drop).includes('ALL')) missingDropAll.push(cname(c));
    let addsForbidden = false;
    for (const cap of arr(capabilities.add)) {
      if (cap !== 'NET_BIND_SERVICE') {
        addsForbidden = true;
        caps.add(String(cap));
      }
    }
    if (addsForbidden) adding.push(cname(c));
  }
  const details: string[] = [];
  if (missingDropAll.length) details.push(`${containersPhrase(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  if (adding.length) details.push(`${containersPhrase(adding)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`);
  return details.length ? deny('unrestricted capabilities', details.join('; ')) : ALLOWED;
};

/** Volume sources restricted allows (image volumes since 1.33, patched into every version). */
const RESTRICTED_ALLOWED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret']);
/** upstream's switch order and names for the types it reports. */
const RESTRICTED_KNOWN_VOLUMES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
];

const restrictedVolumes: CheckFn = (_meta, spec) => {
  const badVolumes: string[] = [];
  const badTypes = new Set<string>();
  for (const v of arr(spec?.volumes)) {
    const sources = Object.keys(v ?? {}).filter((k) => k !== 'name' && v[k] != null);
    if (sources.some((s) => RESTRICTED_ALLOWED_VOLUMES.has(s))) continue;
    badVolumes.push(String(v?.name ?? ''));
    badTypes.add(RESTRICTED_KNOWN_VOLUMES.find((t) => sources.includes(t)) ?? 'unknown');
  }
  if (!badVolumes.length) return ALLOWED;
  const types = sortedSet(badTypes);
  return deny(
    'restricted volume types',
    `${pluralize('volume', 'volumes', badVolumes.length)} ${joinQuote(badVolumes)} ${pluralize('uses', 'use', badVolumes.length)} ${pluralize('restricted volume type', 'restricted volume types', types.length)} ${joinQuote(types)}`,
  );
};

const runAsNonRoot: CheckFn = (_meta, spec) => {
  const setters: string[] = [];
  let podRunAsNonRoot = false;
  const podValue = spec?.securityContext?.runAsNonRoot;
  if (podValue != null) {
    if (podValue !== true) setters.push('pod');
    else podRunAsNonRoot = true;
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const v = c?.securityContext?.runAsNonRoot;
    if (v != null) {
      if (v !== true) explicit.push(cname(c));
    } else if (!podRunAsNonRoot) {
      implicit.push(cname(c));
    }
  }
  if (explicit.length) setters.push(containersPhrase(explicit));
  if (setters.length) return deny('runAsNonRoot != true', `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`);
  if (implicit.length) return deny('runAsNonRoot != true', `pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`);
  return ALLOWED;
};

const runAsUser: CheckFn = (_meta, spec) => {
  const setters: string[] = [];
  if (spec?.securityContext?.runAsUser === 0) setters.push('pod');
  const bad = containers(spec)
    .filter((c) => c?.securityContext?.runAsUser === 0)
    .map(cname);
  if (bad.length) setters.push(containersPhrase(bad));
  return setters.length ? deny('runAsUser=0', `${setters.join(' and ')} must not set runAsUser=0`) : ALLOWED;
};

const seccompProfileRestricted: CheckFn = (_meta, spec, minor) => {
  if (minor >= 25 && isWindows(spec)) return ALLOWED;
  const setters: string[] = [];
  const values = new Set<string>();
  let podSet = false;
  const podProfile = spec?.securityContext?.seccompProfile;
  if (podProfile != null) {
    if (!validSeccomp(podProfile.type)) {
      setters.push('pod');
      values.add(String(podProfile.type ?? ''));
    } else {
      podSet = true;
    }
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const p = c?.securityContext?.seccompProfile;
    if (p != null) {
      if (!validSeccomp(p.type)) {
        explicit.push(cname(c));
        values.add(String(p.type ?? ''));
      }
    } else if (!podSet) {
      implicit.push(cname(c));
    }
  }
  if (explicit.length) setters.push(containersPhrase(explicit));
  if (setters.length) return deny('seccompProfile', `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`);
  if (implicit.length) return deny('seccompProfile', `pod or ${containersPhrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  return ALLOWED;
};

/** Upstream's registration order (the check files' names in Go's sort order). */
const CHECKS: Check[] = [
  { id: 'allowPrivilegeEscalation', level: 'restricted', since: 8, fn: allowPrivilegeEscalation },
  { id: 'appArmorProfile', level: 'baseline', since: 0, fn: appArmorProfile },
  { id: 'capabilities_baseline', level: 'baseline', overlap: true, since: 0, fn: capabilitiesBaseline },
  { id: 'capabilities_restricted', level: 'restricted', since: 22, fn: capabilitiesRestricted },
  { id: 'hostNamespaces', level: 'baseline', since: 0, fn: hostNamespaces },
  { id: 'hostPathVolumes', level: 'baseline', overlap: true, since: 0, fn: hostPathVolumes },
  { id: 'hostPorts', level: 'baseline', since: 0, fn: hostPorts },
  { id: 'privileged', level: 'baseline', since: 0, fn: privileged },
  { id: 'procMount', level: 'baseline', since: 0, fn: procMount },
  { id: 'restrictedVolumes', level: 'restricted', since: 0, fn: restrictedVolumes },
  { id: 'runAsNonRoot', level: 'restricted', since: 0, fn: runAsNonRoot },
  { id: 'runAsUser', level: 'restricted', since: 23, fn: runAsUser },
  { id: 'seLinuxOptions', level: 'baseline', since: 0, fn: seLinuxOptions },
  { id: 'seccompProfile_baseline', level: 'baseline', overlap: true, since: 0, fn: seccompProfileBaseline },
  { id: 'seccompProfile_restricted', level: 'restricted', since: 19, fn: seccompProfileRestricted },
  { id: 'sysctls', level: 'baseline', since: 0, fn: sysctls },
  { id: 'windowsHostProcess', level: 'baseline', since: 0, fn: windowsHostProcess },
];

export const CHECK_IDS = CHECKS.map((c) => c.id);

/** The highest policy minor any check revision starts at: what `latest` resolves to at 1.33. */
export const MAX_POLICY_MINOR = 32;

function minorOf(v: PolicyVersion): number {
  return v.latest ? MAX_POLICY_MINOR : Math.min(v.minor, MAX_POLICY_MINOR);
}

/** upstream's Evaluator.EvaluatePod: one result per applicable check, in upstream's order. */
export function evaluatePod(lv: LevelVersion, meta: Json, spec: Json): (CheckResult & { id: string })[] {
  if (lv.level === 'privileged') return [];
  const minor = minorOf(lv.version);
  const run = (c: Check) => ({ id: c.id, ...c.fn(meta ?? {}, spec ?? {}, minor) });
  const applies = (c: Check) => minor >= c.since;
  const out = CHECKS.filter((c) => c.level === 'baseline' && !c.overlap && applies(c)).map(run);
  if (lv.level === 'baseline') return [...out, ...CHECKS.filter((c) => c.level === 'baseline' && c.overlap && applies(c)).map(run)];
  return [...out, ...CHECKS.filter((c) => c.level === 'restricted' && applies(c)).map(run)];
}

export interface AggregateCheckResult {
  allowed: boolean;
  forbiddenReasons: string[];
  forbiddenDetails: string[];
}

export function aggregateCheckResults(results: readonly CheckResult[]): AggregateCheckResult {
  const reasons: string[] = [];
  const details: string[] = [];
  for (const r of results) {
    if (r.allowed) continue;
    reasons.push(r.forbiddenReason || 'unknown forbidden reason');
    details.push(r.forbiddenDetail ?? '');
  }
  return { allowed: reasons.length === 0, forbiddenReasons: reasons, forbiddenDetails: details };
}

/** upstream's AggregateCheckResult.ForbiddenReason: "host ports, privileged". */
export function forbiddenReason(a: AggregateCheckResult): string {
  return a.forbiddenReasons.join(', ');
}

/** upstream's AggregateCheckResult.ForbiddenDetail: "hostPort (…), privileged (…)". */
export function forbiddenDetail(a: AggregateCheckResult): string {
  return a.forbiddenReasons.map((r, i) => (a.forbiddenDetails[i] ? `${r} (${a.forbiddenDetails[i]})` : r)).join(', ');
}

export function levelVersionString(lv: LevelVersion): string {
  return `${lv.level}:${lv.version.latest ? 'latest' : `v1.${lv.version.minor}`}`;
}

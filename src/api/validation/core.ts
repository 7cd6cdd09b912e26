// Validation of the core/v1 kinds (pkg/apis/core/validation), registered with their defaulting
// from src/api/defaults/core.ts. Field paths and messages are upstream's.

import { field, goQuote, goStringMap, goSyntax, type FieldError } from '../errors.ts';
import { quantityString, type Quantity } from '../quantity.ts';
import * as defaults from '../defaults/core.ts';
import { register } from './registry.ts';
import {
  entries, jsonEqual, validateImmutableField, validateLabels, validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate,
  validateFinalizerName, validateKubeFinalizerName, type Json,
} from './meta.ts';
import {
  byteLength, ipv4Octets, isConfigMapKey, isDNS1123Subdomain, isIP, isIPv6, isValidLabelValue, isValidPortNum, isQualifiedName, nameIsDNS1035Label,
  nameIsDNSLabel, nameIsDNSSubdomain, validateCIDR, validateDNS1123Label, validateDNS1123Subdomain, validateIP, validateNamespaceName,
  validateNonnegativeField, validateQualifiedName, validatePathSegmentName, inclusiveRangeError, isValidPortName, validateServiceAccountName,
} from './names.ts';
import {
  SUPPORTED_ACCESS_MODES, SUPPORTED_PORT_PROTOCOLS, SUPPORTED_VOLUME_MODES, validateCSIDriverName, validateContainerOnlyForPod,
  validateNodeSelector, validatePersistentVolumeClaimSpec, validatePodSpec, validatePodSpecificAnnotations, validatePodTemplateSpec,
  validateTaintEffect, validateTolerations, templateLabelsMismatch,
} from './podspec.ts';
import {
  isHugePageResourceName, isOvercommitAllowed, quantityAt, validateBasicResource, validateContainerResourceName, validateResourceName,
  validateResourceQuantityValue, validateResourceQuotaResourceName,
} from './resources.ts';

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
const MAX_INT32 = 2147483647;
export const MAX_SECRET_SIZE = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Pod

export function validatePodCreate(pod: Json): FieldError[] {
  const errs = validatePodMetadataAndSpec(pod);
  const spec = pod.spec ?? {};
  if (arr(spec.ephemeralContainers).length > 0) errs.push(field.forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  if (spec.nodeName && arr(spec.schedulingGates).length !== 0) {
    errs.push(field.forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  }
  return errs;
}

function validatePodMetadataAndSpec(pod: Json): FieldError[] {
  const meta = pod.metadata ?? {};
  const spec = pod.spec ?? {};
  const errs = validateObjectMeta(meta, true, nameIsDNSSubdomain);
  errs.push(...validatePodSpecificAnnotations(meta.annotations, spec, 'metadata.annotations'));
  errs.push(...validatePodSpec(spec, meta, 'spec', { resourceIsPod: true }));
  if (!spec.serviceAccountName) {
    arr(spec.volumes).forEach((v, vi) => {
      arr(v?.projected?.sources).forEach((s, si) => {
        if (s?.serviceAccountToken) {
          errs.push(field.forbidden(`spec.volumes[${vi}].projected.sources[${si}].serviceAccountToken`, 'must not be specified when serviceAccountName is not set'));
        }
      });
    });
  }
  arr(spec.containers).forEach((c, i) => errs.push(...validateContainerOnlyForPod(c ?? {}, `spec.containers[${i}]`)));
  arr(spec.initContainers).forEach((c, i) => errs.push(...validateContainerOnlyForPod(c ?? {}, `spec.initContainers[${i}]`)));
  return errs;
}

export const UPDATABLE_POD_SPEC_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function goFieldName(k: string): string {
  return k.charAt(0).toUpperCase() + k.slice(1);
}

/** A short rendering of what changed, in the shape of upstream's cmp.Diff of core.PodSpec. */
function specDiff(oldSpec: Json, newSpec: Json, typeName: string): string {
  const keys = [...new Set([...Object.keys(oldSpec ?? {}), ...Object.keys(newSpec ?? {})])];
  const lines = [`  ${typeName}{`];
  let same = 0;
  for (const k of keys) {
    const a = oldSpec?.[k];
    const b = newSpec?.[k];
    if (jsonEqual(a, b)) {
      same++;
      continue;
    }
    if (same) lines.push(`  \t... // ${same} identical fields`);
    same = 0;
    if (a !== undefined) lines.push(`- \t${goFieldName(k)}: ${JSON.stringify(a)},`);
    if (b !== undefined) lines.push(`+ \t${goFieldName(k)}: ${JSON.stringify(b)},`);
  }
  if (same) lines.push(`  \t... // ${same} identical fields`);
  lines.push('  }');
  return lines.join('\n') + '\n';
}

function validateContainerUpdates(newC: Json[], oldC: Json[], fld: string): { errs: FieldError[]; stop: boolean } {
  if (newC.length !== oldC.length) return { errs: [field.forbidden(fld, 'pod updates may not add or remove containers')], stop: true };
  const errs: FieldError[] = [];
  newC.forEach((c, i) => {
    const image = str(c?.image);
    if (!image) errs.push(field.required(`${fld}[${i}].image`));
    if (image.trim().length !== image.length) errs.push(field.invalid(`${fld}[${i}].image`, image, 'must not have leading or trailing whitespace'));
  });
  return { errs, stop: false };
}

function validatePodSpecificAnnotationUpdates(newPod: Json, oldPod: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const na = newPod.metadata?.annotations ?? {};
  const oa = oldPod.metadata?.annotations ?? {};
  const appArmor = 'container.apparmor.security.beta.kubernetes.io/';
  for (const [k, ov] of entries(oa)) {
    if (Object.hasOwn(na, k) && na[k] === ov) continue;
    if (k.startsWith(appArmor)) errs.push(field.forbidden(`${fld}[${k}]`, 'may not remove or update AppArmor annotations'));
    if (k === 'kubernetes.io/config.mirror') errs.push(field.forbidden(`${fld}[${k}]`, 'may not remove or update mirror pod annotation'));
  }
  for (const [k] of entries(na)) {
    if (Object.hasOwn(oa, k)) continue;
    if (k.startsWith(appArmor)) errs.push(field.forbidden(`${fld}[${k}]`, 'may not add AppArmor annotations'));
    if (k === 'kubernetes.io/config.mirror') errs.push(field.forbidden(`${fld}[${k}]`, 'may not add mirror pod annotation'));
  }
  errs.push(...validatePodSpecificAnnotations(na, newPod.spec, fld));
  return errs;
}

function tolerationEqualIgnoringSeconds(a: Json, b: Json): boolean {
  return jsonEqual({ ...a, tolerationSeconds: undefined }, { ...b, tolerationSeconds: undefined });
}

export function validatePodUpdate(pod: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  errs.push(...validatePodMetadataAndSpec(pod));
  errs.push(...validatePodSpecificAnnotationUpdates(pod, old, 'metadata.annotations'));
  const spec = pod.spec ?? {};
  const oldSpec = old.spec ?? {};
  let r = validateContainerUpdates(arr(spec.containers), arr(oldSpec.containers), 'spec.containers');
  errs.push(...r.errs);
  if (r.stop) return errs;
  r = validateContainerUpdates(arr(spec.initContainers), arr(oldSpec.initContainers), 'spec.initContainers');
  errs.push(...r.errs);
  if (r.stop) return errs;
  if (spec.activeDeadlineSeconds != null) {
    const v = spec.activeDeadlineSeconds;
    if (v < 0 || v > MAX_INT32) {
      errs.push(field.invalid('spec.activeDeadlineSeconds', v, inclusiveRangeError(0, MAX_INT32)));
      return errs;
    }
    if (oldSpec.activeDeadlineSeconds != null && oldSpec.activeDeadlineSeconds < v) {
      errs.push(field.invalid('spec.activeDeadlineSeconds', v, 'must be less than or equal to previous value'));
      return errs;
    }
  } else if (oldSpec.activeDeadlineSeconds != null) {
    errs.push(field.invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  // only additions to tolerations
  for (const ot of arr(oldSpec.tolerations)) {
    if (!arr(spec.tolerations).some((nt) => tolerationEqualIgnoringSeconds(ot, nt))) {
      errs.push(field.forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  if (!errs.some((e) => e.field === 'spec.tolerations')) errs.push(...validateTolerations(spec.tolerations, 'spec.tolerations'));
  // only deletions of scheduling gates
  const oldGates = new Set(arr(oldSpec.schedulingGates).map((g) => g?.name));
  arr(spec.schedulingGates).forEach((g, i) => {
    if (!oldGates.has(g?.name)) errs.push(field.forbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${str(g?.name)}'`));
  });
  if (jsonEqual(spec, oldSpec)) return errs;
  const munged = structuredClone(spec);
  arr(munged.containers).forEach((c, i) => (c.image = oldSpec.containers[i]?.image));
  arr(munged.initContainers).forEach((c, i) => (c.image = oldSpec.initContainers[i]?.image));
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.schedulingGates = oldSpec.schedulingGates;
  munged.tolerations = oldSpec.tolerations;
  if (oldSpec.terminationGracePeriodSeconds != null && oldSpec.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (arr(oldSpec.schedulingGates).length > 0) {
    // gated pods may gain nodeSelector entries and node affinity terms
    const oldSel = oldSpec.nodeSelector ?? {};
    if (!jsonEqual(munged.nodeSelector, oldSpec.nodeSelector)) {
      for (const [k, v] of entries(oldSel)) {
        if (munged.nodeSelector?.[k] !== v) {
          errs.push(field.invalid('spec.nodeSelector', goStringMap(munged.nodeSelector ?? null), 'only additions to spec.nodeSelector are allowed (no mutations or deletions)'));
          break;
        }
      }
      munged.nodeSelector = oldSpec.nodeSelector;
    }
    if (!jsonEqual(munged.affinity?.nodeAffinity, oldSpec.affinity?.nodeAffinity)) {
      if (munged.affinity) munged.affinity = { ...munged.affinity, nodeAffinity: oldSpec.affinity?.nodeAffinity };
      if (munged.affinity && Object.values(munged.affinity).every((v) => v == null) && oldSpec.affinity == null) munged.affinity = undefined;
    }
  }
  if (!jsonEqual(munged, oldSpec)) {
    errs.push(
      field.forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}\n${specDiff(oldSpec, munged, 'core.PodSpec')}`),
    );
  }
  return errs;
}

function isTerminated(s: Json): boolean {
  return s?.state?.terminated != null;
}

export function validatePodStatusUpdate(pod: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  errs.push(...validatePodSpecificAnnotationUpdates(pod, old, 'metadata.annotations'));
  const status = pod.status ?? {};
  const oldStatus = old.status ?? {};
  const system = new Set(['PodScheduled', 'Ready', 'Initialized']);
  arr(status.conditions).forEach((c, i) => {
    if (!system.has(c?.type)) errs.push(...validateQualifiedName(str(c?.type), `metadata.conditions[${i}].Type`));
  });
  if (str(pod.spec?.nodeName) !== str(old.spec?.nodeName)) errs.push(field.forbidden('status.nodeName', 'may not be changed directly'));
  if (status.nominatedNodeName && status.nominatedNodeName !== oldStatus.nominatedNodeName) {
    for (const m of nameIsDNSSubdomain(status.nominatedNodeName, false)) errs.push(field.invalid('status.nominatedNodeName', status.nominatedNodeName, m));
  }
  errs.push(...validateImmutableField(str(status.qosClass), str(oldStatus.qosClass), 'status.qosClass'));
  const transition = (n: Json[], o: Json[], fld: string, policy: string, isRestartable: (name: string) => boolean) => {
    if (policy === 'Always') return;
    o.forEach((os, i) => {
      if (!isTerminated(os)) return;
      if ((os.state.terminated.exitCode ?? 0) !== 0 && policy === 'OnFailure') return;
      if (isRestartable(os.name)) return;
      for (const ns of n) if (ns?.name === os.name && !isTerminated(ns)) errs.push(field.forbidden(`${fld}[${i}].state`, 'may not be transitioned to non-terminated state'));
    });
  };
  const oldPolicy = str(old.spec?.restartPolicy);
  transition(arr(status.containerStatuses), arr(oldStatus.containerStatuses), 'status.containerStatuses', oldPolicy, () => false);
  const restartableInit = new Set(arr(old.spec?.initContainers).filter((c) => c?.restartPolicy === 'Always').map((c) => c.name));
  transition(arr(status.initContainerStatuses), arr(oldStatus.initContainerStatuses), 'status.initContainerStatuses', oldPolicy, (n) => restartableInit.has(n));
  transition(arr(status.ephemeralContainerStatuses), arr(oldStatus.ephemeralContainerStatuses), 'status.ephemeralContainerStatuses', 'Never', () => false);
  errs.push(...validateIPList(arr(status.podIPs), 'status.podIPs'));
  if (arr(status.hostIPs).length) {
    if (str(status.hostIP) !== str(status.hostIPs[0]?.ip)) errs.push(field.invalid('status.hostIPs[0].ip', str(status.hostIPs[0]?.ip), 'must be equal to `hostIP`'));
    errs.push(...validateIPList(arr(status.hostIPs), 'status.hostIPs'));
  }
  return errs;
}

function validateIPList(list: Json[], fld: string): FieldError[] {
  const errs: FieldError[] = [];
  list.forEach((p, i) => errs.push(...validateIP(str(p?.ip), `${fld}[${i}]`)));
  if (list.length > 1) {
    const ips = list.map((p) => str(p?.ip));
    const v6 = ips.filter(isIPv6).length;
    if (ips.length > 2 || v6 !== 1) errs.push(field.invalid(fld, goSyntax(`[]core.PodIP{${ips.map((ip) => `core.PodIP{IP:${goQuote(ip)}}`).join(', ')}}`), 'may specify no more than one IP for each IP family'));
    const seen = new Set<string>();
    ips.forEach((ip, i) => {
      if (seen.has(ip)) errs.push(field.duplicate(`${fld}[${i}]`, goSyntax(`core.PodIP{IP:${goQuote(ip)}}`)));
      seen.add(ip);
    });
  }
  return errs;
}

/** The pods/ephemeralcontainers subresource: only ephemeral containers may change, and only by addition. */
export function validatePodEphemeralContainersUpdate(pod: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  errs.push(...validatePodMetadataAndSpec(pod));
  errs.push(...validatePodSpecificAnnotationUpdates(pod, old, 'metadata.annotations'));
  if (Object.hasOwn(old.metadata?.annotations ?? {}, 'kubernetes.io/config.mirror')) {
    return [field.forbidden('', 'static pods do not support ephemeral containers')];
  }
  const byName = new Map(arr(pod.spec?.ephemeralContainers).map((c) => [c?.name, c]));
  for (const oc of arr(old.spec?.ephemeralContainers)) {
    const nc = byName.get(oc?.name);
    if (!nc) errs.push(field.forbidden('spec.ephemeralContainers', `existing ephemeral containers "${str(oc?.name)}" may not be removed\n`));
    else if (!jsonEqual(oc, nc)) errs.push(field.forbidden('spec.ephemeralContainers', `existing ephemeral containers "${str(oc?.name)}" may not be changed\n`));
  }
  return errs;
}

export function validateBinding(b: Json): FieldError[] {
  const errs: FieldError[] = [];
  const t = b.target ?? {};
  if (t.kind && t.kind !== 'Node') errs.push(field.notSupported('target.kind', t.kind, ['Node', '<empty>']));
  if (!t.name) errs.push(field.required('target.name'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// PodTemplate, ReplicationController

function validatePodTemplate(pt: Json): FieldError[] {
  const errs = validateObjectMeta(pt.metadata, true, nameIsDNSSubdomain);
  errs.push(...validatePodTemplateSpec(pt.template, 'template'));
  return errs;
}

function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if ((labels ?? {})[k] !== v) return false;
  return true;
}

function validateReplicationControllerSpec(spec: Json, fld: string): FieldError[] {
  const errs = validateNonnegativeField(spec.minReadySeconds ?? 0, `${fld}.minReadySeconds`);
  const selector = (spec.selector ?? {}) as Record<string, string>;
  if (Object.keys(selector).length === 0) errs.push(field.required(`${fld}.selector`));
  errs.push(...validateNonnegativeField(spec.replicas ?? 0, `${fld}.replicas`));
  const tpl = spec.template;
  const tp = `${fld}.template`;
  if (tpl == null) errs.push(field.required(tp));
  else {
    if (Object.keys(selector).length && !selectorMatches(selector, tpl.metadata?.labels)) {
      errs.push(templateLabelsMismatch(`${tp}.metadata.labels`, tpl.metadata?.labels));
    }
    errs.push(...validatePodTemplateSpec(tpl, tp));
    if (tpl.spec?.restartPolicy !== 'Always') errs.push(field.notSupported(`${tp}.spec.restartPolicy`, str(tpl.spec?.restartPolicy), ['Always']));
    if (tpl.spec?.activeDeadlineSeconds != null) errs.push(field.forbidden(`${tp}.spec.activeDeadlineSeconds`, 'activeDeadlineSeconds in ReplicationController is not Supported'));
  }
  return errs;
}

function validateReplicasStatus(status: Json, fld: string, extra: string[], readyMsg = 'cannot be greater than readyReplicas'): FieldError[] {
  const s = status ?? {};
  const errs: FieldError[] = [];
  for (const k of ['replicas', ...extra, 'observedGeneration']) errs.push(...validateNonnegativeField(s[k] ?? 0, `${fld}.${k}`));
  const msg = 'cannot be greater than status.replicas';
  const replicas = s.replicas ?? 0;
  for (const k of extra) if ((s[k] ?? 0) > replicas) errs.push(field.invalid(`${fld}.${k}`, s[k], msg));
  if (extra.includes('availableReplicas') && (s.availableReplicas ?? 0) > (s.readyReplicas ?? 0)) {
    errs.push(field.invalid(`${fld}.availableReplicas`, s.availableReplicas, readyMsg));
  }
  return errs;
}

export function validateRCStatus(status: Json, fld: string): FieldError[] {
  return validateReplicasStatus(status, fld, ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas']);
}

// ---------------------------------------------------------------------------------------------
// Service

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

function isHeadless(svc: Json): boolean {
  const ips = arr(svc.spec?.clusterIPs);
  return ips.length === 1 && ips[0] === 'None';
}

function externallyAccessible(spec: Json): boolean {
  return spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && arr(spec.externalIPs).length > 0);
}

/** What validateNonSpecialIP refuses of an IPv4 address: unspecified, loopback, link-local, link-local multicast. */
function specialIPv4(o: number[]): boolean {
  return (o[0] === 0 && o[1] === 0 && o[2] === 0 && o[3] === 0) || o[0] === 127 || (o[0] === 169 && o[1] === 254) || (o[0] === 224 && o[1] === 0 && o[2] === 0);
}

function validateNonSpecialIP(ip: string, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const v4 = ip.split('.').map(Number);
  const isV4 = !ip.includes(':');
  const low = ip.toLowerCase();
  const unspecified = isV4 ? v4.every((n) => n === 0) : /^(0*:)*:?0*$/.test(low) || low === '::';
  const loopback = isV4 ? v4[0] === 127 : low === '::1' || /^(0+:){7}0*1$/.test(low);
  const linkLocal = isV4 ? v4[0] === 169 && v4[1] === 254 : /^fe[89ab]/.test(low);
  const llMulticast = isV4 ? v4[0] === 224 && v4[1] === 0 && v4[2] === 0 : /^ff02:/.test(low);
  if (unspecified) errs.push(field.invalid(fld, ip, `may not be unspecified (${ip})`));
  if (loopback) errs.push(field.invalid(fld, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  if (linkLocal) errs.push(field.invalid(fld, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  if (llMulticast) errs.push(field.invalid(fld, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  return errs;
}

function goServicePort(protocol: string, port: number): string {
  return `core.ServicePort{Name:"", Protocol:${goQuote(protocol)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;
}

function validateServiceClusterIPsRelatedFields(svc: Json): FieldError[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const errs: FieldError[] = [];
  const ips = arr(spec.clusterIPs).map(str);
  const ipsGo = goSyntax(`[]string{${ips.map(goQuote).join(', ')}}`);
  if (spec.clusterIP) {
    if (ips.length === 0) errs.push(field.required('spec.clusterIPs'));
    else if (ips[0] !== spec.clusterIP) errs.push(field.invalid('spec.clusterIPs', ipsGo, 'first value must match `clusterIP`'));
  } else if (ips.length) errs.push(field.invalid('spec.clusterIPs', ipsGo, 'must be empty when `clusterIP` is not specified'));
  const seen = new Set<string>();
  arr(spec.ipFamilies).forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(field.notSupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']));
    if (seen.has(f)) errs.push(field.duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  if (spec.ipFamilyPolicy != null && !['PreferDualStack', 'RequireDualStack', 'SingleStack'].includes(spec.ipFamilyPolicy)) {
    errs.push(field.notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, ['PreferDualStack', 'RequireDualStack', 'SingleStack']));
  }
  let bad = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        bad = true;
        errs.push(field.invalid('spec.clusterIPs', ipsGo, "'None' must be the first and only value"));
      }
      return;
    }
    const e = validateIP(ip, `spec.clusterIPs[${i}]`);
    if (e.length) bad = true;
    errs.push(...e);
  });
  if (ips.length > 2) errs.push(field.invalid('spec.clusterIPs', ipsGo, 'may only hold up to 2 values'));
  if (bad) return errs;
  if (ips.length > 1 && ips.filter(isIPv6).length !== 1) errs.push(field.invalid('spec.clusterIPs', ipsGo, 'may specify no more than one IP for each IP family'));
  if (!isHeadless(svc) && ips.length && arr(spec.ipFamilies).length) {
    ips.forEach((ip, i) => {
      const fam = spec.ipFamilies[i];
      if (fam === undefined) return;
      if (fam === 'IPv4' && isIPv6(ip)) errs.push(field.invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (fam === 'IPv6' && !isIPv6(ip)) errs.push(field.invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
  return errs;
}

export function validateService(svc: Json): FieldError[] {
  const meta = svc.metadata ?? {};
  const spec = svc.spec ?? {};
  const errs = validateObjectMeta(meta, true, nameIsDNS1035Label);
  const ann = meta.annotations ?? {};
  const hints = 'service.kubernetes.io/topology-aware-hints';
  const mode = 'service.kubernetes.io/topology-mode';
  if (Object.hasOwn(ann, hints) && Object.hasOwn(ann, mode) && ann[hints] !== ann[mode]) {
    errs.push(field.invalid(`metadata.annotations[${mode}]`, ann[mode], `must match annotations[${hints}] when both are specified`));
  }
  const ports = arr(spec.ports);
  const headless = isHeadless(svc);
  if (ports.length === 0 && !headless && spec.type !== 'ExternalName') errs.push(field.required('spec.ports'));
  switch (spec.type) {
    case 'LoadBalancer':
      if (headless) errs.push(field.invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for LoadBalancer services"));
      break;
    case 'NodePort':
      if (headless) errs.push(field.invalid('spec.clusterIPs[0]', 'None', "may not be set to 'None' for NodePort services"));
      break;
    case 'ExternalName': {
      if (arr(spec.clusterIPs).length > 0) errs.push(field.forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
      if (arr(spec.ipFamilies).length > 0) errs.push(field.forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
      if (spec.ipFamilyPolicy != null) errs.push(field.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
      const cname = str(spec.externalName).replace(/\.$/, '');
      if (cname) errs.push(...validateDNS1123Subdomain(cname, 'spec.externalName'));
      else errs.push(field.required('spec.externalName'));
      break;
    }
  }
  const names = new Set<string>();
  ports.forEach((p0, i) => {
    const p = p0 ?? {};
    const pp = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(field.required(`${pp}.name`));
    else if (p.name) {
      errs.push(...validateDNS1123Label(p.name, `${pp}.name`));
      if (names.has(p.name)) errs.push(field.duplicate(`${pp}.name`, p.name));
      else names.add(p.name);
    }
    for (const m of isValidPortNum(p.port ?? 0)) errs.push(field.invalid(`${pp}.port`, p.port ?? 0, m));
    if (!p.protocol) errs.push(field.required(`${pp}.protocol`));
    else if (!SUPPORTED_PORT_PROTOCOLS.includes(p.protocol)) errs.push(field.notSupported(`${pp}.protocol`, p.protocol, SUPPORTED_PORT_PROTOCOLS));
    const tp = p.targetPort ?? 0;
    if (typeof tp === 'number') for (const m of isValidPortNum(tp)) errs.push(field.invalid(`${pp}.targetPort`, tp, m));
    else for (const m of isValidPortName(str(tp))) errs.push(field.invalid(`${pp}.targetPort`, tp, m));
    if (p.appProtocol != null) errs.push(...validateQualifiedName(str(p.appProtocol), `${pp}.appProtocol`));
  });
  if (spec.selector != null) errs.push(...validateLabels(spec.selector, 'spec.selector'));
  if (!spec.sessionAffinity) errs.push(field.required('spec.sessionAffinity'));
  else if (spec.sessionAffinity !== 'ClientIP' && spec.sessionAffinity !== 'None') errs.push(field.notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
  if (spec.sessionAffinity === 'ClientIP') {
    const c = spec.sessionAffinityConfig;
    const fp = 'spec.sessionAffinityConfig';
    if (c == null) errs.push(field.required(fp, 'when session affinity type is ClientIP'));
    else if (c.clientIP == null) errs.push(field.required(`${fp}.clientIP`, 'when session affinity type is ClientIP'));
    else if (c.clientIP.timeoutSeconds == null) errs.push(field.required(`${fp}.clientIP.timeoutSeconds`, 'when session affinity type is ClientIP'));
    else if (c.clientIP.timeoutSeconds <= 0 || c.clientIP.timeoutSeconds > 86400) {
      errs.push(field.invalid(`${fp}.clientIP.timeoutSeconds`, c.clientIP.timeoutSeconds, 'must be greater than 0 and less than 86400'));
    }
  } else if (spec.sessionAffinity === 'None' && spec.sessionAffinityConfig != null) {
    errs.push(field.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }
  errs.push(...validateServiceClusterIPsRelatedFields(svc));
  arr(spec.externalIPs).forEach((ip, i) => {
    const p = `spec.externalIPs[${i}]`;
    const e = validateIP(str(ip), p);
    errs.push(...(e.length ? e : validateNonSpecialIP(str(ip), p)));
  });
  if (!spec.type) errs.push(field.required('spec.type'));
  else if (!SERVICE_TYPES.includes(spec.type)) errs.push(field.notSupported('spec.type', spec.type, SERVICE_TYPES));
  if (spec.type === 'ClusterIP') {
    ports.forEach((p, i) => {
      if (p?.nodePort) errs.push(field.forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (!p?.nodePort) return;
    const key = `${p.protocol}/${p.nodePort}`;
    if (nodePorts.has(key)) errs.push(field.duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
    nodePorts.add(key);
  });
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const key = `${str(p?.protocol)}/${p?.port ?? 0}`;
    if (portKeys.has(key)) errs.push(field.duplicate(`spec.ports[${i}]`, goSyntax(goServicePort(str(p?.protocol), p?.port ?? 0))));
    portKeys.add(key);
  });
  const lbsr = arr(spec.loadBalancerSourceRanges);
  if (lbsr.length) {
    if (spec.type !== 'LoadBalancer') errs.push(field.forbidden('spec.LoadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
    lbsr.forEach((v, i) => errs.push(...validateCIDR(str(v).trim(), `spec.LoadBalancerSourceRanges[${i}]`)));
  } else if (Object.hasOwn(ann, 'service.beta.kubernetes.io/load-balancer-source-ranges')) {
    const fp = 'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]';
    if (spec.type !== 'LoadBalancer') errs.push(field.forbidden(fp, "may only be used when `type` is 'LoadBalancer'"));
    const val = str(ann['service.beta.kubernetes.io/load-balancer-source-ranges']).trim();
    if (val) for (const c of val.split(',')) errs.push(...validateCIDR(c.trim(), fp));
  }
  if (spec.allocateLoadBalancerNodePorts != null && spec.type !== 'LoadBalancer') {
    errs.push(field.forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts == null) errs.push(field.required('allocateLoadBalancerNodePorts'));
  if (spec.type === 'LoadBalancer') {
    if (spec.loadBalancerClass != null) errs.push(...validateQualifiedName(str(spec.loadBalancerClass), 'spec.loadBalancerClass'));
  } else if (spec.loadBalancerClass != null) {
    errs.push(field.forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (!externallyAccessible(spec)) {
    if (spec.externalTrafficPolicy) errs.push(field.invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set for externally-accessible services'));
  } else if (!spec.externalTrafficPolicy) errs.push(field.required('spec.externalTrafficPolicy'));
  else if (spec.externalTrafficPolicy !== 'Cluster' && spec.externalTrafficPolicy !== 'Local') {
    errs.push(field.notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, ['Cluster', 'Local']));
  }
  const needsHealthCheck = spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
  if (!needsHealthCheck) {
    if (spec.healthCheckNodePort) {
      errs.push(field.invalid('spec.healthCheckNodePort', spec.healthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    }
  }
  // (a missing healthCheckNodePort on a Local LoadBalancer is allocated by the server before validation)
  if (spec.internalTrafficPolicy == null) {
    if (['NodePort', 'LoadBalancer', 'ClusterIP'].includes(spec.type)) errs.push(field.required('spec.internalTrafficPolicy'));
  } else if (spec.internalTrafficPolicy !== 'Cluster' && spec.internalTrafficPolicy !== 'Local') {
    errs.push(field.notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local']));
  }
  if (spec.trafficDistribution != null && spec.trafficDistribution !== 'PreferClose') {
    errs.push(field.notSupported('spec.trafficDistribution', spec.trafficDistribution, ['PreferClose']));
  }
  return errs;
}

export function validateServiceUpdate(svc: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  const spec = svc.spec ?? {};
  const oldSpec = old.spec ?? {};
  const newIPs = arr(spec.clusterIPs).map(str);
  const oldIPs = arr(oldSpec.clusterIPs).map(str);
  const ipsGo = goSyntax(`[]string{${newIPs.map(goQuote).join(', ')}}`);
  if (spec.type !== 'ExternalName' && oldSpec.type !== 'ExternalName' && !(isHeadless(svc) && isHeadless(old))) {
    if (oldIPs.length === newIPs.length) {
      oldIPs.forEach((ip, i) => {
        if (ip !== newIPs[i]) errs.push(field.invalid(`spec.clusterIPs[${i}]`, ipsGo, 'may not change once set'));
      });
    } else if (oldIPs.length > newIPs.length) {
      if (newIPs.length === 0) errs.push(field.invalid('spec.clusterIPs[0]', ipsGo, 'primary clusterIP can not be unset'));
      if (oldIPs.length && newIPs.length && newIPs[0] !== oldIPs[0]) errs.push(field.invalid('spec.clusterIPs[0]', ipsGo, 'may not change once set'));
      if (newIPs.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
        errs.push(field.invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
      }
    } else if (oldIPs.length && newIPs[0] !== oldIPs[0]) {
      errs.push(field.invalid('spec.clusterIPs[0]', ipsGo, 'may not change once set'));
    }
  }
  if (spec.type !== 'ExternalName' && oldSpec.type !== 'ExternalName' && isHeadless(svc) === isHeadless(old) && !isHeadless(svc)) {
    const nf = arr(spec.ipFamilies).map(str);
    const of = arr(oldSpec.ipFamilies).map(str);
    const famGo = goSyntax(`[]core.IPFamily{${nf.map(goQuote).join(', ')}}`);
    if (nf.length === of.length) {
      of.forEach((f, i) => {
        if (f !== nf[i]) errs.push(field.invalid('spec.ipFamilies[0]', famGo, 'may not change once set'));
      });
    } else if (of.length > nf.length) {
      if (newIPs.length === 0) errs.push(field.invalid('spec.ipFamilies[0]', famGo, 'primary ipFamily can not be unset'));
      if (nf.length && nf[0] !== of[0]) errs.push(field.invalid('spec.ipFamilies[0]', ipsGo, 'may not change once set'));
      if (nf.length === 1 && spec.ipFamilyPolicy !== 'SingleStack') {
        errs.push(field.invalid('spec.ipFamilyPolicy', spec.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
      }
    } else if (of.length && nf.length && nf[0] !== of[0]) errs.push(field.invalid('spec.ipFamilies[0]', ipsGo, 'may not change once set'));
  }
  if (spec.type === 'LoadBalancer' && oldSpec.type === 'LoadBalancer' && (spec.loadBalancerClass ?? null) !== (oldSpec.loadBalancerClass ?? null)) {
    errs.push(field.invalid('spec.loadBalancerClass', spec.loadBalancerClass ?? null, 'may not change once set'));
  }
  const hc = (s: Json) => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
  if (hc(spec) && hc(oldSpec) && spec.healthCheckNodePort !== oldSpec.healthCheckNodePort) {
    errs.push(field.forbidden('spec.healthCheckNodePort', 'field is immutable'));
  }
  errs.push(...validateService(svc));
  return errs;
}

function validateServiceStatusUpdate(svc: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(svc.metadata, old.metadata);
  const ingress = arr(svc.status?.loadBalancer?.ingress);
  if (svc.spec?.type !== 'LoadBalancer' && ingress.length) {
    errs.push(field.forbidden('status.loadBalancer.ingress', "may only be used when `spec.type` is 'LoadBalancer'"));
    return errs;
  }
  ingress.forEach((ing, i) => {
    const p = `status.loadBalancer.ingress[${i}]`;
    if (ing?.ip) errs.push(...validateIP(ing.ip, `${p}.ip`));
    if (ing?.ip && ing.ipMode == null) errs.push(field.required(`${p}.ipMode`, 'must be specified when `ip` is set'));
    else if (ing?.ipMode != null && !ing.ip) errs.push(field.forbidden(`${p}.ipMode`, 'may not be specified when `ip` is not set'));
    else if (ing?.ipMode != null && ing.ipMode !== 'VIP' && ing.ipMode !== 'Proxy') errs.push(field.notSupported(`${p}.ipMode`, ing.ipMode, ['Proxy', 'VIP']));
    if (ing?.hostname) {
      for (const m of isDNS1123Subdomain(ing.hostname)) errs.push(field.invalid(`${p}.hostname`, ing.hostname, m));
      if (isIP(ing.hostname)) errs.push(field.invalid(`${p}.hostname`, ing.hostname, 'must be a DNS name, not an IP address'));
    }
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Endpoints

function validateEndpoints(ep: Json): FieldError[] {
  const errs = validateObjectMeta(ep.metadata, true, nameIsDNSSubdomain);
  arr(ep.subsets).forEach((ss0, i) => {
    const ss = ss0 ?? {};
    const p = `subsets[${i}]`;
    if (arr(ss.addresses).length === 0 && arr(ss.notReadyAddresses).length === 0) {
      errs.push(field.required(p, 'must specify `addresses` or `notReadyAddresses`'));
    }
    for (const k of ['addresses', 'notReadyAddresses']) {
      // An Endpoints may list thousands of addresses: the common one (a plain IPv4 address, a valid
      // node name) costs one parse, and field paths are built only for an error.
      let lastNode: unknown;
      arr(ss[k]).forEach((a0, j) => {
        const a = a0 ?? {};
        const ap = () => `${p}.${k}[${j}]`;
        const ip = str(a.ip);
        const o = ipv4Octets(ip);
        if (o === undefined) errs.push(...validateIP(ip, `${ap()}.ip`));
        if (a.hostname) errs.push(...validateDNS1123Label(a.hostname, `${ap()}.hostname`));
        if (a.nodeName != null && a.nodeName !== lastNode) {
          const bad = nameIsDNSSubdomain(str(a.nodeName), false);
          for (const m of bad) errs.push(field.invalid(`${ap()}.nodeName`, a.nodeName, m));
          if (bad.length === 0) lastNode = a.nodeName;
        }
        if (o !== undefined) {
          if (specialIPv4(o)) errs.push(...validateNonSpecialIP(ip, `${ap()}.ip`));
        } else if (isIP(ip)) errs.push(...validateNonSpecialIP(ip, `${ap()}.ip`));
        else errs.push(field.invalid(`${ap()}.ip`, ip, 'must be a valid IP address'));
      });
    }
    const ports = arr(ss.ports);
    ports.forEach((pt0, j) => {
      const pt = pt0 ?? {};
      const pp = `${p}.ports[${j}]`;
      if (ports.length > 1 && !pt.name) errs.push(field.required(`${pp}.name`));
      else if (pt.name) errs.push(...validateDNS1123Label(pt.name, `${pp}.name`));
      for (const m of isValidPortNum(pt.port ?? 0)) errs.push(field.invalid(`${pp}.port`, pt.port ?? 0, m));
      if (!pt.protocol) errs.push(field.required(`${pp}.protocol`));
      else if (!SUPPORTED_PORT_PROTOCOLS.includes(pt.protocol)) errs.push(field.notSupported(`${pp}.protocol`, pt.protocol, SUPPORTED_PORT_PROTOCOLS));
      if (pt.appProtocol != null) errs.push(...validateQualifiedName(str(pt.appProtocol), `${pp}.appProtocol`));
    });
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Node

function validateNodeTaints(taints: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Map<string, Set<string>>();
  arr(taints).forEach((t0, i) => {
    const t = t0 ?? {};
    const p = `${fld}[${i}]`;
    errs.push(...validateLabelSelectorKey(str(t.key), `${p}.key`));
    const vm = isValidLabelValue(str(t.value));
    if (vm.length) errs.push(field.invalid(`${p}.value`, str(t.value), vm.join(';')));
    errs.push(...validateTaintEffect(t.effect, false, `${p}.effect`));
    const keys = seen.get(t.effect) ?? new Set<string>();
    if (keys.has(t.key)) {
      const e = field.duplicate(p, goSyntax(`core.Taint{Key:${goQuote(str(t.key))}, Value:${goQuote(str(t.value))}, Effect:${goQuote(str(t.effect))}, TimeAdded:<nil>}`));
      e.detail = 'taints must be unique by key and effect pair';
      errs.push(e);
      return;
    }
    keys.add(t.key);
    seen.set(t.effect, keys);
  });
  return errs;
}

function validateLabelSelectorKey(key: string, fld: string): FieldError[] {
  return isQualifiedName(key).map((m) => field.invalid(fld, key, m));
}

function validateNodeResources(node: Json): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of ['capacity', 'allocatable']) {
    for (const [name, v] of entries(node.status?.[k])) {
      const p = `status.${k}.${name}`;
      const q = quantityAt(v, p, errs);
      if (q) errs.push(...validateResourceQuantityValue(name, q, p));
    }
  }
  return errs;
}

function validateNode(node: Json): FieldError[] {
  const errs = validateObjectMeta(node.metadata, false, nameIsDNSSubdomain);
  const taints = arr(node.spec?.taints);
  if (taints.length) errs.push(...validateNodeTaints(taints, 'metadata.taints'));
  errs.push(...validateNodeResources(node));
  const cidrs = arr(node.spec?.podCIDRs).map(str);
  cidrs.forEach((c, i) => errs.push(...validateCIDR(c, `spec.podCIDRs[${i}]`)));
  if (cidrs.length > 1) {
    if (cidrs.length > 2 || cidrs.filter((c) => c.includes(':')).length !== 1) {
      errs.push(field.invalid('spec.podCIDRs', goSyntax(`[]string{${cidrs.map(goQuote).join(', ')}}`), 'may specify no more than one CIDR for each IP family'));
    }
    const seen = new Set<string>();
    cidrs.forEach((c, i) => {
      if (seen.has(c)) errs.push(field.duplicate(`spec.podCIDRs[${i}]`, c));
      seen.add(c);
    });
  }
  return errs;
}

function validateNodeUpdate(node: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(node.metadata, old.metadata);
  errs.push(...validateNodeResources(node));
  const seen = new Set<string>();
  arr(node.status?.addresses).forEach((a, i) => {
    const key = `${str(a?.type)}/${str(a?.address)}`;
    if (seen.has(key)) errs.push(field.duplicate(`status.addresses[${i}]`, goSyntax(`core.NodeAddress{Type:${goQuote(str(a?.type))}, Address:${goQuote(str(a?.address))}}`)));
    seen.add(key);
  });
  const oldCIDRs = arr(old.spec?.podCIDRs).map(str);
  const newCIDRs = arr(node.spec?.podCIDRs).map(str);
  if (oldCIDRs.length) {
    if (oldCIDRs.length !== newCIDRs.length) errs.push(field.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
    else oldCIDRs.forEach((c, i) => {
      if (c !== newCIDRs[i]) errs.push(field.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
    });
  }
  if (old.spec?.providerID && old.spec.providerID !== node.spec?.providerID) {
    errs.push(field.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  const taints = arr(node.spec?.taints);
  if (taints.length) errs.push(...validateNodeTaints(taints, 'metadata.taints'));
  if (str(node.spec?.externalID) !== str(old.spec?.externalID)) errs.push(field.forbidden('spec.externalID', 'may not be updated'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// ConfigMap, Secret

function base64Length(v: unknown): number {
  const s = str(v);
  return Buffer.from(s, 'base64').length;
}

export function validateConfigMap(cm: Json): FieldError[] {
  const errs = validateObjectMeta(cm.metadata, true, nameIsDNSSubdomain);
  let total = 0;
  const binary = cm.binaryData ?? {};
  for (const [k, v] of entries(cm.data)) {
    for (const m of isConfigMapKey(k)) errs.push(field.invalid(`data[${k}]`, k, m));
    if (Object.hasOwn(binary, k)) errs.push(field.invalid(`data[${k}]`, k, 'duplicate of key present in binaryData'));
    total += byteLength(str(v));
  }
  for (const [k, v] of entries(binary)) {
    for (const m of isConfigMapKey(k)) errs.push(field.invalid(`binaryData[${k}]`, k, m));
    total += base64Length(v);
  }
  if (total > MAX_SECRET_SIZE) errs.push(field.tooLong('', '', MAX_SECRET_SIZE));
  return errs;
}

function validateImmutableData(obj: Json, old: Json, keys: string[]): FieldError[] {
  const errs: FieldError[] = [];
  if (old.immutable === true) {
    if (obj.immutable !== true) errs.push(field.forbidden('immutable', 'field is immutable when `immutable` is set'));
    for (const k of keys) {
      if (!jsonEqual(obj[k] ?? null, old[k] ?? null)) errs.push(field.forbidden(k, 'field is immutable when `immutable` is set'));
    }
  }
  return errs;
}

export function validateSecret(secret: Json): FieldError[] {
  const errs = validateObjectMeta(secret.metadata, true, nameIsDNSSubdomain);
  const data = secret.data ?? {};
  let total = 0;
  for (const [k, v] of entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(field.invalid(`data[${k}]`, k, m));
    total += base64Length(v);
  }
  if (total > MAX_SECRET_SIZE) errs.push(field.tooLong('data', '', MAX_SECRET_SIZE));
  const has = (k: string) => Object.hasOwn(data, k);
  const jsonKey = (k: string) => {
    if (!has(k)) {
      errs.push(field.required(`data[${k}]`));
      return;
    }
    try {
      const parsed = JSON.parse(Buffer.from(str(data[k]), 'base64').toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SyntaxError('json: cannot unmarshal into Go value of type map[string]interface {}');
    } catch (e) {
      errs.push(field.invalid(`data[${k}]`, '<secret contents redacted>', e instanceof Error ? e.message : String(e)));
    }
  };
  switch (secret.type ?? '') {
    case 'kubernetes.io/service-account-token':
      if (!secret.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(field.required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'Opaque':
    case '':
      break;
    case 'kubernetes.io/dockercfg':
      jsonKey('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      jsonKey('.dockerconfigjson');
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) {
        errs.push(field.required('data[username]'));
        errs.push(field.required('data[password]'));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (base64Length(data['ssh-privatekey']) === 0) errs.push(field.required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errs.push(field.required('data[tls.crt]'));
      if (!has('tls.key')) errs.push(field.required('data[tls.key]'));
      break;
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Namespace

function validateNamespaceFinalizer(name: string, fld: string): FieldError[] {
  return [...validateFinalizerName(name, fld), ...validateKubeFinalizerName(name, fld)];
}

function validateNamespace(ns: Json): FieldError[] {
  const errs = validateObjectMeta(ns.metadata, false, nameIsDNSLabel);
  for (const f of arr(ns.spec?.finalizers)) errs.push(...validateNamespaceFinalizer(str(f), 'spec.finalizers'));
  return errs;
}

function validateNamespaceStatusUpdate(ns: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(ns.metadata, old.metadata);
  const phase = str(ns.status?.phase);
  if (!ns.metadata?.deletionTimestamp) {
    if (phase !== 'Active') errs.push(field.invalid('status.Phase', phase, "may only be 'Active' if `deletionTimestamp` is empty"));
  } else if (phase !== 'Terminating') {
    errs.push(field.invalid('status.Phase', phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
  }
  return errs;
}

/** The namespaces/finalize subresource. */
export function validateNamespaceFinalizeUpdate(ns: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(ns.metadata, old.metadata);
  arr(ns.spec?.finalizers).forEach((f, i) => errs.push(...validateNamespaceFinalizer(str(f), `spec.finalizers[${i}]`)));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Event (core/v1: the legacy rules only, as upstream for this API version)

function validateEventLegacy(ev: Json): FieldError[] {
  const errs: FieldError[] = [];
  const ns = str(ev.metadata?.namespace);
  const ion = str(ev.involvedObject?.namespace);
  if (!ev.eventTime) {
    if (!ion) {
      if (ns !== '' && ns !== 'default') errs.push(field.invalid('involvedObject.namespace', ion, 'does not match event.namespace'));
    } else if (ns !== ion) errs.push(field.invalid('involvedObject.namespace', ion, 'does not match event.namespace'));
  } else {
    if (!ion && ns !== 'default' && ns !== 'kube-system') errs.push(field.invalid('involvedObject.namespace', ion, 'does not match event.namespace'));
    if (!ev.reportingComponent) errs.push(field.required('reportingController'));
    for (const m of isQualifiedName(str(ev.reportingComponent))) errs.push(field.invalid('reportingController', str(ev.reportingComponent), m));
    if (!ev.reportingInstance) errs.push(field.required('reportingInstance'));
    if (str(ev.reportingInstance).length > 128) errs.push(field.invalid('reportingInstance', '', 'can have at most 128 characters'));
    if (!ev.action) errs.push(field.required('action'));
    if (str(ev.action).length > 128) errs.push(field.invalid('action', '', 'can have at most 128 characters'));
    if (!ev.reason) errs.push(field.required('reason'));
    if (str(ev.reason).length > 128) errs.push(field.invalid('reason', '', 'can have at most 128 characters'));
    if (str(ev.message).length > 1024) errs.push(field.invalid('message', '', 'can have at most 1024 characters'));
  }
  for (const m of isDNS1123Subdomain(ns)) errs.push(field.invalid('namespace', ns, m));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// PersistentVolume, PersistentVolumeClaim

const PV_SOURCES = [
  'hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'glusterfs', 'flocker', 'nfs', 'rbd', 'quobyte', 'cephfs', 'iscsi',
  'cinder', 'fc', 'flexVolume', 'azureFile', 'vsphereVolume', 'photonPersistentDisk', 'portworxVolume', 'azureDisk', 'scaleIO',
  'local', 'storageos', 'csi',
];
const RECLAIM_POLICIES = ['Delete', 'Recycle', 'Retain'];

function validatePVSource(kind: string, s: Json, fld: string, pvName: string, nodeAffinitySpecified: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const req = (k: string) => {
    if (!s[k]) errs.push(field.required(`${fld}.${k}`));
  };
  switch (kind) {
    case 'hostPath':
    case 'local':
      if (!s.path) errs.push(field.required(`${fld}.path`));
      else if (s.path.split('/').includes('..')) errs.push(field.invalid(`${fld}.path`, s.path, "must not contain '..'"));
      if (kind === 'local' && !nodeAffinitySpecified) errs.push(field.required(fld.replace(/\.local$/, '.nodeAffinity'), 'Local volume requires node affinity'));
      break;
    case 'nfs':
      req('server');
      req('path');
      if (!str(s.path).startsWith('/')) errs.push(field.invalid(`${fld}.path`, str(s.path), 'must be an absolute path'));
      break;
    case 'csi':
      errs.push(...validateCSIDriverName(str(s.driver), `${fld}.driver`));
      req('volumeHandle');
      for (const k of ['controllerPublishSecretRef', 'controllerExpandSecretRef', 'nodePublishSecretRef', 'nodeExpandSecretRef']) {
        const r = s[k];
        if (!r) continue;
        if (!r.name) errs.push(field.required(`${fld}.${k}.name`));
        else errs.push(...validateDNS1123Subdomain(r.name, `${fld}.${k}.name`));
        if (!r.namespace) errs.push(field.required(`${fld}.${k}.namespace`));
        else errs.push(...validateDNS1123Label(r.namespace, `${fld}.${k}.namespace`));
      }
      break;
    case 'iscsi':
      req('targetPortal');
      req('iqn');
      if (s.initiatorName != null && `${pvName}:${str(s.targetPortal)}`.length > 64) {
        errs.push(field.invalid(`${fld}.targetportal`, str(s.targetPortal), 'Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified.'));
      }
      break;
    case 'glusterfs':
      req('endpoints');
      req('path');
      break;
    case 'rbd':
    case 'cephfs':
      if (arr(s.monitors).length === 0) errs.push(field.required(`${fld}.monitors`));
      if (kind === 'rbd') req('image');
      break;
    case 'gcePersistentDisk':
      req('pdName');
      break;
    case 'awsElasticBlockStore':
    case 'cinder':
    case 'portworxVolume':
      req('volumeID');
      break;
    case 'flexVolume':
      req('driver');
      break;
    case 'azureFile':
      req('secretName');
      req('shareName');
      break;
    case 'vsphereVolume':
      req('volumePath');
      break;
    case 'photonPersistentDisk':
      req('pdID');
      break;
    case 'azureDisk':
      req('diskName');
      req('diskURI');
      break;
    case 'scaleIO':
      req('gateway');
      req('system');
      req('volumeName');
      break;
    case 'storageos':
      if (!s.volumeName) errs.push(field.required(`${fld}.volumeName`));
      break;
  }
  return errs;
}

function validatePersistentVolume(pv: Json): FieldError[] {
  const meta = pv.metadata ?? {};
  const spec = pv.spec ?? {};
  const errs = validateObjectMeta(meta, false, nameIsDNSSubdomain);
  const modes = arr(spec.accessModes);
  if (modes.length === 0) errs.push(field.required('spec.accessModes'));
  let rwop = false;
  let other = false;
  for (const m of modes) {
    if (!SUPPORTED_ACCESS_MODES.includes(m)) errs.push(field.notSupported('spec.accessModes', m, SUPPORTED_ACCESS_MODES));
    if (m === 'ReadWriteOncePod') rwop = true;
    else if (SUPPORTED_ACCESS_MODES.includes(m)) other = true;
  }
  if (rwop && other) errs.push(field.forbidden('spec.accessModes', 'may not use ReadWriteOncePod with other access modes'));
  const cap = spec.capacity ?? {};
  if (Object.keys(cap).length === 0) errs.push(field.required('spec.capacity'));
  if (!Object.hasOwn(cap, 'storage') || Object.keys(cap).length > 1) {
    errs.push(field.notSupported('spec.capacity', goSyntax(`core.ResourceList{${Object.keys(cap).map((k) => `${goQuote(k)}:${str(cap[k])}`).join(', ')}}`), ['storage']));
  }
  for (const [r, v] of entries(cap)) {
    const p = `spec.capacity[${r}]`;
    const q = quantityAt(v, p, errs);
    if (q) {
      errs.push(...validateBasicResource(q, p));
      if (q.nanos <= 0n) errs.push(field.invalid(p, quantityString(q), 'must be greater than zero'));
    }
  }
  if (spec.persistentVolumeReclaimPolicy && !RECLAIM_POLICIES.includes(spec.persistentVolumeReclaimPolicy)) {
    errs.push(field.notSupported('spec.persistentVolumeReclaimPolicy', spec.persistentVolumeReclaimPolicy, RECLAIM_POLICIES));
  }
  let nodeAffinitySpecified = false;
  if (spec.nodeAffinity != null) {
    nodeAffinitySpecified = true;
    if (spec.nodeAffinity.required != null) errs.push(...validateNodeSelector(spec.nodeAffinity.required, false, 'spec.nodeAffinity.required'));
    else errs.push(field.required('spec.nodeAffinity.required', 'must specify required node constraints'));
  }
  let n = 0;
  for (const kind of PV_SOURCES) {
    if (spec[kind] == null) continue;
    if (n > 0 && kind !== 'flexVolume') {
      errs.push(field.forbidden(`spec.${kind}`, 'may not specify more than 1 volume type'));
      continue;
    }
    n++;
    const errPath = kind === 'gcePersistentDisk' ? 'spec.persistentDisk' : `spec.${kind}`;
    errs.push(...validatePVSource(kind, spec[kind], errPath, str(meta.name), nodeAffinitySpecified));
  }
  if (n === 0) errs.push(field.required('spec', 'must specify a volume type'));
  if (spec.hostPath && str(spec.hostPath.path).replace(/\/+$/, '') === '' && spec.persistentVolumeReclaimPolicy === 'Recycle') {
    errs.push(field.forbidden('spec.persistentVolumeReclaimPolicy', "may not be 'recycle' for a hostPath mount of '/'"));
  }
  if (spec.storageClassName) for (const m of nameIsDNSSubdomain(spec.storageClassName, false)) errs.push(field.invalid('spec.storageClassName', spec.storageClassName, m));
  if (spec.volumeMode != null && !SUPPORTED_VOLUME_MODES.includes(spec.volumeMode)) errs.push(field.notSupported('spec.volumeMode', spec.volumeMode, SUPPORTED_VOLUME_MODES));
  return errs;
}

function sourceOf(spec: Json): Json {
  const out: Record<string, unknown> = {};
  for (const k of PV_SOURCES) if (spec?.[k] != null) out[k] = spec[k];
  return out;
}

function validatePersistentVolumeUpdate(pv: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(pv.metadata, old.metadata);
  errs.push(...validatePersistentVolume(pv));
  const newSrc = structuredClone(sourceOf(pv.spec));
  const oldSrc = sourceOf(old.spec);
  if (oldSrc.csi && oldSrc.csi.controllerExpandSecretRef == null && newSrc.csi?.controllerExpandSecretRef != null) delete newSrc.csi.controllerExpandSecretRef;
  if (!jsonEqual(newSrc, oldSrc)) {
    errs.push(field.forbidden('spec.persistentvolumesource', `spec.persistentvolumesource is immutable after creation\n${specDiff(oldSrc, newSrc, 'core.PersistentVolumeSource')}`));
  }
  errs.push(...validateImmutableField(pv.spec?.volumeMode, old.spec?.volumeMode, 'volumeMode'));
  if (old.spec?.nodeAffinity != null && !jsonEqual(pv.spec?.nodeAffinity, old.spec.nodeAffinity)) {
    errs.push(field.invalid('nodeAffinity', goSyntax('&core.VolumeNodeAffinity{...}'), 'field is immutable, except for updating from beta label to GA'));
  }
  return errs;
}

function validatePVC(pvc: Json): FieldError[] {
  const errs = validateObjectMeta(pvc.metadata, true, nameIsDNSSubdomain);
  errs.push(...validatePersistentVolumeClaimSpec(pvc.spec ?? {}, 'spec'));
  return errs;
}

function validatePVCUpdate(pvc: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(pvc.metadata, old.metadata);
  errs.push(...validatePVC(pvc));
  const newSpec = structuredClone(pvc.spec ?? {});
  const oldSpec = structuredClone(old.spec ?? {});
  if (!oldSpec.volumeName) oldSpec.volumeName = newSpec.volumeName;
  const betaSC = 'volume.beta.kubernetes.io/storage-class';
  const oldAnn = old.metadata?.annotations ?? {};
  const newAnn = pvc.metadata?.annotations ?? {};
  const upgradeFromAnnotation =
    Object.hasOwn(oldAnn, betaSC) && oldSpec.storageClassName == null && newSpec.storageClassName === oldAnn[betaSC] && (!Object.hasOwn(newAnn, betaSC) || newAnn[betaSC] === oldAnn[betaSC]);
  if (upgradeFromAnnotation) newSpec.storageClassName = undefined;
  else {
    if (str(newAnn[betaSC]) !== str(oldAnn[betaSC])) errs.push(field.invalid(`metadata.annotations.${betaSC}`, str(newAnn[betaSC]), 'field is immutable'));
    if (newSpec.storageClassName != null && oldSpec.storageClassName == null && (!Object.hasOwn(oldAnn, betaSC) || newSpec.storageClassName === oldAnn[betaSC])) {
      newSpec.storageClassName = oldSpec.storageClassName;
    }
  }
  const bound = pvc.status?.phase === 'Bound';
  if (bound && newSpec.resources?.requests) newSpec.resources.requests.storage = oldSpec.resources?.requests?.storage;
  if (bound && newSpec.volumeAttributesClassName != null) newSpec.volumeAttributesClassName = oldSpec.volumeAttributesClassName;
  if (!jsonEqual(newSpec, oldSpec)) {
    errs.push(field.forbidden('spec', `spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n${specDiff(oldSpec, newSpec, 'core.PersistentVolumeClaimSpec')}`));
  }
  const ignore: FieldError[] = [];
  const newSize = quantityAt(pvc.spec?.resources?.requests?.storage ?? '0', 'x', ignore);
  const oldSize = quantityAt(old.spec?.resources?.requests?.storage ?? '0', 'x', ignore);
  const statusSize = quantityAt(old.status?.capacity?.storage ?? '0', 'x', ignore);
  if (newSize && oldSize && newSize.nanos < oldSize.nanos && statusSize && newSize.nanos <= statusSize.nanos) {
    errs.push(field.forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
  }
  errs.push(...validateImmutableField(pvc.spec?.volumeMode, old.spec?.volumeMode, 'volumeMode'));
  return errs;
}

function validatePVCStatusUpdate(pvc: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(pvc.metadata, old.metadata);
  if (!pvc.metadata?.resourceVersion) errs.push(field.required('resourceVersion'));
  if (arr(pvc.spec?.accessModes).length === 0) errs.push(field.required('Spec.accessModes'));
  for (const [r, v] of entries(pvc.status?.capacity)) {
    const p = `status.capacity[${r}]`;
    const q = quantityAt(v, p, errs);
    if (q) errs.push(...validateBasicResource(q, p));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// LimitRange, ResourceQuota

const LIMIT_TYPES = ['Pod', 'Container', 'PersistentVolumeClaim'];

function validateLimitRange(lr: Json): FieldError[] {
  const errs = validateObjectMeta(lr.metadata, true, nameIsDNSSubdomain);
  const types = new Set<string>();
  arr(lr.spec?.limits).forEach((l0, i) => {
    const l = l0 ?? {};
    const p = `spec.limits[${i}]`;
    const type = str(l.type);
    const typeErrs = isQualifiedName(type).map((m) => field.invalid(`${p}.type`, type, m));
    if (!typeErrs.length && !type.includes('/') && !LIMIT_TYPES.includes(type)) typeErrs.push(field.invalid(`${p}.type`, type, 'must be a standard limit type or fully qualified'));
    errs.push(...typeErrs);
    if (types.has(type)) errs.push(field.duplicate(`${p}.type`, type));
    types.add(type);
    const nameFn = type === 'Pod' || type === 'Container' ? validateContainerResourceName : validateResourceName;
    const maps: Record<string, Map<string, Quantity>> = {};
    const read = (k: string) => {
      const m = new Map<string, Quantity>();
      for (const [r, v] of entries(l[k])) {
        errs.push(...nameFn(r, `${p}.${k}[${r}]`));
        const q = quantityAt(v, `${p}.${k}[${r}]`, errs);
        if (q) m.set(r, q);
      }
      maps[k] = m;
    };
    read('max');
    read('min');
    if (type === 'Pod') {
      if (Object.keys(l.default ?? {}).length) errs.push(field.forbidden(`${p}.default`, "may not be specified when `type` is 'Pod'"));
      if (Object.keys(l.defaultRequest ?? {}).length) errs.push(field.forbidden(`${p}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
      maps.default = new Map();
      maps.defaultRequest = new Map();
    } else {
      read('default');
      read('defaultRequest');
    }
    if (type === 'PersistentVolumeClaim' && !maps.min!.has('storage') && !maps.max!.has('storage')) {
      errs.push(field.required(`${p}.limits`, 'either minimum or maximum storage value is required, but neither was provided'));
    }
    read('maxLimitRequestRatio');
    const keys = new Set<string>();
    for (const m of Object.values(maps)) for (const k of m.keys()) keys.add(k);
    const s = quantityString;
    for (const k of keys) {
      const min = maps.min!.get(k);
      const max = maps.max!.get(k);
      const def = maps.default!.get(k);
      const defReq = maps.defaultRequest!.get(k);
      const ratio = maps.maxLimitRequestRatio!.get(k);
      if (min && max && min.nanos > max.nanos) errs.push(field.invalid(`${p}.min[${k}]`, s(min), `min value ${s(min)} is greater than max value ${s(max)}`));
      if (defReq && min && min.nanos > defReq.nanos) errs.push(field.invalid(`${p}.defaultRequest[${k}]`, s(defReq), `min value ${s(min)} is greater than default request value ${s(defReq)}`));
      if (defReq && max && defReq.nanos > max.nanos) errs.push(field.invalid(`${p}.defaultRequest[${k}]`, s(defReq), `default request value ${s(defReq)} is greater than max value ${s(max)}`));
      if (defReq && def && defReq.nanos > def.nanos) errs.push(field.invalid(`${p}.defaultRequest[${k}]`, s(defReq), `default request value ${s(defReq)} is greater than default limit value ${s(def)}`));
      if (def && min && min.nanos > def.nanos) errs.push(field.invalid(`${p}.default[${k}]`, s(min), `min value ${s(min)} is greater than default value ${s(def)}`));
      if (def && max && def.nanos > max.nanos) errs.push(field.invalid(`${p}.default[${k}]`, s(max), `default value ${s(def)} is greater than max value ${s(max)}`));
      if (ratio && ratio.nanos < 1_000_000_000n) errs.push(field.invalid(`${p}.maxLimitRequestRatio[${k}]`, s(ratio), `ratio ${s(ratio)} is less than 1`));
      if (ratio && min && max && min.nanos > 0n) {
        const limit = Number(max.nanos) / Number(min.nanos);
        if (Number(ratio.nanos) / 1e9 > limit) errs.push(field.invalid(`${p}.maxLimitRequestRatio[${k}]`, s(ratio), `ratio ${s(ratio)} is greater than max/min = ${limit.toFixed(6)}`));
      }
      if (!isOvercommitAllowed(k) && def && defReq && def.nanos !== defReq.nanos) {
        errs.push(field.invalid(`${p}.defaultRequest[${k}]`, s(defReq), `default value ${s(def)} must equal to defaultRequest value ${s(defReq)} in ${k}`));
      }
    }
  });
  return errs;
}

const QUOTA_SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity', 'VolumeAttributesClass'];
const POD_COMPUTE = new Set(['cpu', 'memory', 'limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory']);

function scopeValidForResource(scope: string, r: string): boolean {
  switch (scope) {
    case 'Terminating':
    case 'NotTerminating':
    case 'NotBestEffort':
    case 'PriorityClass':
      return r === 'pods' || POD_COMPUTE.has(r);
    case 'BestEffort':
    case 'CrossNamespacePodAffinity':
      return r === 'pods';
    case 'VolumeAttributesClass':
      return r === 'persistentvolumeclaims' || r === 'requests.storage';
    default:
      return true;
  }
}

function validateQuotaResourceList(list: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of entries(list)) {
    const p = `${fld}[${k}]`;
    errs.push(...validateResourceQuotaResourceName(k, p));
    const q = quantityAt(v, p, errs);
    if (q) errs.push(...validateResourceQuantityValue(k, q, p));
  }
  return errs;
}

function validateResourceQuotaSpec(spec: Json): FieldError[] {
  const errs = validateQuotaResourceList(spec.hard, 'spec.hard');
  const hard = Object.keys(spec.hard ?? {}).sort();
  const scopes = arr(spec.scopes).map(str);
  const scopesGo = goSyntax(`[]core.ResourceQuotaScope{${scopes.map(goQuote).join(', ')}}`);
  const conflicting = (set: Set<string>, fld: string, bad: unknown) => {
    if ((set.has('BestEffort') && set.has('NotBestEffort')) || (set.has('Terminating') && set.has('NotTerminating'))) {
      errs.push(field.invalid(fld, bad, 'conflicting scopes'));
    }
  };
  if (scopes.length) {
    for (const sc of scopes) {
      if (!QUOTA_SCOPES.includes(sc)) errs.push(field.invalid('spec.scopes', scopesGo, 'unsupported scope'));
      for (const r of hard) {
        if (isStandardQuota(r) && !scopeValidForResource(sc, r)) errs.push(field.invalid('spec.scopes', scopesGo, 'unsupported scope applied to resource'));
      }
    }
    conflicting(new Set(scopes), 'spec.scopes', scopesGo);
  }
  if (spec.scopeSelector != null) {
    const fp = 'spec.scopeSelector.matchExpressions';
    const set = new Set<string>();
    for (const req of arr(spec.scopeSelector.matchExpressions)) {
      const sc = str(req?.scopeName);
      if (!QUOTA_SCOPES.includes(sc)) errs.push(field.invalid(`${fp}.scopeName`, sc, 'unsupported scope'));
      for (const r of hard) {
        if (isStandardQuota(r) && !scopeValidForResource(sc, r)) errs.push(field.invalid(fp, goSyntax('&core.ScopeSelector{...}'), 'unsupported scope applied to resource'));
      }
      if (['BestEffort', 'NotBestEffort', 'Terminating', 'NotTerminating', 'CrossNamespacePodAffinity'].includes(sc) && req.operator !== 'Exists') {
        errs.push(field.invalid(`${fp}.operator`, str(req.operator), 'must be \'Exists\' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity'));
      }
      const values = arr(req?.values);
      switch (req?.operator) {
        case 'In':
        case 'NotIn':
          if (values.length === 0) errs.push(field.required(`${fp}.values`, "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"));
          break;
        case 'Exists':
        case 'DoesNotExist':
          if (values.length !== 0) errs.push(field.invalid(`${fp}.values`, goSyntax(`[]string{${values.map((v) => goQuote(str(v))).join(', ')}}`), "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"));
          break;
        default:
          errs.push(field.invalid(`${fp}.operator`, str(req?.operator), 'not a valid selector operator'));
      }
      set.add(sc);
    }
    conflicting(set, fp, scopesGo);
  }
  return errs;
}

function isStandardQuota(r: string): boolean {
  return validateResourceQuotaResourceName(r, '').length === 0 && !r.includes('/');
}

function validateResourceQuota(rq: Json): FieldError[] {
  const errs = validateObjectMeta(rq.metadata, true, nameIsDNSSubdomain);
  errs.push(...validateResourceQuotaSpec(rq.spec ?? {}));
  errs.push(...validateQuotaResourceList(rq.status?.hard, 'status.hard'));
  errs.push(...validateQuotaResourceList(rq.status?.used, 'status.used'));
  return errs;
}

function validateResourceQuotaUpdate(rq: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(rq.metadata, old.metadata);
  errs.push(...validateResourceQuotaSpec(rq.spec ?? {}));
  const a = new Set(arr(rq.spec?.scopes).map(str));
  const b = new Set(arr(old.spec?.scopes).map(str));
  if (a.size !== b.size || [...a].some((x) => !b.has(x))) {
    errs.push(field.invalid('spec.scopes', goSyntax(`[]core.ResourceQuotaScope{${arr(rq.spec?.scopes).map((s) => goQuote(str(s))).join(', ')}}`), 'field is immutable'));
  }
  return errs;
}

function validateResourceQuotaStatusUpdate(rq: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(rq.metadata, old.metadata);
  if (!rq.metadata?.resourceVersion) errs.push(field.required('resourceVersion'));
  errs.push(...validateQuotaResourceList(rq.status?.hard, 'status.hard'));
  errs.push(...validateQuotaResourceList(rq.status?.used, 'status.used'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Registration

const metaUpdate = (o: Json, old: Json) => validateObjectMetaUpdate(o.metadata, old.metadata);

register('/Pod', {
  defaults: defaults.defaultPod,
  validateCreate: validatePodCreate,
  validateUpdate: validatePodUpdate,
  validateStatusUpdate: validatePodStatusUpdate,
});
register('/PodTemplate', {
  defaults: defaults.defaultPodTemplate,
  validateCreate: validatePodTemplate,
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validatePodTemplateSpec(o.template, 'template')],
});
register('/ReplicationController', {
  defaults: defaults.defaultReplicationController,
  validateCreate: (o) => [...validateObjectMeta(o.metadata, true, nameIsDNSSubdomain), ...validateReplicationControllerSpec(o.spec ?? {}, 'spec')],
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateReplicationControllerSpec(o.spec ?? {}, 'spec')],
  validateStatusUpdate: (o, old) => [...metaUpdate(o, old), ...validateRCStatus(o.status, 'status')],
});
register('/Service', {
  defaults: defaults.defaultService,
  validateCreate: validateService,
  validateUpdate: validateServiceUpdate,
  validateStatusUpdate: validateServiceStatusUpdate,
});
register('/Endpoints', {
  defaults: defaults.defaultEndpoints,
  validateCreate: validateEndpoints,
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateEndpoints(o)],
});
register('/Node', {
  defaults: defaults.defaultNode,
  validateCreate: validateNode,
  validateUpdate: validateNodeUpdate,
  validateStatusUpdate: validateNodeUpdate,
});
register('/ConfigMap', {
  defaults: defaults.defaultConfigMap,
  validateCreate: validateConfigMap,
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateImmutableData(o, old, ['data', 'binaryData']), ...validateConfigMap(o)],
});
register('/Secret', {
  defaults: defaults.defaultSecret,
  validateCreate: validateSecret,
  validateUpdate: (o, old) => [
    ...metaUpdate(o, old),
    ...validateImmutableField(o.type ?? '', old.type ?? '', 'type'),
    ...validateImmutableData(o, old, ['data']),
    ...validateSecret(o),
  ],
});
register('/ServiceAccount', {
  validateCreate: (o) => validateObjectMeta(o.metadata, true, validateServiceAccountName),
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateObjectMeta(o.metadata, true, validateServiceAccountName)],
});
register('/Namespace', {
  defaults: defaults.defaultNamespace,
  prepareForCreate: defaults.prepareNamespaceForCreate,
  validateCreate: validateNamespace,
  validateUpdate: metaUpdate,
  validateStatusUpdate: validateNamespaceStatusUpdate,
});
register('/Event', {
  validateCreate: validateEventLegacy,
  validateUpdate: validateEventLegacy,
});
register('/PersistentVolume', {
  defaults: defaults.defaultPersistentVolume,
  validateCreate: validatePersistentVolume,
  validateUpdate: validatePersistentVolumeUpdate,
  validateStatusUpdate: (o, old) => {
    const errs = metaUpdate(o, old);
    if (!o.metadata?.resourceVersion) errs.push(field.required('resourceVersion'));
    return errs;
  },
});
register('/PersistentVolumeClaim', {
  defaults: defaults.defaultPersistentVolumeClaim,
  validateCreate: validatePVC,
  validateUpdate: validatePVCUpdate,
  validateStatusUpdate: validatePVCStatusUpdate,
});
register('/LimitRange', {
  defaults: defaults.defaultLimitRange,
  validateCreate: validateLimitRange,
  validateUpdate: (o, old) => [...metaUpdate(o, old), ...validateLimitRange(o)],
});
register('/ResourceQuota', {
  validateCreate: validateResourceQuota,
  validateUpdate: validateResourceQuotaUpdate,
  validateStatusUpdate: validateResourceQuotaStatusUpdate,
});
register('/Binding', { validateCreate: validateBinding });


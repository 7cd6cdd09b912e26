// PodSpec and PodTemplateSpec validation, following pkg/apis/core/validation (ValidatePodSpec and
// its helpers) with upstream's field paths and wording. Every workload kind validates its pod
// template through validatePodTemplateSpec, so errors read `spec.template.spec.containers[0]...`.
//
// Objects are the v1 wire form after defaulting. Where upstream validates its internal form the
// paths are the same except that v1's spec.hostNetwork/hostPID/hostIPC live in the internal
// securityContext; checks on them keep upstream's paths.

import { field, goStringMap, goSyntax, type FieldError } from '../errors.ts';
import { quantityString } from '../quantity.ts';
import {
  entries, validateAnnotations, validateLabelName, validateLabels, validateLabelSelector, validateTemplateObjectMeta, type Json,
} from './meta.ts';
import {
  inclusiveRangeError, isCIdentifier, isConfigMapKey, isDNS1123Label, isDNS1123Subdomain, isHTTPHeaderName,
  isQualifiedName, isRelaxedEnvVarName, isValidGroupID, isValidLabelValue, isValidPortName, isValidPortNum,
  isValidUserID, nameIsDNSSubdomain, validateDNS1123Label, validateDNS1123Subdomain, validateIP, validateNamespaceName,
  validateNonnegativeField, validatePathSegmentName, validateQualifiedName, isDNS1123SubdomainWithUnderscore,
} from './names.ts';
import {
  isHugePageResourceName, isOvercommitAllowed, quantityAt, validateContainerResourceName, validateResourceQuantityValue,
} from './resources.ts';

export interface PodValidationOptions {
  /** The spec is a Pod's own, not a template's (stricter hostPort and image checks). */
  resourceIsPod?: boolean;
}

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';
export const SUPPORTED_PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_INT32 = 2147483647;

// ---------------------------------------------------------------------------------------------
// Paths

function isAbs(p: string): boolean {
  return p.startsWith('/');
}

function validatePathNoBacksteps(p: string, fld: string): FieldError[] {
  return p.split('/').includes('..') ? [field.invalid(fld, p, "must not contain '..'")] : [];
}

function validateLocalDescendingPath(p: string, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (isAbs(p)) errs.push(field.invalid(fld, p, 'must be a relative path'));
  errs.push(...validatePathNoBacksteps(p, fld));
  return errs;
}

function validateLocalNonReservedPath(p: string, fld: string): FieldError[] {
  const errs = validateLocalDescendingPath(p, fld);
  if (p.startsWith('..') && !p.startsWith('../')) errs.push(field.invalid(fld, p, "must not start with '..'"));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Volumes

const VOLUME_SOURCES = [
  'emptyDir', 'hostPath', 'gitRepo', 'gcePersistentDisk', 'awsElasticBlockStore', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'flocker', 'persistentVolumeClaim', 'rbd', 'cinder', 'cephfs', 'quobyte', 'downwardAPI', 'fc', 'flexVolume', 'configMap',
  'azureFile', 'vsphereVolume', 'photonPersistentDisk', 'portworxVolume', 'azureDisk', 'storageos', 'projected', 'scaleIO',
  'csi', 'ephemeral', 'image',
];
// upstream reports a second source under these names (sic)
const SECOND_SOURCE_PATH: Record<string, string> = { cephfs: 'cephFS', downwardAPI: 'downwarAPI' };
// and validates some sources under these names (sic)
const SOURCE_ERROR_PATH: Record<string, string> = { gcePersistentDisk: 'persistentDisk' };

const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

function validateKeyToPath(kp: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!kp.key) errs.push(field.required(`${fld}.key`));
  if (!kp.path) errs.push(field.required(`${fld}.path`));
  errs.push(...validateLocalNonReservedPath(str(kp.path), `${fld}.path`));
  if (kp.mode != null && (kp.mode > 0o777 || kp.mode < 0)) errs.push(field.invalid(`${fld}.mode`, kp.mode, FILE_MODE_ERROR));
  return errs;
}

function validateMode(v: unknown, fld: string): FieldError[] {
  return typeof v === 'number' && (v > 0o777 || v < 0) ? [field.invalid(fld, v, FILE_MODE_ERROR)] : [];
}

const VOLUME_DOWNWARD_PATHS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];
const ENV_DOWNWARD_PATHS = [
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP',
  'status.hostIPs', 'status.podIP', 'status.podIPs',
];
const CONTAINER_RESOURCE_PATHS = [
  'limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory',
];

function validateObjectFieldSelector(fs: Json, expressions: string[], fld: string): FieldError[] {
  if (!fs.apiVersion) return [field.required(`${fld}.apiVersion`)];
  if (!fs.fieldPath) return [field.required(`${fld}.fieldPath`)];
  const p = str(fs.fieldPath);
  if (fs.apiVersion !== 'v1') {
    return [field.invalid(`${fld}.fieldPath`, p, `error converting fieldPath: unsupported pod version: ${fs.apiVersion}`)];
  }
  // metadata.annotations['key'] / metadata.labels['key']
  const m = /^(metadata\.(?:annotations|labels))\['(.*)'\]$/.exec(p) ?? /^([^[]+)\['(.*)'\]$/.exec(p);
  if (m) {
    const [, path, sub] = m;
    if (path === 'metadata.annotations') return validateQualifiedName(sub!.toLowerCase(), fld);
    if (path === 'metadata.labels') return validateQualifiedName(sub!, fld);
    return [field.invalid(fld, path, 'does not support subscript')];
  }
  if (!expressions.includes(p)) return [field.notSupported(`${fld}.fieldPath`, p, expressions)];
  return [];
}

function validateContainerResourceFieldSelector(fs: Json, fld: string, volume: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const resource = str(fs.resource);
  if (volume && !fs.containerName) errs.push(field.required(`${fld}.containerName`));
  else if (!resource) errs.push(field.required(`${fld}.resource`));
  else if (!CONTAINER_RESOURCE_PATHS.includes(resource) && !resource.startsWith('requests.hugepages-') && !resource.startsWith('limits.hugepages-')) {
    errs.push(field.notSupported(`${fld}.resource`, resource, CONTAINER_RESOURCE_PATHS));
  }
  if (fs.divisor != null) {
    const d = quantityAt(fs.divisor, `${fld}.divisor`, errs);
    if (d && d.nanos !== 0n) {
      const s = quantityString(d);
      const mem = ['1', '1k', '1M', '1G', '1T', '1P', '1E', '1Ki', '1Mi', '1Gi', '1Ti', '1Pi', '1Ei'];
      const list = '1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei';
      if ((resource === 'limits.cpu' || resource === 'requests.cpu') && s !== '1m' && s !== '1') {
        errs.push(field.invalid(`${fld}.divisor`, resource, "only divisor's values 1m and 1 are supported with the cpu resource"));
      } else if ((resource === 'limits.memory' || resource === 'requests.memory') && !mem.includes(s)) {
        errs.push(field.invalid(`${fld}.divisor`, resource, `only divisor's values ${list} are supported with the memory resource`));
      } else if ((resource === 'limits.ephemeral-storage' || resource === 'requests.ephemeral-storage') && !mem.includes(s)) {
        errs.push(field.invalid(`${fld}.divisor`, resource, `only divisor's values ${list} are supported with the local ephemeral storage resource`));
      }
      if ((resource.startsWith('requests.hugepages-') || resource.startsWith('limits.hugepages-')) && !mem.includes(s)) {
        errs.push(field.invalid(`${fld}.divisor`, resource, `only divisor's values ${list} are supported with the hugepages resource`));
      }
    }
  }
  return errs;
}

function validateDownwardAPIVolumeFile(file: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!file.path) errs.push(field.required(`${fld}.path`));
  errs.push(...validateLocalNonReservedPath(str(file.path), `${fld}.path`));
  if (file.fieldRef) {
    errs.push(...validateObjectFieldSelector(file.fieldRef, VOLUME_DOWNWARD_PATHS, `${fld}.fieldRef`));
    if (file.resourceFieldRef) errs.push(field.invalid(fld, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
  } else if (file.resourceFieldRef) {
    errs.push(...validateContainerResourceFieldSelector(file.resourceFieldRef, `${fld}.resourceFieldRef`, true));
  } else {
    errs.push(field.required(fld, 'one of fieldRef and resourceFieldRef is required'));
  }
  errs.push(...validateMode(file.mode, `${fld}.mode`));
  return errs;
}

function validateProjectedSources(proj: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const paths = new Set<string>();
  const seen = (p: string, bad: unknown) => {
    if (!p) return;
    if (paths.has(p)) errs.push(field.invalid(fld, bad, 'conflicting duplicate paths'));
    else paths.add(p);
  };
  arr(proj.sources).forEach((src0, i) => {
    const src = src0 ?? {};
    const sp = `${fld}.sources[${i}]`;
    let n = 0;
    if (src.secret) {
      n++;
      if (!src.secret.name) errs.push(field.required(`${sp}.secret.name`));
      arr(src.secret.items).forEach((kp, j) => {
        errs.push(...validateKeyToPath(kp ?? {}, `${sp}.secret.items[${j}]`));
        seen(str(kp?.path), str(src.secret.name));
      });
    }
    if (src.configMap) {
      n++;
      if (!src.configMap.name) errs.push(field.required(`${sp}.configMap.name`));
      arr(src.configMap.items).forEach((kp, j) => {
        errs.push(...validateKeyToPath(kp ?? {}, `${sp}.configMap.items[${j}]`));
        seen(str(kp?.path), str(src.configMap.name));
      });
    }
    if (src.downwardAPI) {
      n++;
      for (const file of arr(src.downwardAPI.items)) {
        errs.push(...validateDownwardAPIVolumeFile(file ?? {}, `${sp}.downwardAPI`));
        seen(str(file?.path), str(file?.path));
      }
    }
    if (src.serviceAccountToken) {
      n++;
      const t = src.serviceAccountToken;
      const exp = t.expirationSeconds ?? 3600;
      if (exp < 600) errs.push(field.invalid(`${sp}.serviceAccountToken.expirationSeconds`, exp, 'may not specify a duration less than 10 minutes'));
      if (exp > 2 ** 32) errs.push(field.invalid(`${sp}.serviceAccountToken.expirationSeconds`, exp, 'may not specify a duration larger than 2^32 seconds'));
      if (!t.path) errs.push(field.required(`${fld}.path`));
      else errs.push(...validateLocalNonReservedPath(str(t.path), `${fld}.path`));
    }
    if (src.clusterTrustBundle) {
      n++;
      const c = src.clusterTrustBundle;
      const cp = `${sp}.clusterTrustBundle`;
      if (c.name != null && c.signerName != null) errs.push(field.invalid(cp, goSyntax('&core.ClusterTrustBundleProjection{...}'), 'only one of name and signerName may be used'));
      else if (c.name == null && c.signerName == null) errs.push(field.required(cp, 'either name or signerName must be specified'));
      if (!c.path) errs.push(field.required(`${cp}.path`));
      errs.push(...validateLocalNonReservedPath(str(c.path), `${cp}.path`));
      seen(str(c.path), str(c.path));
    }
    if (n > 1) errs.push(field.forbidden(sp, 'may not specify more than 1 volume type per source'));
  });
  return errs;
}

function validateVolumeSourceBody(kind: string, s: Json, fld: string, volName: string): FieldError[] {
  const errs: FieldError[] = [];
  const req = (k: string, detail = '') => {
    if (!s[k]) errs.push(field.required(`${fld}.${k}`, detail));
  };
  switch (kind) {
    case 'emptyDir':
      if (s.sizeLimit != null) {
        const q = quantityAt(s.sizeLimit, `${fld}.sizeLimit`, errs);
        if (q && q.nanos < 0n) errs.push(field.forbidden(`${fld}.sizeLimit`, 'SizeLimit field must be a valid resource quantity'));
      }
      if (s.medium && !['', 'Memory', 'HugePages'].includes(s.medium) && !String(s.medium).startsWith('HugePages-')) {
        // upstream does not validate medium beyond its type
      }
      break;
    case 'hostPath':
      if (!s.path) {
        errs.push(field.required(`${fld}.path`));
        break;
      }
      errs.push(...validatePathNoBacksteps(str(s.path), `${fld}.path`));
      if (s.type != null && !HOST_PATH_TYPES.includes(s.type)) errs.push(field.notSupported(`${fld}.type`, s.type, HOST_PATH_TYPES));
      break;
    case 'gitRepo':
      req('repository');
      errs.push(...validateLocalDescendingPath(str(s.directory), `${fld}.directory`));
      break;
    case 'gcePersistentDisk':
      req('pdName');
      if ((s.partition ?? 0) < 0 || (s.partition ?? 0) > 255) errs.push(field.invalid(`${fld}.partition`, s.partition, inclusiveRangeError(1, 255)));
      break;
    case 'awsElasticBlockStore':
      req('volumeID');
      if ((s.partition ?? 0) < 0 || (s.partition ?? 0) > 255) errs.push(field.invalid(`${fld}.partition`, s.partition, inclusiveRangeError(1, 255)));
      break;
    case 'secret':
      req('secretName');
      errs.push(...validateMode(s.defaultMode, `${fld}.defaultMode`));
      arr(s.items).forEach((kp, i) => errs.push(...validateKeyToPath(kp ?? {}, `${fld}.items[${i}]`)));
      break;
    case 'configMap':
      req('name');
      errs.push(...validateMode(s.defaultMode, `${fld}.defaultMode`));
      arr(s.items).forEach((kp, i) => errs.push(...validateKeyToPath(kp ?? {}, `${fld}.items[${i}]`)));
      break;
    case 'nfs':
      req('server');
      req('path');
      if (!isAbs(str(s.path))) errs.push(field.invalid(`${fld}.path`, str(s.path), 'must be an absolute path'));
      break;
    case 'iscsi':
      req('targetPortal');
      if (!s.iqn) errs.push(field.required(`${fld}.iqn`));
      else if (!/^(iqn|eui|naa)/.test(s.iqn)) errs.push(field.invalid(`${fld}.iqn`, s.iqn, 'must be valid format starting with iqn, eui, or naa'));
      if ((s.lun ?? 0) < 0 || (s.lun ?? 0) > 255) errs.push(field.invalid(`${fld}.lun`, s.lun, inclusiveRangeError(0, 255)));
      if ((s.chapAuthDiscovery || s.chapAuthSession) && !s.secretRef) errs.push(field.required(`${fld}.secretRef`));
      if (s.initiatorName != null && `${volName}:${str(s.targetPortal)}`.length > 64) {
        errs.push(field.invalid(`${fld}.name`, volName, 'Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified.'));
      }
      break;
    case 'glusterfs':
      req('endpoints');
      req('path');
      break;
    case 'flocker':
      if (!s.datasetName && !s.datasetUUID) errs.push(field.required(fld, 'one of datasetName and datasetUUID is required'));
      if (s.datasetName && s.datasetUUID) errs.push(field.invalid(fld, 'resource', 'datasetName and datasetUUID can not be specified simultaneously'));
      if (str(s.datasetName).includes('/')) errs.push(field.invalid(`${fld}.datasetName`, s.datasetName, "must not contain '/'"));
      break;
    case 'persistentVolumeClaim':
      req('claimName');
      break;
    case 'rbd':
      if (arr(s.monitors).length === 0) errs.push(field.required(`${fld}.monitors`));
      req('image');
      break;
    case 'cinder':
      req('volumeID');
      if (s.secretRef && !s.secretRef.name) errs.push(field.required(`${fld}.secretRef.name`));
      break;
    case 'cephfs':
      if (arr(s.monitors).length === 0) errs.push(field.required(`${fld}.monitors`));
      break;
    case 'quobyte':
      if (!s.registry) errs.push(field.required(`${fld}.registry`, 'must be a host:port pair or multiple pairs separated by commas'));
      else if (str(s.tenant).length >= 65) errs.push(field.required(`${fld}.tenant`, 'must be a UUID and may not exceed a length of 64 characters'));
      else {
        for (const hp of str(s.registry).split(',')) {
          if (!/^[^:]*:[^:]*$/.test(hp) && !/^\[.*\]:[^:]*$/.test(hp)) {
            errs.push(field.invalid(`${fld}.registry`, s.registry, 'must be a host:port pair or multiple pairs separated by commas'));
          }
        }
      }
      req('volume');
      break;
    case 'downwardAPI':
      errs.push(...validateMode(s.defaultMode, `${fld}.defaultMode`));
      for (const file of arr(s.items)) errs.push(...validateDownwardAPIVolumeFile(file ?? {}, fld));
      break;
    case 'fc': {
      const wwns = arr(s.targetWWNs);
      const wwids = arr(s.wwids);
      if (wwns.length < 1 && wwids.length < 1) errs.push(field.required(`${fld}.targetWWNs`, 'must specify either targetWWNs or wwids, but not both'));
      if (wwns.length && wwids.length) errs.push(field.invalid(`${fld}.targetWWNs`, wwns, 'targetWWNs and wwids can not be specified simultaneously'));
      if (wwns.length) {
        if (s.lun == null) errs.push(field.required(`${fld}.lun`, 'lun is required if targetWWNs is specified'));
        else if (s.lun < 0 || s.lun > 255) errs.push(field.invalid(`${fld}.lun`, s.lun, inclusiveRangeError(0, 255)));
      }
      break;
    }
    case 'flexVolume':
      req('driver');
      for (const [k] of entries(s.options)) {
        const ns = k.includes('/') ? k.split('/')[0]! : k;
        const norm = '.' + ns.toLowerCase();
        if (norm.endsWith('.kubernetes.io') || norm.endsWith('.k8s.io')) {
          errs.push(field.invalid(`${fld}.options[${k}]`, k, 'kubernetes.io and k8s.io namespaces are reserved'));
        }
      }
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
    case 'portworxVolume':
      req('volumeID');
      break;
    case 'azureDisk': {
      req('diskName');
      if (!s.diskURI) errs.push(field.required(`${fld}.diskURI`));
      const modes = ['None', 'ReadOnly', 'ReadWrite'];
      const kinds = ['Dedicated', 'Managed', 'Shared'];
      if (s.cachingMode != null && !modes.includes(s.cachingMode)) errs.push(field.notSupported(`${fld}.cachingMode`, s.cachingMode, modes));
      if (s.kind != null && !kinds.includes(s.kind)) errs.push(field.notSupported(`${fld}.kind`, s.kind, kinds));
      if (s.kind === 'Managed' && !str(s.diskURI).startsWith('/subscriptions/')) {
        errs.push(field.notSupported(`${fld}.diskURI`, str(s.diskURI), ['/subscriptions/{sub-id}/resourcegroups/{group-name}/providers/microsoft.compute/disks/{disk-id}']));
      }
      if (s.kind != null && s.kind !== 'Managed' && !str(s.diskURI).startsWith('https://')) {
        errs.push(field.notSupported(`${fld}.diskURI`, str(s.diskURI), ['https://{account-name}.blob.core.windows.net/{container-name}/{disk-name}.vhd']));
      }
      break;
    }
    case 'storageos':
      if (!s.volumeName) errs.push(field.required(`${fld}.volumeName`));
      else errs.push(...validateDNS1123Label(s.volumeName, `${fld}.volumeName`));
      if (s.volumeNamespace) errs.push(...validateDNS1123Label(s.volumeNamespace, `${fld}.volumeNamespace`));
      if (s.secretRef && !s.secretRef.name) errs.push(field.required(`${fld}.secretRef.name`));
      break;
    case 'projected':
      errs.push(...validateMode(s.defaultMode, `${fld}.defaultMode`));
      errs.push(...validateProjectedSources(s, fld));
      break;
    case 'scaleIO':
      req('gateway');
      req('system');
      req('volumeName');
      break;
    case 'csi':
      errs.push(...validateCSIDriverName(str(s.driver), `${fld}.driver`));
      if (s.nodePublishSecretRef) {
        if (!s.nodePublishSecretRef.name) errs.push(field.required(`${fld}.nodePublishSecretRef.name`));
        else for (const m of nameIsDNSSubdomain(s.nodePublishSecretRef.name, false)) errs.push(field.invalid(`${fld}.name`, s.nodePublishSecretRef.name, m));
      }
      break;
    case 'ephemeral':
      if (!s.volumeClaimTemplate) errs.push(field.required(`${fld}.volumeClaimTemplate`));
      else {
        errs.push(...validateTemplateObjectMeta(s.volumeClaimTemplate.metadata, `${fld}.volumeClaimTemplate.metadata`));
        errs.push(...validatePersistentVolumeClaimSpec(s.volumeClaimTemplate.spec ?? {}, `${fld}.volumeClaimTemplate.spec`));
      }
      break;
    case 'image':
      errs.push(...validatePullPolicy(s.pullPolicy, `${fld}.pullPolicy`));
      break;
  }
  return errs;
}

export function validateCSIDriverName(driver: string, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!driver) errs.push(field.required(fld));
  if (driver.length > 63) errs.push(field.tooLong(fld, '', 63));
  for (const m of isDNS1123Subdomain(driver.toLowerCase())) errs.push(field.invalid(fld, driver, m));
  return errs;
}

function validateVolumeSource(vol: Json, fld: string, podMeta: Json | undefined, opts: PodValidationOptions): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  for (const kind of VOLUME_SOURCES) {
    if (vol[kind] == null) continue;
    if (n > 0) {
      errs.push(field.forbidden(`${fld}.${SECOND_SOURCE_PATH[kind] ?? kind}`, 'may not specify more than 1 volume type'));
      continue;
    }
    n++;
    if (kind === 'image' && opts.resourceIsPod && !vol.image.reference) errs.push(field.required(`${fld}.image.reference`));
    errs.push(...validateVolumeSourceBody(kind, vol[kind] ?? {}, `${fld}.${SOURCE_ERROR_PATH[kind] ?? kind}`, str(vol.name)));
    if (kind === 'ephemeral' && podMeta?.name && vol.name) {
      const pvc = `${podMeta.name}-${vol.name}`;
      for (const m of nameIsDNSSubdomain(pvc, false)) errs.push(field.invalid(`${fld}.name`, vol.name, `PVC name "${pvc}": ${m}`));
    }
  }
  if (n === 0) errs.push(field.required(fld, 'must specify a volume type'));
  return errs;
}

/** Validates spec.volumes; returns the valid volumes by name for mount checks. */
export function validateVolumes(volumes: unknown, podMeta: Json | undefined, fld: string, opts: PodValidationOptions): { vols: Map<string, Json>; errs: FieldError[] } {
  const errs: FieldError[] = [];
  const vols = new Map<string, Json>();
  const created = new Set<string>();
  const list = arr(volumes);
  if (podMeta?.name) for (const v of list) if (v?.ephemeral) created.add(`${podMeta.name}-${v.name}`);
  list.forEach((v0, i) => {
    const vol = v0 ?? {};
    const p = `${fld}[${i}]`;
    const el = validateVolumeSource(vol, p, podMeta, opts);
    if (!vol.name) el.push(field.required(`${p}.name`));
    else el.push(...validateDNS1123Label(vol.name, `${p}.name`));
    if (vols.has(vol.name)) el.push(field.duplicate(`${p}.name`, vol.name));
    if (el.length === 0) vols.set(vol.name, vol);
    else errs.push(...el);
    if (vol.persistentVolumeClaim && created.has(vol.persistentVolumeClaim.claimName)) {
      errs.push(field.invalid(`${p}.persistentVolumeClaim.claimName`, vol.persistentVolumeClaim.claimName, 'must not reference a PVC that gets created for an ephemeral volume'));
    }
  });
  return { vols, errs };
}

// ---------------------------------------------------------------------------------------------
// PersistentVolumeClaimSpec (also used by ephemeral volumes and StatefulSet claim templates)

export const SUPPORTED_ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
export const SUPPORTED_VOLUME_MODES = ['Block', 'Filesystem'];

function validateDataSource(ds: Json, fld: string, withNamespace: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!ds.name) errs.push(field.required(`${fld}.name`));
  if (!ds.kind) errs.push(field.required(`${fld}.kind`));
  const group = str(ds.apiGroup);
  if (!group && ds.kind !== 'PersistentVolumeClaim') errs.push(field.invalid(fld, str(ds.kind), "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
  if (group) for (const m of isDNS1123Subdomain(group)) errs.push(field.invalid(`${fld}.apiGroup`, group, m));
  if (withNamespace && ds.namespace) for (const m of validateNamespaceName(ds.namespace, false)) errs.push(field.invalid(`${fld}.namespace`, ds.namespace, m));
  return errs;
}

export function validatePersistentVolumeClaimSpec(spec: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const modes = arr(spec.accessModes);
  if (modes.length === 0) errs.push(field.required(`${fld}.accessModes`, 'at least 1 access mode is required'));
  if (spec.selector != null) errs.push(...validateLabelSelector(spec.selector, {}, `${fld}.selector`));
  let rwop = false;
  let other = false;
  for (const m of modes) {
    if (!SUPPORTED_ACCESS_MODES.includes(m)) errs.push(field.notSupported(`${fld}.accessModes`, m, SUPPORTED_ACCESS_MODES));
    if (m === 'ReadWriteOncePod') rwop = true;
    else if (SUPPORTED_ACCESS_MODES.includes(m)) other = true;
  }
  if (rwop && other) errs.push(field.forbidden(`${fld}.accessModes`, 'may not use ReadWriteOncePod with other access modes'));
  const requests = spec.resources?.requests ?? {};
  const storagePath = `${fld}.resources[storage]`;
  if (!Object.hasOwn(requests, 'storage')) errs.push(field.required(storagePath));
  else {
    const q = quantityAt(requests.storage, storagePath, errs);
    if (q) {
      if (q.nanos <= 0n) errs.push(field.invalid(storagePath, quantityString(q), 'must be greater than zero'));
      else errs.push(...validateResourceQuantityValue('storage', q, storagePath));
    }
  }
  if (spec.storageClassName) for (const m of nameIsDNSSubdomain(spec.storageClassName, false)) errs.push(field.invalid(`${fld}.storageClassName`, spec.storageClassName, m));
  if (spec.volumeMode != null && !SUPPORTED_VOLUME_MODES.includes(spec.volumeMode)) errs.push(field.notSupported(`${fld}.volumeMode`, spec.volumeMode, SUPPORTED_VOLUME_MODES));
  if (spec.dataSource) errs.push(...validateDataSource(spec.dataSource, `${fld}.dataSource`, false));
  if (spec.dataSourceRef) errs.push(...validateDataSource(spec.dataSourceRef, `${fld}.dataSourceRef`, true));
  if (spec.dataSourceRef?.namespace) {
    if (spec.dataSource) errs.push(field.invalid(fld, goSyntax(`${fld}.dataSource`), 'may not be specified when dataSourceRef.namespace is specified'));
  } else if (spec.dataSource && spec.dataSourceRef) {
    const a = spec.dataSource;
    const b = spec.dataSourceRef;
    if ((a.apiGroup ?? null) !== (b.apiGroup ?? null) || a.kind !== b.kind || a.name !== b.name) {
      errs.push(field.invalid(fld, goSyntax(`${fld}.dataSource`), 'must match dataSourceRef'));
    }
  }
  if (spec.volumeAttributesClassName) {
    for (const m of nameIsDNSSubdomain(spec.volumeAttributesClassName, false)) errs.push(field.invalid(`${fld}.volumeAttributesClassName`, spec.volumeAttributesClassName, m));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Containers

export function validateContainerPorts(ports: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  arr(ports).forEach((p0, i) => {
    const p = p0 ?? {};
    const ip = `${fld}[${i}]`;
    if (p.name) {
      const msgs = isValidPortName(p.name);
      if (msgs.length) for (const m of msgs) errs.push(field.invalid(`${ip}.name`, p.name, m));
      else if (names.has(p.name)) errs.push(field.duplicate(`${ip}.name`, p.name));
      else names.add(p.name);
    }
    if (!p.containerPort) errs.push(field.required(`${ip}.containerPort`));
    else for (const m of isValidPortNum(p.containerPort)) errs.push(field.invalid(`${ip}.containerPort`, p.containerPort, m));
    if (p.hostPort) for (const m of isValidPortNum(p.hostPort)) errs.push(field.invalid(`${ip}.hostPort`, p.hostPort, m));
    if (!p.protocol) errs.push(field.required(`${ip}.protocol`));
    else if (!SUPPORTED_PORT_PROTOCOLS.includes(p.protocol)) errs.push(field.notSupported(`${ip}.protocol`, p.protocol, SUPPORTED_PORT_PROTOCOLS));
  });
  return errs;
}

function validateEnvVarValueFrom(ev: Json, fld: string): FieldError[] {
  const vf = ev.valueFrom;
  if (vf == null) return [];
  const errs: FieldError[] = [];
  let n = 0;
  if (vf.fieldRef) {
    n++;
    errs.push(...validateObjectFieldSelector(vf.fieldRef, ENV_DOWNWARD_PATHS, `${fld}.fieldRef`));
  }
  if (vf.resourceFieldRef) {
    n++;
    errs.push(...validateContainerResourceFieldSelector(vf.resourceFieldRef, `${fld}.resourceFieldRef`, false));
  }
  for (const kind of ['configMapKeyRef', 'secretKeyRef']) {
    const s = vf[kind];
    if (!s) continue;
    n++;
    for (const m of nameIsDNSSubdomain(str(s.name), false)) errs.push(field.invalid(`${fld}.${kind}.name`, str(s.name), m));
    if (!s.key) errs.push(field.required(`${fld}.${kind}.key`));
    else for (const m of isConfigMapKey(s.key)) errs.push(field.invalid(`${fld}.${kind}.key`, s.key, m));
  }
  if (n === 0) errs.push(field.invalid(fld, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
  else if (ev.value) errs.push(field.invalid(fld, '', 'may not be specified when `value` is not empty'));
  else if (n > 1) errs.push(field.invalid(fld, '', 'may not have more than one field specified at a time'));
  return errs;
}

export function validateEnv(vars: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(vars).forEach((ev0, i) => {
    const ev = ev0 ?? {};
    const ip = `${fld}[${i}]`;
    if (!ev.name) errs.push(field.required(`${ip}.name`));
    else for (const m of isRelaxedEnvVarName(ev.name)) errs.push(field.invalid(`${ip}.name`, ev.name, m));
    errs.push(...validateEnvVarValueFrom(ev, `${ip}.valueFrom`));
  });
  return errs;
}

function validateEnvFrom(vars: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(vars).forEach((ev0, i) => {
    const ev = ev0 ?? {};
    const ip = `${fld}[${i}]`;
    if (ev.prefix) for (const m of isRelaxedEnvVarName(ev.prefix)) errs.push(field.invalid(`${ip}.prefix`, ev.prefix, m));
    let n = 0;
    for (const kind of ['configMapRef', 'secretRef']) {
      const s = ev[kind];
      if (!s) continue;
      n++;
      if (!s.name) errs.push(field.required(`${ip}.${kind}.name`));
      else for (const m of nameIsDNSSubdomain(s.name, true)) errs.push(field.invalid(`${ip}.${kind}.name`, s.name, m));
    }
    if (n === 0) errs.push(field.invalid(fld, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(field.invalid(fld, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

const MOUNT_PROPAGATIONS = ['Bidirectional', 'HostToContainer', 'None'];

function validateVolumeMounts(mounts: unknown, devices: Map<string, string>, vols: Map<string, Json>, ctr: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const points = new Set<string>();
  const devPaths = new Set(devices.values());
  arr(mounts).forEach((m0, i) => {
    const m = m0 ?? {};
    const ip = `${fld}[${i}]`;
    if (!m.name) errs.push(field.required(`${ip}.name`));
    if (!vols.has(m.name)) errs.push(field.notFound(`${ip}.name`, str(m.name)));
    if (!m.mountPath) errs.push(field.required(`${ip}.mountPath`));
    if (points.has(m.mountPath)) errs.push(field.invalid(`${ip}.mountPath`, str(m.mountPath), 'must be unique'));
    points.add(m.mountPath);
    if (devices.has(m.name)) errs.push(field.invalid(`${ip}.name`, m.name, 'must not already exist in volumeDevices'));
    if (devPaths.has(m.mountPath)) errs.push(field.invalid(`${ip}.mountPath`, m.mountPath, 'must not already exist as a path in volumeDevices'));
    if (vols.get(m.name)?.image) {
      if (m.subPath) errs.push(field.invalid(`${ip}.subPath`, m.subPath, 'not allowed in image volume sources'));
      if (m.subPathExpr) errs.push(field.invalid(`${ip}.subPathExpr`, m.subPathExpr, 'not allowed in image volume sources'));
    }
    if (m.subPath) errs.push(...validateLocalDescendingPath(m.subPath, `${fld}.subPath`));
    if (m.subPathExpr) {
      if (m.subPath) errs.push(field.invalid(`${ip}.subPathExpr`, m.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      errs.push(...validateLocalDescendingPath(m.subPathExpr, `${fld}.subPathExpr`));
    }
    if (m.mountPropagation != null) {
      const pp = `${fld}.mountPropagation`;
      if (!MOUNT_PROPAGATIONS.includes(m.mountPropagation)) errs.push(field.notSupported(pp, m.mountPropagation, MOUNT_PROPAGATIONS));
      if (ctr && m.mountPropagation === 'Bidirectional' && ctr.securityContext?.privileged !== true) {
        errs.push(field.forbidden(pp, 'Bidirectional mount propagation is available only to privileged containers'));
      }
    }
    if (m.recursiveReadOnly != null) {
      const rp = `${fld}.recursiveReadOnly`;
      if (m.recursiveReadOnly === 'Enabled' || m.recursiveReadOnly === 'IfPossible') {
        if (!m.readOnly) errs.push(field.forbidden(rp, 'may only be specified when readOnly is true'));
        if (m.mountPropagation != null && m.mountPropagation !== 'None') errs.push(field.forbidden(rp, 'may only be specified when mountPropagation is None or not specified'));
      } else if (m.recursiveReadOnly !== 'Disabled') errs.push(field.notSupported(rp, m.recursiveReadOnly, ['Disabled', 'Enabled', 'IfPossible']));
    }
  });
  return errs;
}

function validateVolumeDevices(devices: unknown, mounts: Map<string, string>, vols: Map<string, Json>, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const paths = new Set<string>();
  const names = new Set<string>();
  const mountPaths = new Set(mounts.values());
  arr(devices).forEach((d0, i) => {
    const d = d0 ?? {};
    const ip = `${fld}[${i}]`;
    const v = vols.get(d.name);
    if (!d.name) errs.push(field.required(`${ip}.name`));
    if (names.has(d.name)) errs.push(field.invalid(`${ip}.name`, d.name, 'must be unique'));
    if (v && !v.persistentVolumeClaim && !v.ephemeral) {
      errs.push(field.invalid(`${ip}.name`, d.name, 'can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode'));
    }
    if (!v) errs.push(field.notFound(`${ip}.name`, str(d.name)));
    if (!d.devicePath) errs.push(field.required(`${ip}.devicePath`));
    if (paths.has(d.devicePath)) errs.push(field.invalid(`${ip}.devicePath`, d.devicePath, 'must be unique'));
    if (d.devicePath && validatePathNoBacksteps(d.devicePath, '').length) errs.push(field.invalid(`${ip}.devicePath`, d.devicePath, "can not contain backsteps ('..')"));
    else paths.add(d.devicePath);
    if (mounts.has(d.name)) errs.push(field.invalid(`${ip}.name`, d.name, 'must not already exist in volumeMounts'));
    if (mountPaths.has(d.devicePath)) errs.push(field.invalid(`${ip}.devicePath`, d.devicePath, 'must not already exist as a path in volumeMounts'));
    if (d.name) names.add(d.name);
  });
  return errs;
}

export function validatePullPolicy(policy: unknown, fld: string): FieldError[] {
  if (policy === 'Always' || policy === 'IfNotPresent' || policy === 'Never') return [];
  if (!policy) return [field.required(fld)];
  return [field.notSupported(fld, policy, ['Always', 'IfNotPresent', 'Never'])];
}

/** Container resources: names, quantities, requests ≤ limits, non-overcommittable equality. */
export function validateResourceRequirements(req: Json, fld: string, podClaims: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const limPath = `${fld}.limits`;
  const reqPath = `${fld}.requests`;
  const limits = new Map<string, ReturnType<typeof quantityAt>>();
  let limCpuMem = false;
  let reqCpuMem = false;
  let limHuge = false;
  let reqHuge = false;
  for (const [name, v] of entries(req?.limits)) {
    const p = `${limPath}[${name}]`;
    errs.push(...validateContainerResourceName(name, p));
    const q = quantityAt(v, p, errs);
    limits.set(name, q);
    if (q) errs.push(...validateResourceQuantityValue(name, q, p));
    if (isHugePageResourceName(name)) limHuge = true;
    if (name === 'cpu' || name === 'memory') limCpuMem = true;
  }
  for (const [name, v] of entries(req?.requests)) {
    const p = `${reqPath}[${name}]`;
    errs.push(...validateContainerResourceName(name, p));
    const q = quantityAt(v, p, errs);
    if (q) errs.push(...validateResourceQuantityValue(name, q, p));
    if (limits.has(name)) {
      const lim = limits.get(name);
      if (q && lim) {
        if (q.nanos !== lim.nanos && !isOvercommitAllowed(name)) {
          errs.push(field.invalid(reqPath, quantityString(q), `must be equal to ${name} limit of ${quantityString(lim)}`));
        } else if (q.nanos > lim.nanos) {
          errs.push(field.invalid(reqPath, quantityString(q), `must be less than or equal to ${name} limit of ${quantityString(lim)}`));
        }
      }
    } else if (!isOvercommitAllowed(name)) {
      errs.push(field.required(limPath, 'Limit must be set for non overcommitable resources'));
    }
    if (isHugePageResourceName(name)) reqHuge = true;
    if (name === 'cpu' || name === 'memory') reqCpuMem = true;
  }
  if (!limCpuMem && !reqCpuMem && (reqHuge || limHuge)) errs.push(field.forbidden(fld, 'HugePages require cpu or memory'));
  const names = new Set<string>();
  arr(req?.claims).forEach((c, i) => {
    const name = str(c?.name);
    const p = `${fld}.claims[${i}]`;
    if (!name) {
      errs.push(field.required(p));
      return;
    }
    const key = c.request ? `${name}/${c.request}` : name;
    if (c.request) errs.push(...validateDNS1123Label(c.request, `${p}.request`));
    if (names.has(name) || names.has(key)) errs.push(field.duplicate(p, key));
    names.add(key);
    if (!podClaims.has(name)) {
      const e = field.notFound(p, name);
      e.detail = 'must be one of the names in pod.spec.resourceClaims' + (podClaims.size === 0 ? ' which is empty' : `: ${[...podClaims].sort().join(', ')}`);
      errs.push(e);
    }
  });
  return errs;
}

const RESIZE_RESOURCES = ['cpu', 'memory'];
const RESIZE_POLICIES = ['NotRequired', 'RestartContainer'];

function validateResizePolicy(list: unknown, fld: string, podRestartPolicy: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  arr(list).forEach((p0, i) => {
    const p = p0 ?? {};
    if (seen.has(p.resourceName)) errs.push(field.duplicate(`${fld}[${i}]`, p.resourceName));
    seen.add(p.resourceName);
    if (!p.resourceName) errs.push(field.required(fld));
    else if (!RESIZE_RESOURCES.includes(p.resourceName)) errs.push(field.notSupported(fld, p.resourceName, RESIZE_RESOURCES));
    if (!p.restartPolicy) errs.push(field.required(fld));
    else if (!RESIZE_POLICIES.includes(p.restartPolicy)) errs.push(field.notSupported(fld, p.restartPolicy, RESIZE_POLICIES));
    if (podRestartPolicy === 'Never' && p.restartPolicy !== 'NotRequired') {
      errs.push(field.invalid(fld, str(p.restartPolicy), "must be 'NotRequired' when `restartPolicy` is 'Never'"));
    }
  });
  return errs;
}

function validateSeccompProfileField(sp: Json, fld: string): FieldError[] {
  if (sp == null) return [];
  const errs: FieldError[] = [];
  const types = ['Localhost', 'RuntimeDefault', 'Unconfined'];
  if (!sp.type) errs.push(field.required(`${fld}.type`, 'type is required when seccompProfile is set'));
  else if (!types.includes(sp.type)) errs.push(field.notSupported(`${fld}.type`, sp.type, types));
  if (sp.type === 'Localhost') {
    if (sp.localhostProfile == null) errs.push(field.required(`${fld}.localhostProfile`, 'must be set when seccomp type is Localhost'));
    else errs.push(...validateLocalDescendingPath(str(sp.localhostProfile), `${fld}.localhostProfile`));
  } else if (sp.localhostProfile != null) {
    errs.push(field.invalid(`${fld}.localhostProfile`, sp.localhostProfile, 'can only be set when seccomp type is Localhost'));
  }
  return errs;
}

function validateAppArmorProfileField(p: Json, fld: string): FieldError[] {
  if (p == null) return [];
  const errs: FieldError[] = [];
  switch (p.type) {
    case 'Localhost':
      if (p.localhostProfile == null) errs.push(field.required(`${fld}.localhostProfile`, 'must be set when AppArmor type is Localhost'));
      else {
        const lp = str(p.localhostProfile);
        if (lp.trim() !== lp) errs.push(field.invalid(`${fld}.localhostProfile`, lp, 'must not be padded with whitespace'));
        else if (lp === '') errs.push(field.required(`${fld}.localhostProfile`, 'must be set when AppArmor type is Localhost'));
        if (lp.length > 4095) errs.push(field.tooLong(`${fld}.localhostProfile`, '', 4095));
      }
      break;
    case 'RuntimeDefault':
    case 'Unconfined':
      if (p.localhostProfile != null) errs.push(field.invalid(`${fld}.localhostProfile`, p.localhostProfile, 'can only be set when AppArmor type is Localhost'));
      break;
    case undefined:
    case null:
    case '':
      errs.push(field.required(`${fld}.type`, 'type is required when appArmorProfile is set'));
      break;
    default:
      errs.push(field.notSupported(`${fld}.type`, p.type, ['Localhost', 'RuntimeDefault', 'Unconfined']));
  }
  return errs;
}

function validateSecurityContext(sc: Json, fld: string, hostUsers: boolean): FieldError[] {
  if (sc == null) return [];
  const errs: FieldError[] = [];
  if (sc.runAsUser != null) for (const m of isValidUserID(sc.runAsUser)) errs.push(field.invalid(`${fld}.runAsUser`, sc.runAsUser, m));
  if (sc.runAsGroup != null) for (const m of isValidGroupID(sc.runAsGroup)) errs.push(field.invalid(`${fld}.runAsGroup`, sc.runAsGroup, m));
  if (sc.procMount != null) {
    if (sc.procMount !== 'Default' && sc.procMount !== 'Unmasked') errs.push(field.notSupported(`${fld}.procMount`, sc.procMount, ['Default', 'Unmasked']));
    if (hostUsers && sc.procMount === 'Unmasked') errs.push(field.invalid(`${fld}.procMount`, sc.procMount, '`hostUsers` must be false to use `Unmasked`'));
  }
  errs.push(...validateSeccompProfileField(sc.seccompProfile, `${fld}.seccompProfile`));
  if (sc.allowPrivilegeEscalation === false) {
    const scGo = goSyntax('&core.SecurityContext{...}');
    if (sc.privileged === true) errs.push(field.invalid(fld, scGo, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
    for (const c of arr(sc.capabilities?.add)) {
      if (c === 'CAP_SYS_ADMIN') errs.push(field.invalid(fld, scGo, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
    }
  }
  errs.push(...validateAppArmorProfileField(sc.appArmorProfile, `${fld}.appArmorProfile`));
  return errs;
}

function validateContainerCommon(ctr: Json, vols: Map<string, Json>, podClaims: Set<string>, fld: string, podRestartPolicy: string, hostUsers: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!ctr.name) errs.push(field.required(`${fld}.name`));
  else errs.push(...validateDNS1123Label(ctr.name, `${fld}.name`));
  if (!ctr.image) errs.push(field.required(`${fld}.image`));
  switch (ctr.terminationMessagePolicy) {
    case 'File':
    case 'FallbackToLogsOnError':
      break;
    case undefined:
    case null:
    case '':
      errs.push(field.required(`${fld}.terminationMessagePolicy`));
      break;
    default:
      errs.push(field.notSupported(`${fld}.terminationMessagePolicy`, ctr.terminationMessagePolicy, ['File', 'FallbackToLogsOnError']));
  }
  const mounts = new Map<string, string>(arr(ctr.volumeMounts).map((m) => [m?.name, m?.mountPath]));
  const devices = new Map<string, string>(arr(ctr.volumeDevices).map((d) => [d?.name, d?.devicePath]));
  errs.push(...validateContainerPorts(ctr.ports, `${fld}.ports`));
  errs.push(...validateEnv(ctr.env, `${fld}.env`));
  errs.push(...validateEnvFrom(ctr.envFrom, `${fld}.envFrom`));
  errs.push(...validateVolumeMounts(ctr.volumeMounts, devices, vols, ctr, `${fld}.volumeMounts`));
  errs.push(...validateVolumeDevices(ctr.volumeDevices, mounts, vols, `${fld}.volumeDevices`));
  errs.push(...validatePullPolicy(ctr.imagePullPolicy, `${fld}.imagePullPolicy`));
  errs.push(...validateResourceRequirements(ctr.resources ?? {}, `${fld}.resources`, podClaims));
  errs.push(...validateResizePolicy(ctr.resizePolicy, `${fld}.resizePolicy`, podRestartPolicy));
  errs.push(...validateSecurityContext(ctr.securityContext, `${fld}.securityContext`, hostUsers));
  return errs;
}

// Probes and lifecycle handlers

function validatePortNumOrName(port: unknown, fld: string): FieldError[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => field.invalid(fld, port, m));
  if (typeof port === 'string') return isValidPortName(port).map((m) => field.invalid(fld, port, m));
  return [field.internal(fld, 'unknown type: 0')];
}

function validateHandler(h: Json, grace: number | undefined, fld: string, allowGrpc: boolean, allowSleep: boolean): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  const one = (k: string, check: () => void) => {
    if (h[k] == null) return;
    if (n > 0) errs.push(field.forbidden(`${fld}.${k}`, 'may not specify more than 1 handler type'));
    else {
      n++;
      check();
    }
  };
  one('exec', () => {
    if (arr(h.exec.command).length === 0) errs.push(field.required(`${fld}.exec.command`));
  });
  one('httpGet', () => {
    const g = h.httpGet;
    if (!g.path) errs.push(field.required(`${fld}.httpGet.path`));
    errs.push(...validatePortNumOrName(g.port, `${fld}.httpGet.port`));
    if (g.scheme !== 'HTTP' && g.scheme !== 'HTTPS') errs.push(field.notSupported(`${fld}.httpGet.scheme`, g.scheme ?? '', ['HTTP', 'HTTPS']));
    for (const hd of arr(g.httpHeaders)) for (const m of isHTTPHeaderName(str(hd?.name))) errs.push(field.invalid(`${fld}.httpGet.httpHeaders`, str(hd?.name), m));
  });
  one('tcpSocket', () => errs.push(...validatePortNumOrName(h.tcpSocket.port, `${fld}.tcpSocket.port`)));
  if (allowGrpc) one('grpc', () => errs.push(...validatePortNumOrName(Number(h.grpc.port ?? 0), `${fld}.grpc.port`)));
  if (allowSleep) {
    one('sleep', () => {
      const s = h.sleep.seconds ?? 0;
      if (grace != null && (s < 0 || s > grace)) {
        errs.push(field.invalid(`${fld}.sleep`, s, `must be non-negative and less than terminationGracePeriodSeconds (${grace})`));
      }
    });
  }
  if (n === 0) errs.push(field.required(fld, 'must specify a handler type'));
  return errs;
}

function validateProbe(p: Json, grace: number | undefined, fld: string): FieldError[] {
  const errs = validateHandler(p, grace, fld, true, false);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    errs.push(...validateNonnegativeField(p[k] ?? 0, `${fld}.${k}`));
  }
  if (p.terminationGracePeriodSeconds != null && p.terminationGracePeriodSeconds <= 0) {
    errs.push(field.invalid(`${fld}.terminationGracePeriodSeconds`, p.terminationGracePeriodSeconds, 'must be greater than 0'));
  }
  return errs;
}

function validateProbes(ctr: Json, grace: number | undefined, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (ctr.livenessProbe) {
    errs.push(...validateProbe(ctr.livenessProbe, grace, `${fld}.livenessProbe`));
    if ((ctr.livenessProbe.successThreshold ?? 0) !== 1) errs.push(field.invalid(`${fld}.livenessProbe.successThreshold`, ctr.livenessProbe.successThreshold ?? 0, 'must be 1'));
  }
  if (ctr.readinessProbe) {
    errs.push(...validateProbe(ctr.readinessProbe, grace, `${fld}.readinessProbe`));
    if (ctr.readinessProbe.terminationGracePeriodSeconds != null) {
      errs.push(field.invalid(`${fld}.readinessProbe.terminationGracePeriodSeconds`, ctr.readinessProbe.terminationGracePeriodSeconds, 'must not be set for readinessProbes'));
    }
  }
  if (ctr.startupProbe) {
    errs.push(...validateProbe(ctr.startupProbe, grace, `${fld}.startupProbe`));
    if ((ctr.startupProbe.successThreshold ?? 0) !== 1) errs.push(field.invalid(`${fld}.startupProbe.successThreshold`, ctr.startupProbe.successThreshold ?? 0, 'must be 1'));
  }
  return errs;
}

function validateLifecycle(lc: Json, grace: number | undefined, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (lc.postStart) errs.push(...validateHandler(lc.postStart, grace, `${fld}.postStart`, false, true));
  if (lc.preStop) errs.push(...validateHandler(lc.preStop, grace, `${fld}.preStop`, false, true));
  return errs;
}

function checkHostPortConflicts(containers: Json[], fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    arr(c?.ports).forEach((p, pi) => {
      if (!p?.hostPort) return;
      const key = `${str(p.protocol)}/${str(p.hostIP)}/${p.hostPort}`;
      if (seen.has(key)) errs.push(field.duplicate(`${fld}[${ci}].ports[${pi}].hostPort`, key));
      else seen.add(key);
    });
  });
  return errs;
}

function validateContainers(containers: unknown, vols: Map<string, Json>, podClaims: Set<string>, grace: number | undefined, fld: string, restartPolicy: string, hostUsers: boolean): FieldError[] {
  const list = arr(containers);
  if (list.length === 0) return [field.required(fld)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  list.forEach((c0, i) => {
    const c = c0 ?? {};
    const p = `${fld}[${i}]`;
    errs.push(...validateContainerCommon(c, vols, podClaims, p, restartPolicy, hostUsers));
    if (names.has(c.name)) errs.push(field.duplicate(`${p}.name`, str(c.name)));
    else names.add(c.name);
    if (c.lifecycle) errs.push(...validateLifecycle(c.lifecycle, grace, `${p}.lifecycle`));
    errs.push(...validateProbes(c, grace, p));
    if (c.restartPolicy != null) errs.push(field.forbidden(`${p}.restartPolicy`, 'may not be set for non-init containers'));
  });
  errs.push(...checkHostPortConflicts(list, fld));
  return errs;
}

function validateInitContainers(containers: unknown, regular: unknown, vols: Map<string, Json>, podClaims: Set<string>, grace: number | undefined, fld: string, restartPolicy: string, hostUsers: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>(arr(regular).map((c) => c?.name));
  arr(containers).forEach((c0, i) => {
    const c = c0 ?? {};
    const p = `${fld}[${i}]`;
    errs.push(...validateContainerCommon(c, vols, podClaims, p, restartPolicy, hostUsers));
    let always = false;
    if (c.restartPolicy != null) {
      if (c.restartPolicy !== 'Always') errs.push(field.notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
      always = c.restartPolicy === 'Always';
    }
    if (names.has(c.name)) errs.push(field.duplicate(`${p}.name`, str(c.name)));
    else if (c.name) names.add(c.name);
    errs.push(...checkHostPortConflicts([c], fld));
    if (always) {
      if (c.lifecycle) errs.push(...validateLifecycle(c.lifecycle, grace, `${p}.lifecycle`));
      errs.push(...validateProbes(c, grace, p));
    } else {
      for (const k of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (c[k] != null) errs.push(field.forbidden(`${p}.${k}`, 'may not be set for init containers without restartPolicy=Always'));
      }
    }
  });
  return errs;
}

const EPHEMERAL_ALLOWED = new Set([
  'name', 'image', 'command', 'args', 'workingDir', 'envFrom', 'env', 'volumeMounts', 'volumeDevices',
  'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty',
  'targetContainerName',
]);

function validateEphemeralContainers(list: unknown, containers: unknown, init: unknown, vols: Map<string, Json>, podClaims: Set<string>, fld: string, restartPolicy: string, hostUsers: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const others = new Set<string>([...arr(containers), ...arr(init)].map((c) => c?.name));
  const all = new Set(others);
  arr(list).forEach((c0, i) => {
    const c = c0 ?? {};
    const p = `${fld}[${i}]`;
    errs.push(...validateContainerCommon(c, vols, podClaims, p, restartPolicy, hostUsers));
    errs.push(...validateContainerOnlyForPod(c, p));
    if (all.has(c.name)) errs.push(field.duplicate(`${p}.name`, str(c.name)));
    else all.add(c.name);
    if (c.targetContainerName && !others.has(c.targetContainerName)) errs.push(field.notFound(`${p}.targetContainerName`, c.targetContainerName));
    for (const [k, v] of entries(c)) {
      if (EPHEMERAL_ALLOWED.has(k) || v == null || (Array.isArray(v) && v.length === 0) || v === false || v === '' || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)) continue;
      errs.push(field.forbidden(`${p}.${k}`, 'cannot be set for an Ephemeral Container'));
    }
    arr(c.volumeMounts).forEach((vm, j) => {
      if (vm?.subPath) errs.push(field.forbidden(`${p}.volumeMounts[${j}].subPath`, 'cannot be set for an Ephemeral Container'));
      if (vm?.subPathExpr) errs.push(field.forbidden(`${p}.volumeMounts[${j}].subPathExpr`, 'cannot be set for an Ephemeral Container'));
    });
  });
  return errs;
}

export function validateContainerOnlyForPod(ctr: Json, fld: string): FieldError[] {
  const image = str(ctr.image);
  return image.length !== image.trim().length ? [field.invalid(`${fld}.image`, image, 'must not have leading or trailing whitespace')] : [];
}

// ---------------------------------------------------------------------------------------------
// Scheduling: tolerations, affinity, topology spread

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function validateTaintEffect(effect: unknown, allowEmpty: boolean, fld: string): FieldError[] {
  if (!allowEmpty && !effect) return [field.required(fld)];
  if (effect && !TAINT_EFFECTS.includes(effect as string)) return [field.notSupported(fld, effect, TAINT_EFFECTS)];
  return [];
}

export function validateTolerations(tolerations: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(tolerations).forEach((t0, i) => {
    const t = t0 ?? {};
    const p = `${fld}[${i}]`;
    if (t.key) errs.push(...validateLabelName(t.key, `${p}.key`));
    if (!t.key && t.operator !== 'Exists') {
      errs.push(field.invalid(`${p}.operator`, str(t.operator), 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds != null && t.effect !== 'NoExecute') {
      errs.push(field.invalid(`${p}.effect`, str(t.effect), "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    switch (t.operator ?? '') {
      case 'Equal':
      case '': {
        const msgs = isValidLabelValue(str(t.value));
        if (msgs.length) errs.push(field.invalid(`${p}.operator`, str(t.value), msgs.join(';')));
        break;
      }
      case 'Exists':
        if (t.value) errs.push(field.invalid(`${p}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(field.notSupported(`${p}.operator`, t.operator, ['Equal', 'Exists']));
    }
    if (t.effect) errs.push(...validateTaintEffect(t.effect, true, `${p}.effect`));
  });
  return errs;
}

function validateNodeSelectorRequirement(rq: Json, allowInvalidValue: boolean, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const values = arr(rq.values);
  switch (rq.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(field.required(`${fld}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(field.forbidden(`${fld}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1) errs.push(field.required(`${fld}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(field.invalid(`${fld}.operator`, str(rq.operator), 'not a valid selector operator'));
  }
  errs.push(...validateLabelName(str(rq.key), `${fld}.key`));
  if (!allowInvalidValue) values.forEach((v, i) => { for (const m of isValidLabelValue(str(v))) errs.push(field.invalid(`${fld}.values[${i}]`, v, m)); });
  return errs;
}

function validateNodeFieldSelectorRequirement(rq: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (rq.operator === 'In' || rq.operator === 'NotIn') {
    if (arr(rq.values).length !== 1) errs.push(field.required(`${fld}.values`, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
  } else errs.push(field.invalid(`${fld}.operator`, str(rq.operator), 'not a valid selector operator'));
  if (rq.key !== 'metadata.name') errs.push(field.invalid(`${fld}.key`, str(rq.key), 'not a valid field selector key'));
  else arr(rq.values).forEach((v, i) => { for (const m of nameIsDNSSubdomain(str(v), false)) errs.push(field.invalid(`${fld}.values[${i}]`, v, m)); });
  return errs;
}

export function validateNodeSelectorTerm(term: Json, allowInvalidValue: boolean, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(term?.matchExpressions).forEach((r, j) => errs.push(...validateNodeSelectorRequirement(r ?? {}, allowInvalidValue, `${fld}.matchExpressions[${j}]`)));
  arr(term?.matchFields).forEach((r, j) => errs.push(...validateNodeFieldSelectorRequirement(r ?? {}, `${fld}.matchFields[${j}]`)));
  return errs;
}

export function validateNodeSelector(ns: Json, allowInvalidValue: boolean, fld: string): FieldError[] {
  const terms = arr(ns?.nodeSelectorTerms);
  if (terms.length === 0) return [field.required(`${fld}.nodeSelectorTerms`, 'must have at least one node selector term')];
  return terms.flatMap((t, i) => validateNodeSelectorTerm(t, allowInvalidValue, `${fld}.nodeSelectorTerms[${i}]`));
}

function validatePodAffinityTerm(term: Json, fld: string): FieldError[] {
  const errs = validateLabelSelector(term.labelSelector, {}, `${fld}.labelSelector`);
  errs.push(...validateLabelSelector(term.namespaceSelector, {}, `${fld}.namespaceSelector`));
  for (const ns of arr(term.namespaces)) for (const m of validateNamespaceName(str(ns), false)) errs.push(field.invalid(`${fld}.namespace`, ns, m));
  for (const k of ['matchLabelKeys', 'mismatchLabelKeys']) {
    const keys = arr(term[k]);
    if (keys.length === 0) continue;
    if (term.labelSelector == null) errs.push(field.forbidden(`${fld}.${k}`, 'must not be specified when labelSelector is not set'));
    else keys.forEach((key, i) => errs.push(...validateLabelName(str(key), `${fld}.${k}[${i}]`)));
  }
  const mismatch = new Set(arr(term.mismatchLabelKeys));
  arr(term.matchLabelKeys).forEach((key, i) => {
    if (mismatch.has(key)) errs.push(field.invalid(`${fld}.matchLabelKeys[${i}]`, key, 'exists in both matchLabelKeys and mismatchLabelKeys'));
  });
  if (!term.topologyKey) errs.push(field.required(`${fld}.topologyKey`, 'can not be empty'));
  errs.push(...validateLabelName(str(term.topologyKey), `${fld}.topologyKey`));
  return errs;
}

function validatePodAffinityLike(pa: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  arr(pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((t, i) =>
    errs.push(...validatePodAffinityTerm(t ?? {}, `${fld}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`)),
  );
  arr(pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((w0, i) => {
    const w = w0 ?? {};
    const p = `${fld}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    if (!(w.weight > 0 && w.weight <= 100)) errs.push(field.invalid(`${p}.weight`, w.weight ?? 0, 'must be in the range 1-100'));
    errs.push(...validatePodAffinityTerm(w.podAffinityTerm ?? {}, `${p}.podAffinityTerm`));
  });
  return errs;
}

function validateAffinity(aff: Json, fld: string): FieldError[] {
  if (aff == null) return [];
  const errs: FieldError[] = [];
  const na = aff.nodeAffinity;
  if (na) {
    if (na.requiredDuringSchedulingIgnoredDuringExecution != null) {
      errs.push(...validateNodeSelector(na.requiredDuringSchedulingIgnoredDuringExecution, false, `${fld}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`));
    }
    arr(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((t0, i) => {
      const t = t0 ?? {};
      const p = `${fld}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      if (!(t.weight > 0 && t.weight <= 100)) errs.push(field.invalid(`${p}.weight`, t.weight ?? 0, 'must be in the range 1-100'));
      errs.push(...validateNodeSelectorTerm(t.preference ?? {}, true, `${p}.preference`));
    });
  }
  if (aff.podAffinity) errs.push(...validatePodAffinityLike(aff.podAffinity, `${fld}.podAffinity`));
  if (aff.podAntiAffinity) errs.push(...validatePodAffinityLike(aff.podAntiAffinity, `${fld}.podAntiAffinity`));
  return errs;
}

function validateTopologySpreadConstraints(list: unknown, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const cs = arr(list);
  cs.forEach((c0, i) => {
    const c = c0 ?? {};
    const p = `${fld}[${i}]`;
    if (!((c.maxSkew ?? 0) > 0)) errs.push(field.invalid(`${p}.maxSkew`, c.maxSkew ?? 0, 'must be greater than zero'));
    if (!c.topologyKey) errs.push(field.required(`${p}.topologyKey`, 'can not be empty'));
    if (c.whenUnsatisfiable !== 'DoNotSchedule' && c.whenUnsatisfiable !== 'ScheduleAnyway') {
      errs.push(field.notSupported(`${p}.whenUnsatisfiable`, str(c.whenUnsatisfiable), ['DoNotSchedule', 'ScheduleAnyway']));
    }
    for (const rest of cs.slice(i + 1)) {
      if (rest?.topologyKey === c.topologyKey && rest?.whenUnsatisfiable === c.whenUnsatisfiable) {
        errs.push(field.duplicate(`${p}.{topologyKey, whenUnsatisfiable}`, `{${str(c.topologyKey)}, ${str(c.whenUnsatisfiable)}}`));
        break;
      }
    }
    if (c.minDomains != null) {
      if (c.minDomains <= 0) errs.push(field.invalid(`${p}.minDomains`, c.minDomains, 'must be greater than zero'));
      if (c.whenUnsatisfiable !== 'DoNotSchedule') {
        errs.push(field.invalid(`${p}.minDomains`, c.minDomains, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${str(c.whenUnsatisfiable)}`));
      }
    }
    for (const k of ['nodeAffinityPolicy', 'nodeTaintsPolicy']) {
      if (c[k] != null && c[k] !== 'Honor' && c[k] !== 'Ignore') errs.push(field.notSupported(`${p}.${k}`, c[k], ['Honor', 'Ignore']));
    }
    const keys = arr(c.matchLabelKeys);
    if (keys.length) {
      const selKeys = new Set<string>();
      if (c.labelSelector) {
        for (const [k] of entries(c.labelSelector.matchLabels)) selKeys.add(k);
        for (const e of arr(c.labelSelector.matchExpressions)) selKeys.add(e?.key);
      } else errs.push(field.forbidden(`${p}.matchLabelKeys`, 'must not be specified when labelSelector is not set'));
      keys.forEach((k, j) => {
        errs.push(...validateLabelName(str(k), `${p}.matchLabelKeys[${j}]`));
        if (selKeys.has(k)) errs.push(field.invalid(`${p}.matchLabelKeys[${j}]`, k, 'exists in both matchLabelKeys and labelSelector'));
      });
    }
    errs.push(...validateLabelSelector(c.labelSelector, {}, `${p}.labelSelector`));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Pod security context, DNS, and the pod spec itself

const SYSCTL_SEGMENT = '[a-z0-9]([-_a-z0-9]*[a-z0-9])?';
const SYSCTL_RE = new RegExp(`^(${SYSCTL_SEGMENT}[\\./])*${SYSCTL_SEGMENT}$`);

function sysctlNamespace(name: string): 'net' | 'ipc' | undefined {
  const n = name.replaceAll('/', '.');
  if (n.startsWith('net.')) return 'net';
  if (n.startsWith('kernel.shm') || n.startsWith('kernel.msg') || n === 'kernel.sem' || n.startsWith('fs.mqueue.')) return 'ipc';
  return undefined;
}

function validatePodSecurityContext(spec: Json, fld: string): FieldError[] {
  const sc = spec.securityContext;
  if (sc == null) return [];
  const errs: FieldError[] = [];
  if (sc.fsGroup != null) for (const m of isValidGroupID(sc.fsGroup)) errs.push(field.invalid(`${fld}.fsGroup`, sc.fsGroup, m));
  if (sc.runAsUser != null) for (const m of isValidUserID(sc.runAsUser)) errs.push(field.invalid(`${fld}.runAsUser`, sc.runAsUser, m));
  if (sc.runAsGroup != null) for (const m of isValidGroupID(sc.runAsGroup)) errs.push(field.invalid(`${fld}.runAsGroup`, sc.runAsGroup, m));
  arr(sc.supplementalGroups).forEach((g, i) => { for (const m of isValidGroupID(g)) errs.push(field.invalid(`${fld}.supplementalGroups[${i}]`, g, m)); });
  if (spec.shareProcessNamespace === true && spec.hostPID === true) {
    errs.push(field.invalid(`${fld}.shareProcessNamespace`, true, 'ShareProcessNamespace and HostPID cannot both be enabled'));
  }
  const names = new Set<string>();
  arr(sc.sysctls).forEach((s0, i) => {
    const s = s0 ?? {};
    const p = `${fld}.sysctls[${i}].name`;
    if (!s.name) errs.push(field.required(p));
    else if (s.name.length > 253 || !SYSCTL_RE.test(s.name)) {
      errs.push(field.invalid(p, s.name, `must have at most 253 characters and match regex ^(${SYSCTL_SEGMENT}[\\./])*${SYSCTL_SEGMENT}$`));
    } else if (names.has(s.name)) errs.push(field.duplicate(p, s.name));
    const ns = sysctlNamespace(str(s.name));
    if (spec.hostNetwork === true && ns === 'net') errs.push(field.invalid(p, s.name, "may not be specified when 'hostNetwork' is true"));
    else if (spec.hostIPC === true && ns === 'ipc') errs.push(field.invalid(p, s.name, "may not be specified when 'hostIPC' is true"));
    names.add(s.name);
  });
  if (sc.fsGroupChangePolicy != null && !['Always', 'OnRootMismatch'].includes(sc.fsGroupChangePolicy)) {
    errs.push(field.notSupported(`${fld}.fsGroupChangePolicy`, sc.fsGroupChangePolicy, ['Always', 'OnRootMismatch']));
  }
  errs.push(...validateSeccompProfileField(sc.seccompProfile, `${fld}.seccompProfile`));
  errs.push(...validateAppArmorProfileField(sc.appArmorProfile, `${fld}.appArmorProfile`));
  if (sc.supplementalGroupsPolicy != null && !['Merge', 'Strict'].includes(sc.supplementalGroupsPolicy)) {
    errs.push(field.notSupported(`${fld}.supplementalGroupsPolicy`, sc.supplementalGroupsPolicy, ['Merge', 'Strict']));
  }
  if (sc.seLinuxChangePolicy != null && !['MountOption', 'Recursive'].includes(sc.seLinuxChangePolicy)) {
    errs.push(field.notSupported(`${fld}.seLinuxChangePolicy`, sc.seLinuxChangePolicy, ['MountOption', 'Recursive']));
  }
  return errs;
}

function validateDNSConfig(spec: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const c = spec.dnsConfig;
  if (spec.dnsPolicy === 'None') {
    if (c == null) return [field.required(fld, 'must provide `dnsConfig` when `dnsPolicy` is None')];
    if (arr(c.nameservers).length === 0) return [field.required(`${fld}.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None')];
  }
  if (c == null) return errs;
  const ns = arr(c.nameservers);
  if (ns.length > 3) errs.push(field.invalid(`${fld}.nameservers`, ns, 'must not have more than 3 nameservers'));
  ns.forEach((n, i) => errs.push(...validateIP(str(n), `${fld}.nameservers[${i}]`)));
  const searches = arr(c.searches).map(str);
  if (searches.length > 32) errs.push(field.invalid(`${fld}.searches`, searches, 'must not have more than 32 search paths'));
  if (searches.join(' ').length > 2048) errs.push(field.invalid(`${fld}.searches`, searches, 'must not have more than 2048 characters (including spaces) in the search list'));
  searches.forEach((s, i) => {
    if (s === '.') return;
    const t = s.endsWith('.') ? s.slice(0, -1) : s;
    for (const m of isDNS1123SubdomainWithUnderscore(t)) errs.push(field.invalid(`${fld}.searches[${i}]`, t, m));
  });
  arr(c.options).forEach((o, i) => {
    if (!o?.name) errs.push(field.required(`${fld}.options[${i}]`, 'must not be empty'));
  });
  return errs;
}

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
export const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

function validateEnum(v: unknown, valid: string[], fld: string): FieldError[] {
  if (!v) return [field.required(fld)];
  return valid.includes(v as string) ? [] : [field.notSupported(fld, v, valid)];
}

/** upstream's ValidatePodSpec. `podMeta` is the pod's own metadata (undefined for templates). */
export function validatePodSpec(spec0: Json, podMeta: Json | undefined, fld: string, opts: PodValidationOptions = {}): FieldError[] {
  const spec = spec0 ?? {};
  const errs: FieldError[] = [];
  if (spec.terminationGracePeriodSeconds == null) errs.push(field.required(`${fld}.terminationGracePeriodSeconds`));
  const grace: number | undefined = spec.terminationGracePeriodSeconds ?? undefined;
  const hostUsers = spec.hostUsers !== false;
  const restartPolicy = str(spec.restartPolicy);
  const { vols, errs: vErrs } = validateVolumes(spec.volumes, podMeta, `${fld}.volumes`, opts);
  errs.push(...vErrs);
  const podClaims = new Set<string>(arr(spec.resourceClaims).map((c) => str(c?.name)).filter(Boolean));
  const claimNames = new Set<string>();
  arr(spec.resourceClaims).forEach((c0, i) => {
    const c = c0 ?? {};
    const p = `${fld}.resourceClaims[${i}]`;
    if (!c.name) errs.push(field.required(`${p}.name`));
    else if (claimNames.has(c.name)) errs.push(field.duplicate(`${p}.name`, c.name));
    else {
      errs.push(...validateDNS1123Label(c.name, `${p}.name`));
      claimNames.add(c.name);
    }
    if (c.resourceClaimName != null && c.resourceClaimTemplateName != null) {
      errs.push(field.invalid(p, goSyntax('core.PodResourceClaim{...}'), 'at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified'));
    }
    if (c.resourceClaimName == null && c.resourceClaimTemplateName == null) {
      errs.push(field.invalid(p, goSyntax('core.PodResourceClaim{...}'), 'must specify one of: `resourceClaimName`, `resourceClaimTemplateName`'));
    }
  });
  errs.push(...validateContainers(spec.containers, vols, podClaims, grace, `${fld}.containers`, restartPolicy, hostUsers));
  errs.push(...validateInitContainers(spec.initContainers, spec.containers, vols, podClaims, grace, `${fld}.initContainers`, restartPolicy, hostUsers));
  errs.push(...validateEphemeralContainers(spec.ephemeralContainers, spec.containers, spec.initContainers, vols, podClaims, `${fld}.ephemeralContainers`, restartPolicy, hostUsers));
  if (spec.hostNetwork === true) {
    arr(spec.containers).forEach((c, i) => {
      arr(c?.ports).forEach((p, j) => {
        const hp = p?.hostPort ?? 0;
        const cp = p?.containerPort ?? 0;
        if ((opts.resourceIsPod || hp !== 0) && hp !== cp) {
          errs.push(field.invalid(`${fld}.containers[${i}].ports[${j}].hostPort`, hp, 'must match `containerPort` when `hostNetwork` is true'));
        }
      });
    });
  }
  errs.push(...validateEnum(spec.restartPolicy, RESTART_POLICIES, `${fld}.restartPolicy`));
  errs.push(...validateEnum(spec.dnsPolicy, DNS_POLICIES, `${fld}.dnsPolicy`));
  errs.push(...validateLabels(spec.nodeSelector, `${fld}.nodeSelector`));
  errs.push(...validatePodSecurityContext(spec, `${fld}.securityContext`));
  arr(spec.imagePullSecrets).forEach((s, i) => {
    if (s && Object.keys(s).some((k) => k !== 'name')) errs.push(field.invalid(`${fld}.imagePullSecrets[${i}]`, goSyntax(`core.LocalObjectReference{Name:${JSON.stringify(str(s.name))}}`), 'only name may be set'));
  });
  errs.push(...validateAffinity(spec.affinity, `${fld}.affinity`));
  errs.push(...validateDNSConfig(spec, `${fld}.dnsConfig`));
  arr(spec.readinessGates).forEach((g, i) => errs.push(...validateQualifiedName(str(g?.conditionType), `${fld}.readinessGates[${i}].conditionType`)));
  const gates = new Set<string>();
  arr(spec.schedulingGates).forEach((g, i) => {
    errs.push(...validateQualifiedName(str(g?.name), `${fld}.schedulingGates[${i}]`));
    if (gates.has(g?.name)) errs.push(field.duplicate(`${fld}.schedulingGates[${i}]`, str(g?.name)));
    gates.add(g?.name);
  });
  errs.push(...validateTopologySpreadConstraints(spec.topologySpreadConstraints, `${fld}.topologySpreadConstraints`));
  if (spec.hostUsers === false) {
    if (spec.hostNetwork) errs.push(field.forbidden(`${fld}.hostNetwork`, 'when `pod.Spec.HostUsers` is false'));
    if (spec.hostPID) errs.push(field.forbidden(`${fld}.HostPID`, 'when `pod.Spec.HostUsers` is false'));
    if (spec.hostIPC) errs.push(field.forbidden(`${fld}.HostIPC`, 'when `pod.Spec.HostUsers` is false'));
  }
  if (spec.serviceAccountName) for (const m of nameIsDNSSubdomain(spec.serviceAccountName, false)) errs.push(field.invalid(`${fld}.serviceAccountName`, spec.serviceAccountName, m));
  if (spec.nodeName) for (const m of nameIsDNSSubdomain(spec.nodeName, false)) errs.push(field.invalid(`${fld}.nodeName`, spec.nodeName, m));
  if (spec.activeDeadlineSeconds != null) {
    const v = spec.activeDeadlineSeconds;
    if (v < 1 || v > MAX_INT32) errs.push(field.invalid(`${fld}.activeDeadlineSeconds`, v, inclusiveRangeError(1, MAX_INT32)));
  }
  if (spec.hostname) errs.push(...validateDNS1123Label(spec.hostname, `${fld}.hostname`));
  if (spec.subdomain) errs.push(...validateDNS1123Label(spec.subdomain, `${fld}.subdomain`));
  if (arr(spec.tolerations).length) errs.push(...validateTolerations(spec.tolerations, `${fld}.tolerations`));
  arr(spec.hostAliases).forEach((h, i) => {
    errs.push(...validateIP(str(h?.ip), `${fld}.hostAliases[${i}].ip`));
    arr(h?.hostnames).forEach((n, j) => errs.push(...validateDNS1123Subdomain(str(n), `${fld}.hostAliases[${i}].hostnames[${j}]`)));
  });
  if (spec.priorityClassName) for (const m of nameIsDNSSubdomain(spec.priorityClassName, false)) errs.push(field.invalid(`${fld}.priorityClassName`, spec.priorityClassName, m));
  if (spec.runtimeClassName != null) for (const m of nameIsDNSSubdomain(str(spec.runtimeClassName), false)) errs.push(field.invalid(`${fld}.runtimeClassName`, spec.runtimeClassName, m));
  if (spec.preemptionPolicy != null) errs.push(...validateEnum(spec.preemptionPolicy, ['PreemptLowerPriority', 'Never'], `${fld}.preemptionPolicy`));
  if (spec.overhead != null) errs.push(...validateResourceRequirements({ limits: spec.overhead }, `${fld}.overhead`, new Set()));
  if (spec.os != null) {
    if (!spec.os.name) errs.push(field.required(`${fld}.os.name`, 'cannot be empty'));
    else if (spec.os.name !== 'linux' && spec.os.name !== 'windows') errs.push(field.notSupported(`${fld}.os`, spec.os.name, ['linux', 'windows']));
    else if (spec.os.name === 'linux') {
      if (spec.securityContext?.windowsOptions) errs.push(field.forbidden(`${fld}.securityContext.windowsOptions`, 'windows options cannot be set for a linux pod'));
    }
  }
  return errs;
}

/** Pod-specific annotations (mirror pod, deletion cost, seccomp/apparmor annotation formats). */
export function validatePodSpecificAnnotations(annotations: unknown, spec: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const a = (annotations ?? {}) as Record<string, string>;
  if (Object.hasOwn(a, 'kubernetes.io/config.mirror') && !spec?.nodeName) {
    errs.push(field.invalid(`${fld}[kubernetes.io/config.mirror]`, a['kubernetes.io/config.mirror'], 'must set spec.nodeName if mirror pod annotation is set'));
  }
  if (Object.hasOwn(a, 'controller.kubernetes.io/pod-deletion-cost')) {
    const v = a['controller.kubernetes.io/pod-deletion-cost']!;
    const n = Number(v);
    if (!/^[+-]?[0-9]+$/.test(v) || n > MAX_INT32 || n < -MAX_INT32 - 1) {
      errs.push(field.invalid(`${fld}[controller.kubernetes.io/pod-deletion-cost]`, v, 'must be a 32bit integer'));
    }
  }
  for (const [k, v] of entries(a)) {
    if (k === 'seccomp.security.alpha.kubernetes.io/pod' || k.startsWith('container.seccomp.security.alpha.kubernetes.io/')) {
      const p = String(v);
      const ok = p === 'runtime/default' || p === 'docker/default' || p === 'unconfined' || p.startsWith('localhost/');
      if (!ok) errs.push(field.invalid(`${fld}.${k}`, p, 'must be a valid seccomp profile'));
      else if (p.startsWith('localhost/')) errs.push(...validateLocalDescendingPath(p.slice('localhost/'.length), `${fld}.${k}`));
    }
  }
  return errs;
}

/** upstream's ValidatePodTemplateSpec (templates of every workload kind). */
export function validatePodTemplateSpec(tpl0: Json, fld: string, opts: PodValidationOptions = {}): FieldError[] {
  const tpl = tpl0 ?? {};
  const meta = tpl.metadata ?? {};
  const errs = validateLabels(meta.labels, `${fld}.labels`);
  errs.push(...validateAnnotations(meta.annotations, `${fld}.annotations`));
  errs.push(...validatePodSpecificAnnotations(meta.annotations, tpl.spec, `${fld}.annotations`));
  errs.push(...validatePodSpec(tpl.spec, undefined, `${fld}.spec`, opts));
  if (arr(tpl.spec?.ephemeralContainers).length > 0) {
    errs.push(field.forbidden(`${fld}.spec.ephemeralContainers`, 'ephemeral containers not allowed in pod template'));
  }
  return errs;
}

/** The `selector does not match template labels` check workload kinds share. */
export function templateLabelsMismatch(fld: string, labels: unknown): FieldError {
  return field.invalid(fld, goStringMap(labels as Record<string, string>), '`selector` does not match template `labels`');
}


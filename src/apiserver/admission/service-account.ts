// The ServiceAccount admission plugin, as upstream's plugin/pkg/admission/serviceaccount: a pod
// created without spec.serviceAccountName runs as `default`; the account must exist; unless
// automounting is turned off (pod first, then account), every container and init container gets
// the projected `kube-api-access-<random>` volume (a bound token, the cluster CA, the namespace)
// mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount; the account's
// imagePullSecrets are copied to a pod that names none. Mirror pods may reference neither
// accounts nor secrets.
import { notFound } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { AdmissionAttributes, AdmissionPlugin, Registry } from '../registry.ts';
import { randomSuffix } from '../registry.ts';
import { admissionForbidden, getLive, type Json } from './common.ts';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const SERVICE_ACCOUNT_VOLUME_PREFIX = 'kube-api-access-';
export const DEFAULT_API_TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The projected token's lifetime: upstream's WarnOnlyBoundTokenExpirationSeconds (one hour and seven seconds). */
export const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS = 3607;
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
const ENFORCE_MOUNTABLE_SECRETS_ANNOTATION = 'kubernetes.io/enforce-mountable-secrets';

export interface ServiceAccountAdmissionOptions {
  /**
   * Attempts at a consistent read of the `default` account when the cache lacks it (upstream
   * tries 10 times, 100-200 ms apart, since the account controller creates it just after its
   * namespace). Other accounts are looked up once.
   */
  defaultAccountAttempts?: number;
  /** Random 5-character suffix of the volume name (tests inject a fixed one). */
  generateSuffix?: () => string;
}

/** The projected volume upstream's TokenVolumeSource describes, with the defaults a decode would add. */
export function tokenVolumeSource(): Json {
  return {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  };
}

export function serviceAccountAdmission(opts: ServiceAccountAdmissionOptions = {}): AdmissionPlugin {
  const attemptsForDefault = opts.defaultAccountAttempts ?? 10;
  const suffix = opts.generateSuffix ?? (() => randomSuffix(5));

  const getServiceAccount = async (reg: Registry, namespace: string, name: string): Promise<KObject> => {
    const r = reg.must('', 'serviceaccounts');
    const attempts = name === DEFAULT_SERVICE_ACCOUNT ? attemptsForDefault : 1;
    const interval = 100 + Math.floor(Math.random() * 100);
    for (let i = 0; i < Math.max(1, attempts); i++) {
      if (i > 0) await new Promise((res) => setTimeout(res, interval));
      const sa = await getLive(r, namespace, name);
      if (sa) return sa;
    }
    // upstream names the resource in the singular here
    throw notFound({ group: '', resource: 'serviceaccount' }, name);
  };

  return {
    name: 'ServiceAccount',
    async admit(a, reg) {
      if (a.operation !== 'CREATE' || a.resource.group !== '' || a.resource.plural !== 'pods' || a.subresource !== '' || !a.object) return;
      const pod = a.object as Json;
      const spec = (pod.spec ??= {});
      if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return validateMirrorPod(a, pod);
      if (!spec.serviceAccountName) spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT;
      // v1's deprecated serviceAccount mirrors the name, as upstream's conversion to v1 writes it.
      spec.serviceAccount = spec.serviceAccountName;
      let sa: Json;
      try {
        sa = await getServiceAccount(reg, a.namespace, spec.serviceAccountName);
      } catch (e) {
        throw admissionForbidden(a, `error looking up service account ${a.namespace}/${spec.serviceAccountName}: ${(e as Error).message}`);
      }
      if (shouldAutomount(sa, pod)) mountServiceAccountToken(pod, suffix);
      if (!spec.imagePullSecrets?.length && sa.imagePullSecrets?.length) {
        spec.imagePullSecrets = sa.imagePullSecrets.map((s: Json) => ({ name: s?.name }));
      }
      if (enforceMountableSecrets(sa)) {
        const why = limitSecretReferences(sa, pod);
        if (why) throw admissionForbidden(a, why);
      }
    },
  };
}

function shouldAutomount(sa: Json, pod: Json): boolean {
  if (typeof pod.spec?.automountServiceAccountToken === 'boolean') return pod.spec.automountServiceAccountToken;
  if (typeof sa.automountServiceAccountToken === 'boolean') return sa.automountServiceAccountToken;
  return true;
}

function mountServiceAccountToken(pod: Json, suffix: () => string): void {
  const spec = pod.spec;
  const volumes: Json[] = spec.volumes ?? [];
  const existing = volumes.find((v) => typeof v?.name === 'string' && v.name.startsWith(SERVICE_ACCOUNT_VOLUME_PREFIX));
  const volumeName: string = existing?.name ?? SERVICE_ACCOUNT_VOLUME_PREFIX + suffix();
  let needsVolume = false;
  for (const list of [spec.initContainers, spec.containers] as (Json[] | undefined)[]) {
    for (const c of list ?? []) {
      if ((c.volumeMounts ?? []).some((m: Json) => m?.mountPath === DEFAULT_API_TOKEN_MOUNT_PATH)) continue;
      (c.volumeMounts ??= []).push({ name: volumeName, readOnly: true, mountPath: DEFAULT_API_TOKEN_MOUNT_PATH });
      needsVolume = true;
    }
  }
  if (!existing && needsVolume) {
    spec.volumes = [...volumes, { name: volumeName, projected: tokenVolumeSource() }];
  }
}

function enforceMountableSecrets(sa: Json): boolean {
  const v = sa.metadata?.annotations?.[ENFORCE_MOUNTABLE_SECRETS_ANNOTATION];
  // Go's strconv.ParseBool
  return v !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

/** upstream's limitSecretReferences: the wording of the first reference the account does not list. */
function limitSecretReferences(sa: Json, pod: Json): string | undefined {
  const mountable = new Set<string>((sa.secrets ?? []).map((s: Json) => s?.name));
  for (const v of pod.spec.volumes ?? []) {
    const name = v?.secret?.secretName;
    if (v?.secret && !mountable.has(name)) {
      return `volume with secret.secretName="${name}" is not allowed because service account ${sa.metadata.name} does not reference that secret`;
    }
  }
  for (const [list, what] of [[pod.spec.initContainers, 'init container'], [pod.spec.containers, 'container']] as [Json[] | undefined, string][]) {
    for (const c of list ?? []) {
      for (const env of c.env ?? []) {
        const ref = env?.valueFrom?.secretKeyRef;
        if (ref && !mountable.has(ref.name)) {
          return `${what} ${c.name} with envVar ${env.name} referencing secret.secretName="${ref.name}" is not allowed because service account ${sa.metadata.name} does not reference that secret`;
        }
      }
    }
  }
  const pull = new Set<string>((sa.imagePullSecrets ?? []).map((s: Json) => s?.name));
  const refs: Json[] = pod.spec.imagePullSecrets ?? [];
  for (let i = 0; i < refs.length; i++) {
    if (!pull.has(refs[i]?.name)) {
      return `imagePullSecrets[${i}].name="${refs[i]?.name}" is not allowed because service account ${sa.metadata.name} does not reference that imagePullSecret`;
    }
  }
  return undefined;
}

/** Mirror pods (static pods the kubelet reflects into the API) may reference no account and no secret. */
function validateMirrorPod(a: AdmissionAttributes, pod: Json): void {
  if (pod.spec.serviceAccountName) throw admissionForbidden(a, 'a mirror pod may not reference service accounts');
  if (podReferencesSecrets(pod)) throw admissionForbidden(a, 'a mirror pod may not reference secrets');
  for (const v of pod.spec.volumes ?? []) {
    if ((v?.projected?.sources ?? []).some((s: Json) => s?.serviceAccountToken)) {
      throw admissionForbidden(a, 'a mirror pod may not use ServiceAccountToken volume projections');
    }
  }
}

/** Whether the pod names any secret (upstream's VisitPodSecretNames over all containers). */
function podReferencesSecrets(pod: Json): boolean {
  const spec = pod.spec ?? {};
  if ((spec.imagePullSecrets ?? []).length) return true;
  for (const list of [spec.initContainers, spec.containers, spec.ephemeralContainers] as (Json[] | undefined)[]) {
    for (const c of list ?? []) {
      if ((c.envFrom ?? []).some((e: Json) => e?.secretRef)) return true;
      if ((c.env ?? []).some((e: Json) => e?.valueFrom?.secretKeyRef)) return true;
    }
  }
  for (const v of spec.volumes ?? []) {
    if (!v) continue;
    if (v.secret || v.azureFile || v.cephfs?.secretRef || v.cinder?.secretRef || v.flexVolume?.secretRef || v.rbd?.secretRef) return true;
    if (v.scaleIO?.secretRef || v.iscsi?.secretRef || v.storageos?.secretRef || v.csi?.nodePublishSecretRef) return true;
    if ((v.projected?.sources ?? []).some((s: Json) => s?.secret)) return true;
  }
  return false;
}

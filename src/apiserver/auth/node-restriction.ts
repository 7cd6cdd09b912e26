// The NodeRestriction admission plugin, as upstream's plugin/pkg/admission/noderestriction: a
// node's credentials may change only its own Node (not its taints, not labels outside the
// kubelet's set), its own Lease and CSINode, the status of pods bound to it, create only mirror
// pods bound to itself that reference nothing, evict and delete only its own pods, update only the
// status of PVCs, and request tokens only bound to its own pods. Other users are not affected.
import { notFound } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import { admissionForbidden, type Json } from '../admission/common.ts';
import type { AdmissionAttributes, AdmissionPlugin, Registry } from '../registry.ts';
import { MIRROR_POD_ANNOTATION, NODE_LEASE_NAMESPACE, nodeIdentity, podConfigMapNames, podSecretNames } from './node-authorizer.ts';

export const NODE_RESTRICTION = 'NodeRestriction';

const LABEL_NAMESPACE_NODE_RESTRICTION = 'node-restriction.kubernetes.io';

/** upstream's kubelet label set (k8s.io/kubelet/pkg/apis IsKubeletLabel). */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

function labelNamespace(key: string): string {
  const i = key.indexOf('/');
  return i >= 0 ? key.slice(0, i) : '';
}

function inNamespace(ns: string, domain: string): boolean {
  return ns === domain || ns.endsWith(`.${domain}`);
}

export function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((d) => inNamespace(ns, d));
}

function isKubernetesLabel(key: string): boolean {
  const ns = labelNamespace(key);
  return inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
}

function modifiedLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): Set<string> {
  const out = new Set<string>();
  const x = a ?? {};
  const y = b ?? {};
  for (const k of Object.keys(x)) if (!(k in y) || x[k] !== y[k]) out.add(k);
  for (const k of Object.keys(y)) if (!(k in x) || x[k] !== y[k]) out.add(k);
  return out;
}

/** upstream's getForbiddenLabels, sorted. */
export function forbiddenNodeLabels(modified: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const label of modified) {
    if (inNamespace(labelNamespace(label), LABEL_NAMESPACE_NODE_RESTRICTION)) out.add(label);
    if (isKubernetesLabel(label) && !isKubeletLabel(label)) out.add(label);
  }
  return [...out].sort();
}

/** Deep equality of JSON values with upstream's semantic rules (absent, null and empty are equal). */
function semanticEqual(a: unknown, b: unknown): boolean {
  const empty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
  if (empty(a) && empty(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => semanticEqual(x, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!semanticEqual((a as Json)[k], (b as Json)[k])) return false;
    return true;
  }
  return a === b;
}

const q = (s: string) => JSON.stringify(s);

export function nodeRestriction(): AdmissionPlugin {
  return {
    name: NODE_RESTRICTION,
    async admit(a, reg) {
      if (a.operation === 'CONNECT') return;
      const node = nodeIdentity(a.user);
      if (node === undefined) return;
      if (node === '') throw admissionForbidden(a, `could not determine node from user ${q(a.user!.name)}`);
      const gr = `${a.resource.group}/${a.resource.plural}`;
      switch (gr) {
        case '/pods':
          if (a.subresource === '') return admitPod(node, a, reg);
          if (a.subresource === 'status') return admitPodStatus(node, a);
          if (a.subresource === 'eviction') return admitPodEviction(node, a, reg);
          throw admissionForbidden(a, `unexpected pod subresource ${q(a.subresource)}, only 'status' and 'eviction' are allowed`);
        case '/nodes':
          return admitNode(node, a);
        case '/persistentvolumeclaims':
          if (a.subresource === 'status') return admitPVCStatus(node, a);
          throw admissionForbidden(a, 'may only update PVC status');
        case '/serviceaccounts':
          return admitServiceAccount(node, a, reg);
        case 'coordination.k8s.io/leases':
          return admitLease(node, a);
        case 'storage.k8s.io/csinodes':
          return admitCSINode(node, a);
      }
    },
  };
}

async function admitPod(node: string, a: AdmissionAttributes, reg: Registry): Promise<void> {
  if (a.operation === 'CREATE') return admitPodCreate(node, a, reg);
  if (a.operation === 'DELETE') {
    const pod = a.oldObject as Json;
    if (pod?.spec?.nodeName !== node) throw admissionForbidden(a, `node ${q(node)} can only delete pods with spec.nodeName set to itself`);
    return;
  }
  throw admissionForbidden(a, `unexpected operation ${q(a.operation)}, node ${q(node)} can only create and delete mirror pods`);
}

async function admitPodCreate(node: string, a: AdmissionAttributes, reg: Registry): Promise<void> {
  const pod = a.object as Json;
  if (!pod?.metadata?.annotations || !(MIRROR_POD_ANNOTATION in pod.metadata.annotations)) {
    throw admissionForbidden(a, `pod does not have ${q(MIRROR_POD_ANNOTATION)} annotation, node ${q(node)} can only create mirror pods`);
  }
  if (pod.spec?.nodeName !== node) throw admissionForbidden(a, `node ${q(node)} can only create pods with spec.nodeName set to itself`);
  const owners: Json[] = Array.isArray(pod.metadata.ownerReferences) ? pod.metadata.ownerReferences : [];
  if (owners.length > 1) throw admissionForbidden(a, `node ${q(node)} can only create pods with a single owner reference set to itself`);
  if (owners.length === 0) throw admissionForbidden(a, `node ${q(node)} can only create pods with an owner reference set to itself`);
  const owner = owners[0];
  if (owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== node) {
    throw admissionForbidden(a, `node ${q(node)} can only create pods with an owner reference set to itself`);
  }
  if (owner.controller !== true) throw admissionForbidden(a, `node ${q(node)} can only create pods with a controller owner reference set to itself`);
  if (owner.blockOwnerDeletion === true) throw admissionForbidden(a, `node ${q(node)} must not set blockOwnerDeletion on an owner reference`);
  await checkMirrorOwnerUID(node, a, reg);
  if (pod.spec?.serviceAccountName) throw admissionForbidden(a, `node ${q(node)} can not create pods that reference a service account`);
  if (podSecretNames(pod).length > 0) throw admissionForbidden(a, `node ${q(node)} can not create pods that reference secrets`);
  if (podConfigMapNames(pod).length > 0) throw admissionForbidden(a, `node ${q(node)} can not create pods that reference configmaps`);
  for (const v of pod.spec?.volumes ?? []) {
    for (const s of v?.projected?.sources ?? []) {
      if (s?.clusterTrustBundle) throw admissionForbidden(a, `node ${q(node)} can not create pods that reference clustertrustbundles`);
    }
  }
  for (const v of pod.spec?.volumes ?? []) {
    if (v?.persistentVolumeClaim) throw admissionForbidden(a, `node ${q(node)} can not create pods that reference persistentvolumeclaims`);
  }
}

/** The mirror pod's owner must be this node as it exists now (same UID). */
async function checkMirrorOwnerUID(node: string, a: AdmissionAttributes, reg: Registry): Promise<void> {
  const owner = (a.object as Json)?.metadata?.ownerReferences?.[0];
  const nodes = reg.must('', 'nodes');
  const cur = nodes.cache.get(nodes.key('', node)) ?? (await nodes.current('', node));
  if (!cur) throw notFound({ group: '', resource: 'nodes' }, node);
  if (owner?.uid !== cur.obj.metadata.uid) throw admissionForbidden(a, `node ${node} UID mismatch: expected ${owner?.uid ?? ''} got ${cur.obj.metadata.uid}`);
}

function admitPodStatus(node: string, a: AdmissionAttributes): void {
  if (a.operation !== 'UPDATE') throw admissionForbidden(a, `unexpected operation ${q(a.operation)}`);
  const old = a.oldObject as Json;
  const pod = a.object as Json;
  if (old?.spec?.nodeName !== node) throw admissionForbidden(a, `node ${q(node)} can only update pod status for pods with spec.nodeName set to itself`);
  if (!semanticEqual(old?.metadata?.labels ?? {}, pod?.metadata?.labels ?? {})) throw admissionForbidden(a, `node ${q(node)} cannot update labels through pod status`);
  const claims = (p: Json) => (p?.status?.resourceClaimStatuses ?? []).map((s: Json) => [s?.name, s?.resourceClaimName ?? null]);
  if (JSON.stringify(claims(old)) !== JSON.stringify(claims(pod))) throw admissionForbidden(a, `node ${q(node)} cannot update resource claim statues`);
}

async function admitPodEviction(node: string, a: AdmissionAttributes, reg: Registry): Promise<void> {
  if (a.operation !== 'CREATE') throw admissionForbidden(a, `unexpected operation ${a.operation}`);
  let podName = a.name;
  if (!podName) {
    podName = (a.object as Json)?.metadata?.name ?? '';
    if (!podName) throw admissionForbidden(a, 'could not determine pod from request data');
  }
  const pods = reg.must('', 'pods');
  const cur = pods.cache.get(pods.key(a.namespace, podName)) ?? (await pods.current(a.namespace, podName));
  if (!cur) throw notFound({ group: '', resource: 'pods' }, podName);
  if ((cur.obj as Json).spec?.nodeName !== node) throw admissionForbidden(a, `node ${node} can only evict pods with spec.nodeName set to itself`);
}

function admitPVCStatus(node: string, a: AdmissionAttributes): void {
  if (a.operation !== 'UPDATE') throw admissionForbidden(a, `unexpected operation ${q(a.operation)}`);
  const strip = (o: KObject | undefined): Json => {
    const c = structuredClone(o ?? {}) as Json;
    c.metadata ??= {};
    delete c.metadata.resourceVersion;
    delete c.metadata.managedFields;
    c.status ??= {};
    for (const f of ['capacity', 'conditions', 'allocatedResourceStatuses', 'allocatedResources']) delete c.status[f];
    return c;
  };
  const before = strip(a.oldObject);
  const after = strip(a.object);
  if (!semanticEqual(before, after)) {
    throw admissionForbidden(a, `node ${q(node)} is not allowed to update fields other than status.capacity and status.conditions: ${describeDiff(before, after)}`);
  }
}

/** A short description of the fields that differ (upstream prints a go-cmp diff here). */
function describeDiff(a: Json, b: Json, path = ''): string {
  const out: string[] = [];
  const walk = (x: Json, y: Json, p: string) => {
    if (semanticEqual(x, y)) return;
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], p ? `${p}.${k}` : k);
      return;
    }
    out.push(`${p}: ${JSON.stringify(x ?? null)} != ${JSON.stringify(y ?? null)}`);
  };
  walk(a, b, path);
  return out.join('; ');
}

function admitNode(node: string, a: AdmissionAttributes): void {
  if (a.name !== node) throw admissionForbidden(a, `node ${q(node)} is not allowed to modify node ${q(a.name)}`);
  const obj = a.object as Json;
  if (a.operation === 'CREATE') {
    if (obj?.spec?.configSource != null) throw admissionForbidden(a, `node ${q(node)} is not allowed to create pods with a non-nil configSource`);
    const bad = forbiddenNodeLabels(modifiedLabels(obj?.metadata?.labels, undefined));
    if (bad.length > 0) throw admissionForbidden(a, `node ${q(node)} is not allowed to set the following labels: ${bad.join(', ')}`);
  }
  if (a.operation === 'UPDATE') {
    const old = a.oldObject as Json;
    if (obj?.spec?.configSource != null && !semanticEqual(obj.spec.configSource, old?.spec?.configSource)) {
      throw admissionForbidden(a, `node ${q(node)} is not allowed to update configSource to a new non-nil configSource`);
    }
    if (!semanticEqual(obj?.spec?.taints, old?.spec?.taints)) throw admissionForbidden(a, `node ${q(node)} is not allowed to modify taints`);
    const bad = forbiddenNodeLabels(modifiedLabels(obj?.metadata?.labels, old?.metadata?.labels));
    if (bad.length > 0) throw admissionForbidden(a, `is not allowed to modify labels: ${bad.join(', ')}`);
  }
}

async function admitServiceAccount(node: string, a: AdmissionAttributes, reg: Registry): Promise<void> {
  if (a.operation !== 'CREATE' || a.subresource !== 'token') return;
  const ref = (a.object as Json)?.spec?.boundObjectRef;
  if (!ref || ref.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name) throw admissionForbidden(a, 'node requested token not bound to a pod');
  if (!ref.uid) throw admissionForbidden(a, 'node requested token with a pod binding without a uid');
  const pods = reg.must('', 'pods');
  const cur = pods.cache.get(pods.key(a.namespace, ref.name)) ?? (await pods.current(a.namespace, ref.name));
  if (!cur) throw notFound({ group: '', resource: 'pods' }, ref.name);
  if (ref.uid !== cur.obj.metadata.uid) {
    throw admissionForbidden(a, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
  }
  if ((cur.obj as Json).spec?.nodeName !== node) throw admissionForbidden(a, 'node requested token bound to a pod scheduled on a different node');
}

function admitLease(node: string, a: AdmissionAttributes): void {
  if (a.namespace !== NODE_LEASE_NAMESPACE) throw admissionForbidden(a, `can only access leases in the ${q(NODE_LEASE_NAMESPACE)} system namespace`);
  const name = a.operation === 'CREATE' ? (a.object?.metadata?.name ?? '') : a.name;
  if (name !== node) throw admissionForbidden(a, 'can only access node lease with the same name as the requesting node');
}

function admitCSINode(node: string, a: AdmissionAttributes): void {
  const name = a.operation === 'CREATE' ? (a.object?.metadata?.name ?? '') : a.name;
  if (name !== node) throw admissionForbidden(a, 'can only access CSINode with the same name as the requesting node');
}

// The Node authorizer, as upstream's plugin/pkg/auth/authorizer/node: a kubelet (user
// system:node:<name> in group system:nodes) may read a secret, configmap, persistent volume claim
// or persistent volume, or request a token for a service account, only when a pod bound to its
// node references it:
//
//   node <- pod                     node <- pod <- pvc <- pv
//   node <- pod <- secret           node <- pod <- pvc <- pv <- secret
//   node <- pod <- configmap        node <- volumeattachment
//   node <- pod <- serviceaccount
//
// Everything else a node does is checked against the system:node rules. With upstream's
// AuthorizeNodeWithSelectors (on by default since 1.32), a node reads only its own Node object and
// lists or watches pods only with the spec.nodeName=<itself> field selector.
//
// The graph follows the pods, persistentvolumes and volumeattachments caches: each pod's
// references are counted per node, so a decision is a map lookup.
import type { KObject } from '../../api/meta.ts';
import type { CacheEvent, CacheWatcher, Entry } from '../cache.ts';
import type { Registry, UserInfo } from '../registry.ts';
import type { Attributes, AuthorizationResult, Authorizer, RuleResolver, RulesForResult } from './authorizer.ts';
import { NODE_RULES } from './rbac-bootstrap-policy.ts';
import { rulesAllow, type PolicyRule } from './rbac-rules.ts';
import type { WatchedCache } from './rbac.ts';

export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** upstream's nodeidentifier: the node name of a node's credentials, or undefined for other users. */
export function nodeIdentity(u: UserInfo | undefined): string | undefined {
  if (!u || !u.name.startsWith(NODE_USER_PREFIX)) return undefined;
  if (!u.groups.includes(NODES_GROUP)) return undefined;
  return u.name.slice(NODE_USER_PREFIX.length);
}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);

function allContainers(spec: Json): Json[] {
  return [...arr(spec?.initContainers), ...arr(spec?.containers), ...arr(spec?.ephemeralContainers)];
}

/** upstream's podutil.VisitPodSecretNames over all containers. */
export function podSecretNames(pod: Json): string[] {
  const out = new Set<string>();
  const add = (n: unknown) => {
    if (typeof n === 'string' && n) out.add(n);
  };
  const spec = pod?.spec ?? {};
  for (const s of arr(spec.imagePullSecrets)) add(s?.name);
  for (const c of allContainers(spec)) {
    for (const e of arr(c?.envFrom)) add(e?.secretRef?.name);
    for (const e of arr(c?.env)) add(e?.valueFrom?.secretKeyRef?.name);
  }
  for (const v of arr(spec.volumes)) {
    add(v?.azureFile?.secretName);
    add(v?.cephfs?.secretRef?.name);
    add(v?.cinder?.secretRef?.name);
    add(v?.flexVolume?.secretRef?.name);
    for (const p of arr(v?.projected?.sources)) add(p?.secret?.name);
    add(v?.rbd?.secretRef?.name);
    add(v?.secret?.secretName);
    add(v?.scaleIO?.secretRef?.name);
    add(v?.iscsi?.secretRef?.name);
    add(v?.storageos?.secretRef?.name);
    add(v?.csi?.nodePublishSecretRef?.name);
  }
  return [...out];
}

/** upstream's podutil.VisitPodConfigmapNames over all containers. */
export function podConfigMapNames(pod: Json): string[] {
  const out = new Set<string>();
  const add = (n: unknown) => {
    if (typeof n === 'string' && n) out.add(n);
  };
  const spec = pod?.spec ?? {};
  for (const c of allContainers(spec)) {
    for (const e of arr(c?.envFrom)) add(e?.configMapRef?.name);
    for (const e of arr(c?.env)) add(e?.valueFrom?.configMapKeyRef?.name);
  }
  for (const v of arr(spec.volumes)) {
    for (const p of arr(v?.projected?.sources)) add(p?.configMap?.name);
    add(v?.configMap?.name);
  }
  return [...out];
}

/** Claims a pod uses: persistentVolumeClaim volumes and generic ephemeral volumes (<pod>-<volume>). */
export function podClaimNames(pod: Json): string[] {
  const out = new Set<string>();
  for (const v of arr(pod?.spec?.volumes)) {
    if (typeof v?.persistentVolumeClaim?.claimName === 'string' && v.persistentVolumeClaim.claimName) out.add(v.persistentVolumeClaim.claimName);
    else if (v?.ephemeral && typeof v?.name === 'string') out.add(`${pod.metadata?.name}-${v.name}`);
  }
  return [...out];
}

/** upstream's VisitPVSecretNames, the kubelet-visible references: namespace and name. */
function pvSecretRefs(pv: Json): { namespace: string; name: string }[] {
  const spec = pv?.spec ?? {};
  const claimNs: string = spec.claimRef?.namespace ?? '';
  const out: { namespace: string; name: string }[] = [];
  const add = (ref: Json, defaultNs = claimNs) => {
    if (ref && typeof ref.name === 'string' && ref.name) out.push({ namespace: ref.namespace || defaultNs, name: ref.name });
  };
  if (spec.azureFile?.secretName) out.push({ namespace: spec.azureFile.secretNamespace || claimNs, name: spec.azureFile.secretName });
  add(spec.cephfs?.secretRef);
  add(spec.cinder?.secretRef);
  add(spec.flexVolume?.secretRef);
  add(spec.rbd?.secretRef);
  add(spec.scaleIO?.secretRef);
  add(spec.iscsi?.secretRef);
  add(spec.storageos?.secretRef);
  add(spec.csi?.nodePublishSecretRef);
  add(spec.csi?.nodeStageSecretRef);
  add(spec.csi?.nodeExpandSecretRef);
  return out;
}

export type VertexType = 'secret' | 'configmap' | 'pvc' | 'pv' | 'serviceaccount' | 'pod' | 'volumeattachment';

interface PodState {
  node: string;
  refs: string[];
}

/** The node ↔ object relationships the Node authorizer decides on. */
export class NodeGraph {
  /** "<type>/<ns>/<name>" → node → number of pods on that node referencing it. */
  private readonly refs = new Map<string, Map<string, number>>();
  private readonly pods = new Map<string, PodState>();
  /** pv name → its claim ("pvc/<ns>/<name>") and secret references. */
  private readonly pvs = new Map<string, { claim?: string; secrets: string[] }>();
  /** "secret/<ns>/<name>" → pv names referencing it. */
  private readonly pvsBySecret = new Map<string, Set<string>>();
  private readonly attachments = new Map<string, string>();
  private readonly detach: (() => void)[] = [];

  private count(ref: string, node: string, delta: number): void {
    let m = this.refs.get(ref);
    if (!m) {
      if (delta < 0) return;
      this.refs.set(ref, (m = new Map()));
    }
    const n = (m.get(node) ?? 0) + delta;
    if (n > 0) m.set(node, n);
    else m.delete(node);
    if (m.size === 0) this.refs.delete(ref);
  }

  /** Adds or replaces a pod (keyed by namespace/name); pods without spec.nodeName are not related to any node. */
  setPod(pod: KObject): void {
    const ns = pod.metadata.namespace ?? '';
    const key = `${ns}/${pod.metadata.name}`;
    this.deletePod(ns, pod.metadata.name!);
    const node: unknown = (pod as Json).spec?.nodeName;
    if (typeof node !== 'string' || !node) return;
    const refs = [`pod/${key}`];
    // A mirror pod grants nothing beyond itself: a node must not gain access through pods it creates.
    if (!pod.metadata.annotations?.[MIRROR_POD_ANNOTATION]) {
      const sa: unknown = (pod as Json).spec?.serviceAccountName;
      if (typeof sa === 'string' && sa) refs.push(`serviceaccount/${ns}/${sa}`);
      for (const s of podSecretNames(pod)) refs.push(`secret/${ns}/${s}`);
      for (const c of podConfigMapNames(pod)) refs.push(`configmap/${ns}/${c}`);
      for (const c of podClaimNames(pod)) refs.push(`pvc/${ns}/${c}`);
    }
    for (const r of refs) this.count(r, node, 1);
    this.pods.set(key, { node, refs });
  }

  deletePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const st = this.pods.get(key);
    if (!st) return;
    for (const r of st.refs) this.count(r, st.node, -1);
    this.pods.delete(key);
  }

  setPV(pv: KObject): void {
    const name = pv.metadata.name!;
    this.deletePV(name);
    const ref = (pv as Json).spec?.claimRef;
    const claim = ref?.name ? `pvc/${ref.namespace ?? ''}/${ref.name}` : undefined;
    const secrets = pvSecretRefs(pv).map((s) => `secret/${s.namespace}/${s.name}`);
    this.pvs.set(name, { claim, secrets });
    for (const s of secrets) {
      let set = this.pvsBySecret.get(s);
      if (!set) this.pvsBySecret.set(s, (set = new Set()));
      set.add(name);
    }
  }

  deletePV(name: string): void {
    const st = this.pvs.get(name);
    if (!st) return;
    for (const s of st.secrets) {
      const set = this.pvsBySecret.get(s);
      set?.delete(name);
      if (set && set.size === 0) this.pvsBySecret.delete(s);
    }
    this.pvs.delete(name);
  }

  setVolumeAttachment(va: KObject): void {
    const node: unknown = (va as Json).spec?.nodeName;
    if (typeof node === 'string' && node) this.attachments.set(va.metadata.name!, node);
    else this.attachments.delete(va.metadata.name!);
  }

  deleteVolumeAttachment(name: string): void {
    this.attachments.delete(name);
  }

  /** upstream's hasPathFrom: whether the object relates to the node. */
  hasPath(node: string, type: VertexType, namespace: string, name: string): boolean {
    switch (type) {
      case 'volumeattachment':
        return this.attachments.get(name) === node;
      case 'pv': {
        const claim = this.pvs.get(name)?.claim;
        return !!claim && !!this.refs.get(claim)?.has(node);
      }
      case 'secret': {
        const key = `secret/${namespace}/${name}`;
        if (this.refs.get(key)?.has(node)) return true;
        for (const pv of this.pvsBySecret.get(key) ?? []) if (this.hasPath(node, 'pv', '', pv)) return true;
        return false;
      }
      default:
        return !!this.refs.get(`${type}/${namespace}/${name}`)?.has(node);
    }
  }

  /** Follows the registry's pods, persistentvolumes and volumeattachments caches. */
  attach(reg: Registry): this {
    const follow = (c: WatchedCache, set: (o: KObject) => void, del: (e: Entry) => void) => {
      for (const e of c.list(undefined)) set(e.obj);
      const w: CacheWatcher = {
        onEvent: (ev: CacheEvent) => {
          if (ev.type === 'DELETED') del(ev.entry);
          else set(ev.entry.obj);
        },
      };
      c.watchers.add(w);
      this.detach.push(() => c.watchers.delete(w));
    };
    follow(reg.must('', 'pods').cache, (o) => this.setPod(o), (e) => this.deletePod(e.namespace, e.name));
    follow(reg.must('', 'persistentvolumes').cache, (o) => this.setPV(o), (e) => this.deletePV(e.name));
    const va = reg.get('storage.k8s.io', 'volumeattachments');
    if (va) follow(va.cache, (o) => this.setVolumeAttachment(o), (e) => this.deleteVolumeAttachment(e.name));
    return this;
  }

  stop(): void {
    for (const d of this.detach.splice(0)) d();
  }
}

const NO: AuthorizationResult = { decision: 'NoOpinion', reason: '' };
const YES: AuthorizationResult = { decision: 'Allow', reason: '' };
const no = (reason: string): AuthorizationResult => ({ decision: 'NoOpinion', reason });

export class NodeAuthorizer implements Authorizer, RuleResolver {
  private readonly graph: NodeGraph;
  private readonly rules: readonly PolicyRule[];

  constructor(graph: NodeGraph, rules: readonly PolicyRule[] = NODE_RULES) {
    this.graph = graph;
    this.rules = rules;
  }

  rulesFor(user: UserInfo): RulesForResult {
    if (nodeIdentity(user) !== undefined) {
      return { resourceRules: [], nonResourceRules: [], incomplete: true, errors: ['node authorizer does not support user rule resolution'] };
    }
    return { resourceRules: [], nonResourceRules: [], incomplete: false, errors: [] };
  }

  authorize(attrs: Attributes): AuthorizationResult {
    const node = nodeIdentity(attrs.user);
    if (node === undefined) return NO;
    if (node === '') return no(`unknown node for user ${JSON.stringify(attrs.user.name)}`);
    if (attrs.resourceRequest) {
      const gr = `${attrs.apiGroup}/${attrs.resource}`;
      switch (gr) {
        case '/secrets':
          return this.readNamespaced(node, 'secret', attrs);
        case '/configmaps':
          return this.readNamespaced(node, 'configmap', attrs);
        case '/persistentvolumeclaims':
          if (attrs.subresource === 'status') return this.statusUpdate(node, 'pvc', attrs);
          return this.get(node, 'pvc', attrs);
        case '/persistentvolumes':
          return this.get(node, 'pv', attrs);
        case 'storage.k8s.io/volumeattachments':
          return this.get(node, 'volumeattachment', attrs);
        case '/serviceaccounts':
          return this.createToken(node, attrs);
        case 'coordination.k8s.io/leases':
          return this.lease(node, attrs);
        case 'storage.k8s.io/csinodes':
          return this.csiNode(node, attrs);
        case '/nodes':
          return this.nodeObject(node, attrs);
        case '/pods':
          return this.pod(node, attrs);
      }
    }
    return rulesAllow(attrs, this.rules) ? YES : NO;
  }

  private related(node: string, type: VertexType, attrs: Attributes): AuthorizationResult {
    if (!attrs.name) return no('No Object name found');
    if (!this.graph.hasPath(node, type, attrs.namespace, attrs.name)) return no(`no relationship found between node '${node}' and this object`);
    return YES;
  }

  private statusUpdate(node: string, type: VertexType, attrs: Attributes): AuthorizationResult {
    if (attrs.verb !== 'update' && attrs.verb !== 'patch') return no('can only get/update/patch this type');
    if (attrs.subresource !== 'status') return no('can only update status subresource');
    return this.related(node, type, attrs);
  }

  private get(node: string, type: VertexType, attrs: Attributes): AuthorizationResult {
    if (attrs.verb !== 'get') return no('can only get individual resources of this type');
    if (attrs.subresource) return no('cannot get subresource');
    return this.related(node, type, attrs);
  }

  private readNamespaced(node: string, type: VertexType, attrs: Attributes): AuthorizationResult {
    if (attrs.verb !== 'get' && attrs.verb !== 'list' && attrs.verb !== 'watch') return no('can only read resources of this type');
    if (attrs.subresource) return no('cannot read subresource');
    if (!attrs.namespace) return no('can only read namespaced object of this type');
    return this.related(node, type, attrs);
  }

  private createToken(node: string, attrs: Attributes): AuthorizationResult {
    if (attrs.verb !== 'create' || !attrs.name) return no('can only create tokens for individual service accounts');
    if (attrs.subresource !== 'token') return no('can only create token subresource of serviceaccount');
    if (!this.graph.hasPath(node, 'serviceaccount', attrs.namespace, attrs.name)) return no(`no relationship found between node '${node}' and this object`);
    return YES;
  }

  private lease(node: string, attrs: Attributes): AuthorizationResult {
    const v = attrs.verb;
    if (v !== 'get' && v !== 'create' && v !== 'update' && v !== 'patch' && v !== 'delete') return no('can only get, create, update, patch, or delete a node lease');
    if (attrs.namespace !== NODE_LEASE_NAMESPACE) return no(`can only access leases in the ${JSON.stringify(NODE_LEASE_NAMESPACE)} system namespace`);
    if (v !== 'create' && attrs.name !== node) return no('can only access node lease with the same name as the requesting node');
    return YES;
  }

  private csiNode(node: string, attrs: Attributes): AuthorizationResult {
    const v = attrs.verb;
    if (v !== 'get' && v !== 'create' && v !== 'update' && v !== 'patch' && v !== 'delete') return no('can only get, create, update, patch, or delete a CSINode');
    if (attrs.subresource) return no('cannot authorize CSINode subresources');
    if (v !== 'create' && attrs.name !== node) return no('can only access CSINode with the same name as the requesting node');
    return YES;
  }

  private nodeObject(node: string, attrs: Attributes): AuthorizationResult {
    const v = attrs.verb;
    if (attrs.subresource === '') {
      // NodeRestriction admission limits a node to creating and changing its own Node object.
      if (v === 'create' || v === 'update' || v === 'patch') return YES;
      if (v === 'get' || v === 'list' || v === 'watch') {
        // Compared by name, not through the graph, so a kubelet can read its Node before creating it.
        if (attrs.name === node) return YES;
        if (attrs.name === '') return no(`node '${node}' cannot read all nodes, only its own Node object`);
        return no(`node '${node}' cannot read '${attrs.name}', only its own Node object`);
      }
    } else if (attrs.subresource === 'status' && (v === 'update' || v === 'patch')) {
      return YES;
    }
    return NO;
  }

  private pod(node: string, attrs: Attributes): AuthorizationResult {
    const v = attrs.verb;
    switch (attrs.subresource) {
      case '':
        if (v === 'get') return this.get(node, 'pod', attrs);
        if (v === 'list' || v === 'watch') {
          for (const r of attrs.fieldSelector ?? []) {
            if (r.field === 'spec.nodeName' && r.operator !== '!=' && r.value === node) return YES;
          }
          if (attrs.name) return this.related(node, 'pod', attrs);
          return no('can only list/watch pods with spec.nodeName field selector');
        }
        // Mirror pods: NodeRestriction admission limits them to pods bound to the node.
        if (v === 'create' || v === 'delete') return YES;
        break;
      case 'status':
        if (v === 'update' || v === 'patch') return YES;
        break;
      case 'eviction':
        if (v === 'create') return YES;
        break;
    }
    return NO;
  }
}

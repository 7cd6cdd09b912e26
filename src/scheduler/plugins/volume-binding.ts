// VolumeBinding: a pod's PersistentVolumeClaims must be usable on the node. Bound claims need
// their PV's node affinity to match; claims of a WaitForFirstConsumer StorageClass are matched
// to an available PV on the node (static binding) or provisioned there (the node is written to
// the claim's volume.kubernetes.io/selected-node). Immediate-mode claims must already be bound.
// The API writes happen in PreBind through the handle's VolumeBinderAPI.

import { labelSelectorAsSelector, matchesLabels } from '../../api/labels.ts';
import { Action } from '../events.ts';
import type { CycleState } from '../framework/cycle-state.ts';
import type {
  EnqueueExtensions,
  FilterPlugin,
  Handle,
  PreBindPlugin,
  PreFilterPlugin,
  ReservePlugin,
} from '../framework/interfaces.ts';
import type { NodeInfo } from '../nodeinfo.ts';
import { compileNodeSelector, nodeSelectorMatches } from '../nodeaffinity.ts';
import type { PodInfo } from '../podinfo.ts';
import { amount } from '../resources.ts';
import { Code, Status } from '../status.ts';
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../types.ts';
import { VolumeBinding as Name } from './names.ts';

export const ErrReasonBindConflict = "node(s) didn't find available persistent volumes to bind";
export const ErrReasonNodeConflict = "node(s) didn't match PersistentVolume's node affinity";
export const ErrReasonNotEnoughSpace = 'node(s) did not have enough free storage';
export const ErrReasonPVNotExist = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';
export const ErrReasonUnboundImmediate = 'pod has unbound immediate PersistentVolumeClaims';

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const ANN_STORAGE_CLASS_BETA = 'volume.beta.kubernetes.io/storage-class';
const NOT_SUPPORTED_PROVISIONER = 'kubernetes.io/no-provisioner';

const STATE_KEY = Name;

export interface VolumeBindingArgs {
  bindTimeoutSeconds?: number;
}

interface PodVolumes {
  staticBindings: { pv: PersistentVolume; pvc: PersistentVolumeClaim }[];
  dynamicProvisions: PersistentVolumeClaim[];
}

class StateData {
  /** Per node, the bindings Filter found (read by Reserve for the chosen node). */
  byNode = new Map<string, PodVolumes>();
  /** The chosen node's, after Reserve. */
  reserved: PodVolumes | undefined;
  readonly bound: PersistentVolumeClaim[];
  readonly delayed: PersistentVolumeClaim[];
  /** Candidate PVs per storage class for the delayed claims. */
  readonly pvsByClass: Map<string, PersistentVolume[]>;
  constructor(bound: PersistentVolumeClaim[], delayed: PersistentVolumeClaim[], pvsByClass: Map<string, PersistentVolume[]>) {
    this.bound = bound;
    this.delayed = delayed;
    this.pvsByClass = pvsByClass;
  }
  clone(): StateData {
    // Filter results are per node and not changed by other pods: share them
    return this;
  }
}

export function claimClass(pvc: PersistentVolumeClaim): string {
  return pvc.metadata.annotations?.[ANN_STORAGE_CLASS_BETA] ?? pvc.spec?.storageClassName ?? '';
}

function pvClass(pv: PersistentVolume): string {
  return pv.metadata.annotations?.[ANN_STORAGE_CLASS_BETA] ?? pv.spec?.storageClassName ?? '';
}

function fullyBound(pvc: PersistentVolumeClaim): boolean {
  return !!pvc.spec?.volumeName && Object.hasOwn(pvc.metadata.annotations ?? {}, ANN_BIND_COMPLETED);
}

function storageOf(list: Readonly<Record<string, string | number>> | null | undefined): number {
  const q = list?.storage;
  return q === undefined ? 0 : amount('storage', q);
}

/** volume.CheckNodeAffinity: the PV's required node affinity against the node's labels only. */
function pvFitsNode(pv: PersistentVolume, node: Node): boolean {
  const req = pv.spec?.nodeAffinity?.required;
  if (!req) return true;
  return nodeSelectorMatches(compileNodeSelector(req), { metadata: { labels: node.metadata.labels ?? {} } });
}

function boundToClaim(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== pvc.metadata.name || ref.namespace !== pvc.metadata.namespace) return false;
  return !ref.uid || ref.uid === pvc.metadata.uid;
}

/** upstream's FindMatchingVolume on the scheduler path: a pre-bound PV, else the smallest fitting available one. */
export function findMatchingVolume(pvc: PersistentVolumeClaim, pvs: readonly PersistentVolume[], node: Node, excluded: ReadonlySet<string>): PersistentVolume | undefined {
  const requested = storageOf(pvc.spec?.resources?.requests);
  const cls = claimClass(pvc);
  const selector = pvc.spec?.selector ? labelSelectorAsSelector(pvc.spec.selector) : undefined;
  const claimMode = pvc.spec?.volumeMode ?? 'Filesystem';
  let best: PersistentVolume | undefined;
  let bestSize = 0;
  for (const pv of pvs) {
    if (excluded.has(pv.metadata.name ?? '')) continue;
    if (pv.spec?.claimRef && !boundToClaim(pv, pvc)) continue;
    const size = storageOf(pv.spec?.capacity);
    if (size < requested) continue;
    if ((pv.spec?.volumeMode ?? 'Filesystem') !== claimMode) continue;
    if (pv.metadata.deletionTimestamp) continue;
    const affinityOK = pvFitsNode(pv, node);
    if (boundToClaim(pv, pvc)) return affinityOK ? pv : undefined;
    if (pv.status?.phase !== 'Available') continue;
    if (selector && !matchesLabels(selector, pv.metadata.labels)) continue;
    if (pvClass(pv) !== cls) continue;
    if (!affinityOK) continue;
    const modes = pv.spec?.accessModes ?? [];
    if (!(pvc.spec?.accessModes ?? []).every((m) => modes.includes(m))) continue;
    if (!best || size < bestSize) {
      best = pv;
      bestSize = size;
    }
  }
  return best;
}

/** StorageClass.allowedTopologies against the node's labels (MatchTopologySelectorTerms). */
function topologyAllows(sc: StorageClass, node: Node): boolean {
  const terms = sc.allowedTopologies ?? [];
  if (terms.length === 0) return true;
  const labels = node.metadata.labels ?? {};
  return terms.some((t) => (t.matchLabelExpressions ?? []).every((e) => Object.hasOwn(labels, e.key) && e.values.includes(labels[e.key]!)));
}

export function newVolumeBinding(rawArgs: unknown, handle: Handle): PreFilterPlugin & FilterPlugin & ReservePlugin & PreBindPlugin & EnqueueExtensions {
  const args = (rawArgs ?? {}) as VolumeBindingArgs;
  const bindTimeoutMs = (args.bindTimeoutSeconds ?? 600) * 1000;
  if (bindTimeoutMs < 0) throw new Error('bindTimeoutSeconds: Invalid value: must be greater than or equal to 0');
  const l = () => handle.listers;

  function isDelayBinding(pvc: PersistentVolumeClaim): boolean {
    const cls = claimClass(pvc);
    if (!cls) return false;
    return l().storageClasses?.get(cls)?.volumeBindingMode === 'WaitForFirstConsumer';
  }

  function findPodVolumes(s: StateData, node: Node): { reasons: string[]; volumes: PodVolumes } {
    let boundOK = true;
    let pvsFound = true;
    let unboundOK = true;
    const volumes: PodVolumes = { staticBindings: [], dynamicProvisions: [] };
    const reasons = () => {
      const r: string[] = [];
      if (!boundOK) r.push(ErrReasonNodeConflict);
      if (!unboundOK) r.push(ErrReasonBindConflict);
      if (!pvsFound) r.push(ErrReasonPVNotExist);
      return r;
    };
    for (const pvc of s.bound) {
      const pv = l().pvs?.get(pvc.spec!.volumeName!);
      if (!pv) {
        pvsFound = false;
        return { reasons: reasons(), volumes };
      }
      if (!pvFitsNode(pv, node)) {
        boundOK = false;
        return { reasons: reasons(), volumes };
      }
    }
    if (s.delayed.length > 0) {
      const toProvision: PersistentVolumeClaim[] = [];
      const toMatch: PersistentVolumeClaim[] = [];
      for (const pvc of s.delayed) {
        const selected = pvc.metadata.annotations?.[ANN_SELECTED_NODE];
        if (selected !== undefined) {
          if (selected !== node.metadata.name) {
            unboundOK = false;
            return { reasons: reasons(), volumes };
          }
          toProvision.push(pvc);
        } else toMatch.push(pvc);
      }
      // claims in increasing request size, so each takes the smallest PV that fits (upstream's byPVCSize)
      toMatch.sort((a, b) => storageOf(a.spec?.resources?.requests) - storageOf(b.spec?.resources?.requests));
      const chosen = new Set<string>();
      for (const pvc of toMatch) {
        const pv = findMatchingVolume(pvc, s.pvsByClass.get(claimClass(pvc)) ?? [], node, chosen);
        if (!pv) {
          toProvision.push(pvc);
          continue;
        }
        chosen.add(pv.metadata.name ?? '');
        volumes.staticBindings.push({ pv, pvc });
      }
      for (const pvc of toProvision) {
        const cls = claimClass(pvc);
        const sc = cls ? l().storageClasses?.get(cls) : undefined;
        if (!cls || !sc) {
          unboundOK = false;
          break;
        }
        if (!sc.provisioner || sc.provisioner === NOT_SUPPORTED_PROVISIONER || !topologyAllows(sc, node)) {
          unboundOK = false;
          break;
        }
        volumes.dynamicProvisions.push(pvc);
      }
    }
    return { reasons: reasons(), volumes };
  }

  return {
    name: Name,
    preFilter(state: CycleState, pi: PodInfo) {
      if (pi.pvcKeys.length === 0) return new Status(Code.Skip);
      const pod = pi.pod;
      const vols = (pod.spec.volumes ?? []).filter((v) => v.persistentVolumeClaim || v.ephemeral);
      const bound: PersistentVolumeClaim[] = [];
      const delayed: PersistentVolumeClaim[] = [];
      let immediateUnbound = false;
      for (const v of vols) {
        const ephemeral = !v.persistentVolumeClaim;
        const claimName = ephemeral ? `${pod.metadata.name ?? ''}-${v.name}` : v.persistentVolumeClaim!.claimName;
        const pvc = l().pvcs?.get(pi.namespace, claimName);
        if (!pvc) {
          return new Status(
            Code.UnschedulableAndUnresolvable,
            ephemeral
              ? `waiting for ephemeral volume controller to create the persistentvolumeclaim "${claimName}"`
              : `persistentvolumeclaim "${claimName}" not found`,
          );
        }
        if (pvc.status?.phase === 'Lost') {
          return new Status(Code.UnschedulableAndUnresolvable, `persistentvolumeclaim "${claimName}" bound to non-existent persistentvolume "${pvc.spec?.volumeName ?? ''}"`);
        }
        if (pvc.metadata.deletionTimestamp) return new Status(Code.UnschedulableAndUnresolvable, `persistentvolumeclaim "${claimName}" is being deleted`);
        if (ephemeral && !(pvc.metadata.ownerReferences ?? []).some((o) => o.controller && o.uid === pod.metadata.uid)) {
          return new Status(Code.UnschedulableAndUnresolvable, `PVC ${pi.namespace}/${claimName} was not created for pod ${pi.key} (pod is not owner)`);
        }
        if (fullyBound(pvc)) bound.push(pvc);
        else if (isDelayBinding(pvc) && !pvc.spec?.volumeName) delayed.push(pvc);
        else immediateUnbound = true;
      }
      if (immediateUnbound) return new Status(Code.UnschedulableAndUnresolvable, ErrReasonUnboundImmediate);
      const pvsByClass = new Map<string, PersistentVolume[]>();
      if (delayed.length > 0) {
        const all = l().pvs?.list() ?? [];
        for (const pvc of delayed) {
          const cls = claimClass(pvc);
          if (!pvsByClass.has(cls)) pvsByClass.set(cls, all.filter((pv) => pvClass(pv) === cls));
        }
      }
      state.write(STATE_KEY, new StateData(bound, delayed, pvsByClass));
      return null;
    },
    filter(state: CycleState, _pi, ni: NodeInfo) {
      const s = state.read<StateData>(STATE_KEY);
      if (!s) return Status.error(`reading "${STATE_KEY}" from cycleState: not found`);
      const { reasons, volumes } = findPodVolumes(s, ni.node);
      if (reasons.length > 0) return new Status(Code.UnschedulableAndUnresolvable, ...reasons);
      s.byNode.set(ni.name, volumes);
      return null;
    },
    reserve(state: CycleState, _pi, nodeName: string) {
      const s = state.read<StateData>(STATE_KEY);
      if (!s) return null;
      const v = s.byNode.get(nodeName);
      if (!v) return Status.error(`no volumes found for node "${nodeName}"`);
      s.reserved = v;
      return null;
    },
    unreserve(state: CycleState) {
      const s = state.read<StateData>(STATE_KEY);
      if (s) s.reserved = undefined;
    },
    async preBind(state: CycleState, _pi, nodeName: string, signal?: AbortSignal) {
      const s = state.read<StateData>(STATE_KEY);
      const v = s?.reserved;
      if (!s || !v || (v.staticBindings.length === 0 && v.dynamicProvisions.length === 0)) return new Status(Code.Skip);
      const api = handle.volumeBinder;
      if (!api) return Status.error('no volume binder configured');
      for (const b of v.staticBindings) await api.bindVolume(b.pv, b.pvc, signal);
      for (const pvc of v.dynamicProvisions) await api.selectNode(pvc, nodeName, signal);
      await api.waitForBound([...v.staticBindings.map((b) => b.pvc), ...v.dynamicProvisions], bindTimeoutMs, signal);
      return null;
    },
    eventsToRegister() {
      return [
        { event: { resource: 'PersistentVolumeClaim', action: Action.Add | Action.Update } },
        { event: { resource: 'PersistentVolume', action: Action.Add | Action.Update } },
        { event: { resource: 'StorageClass', action: Action.Add | Action.Update } },
        { event: { resource: 'Node', action: Action.Add | Action.UpdateNodeLabel | Action.UpdateNodeTaint } },
        { event: { resource: 'CSINode', action: Action.Add | Action.Update } },
      ];
    },
  };
}

// Which PersistentVolume a claim binds to (upstream's pkg/controller/volume/persistentvolume
// index and storage helpers): a volume pre-bound to the claim wins; otherwise the smallest
// Available volume of the claim's class with enough capacity, at least the requested access modes
// (trying the volumes with the fewest extra modes first), the same volumeMode, and labels matching
// the claim's selector. Claims of a WaitForFirstConsumer class are bound here only to volumes
// pre-bound to them (the scheduler chooses the others).
import type { KObject } from '../../api/meta.ts';
import { compareQuantities, quantityFromJSON, type Quantity } from '../../api/quantity.ts';
import { labelSelectorAsSelector, matchesLabels, type LabelSelectorJSON } from '../../api/labels.ts';

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const ANN_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BETA_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';

export interface ClaimRef {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
}

interface PVSpec {
  capacity?: Record<string, unknown>;
  accessModes?: string[];
  claimRef?: ClaimRef | null;
  storageClassName?: string;
  volumeMode?: string;
  persistentVolumeReclaimPolicy?: string;
  nodeAffinity?: unknown;
}

interface PVCSpec {
  accessModes?: string[];
  resources?: { requests?: Record<string, unknown> };
  storageClassName?: string | null;
  volumeMode?: string;
  volumeName?: string;
  selector?: LabelSelectorJSON | null;
}

export const pvSpec = (pv: KObject): PVSpec => (pv.spec ?? {}) as PVSpec;
export const pvcSpec = (pvc: KObject): PVCSpec => (pvc.spec ?? {}) as PVCSpec;
export const pvPhase = (pv: KObject): string | undefined => (pv.status as { phase?: string } | undefined)?.phase;

/** upstream's GetPersistentVolumeClaimClass: spec.storageClassName, else the beta annotation, else "". */
export function claimClass(pvc: KObject): string {
  const a = pvc.metadata.annotations?.[ANN_BETA_STORAGE_CLASS];
  if (a !== undefined) return a;
  return pvcSpec(pvc).storageClassName ?? '';
}

export function volumeClass(pv: KObject): string {
  const a = pv.metadata.annotations?.[ANN_BETA_STORAGE_CLASS];
  if (a !== undefined) return a;
  return pvSpec(pv).storageClassName ?? '';
}

export function isVolumeBoundToClaim(pv: KObject, pvc: KObject): boolean {
  const ref = pvSpec(pv).claimRef;
  if (!ref) return false;
  if (ref.name !== pvc.metadata.name || ref.namespace !== pvc.metadata.namespace) return false;
  return !ref.uid || ref.uid === pvc.metadata.uid;
}

function storageOf(rl: Record<string, unknown> | undefined): Quantity | undefined {
  const v = rl?.storage;
  if (v === undefined) return undefined;
  try {
    return quantityFromJSON(v);
  } catch {
    return undefined;
  }
}

export function volumeModeMismatch(pvc: KObject, pv: KObject): boolean {
  return (pvcSpec(pvc).volumeMode ?? 'Filesystem') !== (pvSpec(pv).volumeMode ?? 'Filesystem');
}

/**
 * upstream's checkVolumeSatisfyClaim, for claims naming a volume: the reason it cannot be used,
 * or undefined.
 */
export function volumeMismatch(pv: KObject, pvc: KObject): string | undefined {
  const req = storageOf(pvcSpec(pvc).resources?.requests);
  const cap = storageOf(pvSpec(pv).capacity);
  if (req && (!cap || compareQuantities(cap, req) < 0)) return 'requested PV is too small';
  if (volumeClass(pv) !== claimClass(pvc)) return 'storageClassName does not match';
  if (volumeModeMismatch(pvc, pv)) return 'incompatible volumeMode';
  const modes = new Set(pvSpec(pv).accessModes ?? []);
  if (!(pvcSpec(pvc).accessModes ?? []).every((m) => modes.has(m))) return 'incompatible accessMode';
  return undefined;
}

/** upstream's FindMatchingVolume over one group of volumes (no node: the controller's path). */
export function findMatchingVolume(pvc: KObject, volumes: readonly KObject[], delayBinding: boolean): KObject | undefined {
  const req = storageOf(pvcSpec(pvc).resources?.requests) ?? quantityFromJSON('0');
  const cls = claimClass(pvc);
  const sel = pvcSpec(pvc).selector ? labelSelectorAsSelector(pvcSpec(pvc).selector) : undefined;
  let best: KObject | undefined;
  let bestQty: Quantity | undefined;
  for (const pv of volumes) {
    const ref = pvSpec(pv).claimRef;
    if (ref && !isVolumeBoundToClaim(pv, pvc)) continue;
    const qty = storageOf(pvSpec(pv).capacity) ?? quantityFromJSON('0');
    if (compareQuantities(qty, req) < 0) continue;
    if (volumeModeMismatch(pvc, pv)) continue;
    if (pv.metadata.deletionTimestamp) continue;
    if (isVolumeBoundToClaim(pv, pvc)) return pv;
    if (delayBinding) continue;
    if (pvPhase(pv) !== 'Available') continue;
    if (sel && !matchesLabels(sel, pv.metadata.labels)) continue;
    if (volumeClass(pv) !== cls) continue;
    if (!best || compareQuantities(bestQty!, qty) > 0) {
      best = pv;
      bestQty = qty;
    }
  }
  return best;
}

/**
 * upstream's findByClaim: volumes grouped by their access-mode set, the groups that cover the
 * claim's modes tried from the fewest modes up.
 */
export function findBestMatchForClaim(pvc: KObject, volumes: readonly KObject[], delayBinding: boolean): KObject | undefined {
  const want = pvcSpec(pvc).accessModes ?? [];
  const groups = new Map<string, KObject[]>();
  for (const pv of volumes) {
    const modes = [...new Set(pvSpec(pv).accessModes ?? [])].sort();
    if (!want.every((m) => modes.includes(m))) continue;
    const k = modes.join(',');
    groups.set(k, [...(groups.get(k) ?? []), pv]);
  }
  const ordered = [...groups.entries()].sort(([a], [b]) => a.split(',').length - b.split(',').length || (a < b ? -1 : a > b ? 1 : 0));
  for (const [, vols] of ordered) {
    const v = findMatchingVolume(pvc, vols, delayBinding);
    if (v) return v;
  }
  return undefined;
}

/** The default StorageClass: the newest of those annotated default (upstream's GetDefaultClass). */
export function defaultStorageClass(classes: readonly KObject[]): KObject | undefined {
  const defaults = classes.filter((c) => c.metadata.annotations?.[ANN_DEFAULT_CLASS] === 'true' || c.metadata.annotations?.[ANN_BETA_DEFAULT_CLASS] === 'true');
  defaults.sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    return tb - ta || ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1);
  });
  return defaults[0];
}

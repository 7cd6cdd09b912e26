// storage.k8s.io/v1 defaults, as upstream's pkg/apis/storage/v1/defaults.go (1.33, default
// feature gates: CSIVolumeFSGroupPolicy and CSIInlineVolume are GA, SELinuxMountReadWriteOncePod
// is on).

import { register } from '../validation/registry.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** SetDefaults_StorageClass: reclaimPolicy Delete, volumeBindingMode Immediate. */
export function defaultStorageClass(sc: Json): void {
  if (sc.reclaimPolicy == null) sc.reclaimPolicy = 'Delete';
  if (sc.volumeBindingMode == null) sc.volumeBindingMode = 'Immediate';
}

/** SetDefaults_CSIDriver. */
export function defaultCSIDriver(d: Json): void {
  if (d.spec == null || typeof d.spec !== 'object') d.spec = {};
  const s = d.spec;
  if (s.attachRequired == null) s.attachRequired = true;
  if (s.podInfoOnMount == null) s.podInfoOnMount = false;
  if (s.storageCapacity == null) s.storageCapacity = false;
  if (s.fsGroupPolicy == null) s.fsGroupPolicy = 'ReadWriteOnceWithFSType';
  if (!Array.isArray(s.volumeLifecycleModes) || s.volumeLifecycleModes.length === 0) s.volumeLifecycleModes = ['Persistent'];
  if (s.requiresRepublish == null) s.requiresRepublish = false;
  if (s.seLinuxMount == null) s.seLinuxMount = false;
}

register('storage.k8s.io/StorageClass', { defaults: defaultStorageClass });
register('storage.k8s.io/CSIDriver', { defaults: defaultCSIDriver });

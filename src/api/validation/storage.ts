// storage.k8s.io/v1 validation with upstream's field paths and wording
// (pkg/apis/storage/validation/validation.go, 1.33): StorageClass, VolumeAttachment, CSIDriver,
// CSINode, CSIStorageCapacity. Update validation follows each kind's registry strategy
// (StorageClass and VolumeAttachment re-run create validation; the others validate the update).
//
// Not here: an inline PersistentVolumeSpec in a VolumeAttachment source is not validated
// field by field (upstream runs the whole PV spec validation on it).

import '../defaults/storage.ts';
import { field, goQuote, goSyntax, type FieldError } from '../errors.ts';
import { quantityFromJSON, quantitySign, quantityString, QuantityError } from '../quantity.ts';
import { register } from './registry.ts';
import {
  entries, jsonEqual, validateImmutableField, validateLabelName, validateLabelSelector, validateObjectMeta,
  validateObjectMetaUpdate, type Json, type LabelSelectorOptions,
} from './meta.ts';
import {
  inclusiveRangeError, isDNS1123Subdomain, nameIsDNSSubdomain, validateNonnegativeField, validateQualifiedName, byteLength,
  IS_NEGATIVE_ERROR_MSG,
} from './names.ts';

const G = 'storage.k8s.io';
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v == null ? '' : String(v));

const MAX_PROVISIONER_PARAMETER_SIZE = 256 * 1024;
const MAX_PROVISIONER_PARAMETER_LEN = 512;
const MAX_ATTACHED_VOLUME_METADATA_SIZE = 256 * 1024;
const MAX_VOLUME_ERROR_MESSAGE_SIZE = 1024;
const CSI_NODE_ID_MAX_LENGTH = 192;
const CSI_NODE_ID_LONGER_MAX_LENGTH = 256;

/** core's ValidateCSIDriverName: required, at most 63 characters, a DNS subdomain ignoring case. */
export function validateCSIDriverName(name: string, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (name.length === 0) errs.push(field.required(fld, ''));
  if (name.length > 63) errs.push(field.tooLong(fld, name, 63));
  for (const m of isDNS1123Subdomain(name.toLowerCase())) errs.push(field.invalid(fld, name, m));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// StorageClass

function validateProvisioner(provisioner: string, fld: string): FieldError[] {
  if (provisioner.length === 0) return [field.required(fld, '')];
  // upstream validates (and so prints) the lowercased name.
  return validateQualifiedName(provisioner.toLowerCase(), fld);
}

function validateParameters(params: unknown, fld: string): FieldError[] {
  const list = entries(params);
  if (list.length > MAX_PROVISIONER_PARAMETER_LEN) return [field.tooLong(fld, '', MAX_PROVISIONER_PARAMETER_LEN)];
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of list) {
    if (k.length < 1) errs.push(field.invalid(fld, k, 'field can not be empty.'));
    total += byteLength(k) + byteLength(str(v));
  }
  if (total > MAX_PROVISIONER_PARAMETER_SIZE) errs.push(field.tooLong(fld, '', MAX_PROVISIONER_PARAMETER_SIZE));
  return errs;
}

const RECLAIM_POLICIES = ['Delete', 'Retain'];
const VOLUME_BINDING_MODES = ['Immediate', 'WaitForFirstConsumer'];

/** core's ValidateTopologySelectorTerm; returns the term's key -> value set for duplicate checks. */
function validateTopologySelectorTerm(term: Json, fld: string): { exprs: Map<string, Set<string>>; errs: FieldError[] } {
  const errs: FieldError[] = [];
  const exprs = new Map<string, Set<string>>();
  arr(term?.matchLabelExpressions).forEach((req0, i) => {
    const req = req0 ?? {};
    const p = `${fld}.matchLabelExpressions[${i}]`;
    const values = new Set<string>();
    const vals = arr(req.values);
    if (vals.length === 0) errs.push(field.required(`${p}.values`, ''));
    vals.forEach((v, j) => {
      if (values.has(v)) errs.push(field.duplicate(`${p}.values[${j}]`, v));
      values.add(v);
    });
    errs.push(...validateLabelName(str(req.key), `${p}.key`));
    if (exprs.has(str(req.key))) errs.push(field.duplicate(`${p}.key`, str(req.key)));
    exprs.set(str(req.key), values);
  });
  return { exprs, errs };
}

function sameExprs(a: Map<string, Set<string>>, b: Map<string, Set<string>>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, va] of a) {
    const vb = b.get(k);
    if (!vb || vb.size !== va.size || [...va].some((v) => !vb.has(v))) return false;
  }
  return true;
}

function validateAllowedTopologies(topologies: unknown, fld: string): FieldError[] {
  const terms = arr(topologies);
  if (terms.length === 0) return [];
  const errs: FieldError[] = [];
  // upstream's list of seen terms starts with one empty entry per term (a make() with a length
  // where a capacity was meant), and it compares with nil == empty: so a term without
  // expressions is always reported as a duplicate. Kept for fidelity.
  const seen: Array<Map<string, Set<string>>> = terms.map(() => new Map());
  terms.forEach((term, i) => {
    const { exprs, errs: termErrs } = validateTopologySelectorTerm(term, `${fld}[${i}]`);
    errs.push(...termErrs);
    for (const t of seen) {
      if (sameExprs(exprs, t)) errs.push(field.duplicate(`${fld}[${i}].matchLabelExpressions`, ''));
    }
    seen.push(exprs);
  });
  return errs;
}

export function validateStorageClass(sc: Json): FieldError[] {
  const errs = validateObjectMeta(sc?.metadata, false, nameIsDNSSubdomain);
  errs.push(...validateProvisioner(str(sc?.provisioner), 'provisioner'));
  errs.push(...validateParameters(sc?.parameters, 'parameters'));
  const reclaim = str(sc?.reclaimPolicy);
  if (reclaim && !RECLAIM_POLICIES.includes(reclaim)) errs.push(field.notSupported('reclaimPolicy', reclaim, RECLAIM_POLICIES));
  if (sc?.volumeBindingMode == null) errs.push(field.required('volumeBindingMode', ''));
  else if (!VOLUME_BINDING_MODES.includes(sc.volumeBindingMode)) {
    errs.push(field.notSupported('volumeBindingMode', str(sc.volumeBindingMode), VOLUME_BINDING_MODES));
  }
  errs.push(...validateAllowedTopologies(sc?.allowedTopologies, 'allowedTopologies'));
  return errs;
}

export function validateStorageClassUpdate(sc: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(sc?.metadata, old?.metadata);
  if (!jsonEqual(sc?.parameters ?? {}, old?.parameters ?? {})) errs.push(field.forbidden('parameters', 'updates to parameters are forbidden.'));
  if (str(sc?.provisioner) !== str(old?.provisioner)) errs.push(field.forbidden('provisioner', 'updates to provisioner are forbidden.'));
  if (str(sc?.reclaimPolicy) !== str(old?.reclaimPolicy)) errs.push(field.forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
  errs.push(...validateImmutableField(sc?.volumeBindingMode, old?.volumeBindingMode, 'volumeBindingMode'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// VolumeAttachment

function validateVolumeError(e: Json, fld: string): FieldError[] {
  if (e == null) return [];
  const errs: FieldError[] = [];
  // upstream reports the metadata size limit here, not the message limit it checks.
  if (str(e.message).length > MAX_VOLUME_ERROR_MESSAGE_SIZE) errs.push(field.tooLong(`${fld}.message`, '', MAX_ATTACHED_VOLUME_METADATA_SIZE));
  if (typeof e.errorCode === 'number' && e.errorCode < 0) errs.push(field.invalid(`${fld}.errorCode`, e.errorCode, inclusiveRangeError(0, 2147483647)));
  return errs;
}

export function validateVolumeAttachment(va: Json): FieldError[] {
  const errs = validateObjectMeta(va?.metadata, false, nameIsDNSSubdomain);
  const spec = va?.spec ?? {};
  if (str(spec.attacher).length === 0) errs.push(field.required('spec.attacher', ''));
  const src = spec.source ?? {};
  const hasPV = src.persistentVolumeName != null;
  const hasInline = src.inlineVolumeSpec != null;
  if (!hasPV && !hasInline) errs.push(field.required('spec.source', 'must specify exactly one of inlineVolumeSpec and persistentVolumeName'));
  else if (hasPV && hasInline) errs.push(field.forbidden('spec.source', 'must specify exactly one of inlineVolumeSpec and persistentVolumeName'));
  else if (hasPV && str(src.persistentVolumeName).length === 0) {
    errs.push(field.required('spec.source.persistentVolumeName', 'must specify non empty persistentVolumeName'));
  }
  for (const m of nameIsDNSSubdomain(str(spec.nodeName), false)) errs.push(field.invalid('spec.nodeName', str(spec.nodeName), m));
  const status = va?.status ?? {};
  let size = 0;
  for (const [k, v] of entries(status.attachmentMetadata)) size += byteLength(k) + byteLength(str(v));
  if (size > MAX_ATTACHED_VOLUME_METADATA_SIZE) errs.push(field.tooLong('status.attachmentMetadata', '', MAX_ATTACHED_VOLUME_METADATA_SIZE));
  errs.push(...validateVolumeError(status.attachError, 'status.attachError'));
  errs.push(...validateVolumeError(status.detachError, 'status.detachError'));
  return errs;
}

/** The extra checks upstream applies to storage.k8s.io/v1 requests (ValidateVolumeAttachmentV1). */
export function validateVolumeAttachmentV1(va: Json): FieldError[] {
  const errs = validateCSIDriverName(str(va?.spec?.attacher), 'spec.attacher');
  const pv = va?.spec?.source?.persistentVolumeName;
  if (pv != null) for (const m of nameIsDNSSubdomain(str(pv), false)) errs.push(field.invalid('spec.source.persistentVolumeName', str(pv), m));
  return errs;
}

/** A Go-like rendering of VolumeAttachmentSpec (Go itself prints pointer addresses here). */
function volumeAttachmentSpecGo(spec: Json): unknown {
  const s = spec ?? {};
  const src = s.source ?? {};
  const pv = src.persistentVolumeName == null ? '(*string)(nil)' : `&${goQuote(str(src.persistentVolumeName))}`;
  const inline = src.inlineVolumeSpec == null ? '(*core.PersistentVolumeSpec)(nil)' : '&core.PersistentVolumeSpec{...}';
  return goSyntax(
    `storage.VolumeAttachmentSpec{Attacher:${goQuote(str(s.attacher))}, Source:storage.VolumeAttachmentSource{PersistentVolumeName:${pv}, InlineVolumeSpec:${inline}}, NodeName:${goQuote(str(s.nodeName))}}`,
  );
}

export function validateVolumeAttachmentUpdate(va: Json, old: Json): FieldError[] {
  const errs = validateVolumeAttachment(va);
  if (!jsonEqual(va?.spec, old?.spec)) errs.push(field.invalid('spec', volumeAttachmentSpecGo(va?.spec), 'field is immutable'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// CSIDriver

const FS_GROUP_POLICIES = ['File', 'None', 'ReadWriteOnceWithFSType'];
const LIFECYCLE_MODES = ['Persistent', 'Ephemeral'];

function validateCSIDriverSpec(spec: Json, fld: string): FieldError[] {
  const s = spec ?? {};
  const errs: FieldError[] = [];
  // upstream's path says "attachedRequired" for the attachRequired field; kept.
  if (s.attachRequired == null) errs.push(field.required(`${fld}.attachedRequired`, ''));
  if (s.podInfoOnMount == null) errs.push(field.required(`${fld}.podInfoOnMount`, ''));
  if (s.storageCapacity == null) errs.push(field.required(`${fld}.storageCapacity`, ''));
  if (s.fsGroupPolicy != null && !FS_GROUP_POLICIES.includes(s.fsGroupPolicy)) {
    errs.push(field.notSupported(`${fld}.fsGroupPolicy`, str(s.fsGroupPolicy), FS_GROUP_POLICIES));
  }
  const audiences = new Set<string>();
  arr(s.tokenRequests).forEach((tr0, i) => {
    const tr = tr0 ?? {};
    const p = `${fld}.tokenRequests[${i}]`;
    const aud = str(tr.audience);
    if (audiences.has(aud)) {
      errs.push(field.duplicate(`${p}.audience`, aud));
      return;
    }
    audiences.add(aud);
    if (typeof tr.expirationSeconds !== 'number') return;
    if (tr.expirationSeconds < 600) errs.push(field.invalid(`${p}.expirationSeconds`, tr.expirationSeconds, 'may not specify a duration less than 10 minutes'));
    if (tr.expirationSeconds > 2 ** 32) errs.push(field.invalid(`${p}.expirationSeconds`, tr.expirationSeconds, 'may not specify a duration larger than 2^32 seconds'));
  });
  for (const mode of arr(s.volumeLifecycleModes)) {
    if (!LIFECYCLE_MODES.includes(mode)) errs.push(field.notSupported(`${fld}.volumeLifecycleModes`, str(mode), LIFECYCLE_MODES));
  }
  if (s.seLinuxMount == null) errs.push(field.required(`${fld}.seLinuxMount`, ''));
  if (typeof s.nodeAllocatableUpdatePeriodSeconds === 'number' && s.nodeAllocatableUpdatePeriodSeconds < 10) {
    errs.push(field.invalid(`${fld}.nodeAllocatableUpdatePeriodSeconds`, s.nodeAllocatableUpdatePeriodSeconds, 'must be greater than or equal to 10 seconds'));
  }
  return errs;
}

export function validateCSIDriver(d: Json): FieldError[] {
  return [...validateObjectMeta(d?.metadata, false, nameIsDNSSubdomain), ...validateCSIDriverSpec(d?.spec, 'spec')];
}

/** A *bool bad value as Go prints it: the pointed-to value, or the string "null" for nil. */
function goBoolPtr(v: unknown): unknown {
  return v == null ? 'null' : v;
}

export function validateCSIDriverUpdate(d: Json, old: Json): FieldError[] {
  const errs = [...validateObjectMetaUpdate(d?.metadata, old?.metadata), ...validateCSIDriverSpec(d?.spec, 'spec')];
  // Path kept as upstream spells it ("attachedRequired").
  if (!jsonEqual(d?.spec?.attachRequired, old?.spec?.attachRequired)) {
    errs.push(field.invalid('spec.attachedRequired', goBoolPtr(d?.spec?.attachRequired), 'field is immutable'));
  }
  if (!jsonEqual(d?.spec?.volumeLifecycleModes, old?.spec?.volumeLifecycleModes)) {
    const modes = arr(d?.spec?.volumeLifecycleModes);
    errs.push(field.invalid('spec.volumeLifecycleModes', goSyntax(`[]storage.VolumeLifecycleMode{${modes.map((m) => goQuote(str(m))).join(', ')}}`), 'field is immutable'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// CSINode

function validateCSINodeDriver(driver: Json, seen: Set<string>, fld: string, allowLongNodeID: boolean): FieldError[] {
  const d = driver ?? {};
  const name = str(d.name);
  const errs = validateCSIDriverName(name, `${fld}.name`);
  const nodeID = str(d.nodeID);
  if (nodeID.length === 0) errs.push(field.required(`${fld}.nodeID`, ''));
  const max = allowLongNodeID ? CSI_NODE_ID_LONGER_MAX_LENGTH : CSI_NODE_ID_MAX_LENGTH;
  if (nodeID.length > max) errs.push(field.invalid(`${fld}.nodeID`, nodeID, `must be ${max} characters or less`));
  if (typeof d.allocatable?.count === 'number') errs.push(...validateNonnegativeField(d.allocatable.count, `${fld}.allocatable.count`));
  if (seen.has(name)) errs.push(field.duplicate(`${fld}.name`, name));
  seen.add(name);
  // upstream reports topology key problems at the driver's path.
  const keys = new Set<string>();
  for (const key of arr(d.topologyKeys).map(str)) {
    if (key.length === 0) errs.push(field.required(fld, key));
    if (keys.has(key)) errs.push(field.duplicate(fld, key));
    keys.add(key);
    errs.push(...validateQualifiedName(key, fld));
  }
  return errs;
}

function validateCSINodeSpec(node: Json, allowLongNodeID: boolean): FieldError[] {
  const seen = new Set<string>();
  return arr(node?.spec?.drivers).flatMap((d, i) => validateCSINodeDriver(d, seen, `spec.drivers[${i}]`, allowLongNodeID));
}

export function validateCSINode(node: Json): FieldError[] {
  return [...validateObjectMeta(node?.metadata, false, nameIsDNSSubdomain), ...validateCSINodeSpec(node, true)];
}

function csiNodeDriverGo(d: Json): unknown {
  const keys = arr(d?.topologyKeys);
  const topo = d?.topologyKeys == null ? '[]string(nil)' : `[]string{${keys.map((k) => goQuote(str(k))).join(', ')}}`;
  const alloc = d?.allocatable == null ? '(*storage.VolumeNodeResources)(nil)' : '&storage.VolumeNodeResources{...}';
  return goSyntax(`storage.CSINodeDriver{Name:${goQuote(str(d?.name))}, NodeID:${goQuote(str(d?.nodeID))}, TopologyKeys:${topo}, Allocatable:${alloc}}`);
}

export function validateCSINodeUpdate(node: Json, old: Json): FieldError[] {
  const errs = [...validateCSINode(node), ...validateObjectMetaUpdate(node?.metadata, old?.metadata)];
  // Drivers may come and go, but an existing driver entry may not change.
  for (const oldDriver of arr(old?.spec?.drivers)) {
    for (const newDriver of arr(node?.spec?.drivers)) {
      if (str(oldDriver?.name) === str(newDriver?.name) && !jsonEqual(newDriver, oldDriver)) {
        errs.push(field.invalid('spec.drivers', csiNodeDriverGo(newDriver), 'field is immutable'));
      }
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// CSIStorageCapacity

export function validateCSIStorageCapacity(c: Json, opts: LabelSelectorOptions = {}): FieldError[] {
  const errs = validateObjectMeta(c?.metadata, true, nameIsDNSSubdomain);
  errs.push(...validateLabelSelector(c?.nodeTopology, opts, 'nodeTopology'));
  const cls = str(c?.storageClassName);
  for (const m of nameIsDNSSubdomain(cls, false)) errs.push(field.invalid('storageClassName', cls, m));
  if (c?.capacity != null) {
    try {
      const q = quantityFromJSON(c.capacity);
      if (quantitySign(q) < 0) errs.push(field.invalid('capacity', quantityString(q), IS_NEGATIVE_ERROR_MSG));
    } catch (e) {
      if (!(e instanceof QuantityError)) throw e;
      // A malformed quantity fails decoding before validation (defaults/quantities.ts).
    }
  }
  return errs;
}

/** Go's %#v of a v1.LabelSelector value (upstream prints the immutable nodeTopology so). */
export function labelSelectorGo(sel: Json): unknown {
  const s = sel ?? {};
  const labels = s.matchLabels == null
    ? 'map[string]string(nil)'
    : `map[string]string{${Object.keys(s.matchLabels).sort().map((k) => `${goQuote(k)}:${goQuote(str(s.matchLabels[k]))}`).join(', ')}}`;
  const reqs = s.matchExpressions == null
    ? '[]v1.LabelSelectorRequirement(nil)'
    : `[]v1.LabelSelectorRequirement{${arr(s.matchExpressions)
        .map((r) => {
          const vals = r?.values == null ? '[]string(nil)' : `[]string{${arr(r.values).map((v) => goQuote(str(v))).join(', ')}}`;
          return `v1.LabelSelectorRequirement{Key:${goQuote(str(r?.key))}, Operator:${goQuote(str(r?.operator))}, Values:${vals}}`;
        })
        .join(', ')}}`;
  return goSyntax(`v1.LabelSelector{MatchLabels:${labels}, MatchExpressions:${reqs}}`);
}

export function validateCSIStorageCapacityUpdate(c: Json, old: Json): FieldError[] {
  // A stored selector with label values now considered invalid stays updatable.
  const opts: LabelSelectorOptions = { allowInvalidLabelValueInSelector: validateLabelSelector(old?.nodeTopology, {}, 'nodeTopology').length > 0 };
  const errs = validateCSIStorageCapacity(c, opts);
  errs.push(...validateObjectMetaUpdate(c?.metadata, old?.metadata));
  if (!jsonEqual(c?.nodeTopology, old?.nodeTopology)) {
    errs.push(field.invalid('nodeTopology', c?.nodeTopology == null ? 'null' : labelSelectorGo(c.nodeTopology), 'field is immutable'));
  }
  if (str(c?.storageClassName) !== str(old?.storageClassName)) errs.push(field.invalid('storageClassName', str(c?.storageClassName), 'field is immutable'));
  return errs;
}

// ---------------------------------------------------------------------------------------------

register(`${G}/StorageClass`, {
  validateCreate: validateStorageClass,
  validateUpdate: (sc, old) => [...validateStorageClass(sc), ...validateStorageClassUpdate(sc, old)],
});
register(`${G}/VolumeAttachment`, {
  validateCreate: (va) => [...validateVolumeAttachment(va), ...validateVolumeAttachmentV1(va)],
  validateUpdate: validateVolumeAttachmentUpdate,
  // upstream's status strategy reuses the main update validation (spec is reset to the old one).
  validateStatusUpdate: validateVolumeAttachmentUpdate,
});
register(`${G}/CSIDriver`, { validateCreate: validateCSIDriver, validateUpdate: validateCSIDriverUpdate });
register(`${G}/CSINode`, { validateCreate: validateCSINode, validateUpdate: validateCSINodeUpdate });
register(`${G}/CSIStorageCapacity`, { validateCreate: (c) => validateCSIStorageCapacity(c), validateUpdate: validateCSIStorageCapacityUpdate });

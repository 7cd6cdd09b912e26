// Resource names and quantities in resource lists, as upstream's pkg/apis/core/helper and the
// ValidateResourceQuantityValue family. Shared by pod, quota, limit-range and node validation.

import { field, type FieldError } from '../errors.ts';
import { quantityFromJSON, QuantityError, quantityString, type Quantity } from '../quantity.ts';
import { isQualifiedName } from './names.ts';

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const STANDARD_RESOURCES = new Set([
  'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'pods', 'services', 'replicationcontrollers',
  'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims', 'storage', 'requests.storage',
  'services.nodeports', 'services.loadbalancers',
]);
const STANDARD_QUOTA_RESOURCES = new Set([
  'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.storage',
  'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'pods', 'services',
  'replicationcontrollers', 'resourcequotas', 'secrets', 'persistentvolumeclaims', 'configmaps',
  'services.nodeports', 'services.loadbalancers',
]);
const INTEGER_RESOURCES = new Set([
  'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps',
  'persistentvolumeclaims', 'services.nodeports', 'services.loadbalancers',
]);

export const isHugePageResourceName = (n: string) => n.startsWith('hugepages-');
const isQuotaHugePageResourceName = (n: string) => n.startsWith('hugepages-') || n.startsWith('requests.hugepages-');

/** Unqualified names and names in the kubernetes.io domain. */
export function isNativeResource(n: string): boolean {
  return !n.includes('/') || n.includes('kubernetes.io/');
}

export function isExtendedResourceName(n: string): boolean {
  if (isNativeResource(n) || n.startsWith('requests.')) return false;
  return isQualifiedName('requests.' + n).length === 0;
}

export function isStandardResourceName(n: string): boolean {
  return STANDARD_RESOURCES.has(n) || isQuotaHugePageResourceName(n);
}

export function isStandardContainerResourceName(n: string): boolean {
  return STANDARD_CONTAINER_RESOURCES.has(n) || isHugePageResourceName(n);
}

export function isStandardQuotaResourceName(n: string): boolean {
  return STANDARD_QUOTA_RESOURCES.has(n) || isQuotaHugePageResourceName(n);
}

export function isIntegerResourceName(n: string): boolean {
  return INTEGER_RESOURCES.has(n) || isExtendedResourceName(n);
}

/** Requests may differ from limits only for native, non-hugepage resources. */
export function isOvercommitAllowed(n: string): boolean {
  return isNativeResource(n) && !isHugePageResourceName(n);
}

export function validateResourceName(value: string, fld: string): FieldError[] {
  const errs = isQualifiedName(value).map((m) => field.invalid(fld, value, m));
  if (errs.length) return errs;
  if (!value.includes('/') && !isStandardResourceName(value)) {
    return [field.invalid(fld, value, 'must be a standard resource type or fully qualified')];
  }
  return [];
}

export function validateContainerResourceName(value: string, fld: string): FieldError[] {
  const errs = validateResourceName(value, fld);
  if (!value.includes('/')) {
    if (!isStandardContainerResourceName(value)) return [...errs, field.invalid(fld, value, 'must be a standard resource for containers')];
  } else if (!isNativeResource(value) && !isExtendedResourceName(value)) {
    return [...errs, field.invalid(fld, value, "doesn't follow extended resource name standard")];
  }
  return errs;
}

export function validateResourceQuotaResourceName(value: string, fld: string): FieldError[] {
  const errs = validateResourceName(value, fld);
  if (!value.includes('/') && !isStandardQuotaResourceName(value)) {
    return [...errs, field.invalid(fld, value, 'must be a standard resource for quota')];
  }
  return errs;
}

/** A quantity from decoded JSON, or the parse failure message (validation of un-defaulted objects). */
export function readQuantity(v: unknown): Quantity | string {
  try {
    return quantityFromJSON(v);
  } catch (e) {
    if (e instanceof QuantityError) return e.message;
    throw e;
  }
}

/** Reads a quantity, pushing upstream's decode message as a field error when it does not parse. */
export function quantityAt(v: unknown, fld: string, errs: FieldError[]): Quantity | undefined {
  const q = readQuantity(v);
  if (typeof q === 'string') {
    errs.push(field.invalid(fld, v ?? null, q));
    return undefined;
  }
  return q;
}

export const IS_NEGATIVE = 'must be greater than or equal to 0';

/** upstream's ValidateResourceQuantityValue: non-negative, and whole for integer resources. */
export function validateResourceQuantityValue(resource: string, q: Quantity, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  if (q.nanos < 0n) errs.push(field.invalid(fld, quantityString(q), IS_NEGATIVE));
  if (isIntegerResourceName(resource) && (q.nanos / 1_000_000n) % 1000n !== 0n) {
    errs.push(field.invalid(fld, quantityString(q), 'must be an integer'));
  }
  return errs;
}

/** upstream's validateBasicResource: Value() (rounded up) must not be negative. */
export function validateBasicResource(q: Quantity, fld: string): FieldError[] {
  const v = q.nanos >= 0n ? (q.nanos + 999_999_999n) / 1_000_000_000n : -((-q.nanos + 999_999_999n) / 1_000_000_000n);
  return v < 0n ? [field.invalid(fld, Number(v), 'must be a valid resource quantity')] : [];
}

export function validatePositiveQuantityValue(q: Quantity, fld: string): FieldError[] {
  return q.nanos <= 0n ? [field.invalid(fld, quantityString(q), 'must be greater than zero')] : [];
}

export function validateNonnegativeQuantity(q: Quantity, fld: string): FieldError[] {
  return q.nanos < 0n ? [field.invalid(fld, quantityString(q), IS_NEGATIVE)] : [];
}

// coordination.k8s.io/v1 Lease validation, as upstream's pkg/apis/coordination/validation.

import { field, type FieldError } from '../errors.ts';
import { register } from './registry.ts';
import { validateObjectMeta, validateObjectMetaUpdate, type Json } from './meta.ts';
import { isQualifiedName, nameIsDNSSubdomain } from './names.ts';

const LEASE_STRATEGIES = ['OldestEmulationVersion'];

/**
 * upstream's ValidateCoordinatedLeaseStrategy. Note upstream appends "strategy" to a path that
 * already ends in it, so errors read "spec.strategy.strategy"; kept for fidelity.
 */
export function validateCoordinatedLeaseStrategy(strategy: string, fld: string): FieldError[] {
  const p = `${fld}.strategy`;
  if (strategy.split('/').length === 1) {
    return LEASE_STRATEGIES.includes(strategy) ? [] : [field.notSupported(p, strategy, LEASE_STRATEGIES)];
  }
  return isQualifiedName(strategy).map((m) => field.invalid(p, strategy, m));
}

export function validateLeaseSpec(spec: Json, fld: string): FieldError[] {
  const s = spec ?? {};
  const errs: FieldError[] = [];
  if (typeof s.leaseDurationSeconds === 'number' && s.leaseDurationSeconds <= 0) {
    errs.push(field.invalid(`${fld}.leaseDurationSeconds`, s.leaseDurationSeconds, 'must be greater than 0'));
  }
  if (typeof s.leaseTransitions === 'number' && s.leaseTransitions < 0) {
    errs.push(field.invalid(`${fld}.leaseTransitions`, s.leaseTransitions, 'must be greater than or equal to 0'));
  }
  if (s.strategy != null) errs.push(...validateCoordinatedLeaseStrategy(String(s.strategy), `${fld}.strategy`));
  if (s.preferredHolder && !s.strategy) {
    errs.push(field.forbidden(`${fld}.preferredHolder`, 'may only be specified if `strategy` is defined'));
  }
  return errs;
}

export function validateLease(lease: Json): FieldError[] {
  return [...validateObjectMeta(lease?.metadata, true, nameIsDNSSubdomain), ...validateLeaseSpec(lease?.spec, 'spec')];
}

export function validateLeaseUpdate(lease: Json, old: Json): FieldError[] {
  return [...validateObjectMetaUpdate(lease?.metadata, old?.metadata), ...validateLeaseSpec(lease?.spec, 'spec')];
}

register('coordination.k8s.io/Lease', { validateCreate: validateLease, validateUpdate: validateLeaseUpdate });

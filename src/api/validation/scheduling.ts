// scheduling.k8s.io/v1 PriorityClass validation, as upstream's
// pkg/apis/scheduling/validation/validation.go: names with the reserved "system-" prefix must
// be one of the built-in system classes with their exact value; other classes may not exceed
// HighestUserDefinablePriority; value and preemptionPolicy are immutable.
//
// Not here: "only one globalDefault" is upstream's Priority admission plugin, not validation.

import '../defaults/scheduling.ts';
import { field, type FieldError } from '../errors.ts';
import { register } from './registry.ts';
import { validateObjectMeta, validateObjectMetaUpdate, validateImmutableField, type Json } from './meta.ts';
import { nameIsDNSSubdomain } from './names.ts';

export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
export const SYSTEM_PRIORITY_CLASS_PREFIX = 'system-';

/** The built-in classes, as upstream's SystemPriorityClasses(). */
export const SYSTEM_PRIORITY_CLASSES: ReadonlyArray<{ name: string; value: number; globalDefault: boolean }> = [
  { name: 'system-node-critical', value: SYSTEM_CRITICAL_PRIORITY + 1000, globalDefault: false },
  { name: 'system-cluster-critical', value: SYSTEM_CRITICAL_PRIORITY, globalDefault: false },
];

/** upstream's IsKnownSystemPriorityClass: undefined when known, else its error text. */
export function knownSystemPriorityClassError(name: string, value: number, globalDefault: boolean): string | undefined {
  const spc = SYSTEM_PRIORITY_CLASSES.find((s) => s.name === name);
  if (!spc) return `${name} is not a known system priority class`;
  if (spc.value !== value) return `value of ${spc.name} PriorityClass must be ${spc.value}`;
  if (spc.globalDefault !== globalDefault) return `globalDefault of ${spc.name} PriorityClass must be ${spc.globalDefault}`;
  return undefined;
}

const PREEMPTION_POLICIES = ['PreemptLowerPriority', 'Never'];

/** core's ValidatePreemptionPolicy (shared with pods). */
export function validatePreemptionPolicy(policy: unknown, fld: string): FieldError[] {
  const p = String(policy ?? '');
  if (PREEMPTION_POLICIES.includes(p)) return [];
  if (p === '') return [field.required(fld, '')];
  return [field.notSupported(fld, p, PREEMPTION_POLICIES)];
}

export function validatePriorityClass(pc: Json): FieldError[] {
  const errs = validateObjectMeta(pc?.metadata, false, nameIsDNSSubdomain);
  const name = String(pc?.metadata?.name ?? '');
  const value = typeof pc?.value === 'number' ? pc.value : 0;
  if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    const why = knownSystemPriorityClassError(name, value, pc?.globalDefault === true);
    if (why) {
      errs.push(field.forbidden('metadata.name', `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${why}`));
    }
  } else if (value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(field.forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  if (pc?.preemptionPolicy != null) errs.push(...validatePreemptionPolicy(pc.preemptionPolicy, 'preemptionPolicy'));
  return errs;
}

export function validatePriorityClassUpdate(pc: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(pc?.metadata, old?.metadata);
  if ((pc?.value ?? 0) !== (old?.value ?? 0)) errs.push(field.forbidden('value', 'may not be changed in an update.'));
  errs.push(...validateImmutableField(pc?.preemptionPolicy, old?.preemptionPolicy, 'preemptionPolicy'));
  return errs;
}

register('scheduling.k8s.io/PriorityClass', { validateCreate: validatePriorityClass, validateUpdate: validatePriorityClassUpdate });

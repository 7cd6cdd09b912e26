// node.k8s.io/v1 RuntimeClass validation, as upstream's pkg/apis/node/validation: the handler
// is a DNS label and immutable; overhead is checked as container limits (so its errors read
// "overhead.limits[cpu]"); scheduling's nodeSelector is a label map and its tolerations are
// pod tolerations that must be unique by key, operator, value and effect.

import { field, goQuote, goSyntax, type FieldError } from '../errors.ts';
import { register } from './registry.ts';
import { validateImmutableField, validateLabels, validateObjectMeta, validateObjectMetaUpdate, type Json } from './meta.ts';
import { nameIsDNSLabel, nameIsDNSSubdomain } from './names.ts';
import { validateResourceRequirements, validateTolerations } from './podspec.ts';

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v == null ? '' : String(v));

/** Go's %#v of the internal core.Toleration, as upstream prints a duplicate. */
function tolerationGo(t: Json): unknown {
  const secs = t?.tolerationSeconds == null ? '(*int64)(nil)' : `(*int64)(${Number(t.tolerationSeconds)})`;
  return goSyntax(
    `core.Toleration{Key:${goQuote(str(t?.key))}, Operator:${goQuote(str(t?.operator))}, Value:${goQuote(str(t?.value))}, Effect:${goQuote(str(t?.effect))}, TolerationSeconds:${secs}}`,
  );
}

function validateRuntimeClassTolerations(tolerations: unknown, fld: string): FieldError[] {
  const errs = validateTolerations(tolerations, fld);
  const seen = new Set<string>();
  arr(tolerations).forEach((t, i) => {
    const key = JSON.stringify([str(t?.key), str(t?.operator), str(t?.value), str(t?.effect)]);
    if (seen.has(key)) errs.push(field.duplicate(`${fld}[${i}]`, tolerationGo(t)));
    else seen.add(key);
  });
  return errs;
}

export function validateRuntimeClass(rc: Json): FieldError[] {
  const errs = validateObjectMeta(rc?.metadata, false, nameIsDNSSubdomain);
  const handler = str(rc?.handler);
  for (const m of nameIsDNSLabel(handler, false)) errs.push(field.invalid('handler', handler, m));
  if (rc?.overhead != null) errs.push(...validateResourceRequirements({ limits: rc.overhead.podFixed }, 'overhead', new Set()));
  const sched = rc?.scheduling;
  if (sched != null) {
    if (sched.nodeSelector != null) errs.push(...validateLabels(sched.nodeSelector, 'scheduling.nodeSelector'));
    errs.push(...validateRuntimeClassTolerations(sched.tolerations, 'scheduling.tolerations'));
  }
  return errs;
}

export function validateRuntimeClassUpdate(rc: Json, old: Json): FieldError[] {
  return [...validateObjectMetaUpdate(rc?.metadata, old?.metadata), ...validateImmutableField(str(rc?.handler), str(old?.handler), 'handler')];
}

register('node.k8s.io/RuntimeClass', {
  validateCreate: validateRuntimeClass,
  // upstream's strategy validates the new object in full, then the update rules.
  validateUpdate: (rc, old) => [...validateRuntimeClass(rc), ...validateRuntimeClassUpdate(rc, old)],
});

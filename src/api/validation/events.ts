// events.k8s.io/v1 Event validation, as upstream's pkg/apis/core/validation/events.go: an event
// written through events.k8s.io/v1 must pass the legacy rules every event passes plus the strict
// ones (metadata, eventTime, type Normal/Warning, a series of at least 2, no deprecated fields),
// and on update almost everything is immutable. (core/v1 writes get the legacy rules only:
// validation/core.ts.)
//
// Upstream validates the stored (core) form, so field paths use core names: "reportingController"
// for the reporting component, "involvedObject", "message", "source", "firstTimestamp", ...
// The functions accept either form; an events.k8s.io/v1 object is converted first.

import { field, goQuote, goSyntax, type FieldError } from '../errors.ts';
import { eventsV1ToCoreEvent, EVENTS_API_VERSION } from '../conversion/events.ts';
import { register } from './registry.ts';
import { jsonEqual, validateObjectMeta, validateObjectMetaUpdate, type Json } from './meta.ts';
import { isDNS1123Subdomain, isQualifiedName, nameIsDNSSubdomain } from './names.ts';

export const REPORTING_INSTANCE_LENGTH_LIMIT = 128;
export const ACTION_LENGTH_LIMIT = 128;
export const REASON_LENGTH_LIMIT = 128;
export const NOTE_LENGTH_LIMIT = 1024;

const str = (v: unknown): string => (v == null ? '' : String(v));

/** The stored (core/v1) form of an event given in either version. */
export function asCoreEvent(ev: Json): Json {
  if (ev?.apiVersion === EVENTS_API_VERSION) return eventsV1ToCoreEvent(ev);
  if (ev && ev.apiVersion == null && ('regarding' in ev || 'note' in ev || 'reportingController' in ev)) return eventsV1ToCoreEvent(ev);
  return ev;
}

/** The rules every event passes, whatever the API version it is written through. */
export function validateEventLegacy(ev: Json): FieldError[] {
  const errs: FieldError[] = [];
  const ns = str(ev?.metadata?.namespace);
  const ion = str(ev?.involvedObject?.namespace);
  if (!ev?.eventTime) {
    // Old-style events: the event lives in its object's namespace ("default" for cluster objects).
    if (ion === '') {
      if (ns !== '' && ns !== 'default') errs.push(field.invalid('involvedObject.namespace', ion, 'does not match event.namespace'));
    } else if (ns !== ion) {
      errs.push(field.invalid('involvedObject.namespace', ion, 'does not match event.namespace'));
    }
  } else {
    if (ion === '' && ns !== 'default' && ns !== 'kube-system') errs.push(field.invalid('involvedObject.namespace', ion, 'does not match event.namespace'));
    const controller = str(ev.reportingComponent);
    if (controller === '') errs.push(field.required('reportingController', ''));
    for (const m of isQualifiedName(controller)) errs.push(field.invalid('reportingController', controller, m));
    const instance = str(ev.reportingInstance);
    if (instance === '') errs.push(field.required('reportingInstance', ''));
    if (instance.length > REPORTING_INSTANCE_LENGTH_LIMIT) errs.push(field.invalid('reportingInstance', '', `can have at most ${REPORTING_INSTANCE_LENGTH_LIMIT} characters`));
    const action = str(ev.action);
    if (action === '') errs.push(field.required('action', ''));
    if (action.length > ACTION_LENGTH_LIMIT) errs.push(field.invalid('action', '', `can have at most ${ACTION_LENGTH_LIMIT} characters`));
    const reason = str(ev.reason);
    if (reason === '') errs.push(field.required('reason', ''));
    if (reason.length > REASON_LENGTH_LIMIT) errs.push(field.invalid('reason', '', `can have at most ${REASON_LENGTH_LIMIT} characters`));
    if (str(ev.message).length > NOTE_LENGTH_LIMIT) errs.push(field.invalid('message', '', `can have at most ${NOTE_LENGTH_LIMIT} characters`));
  }
  for (const m of isDNS1123Subdomain(ns)) errs.push(field.invalid('namespace', ns, m));
  return errs;
}

function validateV1EventSeries(ev: Json): FieldError[] {
  const s = ev?.series;
  if (s == null) return [];
  const errs: FieldError[] = [];
  if ((typeof s.count === 'number' ? s.count : 0) < 2) errs.push(field.invalid('series.count', '', 'should be at least 2'));
  if (!s.lastObservedTime) errs.push(field.required('series.lastObservedTime', ''));
  return errs;
}

/** Create through events.k8s.io/v1: the legacy rules and the strict ones. */
export function validateEventCreateV1(event: Json): FieldError[] {
  const ev = asCoreEvent(event);
  const errs = validateEventLegacy(ev);
  errs.push(...validateObjectMeta(ev?.metadata, true, nameIsDNSSubdomain));
  errs.push(...validateV1EventSeries(ev));
  if (!ev?.eventTime) errs.push(field.required('eventTime', ''));
  const type = str(ev?.type);
  if (type !== 'Normal' && type !== 'Warning') errs.push(field.invalid('type', '', `has invalid value: ${type}`));
  if (ev?.firstTimestamp) errs.push(field.invalid('firstTimestamp', '', 'needs to be unset'));
  if (ev?.lastTimestamp) errs.push(field.invalid('lastTimestamp', '', 'needs to be unset'));
  if ((ev?.count ?? 0) !== 0) errs.push(field.invalid('count', '', 'needs to be unset'));
  if (str(ev?.source?.component) !== '' || str(ev?.source?.host) !== '') errs.push(field.invalid('source', '', 'needs to be unset'));
  return errs;
}

// Go's %v / %#v renderings of the internal types upstream prints for immutable fields.

/** time.Time's String(): "2025-01-01 00:00:00.5 +0000 UTC"; the zero time for unset. */
function goTime(v: unknown): unknown {
  if (!v) return goSyntax('0001-01-01 00:00:00 +0000 UTC');
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(String(v));
  if (!m) return String(v);
  const frac = (m[3] ?? '').replace(/0+$/, '');
  return goSyntax(`${m[1]} ${m[2]}${frac ? '.' + frac : ''} +0000 UTC`);
}

function goObjectReference(r: Json): string {
  const q = (x: unknown) => goQuote(str(x));
  return `core.ObjectReference{Kind:${q(r?.kind)}, Namespace:${q(r?.namespace)}, Name:${q(r?.name)}, UID:${q(r?.uid)}, APIVersion:${q(r?.apiVersion)}, ResourceVersion:${q(r?.resourceVersion)}, FieldPath:${q(r?.fieldPath)}}`;
}

const IMMUTABLE_EVENT_FIELDS: ReadonlyArray<[string, (v: unknown) => unknown]> = [
  ['involvedObject', (v) => goSyntax(goObjectReference(v))],
  ['reason', str],
  ['message', str],
  ['source', (v) => goSyntax(`core.EventSource{Component:${goQuote(str((v as Json)?.component))}, Host:${goQuote(str((v as Json)?.host))}}`)],
  ['firstTimestamp', goTime],
  ['lastTimestamp', goTime],
  ['count', (v) => (typeof v === 'number' ? v : 0)],
  // upstream checks reason twice; the duplicate reads once in the 422 message.
  ['reason', str],
  ['type', str],
  ['eventTime', goTime],
  ['action', str],
  ['related', (v) => (v == null ? 'null' : goSyntax(goObjectReference(v)))],
  ['reportingComponent', str],
  ['reportingInstance', str],
];

/** Update through events.k8s.io/v1: legacy rules, a valid changed series, and immutability. */
export function validateEventUpdateV1(event: Json, oldEvent: Json): FieldError[] {
  const ev = asCoreEvent(event);
  const old = asCoreEvent(oldEvent);
  const errs = validateEventLegacy(ev);
  errs.push(...validateObjectMetaUpdate(ev?.metadata, old?.metadata));
  if (!jsonEqual(ev?.series, old?.series)) errs.push(...validateV1EventSeries(ev));
  for (const [name, render] of IMMUTABLE_EVENT_FIELDS) {
    const isEmpty = (v: unknown) => v == null || v === '' || v === 0 || (typeof v === 'object' && Object.keys(v as object).length === 0);
    const same = jsonEqual(ev?.[name], old?.[name]) || (isEmpty(ev?.[name]) && isEmpty(old?.[name]));
    // Paths use internal names: the core reportingComponent is upstream's ReportingController.
    const path = name === 'reportingComponent' ? 'reportingController' : name;
    if (!same) errs.push(field.invalid(path, render(ev?.[name]), 'field is immutable'));
  }
  return errs;
}

register('events.k8s.io/Event', {
  validateCreate: (o) => validateEventCreateV1(o),
  validateUpdate: (o, old) => validateEventUpdateV1(o, old),
});

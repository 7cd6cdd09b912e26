// Version conversion for kinds served in more than one version (or by more than one group) from
// one stored object. convert() dispatches on the object's kind and apiVersion; it is the identity
// (the same object, not a copy) when the versions already match. Lists ("<Kind>List" with items)
// convert item by item.
//
// Conversions known here:
//   Event                    v1 (stored)  <-> events.k8s.io/v1
//   HorizontalPodAutoscaler  autoscaling/v2 (stored) <-> autoscaling/v1

import { internalError } from '../errors.ts';
import { coreEventToEventsV1, eventsV1ToCoreEvent, CORE_EVENT_API_VERSION, EVENTS_API_VERSION } from './events.ts';
import { hpaV1ToV2, hpaV2ToV1, HPA_V1, HPA_V2 } from './autoscaling.ts';

type Obj = Record<string, unknown>;
type Converter = (o: Obj) => Obj;

/** kind -> "from>to" -> converter. */
const CONVERTERS: Record<string, Record<string, Converter>> = {
  Event: {
    [`${CORE_EVENT_API_VERSION}>${EVENTS_API_VERSION}`]: coreEventToEventsV1,
    [`${EVENTS_API_VERSION}>${CORE_EVENT_API_VERSION}`]: eventsV1ToCoreEvent,
  },
  HorizontalPodAutoscaler: {
    [`${HPA_V2}>${HPA_V1}`]: hpaV2ToV1,
    [`${HPA_V1}>${HPA_V2}`]: hpaV1ToV2,
  },
};

/** Whether convert() can take objects of this kind from one apiVersion to the other. */
export function canConvert(kind: string, fromApiVersion: string, toApiVersion: string): boolean {
  return fromApiVersion === toApiVersion || CONVERTERS[kind]?.[`${fromApiVersion}>${toApiVersion}`] !== undefined;
}

/**
 * Returns obj expressed in targetApiVersion. Throws a 500 StatusError for a pair no converter
 * knows: the caller (the registry) only asks for versions it serves.
 */
export function convert<T extends object>(obj: T, targetApiVersion: string): T {
  const o = obj as Obj;
  const from = String(o.apiVersion ?? '');
  const kind = String(o.kind ?? '');
  if (from === targetApiVersion) return obj;
  if (kind.endsWith('List') && Array.isArray(o.items)) {
    return { ...o, apiVersion: targetApiVersion, items: o.items.map((it: unknown) => convertOne(withType(it, from, kind.slice(0, -4)), targetApiVersion)) } as T;
  }
  return convertOne(o, targetApiVersion) as T;
}

/** List items often omit kind/apiVersion; they are the list's. */
function withType(item: unknown, apiVersion: string, kind: string): Obj {
  const o = item as Obj;
  if (o.apiVersion && o.kind) return o;
  return { kind: o.kind ?? kind, apiVersion: o.apiVersion ?? apiVersion, ...o };
}

function convertOne(o: Obj, target: string): Obj {
  const from = String(o.apiVersion ?? '');
  if (from === target) return o;
  const kind = String(o.kind ?? '');
  const fn = CONVERTERS[kind]?.[`${from}>${target}`];
  if (!fn) throw internalError(new Error(`no conversion for kind "${kind}" from "${from}" to "${target}"`));
  return fn(o);
}

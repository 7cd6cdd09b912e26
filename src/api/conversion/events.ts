// Conversion between core/v1 Event (the stored form) and events.k8s.io/v1 Event, as upstream's
// pkg/apis/events/v1 conversion does: both versions are views of one object. Field mapping:
//
//   core/v1                 events.k8s.io/v1
//   involvedObject      <-> regarding
//   message             <-> note
//   source              <-> deprecatedSource
//   firstTimestamp      <-> deprecatedFirstTimestamp
//   lastTimestamp       <-> deprecatedLastTimestamp
//   count               <-> deprecatedCount
//   reportingComponent  <-> reportingController
//   reason, type, action, related, eventTime, series, reportingInstance: same name in both.
//
// Contract: pure functions; the input is not modified and nothing is shared with the output
// (values are deep-copied). Fields absent on input stay absent on output: filling Go's zero
// values (null timestamps, empty structs) is the serializer's business, not the converter's,
// so a round trip returns an equal object. Unknown fields are dropped, as a typed decode would.

type Obj = Record<string, unknown>;

export const CORE_EVENT_API_VERSION = 'v1';
export const EVENTS_API_VERSION = 'events.k8s.io/v1';

/** Pairs of (core/v1 field, events.k8s.io/v1 field), in events.k8s.io/v1's field order. */
const FIELD_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['eventTime', 'eventTime'],
  ['series', 'series'],
  ['reportingComponent', 'reportingController'],
  ['reportingInstance', 'reportingInstance'],
  ['action', 'action'],
  ['reason', 'reason'],
  ['involvedObject', 'regarding'],
  ['related', 'related'],
  ['message', 'note'],
  ['type', 'type'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

/** core/v1 field order (upstream's struct order), used when producing core events. */
const CORE_ORDER = [
  'involvedObject',
  'reason',
  'message',
  'source',
  'firstTimestamp',
  'lastTimestamp',
  'count',
  'type',
  'eventTime',
  'series',
  'action',
  'related',
  'reportingComponent',
  'reportingInstance',
];

function copy<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** core/v1 Event -> events.k8s.io/v1 Event. */
export function coreEventToEventsV1(core: Obj): Obj {
  const out: Obj = { kind: 'Event', apiVersion: EVENTS_API_VERSION };
  if (core.metadata !== undefined) out.metadata = copy(core.metadata);
  for (const [coreName, eventsName] of FIELD_PAIRS) {
    if (core[coreName] !== undefined) out[eventsName] = copy(core[coreName]);
  }
  return out;
}

/** events.k8s.io/v1 Event -> core/v1 Event. */
export function eventsV1ToCoreEvent(ev: Obj): Obj {
  const byCore = new Map(FIELD_PAIRS.map(([c, e]) => [c, e] as const));
  const out: Obj = { kind: 'Event', apiVersion: CORE_EVENT_API_VERSION };
  if (ev.metadata !== undefined) out.metadata = copy(ev.metadata);
  for (const coreName of CORE_ORDER) {
    const eventsName = byCore.get(coreName)!;
    if (ev[eventsName] !== undefined) out[coreName] = copy(ev[eventsName]);
  }
  return out;
}

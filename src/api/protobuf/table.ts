// The generated table of Kubernetes protobuf messages (messages.json, from
// scripts/gen-protobuf.ts), compiled once at load into linked per-message descriptors with
// field lookup by number, so the codec's hot loops do no string work or map lookups per field.
import { readFileSync } from 'node:fs';

// Scalar types (field.type); message-typed fields have T_MESSAGE and field.msg.
export const T_STRING = 0;
export const T_BOOL = 1;
export const T_INT32 = 2;
export const T_INT64 = 3;
export const T_UINT32 = 4;
export const T_UINT64 = 5;
export const T_SINT32 = 6;
export const T_SINT64 = 7;
export const T_BYTES = 8;
export const T_DOUBLE = 9;
export const T_FLOAT = 10;
export const T_FIXED32 = 11;
export const T_FIXED64 = 12;
export const T_SFIXED32 = 13;
export const T_SFIXED64 = 14;
export const T_MESSAGE = 15;

const SCALAR_CODES: Record<string, number> = {
  string: T_STRING,
  bool: T_BOOL,
  int32: T_INT32,
  int64: T_INT64,
  uint32: T_UINT32,
  uint64: T_UINT64,
  sint32: T_SINT32,
  sint64: T_SINT64,
  bytes: T_BYTES,
  double: T_DOUBLE,
  float: T_FLOAT,
  fixed32: T_FIXED32,
  fixed64: T_FIXED64,
  sfixed32: T_SFIXED32,
  sfixed64: T_SFIXED64,
};

/** Wire type each scalar type is written with. */
export const WIRE_OF: number[] = [2, 0, 0, 0, 0, 0, 0, 0, 2, 1, 5, 5, 1, 5, 1, 2];

// How a message appears in JSON (MessageInfo.json).
export const J_OBJECT = 0;
export const J_TIME = 1;
export const J_MICROTIME = 2;
export const J_DURATION = 3;
export const J_RAWJSON = 4;
export const J_QUANTITY = 5;
export const J_INTORSTRING = 6;
export const J_ARRAY = 7;

const JSON_CODES: Record<string, number> = {
  time: J_TIME,
  microtime: J_MICROTIME,
  duration: J_DURATION,
  rawjson: J_RAWJSON,
  quantity: J_QUANTITY,
  intorstring: J_INTORSTRING,
  array: J_ARRAY,
};

// What the decoder puts in JSON for a field absent from the wire (FieldInfo.absent).
export const ABSENT_OMIT = 0; // leave the property out
export const ABSENT_NULL = 1; // Go nil without omitempty: null
export const ABSENT_ZERO = 2; // non-pointer scalar without omitempty: '', false or 0
export const ABSENT_EMPTY_MESSAGE = 3; // non-pointer struct: decode as an empty message
export const ABSENT_INLINE = 4; // inline struct: its own absent rules apply in the parent object

export interface FieldInfo {
  json: string;
  number: number;
  type: number;
  /** Message type (T_MESSAGE), or a map's value message. */
  msg: MessageInfo | undefined;
  repeated: boolean;
  map: boolean;
  /** Go pointer: on the wire only when set; present means present in JSON, even when zero. */
  pointer: boolean;
  omitempty: boolean;
  inline: boolean;
  /** Map key and value scalar types (value T_MESSAGE when valueMsg). */
  keyType: number;
  valueType: number;
  /** Expected wire type. */
  wire: number;
  absent: number;
  /** Go []byte or a named slice (J_ARRAY message): nil unless on the wire. */
  sliceLike: boolean;
}

export interface MessageInfo {
  name: string;
  json: number;
  /** Sorted by field number. */
  fields: FieldInfo[];
  /** Indexed by field number (sparse). */
  byNumber: (FieldInfo | undefined)[];
  /** Fields the decoder must visit after reading the wire (absent != ABSENT_OMIT). */
  absentRules: FieldInfo[];
  /** Fields with inline: true. */
  hasInline: boolean;
}

type Row = [string, number, string, string, string?];
interface TableFile {
  kinds: Record<string, Record<string, string>>;
  perGroupVersionKinds: string[];
  unversionedKinds: string[];
  nameExceptions: { message: string; field: string; json: string }[];
  messages: Record<string, { json?: string; fields: Row[] }>;
}

const file = JSON.parse(readFileSync(new URL('./messages.json', import.meta.url), 'utf8')) as TableFile;

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
export const messages = new Map<string, MessageInfo>();

for (const [name, m] of Object.entries(file.messages)) {
  messages.set(name, { name, json: m.json ? JSON_CODES[m.json] : J_OBJECT, fields: [], byNumber: [], absentRules: [], hasInline: false });
}

function typeCode(t: string): { type: number; msg: MessageInfo | undefined } {
  const s = SCALAR_CODES[t];
  if (s !== undefined) return { type: s, msg: undefined };
  const msg = messages.get(t);
  if (!msg) throw new Error(`protobuf table: unknown type ${t}`);
  return { type: T_MESSAGE, msg };
}

for (const [name, m] of Object.entries(file.messages)) {
  const info = messages.get(name)!;
  for (const [json, number, type, flags, valueType] of m.fields) {
    const map = flags.includes('m');
    const key = typeCode(type);
    const val = map ? typeCode(valueType!) : key;
    const f: FieldInfo = {
      json,
      number,
      type: map ? T_MESSAGE : key.type,
      msg: map ? val.msg : key.msg,
      repeated: flags.includes('r'),
      map,
      pointer: flags.includes('p'),
      omitempty: flags.includes('o'),
      inline: flags.includes('i'),
      keyType: map ? key.type : 0,
      valueType: map ? val.type : 0,
      wire: map ? 2 : WIRE_OF[key.type],
      absent: ABSENT_OMIT,
      sliceLike: false,
    };
    info.fields.push(f);
    info.byNumber[number] = f;
    if (f.inline) info.hasInline = true;
  }
  info.fields.sort((a, b) => a.number - b.number);
}

// Absent-field rules need every message's JSON kind, so run after all are linked.
for (const info of messages.values()) {
  for (const f of info.fields) {
    f.sliceLike = !f.map && !f.repeated && (f.type === T_BYTES || (f.msg !== undefined && f.msg.json === J_ARRAY));
    if (f.inline) f.absent = ABSENT_INLINE;
    else if (f.repeated || f.map || f.sliceLike || f.pointer) f.absent = f.omitempty ? ABSENT_OMIT : ABSENT_NULL;
    else if (f.type === T_MESSAGE) f.absent = ABSENT_EMPTY_MESSAGE; // Go never omits a struct
    else f.absent = f.omitempty ? ABSENT_OMIT : ABSENT_ZERO;
    if (f.absent !== ABSENT_OMIT) info.absentRules.push(f);
  }
}

/** The message for a top-level kind, following upstream's scheme registrations. */
export function messageForKind(apiVersion: string, kind: string): MessageInfo | undefined {
  const gv = file.kinds[apiVersion];
  const name = gv?.[kind];
  if (name) return messages.get(name);
  if (file.unversionedKinds.includes(kind)) return messages.get(`${META}.${kind}`);
  if (gv && file.perGroupVersionKinds.includes(kind)) return messages.get(`${META}.${kind}`);
  return undefined;
}

/** Group versions with registered kinds (those rudder serves, and meta.k8s.io/v1). */
export function knownGroupVersions(): string[] {
  return Object.keys(file.kinds);
}

/** Registered kinds of one group version that have a protobuf message. */
export function kindsOf(apiVersion: string): string[] {
  return Object.keys(file.kinds[apiVersion] ?? {});
}

export function messageNamed(name: string): MessageInfo | undefined {
  return messages.get(name);
}

export const WATCH_EVENT = messages.get(`${META}.WatchEvent`)!;

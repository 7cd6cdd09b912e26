// Kubernetes' protobuf encoding of API objects ("application/vnd.kubernetes.protobuf"), both
// directions, driven by the generated message table (table.ts, messages.json).
//
// A body is the magic "k8s\0" and a runtime.Unknown {typeMeta{apiVersion=1, kind=2}=1, raw=2,
// contentEncoding=3, contentType=4} whose raw is the typed message. The JSON model on rudder's
// side is exactly what Go's JSON encoding of the decoded object would be: omitempty fields
// absent, nil slices/maps/pointers without omitempty null, non-pointer structs always present,
// metav1.Time/MicroTime/Duration, Quantity and IntOrString in their JSON forms, bytes as base64,
// RawExtension and FieldsV1 as embedded JSON. Encoding writes what Go's generated marshallers
// write: fields in number order, every non-pointer scalar (zero or not), map keys sorted.
//
// Errors are StatusErrors: a malformed body or an unknown kind is 400 BadRequest, an object of a
// kind with no protobuf form is 406 NotAcceptable (as upstream's errNotMarshalable), and an
// object whose values do not fit their fields is 500 InternalError.
import { StatusError } from '../errors.ts';
import { formatDuration, formatMicroTime, formatTime, parseDuration, parseTime } from './gotime.ts';
import {
  ABSENT_EMPTY_MESSAGE,
  ABSENT_INLINE,
  ABSENT_NULL,
  ABSENT_ZERO,
  type FieldInfo,
  J_ARRAY,
  J_DURATION,
  J_INTORSTRING,
  J_MICROTIME,
  J_OBJECT,
  J_QUANTITY,
  J_RAWJSON,
  J_TIME,
  type MessageInfo,
  messageForKind,
  T_BOOL,
  T_BYTES,
  T_DOUBLE,
  T_FIXED32,
  T_FIXED64,
  T_FLOAT,
  T_INT32,
  T_INT64,
  T_MESSAGE,
  T_SFIXED32,
  T_SFIXED64,
  T_SINT32,
  T_SINT64,
  T_STRING,
  T_UINT32,
  T_UINT64,
  WATCH_EVENT,
  WIRE_OF,
} from './table.ts';
import { Reader, utf8, WireError, Writer } from './wire.ts';

export const protobufContentType = 'application/vnd.kubernetes.protobuf';
/** The content type of a protobuf watch stream (length-prefixed WatchEvent frames). */
export const protobufWatchContentType = 'application/vnd.kubernetes.protobuf;stream=watch';

const MAGIC = new Uint8Array([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"
/** Nesting bound: far deeper than any Kubernetes type, well short of the JS stack. */
const MAX_DEPTH = 100;

export type ProtobufErrorKind = 'Malformed' | 'UnknownKind' | 'NotEncodable' | 'InvalidValue';

export class ProtobufError extends StatusError {
  readonly kind: ProtobufErrorKind;
  constructor(kind: ProtobufErrorKind, message: string) {
    const [code, reason] =
      kind === 'NotEncodable' ? [406, 'NotAcceptable'] : kind === 'InvalidValue' ? [500, 'InternalError'] : [400, 'BadRequest'];
    super({ code, reason, message });
    this.kind = kind;
  }
}

export interface DecodedObject {
  apiVersion: string;
  kind: string;
  /** The object in rudder's JSON model, with kind and apiVersion set (WatchEvent has neither, as in Go). */
  object: Record<string, unknown>;
  /**
   * Fields the table has no entry for, skipped as protobuf does: "<json path>.#<field number>",
   * e.g. "spec.template.spec.containers[0].#99". Upstream does no strict decoding of protobuf;
   * these let a server warn anyway.
   */
  unknownFields: string[];
}

export interface DecodeDefaults {
  /** Used when the envelope leaves them empty (upstream defaults them from the request path). */
  apiVersion?: string;
  kind?: string;
}

// ---------------------------------------------------------------------------------------------
// decode

interface DecodeContext {
  path: (string | number)[];
  unknown: string[];
  depth: number;
}

function formatPath(path: (string | number)[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += s ? `.${p}` : p;
  }
  return s;
}

function noteUnknown(ctx: DecodeContext, num: number): void {
  const p = formatPath(ctx.path);
  ctx.unknown.push(p ? `${p}.#${num}` : `#${num}`);
}

function hasMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x6b && b[1] === 0x38 && b[2] === 0x73 && b[3] === 0x00;
}

function readScalar(r: Reader, type: number): unknown {
  switch (type) {
    case T_STRING:
      return r.string();
    case T_BOOL:
      return r.int64() !== 0;
    case T_INT32:
      return r.int64() | 0;
    case T_INT64:
      return r.int64();
    case T_UINT32:
      return r.int64() >>> 0;
    case T_UINT64:
      return r.uint64();
    case T_SINT32:
    case T_SINT64: {
      const v = r.uint64();
      return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
    }
    case T_BYTES: {
      const b = r.bytes();
      return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
    }
    case T_DOUBLE:
      return r.double();
    case T_FLOAT:
      return r.float();
    case T_FIXED32:
      return r.fixed32();
    case T_SFIXED32:
      return r.fixed32() | 0;
    case T_FIXED64:
    case T_SFIXED64:
      return r.fixed64();
  }
  throw new WireError(`unsupported scalar type ${type}`);
}

function scalarZero(type: number): unknown {
  return type === T_STRING ? '' : type === T_BOOL ? false : type === T_BYTES ? null : 0;
}

function isZeroScalar(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

function setKey(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Reads the fields of a message in [r.pos, end) into obj; leaves r.pos at end. */
function decodeInto(r: Reader, end: number, info: MessageInfo, obj: Record<string, unknown>, ctx: DecodeContext): void {
  if (++ctx.depth > MAX_DEPTH) throw new WireError('max depth exceeded');
  const outerEnd = r.end;
  r.end = end;
  let inlineSeen: FieldInfo[] | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const num = (tag - wt) / 8;
    if (num === 0) throw new WireError(`proto: ${info.name}: illegal tag 0 (wire type ${wt})`);
    const f = info.byNumber[num];
    if (f === undefined) {
      noteUnknown(ctx, num);
      r.skip(wt);
      continue;
    }
    if (wt !== f.wire) {
      if (f.repeated && wt === 2 && f.type !== T_MESSAGE) {
        decodePacked(r, f, obj);
        continue;
      }
      throw new WireError(`proto: wrong wireType = ${wt} for field ${f.json}`);
    }
    if (f.inline) {
      const mend = r.lengthEnd();
      decodeInto(r, mend, f.msg!, obj, ctx);
      (inlineSeen ??= []).push(f);
    } else if (f.map) {
      decodeMapEntry(r, f, obj, ctx);
    } else if (f.type === T_MESSAGE) {
      const mend = r.lengthEnd();
      if (f.repeated) {
        let arr = obj[f.json] as unknown[] | undefined;
        if (arr === undefined) obj[f.json] = arr = [];
        ctx.path.push(f.json, arr.length);
        arr.push(decodeMessageValue(r, mend, f.msg!, ctx));
        ctx.path.length -= 2;
      } else {
        ctx.path.push(f.json);
        const v = decodeMessageValue(r, mend, f.msg!, ctx);
        ctx.path.length -= 1;
        if (f.sliceLike && f.omitempty && (v as unknown[]).length === 0) delete obj[f.json];
        else obj[f.json] = v;
      }
    } else if (f.repeated) {
      const v = readScalar(r, f.type);
      let arr = obj[f.json] as unknown[] | undefined;
      if (arr === undefined) obj[f.json] = arr = [];
      arr.push(v);
    } else {
      const v = readScalar(r, f.type);
      if (f.omitempty && !f.pointer && (f.type === T_BYTES ? v === '' : isZeroScalar(v))) {
        if (obj[f.json] !== undefined) delete obj[f.json];
      } else {
        obj[f.json] = v;
      }
    }
  }
  r.end = outerEnd;
  applyAbsent(obj, info, inlineSeen, ctx);
  ctx.depth--;
}

function decodePacked(r: Reader, f: FieldInfo, obj: Record<string, unknown>): void {
  const end = r.lengthEnd();
  let arr = obj[f.json] as unknown[] | undefined;
  if (arr === undefined) obj[f.json] = arr = [];
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) arr.push(readScalar(r, f.type));
  r.end = outerEnd;
}

/** Gives absent fields the value Go's JSON encoding shows for them (see table.ts ABSENT_*). */
function applyAbsent(obj: Record<string, unknown>, info: MessageInfo, inlineSeen: FieldInfo[] | undefined, ctx: DecodeContext): void {
  const rules = info.absentRules;
  for (let i = 0; i < rules.length; i++) {
    const f = rules[i];
    switch (f.absent) {
      case ABSENT_INLINE:
        if (!inlineSeen?.includes(f)) applyAbsent(obj, f.msg!, undefined, ctx);
        break;
      case ABSENT_NULL:
        if (obj[f.json] === undefined) obj[f.json] = null;
        break;
      case ABSENT_ZERO:
        if (obj[f.json] === undefined) obj[f.json] = scalarZero(f.type);
        break;
      case ABSENT_EMPTY_MESSAGE:
        if (obj[f.json] === undefined) obj[f.json] = emptyValue(f.msg!, ctx);
        break;
    }
  }
}

/** The JSON of a Go zero value of a message type. */
function emptyValue(msg: MessageInfo, ctx: DecodeContext): unknown {
  switch (msg.json) {
    case J_OBJECT: {
      const o: Record<string, unknown> = {};
      applyAbsent(o, msg, undefined, ctx);
      return o;
    }
    case J_DURATION:
      return '0s';
    case J_QUANTITY:
      return '0';
    case J_INTORSTRING:
      return 0;
    default:
      return null; // Time, MicroTime (zero time), RawExtension/FieldsV1 (nil Raw), named slices (nil)
  }
}

function decodeMapEntry(r: Reader, f: FieldInfo, obj: Record<string, unknown>, ctx: DecodeContext): void {
  const end = r.lengthEnd();
  const outerEnd = r.end;
  r.end = end;
  let key: unknown = scalarZero(f.keyType);
  let val: unknown = undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const num = (tag - wt) / 8;
    if (num === 1 && wt === WIRE_OF[f.keyType]) key = readScalar(r, f.keyType);
    else if (num === 2 && wt === WIRE_OF[f.valueType]) {
      if (f.valueType === T_MESSAGE) {
        const mend = r.lengthEnd();
        val = decodeMessageValue(r, mend, f.msg!, ctx);
      } else {
        val = readScalar(r, f.valueType);
      }
    } else if (num === 1 || num === 2) {
      throw new WireError(`proto: wrong wireType = ${wt} for field ${f.json}`);
    } else {
      r.skip(wt);
    }
  }
  r.end = outerEnd;
  if (val === undefined) val = f.valueType === T_MESSAGE ? emptyValue(f.msg!, ctx) : scalarZero(f.valueType);
  let m = obj[f.json] as Record<string, unknown> | undefined;
  if (m === undefined) obj[f.json] = m = {};
  setKey(m, String(key), val);
}

/** Reads the scalar fields 1..3 of a small special message into a fixed tuple. */
function readSmall(r: Reader, end: number, types: readonly number[], out: unknown[], ctx: DecodeContext): void {
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const num = (tag - wt) / 8;
    const type = types[num - 1];
    if (num >= 1 && type !== undefined) {
      if (wt !== (type === T_BIGINT64 ? 0 : WIRE_OF[type])) throw new WireError(`proto: wrong wireType = ${wt} for field ${num}`);
      out[num - 1] = type === T_BYTES ? r.bytes() : type === T_BIGINT64 ? readBigVarint(r) : readScalar(r, type);
    } else {
      if (num === 0) throw new WireError(`proto: illegal tag 0 (wire type ${wt})`);
      noteUnknown(ctx, num);
      r.skip(wt);
    }
  }
  r.end = outerEnd;
}

function readBigVarint(r: Reader): bigint {
  const start = r.pos;
  r.int64(); // validates and advances
  let v = 0n;
  for (let i = r.pos - 1; i >= start; i--) v = (v << 7n) | BigInt(r.buf[i] & 0x7f);
  return BigInt.asIntN(64, v);
}

/** readSmall only: an int64 read exactly, as a bigint (Duration nanoseconds pass 2^53 in 104 days). */
const T_BIGINT64 = -1;
const TIME_TYPES = [T_INT64, T_INT32] as const;
const DURATION_TYPES = [T_BIGINT64] as const;
const QUANTITY_TYPES = [T_STRING] as const;
const INTORSTRING_TYPES = [T_INT64, T_INT32, T_STRING] as const;
const RAW_TYPES = [T_BYTES] as const;

function decodeMessageValue(r: Reader, end: number, msg: MessageInfo, ctx: DecodeContext): unknown {
  switch (msg.json) {
    case J_OBJECT: {
      const o: Record<string, unknown> = {};
      decodeInto(r, end, msg, o, ctx);
      return o;
    }
    case J_TIME:
    case J_MICROTIME: {
      // Go: empty bytes are the zero time (JSON null); otherwise Unix seconds (+ nanos)
      if (r.pos === end) return null;
      const t: unknown[] = [0, 0];
      readSmall(r, end, TIME_TYPES, t, ctx);
      return msg.json === J_TIME ? formatTime(t[0] as number) : formatMicroTime(t[0] as number, Math.max(0, t[1] as number));
    }
    case J_DURATION: {
      const t: unknown[] = [0n];
      readSmall(r, end, DURATION_TYPES, t, ctx);
      return formatDuration(t[0] as bigint);
    }
    case J_QUANTITY: {
      const t: unknown[] = [''];
      readSmall(r, end, QUANTITY_TYPES, t, ctx);
      return (t[0] as string) || '0';
    }
    case J_INTORSTRING: {
      const t: unknown[] = [0, 0, ''];
      readSmall(r, end, INTORSTRING_TYPES, t, ctx);
      return t[0] === 1 ? t[2] : t[1];
    }
    case J_RAWJSON: {
      const t: unknown[] = [undefined];
      readSmall(r, end, RAW_TYPES, t, ctx);
      const raw = t[0] as Uint8Array | undefined;
      if (raw === undefined || raw.length === 0) return null;
      if (hasMagic(raw)) {
        // an embedded protobuf object (watch events, lists of RawExtension)
        return decodeEnvelope(raw, undefined, ctx).object;
      }
      return JSON.parse(utf8(raw, 0, raw.length)) as unknown;
    }
    case J_ARRAY: {
      const item = msg.fields[0];
      const arr: unknown[] = [];
      const outerEnd = r.end;
      r.end = end;
      while (r.pos < end) {
        const tag = r.uint32();
        const wt = tag & 7;
        const num = (tag - wt) / 8;
        if (num === item.number && wt === item.wire) arr.push(readScalar(r, item.type));
        else {
          noteUnknown(ctx, num);
          r.skip(wt);
        }
      }
      r.end = outerEnd;
      return arr;
    }
  }
  throw new WireError(`unsupported message ${msg.name}`);
}

function decodeEnvelope(body: Uint8Array, defaults: DecodeDefaults | undefined, ctx: DecodeContext): DecodedObject {
  if (body.length === 0) throw new ProtobufError('Malformed', 'empty data');
  if (!hasMagic(body)) {
    throw new ProtobufError('Malformed', 'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  }
  if (body.length === 4) throw new ProtobufError('Malformed', 'empty body');
  if (++ctx.depth > MAX_DEPTH) throw new WireError('max depth exceeded');
  const r = new Reader(body, 4);
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array | undefined;
  while (r.pos < r.end) {
    const tag = r.uint32();
    const wt = tag & 7;
    const num = (tag - wt) / 8;
    if (num === 1 && wt === 2) {
      const end = r.lengthEnd();
      const outer = r.end;
      r.end = end;
      while (r.pos < end) {
        const t = r.uint32();
        const w = t & 7;
        const n = (t - w) / 8;
        if (n === 1 && w === 2) apiVersion = r.string();
        else if (n === 2 && w === 2) kind = r.string();
        else r.skip(w);
      }
      r.end = outer;
    } else if (num === 2 && wt === 2) {
      raw = r.bytes();
    } else if ((num === 3 || num === 4) && wt === 2) {
      r.skip(wt); // contentEncoding, contentType: upstream's decoder ignores them
    } else if (num >= 1 && num <= 4) {
      throw new WireError(`proto: wrong wireType = ${wt} for field ${num}`);
    } else {
      if (num === 0) throw new WireError(`proto: illegal tag 0 (wire type ${wt})`);
      r.skip(wt);
    }
  }
  if (!kind) kind = defaults?.kind ?? '';
  if (!apiVersion) apiVersion = defaults?.apiVersion ?? '';
  if (!kind) throw new ProtobufError('Malformed', `Object 'Kind' is missing in '${apiVersion ? `apiVersion: ${apiVersion}` : 'protobuf body'}'`);
  if (!apiVersion) throw new ProtobufError('Malformed', `Object 'apiVersion' is missing in 'kind: ${kind}'`);
  const msg = messageForKind(apiVersion, kind);
  if (!msg) throw new ProtobufError('UnknownKind', `no kind "${kind}" is registered for version "${apiVersion}"`);
  // Go's JSON shows TypeMeta first; WatchEvent has none.
  const object: Record<string, unknown> = msg === WATCH_EVENT ? {} : { kind, apiVersion };
  const rr = raw ?? new Uint8Array(0);
  decodeInto(new Reader(rr), rr.length, msg, object, ctx);
  ctx.depth--;
  return { apiVersion, kind, object, unknownFields: ctx.unknown };
}

function asDecodeError(e: unknown): unknown {
  if (e instanceof ProtobufError) return e;
  if (e instanceof WireError || e instanceof RangeError || e instanceof SyntaxError) {
    return new ProtobufError('Malformed', e.message);
  }
  return e;
}

/**
 * Decodes a protobuf body (magic + runtime.Unknown) into rudder's JSON model.
 * Throws ProtobufError: 400 for malformed input or a kind with no known message.
 */
export function decode(body: Uint8Array, defaults?: DecodeDefaults): DecodedObject {
  try {
    return decodeEnvelope(body, defaults, { path: [], unknown: [], depth: 0 });
  } catch (e) {
    throw asDecodeError(e);
  }
}

/**
 * Decodes one frame of a protobuf watch stream: a 4-byte big-endian length and a WatchEvent.
 * Returns the event type and the embedded object (decoded from its own envelope).
 */
export function decodeWatchEvent(frame: Uint8Array): { type: string; object: Record<string, unknown>; unknownFields: string[] } {
  try {
    if (frame.length < 4) throw new WireError('unexpected EOF');
    const len = ((frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3]) >>> 0;
    if (frame.length - 4 < len) throw new WireError('unexpected EOF');
    const ctx: DecodeContext = { path: [], unknown: [], depth: 0 };
    const event: Record<string, unknown> = {};
    decodeInto(new Reader(frame, 4, 4 + len), 4 + len, WATCH_EVENT, event, ctx);
    const object = event.object;
    if (object === null || typeof object !== 'object') throw new WireError('watch event without an object');
    return { type: event.type as string, object: object as Record<string, unknown>, unknownFields: ctx.unknown };
  } catch (e) {
    throw asDecodeError(e);
  }
}

// ---------------------------------------------------------------------------------------------
// encode

function invalid(msg: MessageInfo, f: FieldInfo | undefined, what: string): ProtobufError {
  return new ProtobufError('InvalidValue', `protobuf encoding of ${msg.name}${f ? `.${f.json}` : ''}: ${what}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function writeScalar(w: Writer, type: number, v: unknown, msg: MessageInfo, f: FieldInfo): void {
  switch (type) {
    case T_STRING:
      if (typeof v !== 'string') throw invalid(msg, f, `expected a string, got ${typeof v}`);
      w.string(v);
      return;
    case T_BOOL:
      if (typeof v !== 'boolean') throw invalid(msg, f, `expected a boolean, got ${typeof v}`);
      w.byte(v ? 1 : 0);
      return;
    case T_INT32:
    case T_INT64:
    case T_UINT32:
    case T_UINT64: {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(msg, f, `expected an integer, got ${JSON.stringify(v)}`);
      if (type === T_INT32 && (v < -2147483648 || v > 2147483647)) throw invalid(msg, f, `${v} overflows int32`);
      if ((type === T_UINT32 || type === T_UINT64) && v < 0) throw invalid(msg, f, `${v} is negative`);
      w.svarint(v);
      return;
    }
    case T_SINT32:
    case T_SINT64: {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(msg, f, `expected an integer, got ${JSON.stringify(v)}`);
      w.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
      return;
    }
    case T_BYTES: {
      if (typeof v !== 'string' || !BASE64.test(v)) throw invalid(msg, f, 'expected base64 data');
      w.lenBytes(Buffer.from(v, 'base64'));
      return;
    }
    case T_DOUBLE:
    case T_FLOAT:
      if (typeof v !== 'number') throw invalid(msg, f, `expected a number, got ${typeof v}`);
      if (type === T_DOUBLE) w.double(v);
      else w.float(v);
      return;
    case T_FIXED32:
    case T_SFIXED32:
      if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(msg, f, `expected an integer, got ${JSON.stringify(v)}`);
      w.fixed32(v);
      return;
    case T_FIXED64:
    case T_SFIXED64: {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(msg, f, `expected an integer, got ${JSON.stringify(v)}`);
      const x = BigInt.asUintN(64, BigInt(v));
      w.fixed32(Number(x & 0xffffffffn));
      w.fixed32(Number(x >> 32n));
      return;
    }
  }
  throw invalid(msg, f, `unsupported scalar type ${type}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Writes the fields of a J_OBJECT message from obj (Go's marshal order and presence rules). */
function encodeBody(w: Writer, obj: Record<string, unknown>, msg: MessageInfo, depth: number): void {
  if (depth > MAX_DEPTH) throw invalid(msg, undefined, 'nested too deeply');
  const fields = msg.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.inline) {
      w.tag(f.number, 2);
      const m = w.begin();
      encodeBody(w, obj, f.msg!, depth + 1);
      w.finish(m);
      continue;
    }
    const v = obj[f.json];
    if (f.map) {
      if (v === undefined || v === null) continue;
      if (!isPlainObject(v)) throw invalid(msg, f, 'expected an object');
      const keys = Object.keys(v).sort();
      for (const k of keys) {
        const vv = v[k];
        w.tag(f.number, 2);
        const m = w.begin();
        w.tag(1, WIRE_OF[f.keyType]);
        writeScalar(w, f.keyType, k, msg, f);
        if (f.valueType === T_MESSAGE) {
          w.tag(2, 2);
          const mm = w.begin();
          encodeMessageValue(w, vv, f.msg!, f, msg, depth + 1);
          w.finish(mm);
        } else if (vv !== null && vv !== undefined) {
          w.tag(2, WIRE_OF[f.valueType]);
          writeScalar(w, f.valueType, vv, msg, f);
        } else if (f.valueType !== T_BYTES) {
          w.tag(2, WIRE_OF[f.valueType]);
          writeScalar(w, f.valueType, scalarZero(f.valueType), msg, f);
        }
        w.finish(m);
      }
    } else if (f.repeated) {
      if (v === undefined || v === null) continue;
      if (!Array.isArray(v)) throw invalid(msg, f, 'expected an array');
      if (f.type === T_MESSAGE) {
        for (let j = 0; j < v.length; j++) {
          w.tag(f.number, 2);
          const m = w.begin();
          encodeMessageValue(w, v[j], f.msg!, f, msg, depth + 1);
          w.finish(m);
        }
      } else {
        for (let j = 0; j < v.length; j++) {
          w.tag(f.number, f.wire);
          const el = v[j];
          writeScalar(w, f.type, el === null || el === undefined ? scalarZero(f.type) : el, msg, f);
        }
      }
    } else if (f.type === T_MESSAGE) {
      if ((f.pointer || f.sliceLike) && (v === undefined || v === null)) continue;
      w.tag(f.number, 2);
      const m = w.begin();
      encodeMessageValue(w, v, f.msg!, f, msg, depth + 1);
      w.finish(m);
    } else if (v === undefined || v === null) {
      if (f.pointer || f.sliceLike) continue;
      w.tag(f.number, f.wire);
      writeScalar(w, f.type, scalarZero(f.type), msg, f);
    } else {
      w.tag(f.number, f.wire);
      writeScalar(w, f.type, v, msg, f);
    }
  }
}

const ZERO_TIME_SECONDS = -62135596800; // Go's zero time.Time, which marshals as empty bytes

function encodeMessageValue(w: Writer, v: unknown, sub: MessageInfo, f: FieldInfo, parent: MessageInfo, depth: number): void {
  switch (sub.json) {
    case J_OBJECT:
      if (v === undefined || v === null) encodeBody(w, {}, sub, depth);
      else if (isPlainObject(v)) encodeBody(w, v, sub, depth);
      else throw invalid(parent, f, 'expected an object');
      return;
    case J_TIME:
    case J_MICROTIME: {
      if (v === undefined || v === null) return;
      if (typeof v !== 'string') throw invalid(parent, f, 'expected an RFC 3339 time string');
      let t: { seconds: number; nanos: number };
      try {
        t = parseTime(v);
      } catch (e) {
        throw invalid(parent, f, (e as Error).message);
      }
      // metav1.Time keeps whole seconds only; MicroTime keeps microseconds
      const nanos = sub.json === J_TIME ? 0 : t.nanos - (t.nanos % 1000);
      if (t.seconds === ZERO_TIME_SECONDS && nanos === 0) return;
      w.tag(1, 0);
      w.svarint(t.seconds);
      w.tag(2, 0);
      w.svarint(nanos);
      return;
    }
    case J_DURATION: {
      let ns = 0n;
      if (typeof v === 'string') {
        try {
          ns = parseDuration(v);
        } catch (e) {
          throw invalid(parent, f, (e as Error).message);
        }
      } else if (v !== undefined && v !== null) throw invalid(parent, f, 'expected a duration string');
      w.tag(1, 0);
      let x = BigInt.asUintN(64, ns);
      do {
        const b = Number(x & 0x7fn);
        x >>= 7n;
        w.byte(x > 0n ? b | 0x80 : b);
      } while (x > 0n);
      return;
    }
    case J_QUANTITY: {
      let s = '0';
      if (typeof v === 'string') s = v;
      else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
      else if (v !== undefined && v !== null) throw invalid(parent, f, 'expected a quantity string');
      w.tag(1, 2);
      w.string(s);
      return;
    }
    case J_INTORSTRING: {
      let type = 0;
      let intVal = 0;
      let strVal = '';
      if (typeof v === 'string') {
        type = 1;
        strVal = v;
      } else if (typeof v === 'number') {
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw invalid(parent, f, `${v} is not an int32`);
        intVal = v;
      } else if (v !== undefined && v !== null) throw invalid(parent, f, 'expected an integer or a string');
      w.tag(1, 0);
      w.uvarint(type);
      w.tag(2, 0);
      w.svarint(intVal);
      w.tag(3, 2);
      w.string(strVal);
      return;
    }
    case J_RAWJSON: {
      if (v === undefined || v === null) return;
      w.tag(1, 2);
      if (v instanceof Uint8Array) {
        w.lenBytes(v);
      } else {
        let s: string;
        try {
          s = JSON.stringify(v);
        } catch (e) {
          throw invalid(parent, f, (e as Error).message);
        }
        w.string(s);
      }
      return;
    }
    case J_ARRAY: {
      if (v === undefined || v === null) return;
      if (!Array.isArray(v)) throw invalid(parent, f, 'expected an array');
      const item = sub.fields[0];
      for (const el of v) {
        w.tag(item.number, item.wire);
        writeScalar(w, item.type, el ?? scalarZero(item.type), sub, item);
      }
      return;
    }
  }
  throw invalid(parent, f, `unsupported message ${sub.name}`);
}

function writeEnvelope(w: Writer, object: Record<string, unknown>): void {
  const apiVersion = object.apiVersion;
  const kind = object.kind;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) {
    throw new ProtobufError('InvalidValue', 'protobuf encoding needs an object with apiVersion and kind');
  }
  const msg = messageForKind(apiVersion, kind);
  if (!msg) {
    throw new ProtobufError(
      'NotEncodable',
      `object ${apiVersion}, Kind=${kind} does not implement the protobuf marshalling interface and cannot be encoded to a protobuf message`,
    );
  }
  w.raw(MAGIC);
  w.tag(1, 2);
  const tm = w.begin();
  w.tag(1, 2);
  w.string(apiVersion);
  w.tag(2, 2);
  w.string(kind);
  w.finish(tm);
  w.tag(2, 2);
  const raw = w.begin();
  encodeBody(w, object, msg, 0);
  w.finish(raw);
  // contentEncoding and contentType: always written by Go, empty
  w.tag(3, 2);
  w.byte(0);
  w.tag(4, 2);
  w.byte(0);
}

/**
 * Encodes an object of any kind with a protobuf message (served kinds, their Lists, Status, the
 * option kinds, …) as magic + runtime.Unknown. Throws ProtobufError: 406 for a kind without a
 * protobuf form (e.g. meta.k8s.io/v1 Table), 500 for values that do not fit their fields.
 */
export function encode(object: Record<string, unknown>): Uint8Array {
  const w = new Writer(1024);
  writeEnvelope(w, object);
  return w.result();
}

/**
 * One frame of a protobuf watch stream (upstream's watch encoder with the length-delimited
 * framer): a 4-byte big-endian length, then a WatchEvent {type=1, object=2 RawExtension{raw=1}}
 * written without an envelope, whose raw is the object's own magic + runtime.Unknown encoding.
 */
export function encodeWatchEvent(type: string, object: Record<string, unknown>): Uint8Array {
  const w = new Writer(1024);
  w.pos = 4;
  w.tag(1, 2);
  w.string(type);
  w.tag(2, 2);
  const ext = w.begin();
  w.tag(1, 2);
  const raw = w.begin();
  writeEnvelope(w, object);
  w.finish(raw);
  w.finish(ext);
  const len = w.pos - 4;
  w.buf[0] = len >>> 24;
  w.buf[1] = (len >>> 16) & 0xff;
  w.buf[2] = (len >>> 8) & 0xff;
  w.buf[3] = len & 0xff;
  return w.result();
}

/** Whether a kind has a protobuf form (servers answer 406 for protobuf requests otherwise). */
export function hasProtobufMessage(apiVersion: string, kind: string): boolean {
  return messageForKind(apiVersion, kind) !== undefined;
}

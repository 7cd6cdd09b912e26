// Protocol Buffers wire primitives: a bounds-checked reader and a growable writer.
// Contract: the reader never reads past `end` and throws WireError on any malformed input
// (truncation, over-long varints, lengths past the end); it never loops without consuming input.

export class WireError extends Error {}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO32 = 4294967296;
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export class Reader {
  buf: Uint8Array;
  pos: number;
  end: number;
  private view: DataView | undefined;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** An unsigned varint of at most 32 significant bits (tags, lengths). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= end) throw new WireError('unexpected EOF');
      const b = buf[pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
    }
    // Longer varints are legal for int32 fields holding negative numbers, never for lengths or tags.
    throw new WireError('proto: integer overflow');
  }

  /**
   * A varint as a signed 64-bit integer, returned as a JS number (exact within ±2^53).
   * Also used for int32/enum fields: callers truncate with `| 0`.
   */
  int64(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let lo = 0;
    let hi = 0;
    let b = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (pos >= end) throw new WireError('unexpected EOF');
      b = buf[pos++];
      lo |= (b & 0x7f) << (i * 7);
      if (b < 0x80) {
        this.pos = pos;
        return lo >>> 0;
      }
    }
    // fifth byte: 4 bits into lo, 3 into hi
    if (pos >= end) throw new WireError('unexpected EOF');
    b = buf[pos++];
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (i = 0; i < 5; i++) {
        if (pos >= end) throw new WireError('unexpected EOF');
        b = buf[pos++];
        hi |= (b & 0x7f) << (i * 7 + 3);
        if (b < 0x80) break;
      }
      if (b >= 0x80) throw new WireError('proto: integer overflow');
    }
    this.pos = pos;
    return (hi | 0) * TWO32 + (lo >>> 0);
  }

  /** An unsigned 64-bit varint as a number (exact below 2^53). */
  uint64(): number {
    const v = this.int64();
    return v < 0 ? v + TWO32 * TWO32 : v;
  }

  fixed32(): number {
    if (this.end - this.pos < 4) throw new WireError('unexpected EOF');
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  fixed64(): number {
    const lo = this.fixed32();
    const hi = this.fixed32() | 0;
    return hi * TWO32 + lo;
  }

  private dv(): DataView {
    if (!this.view) this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.view;
  }

  double(): number {
    if (this.end - this.pos < 8) throw new WireError('unexpected EOF');
    const v = this.dv().getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  float(): number {
    if (this.end - this.pos < 4) throw new WireError('unexpected EOF');
    const v = this.dv().getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Reads a length prefix and returns the end offset of the delimited bytes (checked). */
  lengthEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) throw new WireError('unexpected EOF');
    return end;
  }

  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  string(): string {
    const end = this.lengthEnd();
    const s = utf8(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.int64();
        return;
      case WIRE_FIXED64:
        if (this.end - this.pos < 8) throw new WireError('unexpected EOF');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lengthEnd();
        return;
      case WIRE_FIXED32:
        if (this.end - this.pos < 4) throw new WireError('unexpected EOF');
        this.pos += 4;
        return;
      default:
        // groups (3, 4) are not used by Kubernetes; 6 and 7 do not exist
        throw new WireError(`proto: illegal wireType ${wireType}`);
    }
  }
}

/** UTF-8 to string; invalid sequences become U+FFFD, as Go's JSON encoder renders them. */
export function utf8(buf: Uint8Array, start: number, end: number): string {
  if (end - start < 24) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return utf8Decoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(buf.subarray(start, end));
}

export class Writer {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Unsigned varint of a non-negative integer below 2^53. */
  uvarint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    if (v <= 0x7fffffff) {
      while (v >= 0x80) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        buf[pos++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** A signed integer as protobuf int32/int64 varint: negatives take ten bytes (two's complement). */
  svarint(v: number): void {
    if (v >= 0) {
      this.uvarint(v);
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  tag(field: number, wireType: number): void {
    this.uvarint(field * 8 + wireType);
  }

  fixed32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = (v >>> 24) & 0xff;
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).setFloat64(0, v, true);
    this.pos += 8;
  }

  float(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, v, true);
    this.pos += 4;
  }

  /**
   * Starts a length-delimited value: reserves one byte for its length and returns a mark for
   * finish(). Most nested values are shorter than 128 bytes; longer ones are moved once.
   */
  begin(): number {
    this.ensure(1);
    return this.pos++;
  }

  finish(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    let n = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 128)) n++;
    this.ensure(n - 1);
    this.buf.copyWithin(mark + n, mark + 1, this.pos);
    this.pos += n - 1;
    const end = this.pos;
    this.pos = mark;
    this.uvarint(len);
    this.pos = end;
  }

  string(s: string): void {
    const mark = this.begin();
    const n = s.length;
    // ASCII fast path; anything else goes through TextEncoder (at most 3 bytes per UTF-16 unit)
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos++] = c;
    }
    this.pos = pos;
    if (i < n) {
      const rest = s.slice(i);
      this.ensure(rest.length * 3);
      this.pos += utf8Encoder.encodeInto(rest, this.buf.subarray(this.pos)).written;
    }
    this.finish(mark);
  }

  lenBytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.raw(b);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

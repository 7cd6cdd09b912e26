// The Swagger 2.0 document in protobuf: gnostic's openapi.v2.Document message, which upstream
// serves at /openapi/v2 for `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
// (kubectl 1.27 and 1.28 read only this form). Upstream produces it by parsing its JSON document
// with gnostic; this encoder writes the same message from rudder's JSON document directly.
//
// Field numbers are those of gnostic's OpenAPIv2.proto. Proto3 rules apply: empty strings, false
// and zero are not written; repeated strings and messages are written one element per field.
// Vendor extensions (x-kubernetes-*) are NamedAny{name, Any{yaml}}, the YAML being the JSON text
// of the value (JSON is YAML, and quoted strings keep YAML 1.1 readers from retyping values).

type Json = Record<string, unknown>;

class Message {
  private readonly parts: Buffer[] = [];

  private tag(no: number, wireType: number): void {
    this.varint((no << 3) | wireType);
  }

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
  }

  string(no: number, s: unknown): this {
    if (typeof s !== 'string' || s === '') return this;
    const b = Buffer.from(s, 'utf8');
    this.tag(no, 2);
    this.varint(b.length);
    this.parts.push(b);
    return this;
  }

  strings(no: number, xs: unknown): this {
    if (Array.isArray(xs)) for (const s of xs) if (typeof s === 'string') this.stringAlways(no, s);
    return this;
  }

  /** A repeated-string element: written even when empty, as position matters. */
  private stringAlways(no: number, s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.tag(no, 2);
    this.varint(b.length);
    this.parts.push(b);
  }

  bool(no: number, v: unknown): this {
    if (v === true) {
      this.tag(no, 0);
      this.varint(1);
    }
    return this;
  }

  /** A bool that is written even when false (oneof members). */
  boolPresent(no: number, v: boolean): this {
    this.tag(no, 0);
    this.varint(v ? 1 : 0);
    return this;
  }

  int(no: number, v: unknown): this {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) {
      this.tag(no, 0);
      this.varint(v);
    }
    return this;
  }

  double(no: number, v: unknown): this {
    if (typeof v === 'number' && v !== 0) {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v);
      this.tag(no, 1);
      this.parts.push(b);
    }
    return this;
  }

  /** An embedded message; written even when empty, since presence is meaningful for messages. */
  message(no: number, m: Message | undefined): this {
    if (!m) return this;
    const b = m.bytes();
    this.tag(no, 2);
    this.varint(b.length);
    this.parts.push(b);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function isObj(v: unknown): v is Json {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function anyYaml(v: unknown): Message {
  return new Message().string(2, JSON.stringify(v));
}

function vendorExtensions(m: Message, no: number, o: Json): void {
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('x-')) m.message(no, new Message().string(1, k).message(2, anyYaml(v)));
  }
}

function schema(s: Json): Message {
  const m = new Message();
  m.string(1, s.$ref).string(2, s.format).string(3, s.title).string(4, s.description);
  if (s.default !== undefined) m.message(5, anyYaml(s.default));
  m.double(6, s.multipleOf).double(7, s.maximum).bool(8, s.exclusiveMaximum).double(9, s.minimum).bool(10, s.exclusiveMinimum);
  m.int(11, s.maxLength).int(12, s.minLength).string(13, s.pattern).int(14, s.maxItems).int(15, s.minItems).bool(16, s.uniqueItems);
  m.int(17, s.maxProperties).int(18, s.minProperties).strings(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) m.message(20, anyYaml(e));
  if (isObj(s.additionalProperties)) m.message(21, new Message().message(1, schema(s.additionalProperties)));
  // a oneof member is written even when false, so that readers see which member is set
  else if (typeof s.additionalProperties === 'boolean') m.message(21, new Message().boolPresent(2, s.additionalProperties));
  if (typeof s.type === 'string') m.message(22, new Message().strings(1, [s.type]));
  else if (Array.isArray(s.type)) m.message(22, new Message().strings(1, s.type));
  if (isObj(s.items)) m.message(23, new Message().message(1, schema(s.items)));
  else if (Array.isArray(s.items)) {
    const it = new Message();
    for (const x of s.items) if (isObj(x)) it.message(1, schema(x));
    m.message(23, it);
  }
  if (Array.isArray(s.allOf)) for (const x of s.allOf) if (isObj(x)) m.message(24, schema(x));
  if (isObj(s.properties)) {
    const ps = new Message();
    for (const [k, v] of Object.entries(s.properties)) if (isObj(v)) ps.message(1, new Message().string(1, k).message(2, schema(v)));
    m.message(25, ps);
  }
  m.string(26, s.discriminator).bool(27, s.readOnly);
  vendorExtensions(m, 31, s);
  return m;
}

function parameter(p: Json): Message {
  if (typeof p.$ref === 'string') return new Message().message(2, new Message().string(1, p.$ref));
  if (p.in === 'body') {
    const b = new Message().string(1, p.description).string(2, p.name).string(3, p.in).bool(4, p.required);
    if (isObj(p.schema)) b.message(5, schema(p.schema));
    vendorExtensions(b, 6, p);
    return new Message().message(1, new Message().message(1, b));
  }
  const s = new Message();
  let which: number;
  if (p.in === 'path') {
    which = 4;
    s.bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name).string(5, p.type).string(6, p.format);
    s.bool(19, p.uniqueItems);
    vendorExtensions(s, 22, p);
  } else if (p.in === 'query') {
    which = 3;
    s.bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name).string(6, p.type).string(7, p.format);
    s.bool(20, p.uniqueItems);
    vendorExtensions(s, 23, p);
  } else if (p.in === 'header') {
    which = 1;
    s.bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name).string(5, p.type).string(6, p.format);
    s.bool(19, p.uniqueItems);
    vendorExtensions(s, 22, p);
  } else {
    which = 2;
    s.bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name).string(6, p.type).string(7, p.format);
    s.bool(20, p.uniqueItems);
    vendorExtensions(s, 23, p);
  }
  return new Message().message(1, new Message().message(2, new Message().message(which, s)));
}

function operation(o: Json): Message {
  const m = new Message();
  m.strings(1, o.tags).string(2, o.summary).string(3, o.description).string(5, o.operationId);
  m.strings(6, o.produces).strings(7, o.consumes);
  if (Array.isArray(o.parameters)) for (const p of o.parameters) if (isObj(p)) m.message(8, parameter(p));
  if (isObj(o.responses)) {
    const rs = new Message();
    for (const [code, r] of Object.entries(o.responses)) {
      if (!isObj(r)) continue;
      const resp = new Message().string(1, r.description);
      if (isObj(r.schema)) resp.message(2, new Message().message(1, schema(r.schema)));
      vendorExtensions(resp, 5, r);
      rs.message(1, new Message().string(1, code).message(2, new Message().message(1, resp)));
    }
    m.message(9, rs);
  }
  m.strings(10, o.schemes).bool(11, o.deprecated);
  vendorExtensions(m, 13, o);
  return m;
}

const PATH_ITEM_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function pathItem(p: Json): Message {
  const m = new Message().string(1, p.$ref);
  for (const [method, no] of Object.entries(PATH_ITEM_FIELDS)) if (isObj(p[method])) m.message(no, operation(p[method] as Json));
  if (Array.isArray(p.parameters)) for (const x of p.parameters) if (isObj(x)) m.message(9, parameter(x));
  vendorExtensions(m, 10, p);
  return m;
}

/** Encodes a Swagger 2.0 JSON document as gnostic's openapi.v2.Document. */
export function encodeOpenAPIV2(doc: Json): Buffer {
  const m = new Message().string(1, doc.swagger);
  if (isObj(doc.info)) {
    const i = doc.info;
    const info = new Message().string(1, i.title).string(2, i.version).string(3, i.description);
    vendorExtensions(info, 7, i);
    m.message(2, info);
  }
  m.string(3, doc.host).string(4, doc.basePath).strings(5, doc.schemes).strings(6, doc.consumes).strings(7, doc.produces);
  if (isObj(doc.paths)) {
    const ps = new Message();
    vendorExtensions(ps, 1, doc.paths);
    for (const [k, v] of Object.entries(doc.paths)) if (!k.startsWith('x-') && isObj(v)) ps.message(2, new Message().string(1, k).message(2, pathItem(v)));
    m.message(8, ps);
  }
  if (isObj(doc.definitions)) {
    const ds = new Message();
    for (const [k, v] of Object.entries(doc.definitions)) if (isObj(v)) ds.message(1, new Message().string(1, k).message(2, schema(v)));
    m.message(9, ds);
  }
  if (Array.isArray(doc.security)) {
    for (const req of doc.security) {
      if (!isObj(req)) continue;
      const r = new Message();
      for (const [k, v] of Object.entries(req)) r.message(1, new Message().string(1, k).message(2, new Message().strings(1, v)));
      m.message(12, r);
    }
  }
  if (isObj(doc.securityDefinitions)) {
    const sd = new Message();
    for (const [k, v] of Object.entries(doc.securityDefinitions)) {
      if (!isObj(v) || v.type !== 'apiKey') continue;
      const a = new Message().string(1, v.type).string(2, v.name).string(3, v.in).string(4, v.description);
      vendorExtensions(a, 5, v);
      sd.message(1, new Message().string(1, k).message(2, new Message().message(2, a)));
    }
    m.message(13, sd);
  }
  vendorExtensions(m, 16, doc);
  return m.bytes();
}

// Development-time generator: derives rudder's table of Kubernetes protobuf wire facts from
// upstream's published definitions. Output: src/api/protobuf/messages.json (committed); nothing
// from the inputs but names, numbers and types is kept.
//
// Usage: node scripts/gen-protobuf.ts <dir> [--release <tag>] [--openapi <openapi-v2.json>]
//
// <dir> holds upstream's sources laid out by Go import path, at one release (rudder: v0.33.x):
//   <dir>/k8s.io/api/<group>/<version>/{generated.proto,types.go,register.go}
//   <dir>/k8s.io/apimachinery/pkg/{apis/meta/v1,runtime,api/resource,util/intstr}/{generated.proto,*.go}
// From git clones of kubernetes/api and kubernetes/apimachinery, for example:
//   for f in $(git -C api ls-tree -r --name-only v0.33.13 | grep -E '(generated\.proto|types\.go|register\.go)$'); do
//     mkdir -p $D/k8s.io/api/$(dirname $f); git -C api show v0.33.13:$f > $D/k8s.io/api/$f; done
//   (likewise apimachinery's pkg/apis/meta/v1, pkg/runtime, pkg/api/resource, pkg/util/intstr: *.proto, *.go)
//   node scripts/gen-protobuf.ts $D --release v0.33.13
//
// Why the Go files as well as the .proto files: the .proto files give message and field names,
// numbers and types, but the JSON model also depends on facts only the Go struct tags carry —
// whether a field is a pointer (present on the wire only when set), whether its JSON tag says
// omitempty, and whether it is embedded inline (its fields appear in the parent's JSON object).
// Go fields are joined to proto fields by the number in their `protobuf:"…"` tag. register.go
// gives each package's API group and registered kinds.
//
// The OpenAPI description (default ../shared/data/kubernetes-1.36-openapi-v2.json) is used only
// to verify that every JSON name in the table is a property upstream publishes.
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESOURCES } from '../src/api/resources.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src', 'api', 'protobuf', 'messages.json');

const args = process.argv.slice(2);
let openapiPath = join(root, '..', 'shared', 'data', 'kubernetes-1.36-openapi-v2.json');
const oi = args.indexOf('--openapi');
if (oi >= 0) {
  openapiPath = args[oi + 1];
  args.splice(oi, 2);
}
let release = 'unknown release';
const ri = args.indexOf('--release');
if (ri >= 0) {
  release = args[ri + 1];
  args.splice(ri, 2);
}
const srcDir = args[0];
if (!srcDir || !existsSync(join(srcDir, 'k8s.io'))) {
  console.error('usage: node scripts/gen-protobuf.ts <dir containing k8s.io/api and k8s.io/apimachinery> [--openapi file]');
  process.exit(2);
}

const SCALARS = new Set(['string', 'bool', 'bytes', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'double', 'float']);

// Messages whose JSON form is not the object of their fields (custom MarshalJSON upstream).
const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const SPECIAL_JSON: Record<string, string> = {
  [`${META}.Time`]: 'time', // RFC 3339, seconds, UTC; zero → null
  [`${META}.MicroTime`]: 'microtime', // RFC 3339 with microseconds; zero → null
  [`${META}.Duration`]: 'duration', // Go duration string
  [`${META}.FieldsV1`]: 'rawjson', // embedded JSON held as bytes in field 1
  'k8s.io.apimachinery.pkg.runtime.RawExtension': 'rawjson',
  'k8s.io.apimachinery.pkg.api.resource.Quantity': 'quantity', // its string
  'k8s.io.apimachinery.pkg.api.resource.QuantityValue': 'quantity',
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': 'intorstring',
};

// ---------------------------------------------------------------------------------------------
// .proto parsing (the subset upstream's go-to-protobuf emits: proto2, flat messages, no enums)

interface ProtoField {
  name: string;
  number: number;
  label: 'optional' | 'repeated' | 'required' | 'map';
  type: string; // scalar or resolved full message name; for maps the value type
  keyType?: string;
}
interface ProtoMessage {
  fullName: string;
  pkg: string;
  name: string;
  fields: ProtoField[];
}

function stripComments(s: string): string {
  return s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

function parseProto(text: string): { pkg: string; messages: ProtoMessage[]; rawTypes: Map<ProtoField, string> } {
  const s = stripComments(text);
  const pkg = /\bpackage\s+([\w.]+)\s*;/.exec(s)?.[1];
  if (!pkg) throw new Error('no package');
  const messages: ProtoMessage[] = [];
  const rawTypes = new Map<ProtoField, string>();
  const msgRe = /\bmessage\s+(\w+)\s*\{([^{}]*)\}/g;
  for (let m; (m = msgRe.exec(s)); ) {
    const fields: ProtoField[] = [];
    for (const stmt of m[2].split(';')) {
      const t = stmt.trim();
      if (!t) continue;
      let f: ProtoField;
      let mm = /^map\s*<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)$/.exec(t);
      if (mm) {
        f = { name: mm[3], number: Number(mm[4]), label: 'map', type: '', keyType: mm[1] };
        rawTypes.set(f, mm[2]);
      } else if ((mm = /^(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)$/.exec(t))) {
        f = { name: mm[3], number: Number(mm[4]), label: mm[1] as ProtoField['label'], type: '' };
        rawTypes.set(f, mm[2]);
      } else {
        throw new Error(`${pkg}.${m[1]}: cannot parse "${t}"`);
      }
      fields.push(f);
    }
    messages.push({ fullName: `${pkg}.${m[1]}`, pkg, name: m[1], fields });
  }
  return { pkg, messages, rawTypes };
}

// ---------------------------------------------------------------------------------------------
// Go parsing: struct field tags, named slice types, GroupName and registered kinds.

interface GoField {
  goType: string;
  json: string; // name from the json tag ('' for inline, '-' for skipped)
  omitempty: boolean;
  inline: boolean;
  pbNumber: number;
  pbName: string;
}
interface GoPackage {
  structs: Map<string, GoField[]>;
  sliceTypes: Set<string>; // `type X []T`
  aliases: Map<string, string>; // `type X metav1.Y` (core/v1 List): X has Y's fields
  groupName?: string;
  kinds: { pkg: string; name: string }[]; // from addKnownTypes; pkg '' for local, else import alias
}

function parseGo(files: string[]): GoPackage {
  const pkg: GoPackage = { structs: new Map(), sliceTypes: new Set(), aliases: new Map(), kinds: [] };
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      let m = /^type (\w+) \[\]/.exec(line);
      if (m) pkg.sliceTypes.add(m[1]);
      m = /^type (\w+) metav1\.(\w+)$/.exec(line);
      if (m) pkg.aliases.set(m[1], m[2]);
      m = /^type (\w+) struct \{\s*$/.exec(line);
      if (!m) continue;
      const fields: GoField[] = [];
      for (i++; i < lines.length && lines[i] !== '}'; i++) {
        const l = lines[i].trim();
        if (!l || l.startsWith('//')) continue;
        const bt = l.indexOf('`');
        if (bt < 0) continue;
        const tag = l.slice(bt + 1, l.indexOf('`', bt + 1));
        const pb = /protobuf:"([^"]*)"/.exec(tag)?.[1];
        if (!pb || pb === '-') continue;
        const decl = l.slice(0, bt).trim().split(/\s+/);
        const goType = decl.length === 1 ? decl[0] : decl[1];
        const pbParts = pb.split(',');
        const jsonTag = /json:"([^"]*)"/.exec(tag)?.[1] ?? '';
        const [jsonName, ...opts] = jsonTag.split(',');
        fields.push({
          goType,
          json: jsonName,
          omitempty: opts.includes('omitempty'),
          inline: opts.includes('inline'),
          pbNumber: Number(pbParts[1]),
          pbName: pbParts.find((p) => p.startsWith('name='))?.slice(5) ?? '',
        });
      }
      pkg.structs.set(m[1], fields);
    }
    const g = /^const GroupName = "([^"]*)"/m.exec(text);
    if (g) pkg.groupName = g[1];
    const known = /func addKnownTypes\([^)]*\) error \{([\s\S]*?)\n\}/.exec(text);
    if (known) {
      for (const k of known[1].matchAll(/&(?:(\w+)\.)?(\w+)\{\}/g)) pkg.kinds.push({ pkg: k[1] ?? '', name: k[2] });
    }
  }
  return pkg;
}

// ---------------------------------------------------------------------------------------------
// Which packages: every group/version rudder serves, and the apimachinery packages they use.

const servedGV = new Set<string>();
for (const r of RESOURCES) for (const v of r.versions) servedGV.add(`${r.group}/${v}`);

interface PackageDir {
  dir: string;
  goImport: string;
  group?: string;
  version?: string;
}
const packages: PackageDir[] = [];
const apiRoot = join(srcDir, 'k8s.io', 'api');
for (const g of readdirSync(apiRoot)) {
  for (const v of readdirSync(join(apiRoot, g))) {
    const dir = join(apiRoot, g, v);
    if (!existsSync(join(dir, 'generated.proto'))) continue;
    const reg = join(dir, 'register.go');
    const group = existsSync(reg) ? /^const GroupName = "([^"]*)"/m.exec(readFileSync(reg, 'utf8'))?.[1] : undefined;
    if (group === undefined || !servedGV.has(`${group}/${v}`)) continue;
    packages.push({ dir, goImport: `k8s.io/api/${g}/${v}`, group, version: v });
  }
}
for (const p of ['pkg/apis/meta/v1', 'pkg/runtime', 'pkg/api/resource', 'pkg/util/intstr', 'pkg/runtime/schema']) {
  packages.push({ dir: join(srcDir, 'k8s.io', 'apimachinery', p), goImport: `k8s.io/apimachinery/${p}` });
}
const missingGV = [...servedGV].filter((gv) => !packages.some((p) => `${p.group}/${p.version}` === gv));
if (missingGV.length) throw new Error(`no generated.proto for served group versions: ${missingGV.join(', ')}`);

// ---------------------------------------------------------------------------------------------
// Join .proto and Go facts.

const messages = new Map<string, ProtoMessage>();
const goFor = new Map<string, { go: GoPackage; pkgDir: PackageDir }>(); // proto package → Go facts
const rawTypesAll = new Map<ProtoField, string>();
for (const p of packages) {
  const parsed = parseProto(readFileSync(join(p.dir, 'generated.proto'), 'utf8'));
  for (const m of parsed.messages) messages.set(m.fullName, m);
  for (const [f, t] of parsed.rawTypes) rawTypesAll.set(f, t);
  const goFiles = readdirSync(p.dir).filter((f) => f.endsWith('.go')).map((f) => join(p.dir, f));
  goFor.set(parsed.pkg, { go: parseGo(goFiles), pkgDir: p });
}

function resolveType(t: string, pkg: string): string {
  if (SCALARS.has(t)) return t;
  if (t.startsWith('.')) t = t.slice(1);
  else if (messages.has(`${pkg}.${t}`)) t = `${pkg}.${t}`;
  if (!messages.has(t)) throw new Error(`unresolved type ${t} in ${pkg}`);
  return t;
}
for (const m of messages.values()) {
  for (const f of m.fields) {
    const raw = rawTypesAll.get(f)!;
    f.type = resolveType(raw, m.pkg);
    if (f.keyType && !SCALARS.has(f.keyType)) throw new Error(`${m.fullName}.${f.name}: map key ${f.keyType}`);
  }
}

// Table rows: [jsonName, number, type, flags, mapValueType?]
// flags: r repeated, m map (type is the key type), p pointer (on the wire only when set),
//        o omitempty, i inline (its fields belong to the parent JSON object)
type Row = [string, number, string, string] | [string, number, string, string, string];
interface MessageEntry {
  json?: string;
  fields: Row[];
}
const table: Record<string, MessageEntry> = {};
const nameExceptions: { message: string; field: string; protobuf: string; json: string }[] = [];
const problems: string[] = [];

const arrayWrappers = new Set<string>();
for (const [pkgName, { go }] of goFor) {
  for (const s of go.sliceTypes) {
    const full = `${pkgName}.${s}`;
    const m = messages.get(full);
    if (m && m.fields.length === 1 && m.fields[0].name === 'items' && m.fields[0].label === 'repeated') arrayWrappers.add(full);
  }
}

for (const m of [...messages.values()].sort((a, b) => a.fullName.localeCompare(b.fullName))) {
  const entry: MessageEntry = { fields: [] };
  const special = SPECIAL_JSON[m.fullName] ?? (arrayWrappers.has(m.fullName) ? 'array' : undefined);
  if (special) entry.json = special;
  const goPkg = goFor.get(m.pkg)!.go;
  const alias = goPkg.aliases.get(m.name);
  const goStruct = alias ? goFor.get(META)!.go.structs.get(alias) : goPkg.structs.get(m.name);
  for (const f of [...m.fields].sort((a, b) => a.number - b.number)) {
    const gf = goStruct?.find((g) => g.pbNumber === f.number);
    let json = f.name;
    let flags = '';
    if (f.label === 'repeated') flags += 'r';
    if (f.label === 'map') flags += 'm';
    if (gf) {
      if (gf.pbName && gf.pbName !== f.name) problems.push(`${m.fullName}.${f.name}: Go tag name=${gf.pbName}`);
      if (gf.goType.startsWith('*')) flags += 'p';
      if (gf.omitempty) flags += 'o';
      const noted = !special && m.fullName !== 'k8s.io.apimachinery.pkg.runtime.Unknown';
      if (gf.inline) {
        flags += 'i';
        if (noted) nameExceptions.push({ message: m.fullName, field: f.name, protobuf: f.name, json: '(inline)' });
      } else if (gf.json !== f.name && !special) {
        if (noted) nameExceptions.push({ message: m.fullName, field: f.name, protobuf: f.name, json: gf.json });
        if (gf.json && gf.json !== '-') json = gf.json;
      }
    } else if (!special) {
      problems.push(`${m.fullName}.${f.name}: no Go field with protobuf number ${f.number}`);
    }
    const row: Row = f.label === 'map' ? [json, f.number, f.keyType!, flags, f.type] : [json, f.number, f.type, flags];
    entry.fields.push(row);
  }
  // every Go field with a protobuf tag must have its proto field
  for (const gf of goStruct ?? []) {
    if (!m.fields.some((f) => f.number === gf.pbNumber)) problems.push(`${m.fullName}: Go field ${gf.pbName} (#${gf.pbNumber}) not in .proto`);
  }
  table[m.fullName] = entry;
}

// Kinds: registered types of each served group/version, and the meta kinds.
const kinds: Record<string, Record<string, string>> = {};
for (const [pkgName, { go, pkgDir }] of goFor) {
  if (pkgDir.group === undefined) continue;
  const gv = pkgDir.group ? `${pkgDir.group}/${pkgDir.version}` : pkgDir.version!;
  const k: Record<string, string> = (kinds[gv] = {});
  for (const kind of go.kinds) {
    const full = kind.pkg === 'metav1' ? `${META}.${kind.name}` : kind.pkg ? undefined : `${pkgName}.${kind.name}`;
    if (!full) throw new Error(`${gv}: kind from unknown package ${kind.pkg}.${kind.name}`);
    if (table[full]) k[kind.name] = full;
    else problems.push(`${gv}: registered kind ${kind.name} has no protobuf message`);
  }
}
// Facts from apimachinery's meta/v1 register.go: AddToGroupVersion registers WatchEvent and the
// option types into every group version, and Status, APIVersions, APIGroupList, APIGroup and
// APIResourceList as unversioned kinds (decodable under any apiVersion); AddMetaToScheme adds
// Table, TableOptions, PartialObjectMetadata(List) to meta.k8s.io/v1 (Table has no protobuf form).
const metaRegister = readFileSync(join(srcDir, 'k8s.io/apimachinery/pkg/apis/meta/v1/register.go'), 'utf8');
function kindsIn(re: RegExp): string[] {
  const body = re.exec(metaRegister)?.[1];
  if (!body) throw new Error(`meta register.go: ${re} not found`);
  return [...body.matchAll(/&(\w+)\{\}/g)].map((x) => x[1]);
}
const perGroupVersion = ['WatchEvent', ...kindsIn(/var optionsTypes = \[\]runtime\.Object\{([\s\S]*?)\n\}/)];
const unversioned = kindsIn(/scheme\.AddUnversionedTypes\(Unversioned,([\s\S]*?)\)\n/);
const metaGroupKinds = kindsIn(/func AddMetaToScheme[\s\S]*?AddKnownTypes\(SchemeGroupVersion,([\s\S]*?)\)\n/);
for (const k of [...perGroupVersion, ...unversioned]) {
  if (!table[`${META}.${k}`]) throw new Error(`meta kind ${k} has no message`);
}
kinds['meta.k8s.io/v1'] = {};
for (const k of [...metaGroupKinds, ...perGroupVersion]) if (table[`${META}.${k}`]) kinds['meta.k8s.io/v1'][k] = `${META}.${k}`;

// ---------------------------------------------------------------------------------------------
// Verify JSON names against the OpenAPI description.

const openapi = JSON.parse(readFileSync(openapiPath, 'utf8')).definitions as Record<string, { properties?: Record<string, unknown> }>;
function jsonNames(full: string, acc: Set<string>): Set<string> {
  for (const [json, , type, flags] of table[full].fields) {
    if (flags.includes('i')) jsonNames(type, acc);
    else acc.add(json);
  }
  return acc;
}
let verified = 0;
const newerUpstream: string[] = [];
for (const full of Object.keys(table)) {
  if (table[full].json) continue;
  const def = openapi['io.' + full.replace(/^k8s\.io\./, 'k8s.')];
  if (!def?.properties) continue;
  const names = jsonNames(full, new Set());
  for (const n of names) {
    if (!(n in def.properties)) problems.push(`${full}: JSON name ${n} is not an OpenAPI property`);
  }
  for (const p of Object.keys(def.properties)) {
    if (p !== 'apiVersion' && p !== 'kind' && !names.has(p)) newerUpstream.push(`${full}.${p}`);
  }
  verified++;
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}

const result = {
  source: `k8s.io/api and k8s.io/apimachinery ${release}: generated.proto and Go struct tags; see scripts/gen-protobuf.ts`,
  rows: '[jsonName, number, type (scalar or message; map: key type), flags (r repeated, m map, p pointer, o omitempty, i inline), map value type]',
  nameExceptions,
  kinds,
  // meta/v1 kinds registered into every served group version (full name is META + '.' + kind)
  perGroupVersionKinds: perGroupVersion,
  // meta/v1 kinds decodable under any apiVersion
  unversionedKinds: unversioned,
  messages: table,
};
// One message per line: reviewable diffs without the bulk of full indentation.
const body = Object.entries(result)
  .map(([k, v]) => {
    if (k !== 'messages' && k !== 'kinds') return `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`;
    const inner = Object.entries(v as Record<string, unknown>).map(([n, e]) => `    ${JSON.stringify(n)}: ${JSON.stringify(e)}`);
    return `  ${JSON.stringify(k)}: {\n${inner.join(',\n')}\n  }`;
  })
  .join(',\n');
writeFileSync(out, `{\n${body}\n}\n`);
console.log(`${Object.keys(table).length} messages, ${Object.values(kinds).reduce((n, k) => n + Object.keys(k).length, 0)} kinds → ${out}`);
console.log(`verified JSON names of ${verified} messages against OpenAPI`);
console.log(`protobuf field name ≠ JSON name: ${nameExceptions.map((e) => `${e.message.replace(/^k8s\.io\./, '')}.${e.field} → ${e.json}`).join(', ')}`);
if (newerUpstream.length) console.log(`OpenAPI properties without a 1.33 field (newer upstream): ${newerUpstream.join(', ')}`);

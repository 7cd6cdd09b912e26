// Request bodies and answers for the subresource handlers, on both transports: over HTTP the body
// is read and decoded (JSON or YAML) and the answer encoded; in-process (ctx.local) the body is a
// value (copied before use) and the answer is handed back as a value.
import { badRequest, methodNotSupported, unsupportedMediaType } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import { parseGroupVersion } from '../../api/resources.ts';
import { decode as decodeProtobuf } from '../../api/protobuf/codec.ts';
import { JSON_TYPE, PROTOBUF_TYPE, YAML_TYPE, decodeText, mediaType, negotiate, readBody, writeObject, type Ctx } from '../http.ts';
import type { ResourceRegistry, UserInfo } from '../registry.ts';

export interface ExpectedKind {
  group: string;
  /** Accepted versions; the first is assumed when the body names none. */
  versions: string[];
  kind: string;
}

/** The request body as an object of the expected kind; apiVersion and kind may be left out. */
export async function readObject(ctx: Ctx, want: ExpectedKind): Promise<KObject> {
  let value: unknown;
  if (ctx.local) {
    const b = ctx.local.body;
    value = b instanceof Uint8Array ? decodeText(Buffer.from(b), JSON_TYPE) : b === undefined ? undefined : structuredClone(b);
  } else {
    const type = mediaType(ctx.req.headers['content-type']);
    if (type !== JSON_TYPE && type !== YAML_TYPE && type !== PROTOBUF_TYPE) throw unsupportedMediaType(type);
    const raw = await readBody(ctx.req);
    if (ctx.audit && ctx.audit.decision.level !== 'Metadata' && type === JSON_TYPE) ctx.audit.requestObject = raw;
    // kubectl sends TokenRequests, Evictions and Bindings as protobuf
    value = raw.length ? (type === PROTOBUF_TYPE ? decodeProtobuf(raw).object : decodeText(raw, type)) : undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw badRequest(`Object 'Kind' is missing in the request body`);
  const obj = value as Record<string, unknown>;
  const wantAV = want.group ? `${want.group}/${want.versions[0]}` : want.versions[0]!;
  if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = wantAV;
  if (obj.kind === undefined || obj.kind === '') obj.kind = want.kind;
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') throw badRequest('apiVersion and kind must be strings');
  const gv = parseGroupVersion(obj.apiVersion);
  if (gv.group !== want.group || !want.versions.includes(gv.version) || obj.kind !== want.kind) {
    throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${wantAV})`);
  }
  if (obj.metadata !== undefined && (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata))) {
    throw badRequest(`json: cannot unmarshal ${Array.isArray(obj.metadata) ? 'array' : typeof obj.metadata} into Go struct field ${want.kind}.metadata of type v1.ObjectMeta`);
  }
  obj.metadata ??= {};
  return obj as KObject;
}

/** Writes an answer in the negotiated encoding (JSON or YAML; protobuf clients get JSON). */
export function reply(ctx: Ctx, status: number, body: unknown): void {
  if (ctx.local) return writeObject(ctx, status, body);
  const choice = negotiate(ctx.req.headers.accept, false);
  writeObject(ctx, status, body, choice.type === 'protobuf' ? { type: 'json' } : choice);
}

/** upstream's Status{Status: Success} answer to a create of a subresource. */
export function successStatus(code: number): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code };
}

/** Refuses verbs a subresource does not serve (405, upstream's wording). */
export function requireVerb(ctx: Ctx, r: ResourceRegistry, sub: string, ...verbs: string[]): void {
  if (!verbs.includes(ctx.info.verb)) throw methodNotSupported({ group: r.gr.group, resource: `${r.gr.resource}/${sub}` }, ctx.info.verb);
}

/** The dryRun=All query parameter (anything else is upstream's 400). */
export function isDryRun(ctx: Ctx): boolean {
  const dry = ctx.query.getAll('dryRun');
  for (const v of dry) if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return dry.length > 0;
}

export interface RequestIdentity {
  user?: UserInfo;
  fieldManager?: string;
  userAgent?: string;
}

export function identity(ctx: Ctx): RequestIdentity {
  return { user: ctx.user, fieldManager: ctx.query.get('fieldManager') ?? undefined, userAgent: ctx.req.headers['user-agent'] };
}

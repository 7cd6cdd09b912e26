// Errors in Kubernetes' own form. Inside rudder every API failure is a StatusError carrying a
// metav1.Status; the HTTP edge serializes it unchanged. Constructors mirror upstream's
// k8s.io/apimachinery/pkg/api/errors so that reasons, codes and wording match what kubectl and
// client libraries expect.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A group and resource (plural), e.g. {group:'apps', resource:'deployments'}. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** A group and kind, e.g. {group:'apps', kind:'Deployment'}. */
export interface GroupKind {
  group: string;
  kind: string;
}

export class StatusError extends Error {
  readonly status: Status;
  constructor(status: Omit<Status, 'kind' | 'apiVersion' | 'metadata' | 'status'> & { status?: 'Failure' }) {
    super(status.message ?? status.reason ?? 'unknown error');
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', ...status };
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string | undefined {
    return this.status.reason;
  }
}

export function isStatusError(e: unknown): e is StatusError {
  return e instanceof StatusError;
}

/** "pods", "deployments.apps": upstream's GroupResource.String(). */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

/** "Pod", "Deployment.apps": upstream's GroupKind.String(). */
export function qualifiedKind(gk: GroupKind): string {
  return gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
}

function details(gr: GroupResource, name: string): StatusDetails {
  const d: StatusDetails = {};
  if (name) d.name = name;
  if (gr.group) d.group = gr.group;
  d.kind = gr.resource;
  return d;
}

export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError({
    reason: 'NotFound',
    code: 404,
    message: `${qualifiedResource(gr)} "${name}" not found`,
    details: details(gr, name),
  });
}

export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError({
    reason: 'AlreadyExists',
    code: 409,
    message: `${qualifiedResource(gr)} "${name}" already exists`,
    details: details(gr, name),
  });
}

/** The optimistic-concurrency failure: upstream's NewConflict with its fixed explanation. */
export function conflict(gr: GroupResource, name: string, why: string): StatusError {
  return new StatusError({
    reason: 'Conflict',
    code: 409,
    message: `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`,
    details: details(gr, name),
  });
}

export const OBJECT_MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string): StatusError {
  return new StatusError({ reason: 'BadRequest', code: 400, message });
}

export function methodNotSupported(gr: GroupResource, verb: string): StatusError {
  return new StatusError({
    reason: 'MethodNotAllowed',
    code: 405,
    message: `${verb} is not supported on resources of kind "${qualifiedResource(gr)}"`,
    details: { group: gr.group || undefined, kind: gr.resource },
  });
}

export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError({
    reason: 'UnsupportedMediaType',
    code: 415,
    message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    details: { causes: [{ reason: 'UnexpectedServerResponse', message: contentType }] },
  });
}

export function notAcceptable(message: string): StatusError {
  return new StatusError({ reason: 'NotAcceptable', code: 406, message });
}

export function forbidden(gr: GroupResource, name: string, why: string): StatusError {
  const what = name ? `${qualifiedResource(gr)} "${name}"` : qualifiedResource(gr);
  return new StatusError({
    reason: 'Forbidden',
    code: 403,
    message: `${what} is forbidden: ${why}`,
    details: details(gr, name),
  });
}

export function unauthorized(message = 'Unauthorized'): StatusError {
  return new StatusError({ reason: 'Unauthorized', code: 401, message });
}

/** 410 for a resourceVersion older than the store's compaction. */
export function resourceExpired(message: string): StatusError {
  return new StatusError({ reason: 'Expired', code: 410, message });
}

export function gone(message: string): StatusError {
  return new StatusError({ reason: 'Gone', code: 410, message });
}

export function requestEntityTooLarge(message: string): StatusError {
  return new StatusError({ reason: 'RequestEntityTooLarge', code: 413, message });
}

export function tooManyRequests(message: string, retryAfterSeconds: number): StatusError {
  return new StatusError({ reason: 'TooManyRequests', code: 429, message, details: { retryAfterSeconds } });
}

export function timeout(message: string, retryAfterSeconds = 1): StatusError {
  return new StatusError({ reason: 'Timeout', code: 504, message, details: { retryAfterSeconds } });
}

export function internalError(err: unknown): StatusError {
  const msg = err instanceof Error ? err.message : String(err);
  return new StatusError({
    reason: 'InternalError',
    code: 500,
    message: `Internal error occurred: ${msg}`,
    details: { causes: [{ message: msg }] },
  });
}

export function serviceUnavailable(message: string): StatusError {
  return new StatusError({ reason: 'ServiceUnavailable', code: 503, message });
}

export function notFoundPath(): StatusError {
  return new StatusError({ reason: 'NotFound', code: 404, message: 'the server could not find the requested resource', details: {} });
}

// ---------------------------------------------------------------------------------------------
// Field errors: upstream's k8s.io/apimachinery/pkg/util/validation/field, with its wording.

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** Marks a field error whose bad value is not printed (upstream's omitValue). */
export const OMIT_VALUE: unique symbol = Symbol('omitValue');

export interface FieldError {
  type: FieldErrorType;
  field: string;
  badValue?: unknown;
  detail?: string;
}

const GO_SYNTAX: unique symbol = Symbol('goSyntax');

/**
 * A bad value whose printed form is given verbatim: the text Go's %#v would print for a value
 * this package cannot infer a Go type for (maps, typed slices, structs). 1.33's field errors
 * print such values with %#v, e.g. `map[string]string{"app":"x"}`.
 */
export interface GoSyntax {
  readonly [GO_SYNTAX]: string;
}

export function goSyntax(text: string): GoSyntax {
  return { [GO_SYNTAX]: text };
}

function isGoSyntax(v: unknown): v is GoSyntax {
  return typeof v === 'object' && v !== null && GO_SYNTAX in v;
}

/** Go's %#v of a map[string]string: keys sorted, no spaces, e.g. map[string]string{"a":"1", "b":"2"}. */
export function goStringMap(m: Record<string, string> | undefined | null): GoSyntax {
  if (m == null) return goSyntax('map[string]string(nil)');
  const keys = Object.keys(m).sort();
  return goSyntax(`map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(String(m![k]))}`).join(', ')}}`);
}

/** Go's %#v of a []string, e.g. []string{"a", "b"}. */
export function goStringSlice(xs: readonly string[]): GoSyntax {
  return goSyntax(`[]string{${xs.map(goQuote).join(', ')}}`);
}

/** Go's strconv.Quote (what %q prints) for the strings API objects hold. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\v': out += '\\v'; continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** Formats a bad value as Go 1.33's field errors do: %v for numbers and bools, %q for strings, %#v otherwise. */
export function formatBadValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (isGoSyntax(v)) return v[GO_SYNTAX];
  if (Array.isArray(v)) return `[]${goTypeName(v)}{${v.map(formatBadValue).join(', ')}}`;
  return JSON.stringify(v);
}

function goTypeName(v: unknown[]): string {
  if (v.length > 0 && v.every((x) => typeof x === 'string')) return 'string';
  return 'interface {}';
}

/** upstream's Error.ErrorBody(): "Required value", `Invalid value: "x": detail`, … */
export function fieldErrorBody(e: FieldError): string {
  let s = TYPE_TEXT[e.type];
  const omit =
    e.type === 'FieldValueRequired' ||
    e.type === 'FieldValueForbidden' ||
    e.type === 'FieldValueTooLong' ||
    e.type === 'InternalError' ||
    e.badValue === OMIT_VALUE;
  if (!omit) s += `: ${formatBadValue(e.badValue)}`;
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

/** upstream's Error.Error(): always "<field>: <body>", so an error on the object root reads ": Too long: ...". */
export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

export const field = {
  required: (f: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field: f, detail }),
  invalid: (f: string, v: unknown, detail = ''): FieldError => ({ type: 'FieldValueInvalid', field: f, badValue: v, detail }),
  notSupported: (f: string, v: unknown, valid: string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field: f,
    badValue: v,
    detail: valid.length ? `supported values: ${valid.map((x) => goQuote(x)).join(', ')}` : '',
  }),
  duplicate: (f: string, v: unknown): FieldError => ({ type: 'FieldValueDuplicate', field: f, badValue: v }),
  forbidden: (f: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field: f, detail }),
  notFound: (f: string, v: unknown): FieldError => ({ type: 'FieldValueNotFound', field: f, badValue: v }),
  tooLong: (f: string, v: unknown, max: number): FieldError => ({
    type: 'FieldValueTooLong',
    field: f,
    badValue: v,
    detail: `may not be more than ${max} bytes`,
  }),
  tooMany: (f: string, actual: number, max: number): FieldError => ({
    type: 'FieldValueTooMany',
    field: f,
    badValue: actual,
    detail: `must have at most ${max} items`,
  }),
  typeInvalid: (f: string, v: unknown, detail: string): FieldError => ({ type: 'FieldValueTypeInvalid', field: f, badValue: v, detail }),
  internal: (f: string, detail: string): FieldError => ({ type: 'InternalError', field: f, detail }),
};

/** Upstream's NewInvalid: 422 with one cause per field error and the aggregated message. */
export function invalid(gk: GroupKind, name: string, errs: FieldError[]): StatusError {
  const causes = errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field }));
  const msgs = dedupe(errs.map(fieldErrorString));
  const agg = msgs.length === 0 ? '' : msgs.length === 1 ? `: ${msgs[0]}` : `: [${msgs.join(', ')}]`;
  const d: StatusDetails = { name };
  if (gk.group) d.group = gk.group;
  d.kind = gk.kind;
  d.causes = causes;
  return new StatusError({
    reason: 'Invalid',
    code: 422,
    message: `${qualifiedKind(gk)} "${name}" is invalid${agg}`,
    details: d,
  });
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}

// Audit logging as upstream: a Policy (audit.k8s.io/v1) picks a level per request (None,
// Metadata, Request, RequestResponse) by user, group, verb, resource, namespace or non-resource
// URL; events in the audit.k8s.io/v1 Event shape are written as JSON lines to a file rotated by
// size (maxsize MB, maxbackup files, maxage days — lumberjack's naming).
//
// Never logged: tokens (TokenRequest status.token, TokenReview spec.token, bootstrap token
// secrets' data), at any level; request and response bodies of secrets below Request level.
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { rfc3339Micro } from '../api/meta.ts';
import type { UserInfo } from './registry.ts';
import type { RequestInfo } from './requestinfo.ts';

export type Level = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export type Stage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';
const LEVELS: Level[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
const STAGES: Stage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];

interface GroupResources {
  group?: string;
  resources?: string[];
  resourceNames?: string[];
}

interface PolicyRule {
  level: Level;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: Stage[];
  omitManagedFields?: boolean;
}

export interface Policy {
  apiVersion: string;
  kind: 'Policy';
  rules: PolicyRule[];
  omitStages?: Stage[];
  omitManagedFields?: boolean;
}

export class AuditPolicyError extends Error {}

/** Parses and validates a Policy file's content (YAML or JSON). */
export function parsePolicy(text: string, file = 'audit policy'): Policy {
  let doc: Policy;
  try {
    doc = parseYaml(text) as Policy;
  } catch (e) {
    throw new AuditPolicyError(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!doc || doc.kind !== 'Policy' || !/^audit\.k8s\.io\/v1/.test(doc.apiVersion ?? '')) {
    throw new AuditPolicyError(`${file}: not an audit.k8s.io/v1 Policy`);
  }
  if (!Array.isArray(doc.rules) || doc.rules.length === 0) throw new AuditPolicyError(`${file}: a policy needs at least one rule`);
  doc.rules.forEach((r, i) => {
    if (!LEVELS.includes(r.level)) throw new AuditPolicyError(`${file}: rules[${i}].level: Unsupported value: "${r.level}": supported values: ${LEVELS.map((l) => `"${l}"`).join(', ')}`);
    for (const s of r.omitStages ?? []) if (!STAGES.includes(s)) throw new AuditPolicyError(`${file}: rules[${i}].omitStages: Unsupported value: "${s}"`);
    if (r.nonResourceURLs && (r.resources || r.namespaces)) throw new AuditPolicyError(`${file}: rules[${i}]: rules cannot apply to both regular resources and non-resource URLs`);
  });
  return doc;
}

export function loadPolicy(file: string): Policy {
  return parsePolicy(readFileSync(file, 'utf8'), file);
}

export interface RuleDecision {
  level: Level;
  omitStages: Stage[];
  omitManagedFields: boolean;
}

function matchesURL(patterns: string[], path: string): boolean {
  return patterns.some((p) => p === '*' || p === path || (p.endsWith('*') && path.startsWith(p.slice(0, -1))));
}

/** upstream's policy evaluation: the first rule that matches decides. */
export function evaluatePolicy(policy: Policy, user: UserInfo | undefined, info: RequestInfo): RuleDecision {
  for (const r of policy.rules) {
    if (r.users && !(user && r.users.includes(user.name))) continue;
    if (r.userGroups && !(user && user.groups.some((g) => r.userGroups!.includes(g)))) continue;
    if (r.verbs && !r.verbs.includes(info.verb)) continue;
    if (r.nonResourceURLs) {
      if (info.isResourceRequest || !matchesURL(r.nonResourceURLs, info.path)) continue;
    } else if (r.resources || r.namespaces) {
      if (!info.isResourceRequest) continue;
      if (r.namespaces && !r.namespaces.includes(info.namespace)) continue;
      if (r.resources) {
        const res = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
        const ok = r.resources.some(
          (gr) =>
            (gr.group ?? '') === info.group &&
            (!gr.resources || gr.resources.length === 0 || gr.resources.some((x) => x === '*' || x === res || x === info.resource || (x.startsWith('*/') && x.slice(2) === info.subresource))) &&
            (!gr.resourceNames || gr.resourceNames.length === 0 || gr.resourceNames.includes(info.name)),
        );
        if (!ok) continue;
      }
    }
    return {
      level: r.level,
      omitStages: [...new Set([...(policy.omitStages ?? []), ...(r.omitStages ?? [])])],
      omitManagedFields: r.omitManagedFields ?? policy.omitManagedFields ?? false,
    };
  }
  return { level: 'None', omitStages: [], omitManagedFields: false };
}

// ------------------------------------------------------------------------------------------
// Redaction: what must never reach the log.

/** Removes tokens and secret data from a body about to be logged. Returns a copy when it changes anything. */
export function redact(info: RequestInfo, body: unknown): unknown {
  if (!body || typeof body !== 'object') return body;
  const o = body as Record<string, unknown>;
  const clone = () => structuredClone(o) as Record<string, any>;
  // TokenRequest answers and TokenReview requests carry bearer tokens.
  if (o.kind === 'TokenRequest' && (o.status as Record<string, unknown> | undefined)?.token) {
    const c = clone();
    c.status.token = '<redacted>';
    return c;
  }
  if (o.kind === 'TokenReview' && (o.spec as Record<string, unknown> | undefined)?.token) {
    const c = clone();
    c.spec.token = '<redacted>';
    return c;
  }
  // Secrets (single or listed) never show their data.
  const stripSecret = (s: Record<string, any>) => {
    if (s.data) s.data = Object.fromEntries(Object.keys(s.data).map((k) => [k, '<redacted>']));
    if (s.stringData) s.stringData = Object.fromEntries(Object.keys(s.stringData).map((k) => [k, '<redacted>']));
    const ann = s.metadata?.annotations;
    if (ann?.['kubectl.kubernetes.io/last-applied-configuration']) ann['kubectl.kubernetes.io/last-applied-configuration'] = '<redacted>';
  };
  if (o.kind === 'Secret' || (info.resource === 'secrets' && !o.kind)) {
    const c = clone();
    stripSecret(c);
    return c;
  }
  if (o.kind === 'SecretList' && Array.isArray(o.items)) {
    const c = clone();
    for (const i of c.items) stripSecret(i);
    return c;
  }
  return body;
}

// ------------------------------------------------------------------------------------------
// The event and the writer.

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: Level;
  auditID: string;
  stage: Stage;
  requestURI: string;
  verb: string;
  user: { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> };
  impersonatedUser?: { username: string; groups: string[] };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string; subresource?: string };
  responseStatus?: { metadata: Record<string, never>; code: number; status?: string; reason?: string; message?: string };
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

export interface RotatingFileOptions {
  path: string;
  /** Megabytes before rotating; 0 never rotates (upstream's --audit-log-maxsize). */
  maxSizeMB: number;
  /** Rotated files kept; 0 keeps all (--audit-log-maxbackup). */
  maxBackups: number;
  /** Days a rotated file is kept; 0 keeps them (--audit-log-maxage). */
  maxAgeDays: number;
}

/** A JSON-lines file rotated by size, with lumberjack's backup names (name-<timestamp>.ext). */
export class RotatingFile {
  private fd = -1;
  private size = 0;
  private readonly o: RotatingFileOptions;

  constructor(o: RotatingFileOptions) {
    this.o = o;
    mkdirSync(dirname(o.path), { recursive: true, mode: 0o700 });
    this.open();
  }

  private open(): void {
    this.fd = openSync(this.o.path, 'a', 0o600);
    try {
      this.size = statSync(this.o.path).size;
    } catch {
      this.size = 0;
    }
  }

  write(line: string): void {
    const b = Buffer.from(line);
    if (this.o.maxSizeMB > 0 && this.size + b.length > this.o.maxSizeMB * 1024 * 1024 && this.size > 0) this.rotate();
    writeSync(this.fd, b);
    this.size += b.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    const ext = extname(this.o.path);
    const base = basename(this.o.path, ext);
    const stamp = new Date().toISOString().replace(/:/g, '-').replace('Z', '');
    renameSync(this.o.path, join(dirname(this.o.path), `${base}-${stamp}${ext}`));
    this.open();
    this.prune(base, ext);
  }

  private prune(base: string, ext: string): void {
    const dir = dirname(this.o.path);
    const backups = readdirSync(dir)
      .filter((f) => f.startsWith(`${base}-`) && f.endsWith(ext))
      .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    const now = Date.now();
    backups.forEach((b, i) => {
      const tooMany = this.o.maxBackups > 0 && i >= this.o.maxBackups;
      const tooOld = this.o.maxAgeDays > 0 && now - b.t > this.o.maxAgeDays * 86_400_000;
      if (tooMany || tooOld) unlinkSync(join(dir, b.f));
    });
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export interface AuditRequest {
  info: RequestInfo;
  method: string;
  url: string;
  user?: UserInfo;
  /** The authenticated user before impersonation, when impersonating. */
  authenticatedUser?: UserInfo;
  sourceIP: string;
  userAgent?: string;
  received: Date;
}

/** One request's audit record, created when the request arrives and finished with its response. */
export interface AuditContext {
  decision: RuleDecision;
  id: string;
  annotations: Record<string, string>;
  requestObject?: unknown;
  responseObject?: unknown;
  /** The failure Status, when the request failed. */
  status?: { status?: string; reason?: string; message?: string };
  finish(code: number): void;
}

export class Auditor {
  private readonly policy: Policy;
  private readonly sink: { write(line: string): void };

  constructor(policy: Policy, sink: { write(line: string): void }) {
    this.policy = policy;
    this.sink = sink;
  }

  /** Starts a request's audit; undefined when the policy says None. */
  begin(r: AuditRequest): AuditContext | undefined {
    const decision = evaluatePolicy(this.policy, r.authenticatedUser ?? r.user, r.info);
    if (decision.level === 'None') return undefined;
    const id = randomUUID();
    const annotations: Record<string, string> = {};
    const base = (stage: Stage): AuditEvent => {
      const u = r.authenticatedUser ?? r.user;
      const ev: AuditEvent = {
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: decision.level,
        auditID: id,
        stage,
        requestURI: r.url,
        verb: r.info.verb,
        user: u ? { username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups, ...(u.extra ? { extra: u.extra } : {}) } : { username: 'system:anonymous', groups: ['system:unauthenticated'] },
        sourceIPs: [r.sourceIP],
        requestReceivedTimestamp: rfc3339Micro(r.received),
        stageTimestamp: rfc3339Micro(new Date()),
      };
      if (r.authenticatedUser && r.user && r.user !== r.authenticatedUser) ev.impersonatedUser = { username: r.user.name, groups: r.user.groups };
      if (r.userAgent) ev.userAgent = r.userAgent;
      if (r.info.isResourceRequest) {
        ev.objectRef = {
          resource: r.info.resource,
          ...(r.info.namespace ? { namespace: r.info.namespace } : {}),
          ...(r.info.name ? { name: r.info.name } : {}),
          apiGroup: r.info.group || undefined,
          apiVersion: r.info.version,
          ...(r.info.subresource ? { subresource: r.info.subresource } : {}),
        };
        if (!ev.objectRef.apiGroup) delete ev.objectRef.apiGroup;
      }
      return ev;
    };
    const emit = (ev: AuditEvent) => this.sink.write(JSON.stringify(ev) + '\n');
    if (!decision.omitStages.includes('RequestReceived')) emit(base('RequestReceived'));
    const ctx: AuditContext = {
      decision,
      id,
      annotations,
      finish: (code) => {
        if (decision.omitStages.includes('ResponseComplete')) return;
        const st = ctx.status;
        const ev = base('ResponseComplete');
        ev.responseStatus = { metadata: {}, code, ...(st?.status ? { status: st.status } : {}), ...(st?.reason ? { reason: st.reason } : {}), ...(st?.message ? { message: st.message } : {}) };
        if ((decision.level === 'Request' || decision.level === 'RequestResponse') && ctx.requestObject !== undefined) {
          ev.requestObject = omitManaged(redact(r.info, parsed(ctx.requestObject)), decision.omitManagedFields);
        }
        if (decision.level === 'RequestResponse' && ctx.responseObject !== undefined) {
          ev.responseObject = omitManaged(redact(r.info, parsed(ctx.responseObject)), decision.omitManagedFields);
        }
        if (Object.keys(annotations).length) ev.annotations = annotations;
        emit(ev);
      },
    };
    return ctx;
  }
}

/** Bodies may arrive as JSON bytes; they are parsed only when an event needs them. */
function parsed(v: unknown): unknown {
  if (Buffer.isBuffer(v)) {
    try {
      return JSON.parse(v.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  return v;
}

function omitManaged(v: unknown, omit: boolean): unknown {
  if (!omit || !v || typeof v !== 'object') return v;
  const o = v as { metadata?: { managedFields?: unknown } };
  if (!o.metadata?.managedFields) return v;
  const c = structuredClone(o);
  delete c.metadata!.managedFields;
  return c;
}

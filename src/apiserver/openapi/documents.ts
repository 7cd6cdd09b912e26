// Renders the served routes (routes.ts) and rudder's schema table into upstream-shaped OpenAPI
// documents: one Swagger 2.0 document (/openapi/v2) and one OpenAPI 3.0 document per group
// version (/openapi/v3/<key>). Pure functions; the caller caches the serialized bytes.
//
// Schemas are the table's facts only (names, types, list/map/patch metadata, group/version/kind);
// no description prose is copied from upstream.
import { RESOURCES } from '../../api/resources.ts';
import { definition, refName, type SchemaNode } from '../../api/schema/index.ts';
import { METHODS, routeDocs, type BodyType, type DocSpec, type OperationSpec, type ParamSpec, type PathSpec } from './routes.ts';

type Json = Record<string, unknown>;

export interface DocumentOptions {
  /** info.version: the server's gitVersion, as upstream reports it. */
  version?: string;
}

const DEFAULT_VERSION = 'v1.33.0';
const GVK = 'x-kubernetes-group-version-kind';

// rudder's own one-line descriptions of the kinds users explain most; every other schema
// carries none (upstream's prose is not copied).
const OWN_DESCRIPTIONS: Record<string, string> = {
  'io.k8s.api.core.v1.Pod': 'A group of containers that run together on one node, sharing network and volumes.',
  'io.k8s.api.core.v1.Service': 'A stable virtual address and DNS name in front of the pods its selector picks.',
  'io.k8s.api.core.v1.ConfigMap': 'Non-secret configuration data, as key/value pairs, for pods to consume.',
  'io.k8s.api.core.v1.Secret': 'Sensitive data (passwords, tokens, keys) for pods to consume.',
  'io.k8s.api.core.v1.Namespace': 'A scope for names, which separates groups of objects in one cluster.',
  'io.k8s.api.core.v1.Node': 'A machine that runs pods, as its agent reports it.',
  'io.k8s.api.core.v1.ServiceAccount': 'An identity for processes that run in pods.',
  'io.k8s.api.core.v1.PersistentVolume': 'A piece of storage in the cluster, provisioned by an administrator or dynamically.',
  'io.k8s.api.core.v1.PersistentVolumeClaim': 'A request for storage, bound to a persistent volume that satisfies it.',
  'io.k8s.api.apps.v1.Deployment': 'Declarative updates for a set of identical pods, rolled out through replica sets.',
  'io.k8s.api.apps.v1.ReplicaSet': 'Keeps a given number of pods matching its selector running.',
  'io.k8s.api.apps.v1.StatefulSet': 'Runs pods with stable names and storage, created and updated in order.',
  'io.k8s.api.apps.v1.DaemonSet': 'Runs one copy of a pod on each selected node.',
  'io.k8s.api.batch.v1.Job': 'Runs pods until a given number of them complete successfully.',
  'io.k8s.api.batch.v1.CronJob': 'Creates jobs on a repeating schedule.',
  'io.k8s.api.networking.v1.Ingress': 'Rules that route external HTTP traffic to services.',
};

/** Definitions reachable from a set of operations, sorted by name. */
function closure(paths: readonly PathSpec[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const d = definition(name);
    if (!d) throw new Error(`openapi: the schema table lacks ${name}`);
    seen.add(name);
    walkRefs(d, visit);
  };
  for (const p of paths) {
    for (const o of p.ops) {
      if (o.body) visit(o.body.ref);
      for (const r of o.responses) if (r.body && 'ref' in r.body) visit(r.body.ref);
    }
  }
  return [...seen].sort();
}

function walkRefs(s: unknown, f: (name: string) => void): void {
  if (!s || typeof s !== 'object') return;
  if (Array.isArray(s)) {
    for (const x of s) walkRefs(x, f);
    return;
  }
  const o = s as Json;
  if (typeof o.$ref === 'string') f(refName(o.$ref));
  for (const [k, v] of Object.entries(o)) if (k !== GVK) walkRefs(v, f);
}

let servedGVs: Set<string> | undefined;
function isServedGV(group: string, version: string): boolean {
  if (!servedGVs) {
    servedGVs = new Set();
    for (const r of RESOURCES) for (const v of r.versions) servedGVs.add(`${r.group}/${v}`);
  }
  return servedGVs.has(`${group}/${version}`);
}

/**
 * A definition as published: group/version/kinds restricted to what rudder serves (the table
 * keeps upstream's full lists for the shared meta kinds), references rewritten for the target
 * document, and for v3 the int-or-string and quantity types as upstream's oneOf.
 */
function publish(name: string, d: SchemaNode, v3: boolean): Json {
  const out = rewrite(d, v3) as Json;
  if (OWN_DESCRIPTIONS[name]) out.description = OWN_DESCRIPTIONS[name];
  const gvks = d[GVK];
  if (gvks) {
    const kept = gvks.filter((g) => isServedGV(g.group, g.version)).map((g) => ({ group: g.group, kind: g.kind, version: g.version }));
    if (kept.length) out[GVK] = kept;
    else delete out[GVK];
  }
  if (v3 && name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString') {
    delete out.type;
    out.oneOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (v3 && name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
    delete out.type;
    out.oneOf = [{ type: 'string' }, { type: 'number' }];
  }
  return out;
}

function rewrite(s: unknown, v3: boolean): unknown {
  if (Array.isArray(s)) return s.map((x) => rewrite(x, v3));
  if (!s || typeof s !== 'object') return s;
  const o: Json = {};
  for (const [k, v] of Object.entries(s as Json)) {
    if (k === '$ref' && typeof v === 'string') o[k] = v3 ? `#/components/schemas/${refName(v)}` : v;
    else o[k] = rewrite(v, v3);
  }
  return o;
}

function bodySchema(b: BodyType, v3: boolean): Json {
  if ('type' in b) return { type: b.type };
  return { $ref: v3 ? `#/components/schemas/${b.ref}` : `#/definitions/${b.ref}` };
}

function gvkExt(o: OperationSpec): Json {
  const x: Json = {};
  if (o.action) x['x-kubernetes-action'] = o.action;
  if (o.gvk) x[GVK] = { group: o.gvk.group, kind: o.gvk.kind, version: o.gvk.version };
  return x;
}

// ---------------------------------------------------------------------------------------------
// Swagger 2.0

function v2Param(p: ParamSpec): Json {
  const o: Json = { in: p.in, name: p.name, type: p.type, uniqueItems: true };
  if (p.in === 'path') o.required = true;
  return o;
}

function v2Operation(o: OperationSpec): Json {
  const params: Json[] = [];
  if (o.body) {
    const b: Json = { in: 'body', name: 'body', schema: bodySchema({ ref: o.body.ref }, false) };
    if (o.body.required) b.required = true;
    params.push(b);
  }
  params.push(...o.params.map(v2Param));
  const responses: Json = {};
  for (const r of o.responses) responses[String(r.code)] = r.body ? { description: r.description, schema: bodySchema(r.body, false) } : { description: r.description };
  responses['401'] = { description: 'Unauthorized' };
  const out: Json = { consumes: o.consumes, operationId: o.operationId };
  if (params.length) out.parameters = params;
  out.produces = o.produces;
  out.responses = responses;
  out.schemes = ['https'];
  out.tags = o.tags;
  return { ...out, ...gvkExt(o) };
}

function v2PathItem(p: PathSpec): Json {
  const item: Json = {};
  for (const m of METHODS) {
    const o = p.ops.find((x) => x.method === m);
    if (o) item[m] = v2Operation(o);
  }
  if (p.params.length) item.parameters = p.params.map(v2Param);
  return item;
}

/** The Swagger 2.0 document of everything served (/openapi/v2). */
export function buildV2(opts: DocumentOptions = {}): Json {
  const docs = routeDocs();
  const allPaths = docs.flatMap((d) => d.paths);
  const paths: Json = {};
  for (const p of [...allPaths].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) paths[p.path] = v2PathItem(p);
  const definitions: Json = {};
  for (const n of closure(allPaths)) definitions[n] = publish(n, definition(n)!, false);
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: opts.version ?? DEFAULT_VERSION },
    paths,
    definitions,
    securityDefinitions: { BearerToken: { in: 'header', name: 'authorization', type: 'apiKey' } },
    security: [{ BearerToken: [] }],
  };
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0

function v3Param(p: ParamSpec): Json {
  const o: Json = { in: p.in, name: p.name };
  if (p.in === 'path') o.required = true;
  o.schema = { type: p.type, uniqueItems: true };
  return o;
}

function v3Operation(o: OperationSpec): Json {
  const out: Json = { operationId: o.operationId };
  if (o.params.length) out.parameters = o.params.map(v3Param);
  if (o.body) {
    const content: Json = {};
    for (const c of o.consumes) content[c] = { schema: bodySchema({ ref: o.body.ref }, true) };
    out.requestBody = o.body.required ? { content, required: true } : { content };
  }
  const responses: Json = {};
  for (const r of o.responses) {
    if (!r.body) {
      responses[String(r.code)] = { description: r.description };
      continue;
    }
    const content: Json = {};
    for (const p of o.produces) content[p] = { schema: bodySchema(r.body, true) };
    responses[String(r.code)] = { content, description: r.description };
  }
  responses['401'] = { description: 'Unauthorized' };
  out.responses = responses;
  out.tags = o.tags;
  return { ...out, ...gvkExt(o) };
}

function v3PathItem(p: PathSpec): Json {
  const item: Json = {};
  for (const m of METHODS) {
    const o = p.ops.find((x) => x.method === m);
    if (o) item[m] = v3Operation(o);
  }
  if (p.params.length) item.parameters = p.params.map(v3Param);
  return item;
}

/** Keys of the OpenAPI v3 documents ("api/v1", "apis/apps/v1", "apis/apps", "api", "apis", "version"). */
export function v3Keys(): string[] {
  return routeDocs().map((d) => d.key);
}

/** The OpenAPI 3.0 document for one key, or undefined when nothing is served there. */
export function buildV3(key: string, opts: DocumentOptions = {}): Json | undefined {
  const doc: DocSpec | undefined = routeDocs().find((d) => d.key === key);
  if (!doc) return undefined;
  const paths: Json = {};
  for (const p of doc.paths) paths[p.path] = v3PathItem(p);
  const schemas: Json = {};
  for (const n of closure(doc.paths)) schemas[n] = publish(n, definition(n)!, true);
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: opts.version ?? DEFAULT_VERSION },
    paths,
    components: {
      schemas,
      securitySchemes: { BearerToken: { in: 'header', name: 'authorization', type: 'apiKey' } },
    },
  };
}

// The HTTP surface rudder serves, as upstream's apiserver describes it in OpenAPI: every path of
// every served resource (collection, item, all-namespaces list, the deprecated /watch/ paths,
// subresources), its operations with upstream's operation IDs, actions, group/version/kinds,
// parameters, bodies and responses; plus the discovery and /version paths. A pure function of
// RESOURCES; the v2 and v3 document builders render it.
import { RESOURCES, groupVersion, type GroupVersionKind, type ResourceDecl } from '../../api/resources.ts';
import { definitionName } from '../../api/schema/index.ts';

export type Method = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch';
export const METHODS: readonly Method[] = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

export interface ParamSpec {
  name: string;
  in: 'query' | 'path';
  type: 'string' | 'boolean' | 'integer';
}

/** A response body: a definition name, or a bare string (logs, connect). */
export type BodyType = { ref: string } | { type: 'string' };

export interface OperationSpec {
  method: Method;
  operationId: string;
  tags: string[];
  /** x-kubernetes-action: get, list, post, put, patch, delete, deletecollection, watch, watchlist, connect. */
  action?: string;
  gvk?: GroupVersionKind;
  /** Sorted by name; path-level (common) parameters are not repeated here. */
  params: ParamSpec[];
  body?: { ref: string; required: boolean };
  responses: { code: number; description: string; body?: BodyType }[];
  consumes: string[];
  produces: string[];
}

export interface PathSpec {
  path: string;
  /** Parameters every operation of the path takes (upstream hoists them to the path). */
  params: ParamSpec[];
  ops: OperationSpec[];
}

/** One OpenAPI v3 document's worth of paths: key is "api/v1", "apis/apps/v1", "apis/apps", "api", "apis", "version". */
export interface DocSpec {
  key: string;
  paths: PathSpec[];
}

// Media types of 1.33 with its default feature gates (CBOR serving is off).
const MEDIA = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const MEDIA_STREAM = [...MEDIA, 'application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch'];
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
const ANY = ['*/*'];
const CONNECT_METHODS: Method[] = ['get', 'post'];
const PROXY_METHODS: Method[] = ['delete', 'get', 'head', 'options', 'patch', 'post', 'put'];

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const STATUS = META + 'Status';
const DELETE_OPTIONS = META + 'DeleteOptions';
const PATCH = META + 'Patch';
const WATCH_EVENT = META + 'WatchEvent';

const q = (name: string, type: ParamSpec['type'] = 'string'): ParamSpec => ({ name, in: 'query', type });
const pathParam = (name: string): ParamSpec => ({ name, in: 'path', type: 'string' });

const PRETTY = q('pretty');
const LIST_PARAMS = [
  q('allowWatchBookmarks', 'boolean'),
  q('continue'),
  q('fieldSelector'),
  q('labelSelector'),
  q('limit', 'integer'),
  q('resourceVersion'),
  q('resourceVersionMatch'),
  q('sendInitialEvents', 'boolean'),
  q('timeoutSeconds', 'integer'),
  q('watch', 'boolean'),
];
const DELETE_PARAMS = [
  q('dryRun'),
  q('gracePeriodSeconds', 'integer'),
  q('ignoreStoreReadErrorWithClusterBreakingPotential', 'boolean'),
  q('orphanDependents', 'boolean'),
  q('propagationPolicy'),
];
const WRITE_PARAMS = [q('dryRun'), q('fieldManager'), q('fieldValidation')];
const PATCH_PARAMS = [...WRITE_PARAMS, q('force', 'boolean')];

// Query parameters of the connect and log subresources: the fields of their option kinds.
const OPTION_PARAMS: Record<string, ParamSpec[]> = {
  exec: [q('command'), q('container'), q('stderr', 'boolean'), q('stdin', 'boolean'), q('stdout', 'boolean'), q('tty', 'boolean')],
  attach: [q('container'), q('stderr', 'boolean'), q('stdin', 'boolean'), q('stdout', 'boolean'), q('tty', 'boolean')],
  portforward: [q('ports', 'integer')],
  proxy: [q('path')],
  log: [
    q('container'),
    q('follow', 'boolean'),
    q('insecureSkipTLSVerifyBackend', 'boolean'),
    q('limitBytes', 'integer'),
    q('previous', 'boolean'),
    q('sinceSeconds', 'integer'),
    q('stream'),
    q('tailLines', 'integer'),
    q('timestamps', 'boolean'),
  ],
};

// Resources whose DELETE answers with the deleted object rather than a Status (upstream's
// ReturnDeletedObject stores).


/** upstream's ToValidOperationID: camel-cases across punctuation. */
export function toValidOperationID(s: string, capitalizeFirst: boolean): string {
  let out = '';
  let cap = capitalizeFirst;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (/\p{L}/u.test(c) || c === '_' || (i !== 0 && /\p{Nd}/u.test(c))) {
      out += cap ? c.toUpperCase() : c;
      cap = false;
    } else {
      cap = true;
    }
  }
  return out;
}

function groupPart(group: string): string {
  return toValidOperationID((group || 'core').replace(/\.k8s\.io$/, ''), true);
}

function tagOf(group: string, version?: string): string {
  const g = toValidOperationID((group || 'core').replace(/\.k8s\.io$/, ''), false);
  return version === undefined ? g : `${g}_${toValidOperationID(version, false)}`;
}

function title(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1).toLowerCase() : s;
}

/** The definition serving a kind, from the schema table; a served kind without one is a bug. */
export function defName(gvk: GroupVersionKind): string {
  const n = definitionName(gvk);
  if (n === undefined) throw new Error(`openapi: no schema for ${gvk.group}/${gvk.version} ${gvk.kind}`);
  return n;
}

interface Ctx {
  r: ResourceDecl;
  version: string;
  gvk: GroupVersionKind;
  tags: string[];
  /** Operation-id stem: verb + this + rest. */
  gvPart: string;
}

function op(
  c: Ctx,
  method: Method,
  verb: string,
  rest: string,
  action: string,
  o: Partial<Pick<OperationSpec, 'params' | 'body' | 'responses' | 'consumes' | 'produces' | 'gvk'>>,
): OperationSpec {
  return {
    method,
    operationId: verb + c.gvPart + rest,
    tags: c.tags,
    action,
    gvk: o.gvk ?? c.gvk,
    params: [...(o.params ?? [])],
    body: o.body,
    responses: o.responses ?? [],
    consumes: o.consumes ?? ANY,
    produces: o.produces ?? MEDIA,
  };
}

const ok = (ref: string) => ({ code: 200, description: 'OK', body: { ref } });
const created = (ref: string) => ({ code: 201, description: 'Created', body: { ref } });
const accepted = (ref: string) => ({ code: 202, description: 'Accepted', body: { ref } });
const okString = { code: 200, description: 'OK', body: { type: 'string' as const } };

function readOp(c: Ctx, rest: string, ref: string, gvk?: GroupVersionKind): OperationSpec {
  return op(c, 'get', 'read', rest, 'get', { params: [PRETTY], responses: [ok(ref)], gvk });
}
function replaceOp(c: Ctx, rest: string, ref: string, gvk?: GroupVersionKind): OperationSpec {
  return op(c, 'put', 'replace', rest, 'put', {
    params: [PRETTY, ...WRITE_PARAMS],
    body: { ref, required: true },
    responses: [ok(ref), created(ref)],
    gvk,
  });
}
function patchOp(c: Ctx, rest: string, ref: string, gvk?: GroupVersionKind): OperationSpec {
  return op(c, 'patch', 'patch', rest, 'patch', {
    params: [PRETTY, ...PATCH_PARAMS],
    body: { ref: PATCH, required: true },
    responses: [ok(ref), created(ref)],
    consumes: PATCH_TYPES,
    gvk,
  });
}
function createOp(c: Ctx, rest: string, ref: string, gvk?: GroupVersionKind): OperationSpec {
  return op(c, 'post', 'create', rest, 'post', {
    params: [PRETTY, ...WRITE_PARAMS],
    body: { ref, required: true },
    responses: [ok(ref), created(ref), accepted(ref)],
    gvk,
  });
}

/** Hoists the parameters every operation shares to the path, as upstream's builder does. */
function makePath(path: string, pathParams: ParamSpec[], ops: OperationSpec[]): PathSpec {
  const key = (p: ParamSpec) => `${p.in}:${p.name}`;
  let common = ops.length ? ops[0].params.map(key) : [];
  for (const o of ops.slice(1)) {
    const ks = new Set(o.params.map(key));
    common = common.filter((k) => ks.has(k));
  }
  const commonSet = new Set(common);
  const commonParams = ops.length ? ops[0].params.filter((p) => commonSet.has(key(p))) : [];
  for (const o of ops) {
    o.params = o.params.filter((p) => !commonSet.has(key(p))).sort(byName);
  }
  return { path, params: [...pathParams, ...commonParams].sort(byName), ops };
}

function byName(a: ParamSpec, b: ParamSpec): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.in < b.in ? -1 : a.in > b.in ? 1 : 0;
}

function resourcePaths(r: ResourceDecl, version: string): PathSpec[] {
  const gv = groupVersion(r.group, version);
  const prefix = r.group ? `/apis/${gv}` : `/api/${version}`;
  const gvk = { group: r.group, version, kind: r.kind };
  const c: Ctx = { r, version, gvk, tags: [tagOf(r.group, version)], gvPart: groupPart(r.group) + toValidOperationID(version, true) };
  const self = defName(gvk);
  const verbs = new Set(r.verbs ?? ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
  const ns = r.namespaced ? 'Namespaced' : '';
  const K = r.kind;
  const nsSeg = r.namespaced ? '/namespaces/{namespace}' : '';
  const nsParams = r.namespaced ? [pathParam('namespace')] : [];
  const nameParams = [pathParam('name'), ...nsParams];
  const collection = `${prefix}${nsSeg}/${r.plural}`;
  const item = `${collection}/{name}`;
  const out: PathSpec[] = [];
  const list = verbs.has('list') || verbs.has('watch') ? defName({ ...gvk, kind: r.kind + 'List' }) : '';

  // collection
  const cops: OperationSpec[] = [];
  if (verbs.has('list')) {
    cops.push(op(c, 'get', 'list', `${ns}${K}`, 'list', { params: [PRETTY, ...LIST_PARAMS], responses: [ok(list)], produces: MEDIA_STREAM }));
  }
  if (verbs.has('create')) cops.push(createOp(c, `${ns}${K}`, self));
  if (verbs.has('deletecollection')) {
    cops.push(
      op(c, 'delete', 'delete', `Collection${ns}${K}`, 'deletecollection', {
        params: [PRETTY, ...DELETE_PARAMS, ...LIST_PARAMS.filter((p) => p.name !== 'watch' && p.name !== 'allowWatchBookmarks')],
        body: { ref: DELETE_OPTIONS, required: false },
        responses: [ok(STATUS)],
      }),
    );
  }
  if (cops.length) out.push(makePath(collection, nsParams, cops));

  // item
  const iops: OperationSpec[] = [];
  if (verbs.has('get')) iops.push(readOp(c, `${ns}${K}`, self));
  if (verbs.has('update')) iops.push(replaceOp(c, `${ns}${K}`, self));
  if (verbs.has('patch')) iops.push(patchOp(c, `${ns}${K}`, self));
  if (verbs.has('delete')) {
    const ret = r.returnsDeletedObject ? self : STATUS;
    iops.push(
      op(c, 'delete', 'delete', `${ns}${K}`, 'delete', {
        params: [PRETTY, ...DELETE_PARAMS],
        body: { ref: DELETE_OPTIONS, required: false },
        responses: [ok(ret), accepted(ret)],
      }),
    );
  }
  if (iops.length) out.push(makePath(item, nameParams, iops));

  // lists across namespaces and the deprecated watch paths
  if (r.namespaced && verbs.has('list')) {
    out.push(
      makePath(`${prefix}/${r.plural}`, [], [
        op(c, 'get', 'list', `${K}ForAllNamespaces`, 'list', { params: [PRETTY, ...LIST_PARAMS], responses: [ok(list)], produces: MEDIA_STREAM }),
      ]),
    );
  }
  if (verbs.has('watch')) {
    const watchOp = (rest: string, action: string) =>
      op(c, 'get', 'watch', rest, action, { params: [PRETTY, ...LIST_PARAMS], responses: [ok(WATCH_EVENT)], produces: MEDIA_STREAM });
    out.push(makePath(`${prefix}/watch${nsSeg}/${r.plural}`, nsParams, [watchOp(`${ns}${K}List`, 'watchlist')]));
    out.push(makePath(`${prefix}/watch${nsSeg}/${r.plural}/{name}`, nameParams, [watchOp(`${ns}${K}`, 'watch')]));
    if (r.namespaced) out.push(makePath(`${prefix}/watch/${r.plural}`, [], [watchOp(`${K}ListForAllNamespaces`, 'watchlist')]));
  }

  // subresources
  const subs: string[] = [];
  if (r.status) subs.push('status');
  if (r.scale) subs.push('scale');
  subs.push(...(r.extraSubresources ?? []));
  for (const sub of subs) {
    const p = `${item}/${sub}`;
    const rest = `${ns}${K}${title(sub)}`;
    switch (sub) {
      case 'status':
      case 'ephemeralcontainers':
      case 'resize':
      case 'approval':
        out.push(makePath(p, nameParams, [readOp(c, rest, self), replaceOp(c, rest, self), patchOp(c, rest, self)]));
        break;
      case 'scale': {
        const sgvk = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
        const s = defName(sgvk);
        out.push(makePath(p, nameParams, [readOp(c, rest, s, sgvk), replaceOp(c, rest, s, sgvk), patchOp(c, rest, s, sgvk)]));
        break;
      }
      case 'finalize':
        out.push(makePath(p, nameParams, [replaceOp(c, rest, self)]));
        break;
      case 'binding':
      case 'eviction':
      case 'token': {
        const sgvk =
          sub === 'binding'
            ? { group: '', version: 'v1', kind: 'Binding' }
            : sub === 'eviction'
              ? { group: 'policy', version: 'v1', kind: 'Eviction' }
              : { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
        out.push(makePath(p, nameParams, [createOp(c, rest, defName(sgvk), sgvk)]));
        break;
      }
      case 'log':
        out.push(
          makePath(p, nameParams, [
            op(c, 'get', 'read', rest, 'get', {
              params: [PRETTY, ...OPTION_PARAMS.log],
              responses: [okString],
              produces: ['text/plain', ...MEDIA],
            }),
          ]),
        );
        break;
      case 'exec':
      case 'attach':
      case 'portforward':
      case 'proxy': {
        const optionKind = sub === 'proxy' ? `${K}ProxyOptions` : sub === 'portforward' ? 'PodPortForwardOptions' : `Pod${title(sub)}Options`;
        const ogvk = { group: '', version: 'v1', kind: optionKind };
        const methods = sub === 'proxy' ? PROXY_METHODS : CONNECT_METHODS;
        const connect = (suffix: string) =>
          methods.map((m) =>
            op(c, m, 'connect', `${title(m)}${rest}${suffix}`, 'connect', {
              params: OPTION_PARAMS[sub],
              responses: [okString],
              consumes: ANY,
              produces: ANY,
              gvk: ogvk,
            }),
          );
        out.push(makePath(p, nameParams, connect('')));
        if (sub === 'proxy') out.push(makePath(`${p}/{path}`, [...nameParams, pathParam('path')], connect('WithPath')));
        break;
      }
      default:
        throw new Error(`openapi: no description of subresource ${r.plural}/${sub}`);
    }
  }
  return out;
}

function discoveryOp(path: string, operationId: string, tag: string, ref: string, media: string[]): PathSpec {
  return {
    path,
    params: [],
    ops: [
      {
        method: 'get',
        operationId,
        tags: [tag],
        params: [],
        responses: [{ code: 200, description: 'OK', body: { ref } }],
        consumes: media,
        produces: media,
      },
    ],
  };
}

let cached: DocSpec[] | undefined;

/**
 * Every served path, grouped by OpenAPI v3 document: "api", "api/v1", "apis", "apis/<group>",
 * "apis/<group>/<version>", "version". Ordered by key; paths within a document by path.
 */
export function routeDocs(): readonly DocSpec[] {
  if (cached) return cached;
  const docs = new Map<string, PathSpec[]>();
  const add = (key: string, ps: PathSpec[]) => docs.set(key, [...(docs.get(key) ?? []), ...ps]);
  const groups = new Set<string>();
  for (const r of RESOURCES) {
    for (const v of r.versions) {
      const key = r.group ? `apis/${r.group}/${v}` : `api/${v}`;
      if (!docs.has(key)) {
        const tag = tagOf(r.group, v);
        add(key, [discoveryOp(`/${key}/`, `get${groupPart(r.group)}${toValidOperationID(v, true)}APIResources`, tag, META + 'APIResourceList', MEDIA)]);
      }
      add(key, resourcePaths(r, v));
    }
    if (r.group) groups.add(r.group);
  }
  add('api', [discoveryOp('/api/', 'getCoreAPIVersions', 'core', META + 'APIVersions', MEDIA)]);
  add('apis', [discoveryOp('/apis/', 'getAPIVersions', 'apis', META + 'APIGroupList', MEDIA)]);
  for (const g of groups) add(`apis/${g}`, [discoveryOp(`/apis/${g}/`, `get${groupPart(g)}APIGroup`, tagOf(g), META + 'APIGroup', MEDIA)]);
  add('version', [discoveryOp('/version/', 'getCodeVersion', 'version', 'io.k8s.apimachinery.pkg.version.Info', ['application/json'])]);
  cached = [...docs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, paths]) => ({ key, paths: paths.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) }));
  return cached;
}

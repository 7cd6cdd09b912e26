// The served OpenAPI documents against upstream's own description of the API (the 1.36 OpenAPI v2
// document in shared/data, used as a test oracle: src/api/oracle.ts) and against what kubectl reads from them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse as parseYAML } from 'yaml';
import { RESOURCES, groupVersion } from '../../api/resources.ts';
import { definitionName } from '../../api/schema/index.ts';
import { readOpenApiOracle } from '../../api/oracle.ts';
import { buildV2, buildV3, v3Keys } from './documents.ts';
import { openapiV2, openapiV3Doc, openapiV3Root } from './index.ts';

type J = Record<string, any>;

const oracle: J = readOpenApiOracle();
// Query parameters upstream added after 1.33.
const AFTER_133_PARAMS = new Set(['shardSelector']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

function oracleParam(p: J): J {
  return p.$ref ? oracle.parameters[p.$ref.split('/').pop()] : p;
}

/** An operation reduced to what both documents state, for comparison. */
function digest(pathItem: J, method: string, resolve: (p: J) => J): J {
  const op = pathItem[method];
  const params = [...(pathItem.parameters ?? []), ...(op.parameters ?? [])].map(resolve);
  const body = params.find((p) => p.in === 'body');
  return {
    operationId: op.operationId,
    action: op['x-kubernetes-action'],
    gvk: op['x-kubernetes-group-version-kind'],
    params: params
      .filter((p) => p.in !== 'body' && !AFTER_133_PARAMS.has(p.name))
      .map((p) => `${p.in}:${p.name}:${p.type}${p.required ? '!' : ''}`)
      .sort(),
    body: body ? `${body.schema.$ref}${body.required ? '!' : ''}` : undefined,
    responses: Object.fromEntries(Object.entries(op.responses).map(([c, r]: [string, any]) => [c, r.schema ? (r.schema.$ref ?? r.schema.type) : r.description])),
    consumes: op.consumes.filter((c: string) => !c.includes('cbor')),
    produces: op.produces.filter((c: string) => !c.includes('cbor')),
    tags: op.tags,
  };
}

const v2 = buildV2() as J;
const v3 = (key: string) => buildV3(key) as J | undefined;

describe('OpenAPI v2 document', () => {
  it('describes every operation as upstream does (operation IDs, actions, kinds, parameters, bodies, responses)', () => {
    let compared = 0;
    const extra: string[] = [];
    for (const [path, item] of Object.entries<J>(v2.paths)) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        const up = oracle.paths[path]?.[m];
        if (!up) {
          extra.push(`${m.toUpperCase()} ${path} (${item[m]['x-kubernetes-action']})`);
          continue;
        }
        assert.deepEqual(digest(item, m, (p) => p), digest(oracle.paths[path], m, oracleParam), `${m} ${path}`);
        compared++;
      }
    }
    assert.ok(compared > 600, `compared ${compared} operations`);
    // Operations upstream lacks can only come from verbs RESOURCES declares beyond upstream's
    // (Namespace declares the full set, upstream serves no deletecollection of namespaces).
    for (const e of extra) assert.match(e, /^DELETE .* \(deletecollection\)$/, e);
  });

  it('serves every path upstream has for the served resources and subresources', () => {
    const served = new Set<string>();
    for (const r of RESOURCES) for (const v of r.versions) served.add(`${r.group ? `/apis/${groupVersion(r.group, v)}` : `/api/${v}`}|${r.plural}`);
    const missing: string[] = [];
    for (const path of Object.keys(oracle.paths)) {
      const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)(?:\/watch)?(?:\/namespaces\/\{namespace\})?\/([^/{]+)(\/.*)?$/.exec(path);
      if (!m || !served.has(`${m[1]}|${m[2]}`)) continue;
      if (!v2.paths[path]) missing.push(path);
    }
    assert.deepEqual(missing, []);
  });

  it('lets kubectl find server-side field validation for every patchable kind', () => {
    // kubectl (cli-runtime's query param verifier) looks for a PATCH operation carrying the
    // kind's x-kubernetes-group-version-kind and takes the answer from the first one it meets:
    // so every such operation must take the fieldValidation query parameter.
    const patchable = RESOURCES.filter((r) => !r.verbs || r.verbs.includes('patch'));
    assert.ok(patchable.length > 40);
    for (const r of patchable) {
      for (const version of r.versions) {
        const gvk = { group: r.group, kind: r.kind, version };
        const ops = Object.values<J>(v2.paths)
          .map((item) => item.patch)
          .filter((op) => op && JSON.stringify(op['x-kubernetes-group-version-kind']) === JSON.stringify(gvk));
        assert.ok(ops.length > 0, `${JSON.stringify(gvk)} has a patch operation`);
        for (const op of ops) assert.ok(op.parameters.some((p: J) => p.in === 'query' && p.name === 'fieldValidation'), op.operationId);
      }
    }
  });

  it('defines every referenced schema, each kind with its group/version/kind and none with prose', () => {
    const refs = new Set<string>();
    JSON.stringify(v2, (k, v) => {
      if (k === '$ref') refs.add(v);
      return v;
    });
    for (const ref of refs) assert.ok(v2.definitions[ref.replace('#/definitions/', '')], ref);
    for (const r of RESOURCES) {
      for (const version of r.versions) {
        const d = v2.definitions[definitionName({ group: r.group, version, kind: r.kind })!];
        assert.deepEqual(
          d['x-kubernetes-group-version-kind'].filter((g: J) => g.kind === r.kind),
          [{ group: r.group, kind: r.kind, version }],
        );
      }
    }
    // descriptions: only rudder's own, on a few top-level kinds
    for (const [name, d] of Object.entries<J>(v2.definitions)) {
      JSON.stringify(d, (k, v) => {
        if (k === 'description' && typeof v === 'string') assert.ok(v === d.description && name.startsWith('io.k8s.api.'), `prose in ${name}`);
        return v;
      });
    }
    assert.match(v2.definitions['io.k8s.api.core.v1.Pod'].description, /containers/);
  });

  it('lists only served group/versions in the shared kinds\' group/version/kinds', () => {
    const gvks: J[] = v2.definitions['io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']['x-kubernetes-group-version-kind'];
    const served = new Set(RESOURCES.flatMap((r) => r.versions.map((v) => `${r.group}/${v}`)));
    assert.ok(gvks.some((g) => g.group === 'apps' && g.version === 'v1'));
    for (const g of gvks) assert.ok(served.has(`${g.group}/${g.version}`), `${g.group}/${g.version}`);
  });

  it('has the schema shapes kubectl 1.27\'s model parser accepts', () => {
    // kube-openapi's proto model parser rejects a $ref with a type or properties, an array
    // without exactly one item schema, and multiple types.
    const walk = (s: J, at: string): void => {
      if (!s || typeof s !== 'object') return;
      if (s.$ref) assert.ok(s.type === undefined && s.properties === undefined, at);
      if (s.type === 'array') assert.ok(s.items && !Array.isArray(s.items), at);
      assert.ok(!Array.isArray(s.type), at);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v as J, `${at}.${k}`);
      if (s.items) walk(s.items, `${at}[]`);
      if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${at}{}`);
    };
    for (const [n, d] of Object.entries<J>(v2.definitions)) walk(d, n);
  });
});

describe('OpenAPI v3 documents', () => {
  it('has one document per served group version, per group, and for /api, /apis and /version', () => {
    const keys = v3Keys();
    for (const r of RESOURCES) {
      for (const v of r.versions) assert.ok(keys.includes(r.group ? `apis/${r.group}/${v}` : `api/${v}`));
      if (r.group) assert.ok(keys.includes(`apis/${r.group}`));
    }
    for (const k of ['api', 'apis', 'version']) assert.ok(keys.includes(k));
    assert.equal(v3('apis/example.com/v1'), undefined);
  });

  it('carries each served kind\'s schema with its group/version/kind, and resolves every reference within the document', () => {
    for (const r of RESOURCES) {
      for (const version of r.versions) {
        const doc = v3(r.group ? `apis/${r.group}/${version}` : `api/${version}`)!;
        const schema = doc.components.schemas[definitionName({ group: r.group, version, kind: r.kind })!];
        assert.ok(schema, `${r.kind} ${version}`);
        assert.ok(schema['x-kubernetes-group-version-kind'].some((g: J) => g.group === r.group && g.version === version && g.kind === r.kind));
      }
    }
    for (const key of v3Keys()) {
      const doc = v3(key)!;
      assert.equal(doc.openapi, '3.0.0');
      JSON.stringify(doc, (k, v) => {
        if (k === '$ref') assert.ok(doc.components.schemas[v.replace('#/components/schemas/', '')], `${key}: ${v}`);
        return v;
      });
    }
  });

  it('states the same operations as the v2 document, in OpenAPI 3 form', () => {
    const doc = v3('apis/apps/v1')!;
    const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'];
    assert.deepEqual(item.parameters.map((p: J) => p.name), ['name', 'namespace', 'pretty']);
    const patch = item.patch;
    assert.equal(patch.operationId, 'patchAppsV1NamespacedDeployment');
    assert.equal(patch['x-kubernetes-action'], 'patch');
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'apps', kind: 'Deployment', version: 'v1' });
    assert.deepEqual(patch.parameters, [
      { in: 'query', name: 'dryRun', schema: { type: 'string', uniqueItems: true } },
      { in: 'query', name: 'fieldManager', schema: { type: 'string', uniqueItems: true } },
      { in: 'query', name: 'fieldValidation', schema: { type: 'string', uniqueItems: true } },
      { in: 'query', name: 'force', schema: { type: 'boolean', uniqueItems: true } },
    ]);
    assert.deepEqual(Object.keys(patch.requestBody.content), [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
      'application/apply-patch+yaml',
    ]);
    assert.equal(patch.requestBody.required, true);
    assert.deepEqual(patch.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/io.k8s.api.apps.v1.Deployment' });
    assert.deepEqual(patch.responses['401'], { description: 'Unauthorized' });
    // every v2 operation of the group version is there with the same id
    const ids = (paths: J, prefix: string) =>
      Object.entries<J>(paths)
        .filter(([p]) => p.startsWith(prefix))
        .flatMap(([, it]) => METHODS.filter((m) => it[m]).map((m) => it[m].operationId))
        .sort();
    assert.deepEqual(ids(doc.paths, '/apis/apps/v1/'), ids(v2.paths, '/apis/apps/v1/'));
  });

  it('publishes int-or-string and quantities as upstream\'s v3 does, so kubectl names them', () => {
    const s = v3('apis/apps/v1')!.components.schemas;
    assert.deepEqual(s['io.k8s.apimachinery.pkg.util.intstr.IntOrString'], { format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }] });
    assert.deepEqual(s['io.k8s.apimachinery.pkg.api.resource.Quantity'], { oneOf: [{ type: 'string' }, { type: 'number' }] });
  });

  it('lists every document in the index under its content hash', () => {
    const root = JSON.parse(openapiV3Root().body.toString());
    assert.deepEqual(Object.keys(root), ['paths']);
    assert.deepEqual(Object.keys(root.paths).sort(), v3Keys().sort());
    for (const [key, { serverRelativeURL }] of Object.entries<J>(root.paths)) {
      const served = openapiV3Doc(key)!;
      assert.match(served.hash, /^[0-9A-F]{128}$/);
      assert.equal(serverRelativeURL, `/openapi/v3/${key}?hash=${served.hash}`);
      assert.deepEqual(JSON.parse(served.body.toString()), v3(key));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A minimal protobuf reader, and gnostic's openapi.v2 messages read back into Swagger JSON.

type Fields = Map<number, (Buffer | number)[]>;

function readFields(b: Buffer): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const x = b[i++];
      n += (x & 0x7f) * mul;
      if (x < 0x80) return n;
      mul *= 128;
    }
  };
  while (i < b.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wt = key & 7;
    let v: Buffer | number;
    if (wt === 0) v = varint();
    else if (wt === 2) {
      const len = varint();
      v = b.subarray(i, i + len);
      i += len;
    } else if (wt === 1) {
      v = b.subarray(i, i + 8);
      i += 8;
    } else throw new Error(`unexpected wire type ${wt}`);
    out.set(no, [...(out.get(no) ?? []), v]);
  }
  return out;
}

const str = (f: Fields, no: number) => (f.get(no)?.[0] as Buffer | undefined)?.toString('utf8');
const strs = (f: Fields, no: number) => (f.get(no) ?? []).map((x) => (x as Buffer).toString('utf8'));
const msg = (f: Fields, no: number) => {
  const b = f.get(no)?.[0] as Buffer | undefined;
  return b === undefined ? undefined : readFields(b);
};
const msgs = (f: Fields, no: number) => (f.get(no) ?? []).map((x) => readFields(x as Buffer));
const bool = (f: Fields, no: number) => f.get(no)?.[0] === 1;

function set(o: J, k: string, v: unknown): void {
  if (v !== undefined && !(Array.isArray(v) && v.length === 0)) o[k] = v;
}

function extensions(o: J, list: Fields[]): void {
  for (const na of list) o[str(na, 1)!] = parseYAML(str(msg(na, 2)!, 2)!);
}

function pbSchema(f: Fields): J {
  const s: J = {};
  set(s, '$ref', str(f, 1));
  set(s, 'format', str(f, 2));
  set(s, 'description', str(f, 4));
  set(s, 'required', strs(f, 19));
  const ap = msg(f, 21);
  if (ap) set(s, 'additionalProperties', pbSchema(msg(ap, 1)!));
  const t = msg(f, 22);
  if (t) s.type = strs(t, 1)[0];
  const items = msg(f, 23);
  if (items) s.items = pbSchema(msgs(items, 1)[0]);
  const props = msg(f, 25);
  if (props) s.properties = Object.fromEntries(msgs(props, 1).map((ns) => [str(ns, 1), pbSchema(msg(ns, 2)!)]));
  extensions(s, msgs(f, 31));
  return s;
}

function pbParam(f: Fields): J {
  const p = msg(f, 1)!; // Parameter (no json references are written)
  const body = msg(p, 1);
  if (body) {
    const o: J = { in: str(body, 3), name: str(body, 2), schema: pbSchema(msg(body, 5)!) };
    if (bool(body, 4)) o.required = true;
    return o;
  }
  const nb = msg(p, 2)!;
  const q = msg(nb, 3);
  const path = msg(nb, 4);
  if (q) return { in: str(q, 2), name: str(q, 4), type: str(q, 6), uniqueItems: bool(q, 20) };
  return { in: str(path!, 2), name: str(path!, 4), type: str(path!, 5), uniqueItems: bool(path!, 19), required: bool(path!, 1) };
}

function pbOperation(f: Fields): J {
  const o: J = { consumes: strs(f, 7), operationId: str(f, 5) };
  set(o, 'parameters', msgs(f, 8).map(pbParam));
  o.produces = strs(f, 6);
  o.responses = Object.fromEntries(
    msgs(msg(f, 9)!, 1).map((nr) => {
      const r = msg(msg(nr, 2)!, 1)!;
      const out: J = { description: str(r, 1) };
      const si = msg(r, 2);
      if (si) out.schema = pbSchema(msg(si, 1)!);
      return [str(nr, 1), out];
    }),
  );
  o.schemes = strs(f, 10);
  o.tags = strs(f, 1);
  extensions(o, msgs(f, 13));
  return o;
}

function pbDocument(b: Buffer): J {
  const f = readFields(b);
  const info = msg(f, 2)!;
  const paths: J = {};
  for (const np of msgs(msg(f, 8)!, 2)) {
    const item = msg(np, 2)!;
    const out: J = {};
    METHODS.forEach((m, i) => {
      const op = msg(item, [2, 3, 4, 5, 6, 7, 8][i]);
      if (op) out[m] = pbOperation(op);
    });
    set(out, 'parameters', msgs(item, 9).map(pbParam));
    paths[str(np, 1)!] = out;
  }
  const definitions = Object.fromEntries(msgs(msg(f, 9)!, 1).map((ns) => [str(ns, 1), pbSchema(msg(ns, 2)!)]));
  const securityDefinitions = Object.fromEntries(
    msgs(msg(f, 13)!, 1).map((n) => {
      const a = msg(msg(n, 2)!, 2)!;
      return [str(n, 1), { in: str(a, 3), name: str(a, 2), type: str(a, 1) }];
    }),
  );
  const security = msgs(f, 12).map((r) => Object.fromEntries(msgs(r, 1).map((n) => [str(n, 1), strs(msg(n, 2)!, 1)])));
  return { swagger: str(f, 1), info: { title: str(info, 1), version: str(info, 2) }, paths, definitions, securityDefinitions, security };
}

describe('OpenAPI v2 in protobuf', () => {
  it('decodes, as gnostic\'s openapi.v2.Document, back to the JSON document', () => {
    const pb = openapiV2('protobuf');
    const json = JSON.parse(openapiV2('json').body.toString());
    assert.deepEqual(pbDocument(pb.body), json);
    assert.equal(pb.contentType, 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    assert.equal(pb.etag, openapiV2('json').etag);
  });
});

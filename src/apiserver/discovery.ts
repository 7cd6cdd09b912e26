// Discovery documents, legacy (APIVersions, APIGroupList, APIResourceList) and aggregated
// (apidiscovery.k8s.io v2 and v2beta1), computed once from the resource declarations.
import { createHash } from 'node:crypto';
import { ALL_VERBS, RESOURCES, groupVersion, type ResourceDecl } from '../api/resources.ts';

interface SubDecl {
  name: string;
  kind: { group: string; version: string; kind: string } | 'self';
  verbs: string[];
}

const PROXY_VERBS = ['create', 'delete', 'get', 'patch', 'update'];

/** Kind and verbs of each subresource, as upstream advertises them. */
function subresources(r: ResourceDecl, version: string): SubDecl[] {
  const out: SubDecl[] = [];
  if (r.status) out.push({ name: 'status', kind: 'self', verbs: ['get', 'patch', 'update'] });
  if (r.scale) out.push({ name: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
  for (const s of r.extraSubresources ?? []) {
    switch (s) {
      case 'binding':
        out.push({ name: s, kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] });
        break;
      case 'eviction':
        out.push({ name: s, kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] });
        break;
      case 'log':
        out.push({ name: s, kind: 'self', verbs: ['get'] });
        break;
      case 'exec':
        out.push({ name: s, kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, verbs: ['create', 'get'] });
        break;
      case 'attach':
        out.push({ name: s, kind: { group: '', version: 'v1', kind: 'PodAttachOptions' }, verbs: ['create', 'get'] });
        break;
      case 'portforward':
        out.push({ name: s, kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' }, verbs: ['create', 'get'] });
        break;
      case 'proxy':
        out.push({ name: s, kind: { group: '', version: 'v1', kind: `${r.kind}ProxyOptions` }, verbs: PROXY_VERBS });
        break;
      case 'ephemeralcontainers':
      case 'resize':
        out.push({ name: s, kind: 'self', verbs: ['get', 'patch', 'update'] });
        break;
      case 'finalize':
        out.push({ name: s, kind: 'self', verbs: ['update'] });
        break;
      case 'token':
        out.push({ name: s, kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }, verbs: ['create'] });
        break;
      case 'approval':
        out.push({ name: s, kind: 'self', verbs: ['get', 'patch', 'update'] });
        break;
    }
  }
  void version;
  return out;
}

function verbsOf(r: ResourceDecl): string[] {
  return [...(r.verbs ?? ALL_VERBS)].sort();
}

function storageVersionHash(r: ResourceDecl): string {
  return createHash('sha256').update(`${r.group}/${r.versions[0]}/${r.kind}`).digest().subarray(0, 8).toString('base64');
}

/** group → versions in preference order, core group first, others in declaration order. */
function groups(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of RESOURCES) {
    const vs = m.get(r.group) ?? [];
    for (const v of r.versions) if (!vs.includes(v)) vs.push(v);
    m.set(r.group, vs);
  }
  return m;
}

export interface Discovery {
  apiVersions(serverAddress: string): unknown;
  apiGroupList(): unknown;
  apiGroup(group: string): unknown | undefined;
  apiResourceList(group: string, version: string): unknown | undefined;
  /** Aggregated documents: /api (core) or /apis (all others), v2 or v2beta1, pre-encoded with an ETag. */
  aggregated(which: 'api' | 'apis', version: 'v2' | 'v2beta1'): { body: Buffer; etag: string };
}

export function buildDiscovery(): Discovery {
  const gs = groups();
  const byGV = new Map<string, ResourceDecl[]>();
  for (const r of RESOURCES) {
    for (const v of r.versions) {
      const k = groupVersion(r.group, v);
      const l = byGV.get(k) ?? [];
      l.push(r);
      byGV.set(k, l);
    }
  }

  const groupDoc = (g: string) => {
    const vs = gs.get(g)!;
    return {
      name: g,
      versions: vs.map((v) => ({ groupVersion: `${g}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${g}/${vs[0]}`, version: vs[0] },
    };
  };

  const resourceList = (group: string, version: string) => {
    const rs = byGV.get(groupVersion(group, version));
    if (!rs) return undefined;
    const resources: unknown[] = [];
    for (const r of rs) {
      const base: Record<string, unknown> = {
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: verbsOf(r),
      };
      if (r.shortNames) base.shortNames = r.shortNames;
      if (r.categories) base.categories = r.categories;
      if (!r.verbs) base.storageVersionHash = storageVersionHash(r);
      resources.push(base);
      for (const s of subresources(r, version)) {
        const sub: Record<string, unknown> = {
          name: `${r.plural}/${s.name}`,
          singularName: '',
          namespaced: r.namespaced,
          kind: s.kind === 'self' ? r.kind : s.kind.kind,
          verbs: s.verbs,
        };
        if (s.kind !== 'self' && (s.kind.group !== group || s.kind.version !== version)) {
          if (s.kind.group) sub.group = s.kind.group;
          sub.version = s.kind.version;
        }
        resources.push(sub);
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(group, version), resources };
  };

  const aggResource = (r: ResourceDecl, version: string) => {
    const out: Record<string, unknown> = {
      resource: r.plural,
      responseKind: { group: r.group, version, kind: r.kind },
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: r.singular,
      verbs: verbsOf(r),
    };
    if (r.shortNames) out.shortNames = r.shortNames;
    if (r.categories) out.categories = r.categories;
    const subs = subresources(r, version);
    if (subs.length) {
      out.subresources = subs.map((s) => ({
        subresource: s.name,
        responseKind: s.kind === 'self' ? { group: r.group, version, kind: r.kind } : s.kind,
        verbs: s.verbs,
      }));
    }
    return out;
  };

  const aggGroup = (g: string) => ({
    metadata: g ? { name: g, creationTimestamp: null } : { creationTimestamp: null },
    versions: gs.get(g)!.map((v) => ({
      version: v,
      resources: (byGV.get(groupVersion(g, v)) ?? []).map((r) => aggResource(r, v)),
      freshness: 'Current',
    })),
  });

  const aggCache = new Map<string, { body: Buffer; etag: string }>();

  return {
    apiVersions: (serverAddress) => ({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    }),
    apiGroupList: () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...gs.keys()].filter((g) => g !== '').map(groupDoc),
    }),
    apiGroup: (g) => (g && gs.has(g) ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g) } : undefined),
    apiResourceList: resourceList,
    aggregated: (which, version) => {
      const k = `${which}/${version}`;
      let c = aggCache.get(k);
      if (!c) {
        const items = which === 'api' ? [aggGroup('')] : [...gs.keys()].filter((g) => g !== '').map(aggGroup);
        const body = Buffer.from(
          JSON.stringify({ kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items }),
        );
        c = { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` };
        aggCache.set(k, c);
      }
      return c;
    },
  };
}

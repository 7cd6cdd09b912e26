// Development-time generator: derives rudder's table of API type facts (names, types, list and
// patch metadata, group/version/kind; no prose) from the upstream OpenAPI description in
// ../shared/data, restricted to the groups and versions rudder serves at the 1.33 API level.
// Output: src/api/schema/definitions.json (committed). Run: node scripts/gen-schema.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, '..', 'shared', 'data', 'kubernetes-1.36-openapi-v2.json');
const out = join(root, 'src', 'api', 'schema', 'definitions.json');

// group/version pairs served (see src/api/resources). meta and the apimachinery types come along
// by reference.
const SERVED = new Set([
  '/v1',
  'apps/v1',
  'batch/v1',
  'autoscaling/v1',
  'autoscaling/v2',
  'policy/v1',
  'coordination.k8s.io/v1',
  'discovery.k8s.io/v1',
  'events.k8s.io/v1',
  'networking.k8s.io/v1',
  'rbac.authorization.k8s.io/v1',
  'storage.k8s.io/v1',
  'scheduling.k8s.io/v1',
  'certificates.k8s.io/v1',
  'authorization.k8s.io/v1',
  'authentication.k8s.io/v1',
  'apiextensions.k8s.io/v1',
  'admissionregistration.k8s.io/v1',
  'node.k8s.io/v1',
  'flowcontrol.apiserver.k8s.io/v1',
  'apiregistration.k8s.io/v1',
]);

// Fields that upstream added after 1.33 and rudder does not serve (definition → property names).
const AFTER_133: Record<string, string[]> = {
  'io.k8s.api.core.v1.PodSpec': ['hostnameOverride', 'workloadRef'],
  'io.k8s.api.core.v1.Container': ['restartPolicyRules'],
  'io.k8s.api.core.v1.EnvVarSource': ['fileKeyRef'],
  'io.k8s.api.core.v1.ProjectedVolumeSource': [],
  'io.k8s.api.core.v1.VolumeProjection': ['podCertificate'],
  'io.k8s.api.core.v1.PodStatus': ['extendedResourceClaimStatus', 'allocatedResources', 'resources'],
};

type Json = any;
const doc = JSON.parse(readFileSync(src, 'utf8'));
const defs: Record<string, Json> = doc.definitions;

function gvkServed(g: { group: string; version: string }): boolean {
  return SERVED.has(`${g.group}/${g.version}`);
}

const keep = new Set<string>();
for (const [name, d] of Object.entries(defs)) {
  const gvks: { group: string; version: string; kind: string }[] = d['x-kubernetes-group-version-kind'] ?? [];
  if (name.startsWith('io.k8s.apimachinery.pkg.apis.meta.v1.')) {
    // meta types (DeleteOptions, Status, WatchEvent, …) are shared by every group
    keep.add(name);
  } else if (gvks.some(gvkServed) && !/\.v1(alpha|beta)\d/.test(name) && !/\.v2beta\d/.test(name)) {
    keep.add(name);
  }
}
// Types without a kind that the served OpenAPI documents still name (GET /version answers Info).
for (const name of ['io.k8s.apimachinery.pkg.version.Info']) keep.add(name);
// follow references
const queue = [...keep];
while (queue.length) {
  const n = queue.pop()!;
  walkRefs(defs[n], (ref) => {
    if (!keep.has(ref)) {
      keep.add(ref);
      queue.push(ref);
    }
  });
}

function walkRefs(s: Json, f: (r: string) => void): void {
  if (!s || typeof s !== 'object') return;
  if (typeof s.$ref === 'string') f(s.$ref.replace('#/definitions/', ''));
  for (const v of Object.values(s)) walkRefs(v, f);
}

function strip(s: Json): Json {
  if (Array.isArray(s)) return s.map(strip);
  if (!s || typeof s !== 'object') return s;
  const o: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'description') continue;
    o[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Json).map(([p, ps]) => [p, strip(ps)])) : strip(v);
  }
  return o;
}

const result: Record<string, Json> = {};
for (const n of [...keep].sort()) {
  const d = strip(defs[n]);
  // gvk lists: keep only served versions (meta types list every group; keep them all)
  const drop = AFTER_133[n];
  if (drop && d.properties) for (const p of drop) delete d.properties[p];
  result[n] = d;
}
writeFileSync(out, JSON.stringify(result) + '\n');
console.log(`wrote ${Object.keys(result).length} definitions to ${out}`);

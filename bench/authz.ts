// Authorization decisions per second for a cluster with 1,000 RoleBindings (issue 7, item 8): the
// union authorizer the API server uses (system:masters, Node, RBAC) over real watch caches that
// hold upstream's default policy, 1,000 RoleBindings over 100 namespaces (users bound to view,
// edit or admin, service accounts to a Role) and 100 ClusterRoleBindings. Not a test: it prints
// decisions per second of CPU time per request mix (robust to a busy shared machine) and asserts
// nothing.
//
//   node bench/authz.ts [--bindings 1000] [--namespaces 100] [--ms 1000] [--runs 3]

import { parseArgs } from 'node:util';
import type { KObject } from '../src/api/meta.ts';
import { attributesFromRequest, privilegedGroupAuthorizer, unionAuthorizer, type Attributes } from '../src/apiserver/auth/authorizer.ts';
import { NodeAuthorizer, NodeGraph } from '../src/apiserver/auth/node-authorizer.ts';
import { RBACAuthorizer } from '../src/apiserver/auth/rbac.ts';
import { aggregatedRules, rulesEqual } from '../src/apiserver/auth/rbac-aggregation.ts';
import { defaultRBACObjects } from '../src/apiserver/auth/rbac-reconcile.ts';
import type { PolicyRule } from '../src/apiserver/auth/rbac-rules.ts';
import { clusterRole, clusterRoleBinding, fedRbacCaches, role, roleBinding } from '../src/apiserver/auth/testing.ts';
import { parseRequestInfo } from '../src/apiserver/requestinfo.ts';
import type { UserInfo } from '../src/apiserver/registry.ts';

const { values: opts } = parseArgs({
  options: {
    bindings: { type: 'string', default: '1000' },
    namespaces: { type: 'string', default: '100' },
    ms: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
  },
});
const BINDINGS = Number(opts.bindings);
const NAMESPACES = Number(opts.namespaces);
const MS = Number(opts.ms);
const RUNS = Number(opts.runs);

// ------------------------------------------------------------------------------ the cluster

const caches = fedRbacCaches();
const objs = defaultRBACObjects();
for (const o of [...objs.clusterRoles, ...objs.clusterRoleBindings, ...objs.roles, ...objs.roleBindings]) caches.put(o);
for (let changed = true; changed; ) {
  changed = false;
  const all = caches.clusterRoles.list(undefined).map((e) => e.obj);
  for (const r of all) {
    const rules = aggregatedRules(r, all);
    if (rules && !rulesEqual(rules, (r as { rules?: PolicyRule[] }).rules)) {
      caches.put({ ...structuredClone(r), rules } as KObject);
      changed = true;
    }
  }
}
const ns = (i: number) => `ns-${i % NAMESPACES}`;
for (let i = 0; i < NAMESPACES; i++) caches.put(role(`ns-${i}`, 'app-config', [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['configmaps', 'secrets'] }]));
const roles = ['view', 'edit', 'admin'];
const t0 = performance.now();
for (let i = 0; i < BINDINGS; i++) {
  if (i % 4 === 3) caches.put(roleBinding(ns(i), `sa-${i}`, 'Role', 'app-config', [{ kind: 'ServiceAccount', name: `app-${i}` }]));
  else caches.put(roleBinding(ns(i), `user-${i}`, 'ClusterRole', roles[i % 3]!, [{ kind: 'User', name: `user-${i}` }, { kind: 'Group', name: `team-${i % 50}` }]));
}
for (let i = 0; i < 100; i++) caches.put(clusterRoleBinding(`ops-${i}`, 'view', [{ kind: 'User', name: `ops-${i}` }]));
const fill = performance.now() - t0;

const t1 = performance.now();
const rbac = new RBACAuthorizer(caches);
const index = performance.now() - t1;
const graph = new NodeGraph();
for (let i = 0; i < 1000; i++) {
  graph.setPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, namespace: ns(i) }, spec: { nodeName: `node-${i % 50}`, containers: [{ name: 'c', envFrom: [{ secretRef: { name: `s-${i}` } }] }] } } as KObject);
}
const authz = unionAuthorizer([privilegedGroupAuthorizer(), new NodeAuthorizer(graph), rbac]);

// ----------------------------------------------------------------------------- the requests

const user = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });
function attrs(method: string, path: string, u: UserInfo): Attributes {
  const [p, q] = path.split('?');
  const query = new URLSearchParams(q ?? '');
  return attributesFromRequest({ info: parseRequestInfo(method, p!, query), user: u, query });
}

const mixes: Record<string, Attributes[]> = {
  'allowed (user bound to view/edit/admin, get pods)': Array.from({ length: 300 }, (_, i) => attrs('GET', `/api/v1/namespaces/${ns(i * 4)}/pods/web`, user(`user-${i * 4}`, `team-${(i * 4) % 50}`))),
  'denied (user, create in another namespace)': Array.from({ length: 300 }, (_, i) => attrs('POST', `/api/v1/namespaces/${ns(i * 4 + 1)}/pods`, user(`user-${i * 4}`, `team-${(i * 4) % 50}`))),
  'service account (Role in its namespace, list secrets)': Array.from({ length: 250 }, (_, i) => attrs('GET', `/api/v1/namespaces/${ns(i * 4 + 3)}/secrets`, user(`system:serviceaccount:${ns(i * 4 + 3)}:app-${i * 4 + 3}`, 'system:serviceaccounts', `system:serviceaccounts:${ns(i * 4 + 3)}`))),
  'system:masters': [attrs('DELETE', '/api/v1/namespaces/ns-1/pods/x', user('admin', 'system:masters'))],
  'node (secret of its pod)': Array.from({ length: 300 }, (_, i) => attrs('GET', `/api/v1/namespaces/${ns(i)}/secrets/s-${i}`, { name: `system:node:node-${i % 50}`, groups: ['system:nodes', 'system:authenticated'] })),
  'discovery (non-resource URL)': [attrs('GET', '/apis/apps/v1', user('someone'))],
};

const freshUsers = new Set<Attributes[]>();

/**
 * Decisions per second of CPU time (this process's user + system time), so that other work on a
 * shared machine does not count against the authorizer.
 */
function measure(list: Attributes[]): number {
  const copy = freshUsers.has(list);
  let n = 0;
  let sink = 0;
  const start = process.cpuUsage();
  const wallEnd = performance.now() + MS;
  while (performance.now() < wallEnd) {
    for (let k = 0; k < 1000; k++) {
      const a = list[n % list.length]!;
      if (authz.authorize(copy ? { ...a, user: { name: a.user.name, groups: [...a.user.groups] } } : a).decision === 'Allow') sink++;
      n++;
    }
  }
  const cpu = process.cpuUsage(start);
  if (sink < 0) console.log(sink);
  return n / ((cpu.user + cpu.system) / 1e6);
}

console.log(`authz: ${BINDINGS} RoleBindings in ${NAMESPACES} namespaces, 100 extra ClusterRoleBindings, ${caches.clusterRoles.size()} ClusterRoles, node ${process.version}`);
console.log(`  cache fill ${fill.toFixed(0)} ms, RBAC subject index built in ${index.toFixed(1)} ms (${rbac.indexedBindings} bindings)`);
// Authentication that builds a new user object per request (bearer tokens) misses the per-user cache.
const fresh = mixes['allowed (user bound to view/edit/admin, get pods)']!;
const all: Attributes[] = Object.values(mixes).flat();
mixes['allowed, a new user object per request'] = fresh;
freshUsers.add(fresh);
mixes['mixed (all of the above)'] = all;
measure(all); // warm up the JIT on every path before measuring any
for (const [name, list] of Object.entries(mixes)) {
  const sample = authz.authorize(list[0]!);
  const rates = Array.from({ length: RUNS }, () => measure(list)).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  console.log(`  ${name.padEnd(56)} ${Math.round(median).toLocaleString('en-US').padStart(11)} decisions/s of CPU  (${sample.decision})`);
}

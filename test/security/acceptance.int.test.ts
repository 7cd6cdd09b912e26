// Issue 7's acceptance with the real kubectl against a real `rudder server`: users, service
// accounts and nodes with their own kubeconfigs (client certificates signed by the cluster's
// client CA, or bearer tokens) meet RBAC, the Node authorizer, NodeRestriction, PodSecurity and
// impersonation, and see upstream's messages. The audit log, encryption at rest and the in-flight
// limits have their own tests (audit, encryption, cis, test/apiserver/overload).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensurePki, type Pki } from '../../src/apiserver/pki.ts';
import { eventually, startServer, type KubectlResult, type TestServer } from '../harness.ts';

let s: TestServer;
let pki: Pki;

/** A kubeconfig for this server with the given credentials. */
function kubeconfig(name: string, user: { cert: string; key: string } | { token: string }): string {
  const b64 = (x: string) => Buffer.from(x).toString('base64');
  const creds = 'token' in user ? `    token: ${user.token}` : `    client-certificate-data: ${b64(user.cert)}\n    client-key-data: ${b64(user.key)}`;
  const file = join(s.dataDir, `kubeconfig-${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: rudder
  cluster:
    server: ${s.url}
    certificate-authority-data: ${b64(s.creds.ca)}
contexts:
- name: ${name}
  context: {cluster: rudder, user: ${name}, namespace: default}
current-context: ${name}
users:
- name: ${name}
  user:
${creds}
`,
    { mode: 0o600 },
  );
  return file;
}

/** A kubeconfig with a client certificate for user `cn` in `groups`, signed by the cluster's client CA. */
async function certUser(cn: string, groups: string[] = []): Promise<(args: string[], input?: string) => Promise<KubectlResult>> {
  const file = kubeconfig(cn.replace(/[^a-z0-9-]/gi, '-'), await pki.signClientCert(cn, groups, 1));
  return (args, input) => s.kubectl(['--kubeconfig', file, ...args], { input });
}

const ok = (r: KubectlResult): string => {
  assert.equal(r.code, 0, `kubectl failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
};
const refused = (r: KubectlResult): string => {
  assert.notEqual(r.code, 0, `kubectl should have failed:\n${r.stdout}`);
  return r.stderr.trim();
};

const pod = (name: string, spec: object, ns = 'default') => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } });

before(async () => {
  s = await startServer();
  pki = await ensurePki(join(s.dataDir, 'server', 'tls'), { sans: [] });
});
after(async () => {
  await s?.stop();
});

describe('a user bound to view', () => {
  let viewer: Awaited<ReturnType<typeof certUser>>;
  before(async () => {
    viewer = await certUser('viewer', ['team-a']);
    await s.k(['create', 'rolebinding', 'viewer-view', '--clusterrole=view', '--user=viewer', '-n', 'default']);
    await s.k(['create', 'configmap', 'settings', '--from-literal=mode=fast']);
  });

  test('can get but not create, with upstream\'s Forbidden message', async () => {
    await eventually(async () => (await viewer(['get', 'configmap', 'settings'])).code === 0, 10_000, 'the binding to take effect');
    assert.match(ok(await viewer(['get', 'configmap', 'settings', '-o', 'jsonpath={.data.mode}'])), /^fast$/);
    assert.equal(
      refused(await viewer(['create', '-f', '-'], pod('made-by-viewer', {}))),
      'Error from server (Forbidden): error when creating "STDIN": pods is forbidden: User "viewer" cannot create resource "pods" in API group "" in the namespace "default"',
    );
    assert.equal(
      refused(await viewer(['get', 'pods', '-n', 'kube-system'])),
      'Error from server (Forbidden): pods is forbidden: User "viewer" cannot list resource "pods" in API group "" in the namespace "kube-system"',
    );
    // view does not reach secrets
    assert.equal(
      refused(await viewer(['get', 'secrets'])),
      'Error from server (Forbidden): secrets is forbidden: User "viewer" cannot list resource "secrets" in API group "" in the namespace "default"',
    );
  });

  test('kubectl auth can-i says yes and no, and --list lists the rules', async () => {
    const yes = await viewer(['auth', 'can-i', 'get', 'pods']);
    assert.equal(yes.code, 0);
    assert.equal(yes.stdout.trim(), 'yes');
    const no = await viewer(['auth', 'can-i', 'create', 'pods']);
    assert.equal(no.code, 1);
    assert.equal(no.stdout.trim(), 'no');
    assert.equal((await viewer(['auth', 'can-i', 'list', 'pods', '-n', 'kube-system'])).stdout.trim(), 'no');
    assert.equal((await viewer(['auth', 'can-i', 'get', 'secrets'])).stdout.trim(), 'no');
    const list = ok(await viewer(['auth', 'can-i', '--list']));
    assert.match(list, /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/m);
    assert.match(list, /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    assert.match(list, /^deployments\.apps\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    assert.match(list, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]$/m);
    assert.doesNotMatch(list, /^secrets\s/m);
    assert.doesNotMatch(list, /^pods\s.*create/m);
  });

  test('kubectl auth whoami shows the certificate\'s user and groups', async () => {
    const out = ok(await viewer(['auth', 'whoami']));
    assert.match(out, /^ATTRIBUTE\s+VALUE$/m);
    assert.match(out, /^Username\s+viewer$/m);
    assert.match(out, /^Groups\s+\[team-a system:authenticated\]$/m);
  });

  test('--as: the admin acting as viewer is held to viewer\'s rights; viewer may not impersonate', async () => {
    assert.equal(ok(await s.kubectl(['--as', 'viewer', 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])), 'viewer');
    ok(await s.kubectl(['--as', 'viewer', 'get', 'configmaps']));
    assert.equal(
      refused(await s.kubectl(['--as', 'viewer', 'create', 'configmap', 'as-viewer'])),
      'error: failed to create configmap: configmaps is forbidden: User "viewer" cannot create resource "configmaps" in API group "" in the namespace "default"',
    );
    // a group granted by --as-group counts
    ok(await s.kubectl(['--as', 'someone', '--as-group', 'system:masters', 'create', 'configmap', 'as-master']));
    assert.equal(
      refused(await viewer(['--as', 'system:admin', 'get', 'pods'])),
      'Error from server (Forbidden): users "system:admin" is forbidden: User "viewer" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });
});

test('a pod\'s service-account token cannot list secrets until a RoleBinding allows it', async () => {
  await s.k(['create', 'serviceaccount', 'app']);
  await s.k(['create', 'secret', 'generic', 'app-secret', '--from-literal=key=value']);
  await s.k(['create', '-f', '-'], { input: pod('app', { serviceAccountName: 'app' }) });
  // the token kubelet would project into the pod: bound to the pod object
  const token = (await s.k(['create', 'token', 'app', '--bound-object-kind', 'Pod', '--bound-object-name', 'app'])).trim();
  const file = kubeconfig('app', { token });
  const app = (args: string[]) => s.kubectl(['--kubeconfig', file, ...args]);
  assert.equal(ok(await app(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])), 'system:serviceaccount:default:app');
  assert.equal(
    refused(await app(['get', 'secrets'])),
    'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:default:app" cannot list resource "secrets" in API group "" in the namespace "default"',
  );
  await s.k(['create', 'role', 'secret-reader', '--verb=get,list', '--resource=secrets']);
  await s.k(['create', 'rolebinding', 'app-secret-reader', '--role=secret-reader', '--serviceaccount=default:app']);
  const listed = await eventually(async () => {
    const r = await app(['get', 'secrets', '-o', 'name']);
    return r.code === 0 ? r.stdout : undefined;
  }, 10_000, 'the RoleBinding to take effect');
  assert.match(listed, /^secret\/app-secret$/m);
  // only in its namespace
  assert.equal(
    refused(await app(['get', 'secrets', '-n', 'kube-system'])),
    'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:default:app" cannot list resource "secrets" in API group "" in the namespace "kube-system"',
  );
  // the token is bound to the pod: gone with it
  await s.k(['delete', 'pod', 'app', '--grace-period=0', '--force']);
  await eventually(async () => (await app(['get', 'secrets'])).stderr.includes('Unauthorized'), 10_000, 'the pod-bound token to stop working');
});

test('a node reads the secrets of pods bound to it and not others, and cannot change another node', async () => {
  for (const n of ['n1', 'n2']) {
    await s.k(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: n } }) });
    await s.k(['create', 'secret', 'generic', `${n}-secret`, `--from-literal=for=${n}`]);
    await s.k(['create', '-f', '-'], { input: pod(`on-${n}`, { nodeName: n, containers: [{ name: 'c', image: 'busybox', envFrom: [{ secretRef: { name: `${n}-secret` } }] }] }) });
  }
  const n1 = await certUser('system:node:n1', ['system:nodes']);
  const mine = await eventually(async () => {
    const r = await n1(['get', 'secret', 'n1-secret', '-o', 'jsonpath={.data.for}']);
    return r.code === 0 ? r.stdout : undefined;
  }, 10_000, 'n1 to read its pod\'s secret');
  assert.equal(Buffer.from(mine, 'base64').toString(), 'n1');
  assert.equal(
    refused(await n1(['get', 'secret', 'n2-secret'])),
    'Error from server (Forbidden): secrets "n2-secret" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node \'n1\' and this object',
  );
  assert.equal(
    refused(await n1(['get', 'secrets'])),
    'Error from server (Forbidden): secrets is forbidden: User "system:node:n1" cannot list resource "secrets" in API group "" in the namespace "default": No Object name found',
  );
  // its own Node object it may label; another's it may not
  ok(await n1(['label', 'node', 'n1', 'example.com/rack=r1']));
  // reading another Node is refused by the Node authorizer (upstream's AuthorizeNodeWithSelectors) ...
  assert.equal(
    refused(await n1(['label', 'node', 'n2', 'example.com/rack=r1'])),
    'Error from server (Forbidden): nodes "n2" is forbidden: User "system:node:n1" cannot get resource "nodes" in API group "" at the cluster scope: node \'n1\' cannot read \'n2\', only its own Node object',
  );
  // ... and a write without a read first (replace) by NodeRestriction admission
  assert.equal(
    refused(await n1(['replace', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2', labels: { 'example.com/rack': 'r1' } } }))),
    'Error from server (Forbidden): error when replacing "STDIN": nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"',
  );
  assert.equal(JSON.parse(await s.k(['get', 'node', 'n2', '-o', 'json'])).metadata.labels?.['example.com/rack'], undefined);
});

describe('PodSecurity', () => {
  const privileged = (name: string, ns: string) => pod(name, { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] }, ns);

  test('a privileged pod is refused in a restricted namespace with upstream\'s message', async () => {
    await s.k(['create', 'namespace', 'locked']);
    await s.k(['label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted']);
    assert.equal(
      refused(await s.kubectl(['create', '-f', '-'], { input: privileged('priv', 'locked') })),
      'Error from server (Forbidden): error when creating "STDIN": pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    assert.notEqual((await s.kubectl(['get', 'pod', 'priv', '-n', 'locked'])).code, 0, 'not created');
  });

  test('in a warn namespace it is created and kubectl prints the warning', async () => {
    await s.k(['create', 'namespace', 'warned']);
    await s.k(['label', 'namespace', 'warned', 'pod-security.kubernetes.io/warn=baseline']);
    const r = await s.kubectl(['create', '-f', '-'], { input: privileged('priv', 'warned') });
    assert.equal(ok(r).trim(), 'pod/priv created');
    assert.equal(r.stderr.trim(), 'Warning: would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)');
  });

  test('labelling a namespace enforce=baseline warns about the pods already there', async () => {
    const r = await s.kubectl(['label', 'namespace', 'warned', 'pod-security.kubernetes.io/enforce=baseline']);
    assert.equal(ok(r).trim(), 'namespace/warned labeled');
    assert.equal(r.stderr.trim(), 'Warning: existing pods in namespace "warned" violate the new PodSecurity enforce level "baseline:latest"\nWarning: priv: privileged');
  });
});

describe('--authorization-mode=AlwaysAllow (the benchmarks\' baseline, never a cluster\'s)', () => {
  let open: TestServer;
  before(async () => {
    open = await startServer({ extraArgs: ['--authorization-mode', 'AlwaysAllow'] });
  });
  after(async () => {
    await open?.stop();
  });

  test('any authenticated user may do anything; anonymous requests are still refused', async () => {
    const opki = await ensurePki(join(open.dataDir, 'server', 'tls'), { sans: [] });
    const c = await opki.signClientCert('nobody-special', [], 1);
    const as = (method: string, path: string, body?: object, creds?: { cert: string; key: string }) =>
      new Promise<number>((resolve, reject) => {
        const b = body ? Buffer.from(JSON.stringify(body)) : undefined;
        const req = httpsRequest(open.url + path, { method, ca: open.creds.ca, ...(creds ?? {}), headers: b ? { 'content-type': 'application/json', 'content-length': String(b.length) } : {} }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(b);
      });
    assert.equal(await as('GET', '/api/v1/namespaces/kube-system/secrets', undefined, c), 200);
    assert.equal(await as('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'anyone' } }, c), 201);
    assert.equal(await as('GET', '/api/v1/namespaces/kube-system/secrets'), 401);
  });
});

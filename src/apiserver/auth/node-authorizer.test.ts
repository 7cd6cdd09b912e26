// The Node authorizer: what a kubelet may read is what pods bound to its node reference.
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import type { Attributes } from './authorizer.ts';
import { NodeAuthorizer, NodeGraph, nodeIdentity, podConfigMapNames, podSecretNames } from './node-authorizer.ts';

const n1 = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };

function attrs(verb: string, resource: string, name: string, o: Partial<Attributes> = {}): Attributes {
  const [res, sub] = resource.split('/');
  return { user: n1, verb, resourceRequest: true, namespace: 'app', apiGroup: '', apiVersion: 'v1', resource: res!, subresource: sub ?? '', name, path: '', ...o };
}

function pod(name: string, nodeName: string | undefined, spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'app', ...(annotations ? { annotations } : {}) }, spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'x' }], ...spec } } as KObject;
}

describe('node identity', () => {
  test('system:node:<name> in system:nodes is a node', () => assert.equal(nodeIdentity(n1), 'n1'));
  test('the name prefix alone is not enough', () => assert.equal(nodeIdentity({ name: 'system:node:n1', groups: [] }), undefined));
  test('the group alone is not enough', () => assert.equal(nodeIdentity({ name: 'alice', groups: ['system:nodes'] }), undefined));
});

describe('pod references', () => {
  const p = pod('web', 'n1', {
    imagePullSecrets: [{ name: 'pull' }],
    initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 'init-env' } }] }],
    containers: [{ name: 'c', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'k' } } }], envFrom: [{ configMapRef: { name: 'from-cm' } }] }],
    ephemeralContainers: [{ name: 'dbg', env: [{ name: 'C', valueFrom: { secretKeyRef: { name: 'debug-secret', key: 'k' } } }] }],
    volumes: [
      { name: 'a', secret: { secretName: 'vol-secret' } },
      { name: 'b', configMap: { name: 'vol-cm' } },
      { name: 'c', projected: { sources: [{ secret: { name: 'proj-secret' } }, { configMap: { name: 'proj-cm' } }] } },
      { name: 'd', csi: { driver: 'x', nodePublishSecretRef: { name: 'csi-secret' } } },
    ],
  });
  test('secrets from image pull secrets, env, envFrom, volumes and projections of every container kind', () => {
    assert.deepEqual(podSecretNames(p).sort(), ['csi-secret', 'debug-secret', 'env-secret', 'init-env', 'proj-secret', 'pull', 'vol-secret']);
  });
  test('configmaps from env, envFrom, volumes and projections', () => {
    assert.deepEqual(podConfigMapNames(p).sort(), ['env-cm', 'from-cm', 'proj-cm', 'vol-cm']);
  });
});

describe('Node authorizer decisions', () => {
  let g: NodeGraph;
  let a: NodeAuthorizer;
  beforeEach(() => {
    g = new NodeGraph();
    a = new NodeAuthorizer(g);
    g.setPod(pod('web', 'n1', { serviceAccountName: 'web-sa', volumes: [{ name: 's', secret: { secretName: 'db-password' } }, { name: 'p', persistentVolumeClaim: { claimName: 'data' } }, { name: 'e', ephemeral: { volumeClaimTemplate: {} } }], containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'settings' } }] }] }));
    g.setPod(pod('other', 'n2', { volumes: [{ name: 's', secret: { secretName: 'other-secret' } }] }));
  });
  const decide = (x: Attributes) => a.authorize(x);

  const cases: [string, Attributes, string, string][] = [
    ['get a secret its pod mounts', attrs('get', 'secrets', 'db-password'), 'Allow', ''],
    ['watch a secret its pod mounts (by name)', attrs('watch', 'secrets', 'db-password'), 'Allow', ''],
    ['get a secret of a pod on another node', attrs('get', 'secrets', 'other-secret'), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    ['get an unreferenced secret', attrs('get', 'secrets', 'unrelated'), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    ['list secrets (no name)', attrs('list', 'secrets', ''), 'NoOpinion', 'No Object name found'],
    ['create a secret', attrs('create', 'secrets', ''), 'NoOpinion', 'can only read resources of this type'],
    ['read a secret across namespaces', attrs('get', 'secrets', 'db-password', { namespace: '' }), 'NoOpinion', 'can only read namespaced object of this type'],
    ['get a configmap from envFrom', attrs('get', 'configmaps', 'settings'), 'Allow', ''],
    ['get its claim', attrs('get', 'persistentvolumeclaims', 'data'), 'Allow', ''],
    ['get its generic ephemeral claim', attrs('get', 'persistentvolumeclaims', 'web-e'), 'Allow', ''],
    ['list claims', attrs('list', 'persistentvolumeclaims', ''), 'NoOpinion', 'can only get individual resources of this type'],
    ['update its claim status', attrs('update', 'persistentvolumeclaims/status', 'data'), 'Allow', ''],
    ['get a claim status', attrs('get', 'persistentvolumeclaims/status', 'data'), 'NoOpinion', 'can only get/update/patch this type'],
    ['create a token for its pod service account', attrs('create', 'serviceaccounts/token', 'web-sa'), 'Allow', ''],
    ['create a token for another service account', attrs('create', 'serviceaccounts/token', 'default'), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    ['get a service account', attrs('get', 'serviceaccounts', 'web-sa'), 'NoOpinion', 'can only create tokens for individual service accounts'],
    ['get its own Node', attrs('get', 'nodes', 'n1', { namespace: '' }), 'Allow', ''],
    ['get another Node', attrs('get', 'nodes', 'n2', { namespace: '' }), 'NoOpinion', "node 'n1' cannot read 'n2', only its own Node object"],
    ['list all Nodes', attrs('list', 'nodes', '', { namespace: '' }), 'NoOpinion', "node 'n1' cannot read all nodes, only its own Node object"],
    ['update Node status', attrs('patch', 'nodes/status', 'n1', { namespace: '' }), 'Allow', ''],
    ['create its Node', attrs('create', 'nodes', 'n1', { namespace: '' }), 'Allow', ''],
    ['get its pod', attrs('get', 'pods', 'web'), 'Allow', ''],
    ['get a pod on another node', attrs('get', 'pods', 'other'), 'NoOpinion', "no relationship found between node 'n1' and this object"],
    ['list pods without a field selector', attrs('list', 'pods', '', { namespace: '' }), 'NoOpinion', 'can only list/watch pods with spec.nodeName field selector'],
    ['watch pods with spec.nodeName=n1', attrs('watch', 'pods', '', { namespace: '', fieldSelector: [{ field: 'spec.nodeName', operator: '=', value: 'n1' }] }), 'Allow', ''],
    ['watch pods with spec.nodeName=n2', attrs('watch', 'pods', '', { namespace: '', fieldSelector: [{ field: 'spec.nodeName', operator: '=', value: 'n2' }] }), 'NoOpinion', 'can only list/watch pods with spec.nodeName field selector'],
    ['update pod status', attrs('update', 'pods/status', 'web'), 'Allow', ''],
    ['create a (mirror) pod', attrs('create', 'pods', ''), 'Allow', ''],
    ['exec into a pod', attrs('create', 'pods/exec', 'web'), 'NoOpinion', ''],
    ['renew its lease', attrs('update', 'leases', 'n1', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease' }), 'Allow', ''],
    ['renew another node lease', attrs('update', 'leases', 'n2', { apiGroup: 'coordination.k8s.io', namespace: 'kube-node-lease' }), 'NoOpinion', 'can only access node lease with the same name as the requesting node'],
    ['a lease outside kube-node-lease', attrs('get', 'leases', 'n1', { apiGroup: 'coordination.k8s.io', namespace: 'default' }), 'NoOpinion', 'can only access leases in the "kube-node-lease" system namespace'],
    ['list services (system:node rules)', attrs('list', 'services', '', { namespace: '' }), 'Allow', ''],
    ['create events (system:node rules)', attrs('create', 'events', ''), 'Allow', ''],
    ['delete deployments (no rule)', attrs('delete', 'deployments', 'd', { apiGroup: 'apps' }), 'NoOpinion', ''],
  ];
  for (const [name, x, decision, reason] of cases) {
    test(name, () => assert.deepEqual(decide(x), { decision, reason }));
  }

  test('a persistent volume is readable through its bound claim, and a secret through the volume', () => {
    g.setPV({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv-1' }, spec: { claimRef: { namespace: 'app', name: 'data' }, csi: { driver: 'd', volumeHandle: 'h', nodePublishSecretRef: { namespace: 'storage', name: 'csi-creds' } } } } as KObject);
    g.setPV({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv-2' }, spec: { claimRef: { namespace: 'app', name: 'unused' } } } as KObject);
    assert.equal(decide(attrs('get', 'persistentvolumes', 'pv-1', { namespace: '' })).decision, 'Allow');
    assert.equal(decide(attrs('get', 'persistentvolumes', 'pv-2', { namespace: '' })).decision, 'NoOpinion');
    assert.equal(decide(attrs('get', 'secrets', 'csi-creds', { namespace: 'storage' })).decision, 'Allow');
    g.deletePV('pv-1');
    assert.equal(decide(attrs('get', 'secrets', 'csi-creds', { namespace: 'storage' })).decision, 'NoOpinion');
  });

  test('access follows pods: rescheduled, changed and deleted pods', () => {
    g.setPod(pod('web', 'n2', { volumes: [{ name: 's', secret: { secretName: 'db-password' } }] }));
    assert.equal(decide(attrs('get', 'secrets', 'db-password')).decision, 'NoOpinion');
    g.setPod(pod('web', 'n1', { volumes: [{ name: 's', secret: { secretName: 'db-password' } }] }));
    g.setPod(pod('web2', 'n1', { volumes: [{ name: 's', secret: { secretName: 'db-password' } }] }));
    g.deletePod('app', 'web');
    assert.equal(decide(attrs('get', 'secrets', 'db-password')).decision, 'Allow', 'still referenced by web2');
    g.deletePod('app', 'web2');
    assert.equal(decide(attrs('get', 'secrets', 'db-password')).decision, 'NoOpinion');
  });

  test('a pod not yet scheduled grants nothing', () => {
    g.setPod(pod('pending', undefined, { volumes: [{ name: 's', secret: { secretName: 'later' } }] }));
    assert.equal(decide(attrs('get', 'secrets', 'later')).decision, 'NoOpinion');
  });

  test('a mirror pod grants nothing beyond itself', () => {
    g.setPod(pod('static', 'n1', { volumes: [{ name: 's', secret: { secretName: 'sneaky' } }] }, { 'kubernetes.io/config.mirror': 'x' }));
    assert.equal(decide(attrs('get', 'secrets', 'sneaky')).decision, 'NoOpinion');
    assert.equal(decide(attrs('get', 'pods', 'static')).decision, 'Allow');
  });

  test('other users get no opinion; rules resolution is incomplete for nodes', () => {
    assert.deepEqual(a.authorize({ ...attrs('get', 'secrets', 'db-password'), user: { name: 'alice', groups: [] } }), { decision: 'NoOpinion', reason: '' });
    assert.deepEqual(a.rulesFor(n1), { resourceRules: [], nonResourceRules: [], incomplete: true, errors: ['node authorizer does not support user rule resolution'] });
  });

  test('a node user without a node name is unknown', () => {
    assert.deepEqual(a.authorize({ ...attrs('get', 'secrets', 'x'), user: { name: 'system:node:', groups: ['system:nodes'] } }), {
      decision: 'NoOpinion',
      reason: 'unknown node for user "system:node:"',
    });
  });
});

// NodeRestriction admission: a node changes only itself and its pods, with upstream's messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import { resourceByPlural } from '../../api/resources.ts';
import type { AdmissionAttributes, Registry } from '../registry.ts';
import { forbiddenNodeLabels, nodeRestriction } from './node-restriction.ts';

const n1 = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };

/** A registry that knows a few pods and nodes (what the plugin looks up). */
function fakeRegistry(objs: KObject[]): Registry {
  const byKey = new Map(objs.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
  const res = (kind: string) => ({
    key: (ns: string, name: string) => `${kind}/${ns}/${name}`,
    cache: { get: (k: string) => (byKey.has(k) ? { obj: byKey.get(k) } : undefined) },
    current: async () => undefined,
  });
  return { must: (_g: string, plural: string) => res(plural === 'pods' ? 'Pod' : 'Node') } as unknown as Registry;
}

const NODE_UID = 'uid-n1';
const reg = fakeRegistry([
  { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: NODE_UID } } as KObject,
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'mine', namespace: 'app', uid: 'pod-uid' }, spec: { nodeName: 'n1' } } as KObject,
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'theirs', namespace: 'app', uid: 'pod-uid-2' }, spec: { nodeName: 'n2' } } as KObject,
]);

function attrs(plural: string, group: string, o: Partial<AdmissionAttributes>): AdmissionAttributes {
  return { operation: 'UPDATE', resource: resourceByPlural(group, plural)!, subresource: '', namespace: '', name: '', dryRun: false, user: n1, ...o };
}

async function admit(a: AdmissionAttributes): Promise<string | undefined> {
  try {
    await nodeRestriction().admit(a, reg);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof StatusError, String(e));
    return e.message;
  }
}

const node = (labels: Record<string, string> = {}, taints: unknown[] = [], name = 'n1') => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: { taints } }) as unknown as KObject;

function mirrorPod(o: { nodeName?: string; owner?: Record<string, unknown> | null; spec?: Record<string, unknown>; annotations?: Record<string, string> } = {}): KObject {
  const owner = o.owner === null ? [] : [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: NODE_UID, controller: true, ...(o.owner ?? {}) }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'static-n1', namespace: 'kube-system', annotations: o.annotations ?? { 'kubernetes.io/config.mirror': 'hash' }, ownerReferences: owner },
    spec: { nodeName: o.nodeName ?? 'n1', containers: [{ name: 'c', image: 'x' }], ...(o.spec ?? {}) },
  } as unknown as KObject;
}

describe('NodeRestriction', () => {
  const cases: [string, AdmissionAttributes, string | undefined][] = [
    ['a node updates its own Node', attrs('nodes', '', { name: 'n1', object: node(), oldObject: node() }), undefined],
    ['a node updates another Node', attrs('nodes', '', { name: 'n2', object: node({}, [], 'n2'), oldObject: node({}, [], 'n2') }), 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'],
    ['a node changes its taints', attrs('nodes', '', { name: 'n1', object: node({}, [{ key: 'k', effect: 'NoSchedule' }]), oldObject: node() }), 'nodes "n1" is forbidden: node "n1" is not allowed to modify taints'],
    ['a node sets a kubelet label', attrs('nodes', '', { name: 'n1', object: node({ 'kubernetes.io/hostname': 'h', 'node.kubernetes.io/instance-type': 't', 'example.com/team': 'a' }), oldObject: node() }), undefined],
    ['a node sets a node-role label', attrs('nodes', '', { name: 'n1', object: node({ 'node-role.kubernetes.io/control-plane': '' }), oldObject: node() }), 'nodes "n1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/control-plane'],
    ['a node registers with a node-restriction label', attrs('nodes', '', { operation: 'CREATE', name: 'n1', object: node({ 'node-restriction.kubernetes.io/pool': 'x' }) }), 'nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/pool'],
    ['a node updates status of its pod', attrs('pods', '', { namespace: 'app', name: 'mine', subresource: 'status', object: { metadata: { name: 'mine' }, spec: { nodeName: 'n1' } } as unknown as KObject, oldObject: { metadata: { name: 'mine' }, spec: { nodeName: 'n1' } } as unknown as KObject }), undefined],
    ['a node updates status of another node pod', attrs('pods', '', { namespace: 'app', name: 'theirs', subresource: 'status', object: { metadata: { name: 'theirs' }, spec: { nodeName: 'n2' } } as unknown as KObject, oldObject: { metadata: { name: 'theirs' }, spec: { nodeName: 'n2' } } as unknown as KObject }), 'pods "theirs" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself'],
    ['a node relabels a pod through status', attrs('pods', '', { namespace: 'app', name: 'mine', subresource: 'status', object: { metadata: { name: 'mine', labels: { a: 'b' } }, spec: { nodeName: 'n1' } } as unknown as KObject, oldObject: { metadata: { name: 'mine' }, spec: { nodeName: 'n1' } } as unknown as KObject }), 'pods "mine" is forbidden: node "n1" cannot update labels through pod status'],
    ['a node updates a pod spec', attrs('pods', '', { namespace: 'app', name: 'mine', object: { metadata: { name: 'mine' } } as KObject }), 'pods "mine" is forbidden: unexpected operation "UPDATE", node "n1" can only create and delete mirror pods'],
    ['a node deletes its pod', attrs('pods', '', { operation: 'DELETE', namespace: 'app', name: 'mine', oldObject: { metadata: { name: 'mine' }, spec: { nodeName: 'n1' } } as unknown as KObject }), undefined],
    ['a node deletes another node pod', attrs('pods', '', { operation: 'DELETE', namespace: 'app', name: 'theirs', oldObject: { metadata: { name: 'theirs' }, spec: { nodeName: 'n2' } } as unknown as KObject }), 'pods "theirs" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself'],
    ['a node creates a mirror pod', attrs('pods', '', { operation: 'CREATE', namespace: 'kube-system', name: 'static-n1', object: mirrorPod() }), undefined],
    ['a node creates an ordinary pod', attrs('pods', '', { operation: 'CREATE', namespace: 'kube-system', name: 'static-n1', object: mirrorPod({ annotations: {} }) }), 'pods "static-n1" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods'],
    ['a node creates a mirror pod for another node', attrs('pods', '', { operation: 'CREATE', namespace: 'kube-system', name: 'static-n1', object: mirrorPod({ nodeName: 'n2' }) }), 'pods "static-n1" is forbidden: node "n1" can only create pods with spec.nodeName set to itself'],
    ['a mirror pod without owner', attrs('pods', '', { operation: 'CREATE', namespace: 'kube-system', name: 'static-n1', object: mirrorPod({ owner: null }) }), 'pods "static-n1" is forbidden: node "n1" can only create pods with an owner reference set to itself'],
    ['a mirror pod owned by a stale node', attrs('pods', '', { operation: 'CREATE', namespace: 'kube-system', name: 'static-n1', object: mirrorPod({ owner: { uid: 'old' } }) }), `pods "static-n1" is forbidden: node n1 UID mismatch: expected old got ${NODE_UID}`],
    ['a mirror pod mounting a secret', attrs('pods', '', { operation: 'CREATE', namespace: 'kube-system', name: 'static-n1', object: mirrorPod({ spec: { volumes: [{ name: 's', secret: { secretName: 'x' } }] } }) }), 'pods "static-n1" is forbidden: node "n1" can not create pods that reference secrets'],
    ['a mirror pod with a service account', attrs('pods', '', { operation: 'CREATE', namespace: 'kube-system', name: 'static-n1', object: mirrorPod({ spec: { serviceAccountName: 'default' } }) }), 'pods "static-n1" is forbidden: node "n1" can not create pods that reference a service account'],
    ['a node evicts its pod', attrs('pods', '', { operation: 'CREATE', namespace: 'app', name: 'mine', subresource: 'eviction', object: { metadata: { name: 'mine' } } as KObject }), undefined],
    ['a node evicts another node pod', attrs('pods', '', { operation: 'CREATE', namespace: 'app', name: 'theirs', subresource: 'eviction', object: { metadata: { name: 'theirs' } } as KObject }), 'pods "theirs" is forbidden: node n1 can only evict pods with spec.nodeName set to itself'],
    ['a node execs into a pod', attrs('pods', '', { operation: 'CREATE', namespace: 'app', name: 'mine', subresource: 'exec' }), `pods "mine" is forbidden: unexpected pod subresource "exec", only 'status' and 'eviction' are allowed`],
    ['a node renews its lease', attrs('leases', 'coordination.k8s.io', { namespace: 'kube-node-lease', name: 'n1', object: { metadata: { name: 'n1' } } as KObject }), undefined],
    ['a node creates another node lease', attrs('leases', 'coordination.k8s.io', { operation: 'CREATE', namespace: 'kube-node-lease', name: 'n2', object: { metadata: { name: 'n2' } } as KObject }), 'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node'],
    ['a node updates a claim', attrs('persistentvolumeclaims', '', { namespace: 'app', name: 'c', object: { metadata: { name: 'c' } } as KObject }), 'persistentvolumeclaims "c" is forbidden: may only update PVC status'],
    ['a node updates claim capacity', attrs('persistentvolumeclaims', '', { namespace: 'app', name: 'c', subresource: 'status', object: { metadata: { name: 'c', resourceVersion: '2' }, status: { capacity: { storage: '2Gi' } } } as unknown as KObject, oldObject: { metadata: { name: 'c', resourceVersion: '1' }, status: { capacity: { storage: '1Gi' } } } as unknown as KObject }), undefined],
    ['a node requests a token for its pod', attrs('serviceaccounts', '', { operation: 'CREATE', namespace: 'app', name: 'default', subresource: 'token', object: { metadata: {}, spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'mine', uid: 'pod-uid' } } } as unknown as KObject }), undefined],
    ['a node requests a token for another node pod', attrs('serviceaccounts', '', { operation: 'CREATE', namespace: 'app', name: 'default', subresource: 'token', object: { metadata: {}, spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'theirs', uid: 'pod-uid-2' } } } as unknown as KObject }), 'serviceaccounts "default" is forbidden: node requested token bound to a pod scheduled on a different node'],
    ['a node requests an unbound token', attrs('serviceaccounts', '', { operation: 'CREATE', namespace: 'app', name: 'default', subresource: 'token', object: { metadata: {}, spec: {} } as unknown as KObject }), 'serviceaccounts "default" is forbidden: node requested token not bound to a pod'],
    ['other kinds are not restricted', attrs('configmaps', '', { operation: 'CREATE', namespace: 'app', name: 'x', object: { metadata: { name: 'x' } } as KObject }), undefined],
  ];
  for (const [name, a, want] of cases) {
    test(name, async () => assert.equal(await admit(a), want));
  }

  test('other users are not restricted', async () => {
    assert.equal(await admit(attrs('nodes', '', { name: 'n2', object: node(), oldObject: node(), user: { name: 'admin', groups: ['system:masters'] } })), undefined);
  });

  test('the forbidden node labels are the kubernetes.io ones outside the kubelet set, sorted', () => {
    assert.deepEqual(forbiddenNodeLabels(['zeta.k8s.io/x', 'kubernetes.io/os', 'foo.node.kubernetes.io/ok', 'kubelet.kubernetes.io/ok', 'a.kubernetes.io/bad', 'plain']), ['a.kubernetes.io/bad', 'zeta.k8s.io/x']);
  });
});

// The pod-mutating admission plugins through the in-process server: ServiceAccount,
// DefaultTolerationSeconds and Priority, with upstream's messages.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Transport } from '../../api/transport.ts';
import { createNamespace, podManifest, startTestChain, type TestChain } from '../testing-chain.ts';
import { ADMISSION_ORDER, defaultAdmissionPlugins } from './plugins.ts';

let chain: TestChain;
let t: Transport;
const NS = 'adm';
const PODS = `/api/v1/namespaces/${NS}/pods`;

before(async () => {
  chain = await startTestChain({
    admission: defaultAdmissionPlugins({
      defaultNotReadyTolerationSeconds: 120,
      defaultUnreachableTolerationSeconds: 200,
      serviceAccount: { defaultAccountAttempts: 1 },
    }),
  });
  t = chain.transport();
  await createNamespace(t, NS);
});
after(async () => {
  await chain.stop();
});

async function createPod(body: Record<string, unknown>, path = PODS) {
  return t.request({ method: 'POST', path, body });
}

test('the chain runs in upstream order', () => {
  assert.deepEqual(defaultAdmissionPlugins().map((p) => p.name), [...ADMISSION_ORDER]);
});

describe('ServiceAccount', () => {
  test('a pod without serviceAccountName runs as default and mounts the kube-api-access projected volume in every container', async () => {
    const res = await createPod(
      podManifest('sa-default', [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }], { initContainers: [{ name: 'init', image: 'busybox' }] }),
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const spec = (res.body as any).spec;
    assert.equal(spec.serviceAccountName, 'default');
    const vols = spec.volumes.filter((v: any) => v.name.startsWith('kube-api-access-'));
    assert.equal(vols.length, 1);
    assert.match(vols[0].name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(vols[0].projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    });
    for (const c of [...spec.containers, ...spec.initContainers]) {
      assert.deepEqual(c.volumeMounts, [{ name: vols[0].name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }], c.name);
    }
  });

  test('a pod naming a service account that does not exist is refused with upstream\'s message', async () => {
    const res = await createPod(podManifest('sa-missing', undefined, { serviceAccountName: 'robot' }));
    assert.equal(res.status, 403);
    assert.equal((res.body as any).reason, 'Forbidden');
    assert.equal((res.body as any).message, `pods "sa-missing" is forbidden: error looking up service account ${NS}/robot: serviceaccount "robot" not found`);
  });

  test('a namespace without its default service account refuses pods until it exists', async () => {
    const r = await t.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'adm-nosa' } } });
    assert.equal(r.status, 201);
    const res = await createPod(podManifest('p'), '/api/v1/namespaces/adm-nosa/pods');
    assert.equal(res.status, 403);
    assert.equal((res.body as any).message, 'pods "p" is forbidden: error looking up service account adm-nosa/default: serviceaccount "default" not found');
  });

  test('automountServiceAccountToken: the pod\'s choice wins over the account\'s, and false mounts nothing', async () => {
    const sa = await t.request({
      method: 'POST',
      path: `/api/v1/namespaces/${NS}/serviceaccounts`,
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'quiet' }, automountServiceAccountToken: false, imagePullSecrets: [{ name: 'regcred' }] },
    });
    assert.equal(sa.status, 201);
    const off = await createPod(podManifest('quiet-off', undefined, { serviceAccountName: 'quiet' }));
    assert.equal(off.status, 201, JSON.stringify(off.body));
    assert.equal((off.body as any).spec.volumes, undefined);
    assert.equal((off.body as any).spec.containers[0].volumeMounts, undefined);
    assert.deepEqual((off.body as any).spec.imagePullSecrets, [{ name: 'regcred' }], 'the account\'s imagePullSecrets are copied');
    const on = await createPod(podManifest('quiet-on', undefined, { serviceAccountName: 'quiet', automountServiceAccountToken: true }));
    assert.equal(on.status, 201);
    assert.equal((on.body as any).spec.volumes.length, 1);
    const podOff = await createPod(podManifest('pod-off', undefined, { automountServiceAccountToken: false }));
    assert.equal(podOff.status, 201);
    assert.equal((podOff.body as any).spec.volumes, undefined);
  });

  test('a container that already mounts the token path keeps its own mount', async () => {
    const res = await createPod(
      podManifest('own-mount', [{ name: 'a', image: 'busybox', volumeMounts: [{ name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }], {
        volumes: [{ name: 'mine', emptyDir: {} }],
      }),
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const spec = (res.body as any).spec;
    assert.deepEqual(spec.volumes.map((v: any) => v.name), ['mine'], 'no token volume when no container needs it');
    assert.equal(spec.containers[0].volumeMounts.length, 1);
  });

  test('a mirror pod may not reference a service account', async () => {
    const body = podManifest('mirror', undefined, { serviceAccountName: 'default' });
    (body.metadata as any).annotations = { 'kubernetes.io/config.mirror': 'abc' };
    const res = await createPod(body);
    assert.equal(res.status, 403);
    assert.equal((res.body as any).message, 'pods "mirror" is forbidden: a mirror pod may not reference service accounts');
  });
});

describe('DefaultTolerationSeconds', () => {
  test('a pod gets the not-ready and unreachable NoExecute tolerations with the server\'s seconds', async () => {
    const res = await createPod(podManifest('tol'));
    assert.equal(res.status, 201);
    assert.deepEqual((res.body as any).spec.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 120 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 200 },
    ]);
  });

  test('tolerations the pod already has are kept and not duplicated', async () => {
    const own = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 };
    const res = await createPod(podManifest('tol-own', undefined, { tolerations: [own] }));
    assert.equal(res.status, 201);
    assert.deepEqual((res.body as any).spec.tolerations, [own, { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 200 }]);
    const all = await createPod(podManifest('tol-all', undefined, { tolerations: [{ operator: 'Exists' }] }));
    assert.equal(all.status, 201);
    assert.deepEqual((all.body as any).spec.tolerations, [{ operator: 'Exists' }], 'an empty key and effect tolerate everything');
  });
});

describe('Priority', () => {
  const PCS = '/apis/scheduling.k8s.io/v1/priorityclasses';
  const pc = (name: string, value: number, extra: Record<string, unknown> = {}) =>
    t.request({ method: 'POST', path: PCS, body: { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, ...extra } });

  test('without a class and without a default, a pod gets priority 0 and PreemptLowerPriority', async () => {
    const res = await createPod(podManifest('prio-none'));
    assert.equal(res.status, 201);
    const spec = (res.body as any).spec;
    assert.equal(spec.priority, 0);
    assert.equal(spec.preemptionPolicy, 'PreemptLowerPriority');
    assert.equal(spec.priorityClassName, undefined);
  });

  test('a named class gives its value and preemption policy', async () => {
    assert.equal((await pc('batch-low', 100, { preemptionPolicy: 'Never' })).status, 201);
    const res = await createPod(podManifest('prio-named', undefined, { priorityClassName: 'batch-low' }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((res.body as any).spec.priority, 100);
    assert.equal((res.body as any).spec.preemptionPolicy, 'Never');
  });

  test('the built-in system-node-critical class is usable outside kube-system, as in upstream since 1.17', async () => {
    const res = await createPod(podManifest('prio-critical', undefined, { priorityClassName: 'system-node-critical' }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((res.body as any).spec.priority, 2000001000);
  });

  test('an unknown class, and a priority that contradicts the class, are refused with upstream\'s messages', async () => {
    const res = await createPod(podManifest('prio-unknown', undefined, { priorityClassName: 'nope' }));
    assert.equal(res.status, 403);
    assert.equal((res.body as any).message, 'pods "prio-unknown" is forbidden: no PriorityClass with name nope was found');
    const wrong = await createPod(podManifest('prio-wrong', undefined, { priorityClassName: 'batch-low', priority: 7 }));
    assert.equal(wrong.status, 403);
    assert.equal(
      (wrong.body as any).message,
      'pods "prio-wrong" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 100 from the given PriorityClass name',
    );
  });

  test('the globalDefault class applies to pods without a class, and only one default may exist', async () => {
    assert.equal((await pc('everyday', 50, { globalDefault: true })).status, 201);
    await chain.registry.watchCache.sync();
    const res = await createPod(podManifest('prio-default'));
    assert.equal(res.status, 201);
    assert.equal((res.body as any).spec.priorityClassName, 'everyday');
    assert.equal((res.body as any).spec.priority, 50);
    const second = await pc('another', 60, { globalDefault: true });
    assert.equal(second.status, 403);
    assert.equal((second.body as any).message, 'priorityclasses.scheduling.k8s.io "another" is forbidden: PriorityClass everyday is already marked as default. Only one default can exist');
    assert.equal((await t.request({ method: 'DELETE', path: `${PCS}/everyday` })).status, 200);
  });

  test('an update keeps the priority the pod was admitted with', async () => {
    const created = await createPod(podManifest('prio-update', undefined, { priorityClassName: 'batch-low' }));
    assert.equal(created.status, 201);
    const upd = structuredClone(created.body) as any;
    delete upd.spec.priority;
    upd.metadata.labels = { touched: 'yes' };
    const res = await t.request({ method: 'PUT', path: `${PODS}/prio-update`, body: upd });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body as any).spec.priority, 100);
  });
});

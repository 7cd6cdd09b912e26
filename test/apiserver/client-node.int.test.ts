// @kubernetes/client-node, the official JavaScript client, against a real `rudder server`:
// list, watch and create with its generated API classes and its Watch helper.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startServer, type TestServer } from '../harness.ts';

let s: TestServer;
let kc: k8s.KubeConfig;
before(async () => {
  s = await startServer();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
});
after(async () => {
  await s?.stop();
});

test('client-node lists namespaces and creates and reads a pod', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const nss = await core.listNamespace();
  assert.deepEqual(nss.items.map((n) => n.metadata?.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  const created = await core.createNamespacedPod({
    namespace: 'default',
    body: { metadata: { name: 'from-js', labels: { via: 'client-node' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  });
  assert.equal(created.metadata?.name, 'from-js');
  assert.ok(created.metadata?.uid);
  const got = await core.readNamespacedPod({ name: 'from-js', namespace: 'default' });
  assert.equal(got.spec?.containers[0]?.image, 'busybox');
  const listed = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'via=client-node' });
  assert.deepEqual(listed.items.map((p) => p.metadata?.name), ['from-js']);
});

test('client-node creates a Deployment through AppsV1Api', async () => {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const d = await apps.createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'js-deploy' },
      spec: { selector: { matchLabels: { app: 'js' } }, template: { metadata: { labels: { app: 'js' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    },
  });
  assert.equal(d.metadata?.name, 'js-deploy');
  const l = await apps.listDeploymentForAllNamespaces();
  assert.ok(l.items.some((x) => x.metadata?.name === 'js-deploy'));
});

test('client-node Watch delivers ADDED and DELETED events', async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const events: string[] = [];
  const watch = new k8s.Watch(kc);
  let req: { abort(): void } | undefined;
  const done = new Promise<void>((resolve, reject) => {
    watch
      .watch(
        '/api/v1/namespaces/default/configmaps',
        { labelSelector: 'watched=js' },
        (type: string, obj: k8s.V1ConfigMap) => {
          events.push(`${type} ${obj.metadata?.name}`);
          if (type === 'DELETED') resolve();
        },
        (err: unknown) => {
          if (err && events.length < 2) reject(err);
        },
      )
      .then((r) => (req = r as { abort(): void }), reject);
  });
  await new Promise((r) => setTimeout(r, 300));
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'js-cm', labels: { watched: 'js' } }, data: { a: 'b' } } });
  await core.deleteNamespacedConfigMap({ name: 'js-cm', namespace: 'default' });
  await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`events so far: ${events.join(', ')}`)), 10_000))]);
  req?.abort();
  assert.deepEqual(events, ['ADDED js-cm', 'DELETED js-cm']);
});

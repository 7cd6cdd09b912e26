import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerTest, TEST_CONFIG } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { DESCRIPTION, desiredRootCAConfigMap, rootCACertPublisher, ROOT_CA_CONFIGMAP } from './publisher.ts';

test('desiredRootCAConfigMap answers nothing for a correct ConfigMap and restores edited data', () => {
  const fresh = desiredRootCAConfigMap('ns', 'CA', undefined)!;
  assert.deepEqual(fresh.data, { 'ca.crt': 'CA' });
  assert.equal(fresh.metadata.annotations?.['kubernetes.io/description'], DESCRIPTION);
  assert.equal(desiredRootCAConfigMap('ns', 'CA', fresh), undefined);
  const edited = { ...fresh, data: { 'ca.crt': 'other', extra: 'x' } };
  assert.deepEqual(desiredRootCAConfigMap('ns', 'CA', edited)!.data, { 'ca.crt': 'CA' });
});

test('kube-root-ca.crt is published in every namespace and restored after edits and deletion', async () => {
  const env = await startControllerTest([rootCACertPublisher]);
  try {
    const cms = (ns: string) => env.client.resource('', 'configmaps').namespace(ns);
    await env.client.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } });
    for (const ns of ['default', 'kube-public', 'team-b']) {
      const cm = await waitFor(`${ROOT_CA_CONFIGMAP} in ${ns}`, () => cms(ns).get(ROOT_CA_CONFIGMAP));
      assert.deepEqual(cm.data, { 'ca.crt': TEST_CONFIG.rootCaCert });
    }
    const cur = await cms('team-b').get(ROOT_CA_CONFIGMAP);
    await cms('team-b').update({ ...cur, data: { 'ca.crt': 'tampered' } });
    await waitFor('restored data', async () => ((await cms('team-b').get(ROOT_CA_CONFIGMAP)).data as Record<string, string>)['ca.crt'] === TEST_CONFIG.rootCaCert);
    await cms('team-b').delete(ROOT_CA_CONFIGMAP);
    const back = await waitFor('recreated', async () => {
      const cm = await cms('team-b').get(ROOT_CA_CONFIGMAP);
      return cm.metadata.uid !== cur.metadata.uid ? cm : undefined;
    });
    assert.deepEqual(back.data, { 'ca.crt': TEST_CONFIG.rootCaCert });
  } finally {
    await env.stop();
  }
});

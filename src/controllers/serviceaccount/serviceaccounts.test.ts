import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerTest } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { serviceAccountController } from './serviceaccounts.ts';
import { isNotFound } from '../cluster/errors.ts';

test('every namespace gets a default ServiceAccount, recreated after deletion', async () => {
  const env = await startControllerTest([serviceAccountController]);
  try {
    const c = env.client;
    for (const ns of ['default', 'kube-system']) {
      await waitFor(`default SA in ${ns}`, () => c.resource('', 'serviceaccounts').namespace(ns).get('default'));
    }
    await c.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    const sa = await waitFor('default SA in team-a', () => c.resource('', 'serviceaccounts').namespace('team-a').get('default'));
    await c.resource('', 'serviceaccounts').namespace('team-a').delete('default');
    const again = await waitFor('a new default SA', async () => {
      const s = await c.resource('', 'serviceaccounts').namespace('team-a').get('default');
      return s.metadata.uid !== sa.metadata.uid ? s : undefined;
    });
    assert.equal(again.metadata.name, 'default');
    // other service accounts are not the controller's business
    await c.resource('', 'serviceaccounts').namespace('team-a').create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' } });
    await c.resource('', 'serviceaccounts').namespace('team-a').delete('builder');
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(c.resource('', 'serviceaccounts').namespace('team-a').get('builder'), (e) => isNotFound(e));
  } finally {
    await env.stop();
  }
});

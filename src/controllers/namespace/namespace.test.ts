import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../client/clock.ts';
import { startControllerTest } from '../testing.ts';
import { waitFor } from '../cluster/wait.ts';
import { ensureServiceAccount } from '../cluster/fixtures.ts';
import { isNotFound } from '../cluster/errors.ts';
import { namespaceController } from './namespace.ts';
import type { NamespaceCondition } from './conditions.ts';

test('a deleted namespace loses its contents, reports what remains, then goes', async () => {
  const clock = new FakeClock(Date.now());
  const env = await startControllerTest([namespaceController], { clock });
  try {
    const c = env.client;
    const ns = c.resource('', 'namespaces');
    await ns.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await ensureServiceAccount(c, 'doomed');
    const cms = c.resource('', 'configmaps').namespace('doomed');
    for (const n of ['a', 'b']) await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n } });
    await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    await c.resource('', 'secrets').namespace('doomed').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } });
    await c.resource('', 'pods').namespace('doomed').create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await ns.delete('doomed');

    const conds = await waitFor('conditions reporting the held ConfigMap', async () => {
      const o = await ns.get('doomed');
      const cs = ((o.status as { conditions?: NamespaceCondition[] }).conditions ?? []);
      return cs.find((x) => x.type === 'NamespaceFinalizersRemaining' && x.status === 'True') ? cs : undefined;
    });
    const by = Object.fromEntries(conds.map((x) => [x.type, x]));
    assert.equal(by.NamespaceContentRemaining!.reason, 'SomeResourcesRemain');
    assert.equal(by.NamespaceContentRemaining!.message, 'Some resources are remaining: configmaps. has 1 resource instances');
    assert.equal(by.NamespaceFinalizersRemaining!.reason, 'SomeFinalizerRemain');
    assert.equal(by.NamespaceFinalizersRemaining!.message, 'Some finalizers are remaining: example.com/hold in 1 resource instances');
    assert.deepEqual([by.NamespaceDeletionDiscoveryFailure!.status, by.NamespaceDeletionDiscoveryFailure!.reason], ['False', 'ResourcesDiscovered']);
    assert.deepEqual([by.NamespaceDeletionContentFailure!.status, by.NamespaceDeletionContentFailure!.reason], ['False', 'ContentDeleted']);
    assert.equal(((await ns.get('doomed')).status as { phase: string }).phase, 'Terminating');
    // everything else is gone already
    assert.deepEqual((await cms.list()).items.map((x) => x.metadata.name), ['held']);
    assert.deepEqual((await c.resource('', 'secrets').namespace('doomed').list()).items, []);
    assert.deepEqual((await c.resource('', 'pods').namespace('doomed').list()).items, []);
    assert.deepEqual(((await ns.get('doomed')).spec as { finalizers?: string[] }).finalizers, ['kubernetes']);

    // the last finalizer goes; the controller looks again after half the 15 s estimate (+1 s)
    await cms.patch('held', 'merge', { metadata: { finalizers: null } });
    await waitFor('held gone', () => cms.get('held').then(() => false, (e) => isNotFound(e)));
    await clock.advance(9_000);
    await waitFor('namespace gone', () => ns.get('doomed').then(() => false, (e) => isNotFound(e)));
  } finally {
    await env.stop();
  }
});

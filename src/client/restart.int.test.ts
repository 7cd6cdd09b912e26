// The client across a server restart: the HTTPS transport reconnects by itself, and an informer
// whose resourceVersion the restarted server no longer has events for (410) relists and delivers
// exactly what changed while it was away.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import type { KObject } from '../api/meta.ts';
import { eventually, startServer, type TestServer } from '../../test/harness.ts';
import { Client } from './client.ts';
import { FaultyTransport } from './fake-transport.ts';
import { httpsTransportFromKubeconfig } from './https.ts';
import { SharedInformer } from './informer.ts';

const quiet = () => {};

function cm(name: string, data: Record<string, string> = {}): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { restart: 'yes' } }, data };
}

let first: TestServer | undefined;
let second: TestServer | undefined;
after(async () => {
  await first?.stop();
  await second?.stop();
  if (first) rmSync(first.dataDir, { recursive: true, force: true });
});

test('after a server restart the transport reconnects and a 410 makes the informer relist the difference', async () => {
  first = await startServer();
  const { transport } = httpsTransportFromKubeconfig(first.kubeconfig);
  const faulty = new FaultyTransport(transport);
  const client = new Client(faulty);
  const cms = client.resource('', 'configmaps').namespace('default');
  try {
    await cms.create(cm('keep'));
    const upd = await cms.create(cm('upd', { v: '1' }));
    await cms.create(cm('del'));
    const informer = new SharedInformer(cms, { labelSelector: 'restart', log: quiet, backoffInitialMs: 50, backoffMaxMs: 200, random: () => 0 });
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: (o, initial) => seen.push(`add ${o.metadata.name}${initial ? ' initial' : ''}`),
      onUpdate: (a, b) => seen.push(`update ${b.metadata.name} ${(a.data as Record<string, string>).v}->${(b.data as Record<string, string>).v}`),
      onDelete: (o, unknown) => seen.push(`delete ${o.metadata.name}${unknown ? ' (final state unknown)' : ''}`),
    });
    informer.start();
    await informer.waitForSync();
    assert.deepEqual(seen.sort(), ['add del initial', 'add keep initial', 'add upd initial']);
    seen.length = 0;

    // The informer is cut off; meanwhile the objects change (through the admin's kubectl) ...
    faulty.down = true;
    faulty.breakWatches();
    await first.k(['patch', 'configmap', 'upd', '--type=merge', '-p', '{"data":{"v":"2"}}']);
    await first.k(['delete', 'configmap', 'del']);
    await first.k(['create', 'configmap', 'new']);
    await first.k(['label', 'configmap', 'new', 'restart=yes']);
    // ... and the server restarts on the same port, forgetting its event history.
    const port = first.port;
    await first.stop({ keepData: true });
    second = await startServer({ dataDir: first.dataDir, extraArgs: ['--https-listen-port', String(port)] });
    assert.equal(second.port, port);

    faulty.down = false;
    await eventually(() => informer.stats.relistsAfterExpired >= 1, 15_000, 'a relist after 410');
    await eventually(() => seen.length === 3, 10_000, 'the difference');
    assert.deepEqual(seen.sort(), ['add new', 'delete del (final state unknown)', 'update upd 1->2']);
    assert.deepEqual(informer.lister().list().map((o) => o.metadata.name).sort(), ['keep', 'new', 'upd']);
    assert.notEqual(informer.lister().namespace('default').get('upd')!.metadata.resourceVersion, upd.metadata.resourceVersion);

    // The transport reconnected by itself, and the informer watches again.
    await eventually(() => faulty.watchCount() === 1, 10_000, 'watching again');
    await cms.create(cm('after-restart'));
    await eventually(() => seen.includes('add after-restart'), 10_000, 'events after the restart');
    informer.stop();
  } finally {
    await transport.close();
  }
});

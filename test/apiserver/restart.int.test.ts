// A server restarted on the same data dir: acknowledged objects survive a kill -9, the PKI and
// kubeconfig are reused, and a watch resuming from before the restart is told to relist (410).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startServer } from '../harness.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'rudder-restart-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('acknowledged writes survive kill -9; a restart keeps the PKI and answers an old watch with 410', async () => {
  const s1 = await startServer({ dataDir });
  const kubeconfigBefore = readFileSync(s1.kubeconfig, 'utf8');
  const acked: string[] = [];
  let stop = false;
  // writers keep going while the server is killed
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const name = `w${w}-${i}`;
      try {
        const r = await s1.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: name } } });
        if (r.status === 201) acked.push(name);
      } catch {
        return;
      }
    }
  });
  const oldRV = (await s1.request('GET', '/api/v1/namespaces/default/configmaps?limit=1')).json().metadata.resourceVersion;
  await new Promise((r) => setTimeout(r, 1500));
  s1.proc.kill('SIGKILL');
  stop = true;
  await Promise.all(writers);
  await s1.stop({ keepData: true });
  assert.ok(acked.length > 50, `enough writes were acknowledged (${acked.length})`);

  const s2 = await startServer({ dataDir });
  try {
    assert.equal(readFileSync(s2.kubeconfig, 'utf8').replace(/server: .*/, ''), kubeconfigBefore.replace(/server: .*/, ''), 'same CA and admin credentials');
    const names = new Set<string>();
    let cont = '';
    do {
      const l = (await s2.request('GET', `/api/v1/namespaces/default/configmaps?limit=500${cont ? `&continue=${cont}` : ''}`)).json();
      for (const i of l.items) names.add(i.metadata.name);
      cont = l.metadata.continue ?? '';
    } while (cont);
    const lost = acked.filter((n) => !names.has(n));
    assert.deepEqual(lost, [], 'every acknowledged create is present');
    const w = await s2.request('GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${oldRV}&timeoutSeconds=2`);
    assert.equal(w.status, 200);
    const ev = JSON.parse(w.text().trim().split('\n')[0]!);
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
    assert.equal(ev.object.reason, 'Expired');
    assert.match(ev.object.message, /too old resource version/);
    assert.match(await s2.k(['get', 'configmaps', '--chunk-size=100']), /^w0-0\s+1\s+/m);
  } finally {
    await s2.stop({ keepData: true });
  }
});

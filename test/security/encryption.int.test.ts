// Secrets at rest: encrypted by default on both backends (absent from the SQLite file and from
// etcd's values read raw), readable through the API before and after a key rotation done with
// `rudder secrets-encrypt` while the server keeps serving.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEtcd, type EtcdCluster } from '../../src/storage/etcd/testing.ts';
import { RUDDER, startServer, type TestServer } from '../harness.ts';

const SECRET_VALUE = 'correct-horse-battery-staple-4d9f';

function rudder(s: TestServer, ...args: string[]): string {
  const r = spawnSync(RUDDER, [...args, '--kubeconfig', s.kubeconfig], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

for (const backend of ['sqlite', 'etcd'] as const) {
  describe(`secrets encryption on ${backend}`, () => {
    let s: TestServer;
    let etcd: EtcdCluster | undefined;
    before(async () => {
      if (backend === 'etcd') etcd = await startEtcd();
      s = await startServer(etcd ? { datastoreEndpoint: etcd.endpoints.join(',') } : {});
    });
    after(async () => {
      await s?.stop();
      await etcd?.stop();
    });

    /** Every byte the store holds for secrets, read raw (not through the API). */
    const rawStore = (): Buffer => {
      if (backend === 'sqlite') {
        const dir = join(s.dataDir, 'db');
        return Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
      }
      const out = execFileSync('etcdctl', ['--endpoints', etcd!.endpoints[0]!, 'get', '--prefix', '/registry/secrets/'], { env: { ...process.env, ETCDCTL_API: '3' } });
      return out;
    };

    test('a secret\'s value is not in the store but reads back through the API', async () => {
      await s.k(['create', 'secret', 'generic', 'db', `--from-literal=password=${SECRET_VALUE}`]);
      const got = JSON.parse(await s.k(['get', 'secret', 'db', '-o', 'json']));
      assert.equal(Buffer.from(got.data.password, 'base64').toString(), SECRET_VALUE);
      const raw = rawStore();
      assert.ok(!raw.includes(SECRET_VALUE), 'plaintext value absent');
      assert.ok(!raw.includes(Buffer.from(SECRET_VALUE).toString('base64')), 'base64 value absent');
      if (backend === 'etcd') assert.match(raw.toString('latin1'), /k8s:enc:aescbc:v1:aescbckey-/);
      // non-secret objects stay readable as JSON (only secrets are configured)
      await s.k(['create', 'configmap', 'plain', '--from-literal=k=visible-config-value']);
      if (backend === 'etcd') {
        const cm = execFileSync('etcdctl', ['--endpoints', etcd!.endpoints[0]!, 'get', '/registry/configmaps/default/plain'], { env: { ...process.env, ETCDCTL_API: '3' } });
        assert.ok(cm.includes('visible-config-value'));
      }
    });

    test('prepare, rotate and reencrypt move every secret to a new key without a restart', async () => {
      const before = rudder(s, 'secrets-encrypt', 'status');
      assert.match(before, /^Encryption Status: Enabled$/m);
      const firstKey = /^ \*\s+AES-CBC\s+(\S+)$/m.exec(before)![1];
      rudder(s, 'secrets-encrypt', 'prepare');
      rudder(s, 'secrets-encrypt', 'rotate');
      const rotated = rudder(s, 'secrets-encrypt', 'status');
      const newKey = /^ \*\s+AES-CBC\s+(\S+)$/m.exec(rotated)![1];
      assert.notEqual(newKey, firstKey);
      assert.match(rotated, /Secrets: \d+ with the write key, [1-9]\d* to re-encrypt/);
      // still readable with the old key in between
      const mid = JSON.parse(await s.k(['get', 'secret', 'db', '-o', 'json']));
      assert.equal(Buffer.from(mid.data.password, 'base64').toString(), SECRET_VALUE);
      const done = rudder(s, 'secrets-encrypt', 'reencrypt');
      assert.match(done, /Secrets: \d+ with the write key, 0 to re-encrypt/);
      assert.ok(!done.includes(firstKey!), 'the old key is retired');
      const after = JSON.parse(await s.k(['get', 'secret', 'db', '-o', 'json']));
      assert.equal(Buffer.from(after.data.password, 'base64').toString(), SECRET_VALUE);
      assert.ok(!rawStore().includes(SECRET_VALUE));
      if (backend === 'etcd') assert.ok(rawStore().toString('latin1').includes(`k8s:enc:aescbc:v1:${newKey}:`));
    });
  });
}

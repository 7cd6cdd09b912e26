// Joining a cluster: the join token, the CA the server presents, the bootstrap certificate request,
// the saved credentials, and renewal — against a real API server with its certificate controllers.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KObject } from '../api/meta.ts';
import type { Transport } from '../api/transport.ts';
import { ensurePki } from '../apiserver/pki.ts';
import { Client } from '../client/client.ts';
import { FakeClock } from '../client/clock.ts';
import { httpsTransportFromKubeconfig } from '../client/https.ts';
import { bootstrapNodeCredentials, credentialPaths, KUBELET_CLIENT_SIGNER, CLIENT_USAGES, httpsTransportFactory } from './bootstrap.ts';
import { CertificateManager, rotationDeadline } from './cert-manager.ts';
import { caCertHash, certInfo } from './certs.ts';
import { discoverCa } from './discovery.ts';
import { formatJoinToken, parseJoinToken } from './join-token.ts';
import { RotatingTransport } from './rotating-transport.ts';
import { startAgentTestCluster, type AgentTestCluster } from './testing.ts';

async function whoami(c: Client): Promise<{ username: string; groups: string[] }> {
  const r = (await c.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {} },
  })) as { status: { userInfo: { username: string; groups: string[] } } };
  return r.status.userInfo;
}

describe('join tokens', () => {
  it('carry the CA hash and the bootstrap token, and say what is wrong with a bad one', () => {
    const hash = 'a'.repeat(64);
    const t = parseJoinToken(formatJoinToken(hash, 'abcdef.0123456789abcdef'));
    assert.deepEqual(t, { caHash: hash, bootstrapToken: 'abcdef.0123456789abcdef', id: 'abcdef' });
    assert.throws(() => parseJoinToken('abcdef.0123456789abcdef'), /^Error: invalid join token: expected K10<ca-hash>::<id>\.<secret>, as printed by "rudder token create" on a server$/);
    assert.throws(() => parseJoinToken(`K10${hash}::ABCDEF.0123456789abcdef`), /the part after "::" must be a bootstrap token/);
  });

  it('rotation deadlines fall between 70% and 90% of the lifetime', () => {
    const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≈ ${b}`);
    near(rotationDeadline(0, 1000, () => 0), 700);
    near(rotationDeadline(0, 1000, () => 1), 900);
    near(rotationDeadline(1000, 2000, () => 0.5), 1800);
  });
});

describe('renewal timing', () => {
  it('a year-long certificate is renewed at its deadline, not before (timers cap at 24.8 days)', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rudder-renew-'));
    try {
      const pki = await ensurePki(join(dir, 'tls'), { sans: ['127.0.0.1'] });
      const pair = await pki.signClientCert('system:node:n1', ['system:nodes'], 365);
      const start = Date.now();
      const clock = new FakeClock(start);
      // The deadline is 70% of the certificate's own lifetime (random() = 0 below), counted from its
      // notBefore, which the signer backdates by a minute: 18 s before start + 255.5 days.
      const x509 = new X509Certificate(pair.cert);
      const [notBefore, notAfter] = [Date.parse(x509.validFrom), Date.parse(x509.validTo)];
      const deadlineDay = (notBefore + 0.7 * (notAfter - notBefore) - start) / 86_400_000;
      const asked: string[] = [];
      /** The fake clock's time of each request, in days since the test's start. */
      const askedAt: number[] = [];
      const transport: Transport = {
        request: async (r) => (asked.push(`${r.method} ${r.path}`), askedAt.push((clock.now() - start) / 86_400_000), { status: 503, body: { kind: 'Status', code: 503, message: 'later' }, headers: {} }),
        watch: () => ({ close() {} }),
        close: async () => {},
      };
      const m = new CertificateManager({
        name: 'node client',
        client: () => new Client(transport),
        subject: () => ({ commonName: 'system:node:n1', organizations: ['system:nodes'] }),
        signerName: KUBELET_CLIENT_SIGNER,
        usages: CLIENT_USAGES,
        certFile: join(dir, 'c.crt'),
        keyFile: join(dir, 'c.key'),
        initial: { certPem: pair.cert, keyPem: pair.key },
        clock,
        random: () => 0,
      });
      m.start();
      const day = 86_400_000;
      // (key generation runs on real time: give it a moment after each step)
      const settleReal = async (ms: number) => {
        for (let i = 0; i < ms / 50 && asked.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      };
      await clock.advance(250 * day);
      await settleReal(1000);
      assert.deepEqual(asked, [], 'nothing asked before 70% of the lifetime');
      await clock.advance(7 * day);
      await settleReal(30_000);
      // The first request is the renewal's certificate signing request, at the deadline (70% of
      // 365 days with random() = 0); the 503 answers may be retried on the manager's back-off,
      // depending on how far the fake clock got while the key was being generated in real time.
      assert.ok(asked.length >= 1, 'renewed once the deadline passed');
      for (const a of asked) assert.equal(a, 'POST /apis/certificates.k8s.io/v1/certificatesigningrequests');
      assert.ok(deadlineDay > 255.49 && deadlineDay < 255.51, `the deadline is day ${deadlineDay}`);
      assert.ok(askedAt[0]! >= deadlineDay - 1e-9, `first request at day ${askedAt[0]}, the deadline is day ${deadlineDay}`);
      m.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bootstrapping a node', () => {
  let cluster: AgentTestCluster;
  let dir: string;
  before(async () => {
    cluster = await startAgentTestCluster();
    dir = mkdtempSync(join(tmpdir(), 'rudder-agent-'));
  });
  after(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const csrCount = async () => (await cluster.admin.resource('certificates.k8s.io', 'certificatesigningrequests').list()).items.length;

  it('the CA is taken from the server only when its hash is the pinned one', async () => {
    assert.equal(await discoverCa(cluster.url, cluster.caHash), cluster.pki.serverCaCert);
    await assert.rejects(discoverCa(cluster.url, 'b'.repeat(64)), /presents a CA \(sha256 [0-9a-f]{16}…\) that is not the one the join token pins \(sha256 bbbbbbbbbbbbbbbb…\): wrong --server, or a token of another cluster/);
    await assert.rejects(discoverCa('https://127.0.0.1:1', cluster.caHash), /^Error: cannot reach the server at https:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
  });

  it('a valid token gets a node client certificate, saved with a kubeconfig that works', async () => {
    const { token } = await cluster.joinToken();
    const creds = await bootstrapNodeCredentials({ server: cluster.url, joinToken: parseJoinToken(token), nodeName: 'worker-a', dataDir: dir, transportFor: cluster.transportFor });
    const p = credentialPaths(dir);
    for (const f of [p.cert, p.key, p.serverCa, p.clientCa, p.kubeconfig]) assert.ok(existsSync(f), f);
    const info = certInfo(readFileSync(p.cert, 'utf8'));
    assert.equal(info.commonName, 'system:node:worker-a');
    assert.deepEqual(info.organizations, ['system:nodes']);
    assert.equal(readFileSync(p.clientCa, 'utf8'), cluster.pki.clientCaCert);
    assert.equal(caCertHash(creds.serverCaPem), cluster.caHash);
    const { transport } = httpsTransportFromKubeconfig(p.kubeconfig);
    try {
      const me = await whoami(new Client(transport));
      assert.equal(me.username, 'system:node:worker-a');
      assert.ok(me.groups.includes('system:nodes'));
    } finally {
      await transport.close();
    }
  });

  it('a second start reuses the saved certificate without a new request', async () => {
    const { token } = await cluster.joinToken();
    const before = await csrCount();
    const creds = await bootstrapNodeCredentials({ server: cluster.url, joinToken: parseJoinToken(token), nodeName: 'worker-a', dataDir: dir, transportFor: cluster.transportFor });
    assert.equal(await csrCount(), before);
    assert.equal(creds.certPem, readFileSync(credentialPaths(dir).cert, 'utf8'));
  });

  it('a wrong, expired or revoked token is refused in one line and nothing is written', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'rudder-agent-'));
    try {
      const join_ = (token: string) => bootstrapNodeCredentials({ server: cluster.url, joinToken: parseJoinToken(token), nodeName: 'worker-b', dataDir: fresh, transportFor: cluster.transportFor });
      const refused = /^Error: the server at https:\/\/127\.0\.0\.1:\d+ refused the join token [a-z0-9]{6}: it is wrong, expired or revoked \(make a new one with "rudder token create" on a server\)$/;
      const good = await cluster.joinToken();
      const wrong = good.token.replace(/\.[a-z0-9]{16}$/, '.0000000000000000');
      await assert.rejects(join_(wrong), (e: Error) => refused.test(String(e)) && !String(e).includes('\n'));
      const expired = await cluster.joinToken({ expires: new Date(Date.now() - 1000) });
      await assert.rejects(join_(expired.token), refused);
      const revoked = await cluster.joinToken();
      await cluster.admin.resource('', 'secrets').namespace('kube-system').delete(`bootstrap-token-${revoked.id}`);
      await assert.rejects(join_(revoked.token), refused);
      assert.equal(existsSync(credentialPaths(fresh).cert), false);
      assert.equal(existsSync(credentialPaths(fresh).kubeconfig), false);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('a token pinning another CA never sends the token', async () => {
    const good = await cluster.joinToken();
    const other = formatJoinToken('c'.repeat(64), parseJoinToken(good.token).bootstrapToken);
    let sent = false;
    await assert.rejects(
      bootstrapNodeCredentials({
        server: cluster.url,
        joinToken: parseJoinToken(other),
        nodeName: 'worker-c',
        dataDir: join(dir, 'other'),
        transportFor: (c) => {
          sent = true;
          return cluster.transportFor(c);
        },
      }),
      /not the one the join token pins/,
    );
    assert.equal(sent, false);
  });

  it('the client certificate renews through the node\'s own identity, and the connection moves to it', async () => {
    const p = credentialPaths(dir);
    const first = { certPem: readFileSync(p.cert, 'utf8'), keyPem: readFileSync(p.key, 'utf8') };
    const make = (pair: { certPem: string; keyPem: string }) => httpsTransportFactory({ server: cluster.url, caPem: cluster.pki.serverCaCert, ...pair });
    const transport = new RotatingTransport(make(first), { graceMs: 10 });
    const client = new Client(transport);
    const rotated: string[] = [];
    const m = new CertificateManager({
      name: 'node client',
      client: () => client,
      subject: () => ({ commonName: 'system:node:worker-a', organizations: ['system:nodes'] }),
      signerName: KUBELET_CLIENT_SIGNER,
      usages: CLIENT_USAGES,
      certFile: p.cert,
      keyFile: p.key,
      initial: first,
      onRotate: (pair) => {
        rotated.push(pair.certPem);
        transport.rotate(make(pair));
      },
    });
    try {
      const deadline = m.deadline()!;
      const info = certInfo(first.certPem);
      assert.ok(deadline >= info.notBefore + 0.7 * (info.notAfter - info.notBefore) && deadline <= info.notBefore + 0.9 * (info.notAfter - info.notBefore));
      await m.rotateNow();
      assert.equal(rotated.length, 1);
      const now = readFileSync(p.cert, 'utf8');
      assert.equal(now, rotated[0]);
      assert.notEqual(new X509Certificate(now).serialNumber, new X509Certificate(first.certPem).serialNumber);
      assert.notEqual(readFileSync(p.key, 'utf8'), first.keyPem);
      const csrs = (await cluster.admin.resource<KObject & { spec: { username: string }; status: { conditions: { message: string }[] } }>('certificates.k8s.io', 'certificatesigningrequests').list()).items;
      const renewal = csrs.find((c) => c.spec.username === 'system:node:worker-a');
      assert.equal(renewal?.status.conditions[0]?.message, 'Auto approving self kubelet client certificate after SubjectAccessReview.');
      assert.equal((await whoami(client)).username, 'system:node:worker-a');
    } finally {
      m.stop();
      await transport.close();
    }
  });
});

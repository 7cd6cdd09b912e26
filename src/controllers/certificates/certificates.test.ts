// The certificate controllers: who gets a node certificate approved, what the signer issues, and
// what the cleaners remove — decisions as pure functions, and the whole path through an in-process
// API server (requests created as the requester, approval and certificate read back by a client).
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrapTokenSecret, generateBootstrapToken } from '../../api/bootstrap-token.ts';
import type { KObject } from '../../api/meta.ts';
import { csrRequesterAdmission } from '../../apiserver/auth/csr-requester.ts';
import { ensurePki, type Pki } from '../../apiserver/pki.ts';
import { Client } from '../../client/client.ts';
import { newKeyAndRequest } from '../../agent/certs.ts';
import { ensureNodeJoinRbac } from '../../agent/join-rbac.ts';
import { startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { decide, KUBELET_SERVING_MESSAGE, NODE_CLIENT_MESSAGE, SELF_NODE_CLIENT_MESSAGE, csrApprovingController } from './approver.ts';
import { csrCleanerController, csrCleanupReason, tokenCleanerController } from './cleaners.ts';
import type { Csr } from './csr.ts';
import { certificateDuration, csrSigningController } from './signer.ts';
import { parseCsr, validateKubeletClientCsr, validateKubeletServingCsr } from './x509.ts';

const CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
const SERVING_SIGNER = 'kubernetes.io/kubelet-serving';

function csrObject(pem: string, o: { signerName: string; usages: string[]; username?: string; groups?: string[]; name?: string; expirationSeconds?: number }): Csr {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: o.name ? { name: o.name } : { generateName: 'csr-' },
    spec: {
      request: Buffer.from(pem).toString('base64'),
      signerName: o.signerName,
      usages: o.usages,
      ...(o.username ? { username: o.username, groups: o.groups ?? [] } : {}),
      ...(o.expirationSeconds ? { expirationSeconds: o.expirationSeconds } : {}),
    },
  };
}

describe('kubelet request checks (upstream wording)', () => {
  it('a node client request needs O=system:nodes, CN system:node:…, no SANs and client usages', async () => {
    const ok = await parseCsr((await newKeyAndRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'] })).csrPem);
    assert.equal(validateKubeletClientCsr(ok, ['digital signature', 'client auth']), undefined);
    assert.equal(validateKubeletClientCsr(ok, ['client auth', 'key encipherment', 'digital signature']), undefined);
    assert.equal(validateKubeletClientCsr(ok, ['client auth']), 'usages did not match [client auth digital signature key encipherment]');
    const wrongOrg = await parseCsr((await newKeyAndRequest({ commonName: 'system:node:n1', organizations: ['system:masters'] })).csrPem);
    assert.equal(validateKubeletClientCsr(wrongOrg, ['digital signature', 'client auth']), 'subject organization is not system:nodes');
    const wrongCn = await parseCsr((await newKeyAndRequest({ commonName: 'admin', organizations: ['system:nodes'] })).csrPem);
    assert.equal(validateKubeletClientCsr(wrongCn, ['digital signature', 'client auth']), 'subject common name does not begin with system:node:');
    const withIp = await parseCsr((await newKeyAndRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'], names: ['192.0.2.1'] })).csrPem);
    assert.equal(validateKubeletClientCsr(withIp, ['digital signature', 'client auth']), 'IP subjectAltNames are not allowed');
  });

  it('a node serving request needs a DNS or IP name and server usages', async () => {
    const ok = await parseCsr((await newKeyAndRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'], names: ['n1', '192.0.2.1'] })).csrPem);
    assert.deepEqual(ok.dnsNames, ['n1']);
    assert.deepEqual(ok.ipAddresses, ['192.0.2.1']);
    assert.equal(validateKubeletServingCsr(ok, ['digital signature', 'server auth']), undefined);
    const none = await parseCsr((await newKeyAndRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'] })).csrPem);
    assert.equal(validateKubeletServingCsr(none, ['digital signature', 'server auth']), 'DNS or IP subjectAltName is required');
  });

  it('the requested duration is kept between 10 minutes and the signing duration', () => {
    const year = 8760 * 3600_000;
    assert.equal(certificateDuration(undefined, year), year);
    assert.equal(certificateDuration(60, year), 600_000);
    assert.equal(certificateDuration(3600, year), 3600_000);
    assert.equal(certificateDuration(10 * 8760 * 3600, year), year);
  });
});

describe('the approver\'s decision', () => {
  const clientCsr = async (cn: string, username: string, groups: string[]) => {
    const { csrPem } = await newKeyAndRequest({ commonName: cn, organizations: ['system:nodes'] });
    const csr = csrObject(csrPem, { signerName: CLIENT_SIGNER, usages: ['digital signature', 'client auth'], username, groups, name: 'csr-x' });
    return { csr, parsed: await parseCsr(csrPem) };
  };
  const noNode = () => undefined;

  it('a bootstrapper allowed nodeclient gets a node client certificate approved', async () => {
    const { csr, parsed } = await clientCsr('system:node:n1', 'system:bootstrap:abcdef', ['system:bootstrappers']);
    const asked: string[] = [];
    const d = await decide({ csr, parsed, node: noNode, allowed: async (s) => (asked.push(s), s === 'nodeclient') });
    assert.deepEqual(d, { approve: NODE_CLIENT_MESSAGE });
    assert.deepEqual(asked, ['nodeclient']);
  });

  it('a node renewing its own certificate is asked about selfnodeclient first', async () => {
    const { csr, parsed } = await clientCsr('system:node:n1', 'system:node:n1', ['system:nodes']);
    const d = await decide({ csr, parsed, node: noNode, allowed: async (s) => s === 'selfnodeclient' });
    assert.deepEqual(d, { approve: SELF_NODE_CLIENT_MESSAGE });
  });

  it('a requester the review refuses is left pending with upstream\'s reason', async () => {
    const { csr, parsed } = await clientCsr('system:node:n1', 'system:node:n2', ['system:nodes']);
    const d = await decide({ csr, parsed, node: noNode, allowed: async () => false });
    assert.deepEqual(d, { pending: 'recognized csr "csr-x" as [nodeclient] but subject access review was not approved' });
  });

  it('a request that is not a kubelet client one is not the approver\'s business', async () => {
    const { csrPem } = await newKeyAndRequest({ commonName: 'system:node:n1', organizations: ['system:masters'] });
    const csr = csrObject(csrPem, { signerName: CLIENT_SIGNER, usages: ['digital signature', 'client auth'], username: 'system:bootstrap:abcdef' });
    assert.deepEqual(await decide({ csr, parsed: await parseCsr(csrPem), node: noNode, allowed: async () => true }), { ignore: true });
  });

  it('a node may get client certificates for its components\' identities, and nothing else may', async () => {
    const component = async (cn: string, username: string, groups: string[], organizations: string[] = []) => {
      const { csrPem } = await newKeyAndRequest({ commonName: cn, organizations });
      const csr = csrObject(csrPem, { signerName: 'kubernetes.io/kube-apiserver-client', usages: ['digital signature', 'client auth'], username, groups, name: 'csr-c' });
      return decide({ csr, parsed: await parseCsr(csrPem), node: noNode, allowed: async () => true });
    };
    assert.deepEqual(await component('system:kube-proxy', 'system:node:n1', ['system:nodes', 'system:authenticated']), { approve: "Auto approving system:kube-proxy client certificate for a node's own component." });
    assert.deepEqual(await component('system:kube-dns', 'system:node:n1', ['system:nodes']), { approve: "Auto approving system:kube-dns client certificate for a node's own component." });
    assert.deepEqual(await component('admin', 'system:node:n1', ['system:nodes']), { ignore: true });
    assert.deepEqual(await component('system:kube-proxy', 'system:node:n1', ['system:nodes'], ['system:masters']), { ignore: true });
    assert.deepEqual(await component('system:kube-proxy', 'system:bootstrap:abcdef', ['system:bootstrappers']), { ignore: true });
  });

  it('a node\'s serving request is approved only for its own addresses', async () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.1' }, { type: 'Hostname', address: 'n1' }] } };
    const serving = async (names: string[], username = 'system:node:n1') => {
      const { csrPem } = await newKeyAndRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'], names });
      return { csr: csrObject(csrPem, { signerName: SERVING_SIGNER, usages: ['digital signature', 'server auth'], username, groups: ['system:nodes', 'system:authenticated'], name: 'csr-s' }), parsed: await parseCsr(csrPem) };
    };
    const a = await serving(['n1', '192.0.2.1']);
    assert.deepEqual(await decide({ ...a, node: (n) => (n === 'n1' ? node : undefined), allowed: async () => false }), { approve: KUBELET_SERVING_MESSAGE });
    const b = await serving(['n1', '198.51.100.7']);
    assert.deepEqual(await decide({ ...b, node: () => node, allowed: async () => true }), { pending: 'csr "csr-s" names 198.51.100.7, not addresses of node "n1"' });
    const c = await serving(['n1'], 'system:node:n2');
    assert.deepEqual(await decide({ ...c, node: () => node, allowed: async () => true }), { ignore: true });
    const d = await serving(['n1']);
    assert.deepEqual(await decide({ ...d, node: () => undefined, allowed: async () => true }), { pending: 'node "n1" of csr "csr-s" is not registered yet' });
  });
});

describe('approving and signing through the API', () => {
  let env: ControllerTestEnv;
  let pki: Pki;
  let dir: string;
  const csrs = (c: Client) => c.resource<Csr>('certificates.k8s.io', 'certificatesigningrequests');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rudder-csr-'));
    pki = await ensurePki(dir, { sans: ['127.0.0.1'] });
    env = await startControllerTest([csrApprovingController, csrSigningController], {
      config: {
        clusterSigningCertFile: join(dir, 'client-ca.crt'),
        clusterSigningKeyFile: join(dir, 'client-ca.key'),
        clusterSigningKubeletServingCertFile: join(dir, 'server-ca.crt'),
        clusterSigningKubeletServingKeyFile: join(dir, 'server-ca.key'),
      } as object,
    });
    env.server.registry.admission = [...env.server.registry.admission, csrRequesterAdmission()];
    // what the server sets up for joining: bootstrappers may ask, nodes may renew
    await ensureNodeJoinRbac(env.client);
  });
  after(async () => {
    await env.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const until = async <T>(what: string, f: () => Promise<T | undefined>, ms = 10_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const issued = (c: Client, name: string) => until(`certificate of ${name}`, async () => {
    const o = await csrs(c).get(name);
    return o.status?.certificate ? o : undefined;
  });

  it('a bootstrapper\'s node client request is approved and signed by the client CA', async () => {
    const bootstrapper = new Client(env.server.localTransport({ name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:rudder:default-node-token', 'system:authenticated'] }, 'rudder-agent'));
    const { csrPem } = await newKeyAndRequest({ commonName: 'system:node:worker-1', organizations: ['system:nodes'] });
    const created = await csrs(bootstrapper).create(csrObject(csrPem, { signerName: CLIENT_SIGNER, usages: ['digital signature', 'client auth'] }));
    const done = await issued(bootstrapper, created.metadata.name!);
    const approved = done.status!.conditions!.find((c) => c.type === 'Approved')!;
    assert.equal(approved.status, 'True');
    assert.equal(approved.reason, 'AutoApproved');
    assert.equal(approved.message, NODE_CLIENT_MESSAGE);
    const chain = Buffer.from(done.status!.certificate!, 'base64').toString('utf8');
    const cert = new X509Certificate(chain);
    assert.ok(cert.checkIssued(new X509Certificate(pki.clientCaCert)), 'issued by the client CA');
    assert.ok(chain.endsWith(pki.clientCaCert), 'the issuing CA follows the certificate');
    assert.ok(cert.verify(new X509Certificate(pki.clientCaCert).publicKey));
    assert.match(cert.subject, /O=system:nodes/);
    assert.match(cert.subject, /CN=system:node:worker-1/);
    assert.equal(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.2'), true, 'client auth');
    const lifetime = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
    assert.equal(lifetime, 8760 * 3600_000, 'one year, back-dated five minutes at both ends');
  });

  it('a node renewing with expirationSeconds gets a certificate of that length', async () => {
    const node = new Client(env.server.localTransport({ name: 'system:node:worker-2', groups: ['system:nodes', 'system:authenticated'] }, 'kubelet'));
    const { csrPem } = await newKeyAndRequest({ commonName: 'system:node:worker-2', organizations: ['system:nodes'] });
    const created = await csrs(node).create(csrObject(csrPem, { signerName: CLIENT_SIGNER, usages: ['digital signature', 'client auth'], expirationSeconds: 3600 }));
    const done = await issued(node, created.metadata.name!);
    assert.equal(done.status!.conditions!.find((c) => c.type === 'Approved')!.message, SELF_NODE_CLIENT_MESSAGE);
    const cert = new X509Certificate(Buffer.from(done.status!.certificate!, 'base64'));
    const lifetime = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
    // a short-lived certificate: back-dated five minutes, and a full hour ahead
    assert.equal(lifetime, 3600_000 + 5 * 60_000);
    assert.ok(Date.parse(cert.validTo) - Date.now() > 3590_000);
  });

  it('a serving request waits for its node, then is signed by the serving CA with its names', async () => {
    const node = new Client(env.server.localTransport({ name: 'system:node:worker-3', groups: ['system:nodes', 'system:authenticated'] }, 'kubelet'));
    const { csrPem } = await newKeyAndRequest({ commonName: 'system:node:worker-3', organizations: ['system:nodes'], names: ['worker-3', '192.0.2.33'] });
    const created = await csrs(node).create(csrObject(csrPem, { signerName: SERVING_SIGNER, usages: ['digital signature', 'server auth'] }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await csrs(env.client).get(created.metadata.name!)).status?.conditions, undefined, 'pending while the node is unknown');
    await env.client.resource('', 'nodes').create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-3' } } as KObject);
    await env.client.resource('', 'nodes').patch('worker-3', 'merge', { status: { addresses: [{ type: 'InternalIP', address: '192.0.2.33' }, { type: 'Hostname', address: 'worker-3' }] } }, { subresource: 'status' });
    const done = await issued(env.client, created.metadata.name!);
    assert.equal(done.status!.conditions!.find((c) => c.type === 'Approved')!.message, KUBELET_SERVING_MESSAGE);
    const cert = new X509Certificate(Buffer.from(done.status!.certificate!, 'base64'));
    assert.ok(cert.checkIssued(new X509Certificate(pki.serverCaCert)), 'issued by the serving CA');
    assert.equal(cert.subjectAltName, 'DNS:worker-3, IP Address:192.0.2.33');
    assert.equal(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), true, 'server auth');
  });

  it('an approved request the signer\'s rules refuse gets a Failed condition and no certificate', async () => {
    const { csrPem } = await newKeyAndRequest({ commonName: 'system:node:worker-4', organizations: ['system:nodes'], names: ['evil.example'] });
    const created = await csrs(env.client).create(csrObject(csrPem, { signerName: CLIENT_SIGNER, usages: ['digital signature', 'client auth'] }));
    const name = created.metadata.name!;
    const cur = await csrs(env.client).get(name);
    await env.client.request('PUT', csrs(env.client).path(name, 'approval'), {
      body: { ...cur, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove', message: 'by hand' }] } },
    });
    const failed = await until('Failed', async () => {
      const o = await csrs(env.client).get(name);
      return o.status?.conditions?.find((c) => c.type === 'Failed');
    });
    assert.equal(failed.reason, 'SignerValidationFailure');
    assert.equal(failed.message, 'DNS subjectAltNames are not allowed');
    assert.equal((await csrs(env.client).get(name)).status?.certificate, undefined);
  });
});

describe('cleaning up', () => {
  it('upstream\'s CSR cleanup rules', () => {
    const now = Date.parse('2026-01-02T12:00:00Z');
    const base = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', spec: { request: '', signerName: CLIENT_SIGNER } };
    const at = (h: number) => new Date(now - h * 3600_000).toISOString();
    assert.equal(csrCleanupReason({ ...base, metadata: { name: 'a', creationTimestamp: at(25) } }, now), 'it is more than 24h0m0s old and unhandled');
    assert.equal(csrCleanupReason({ ...base, metadata: { name: 'b', creationTimestamp: at(23) } }, now), undefined);
    assert.equal(csrCleanupReason({ ...base, metadata: { name: 'c' }, status: { conditions: [{ type: 'Denied', status: 'True', lastUpdateTime: at(2) }] } }, now), 'it is more than 1h0m0s old and denied');
    assert.equal(csrCleanupReason({ ...base, metadata: { name: 'd' }, status: { conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: at(2) }] } }, now), undefined, 'approved, not issued');
    assert.equal(
      csrCleanupReason({ ...base, metadata: { name: 'e' }, status: { certificate: 'eA==', conditions: [{ type: 'Approved', status: 'True', lastUpdateTime: at(2) }] } }, now),
      'it is more than 1h0m0s old and approved',
    );
  });

  describe('token cleaner', () => {
    let env: ControllerTestEnv;
    before(async () => {
      env = await startControllerTest([tokenCleanerController, csrCleanerController]);
    });
    after(() => env.stop());

    it('deletes a bootstrap token once it expires and leaves others alone', async () => {
      const secrets = env.client.resource('', 'secrets').namespace('kube-system');
      const mk = async (expires?: Date) => {
        const t = generateBootstrapToken(randomBytes);
        await secrets.create(bootstrapTokenSecret({ id: t.id, secret: t.secret, expires }) as unknown as KObject);
        return `bootstrap-token-${t.id}`;
      };
      const expired = await mk(new Date(Date.now() - 60_000));
      const soon = await mk(new Date(Date.now() + 1500));
      const later = await mk(new Date(Date.now() + 3600_000));
      const forever = await mk();
      const gone = async (n: string) => secrets.get(n).then(() => false, (e) => e.code === 404);
      const end = Date.now() + 8000;
      while (!((await gone(expired)) && (await gone(soon)))) {
        if (Date.now() > end) assert.fail('expired tokens were not deleted');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(await gone(later), false);
      assert.equal(await gone(forever), false);
    });
  });
});

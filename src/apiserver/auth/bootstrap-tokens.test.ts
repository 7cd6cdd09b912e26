// Bootstrap tokens: the authenticator against Secrets written through a real (in-process) API
// server, and the CSR requester stamping that the approver relies on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bootstrapTokenSecret, generateBootstrapToken, parseBootstrapToken, RUDDER_NODE_TOKEN_GROUP } from '../../api/bootstrap-token.ts';
import type { KObject } from '../../api/meta.ts';
import { Client } from '../../client/client.ts';
import type { ApiServer } from '../server.ts';
import { startTestApiServer } from '../testing.ts';
import { bootstrapTokenAuthenticator } from './bootstrap-tokens.ts';
import { csrRequesterAdmission } from './csr-requester.ts';

describe('bootstrap token authentication', () => {
  let api: { server: ApiServer; stop(): Promise<void> };
  let admin: Client;
  let authn: (token: string) => Promise<import('../registry.ts').UserInfo | undefined>;
  const secrets = () => admin.resource('', 'secrets').namespace('kube-system');

  before(async () => {
    api = await startTestApiServer();
    admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
    authn = bootstrapTokenAuthenticator(api.server.registry);
  });
  after(() => api.stop());

  const create = async (o: Partial<Parameters<typeof bootstrapTokenSecret>[0]> = {}, edit?: (s: KObject) => void) => {
    const t = generateBootstrapToken(randomBytes);
    const s = bootstrapTokenSecret({ id: t.id, secret: t.secret, extraGroups: [RUDDER_NODE_TOKEN_GROUP], expires: new Date(Date.now() + 3600_000), ...o }) as unknown as KObject;
    edit?.(s);
    await secrets().create(s);
    return t;
  };

  it('a generated token has upstream\'s form: 6 and 16 characters of [a-z0-9]', () => {
    for (let i = 0; i < 50; i++) {
      const t = generateBootstrapToken(randomBytes);
      assert.match(t.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
      assert.deepEqual(parseBootstrapToken(t.token), { id: t.id, secret: t.secret });
    }
    assert.equal(parseBootstrapToken('ABCDEF.0123456789abcdef'), undefined);
    assert.equal(parseBootstrapToken('abcdef.0123456789abcde'), undefined);
  });

  it('a valid token is system:bootstrap:<id> in system:bootstrappers and its extra groups', async () => {
    const t = await create();
    assert.deepEqual(await authn(t.token), {
      name: `system:bootstrap:${t.id}`,
      groups: ['system:bootstrappers', RUDDER_NODE_TOKEN_GROUP, 'system:authenticated'],
    });
  });

  it('a token without expiry never expires', async () => {
    const t = await create({ expires: undefined });
    assert.equal((await authn(t.token))?.name, `system:bootstrap:${t.id}`);
  });

  it('a wrong secret, an unknown id or a garbage token is not authenticated', async () => {
    const t = await create();
    const other = generateBootstrapToken(randomBytes);
    assert.equal(await authn(`${t.id}.${other.secret}`), undefined);
    assert.equal(await authn(other.token), undefined);
    assert.equal(await authn('not-a-token'), undefined);
    assert.equal(await authn(''), undefined);
  });

  it('an expired token or an unparseable expiration is refused', async () => {
    const t = await create({ expires: new Date(Date.now() - 1000) });
    assert.equal(await authn(t.token), undefined);
    const u = await create({}, (s) => {
      (s as unknown as { data: Record<string, string> }).data.expiration = Buffer.from('tomorrow').toString('base64');
    });
    assert.equal(await authn(u.token), undefined);
  });

  it('a token stops authenticating once its Secret is deleted (revoked)', async () => {
    const t = await create();
    assert.ok(await authn(t.token));
    await secrets().delete(`bootstrap-token-${t.id}`);
    assert.equal(await authn(t.token), undefined);
  });

  it('a Secret of another type, or not marked for authentication, does not authenticate', async () => {
    const a = await create({}, (s) => {
      (s as unknown as { type: string }).type = 'Opaque';
    });
    assert.equal(await authn(a.token), undefined);
    const b = await create({ usages: ['signing'] });
    assert.equal(await authn(b.token), undefined);
  });

  it('extra groups outside system:bootstrappers:… invalidate the token', async () => {
    const t = await create({ extraGroups: ['system:masters'] });
    assert.equal(await authn(t.token), undefined);
  });

  it('the token-id inside the Secret must match the name', async () => {
    const t = await create({}, (s) => {
      (s as unknown as { data: Record<string, string> }).data['token-id'] = Buffer.from('zzzzzz').toString('base64');
    });
    assert.equal(await authn(t.token), undefined);
  });
});

describe('CSR requester stamping', () => {
  let api: { server: ApiServer; stop(): Promise<void> };
  before(async () => {
    api = await startTestApiServer();
    api.server.registry.admission = [...api.server.registry.admission, csrRequesterAdmission()];
  });
  after(() => api.stop());

  it('spec.username and groups are the requester\'s, whatever the request claimed, and status is dropped', async () => {
    // a node may create requests (the system:node rules); it claims to be the admin
    const as = new Client(api.server.localTransport({ name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] }, 'test'));
    // Any well-formed request: the server does not parse it on create.
    const pem = '-----BEGIN CERTIFICATE REQUEST-----\nMIHqMIGSAgEAMDAxFTATBgNVBAoMDHN5c3RlbTpub2RlczEXMBUGA1UEAwwOc3lzdGVtOm5vZGU6bjEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARvX8R3svcTdFsR+K0ROa1fOUPMdnMMF5Hn4wypP1sXq9uuS+jm9PAXs8wVUxDdFsy66JrlG/ksCjcjUzifnS0PoAAwCgYIKoZIzj0EAwIDRwAwRAIgB/bxnCg9oycO7R3yyCGPKav2kbh79i67mRk/bYzmfRsCIB/xvOoc9ZtOL9swFLghzb9L0sz3V5Z4qJgVHPW9N1WM\n-----END CERTIFICATE REQUEST-----\n';
    const csr = (await as.resource('certificates.k8s.io', 'certificatesigningrequests').create({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { generateName: 'csr-' },
      spec: { request: Buffer.from(pem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], username: 'system:admin', groups: ['system:masters'] },
      status: { conditions: [{ type: 'Approved', status: 'True', reason: 'x', message: 'y' }] },
    } as unknown as KObject)) as KObject & { spec: Record<string, unknown>; status?: { conditions?: unknown[] } };
    assert.equal(csr.spec.username, 'system:node:n1');
    assert.deepEqual(csr.spec.groups, ['system:nodes', 'system:authenticated']);
    assert.equal(csr.status?.conditions, undefined);
  });
});

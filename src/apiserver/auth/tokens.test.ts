// TokenRequest, the service-account token authenticator and TokenReview, end to end through the
// in-process server.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Transport } from '../../api/transport.ts';
import { defaultAdmissionPlugins } from '../admission/plugins.ts';
import { apiCodecs } from '../codecs.ts';
import { reviewLikeHandlers, subresourceHandlers } from '../subresources/connect.ts';
import { createNamespace, podManifest, startTestChain, type TestChain } from '../testing-chain.ts';
import { ensureServiceAccountKey, keyId, SERVICE_ACCOUNT_KEY_FILE, type ServiceAccountKey } from './service-account-key.ts';
import { bearerToken, DEFAULT_ISSUER, serviceAccountAuthenticator, type ServiceAccountAuthenticator } from './service-account-tokens.ts';

let chain: TestChain;
let t: Transport;
let keyDir: string;
let key: ServiceAccountKey;
let authn: ServiceAccountAuthenticator;
const NS = 'tok';
const SAS = `/api/v1/namespaces/${NS}/serviceaccounts`;

before(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'rudder-sakey-'));
  key = await ensureServiceAccountKey(keyDir);
  chain = await startTestChain({
    admission: defaultAdmissionPlugins({ serviceAccount: { defaultAccountAttempts: 1 } }),
    handlers: (reg) => {
      authn = serviceAccountAuthenticator(reg, key);
      return { connect: subresourceHandlers({ reg, codecs: apiCodecs(), tokens: { key } }), reviews: reviewLikeHandlers(reg, authn) };
    },
  });
  t = chain.transport();
  await createNamespace(t, NS);
});
after(async () => {
  await chain.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

const requestToken = (sa: string, spec: Record<string, unknown> = {}) =>
  t.request({ method: 'POST', path: `${SAS}/${sa}/token`, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec } });

function decode(jwt: string): { header: any; payload: any } {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

const review = (token: string, audiences?: string[]) =>
  t.request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } } });

describe('the signing key', () => {
  test('is made once, kept private, and reused', async () => {
    assert.equal(statSync(join(keyDir, SERVICE_ACCOUNT_KEY_FILE)).mode & 0o777, 0o600);
    const again = await ensureServiceAccountKey(keyDir);
    assert.equal(again.kid, key.kid);
    assert.equal(key.kid, keyId(key.publicKey));
    assert.match(key.kid, /^[A-Za-z0-9_-]{43}$/);
  });
});

describe('TokenRequest', () => {
  test('issues an RS256 JWT with upstream\'s claims for the account', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await requestToken('default');
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const body = res.body as any;
    assert.equal(body.kind, 'TokenRequest');
    assert.deepEqual(body.spec, { audiences: [DEFAULT_ISSUER], expirationSeconds: 3600, boundObjectRef: null });
    const sa = (await t.request({ method: 'GET', path: `${SAS}/default` })).body as any;
    const { header, payload } = decode(body.status.token);
    assert.deepEqual(header, { alg: 'RS256', kid: key.kid });
    assert.deepEqual(Object.keys(payload), ['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub']);
    assert.equal(payload.iss, 'https://kubernetes.default.svc.cluster.local');
    assert.deepEqual(payload.aud, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(payload.sub, `system:serviceaccount:${NS}:default`);
    assert.deepEqual(payload['kubernetes.io'], { namespace: NS, serviceaccount: { name: 'default', uid: sa.metadata.uid } });
    assert.ok(payload.iat >= before && payload.iat <= before + 2);
    assert.equal(payload.nbf, payload.iat);
    assert.equal(payload.exp - payload.iat, 3600);
    assert.match(payload.jti, /^[0-9a-f-]{36}$/);
    assert.equal(Date.parse(body.status.expirationTimestamp) / 1000, payload.exp);
  });

  test('a minted token authenticates as the service account', async () => {
    const token = ((await requestToken('default')).body as any).status.token;
    const sa = (await t.request({ method: 'GET', path: `${SAS}/default` })).body as any;
    const r = await authn.authenticate(token);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.user, {
      name: `system:serviceaccount:${NS}:default`,
      uid: sa.metadata.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${decode(token).payload.jti}`] },
    });
    const rev = await review(token);
    assert.equal(rev.status, 201);
    assert.equal((rev.body as any).status.authenticated, true);
    assert.equal((rev.body as any).status.user.username, `system:serviceaccount:${NS}:default`);
    assert.deepEqual((rev.body as any).status.audiences, [DEFAULT_ISSUER]);
  });

  test('a pod-bound kubelet token lasts a year with warnafter, carries pod and node, and dies with its pod', async () => {
    const node = await t.request({ method: 'POST', path: '/api/v1/nodes', body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'tok-node' } } });
    assert.equal(node.status, 201, JSON.stringify(node.body));
    const pod = await t.request({ method: 'POST', path: `/api/v1/namespaces/${NS}/pods`, body: podManifest('runner') });
    assert.equal(pod.status, 201);
    const bound = await t.request({ method: 'POST', path: `/api/v1/namespaces/${NS}/pods/runner/binding`, body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'runner' }, target: { name: 'tok-node' } } });
    assert.equal(bound.status, 201);
    const podUid = (pod.body as any).metadata.uid;
    const res = await requestToken('default', { expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'runner', uid: podUid } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const body = res.body as any;
    const { payload } = decode(body.status.token);
    assert.equal(payload.exp - payload.iat, 365 * 24 * 3600);
    assert.equal(payload['kubernetes.io'].warnafter, payload.iat + 3607);
    assert.equal(Date.parse(body.status.expirationTimestamp) / 1000, payload.iat + 3607, 'the answer reports the requested lifetime');
    assert.deepEqual(payload['kubernetes.io'].pod, { name: 'runner', uid: podUid });
    assert.deepEqual(payload['kubernetes.io'].node, { name: 'tok-node', uid: (node.body as any).metadata.uid });
    const r = await authn.authenticate(body.status.token);
    assert.deepEqual(r.user?.extra, {
      'authentication.kubernetes.io/pod-name': ['runner'],
      'authentication.kubernetes.io/pod-uid': [podUid],
      'authentication.kubernetes.io/credential-id': [`JTI=${payload.jti}`],
      'authentication.kubernetes.io/node-name': ['tok-node'],
      'authentication.kubernetes.io/node-uid': [(node.body as any).metadata.uid],
    });
    // Force-delete the pod: its token is refused from then on.
    const del = await t.request({ method: 'DELETE', path: `/api/v1/namespaces/${NS}/pods/runner`, query: { gracePeriodSeconds: 0 } });
    assert.equal(del.status, 200);
    const gone = await authn.authenticate(body.status.token);
    assert.equal(gone.user, undefined);
    assert.equal(gone.error, 'service account token has been invalidated');
    const rev = await review(body.status.token);
    assert.equal(rev.status, 201);
    assert.deepEqual((rev.body as any).status, { user: {}, error: '[invalid bearer token, service account token has been invalidated]' });
  });

  test('requests are validated as upstream\'s TokenREST does', async () => {
    const short = await requestToken('default', { expirationSeconds: 60 });
    assert.equal(short.status, 422);
    assert.equal((short.body as any).message, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes');
    const noSa = await requestToken('nobody');
    assert.equal(noSa.status, 404);
    assert.equal((noSa.body as any).message, 'serviceaccounts "nobody" not found');
    const cm = await requestToken('default', { boundObjectRef: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x' } });
    assert.equal(cm.status, 400);
    assert.equal((cm.body as any).message, 'cannot bind token to object of type /v1, Kind=ConfigMap');
    assert.equal((await t.request({ method: 'POST', path: SAS, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } } })).status, 201);
    const p = await t.request({ method: 'POST', path: `/api/v1/namespaces/${NS}/pods`, body: podManifest('other-sa') });
    assert.equal(p.status, 201);
    const wrongSa = await requestToken('robot', { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'other-sa' } });
    assert.equal(wrongSa.status, 400);
    assert.equal((wrongSa.body as any).message, 'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.');
    const staleUid = await requestToken('default', { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'other-sa', uid: 'old' } });
    assert.equal(staleUid.status, 409);
    assert.equal(
      (staleUid.body as any).message,
      'Operation cannot be fulfilled on Pod "other-sa": the UID in the bound object reference (old) does not match the UID in record. The object might have been deleted and then recreated',
    );
  });
});

describe('authentication of service-account tokens', () => {
  test('audiences must meet the ones asked for', async () => {
    const token = ((await requestToken('default', { audiences: ['vault'] })).body as any).status.token;
    const forApi = await review(token);
    assert.deepEqual((forApi.body as any).status, {
      user: {},
      error: '[invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]]',
    });
    const forVault = await review(token, ['vault', 'other']);
    assert.equal((forVault.body as any).status.authenticated, true);
    assert.deepEqual((forVault.body as any).status.audiences, ['vault']);
  });

  test('a token of a recreated account, a tampered token and an expired one are refused', async () => {
    const token = ((await requestToken('robot')).body as any).status.token;
    assert.ok((await authn.authenticate(token)).user);
    // tampered: the signature no longer matches
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.sub = 'system:serviceaccount:kube-system:admin';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    assert.deepEqual(await authn.authenticate(forged), { error: 'square/go-jose: error in cryptographic primitive' });
    // another issuer's token is not ours to judge
    const foreign = `${h}.${Buffer.from(JSON.stringify({ ...claims, iss: 'https://elsewhere' })).toString('base64url')}.${s}`;
    assert.deepEqual(await authn.authenticate(foreign), {});
    const foreignReview = await review(foreign);
    assert.deepEqual((foreignReview.body as any).status, { user: {}, error: 'invalid bearer token' });
    // expired: judged two hours on, past the one minute of leeway
    const later = serviceAccountAuthenticator(chain.registry, key, { now: () => new Date(Date.now() + 2 * 3600_000) });
    assert.deepEqual(await later.authenticate(token), { error: 'service account token has expired' });
    // the account deleted and created again under the same name
    const oldUid = decode(token).payload['kubernetes.io'].serviceaccount.uid;
    assert.equal((await t.request({ method: 'DELETE', path: `${SAS}/robot` })).status, 200);
    const again = await t.request({ method: 'POST', path: SAS, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } } });
    assert.equal(again.status, 201);
    const r = await authn.authenticate(token);
    assert.equal(r.error, `service account UID (${(again.body as any).metadata.uid}) does not match claim (${oldUid})`);
  });

  test('the bearer token is read from the Authorization header as upstream does', () => {
    assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(bearerToken('bearer  abc'), undefined);
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});

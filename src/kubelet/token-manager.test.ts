import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '../client/client.ts';
import { FakeClock } from '../client/clock.ts';
import { FakeTransport } from '../client/fake-transport.ts';
import { TokenManager } from './token-manager.ts';

describe('TokenManager', () => {
  const spec = { namespace: 'ns', serviceAccount: 'robot', audiences: [], expirationSeconds: 3600, pod: { name: 'p', uid: 'u1' } };

  function setup() {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const t = new FakeTransport({ clock });
    const requests: { path: string; body: unknown }[] = [];
    let n = 0;
    t.react((req) => {
      if (req.method !== 'POST' || !req.path.endsWith('/token')) return undefined;
      requests.push({ path: req.path, body: req.body });
      n++;
      return { status: 201, body: { status: { token: `token-${n}`, expirationTimestamp: new Date(clock.now() + 3600_000).toISOString() } }, headers: {} };
    });
    return { clock, m: new TokenManager(new Client(t), clock), requests };
  }

  it('requests a token bound to the pod with the TokenRequest API', async () => {
    const { m, requests } = setup();
    const tok = await m.getToken(spec);
    assert.equal(tok.token, 'token-1');
    assert.equal(requests[0].path, '/api/v1/namespaces/ns/serviceaccounts/robot/token');
    assert.deepEqual(requests[0].body, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: { audiences: [], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u1' } },
    });
  });

  it('reuses the token until 80% of its lifetime has passed, then rotates it', async () => {
    const { m, clock, requests } = setup();
    const first = await m.getToken(spec);
    assert.equal(TokenManager.refreshAt(first), first.issuedAt + 2880_000);
    clock.set(first.issuedAt + 2879_000);
    assert.equal((await m.getToken(spec)).token, 'token-1');
    clock.set(first.issuedAt + 2881_000);
    assert.equal((await m.getToken(spec)).token, 'token-2');
    assert.equal(requests.length, 2);
  });

  it('forgets a pod\'s tokens', async () => {
    const { m, requests } = setup();
    await m.getToken(spec);
    m.deletePod('u1');
    await m.getToken(spec);
    assert.equal(requests.length, 2);
  });
});

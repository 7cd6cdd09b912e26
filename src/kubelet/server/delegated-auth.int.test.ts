// The kubelet API's bearer tokens against a real API server: a real kubelet HTTPS server whose
// tokens are checked by TokenReview and requests by SubjectAccessReview, both made as the node
// (system:node:node-a), as the agent wires it (src/cli/agent-hooks.ts).
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer } from '../../apiserver/testing.ts';
import type { KObject } from '../../api/meta.ts';
import { Client } from '../../client/client.ts';
import type { Pod } from '../api-types.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { testCa, type CertAndKey } from './certs.ts';
import { subjectAccessReviewAuthorizer, tokenReviewAuthenticator } from './delegated-auth.ts';
import { startKubeletServer, type KubeletServer } from './server.ts';

const NODE = 'node-a';
const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid: 'u1' }, spec: { nodeName: NODE, containers: [{ name: 'app', image: 'busybox' }] } } as Pod;

interface Answer {
  status: number;
  body: string;
}

describe('the kubelet API with bearer tokens', () => {
  let api: Awaited<ReturnType<typeof startTestApiServer>>;
  let admin: Client;
  let kubelet: KubeletServer;
  let cachedKubelet: KubeletServer;
  let serving: CertAndKey & { ca: string };
  let clock = 0;

  const get = (k: KubeletServer, path: string, token?: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: k.port, path, ca: serving.ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  const serviceAccountToken = async (name: string): Promise<string> => {
    await admin.resource('', 'serviceaccounts').namespace('default').create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } as KObject);
    const r = (await admin.request('POST', `/api/v1/namespaces/default/serviceaccounts/${name}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    })) as { status: { token: string } };
    return r.status.token;
  };

  const bindClusterRole = async (name: string, rules: object[], sa: string) => {
    await admin.resource('rbac.authorization.k8s.io', 'clusterroles').create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules } as KObject);
    await admin.resource('rbac.authorization.k8s.io', 'clusterrolebindings').create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'default' }],
    } as KObject);
    await api.server.registry.watchCache.sync();
  };

  before(async () => {
    api = await startTestApiServer();
    admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
    // the kubelet's own identity: its reviews go through the Node authorizer, as a joined node's would
    const node = new Client(api.server.localTransport({ name: `system:node:${NODE}`, groups: ['system:nodes', 'system:authenticated'] }, 'kubelet'));
    const ca = await testCa();
    serving = { ...(await ca.servingCert(['127.0.0.1'])), ca: ca.cert };
    const common = {
      nodeName: NODE,
      runtime: {} as Runtime,
      pods: { pod: (ns: string, n: string) => (ns === 'default' && n === 'web' ? pod : undefined), pods: () => [pod] },
      tls: serving,
      clientCA: ca.cert,
      allowedUsers: ['kube-apiserver-kubelet-client'],
      authorize: subjectAccessReviewAuthorizer(node),
      address: '127.0.0.1',
      port: 0,
    };
    kubelet = await startKubeletServer({ ...common, authenticateToken: tokenReviewAuthenticator(node) });
    cachedKubelet = await startKubeletServer({ ...common, authenticateToken: tokenReviewAuthenticator(node, { ttlMs: 120_000, now: () => clock }) });
  });

  after(async () => {
    await kubelet?.close();
    await cachedKubelet?.close();
    await api?.stop();
  });

  it('a service account bound to a ClusterRole with nodes/proxy reads /pods with its token', async () => {
    const token = await serviceAccountToken('reader');
    await bindClusterRole('kubelet-pods-reader', [{ apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] }], 'reader');
    const r = await get(kubelet, '/pods', token);
    assert.equal(r.status, 200, r.body);
    const list = JSON.parse(r.body);
    assert.equal(list.kind, 'PodList');
    assert.deepEqual(list.items.map((p: Pod) => p.metadata.name), ['web']);
    // nodes/proxy does not grant nodes/stats
    const stats = await get(kubelet, '/stats/summary', token);
    assert.equal(stats.status, 403);
    assert.equal(stats.body, 'Forbidden (user=system:serviceaccount:default:reader, verb=get, resource=nodes, subresource=stats)');
  });

  it('a valid token without nodes/proxy is forbidden in upstream\'s words', async () => {
    const token = await serviceAccountToken('nobody');
    const r = await get(kubelet, '/pods', token);
    assert.equal(r.status, 403);
    assert.equal(r.body, 'Forbidden (user=system:serviceaccount:default:nobody, verb=get, resource=nodes, subresource=proxy)');
  });

  it('a garbage token, and no credentials at all, are Unauthorized', async () => {
    for (const token of ['not-a-token', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', undefined]) {
      const r = await get(kubelet, '/pods', token);
      assert.equal(r.status, 401, `token ${token}`);
      assert.equal(r.body, 'Unauthorized');
    }
    assert.equal((await get(kubelet, '/healthz')).status, 401, 'health is not anonymous on 10250 either');
  });

  it('a reviewed token is trusted for the cache TTL (2 minutes), then reviewed again', async () => {
    const token = await serviceAccountToken('shortlived');
    await bindClusterRole('kubelet-shortlived', [{ apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] }], 'shortlived');
    clock = 1_000_000;
    assert.equal((await get(cachedKubelet, '/pods', token)).status, 200);
    // the API server stops accepting the token when its service account is gone ...
    await admin.resource('', 'serviceaccounts').namespace('default').delete('shortlived');
    await api.server.registry.watchCache.sync();
    assert.equal((await get(kubelet, '/pods', token)).status, 401, 'uncached: refused at once');
    // ... the cached answer stands until the TTL passes
    clock += 119_000;
    assert.equal((await get(cachedKubelet, '/pods', token)).status, 200);
    clock += 2_000;
    assert.equal((await get(cachedKubelet, '/pods', token)).status, 401);
  });
});

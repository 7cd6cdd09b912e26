// Test support for the agent: a real API server in this process (HTTPS on loopback, its PKI on
// disk so the certificate controllers can sign) with the certificate controllers running, and a
// TransportFactory that reaches it the way a remote agent does: over HTTPS with client
// certificates, and with bootstrap tokens authenticated by the bootstrap-token authenticator the
// server's chain runs for `Authorization: Bearer <id>.<secret>` (the in-process transport stands in
// for that one hop, acting as the user the authenticator answers, or answering 401 as the server
// does for an unknown token).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapTokenSecret, generateBootstrapToken, RUDDER_NODE_TOKEN_GROUP } from '../api/bootstrap-token.ts';
import type { KObject } from '../api/meta.ts';
import type { Transport, TransportRequest, TransportResponse, WatchHandle, WatchHandlers } from '../api/transport.ts';
import { bootstrapTokenAuthenticator } from '../apiserver/auth/bootstrap-tokens.ts';
import { csrRequesterAdmission } from '../apiserver/auth/csr-requester.ts';
import { apiCodecs, apiHooks } from '../apiserver/codecs.ts';
import { ensurePki, type Pki } from '../apiserver/pki.ts';
import { startApiServer, type ApiServer } from '../apiserver/server.ts';
import { Client } from '../client/client.ts';
import { certificateControllers } from '../controllers/certificates/index.ts';
import { startControllerManager, type ControllerManager } from '../controllers/manager.ts';
import { nodeIpamController } from '../controllers/nodeipam/rangeallocator.ts';
import { TEST_CONFIG } from '../controllers/testing.ts';
import { openStore } from '../storage/open.ts';
import { caCertHash } from './certs.ts';
import { httpsTransportFactory, type TransportFactory } from './bootstrap.ts';
import { formatJoinToken } from './join-token.ts';
import { ensureNodeJoinRbac } from './join-rbac.ts';

const UNAUTHORIZED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };

class UnauthorizedTransport implements Transport {
  async request(): Promise<TransportResponse> {
    return { status: 401, body: UNAUTHORIZED, headers: {} };
  }
  watch(_req: TransportRequest, h: WatchHandlers): WatchHandle {
    queueMicrotask(() => h.onClose(new Error('Unauthorized')));
    return { close() {} };
  }
  async close(): Promise<void> {}
}

/** A transport that authenticates its bearer token on first use, as the server's chain would. */
class BootstrapTokenTransport implements Transport {
  #inner: Promise<Transport>;
  constructor(resolve: () => Promise<Transport>) {
    this.#inner = resolve();
  }
  async request(req: TransportRequest): Promise<TransportResponse> {
    return (await this.#inner).request(req);
  }
  watch(req: TransportRequest, h: WatchHandlers): WatchHandle {
    let handle: WatchHandle | undefined;
    let closed = false;
    void this.#inner.then((t) => {
      if (!closed) handle = t.watch(req, h);
    });
    return {
      close() {
        closed = true;
        handle?.close();
      },
    };
  }
  async close(): Promise<void> {
    await (await this.#inner).close();
  }
}

export interface AgentTestCluster {
  server: ApiServer;
  pki: Pki;
  url: string;
  admin: Client;
  /** How agents reach the server: HTTPS for certificates, the bootstrap-token authenticator for tokens. */
  transportFor: TransportFactory;
  /** Makes a bootstrap token Secret and answers the join token for it. */
  joinToken(o?: { expires?: Date; extraGroups?: string[] }): Promise<{ token: string; id: string }>;
  caHash: string;
  stop(): Promise<void>;
}

export async function startAgentTestCluster(o: { controllers?: boolean } = {}): Promise<AgentTestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rudder-agent-api-'));
  const store = await openStore(`sqlite://${join(dir, 'state.db')}`);
  const pki = await ensurePki(join(dir, 'tls'), { sans: ['127.0.0.1', 'localhost'] });
  const server = await startApiServer(
    { bindAddress: '127.0.0.1', port: 0, advertiseAddress: '127.0.0.1', serviceCidr: '10.43.0.0/16', serviceNodePortRange: '30000-32767', minRequestTimeoutSeconds: 1800 },
    { store, pki, hooks: apiHooks(), codecs: apiCodecs() },
  );
  server.registry.admission = [...server.registry.admission, csrRequesterAdmission()];
  const authn = bootstrapTokenAuthenticator(server.registry);
  const admin = new Client(server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
  let cm: ControllerManager | undefined;
  await ensureNodeJoinRbac(admin);
  if (o.controllers !== false) {
    const options = {
      transport: server.localTransport({ name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, 'kube-controller-manager'),
      // each controller as its kube-system service account, as rudder server runs them
      transportFor: (sa: string) =>
        server.localTransport({ name: `system:serviceaccount:kube-system:${sa}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] }, `kube-controller-manager ${sa}`),
      config: {
        ...TEST_CONFIG,
        // as rudder server: client certificates from the client CA, kubelet serving ones from the server CA
        clusterSigningCertFile: join(dir, 'tls', 'client-ca.crt'),
        clusterSigningKeyFile: join(dir, 'tls', 'client-ca.key'),
        clusterSigningKubeletServingCertFile: join(dir, 'tls', 'server-ca.crt'),
        clusterSigningKubeletServingKeyFile: join(dir, 'tls', 'server-ca.key'),
      } as typeof TEST_CONFIG,
      controllers: [...certificateControllers(), nodeIpamController],
      leaderElect: false,
    } as Parameters<typeof startControllerManager>[0];
    cm = startControllerManager(options);
    await cm.started();
  }
  const url = `https://127.0.0.1:${server.port}`;
  const caHash = caCertHash(pki.serverCaCert);
  const transportFor: TransportFactory = (c) => {
    if (c.token) {
      const token = c.token;
      return new BootstrapTokenTransport(async () => {
        const user = await authn(token);
        return user ? server.localTransport(user, 'kubelet-bootstrap') : new UnauthorizedTransport();
      });
    }
    return httpsTransportFactory(c);
  };
  return {
    server,
    pki,
    url,
    admin,
    transportFor,
    caHash,
    async joinToken(t = {}) {
      const g = generateBootstrapToken(randomBytes);
      await admin
        .resource('', 'secrets')
        .namespace('kube-system')
        .create(bootstrapTokenSecret({ id: g.id, secret: g.secret, expires: t.expires ?? new Date(Date.now() + 3600_000), extraGroups: t.extraGroups ?? [RUDDER_NODE_TOKEN_GROUP] }) as unknown as KObject);
      return { token: formatJoinToken(caHash, g.token), id: g.id };
    },
    async stop() {
      await cm?.stop();
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

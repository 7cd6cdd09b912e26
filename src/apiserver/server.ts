// The API server: TLS listener (HTTP/2 and HTTP/1.1 on one port), authentication, routing to
// discovery, OpenAPI, health and the resource handlers, and the bootstrap objects every cluster
// has (built-in namespaces, the `kubernetes` Service and its endpoints).
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { badRequest, notFoundPath, unauthorized } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import { RESOURCES } from '../api/resources.ts';
import { KUBERNETES_VERSION } from '../api/version.ts';
import type { Store } from '../storage/store.ts';
import { ServiceAllocators } from './allocators.ts';
import { WatchCache } from './cache.ts';
import { buildDiscovery } from './discovery.ts';
import { createResourceHandler, type Codecs } from './handlers.ts';
import { writeError, writeObject, type Ctx, type Req, type Res } from './http.ts';
import { Registry, ResourceRegistry, type AdmissionPlugin, type Hooks, type UserInfo } from './registry.ts';
import { parseRequestInfo } from './requestinfo.ts';
import { buildStrategy } from './strategies.ts';
import type { Pki } from './pki.ts';
import { bootstrap } from './bootstrap.ts';
import { defaultAdmissionPlugins } from './admission/plugins.ts';
import { podSecurityAdmission } from './admission/podsecurity.ts';
import { createAuthorization } from './auth/authorization.ts';
import { impersonate } from './auth/impersonation.ts';
import { reconcileDefaultRBAC } from './auth/rbac-reconcile.ts';
import { ensureServiceAccountKey } from './auth/service-account-key.ts';
import { bearerToken, serviceAccountAuthenticator, serviceAccountTokenAuthenticator } from './auth/service-account-tokens.ts';
import { bootstrapTokenAuthenticator } from './auth/bootstrap-tokens.ts';
import { csrRequesterAdmission } from './auth/csr-requester.ts';
import { reviewLikeHandlers, subresourceHandlers } from './subresources/connect.ts';
import { streamingConnectHandlers, upgradeResponse } from './streaming/index.ts';
import { ensureKubeletClientCert as kubeletClientCert } from './pki.ts';
import { openapiRoutes } from './openapi-routes.ts';
import { managedFieldsHook } from './codecs.ts';
import { InflightLimiter, isLongRunning } from './inflight.ts';
import { loadEncryptionConfig } from './encryption.ts';
import { Auditor, RotatingFile, loadPolicy } from './audit.ts';
import { SECRETS_ENCRYPT_PATH, secretsEncryptRoute } from './secrets-encrypt.ts';
import { localTransport } from './local-transport.ts';
import type { Transport } from '../api/transport.ts';

export interface ApiServerConfig {
  bindAddress: string;
  port: number;
  /** The address other machines and pods reach this server at (the `kubernetes` endpoints). */
  advertiseAddress: string;
  serviceCidr: string;
  serviceNodePortRange: string;
  /** Seconds; watches without timeoutSeconds end after a random time between this and twice it. */
  minRequestTimeoutSeconds: number;
  /** Requests served at once before 429s (upstream's --max-requests-inflight, --max-mutating-requests-inflight); 0 = no limit. */
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
  /**
   * The EncryptionConfiguration file. Created with a fresh aescbc key for secrets when missing
   * (rudder encrypts secrets by default); undefined disables encryption at rest.
   */
  encryptionConfigFile?: string;
  /**
   * upstream's --authorization-mode=AlwaysAllow: requests are not authorized (the review kinds,
   * impersonation and RBAC escalation checks still answer from Node,RBAC). For measuring what
   * authorization costs; never for a cluster.
   */
  alwaysAllow?: boolean;
  /** Audit logging: a Policy file and a log file rotated by size (upstream's --audit-* flags). */
  audit?: { policyFile: string; logPath: string; maxSizeMB: number; maxBackups: number; maxAgeDays: number };
  /** tolerationSeconds the DefaultTolerationSeconds admission adds (upstream's flags; 300). */
  defaultNotReadyTolerationSeconds?: number;
  defaultUnreachableTolerationSeconds?: number;
}

export interface ApiServerDeps {
  store: Store;
  pki: Pki;
  hooks: Hooks;
  codecs: Codecs;
  log?: (msg: string) => void;
}

export interface ApiServer {
  readonly port: number;
  readonly url: string;
  readonly registry: Registry;
  /** A Transport for components in this process, acting as `user` (see local-transport.ts). */
  localTransport(user: UserInfo, userAgent: string): Transport;
  ready(): boolean;
  close(): Promise<void>;
}

export { KUBERNETES_VERSION };

export async function startApiServer(cfg: ApiServerConfig, deps: ApiServerDeps): Promise<ApiServer> {
  const log = deps.log ?? (() => {});
  const watchCache = new WatchCache(deps.store);
  const closing = new AbortController();
  const registry = new Registry(deps.store, watchCache, deps.hooks);
  let allocators: ServiceAllocators | undefined;
  const decode = (key: string, value: Uint8Array, rev: number) => registry.decode(key, value, rev);
  const cacheByPrefix = new Map<string, ReturnType<WatchCache['add']>>();
  for (const decl of RESOURCES) {
    if (decl.storedAs || decl.verbs?.length === 1) continue; // shares another's storage, or never stored
    if (decl.verbs && !decl.verbs.includes('list')) continue;
    const strategy = buildStrategy(decl, { services: () => allocators! });
    const tmp = new ResourceRegistry(registry, decl, undefined as never, strategy);
    let cache = cacheByPrefix.get(tmp.prefix);
    if (!cache) {
      cache = watchCache.add(tmp.prefix, decl.namespaced, decode);
      cacheByPrefix.set(tmp.prefix, cache);
    }
    registry.resources.set(`${decl.group}/${decl.plural}`, new ResourceRegistry(registry, decl, cache, strategy));
  }
  registry.admission = defaultAdmissionPlugins({
    defaultNotReadyTolerationSeconds: cfg.defaultNotReadyTolerationSeconds,
    defaultUnreachableTolerationSeconds: cfg.defaultUnreachableTolerationSeconds,
  }) satisfies AdmissionPlugin[];
  const authz = createAuthorization(registry, { log });
  {
    // upstream's order: NodeRestriction and PodSecurity right after ServiceAccount; RBAC's
    // escalation check (in upstream's RBAC storage) last.
    const sa = registry.admission.findIndex((p) => p.name === 'ServiceAccount');
    registry.admission.splice(sa + 1, 0, authz.nodeRestriction, podSecurityAdmission());
    registry.admission.push(authz.rbacEscalation);
    registry.admission.unshift(csrRequesterAdmission());
  }
  const saKey = await ensureServiceAccountKey(deps.pki.dir);
  const saAuthn = serviceAccountAuthenticator(registry, saKey);
  const saTokenUser = serviceAccountTokenAuthenticator(saAuthn);
  const bootstrapTokenUser = bootstrapTokenAuthenticator(registry);
  registry.managedFields = managedFieldsHook(() => registry.now());
  if (cfg.encryptionConfigFile) registry.encryption = loadEncryptionConfig(cfg.encryptionConfigFile, true);
  for (const r of registry.resources.values()) registry.encryptionNames.set(`${r.prefix}/`, r.encryptionResource);
  let fatal: Error | undefined;
  await watchCache.start((err) => {
    fatal = err;
    log(`watch cache stopped: ${err.message}`);
  });
  allocators = new ServiceAllocators(cfg.serviceCidr, cfg.serviceNodePortRange, registry.must('', 'services').cache);

  const discovery = buildDiscovery();
  const resourceHandler = createResourceHandler({
    reg: registry,
    codecs: deps.codecs,
    connect: new Map([
      ...subresourceHandlers({ reg: registry, codecs: deps.codecs, tokens: { key: saKey } }),
      ...streamingConnectHandlers({
        getPod: async (ns, n) => (await registry.must('', 'pods').current(ns, n))?.obj,
        getNode: async (n) => (await registry.must('', 'nodes').current('', n))?.obj,
        getService: async (ns, n) => (await registry.must('', 'services').current(ns, n))?.obj,
        getEndpoints: async (ns, n) => (await registry.must('', 'endpoints').current(ns, n))?.obj,
        // the API server's identity at kubelets (upstream's --kubelet-client-certificate)
        kubelet: await kubeletClientCert(deps.pki),
      }),
    ]),
    reviews: new Map([...authz.reviews, ...reviewLikeHandlers(registry, saAuthn)]),
    minRequestTimeoutSeconds: cfg.minRequestTimeoutSeconds,
    closing: closing.signal,
    log,
  });
  const openapi = openapiRoutes(KUBERNETES_VERSION.gitVersion);
  let auditFile: RotatingFile | undefined;
  let auditor: Auditor | undefined;
  if (cfg.audit) {
    const policy = loadPolicy(cfg.audit.policyFile);
    auditFile = new RotatingFile({ path: cfg.audit.logPath, maxSizeMB: cfg.audit.maxSizeMB, maxBackups: cfg.audit.maxBackups, maxAgeDays: cfg.audit.maxAgeDays });
    auditor = new Auditor(policy, auditFile);
  }
  /** Starts the request's audit record and finishes it when the answer is complete. */
  const beginAudit = (ctx: Ctx, user: UserInfo | undefined, authenticated: UserInfo | undefined) => {
    const sock = (ctx.req as { socket?: { remoteAddress?: string } }).socket;
    const a = auditor!.begin({
      info: ctx.info,
      method: ctx.method,
      url: ctx.req.url ?? ctx.path,
      user,
      authenticatedUser: authenticated,
      sourceIP: ctx.local ? '127.0.0.1' : (sock?.remoteAddress ?? '').replace(/^::ffff:/, ''),
      userAgent: ctx.req.headers['user-agent'],
      received: new Date(ctx.started),
    });
    if (!a) return;
    ctx.audit = a;
    if (ctx.local) {
      const reply = ctx.local.reply;
      ctx.local.reply = (status, body, headers) => {
        a.finish(status);
        reply(status, body, headers);
      };
    } else {
      let done = false;
      const fin = () => {
        if (!done) {
          done = true;
          a.finish(ctx.res.statusCode);
        }
      };
      (ctx.res as unknown as { once(e: string, f: () => void): void }).once('finish', fin);
      ctx.res.once('close', fin);
    }
  };
  const secretsEncrypt = secretsEncryptRoute(registry, cfg.encryptionConfigFile, log);
  const inflight = new InflightLimiter(cfg.maxRequestsInflight ?? 400, cfg.maxMutatingRequestsInflight ?? 200);
  let isReady = false;

  const serverAddress = `${cfg.advertiseAddress}:${cfg.port}`;
  const users = new WeakMap<object, UserInfo | null>();

  const authenticate = (req: Req & { socket?: unknown; stream?: { session?: { socket?: unknown } } }): UserInfo | undefined => {
    const sock = ((req as { stream?: { session?: { socket?: TLSSocket } } }).stream?.session?.socket ?? (req as { socket?: TLSSocket }).socket) as TLSSocket | undefined;
    if (sock) {
      let u = users.get(sock);
      if (u === undefined) {
        u = null;
        if (sock.authorized) {
          const c = sock.getPeerCertificate();
          const subj = c?.subject as unknown as Record<string, string | string[]> | undefined;
          const cn = subj?.CN;
          if (typeof cn === 'string' && cn) {
            const o = subj?.O;
            u = { name: cn, groups: [...(Array.isArray(o) ? o : o ? [o] : []), 'system:authenticated'] };
          }
        }
        users.set(sock, u);
      }
      if (u) return u;
    }
    return undefined;
  };

  const healthz = (ctx: Ctx, which: string) => {
    const ok = !fatal && (which !== 'readyz' || isReady);
    const checks = ['ping', 'log', 'etcd', 'poststarthook/start-apiserver-admission-initializer', 'poststarthook/bootstrap-controller'];
    let body: string;
    if (ctx.query.has('verbose')) {
      body = checks.map((c) => `[${ok || c === 'ping' ? '+' : '-'}]${c} ${ok || c === 'ping' ? 'ok' : 'failed: reason withheld'}`).join('\n') + `\n${which} check ${ok ? 'passed' : 'failed'}\n`;
    } else body = ok ? 'ok' : `[-]${which} failed: reason withheld\n${which} check failed`;
    ctx.res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache, private' });
    ctx.res.end(body);
  };

  const route = async (ctx: Ctx) => {
    const p = ctx.path;
    // Unauthenticated paths.
    if (p === '/version' || p === '/version/') {
      return writeObject(ctx, 200, {
        ...KUBERNETES_VERSION,
        emulationMajor: KUBERNETES_VERSION.major,
        emulationMinor: KUBERNETES_VERSION.minor,
        minCompatibilityMajor: '1',
        minCompatibilityMinor: '32',
        gitCommit: 'rudder',
        gitTreeState: 'clean',
        buildDate: '2026-11-21T00:00:00Z',
        goVersion: `node${process.versions.node}`,
        compiler: 'node',
        platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
      });
    }
    if (p === '/healthz' || p === '/livez' || p === '/readyz' || p.startsWith('/healthz/') || p.startsWith('/livez/') || p.startsWith('/readyz/')) {
      return healthz(ctx, p.split('/')[1]!);
    }
    ctx.user ??= authenticate(ctx.req);
    if (!ctx.user) {
      const tok = bearerToken(ctx.req.headers.authorization);
      if (tok) ctx.user = (await saTokenUser(tok)) ?? (await bootstrapTokenUser(tok));
    }
    let effective = ctx.user;
    let impersonationError: unknown;
    if (ctx.user && !ctx.local) {
      const headers = (ctx.req as { headersDistinct?: Record<string, string[]> }).headersDistinct ?? ctx.req.headers;
      try {
        effective = impersonate(ctx.user, headers as never, authz.authorizer);
      } catch (e) {
        impersonationError = e;
      }
    }
    if (auditor) beginAudit(ctx, effective, ctx.user);
    if (impersonationError) throw impersonationError;
    ctx.user = effective;
    if (!ctx.user) throw unauthorized();
    if (!ctx.local) {
      const release = inflight.admit(ctx.info, ctx.user);
      ctx.res.once('close', release);
      try {
        return await routeAuthenticated(ctx);
      } finally {
        if (!isLongRunning(ctx.info)) release();
      }
    }
    return routeAuthenticated(ctx);
  };

  const routeAuthenticated = async (ctx: Ctx) => {
    try {
      const { result } = cfg.alwaysAllow ? { result: { reason: '' } as { reason?: string } } : authz.authorize(ctx);
      if (ctx.audit) {
        ctx.audit.annotations['authorization.k8s.io/decision'] = 'allow';
        ctx.audit.annotations['authorization.k8s.io/reason'] = result.reason ?? '';
      }
    } catch (e) {
      if (ctx.audit) {
        ctx.audit.annotations['authorization.k8s.io/decision'] = 'forbid';
        ctx.audit.annotations['authorization.k8s.io/reason'] = '';
      }
      throw e;
    }
    const p = ctx.path;
    if (p === '/' || p === '') {
      return writeObject(ctx, 200, { paths: rootPaths() });
    }
    if (p === '/api' || p === '/api/') return discoveryRoot(ctx, 'api');
    if (p === '/apis' || p === '/apis/') return discoveryRoot(ctx, 'apis');
    if (p.startsWith('/openapi/')) return openapi(ctx);
    if (p.startsWith(SECRETS_ENCRYPT_PATH)) return secretsEncrypt(ctx);
    const info = ctx.info;
    if (info.apiPrefix && !info.isResourceRequest) {
      if (info.apiPrefix === 'api' && info.version) {
        const l = discovery.apiResourceList('', info.version);
        if (l) return writeObject(ctx, 200, l);
      } else if (info.group && info.version) {
        const l = discovery.apiResourceList(info.group, info.version);
        if (l) return writeObject(ctx, 200, l);
      } else if (info.apiPrefix === 'apis') {
        const g = discovery.apiGroup(p.split('/')[2] ?? '');
        if (g) return writeObject(ctx, 200, g);
      }
      throw notFoundPath();
    }
    if (info.isResourceRequest) {
      if (!isReady && !fatal) await readyPromise;
      return resourceHandler(ctx);
    }
    throw notFoundPath();
  };

  const discoveryRoot = (ctx: Ctx, which: 'api' | 'apis') => {
    // The first aggregated-discovery media type the client lists wins; otherwise legacy discovery.
    let first: 'v2' | 'v2beta1' | undefined;
    for (const part of (ctx.req.headers.accept ?? '').split(',')) {
      const m = /^application\/json;g=apidiscovery\.k8s\.io;v=(v2beta1|v2);as=APIGroupDiscoveryList$/.exec(part.replace(/\s/g, ''));
      if (m) {
        first = m[1] as 'v2' | 'v2beta1';
        break;
      }
      if (/^application\/json$|^\*\/\*$/.test(part.split(';')[0]!.trim())) break;
    }
    if (first) {
      const doc = discovery.aggregated(which, first);
      const res = ctx.res;
      if (ctx.req.headers['if-none-match'] === doc.etag) {
        res.writeHead(304, { etag: doc.etag });
        return res.end();
      }
      res.writeHead(200, {
        'content-type': `application/json;g=apidiscovery.k8s.io;v=${first};as=APIGroupDiscoveryList`,
        etag: doc.etag,
        vary: 'Accept',
        'cache-control': 'no-cache, private',
        'content-length': doc.body.length,
      });
      return res.end(doc.body);
    }
    return writeObject(ctx, 200, which === 'api' ? discovery.apiVersions(serverAddress) : discovery.apiGroupList());
  };

  const onRequest = (req: Req, res: Res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const method = (req.method ?? 'GET').toUpperCase();
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
    const rawPath = q >= 0 ? url.slice(0, q) : url;
    let path = rawPath;
    let malformed = false;
    try {
      path = decodeURIComponentSafe(rawPath);
    } catch {
      malformed = true;
    }
    const ctx: Ctx = { req, res, method, path, query, info: parseRequestInfo(method, path, query), warnings: [], started: Date.now() };
    (malformed ? Promise.reject(badRequest('malformed URL path')) : route(ctx)).catch((e) => {
      try {
        writeError(ctx, e);
      } catch (e2) {
        // A response that cannot even carry an error (the stream is gone): drop it, never the server.
        log(`cannot answer ${method} ${path}: ${(e2 as Error).message}`);
        try {
          if (!res.writableEnded) res.end();
        } catch {
          /* nothing left to do */
        }
      }
    });
  };

  const server: Http2SecureServer = createSecureServer({
    allowHTTP1: true,
    key: deps.pki.servingKey,
    cert: deps.pki.servingCert,
    ca: deps.pki.clientCaCert,
    requestCert: true,
    rejectUnauthorized: false,
    settings: { maxConcurrentStreams: 1000 },
    // Node's default (10 MB of buffered frames per session) fails streams of a busy client (a
    // scheduler's or a hollow-node simulator's single connection) with NGHTTP2_ENHANCE_YOUR_CALM;
    // upstream's Go server has no such limit. Overload is bounded by the in-flight limits instead.
    maxSessionMemory: 256,
  });
  server.on('request', onRequest as never);
  server.on('sessionError', () => {});
  server.on('tlsClientError', () => {});
  // Upgrades (exec, attach, port-forward over WebSocket or SPDY) take the ordinary request path.
  server.on('upgrade', (req, socket, head) => onRequest(req as never, upgradeResponse(socket, head)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;

  let markReady: () => void = () => {};
  const readyPromise = new Promise<void>((r) => (markReady = r));
  try {
    await bootstrap(registry, { advertiseAddress: cfg.advertiseAddress, port, kubernetesServiceIP: allocators.firstIP(), log });
  } catch (e) {
    // A server without its bootstrap objects is not a server: stop rather than half-start.
    watchCache.stop();
    await new Promise<void>((r) => server.close(() => r()));
    throw new Error(`bootstrap failed: ${(e as Error).message}`);
  }
  await reconcileDefaultRBAC(registry);
  isReady = true;
  markReady();

  return {
    port,
    url: `https://${cfg.bindAddress === '0.0.0.0' || cfg.bindAddress === '::' ? '127.0.0.1' : cfg.bindAddress}:${port}`,
    registry,
    ready: () => isReady && !fatal,
    localTransport: (user, userAgent) =>
      localTransport(
        route,
        (ctx, e) => {
          try {
            writeError(ctx, e);
          } catch (e2) {
            log(`cannot answer in-process ${ctx.method} ${ctx.path}: ${(e2 as Error).message}`);
          }
        },
        user,
        userAgent,
      ),
    async close() {
      closing.abort();
      authz.stop();
      auditFile?.close();
      watchCache.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // End idle and long-running streams promptly.
        setTimeout(resolve, 2000).unref();
      });
    },
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest('malformed URL path');
  }
}

function rootPaths(): string[] {
  const paths = new Set<string>(['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/metrics', '/openapi/v2', '/openapi/v3', '/version']);
  for (const r of RESOURCES) {
    if (!r.group) continue;
    paths.add(`/apis/${r.group}`);
    for (const v of r.versions) paths.add(`/apis/${r.group}/${v}`);
  }
  return [...paths].sort();
}

export type { KObject };

// An in-process API server for tests of admission plugins and subresource handlers that the
// server does not wire yet: the real test server (its registry, caches and bootstrap objects),
// with the given admission chain installed and a second handler chain whose `connect` and
// `reviews` maps include the given handlers, reached through the in-process transport.
import { notFoundPath } from '../api/errors.ts';
import type { Transport } from '../api/transport.ts';
import { apiCodecs } from './codecs.ts';
import { createResourceHandler } from './handlers.ts';
import { writeError, type Ctx } from './http.ts';
import { localTransport } from './local-transport.ts';
import type { AdmissionPlugin, Registry, ResourceRegistry, UserInfo } from './registry.ts';
import { reviewHandlers } from './reviews.ts';
import type { ApiServer } from './server.ts';
import { startTestApiServer } from './testing.ts';
import type { KObject } from '../api/meta.ts';

export interface ChainOptions {
  /** Replaces the server's admission chain. */
  admission?: AdmissionPlugin[];
  /** Extra handlers, made for the started server's registry. */
  handlers?: (reg: Registry) => {
    connect?: Map<string, (ctx: Ctx, r: ResourceRegistry) => Promise<void>>;
    reviews?: Map<string, (ctx: Ctx, obj: KObject) => Promise<KObject> | KObject>;
  };
}

export interface TestChain {
  server: ApiServer;
  registry: Registry;
  /** A transport through the handler chain with the extra handlers, acting as `user`. */
  transport(user?: UserInfo, userAgent?: string): Transport;
  stop(): Promise<void>;
}

export const TEST_ADMIN: UserInfo = { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

export async function startTestChain(o: ChainOptions = {}): Promise<TestChain> {
  const { server, stop } = await startTestApiServer();
  const registry = server.registry;
  if (o.admission) registry.admission = o.admission;
  const extra = o.handlers?.(registry) ?? {};
  const handler = createResourceHandler({
    reg: registry,
    codecs: apiCodecs(),
    connect: extra.connect ?? new Map(),
    reviews: new Map([...reviewHandlers(registry), ...(extra.reviews ?? new Map())]),
    minRequestTimeoutSeconds: 1800,
  });
  const route = async (ctx: Ctx) => {
    if (!ctx.info.isResourceRequest) throw notFoundPath();
    return handler(ctx);
  };
  const transports: Transport[] = [];
  return {
    server,
    registry,
    transport(user = TEST_ADMIN, userAgent = 'rudder-test') {
      const t = localTransport(route, (ctx, e) => writeError(ctx, e), user, userAgent);
      transports.push(t);
      return t;
    },
    async stop() {
      for (const t of transports) await t.close();
      await stop();
    },
  };
}

/** Creates a namespace and its `default` ServiceAccount (what the account controller would add). */
export async function createNamespace(t: Transport, name: string): Promise<void> {
  const ns = await t.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  if (ns.status !== 201) throw new Error(`namespace ${name}: ${JSON.stringify(ns.body)}`);
  const sa = await t.request({ method: 'POST', path: `/api/v1/namespaces/${name}/serviceaccounts`, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } } });
  if (sa.status !== 201) throw new Error(`serviceaccount ${name}/default: ${JSON.stringify(sa.body)}`);
}

/** A minimal pod with one container per name. */
export function podManifest(name: string, containers: Record<string, unknown>[] = [{ name: 'app', image: 'busybox' }], spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers, ...spec } };
}

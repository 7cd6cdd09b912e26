// The in-process Transport: components inside the server process (controllers, scheduler) reach
// the API through the very handler chain HTTPS requests take — authorization, admission,
// validation, the registry — but without sockets, TLS or JSON. Answers and watch events carry
// the watch cache's frozen objects by reference (the Transport ownership contract: read-only).
import { statusErrorFrom, encodeQuery, type Transport, type TransportRequest, type TransportResponse, type WatchHandlers, type WatchHandle } from '../api/transport.ts';
import type { WatchEvent } from '../api/meta.ts';
import type { Ctx, LocalIO, Req, Res } from './http.ts';
import type { UserInfo } from './registry.ts';
import { parseRequestInfo } from './requestinfo.ts';

export type Router = (ctx: Ctx) => Promise<unknown>;

const NO_RES: Res = {
  statusCode: 200,
  headersSent: false,
  writableEnded: false,
  setHeader: () => undefined,
  writeHead: () => undefined,
  write: () => true,
  end: () => undefined,
  on: () => undefined,
  once: () => undefined,
};

function makeCtx(req: TransportRequest, user: UserInfo, userAgent: string, local: LocalIO): Ctx {
  const qs = encodeQuery(req.query);
  const query = new URLSearchParams(qs);
  const headers: Record<string, string> = { 'user-agent': userAgent, ...(req.headers ?? {}) };
  if (req.body !== undefined) headers['content-type'] = req.contentType ?? 'application/json';
  const fakeReq: Req = {
    method: req.method,
    url: qs ? `${req.path}?${qs}` : req.path,
    headers,
    on: () => undefined,
    resume: () => undefined,
  };
  return {
    req: fakeReq,
    res: NO_RES,
    method: req.method,
    path: req.path,
    query,
    info: parseRequestInfo(req.method, req.path, query),
    user,
    warnings: [],
    started: Date.now(),
    local,
  };
}

export function localTransport(route: Router, onError: (ctx: Ctx, e: unknown) => void, user: UserInfo, userAgent: string): Transport {
  let closed = false;
  return {
    request(req: TransportRequest): Promise<TransportResponse> {
      if (closed) return Promise.reject(new Error('transport closed'));
      return new Promise((resolve, reject) => {
        const ctx = makeCtx(req, user, userAgent, {
          body: req.body,
          reply: (status, body, headers) => resolve({ status, body, headers: headers ?? {} }),
        });
        req.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })), { once: true });
        route(ctx).catch((e) => onError(ctx, e));
      });
    },
    watch(req: TransportRequest, handlers: WatchHandlers): WatchHandle {
      let done = false;
      const closers: (() => void)[] = [];
      // Events are handed over in order on a microtask, never inside the store's commit dispatch.
      let queue: WatchEvent[] = [];
      let scheduled = false;
      const flush = () => {
        scheduled = false;
        const q = queue;
        queue = [];
        for (const ev of q) if (!done) handlers.onEvent(ev);
      };
      const finish = (err?: Error) => {
        if (done) return;
        queueMicrotask(() => {
          flush();
          if (done) return;
          done = true;
          handlers.onClose(err);
        });
      };
      const ctx = makeCtx({ ...req, query: { ...(req.query ?? {}), watch: 'true' } }, user, userAgent, {
        reply: (status, body) => {
          if (status >= 300) finish(statusErrorFrom(status, body, 'GET'));
        },
        event: (type, object) => {
          queue.push({ type: type as WatchEvent['type'], object });
          if (!scheduled) {
            scheduled = true;
            queueMicrotask(flush);
          }
        },
        onClose: (fn) => closers.push(fn),
        end: () => finish(),
      });
      req.signal?.addEventListener('abort', () => handle.close(), { once: true });
      route(ctx).then(
        () => undefined,
        (e) => onError(ctx, e),
      );
      const handle: WatchHandle = {
        close() {
          if (done) return;
          done = true;
          for (const c of closers) c();
        },
      };
      return handle;
    },
    async close() {
      closed = true;
    },
  };
}

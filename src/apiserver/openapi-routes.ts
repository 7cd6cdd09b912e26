// Serves /openapi/v2 and /openapi/v3 from the builders in ./openapi (documents are built once, on
// first request, and cached with their hashes).
import { notFoundPath } from '../api/errors.ts';
import type { Ctx } from './http.ts';
import { configureOpenAPI, serveOpenAPI } from './openapi/index.ts';

export function openapiRoutes(gitVersion: string): (ctx: Ctx) => Promise<void> {
  configureOpenAPI({ version: gitVersion });
  return async (ctx) => {
    const r = serveOpenAPI({
      path: ctx.path,
      query: ctx.query,
      accept: ctx.req.headers.accept,
      ifNoneMatch: ctx.req.headers['if-none-match'] as string | undefined,
    });
    if (!r) throw notFoundPath();
    ctx.res.writeHead(r.status, { ...r.headers, ...(r.body ? { 'content-length': r.body.length } : {}) });
    ctx.res.end(r.body);
  };
}

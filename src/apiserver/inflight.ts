// Overload protection as upstream's max-in-flight filter: at most N read-only and M mutating
// requests are served at once; the rest are answered 429 with Retry-After at once (never queued
// into a 5xx). Long-running requests (watches, exec/attach/port-forward/proxy, logs) are counted
// apart and not limited; health checks and the system:masters group are exempt.
import { tooManyRequests } from '../api/errors.ts';
import type { UserInfo } from './registry.ts';
import type { RequestInfo } from './requestinfo.ts';

const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

export function isLongRunning(info: RequestInfo): boolean {
  return info.verb === 'watch' || info.verb === 'proxy' || LONG_RUNNING_SUBRESOURCES.has(info.subresource);
}

export interface InflightStats {
  readOnly: number;
  mutating: number;
  longRunning: number;
  rejected: number;
}

export class InflightLimiter {
  readonly maxReadOnly: number;
  readonly maxMutating: number;
  readonly stats: InflightStats = { readOnly: 0, mutating: 0, longRunning: 0, rejected: 0 };

  /** 0 disables a limit, as upstream's flags. */
  constructor(maxReadOnly: number, maxMutating: number) {
    this.maxReadOnly = maxReadOnly;
    this.maxMutating = maxMutating;
  }

  /**
   * Admits a request or throws the 429. Returns the release function to call when the response
   * is finished (exactly once).
   */
  admit(info: RequestInfo, user: UserInfo | undefined): () => void {
    if (isLongRunning(info)) {
      this.stats.longRunning++;
      return once(() => this.stats.longRunning--);
    }
    if (user?.groups.includes('system:masters')) return () => {};
    const mutating = MUTATING.has(info.verb);
    const max = mutating ? this.maxMutating : this.maxReadOnly;
    const cur = mutating ? this.stats.mutating : this.stats.readOnly;
    if (max > 0 && cur >= max) {
      this.stats.rejected++;
      throw tooManyRequests('Too many requests, please try again later.', 1);
    }
    if (mutating) this.stats.mutating++;
    else this.stats.readOnly++;
    return once(() => {
      if (mutating) this.stats.mutating--;
      else this.stats.readOnly--;
    });
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      f();
    }
  };
}

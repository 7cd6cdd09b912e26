// Service account tokens for projected volumes (upstream's pkg/kubelet/token): one TokenRequest
// (POST serviceaccounts/<name>/token, bound to the pod) per account, audiences, lifetime and pod,
// cached and requested again once 80% of its lifetime has passed, or after 24 h, as upstream's
// requiresRefresh.
import type { Client } from '../client/client.ts';
import type { Clock } from '../client/clock.ts';

export interface TokenRequestSpec {
  namespace: string;
  serviceAccount: string;
  audiences: string[];
  expirationSeconds: number;
  pod: { name: string; uid: string };
}

export interface IssuedToken {
  token: string;
  /** ms since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

const MAX_TTL_MS = 24 * 3600 * 1000;

function key(s: TokenRequestSpec): string {
  return JSON.stringify([s.namespace, s.serviceAccount, [...s.audiences].sort(), s.expirationSeconds, s.pod.uid]);
}

export class TokenManager {
  readonly #client: Client;
  readonly #clock: Clock;
  readonly #cache = new Map<string, IssuedToken & { uid: string }>();

  constructor(client: Client, clock: Clock) {
    this.#client = client;
    this.#clock = clock;
  }

  /** Whether a token issued at issuedAt, expiring at expiresAt, should be replaced now. */
  static requiresRefresh(t: IssuedToken, now: number): boolean {
    if (now >= t.expiresAt) return true;
    const ttl = t.expiresAt - t.issuedAt;
    if (now - t.issuedAt > MAX_TTL_MS) return true;
    return now >= t.issuedAt + ttl * 0.8;
  }

  /** When the token should be refreshed (for scheduling the volume's next update). */
  static refreshAt(t: IssuedToken): number {
    const ttl = t.expiresAt - t.issuedAt;
    return Math.min(t.issuedAt + ttl * 0.8, t.issuedAt + MAX_TTL_MS);
  }

  async getToken(spec: TokenRequestSpec): Promise<IssuedToken> {
    const k = key(spec);
    const now = this.#clock.now();
    const cached = this.#cache.get(k);
    if (cached && !TokenManager.requiresRefresh(cached, now)) return cached;
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: spec.audiences,
        expirationSeconds: spec.expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: spec.pod.name, uid: spec.pod.uid },
      },
    };
    const path = `/api/v1/namespaces/${encodeURIComponent(spec.namespace)}/serviceaccounts/${encodeURIComponent(spec.serviceAccount)}/token`;
    let res: { status?: { token?: string; expirationTimestamp?: string } };
    try {
      res = (await this.#client.request('POST', path, { body })) as typeof res;
    } catch (e) {
      // A token still valid keeps serving while the server is unreachable, as upstream.
      if (cached && now < cached.expiresAt) return cached;
      throw e;
    }
    const token = res.status?.token;
    if (!token) throw new Error(`token request for service account "${spec.namespace}/${spec.serviceAccount}" returned no token`);
    const exp = Date.parse(res.status?.expirationTimestamp ?? '');
    const issued: IssuedToken & { uid: string } = {
      token,
      issuedAt: now,
      expiresAt: Number.isFinite(exp) ? exp : now + spec.expirationSeconds * 1000,
      uid: spec.pod.uid,
    };
    this.#cache.set(k, issued);
    return issued;
  }

  /** Forgets the pod's tokens. */
  deletePod(uid: string): void {
    for (const [k, v] of this.#cache) if (v.uid === uid) this.#cache.delete(k);
  }
}

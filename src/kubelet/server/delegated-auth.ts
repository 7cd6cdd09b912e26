// The kubelet API's delegated authentication and authorization (upstream's kubelet with
// --authentication-token-webhook and --authorization-mode=Webhook): bearer tokens are checked by
// a TokenReview and every request by a SubjectAccessReview, both sent to the API server as the
// kubelet's own identity (the system:node role lets a node create both).
//
// TokenReview answers are cached as upstream's delegating authenticator caches them (cacheTTL,
// 2 minutes by default, for success and failure alike): a pod polling /stats with its token costs
// the API server one review per TTL. Errors reaching the API server are not cached, so a request
// after an outage is reviewed afresh. The cache is keyed by a hash of the token, never the token.
import { createHash } from 'node:crypto';
import type { Client } from '../../client/client.ts';
import type { KObject } from '../../api/meta.ts';
import type { KubeletRequestAttributes, KubeletUser } from './server.ts';

/** upstream's kubelet default for authentication.webhook.cacheTTL. */
export const TOKEN_REVIEW_CACHE_TTL_MS = 120_000;
/** Entries kept at most; the oldest go first (a flood of garbage tokens must not grow memory). */
const MAX_CACHED = 4096;

export interface TokenReviewAuthenticatorOptions {
  /** How long an answer (authenticated or not) is reused; default 2 minutes. */
  ttlMs?: number;
  now?: () => number;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

/**
 * A bearer-token authenticator backed by TokenReview through `client`: resolves to the user, or
 * undefined when the API server says the token does not authenticate. Rejects when the review
 * cannot be made (the caller answers 401 either way; only definite answers are cached).
 * Concurrent requests with the same token share one review.
 */
export function tokenReviewAuthenticator(client: Client, o: TokenReviewAuthenticatorOptions = {}): (token: string) => Promise<KubeletUser | undefined> {
  const ttl = o.ttlMs ?? TOKEN_REVIEW_CACHE_TTL_MS;
  const now = o.now ?? Date.now;
  const reviews = client.resource('authentication.k8s.io', 'tokenreviews');
  const cache = new Map<string, { user: KubeletUser | undefined; expires: number }>();
  const pending = new Map<string, Promise<KubeletUser | undefined>>();

  const review = async (token: string): Promise<KubeletUser | undefined> => {
    const r = (await reviews.create({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token } } as KObject)) as KObject & { status?: TokenReviewStatus };
    const st = r.status;
    if (!st?.authenticated || !st.user?.username) return undefined;
    return { name: st.user.username, groups: st.user.groups ?? [], ...(st.user.uid ? { uid: st.user.uid } : {}), ...(st.user.extra ? { extra: st.user.extra } : {}) };
  };

  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64');
    const hit = cache.get(key);
    if (hit && hit.expires > now()) return hit.user;
    if (hit) cache.delete(key);
    let p = pending.get(key);
    if (!p) {
      p = review(token).then((user) => {
        if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
        cache.set(key, { user, expires: now() + ttl });
        return user;
      });
      p.finally(() => pending.delete(key)).catch(() => {});
      pending.set(key, p);
    }
    return p;
  };
}

/**
 * The SubjectAccessReview authorizer: may `user` do `attrs` (verb on nodes/<subresource> of this
 * node)? Sent as upstream's kubelet sends it, with the user's uid, groups and extra.
 */
export function subjectAccessReviewAuthorizer(client: Client): (user: KubeletUser, attrs: KubeletRequestAttributes) => Promise<boolean> {
  const reviews = client.resource('authorization.k8s.io', 'subjectaccessreviews');
  return async (user, attrs) => {
    const r = (await reviews.create({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {},
      spec: {
        user: user.name,
        groups: user.groups,
        ...(user.uid ? { uid: user.uid } : {}),
        ...(user.extra ? { extra: user.extra } : {}),
        resourceAttributes: { verb: attrs.verb, resource: 'nodes', subresource: attrs.subresource, name: attrs.name },
      },
    } as KObject)) as KObject & { status?: { allowed?: boolean } };
    return r.status?.allowed === true;
  };
}

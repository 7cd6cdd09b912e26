// TokenReview (authentication.k8s.io/v1), as upstream's pkg/registry/authentication/tokenreview:
// a create-only review that answers whether a bearer token authenticates, as whom, and for which
// of the requested audiences (the API's own when none are named). Failures are reported in
// status.error, never as an HTTP error.
import { badRequest } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { Ctx } from '../http.ts';
import type { ServiceAccountAuthenticator } from './service-account-tokens.ts';
import type { Json } from '../admission/common.ts';

export function tokenReviewHandler(authn: ServiceAccountAuthenticator): (ctx: Ctx, obj: KObject) => Promise<KObject> {
  return async (ctx, obj) => {
    if (ctx.info.namespace) throw badRequest(`namespace is not allowed on this type: ${ctx.info.namespace}`);
    const review = obj as Json;
    const token = review.spec?.token;
    if (typeof token !== 'string' || token === '') throw badRequest('token is required for TokenReview in authentication');
    const requested: string[] = Array.isArray(review.spec?.audiences) ? review.spec.audiences : [];
    const r = await authn.authenticate(token, requested.length ? requested : authn.apiAudiences);
    const status: Json = { user: {} };
    if (r.user) {
      status.authenticated = true;
      status.user = {
        username: r.user.name,
        ...(r.user.uid ? { uid: r.user.uid } : {}),
        groups: r.user.groups,
        extra: r.user.extra ?? {},
      };
      status.audiences = r.audiences;
    } else {
      // Upstream's bearer-token union reports every authenticator's refusal.
      status.error = r.error ? `[invalid bearer token, ${r.error}]` : 'invalid bearer token';
    }
    return {
      kind: 'TokenReview',
      apiVersion: review.apiVersion ?? 'authentication.k8s.io/v1',
      metadata: { ...(review.metadata ?? {}), creationTimestamp: null },
      spec: review.spec,
      status,
    } as KObject;
  };
}

// The subresource handlers of this folder, keyed as HandlerDeps.connect and HandlerDeps.reviews
// expect ("<group>/<plural>/<sub>" and "<group>/<plural>").
import type { KObject } from '../../api/meta.ts';
import type { Codecs } from '../handlers.ts';
import type { Ctx } from '../http.ts';
import type { Registry, ResourceRegistry } from '../registry.ts';
import type { ServiceAccountAuthenticator } from '../auth/service-account-tokens.ts';
import { tokenReviewHandler } from '../auth/token-review.ts';
import { bindingsResourceHandler, podBindingHandler } from './binding.ts';
import { csrApprovalHandler } from './csr-approval.ts';
import { podEvictionHandler } from './eviction.ts';
import { namespaceFinalizeHandler } from './namespace-finalize.ts';
import { serviceAccountTokenHandler, type TokenRequestOptions } from './token-request.ts';

export type ConnectHandler = (ctx: Ctx, r: ResourceRegistry) => Promise<void>;
export type ReviewHandler = (ctx: Ctx, obj: KObject) => Promise<KObject> | KObject;

export interface SubresourceDeps {
  reg: Registry;
  /** For PATCH of certificatesigningrequests/approval. */
  codecs?: Pick<Codecs, 'patch'>;
  tokens: TokenRequestOptions;
}

export function subresourceHandlers(d: SubresourceDeps): Map<string, ConnectHandler> {
  return new Map<string, ConnectHandler>([
    ['/pods/binding', podBindingHandler(d.reg)],
    ['/pods/eviction', podEvictionHandler(d.reg)],
    ['/serviceaccounts/token', serviceAccountTokenHandler(d.reg, d.tokens)],
    ['/namespaces/finalize', namespaceFinalizeHandler(d.reg)],
    ['certificates.k8s.io/certificatesigningrequests/approval', csrApprovalHandler(d.reg, d.codecs)],
  ]);
}

/** Create-only kinds answered without storage: TokenReview, and the deprecated `bindings`. */
export function reviewLikeHandlers(reg: Registry, authn: ServiceAccountAuthenticator): Map<string, ReviewHandler> {
  return new Map<string, ReviewHandler>([
    ['authentication.k8s.io/tokenreviews', tokenReviewHandler(authn)],
    ['/bindings', bindingsResourceHandler(reg)],
  ]);
}

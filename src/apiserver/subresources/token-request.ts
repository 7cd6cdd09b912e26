// TokenRequest, as upstream's TokenREST (POST serviceaccounts/NAME/token with an
// authentication.k8s.io/v1 TokenRequest): issues a signed JWT for the account, valid for
// spec.expirationSeconds (3600 by default, at least 600) for spec.audiences (the API's own by
// default), optionally bound to a Pod, Secret or Node that must exist with the given uid. As
// upstream with --service-account-extend-token-expiration (the default), a pod-bound token asked
// for the kubelet's 3607 s and the API's audiences is valid for a year, with a `warnafter` claim
// at the requested lifetime; the answer still reports the requested expiration.
import { badRequest, conflict, field, invalid, internalError, type FieldError } from '../../api/errors.ts';
import { rfc3339, type KObject } from '../../api/meta.ts';
import { parseGroupVersion } from '../../api/resources.ts';
import type { Ctx } from '../http.ts';
import type { Registry, ResourceRegistry } from '../registry.ts';
import { getLive, type Json } from '../admission/common.ts';
import { WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS } from '../admission/service-account.ts';
import type { ServiceAccountKey } from '../auth/service-account-key.ts';
import { DEFAULT_ISSUER, serviceAccountClaims, signToken } from '../auth/service-account-tokens.ts';
import { readObject, reply, requireVerb } from './io.ts';

const TOKEN_REQUEST = { group: 'authentication.k8s.io', versions: ['v1'], kind: 'TokenRequest' };
const TOKEN_REQUEST_GK = { group: 'authentication.k8s.io', kind: 'TokenRequest' };
/** upstream's ExpirationExtensionSeconds: one year. */
const EXPIRATION_EXTENSION_SECONDS = 24 * 365 * 60 * 60;

export interface TokenRequestOptions {
  key: ServiceAccountKey;
  issuer?: string;
  /** --api-audiences; the issuer by default. */
  apiAudiences?: string[];
  /** --service-account-extend-token-expiration (true by default). */
  extendExpiration?: boolean;
  /** --service-account-max-token-expiration in seconds (0: no maximum). */
  maxExpirationSeconds?: number;
  now?: () => Date;
}

/** upstream's ValidateTokenRequest. */
function validateTokenRequest(tr: Json): FieldError[] {
  const errs: FieldError[] = [];
  const exp = tr.spec.expirationSeconds;
  if (exp < 600) errs.push(field.invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes'));
  if (exp > 2 ** 32) errs.push(field.invalid('spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds'));
  return errs;
}

export function serviceAccountTokenHandler(reg: Registry, o: TokenRequestOptions): (ctx: Ctx, r: ResourceRegistry) => Promise<void> {
  const issuer = o.issuer ?? DEFAULT_ISSUER;
  const apiAudiences = o.apiAudiences ?? [issuer];
  const extend = o.extendExpiration ?? true;
  const now = o.now ?? (() => reg.now());

  return async (ctx, sas) => {
    requireVerb(ctx, sas, 'token', 'create');
    const req = (await readObject(ctx, TOKEN_REQUEST)) as Json;
    const ns = ctx.info.namespace;
    const name = ctx.info.name;
    if (req.metadata.name && req.metadata.name !== name) {
      throw invalid(TOKEN_REQUEST_GK, name, [field.invalid('metadata.name', req.metadata.name, 'must match the service account name if specified')]);
    }
    if (req.metadata.namespace && req.metadata.namespace !== ns) {
      throw invalid(TOKEN_REQUEST_GK, name, [field.invalid('metadata.namespace', req.metadata.namespace, 'must match the service account namespace if specified')]);
    }
    const sa = (await sas.get(ns, name)).obj;
    const spec = (req.spec ??= {});
    if (spec.expirationSeconds == null) spec.expirationSeconds = 3600; // v1 defaulting
    if (!Array.isArray(spec.audiences) || spec.audiences.length === 0) spec.audiences = apiAudiences;
    const issuedAt = now();
    const errs = validateTokenRequest(req);
    if (errs.length) throw invalid(TOKEN_REQUEST_GK, '', errs);

    let pod: KObject | undefined;
    let secret: KObject | undefined;
    let node: { metadata: { name?: string; uid?: string } } | undefined;
    const ref = spec.boundObjectRef;
    if (ref) {
      const gv = parseGroupVersion(ref.apiVersion ?? '');
      let uid: string | undefined;
      if (gv.group === '' && ref.kind === 'Pod') {
        pod = (await reg.must('', 'pods').get(ns, ref.name ?? '')).obj;
        if ((pod as Json).spec?.serviceAccountName !== name) {
          throw badRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
        }
        uid = pod.metadata.uid;
        const nodeName = (pod as Json).spec?.nodeName;
        if (nodeName) node = (await getLive(reg.must('', 'nodes'), '', nodeName)) ?? { metadata: { name: nodeName } };
      } else if (gv.group === '' && ref.kind === 'Node') {
        node = (await reg.must('', 'nodes').get('', ref.name ?? '')).obj;
        uid = node.metadata.uid;
      } else if (gv.group === '' && ref.kind === 'Secret') {
        secret = (await reg.must('', 'secrets').get(ns, ref.name ?? '')).obj;
        uid = secret.metadata.uid;
      } else {
        throw badRequest(`cannot bind token to object of type ${gv.group}/${gv.version}, Kind=${ref.kind ?? ''}`);
      }
      if (ref.uid && ref.uid !== uid) {
        throw conflict(
          { group: gv.group, resource: ref.kind },
          ref.name ?? '',
          `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
        );
      }
    }

    if (o.maxExpirationSeconds && spec.expirationSeconds > o.maxExpirationSeconds) {
      ctx.warnings.push(`requested expiration of ${spec.expirationSeconds} seconds shortened to ${o.maxExpirationSeconds} seconds`);
      spec.expirationSeconds = o.maxExpirationSeconds;
    }
    let lifetime: number = spec.expirationSeconds;
    let warnAfter: number | undefined;
    const kubeAudiences = (spec.audiences as string[]).every((a) => apiAudiences.includes(a));
    if (extend && pod && spec.expirationSeconds === WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS && kubeAudiences) {
      warnAfter = lifetime;
      lifetime = EXPIRATION_EXTENSION_SECONDS;
    }
    let token: string;
    try {
      const claims = serviceAccountClaims({ issuer, serviceAccount: sa, audiences: spec.audiences, expirationSeconds: lifetime, warnAfterSeconds: warnAfter, pod, secret, node, now: issuedAt });
      token = await signToken(o.key, claims);
    } catch (e) {
      throw internalError(new Error(`failed to generate token: ${(e as Error).message}`));
    }
    reply(ctx, 201, {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace: ns, uid: sa.metadata.uid, creationTimestamp: rfc3339(issuedAt) },
      spec: { audiences: spec.audiences, expirationSeconds: spec.expirationSeconds, boundObjectRef: ref ?? null },
      status: { token, expirationTimestamp: rfc3339(new Date(issuedAt.getTime() + spec.expirationSeconds * 1000)) },
    });
  };
}

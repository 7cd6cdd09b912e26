// Bound service-account tokens, as upstream's pkg/serviceaccount: the claims a TokenRequest
// issues (iss, sub system:serviceaccount:NS:NAME, aud, iat/nbf/exp, jti, and kubernetes.io with
// the namespace, the account and the object the token is bound to), their RS256 signature, and
// the authenticator that accepts them: signature, issuer, audience, time (with upstream's one
// minute of leeway), and that the account and the bound pod/secret/node still exist with the same
// uid. The authenticated user is system:serviceaccount:NS:NAME in the groups
// system:serviceaccounts and system:serviceaccounts:NS (and system:authenticated), with the pod,
// node and credential id as extra, exactly as upstream's ServiceAccountInfo.UserInfo.
import { randomUUID } from 'node:crypto';
import { SignJWT, compactVerify } from 'jose';
import type { KObject } from '../../api/meta.ts';
import { getLive, type Json } from '../admission/common.ts';
import type { Registry, UserInfo } from '../registry.ts';
import type { ServiceAccountKey } from './service-account-key.ts';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Upstream's jwt.DefaultLeeway. */
const LEEWAY_SECONDS = 60;

export const POD_NAME_KEY = 'authentication.kubernetes.io/pod-name';
export const POD_UID_KEY = 'authentication.kubernetes.io/pod-uid';
export const NODE_NAME_KEY = 'authentication.kubernetes.io/node-name';
export const NODE_UID_KEY = 'authentication.kubernetes.io/node-uid';
export const CREDENTIAL_ID_KEY = 'authentication.kubernetes.io/credential-id';

export interface Ref {
  name: string;
  uid?: string;
}

/** The claims of a bound token, in the key order Go's JSON encoding of them has (sorted). */
export interface TokenClaims {
  aud: string[];
  exp: number;
  iat: number;
  iss: string;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    node?: Ref;
    pod?: Ref;
    secret?: Ref;
    serviceaccount: Ref;
    warnafter?: number;
  };
  nbf: number;
  sub: string;
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export interface ClaimsInput {
  issuer: string;
  serviceAccount: KObject;
  audiences: string[];
  /** The token's lifetime in seconds (exp - iat). */
  expirationSeconds: number;
  /** Seconds after which using the token is logged as stale (upstream's extended-expiration warnafter). */
  warnAfterSeconds?: number;
  pod?: KObject;
  secret?: KObject;
  /** For a pod-bound token: the pod's node ({name} alone when the node object is gone); else a node binding. */
  node?: { metadata: { name?: string; uid?: string } };
  now: Date;
  jti?: string;
}

/** upstream's serviceaccount.Claims. */
export function serviceAccountClaims(i: ClaimsInput): TokenClaims {
  const t = Math.floor(i.now.getTime() / 1000);
  const sa = i.serviceAccount.metadata;
  const ref = (o: { metadata: { name?: string; uid?: string } }): Ref => ({ name: o.metadata.name!, ...(o.metadata.uid ? { uid: o.metadata.uid } : {}) });
  const k8s: TokenClaims['kubernetes.io'] = { namespace: sa.namespace!, serviceaccount: { name: sa.name!, uid: sa.uid! } };
  if (i.secret && (i.pod || i.node)) throw new Error('internal error, token can only be bound to one object type');
  if (i.pod) {
    k8s.pod = ref(i.pod);
    if (i.node) k8s.node = ref(i.node);
  } else if (i.secret) k8s.secret = ref(i.secret);
  else if (i.node) k8s.node = ref(i.node);
  if (i.warnAfterSeconds) k8s.warnafter = t + i.warnAfterSeconds;
  const ordered: Json = { namespace: k8s.namespace };
  for (const k of ['node', 'pod', 'secret', 'serviceaccount', 'warnafter'] as const) if (k8s[k] !== undefined) ordered[k] = k8s[k];
  return {
    aud: i.audiences,
    exp: t + i.expirationSeconds,
    iat: t,
    iss: i.issuer,
    jti: i.jti ?? randomUUID(),
    'kubernetes.io': ordered,
    nbf: t,
    sub: serviceAccountUsername(sa.namespace!, sa.name!),
  };
}

export async function signToken(key: ServiceAccountKey, claims: TokenClaims): Promise<string> {
  return new SignJWT(claims as unknown as Record<string, unknown>).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
}

/** What authenticating a token found: a user, an error, or neither (not a token of this issuer). */
export interface AuthenticationResult {
  user?: UserInfo;
  /** The audiences the token is good for among those asked for. */
  audiences?: string[];
  error?: string;
}

export interface ServiceAccountAuthenticatorOptions {
  issuer?: string;
  /** The API server's own audiences (--api-audiences); the issuer by default. */
  apiAudiences?: string[];
  now?: () => Date;
}

export interface ServiceAccountAuthenticator {
  /** `audiences` are those the caller wants the token for (a TokenReview's spec.audiences); the API's by default. */
  authenticate(token: string, audiences?: string[]): Promise<AuthenticationResult>;
  readonly apiAudiences: string[];
}

function unverifiedIssuer(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iss?: unknown };
    return typeof payload.iss === 'string' ? payload.iss : undefined;
  } catch {
    return undefined;
  }
}

/** Go's %q of a []string: ["a" "b"]. */
function goQuotedList(xs: string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

const MAX_VERIFIED = 10_000;

export function serviceAccountAuthenticator(reg: Registry, key: ServiceAccountKey, opts: ServiceAccountAuthenticatorOptions = {}): ServiceAccountAuthenticator {
  const issuer = opts.issuer ?? DEFAULT_ISSUER;
  const apiAudiences = opts.apiAudiences ?? [issuer];
  const now = opts.now ?? (() => new Date());
  // Tokens whose signature has been checked, with their claims: a pod presents the same token
  // on every request, so the RSA verification is paid once. Time and bound objects are checked
  // on every use.
  const verified = new Map<string, TokenClaims>();

  const verify = async (token: string): Promise<TokenClaims | string> => {
    const hit = verified.get(token);
    if (hit) return hit;
    try {
      const { payload, protectedHeader } = await compactVerify(token, key.publicKey, { algorithms: [key.alg] });
      void protectedHeader;
      const claims = JSON.parse(Buffer.from(payload).toString('utf8')) as TokenClaims;
      if (verified.size >= MAX_VERIFIED) verified.clear();
      verified.set(token, claims);
      return claims;
    } catch {
      return 'square/go-jose: error in cryptographic primitive';
    }
  };

  const fail = (error: string): AuthenticationResult => ({ error });

  return {
    apiAudiences,
    async authenticate(token, audiences) {
      if (unverifiedIssuer(token) !== issuer) return {};
      const claims = await verify(token);
      if (typeof claims === 'string') return fail(claims);
      let tokenAuds = Array.isArray(claims.aud) ? claims.aud : typeof claims.aud === 'string' ? [claims.aud] : [];
      if (tokenAuds.length === 0) tokenAuds = apiAudiences;
      const wanted = audiences && audiences.length ? audiences : apiAudiences;
      const auds = tokenAuds.filter((x) => wanted.includes(x));
      if (auds.length === 0) return fail(`token audiences ${goQuotedList(tokenAuds)} is invalid for the target audiences ${goQuotedList(wanted)}`);

      const t = now().getTime() / 1000;
      if (typeof claims.nbf === 'number' && t + LEEWAY_SECONDS < claims.nbf) return fail('service account token is not valid yet');
      if (typeof claims.exp === 'number' && t - LEEWAY_SECONDS > claims.exp) return fail('service account token has expired');
      if (typeof claims.iat === 'number' && t + LEEWAY_SECONDS < claims.iat) return fail('service account token is issued in the future');

      // Things deleted more than the leeway ago no longer vouch for the token.
      const deletedLongAgo = (o: KObject) => !!o.metadata.deletionTimestamp && Date.parse(o.metadata.deletionTimestamp) / 1000 < t - LEEWAY_SECONDS;
      const k8s = claims['kubernetes.io'] ?? ({} as TokenClaims['kubernetes.io']);
      const ns = k8s.namespace;
      const saRef = k8s.serviceaccount ?? { name: '' };
      const sa = ns && saRef.name ? await getLive(reg.must('', 'serviceaccounts'), ns, saRef.name) : undefined;
      if (!sa) return fail(`serviceaccounts "${saRef.name}" not found`);
      if (sa.metadata.uid !== saRef.uid) return fail(`service account UID (${sa.metadata.uid}) does not match claim (${saRef.uid})`);
      if (deletedLongAgo(sa)) return fail(`service account ${ns}/${saRef.name} has been deleted`);

      if (k8s.secret) {
        const secret = await getLive(reg.must('', 'secrets'), ns, k8s.secret.name);
        if (!secret) return fail('service account token has been invalidated');
        if (secret.metadata.uid !== k8s.secret.uid) return fail(`secret UID (${secret.metadata.uid}) does not match service account secret ref claim (${k8s.secret.uid})`);
        if (deletedLongAgo(secret)) return fail('service account token has been invalidated');
      }
      const extra: Record<string, string[]> = {};
      if (k8s.pod) {
        const pod = await getLive(reg.must('', 'pods'), ns, k8s.pod.name);
        if (!pod) return fail('service account token has been invalidated');
        if (pod.metadata.uid !== k8s.pod.uid) return fail(`pod UID (${pod.metadata.uid}) does not match service account pod ref claim (${k8s.pod.uid})`);
        if (deletedLongAgo(pod)) return fail('service account token has been invalidated');
        if (k8s.pod.name && k8s.pod.uid) {
          extra[POD_NAME_KEY] = [k8s.pod.name];
          extra[POD_UID_KEY] = [k8s.pod.uid];
        }
      }
      if (k8s.node) {
        if (!k8s.pod) {
          const node = await getLive(reg.must('', 'nodes'), '', k8s.node.name);
          if (!node) return fail('service account token has been invalidated');
          if (node.metadata.uid !== k8s.node.uid) return fail(`node UID (${node.metadata.uid}) does not match service account node ref claim (${k8s.node.uid})`);
          if (deletedLongAgo(node)) return fail('service account token has been invalidated');
        }
      }
      if (claims.jti) extra[CREDENTIAL_ID_KEY] = [`JTI=${claims.jti}`];
      if (k8s.node?.name) {
        extra[NODE_NAME_KEY] = [k8s.node.name];
        if (k8s.node.uid) extra[NODE_UID_KEY] = [k8s.node.uid];
      }
      const user: UserInfo = {
        name: serviceAccountUsername(ns, saRef.name),
        uid: saRef.uid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      };
      if (Object.keys(extra).length) user.extra = extra;
      return { user, audiences: auds };
    },
  };
}

/** The bearer token of a request's Authorization header, as upstream's bearertoken authenticator reads it. */
export function bearerToken(authorization: string | string[] | undefined): string | undefined {
  const h = Array.isArray(authorization) ? authorization[0] : authorization;
  if (!h) return undefined;
  const parts = h.trim().split(' ');
  if (parts.length < 2 || parts[0]!.toLowerCase() !== 'bearer') return undefined;
  return parts[1] || undefined;
}

/** The request authenticator the server's chain calls: a user for a valid token of ours, else undefined. */
export function serviceAccountTokenAuthenticator(authn: ServiceAccountAuthenticator): (token: string) => Promise<UserInfo | undefined> {
  return async (token) => (await authn.authenticate(token)).user;
}

// Bootstrap tokens, as upstream's k8s.io/cluster-bootstrap: the `<id>.<secret>` bearer token, the
// kube-system Secret (type bootstrap.kubernetes.io/token, named bootstrap-token-<id>) that holds it,
// its expiry and its extra groups. Pure: shared by the API server's authenticator, the token cleaner,
// the agent and `rudder token create`, which must agree on every name here.

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
export const BOOTSTRAP_TOKEN_ID_KEY = 'token-id';
export const BOOTSTRAP_TOKEN_SECRET_KEY = 'token-secret';
export const BOOTSTRAP_TOKEN_EXPIRATION_KEY = 'expiration';
export const BOOTSTRAP_TOKEN_DESCRIPTION_KEY = 'description';
export const BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY = 'auth-extra-groups';
export const BOOTSTRAP_TOKEN_USAGE_AUTHENTICATION = 'usage-bootstrap-authentication';
export const BOOTSTRAP_TOKEN_USAGE_SIGNING = 'usage-bootstrap-signing';
/** The user a bootstrap token authenticates as is this prefix and the token id. */
export const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';
/** Every bootstrap token's user is in this group. */
export const BOOTSTRAP_DEFAULT_GROUP = 'system:bootstrappers';
/** The extra group rudder's node-join tokens carry (kubeadm's is system:bootstrappers:kubeadm:default-node-token). */
export const RUDDER_NODE_TOKEN_GROUP = 'system:bootstrappers:rudder:default-node-token';

const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const GROUP_RE = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `<id>.<secret>` split, or undefined when the string is not a bootstrap token (upstream's ParseToken). */
export function parseBootstrapToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** A fresh token from a source of random bytes (crypto.randomBytes in callers), ids 6 and secrets 16 characters of [a-z0-9]. */
export function generateBootstrapToken(randomBytes: (n: number) => Uint8Array): { id: string; secret: string; token: string } {
  const pick = (n: number): string => {
    let out = '';
    while (out.length < n) {
      // Rejection sampling keeps every character equally likely (256 is not a multiple of 36).
      for (const b of randomBytes(n * 2)) {
        if (b < 252 && out.length < n) out += ALPHABET[b % 36];
      }
    }
    return out;
  };
  const id = pick(6);
  const secret = pick(16);
  return { id, secret, token: `${id}.${secret}` };
}

export function bootstrapTokenSecretName(id: string): string {
  return BOOTSTRAP_TOKEN_SECRET_PREFIX + id;
}

export interface BootstrapTokenSecretOptions {
  id: string;
  secret: string;
  /** Absolute expiry; none means the token never expires (kubeadm's --ttl 0). */
  expires?: Date;
  description?: string;
  extraGroups?: string[];
  /** Defaults: authentication and signing, as kubeadm's default token. */
  usages?: ('authentication' | 'signing')[];
}

/** The kube-system Secret that makes a token valid (values base64 in data, as the API stores them). */
export function bootstrapTokenSecret(o: BootstrapTokenSecretOptions): {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string };
  type: string;
  data: Record<string, string>;
} {
  const usages = o.usages ?? ['authentication', 'signing'];
  const data: Record<string, string> = {
    [BOOTSTRAP_TOKEN_ID_KEY]: o.id,
    [BOOTSTRAP_TOKEN_SECRET_KEY]: o.secret,
  };
  if (o.description) data[BOOTSTRAP_TOKEN_DESCRIPTION_KEY] = o.description;
  if (o.expires) data[BOOTSTRAP_TOKEN_EXPIRATION_KEY] = o.expires.toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const u of usages) data[`usage-bootstrap-${u}`] = 'true';
  if (o.extraGroups?.length) data[BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY] = o.extraGroups.join(',');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: bootstrapTokenSecretName(o.id), namespace: BOOTSTRAP_TOKEN_NAMESPACE },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
}

/** A value of a Secret's data (base64) or stringData, decoded; '' when absent. */
export function secretValue(secret: { data?: Record<string, string>; stringData?: Record<string, string> }, key: string): string {
  const s = secret.stringData?.[key];
  if (s !== undefined) return s;
  const d = secret.data?.[key];
  return d === undefined ? '' : Buffer.from(d, 'base64').toString('utf8');
}

/**
 * When the token of a bootstrap Secret expires (ms since the epoch), undefined for never, or NaN when
 * the expiration cannot be parsed (upstream treats that as expired).
 */
export function bootstrapTokenExpiry(secret: { data?: Record<string, string>; stringData?: Record<string, string> }): number | undefined {
  const v = secretValue(secret, BOOTSTRAP_TOKEN_EXPIRATION_KEY);
  if (!v) return undefined;
  // RFC 3339 only (Go's time.RFC3339); Date.parse alone would accept much more.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v)) return NaN;
  return Date.parse(v);
}

/** upstream's HasExpired: an unparseable expiration counts as expired. */
export function bootstrapTokenExpired(secret: { data?: Record<string, string>; stringData?: Record<string, string> }, now: number): boolean {
  const t = bootstrapTokenExpiry(secret);
  if (t === undefined) return false;
  return Number.isNaN(t) || t <= now;
}

/**
 * The groups a bootstrap token's user is in (upstream's GetGroups): system:bootstrappers first, then
 * each auth-extra-groups entry, de-duplicated. Throws when an extra group is not a
 * system:bootstrappers:… name.
 */
export function bootstrapTokenGroups(secret: { data?: Record<string, string>; stringData?: Record<string, string> }): string[] {
  const groups = [BOOTSTRAP_DEFAULT_GROUP];
  const extra = secretValue(secret, BOOTSTRAP_TOKEN_EXTRA_GROUPS_KEY);
  if (!extra) return groups;
  for (const raw of extra.split(',')) {
    const g = raw.trim();
    if (!GROUP_RE.test(g)) throw new Error(`bootstrap group "${g}" is invalid (must match ${GROUP_RE.source})`);
    if (!groups.includes(g)) groups.push(g);
  }
  return groups;
}

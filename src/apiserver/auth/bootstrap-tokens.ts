// The bootstrap-token authenticator, as upstream's plugin/pkg/auth/authenticator/token/bootstrap: a
// bearer token `<id>.<secret>` authenticates as system:bootstrap:<id> in system:bootstrappers (and
// the Secret's auth-extra-groups) while kube-system/bootstrap-token-<id> exists, is of type
// bootstrap.kubernetes.io/token, is not being deleted, holds the same id and secret, has not
// expired and is marked usage-bootstrap-authentication=true. Anything else is "not authenticated":
// the request then fails with 401 like any unknown token. A token that is not of the bootstrap
// form is left to the other authenticators.
//
// The Secret is read from the watch cache (a map lookup), so a deleted or edited token stops
// working as soon as the cache has the change.
import { timingSafeEqual } from 'node:crypto';
import {
  BOOTSTRAP_TOKEN_ID_KEY,
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_SECRET_KEY,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  BOOTSTRAP_TOKEN_USAGE_AUTHENTICATION,
  BOOTSTRAP_USER_PREFIX,
  bootstrapTokenExpired,
  bootstrapTokenGroups,
  bootstrapTokenSecretName,
  parseBootstrapToken,
  secretValue,
} from '../../api/bootstrap-token.ts';
import { getLive } from '../admission/common.ts';
import type { Registry, UserInfo } from '../registry.ts';

export interface BootstrapTokenAuthenticatorOptions {
  now?: () => number;
  /** Why a bootstrap-form token was refused (upstream logs these at V(3)). */
  log?: (msg: string) => void;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The authenticator: a user for a valid bootstrap token, undefined otherwise (wrong form, unknown,
 * expired, deleted, not for authentication, bad groups). The user carries system:authenticated, as
 * every user the server's chain returns does.
 */
export function bootstrapTokenAuthenticator(reg: Registry, o: BootstrapTokenAuthenticatorOptions = {}): (token: string) => Promise<UserInfo | undefined> {
  const now = o.now ?? Date.now;
  const refuse = (name: string, why: string): undefined => {
    o.log?.(`Bootstrap secret ${BOOTSTRAP_TOKEN_NAMESPACE}/${name} matching bearer token ${why}`);
    return undefined;
  };
  return async (token) => {
    const parsed = parseBootstrapToken(token);
    if (!parsed) return undefined;
    const name = bootstrapTokenSecretName(parsed.id);
    const secret = (await getLive(reg.must('', 'secrets'), BOOTSTRAP_TOKEN_NAMESPACE, name)) as
      | ({ type?: string; data?: Record<string, string> } & { metadata: { deletionTimestamp?: string } })
      | undefined;
    if (!secret) return undefined;
    if (secret.metadata.deletionTimestamp) return refuse(name, 'is deleted and awaiting removal');
    if (secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE || !secret.data) return refuse(name, `has invalid type, expected ${BOOTSTRAP_TOKEN_SECRET_TYPE}.`);
    if (!sameString(secretValue(secret, BOOTSTRAP_TOKEN_SECRET_KEY), parsed.secret)) return refuse(name, `has invalid value for key ${BOOTSTRAP_TOKEN_SECRET_KEY}.`);
    if (secretValue(secret, BOOTSTRAP_TOKEN_ID_KEY) !== parsed.id) return refuse(name, `has invalid value for key ${BOOTSTRAP_TOKEN_ID_KEY}, expected ${parsed.id}.`);
    if (bootstrapTokenExpired(secret, now())) return refuse(name, 'has expired.');
    if (secretValue(secret, BOOTSTRAP_TOKEN_USAGE_AUTHENTICATION) !== 'true') return refuse(name, `not marked ${BOOTSTRAP_TOKEN_USAGE_AUTHENTICATION}=true.`);
    let groups: string[];
    try {
      groups = bootstrapTokenGroups(secret);
    } catch (e) {
      return refuse(name, `has invalid value for key auth-extra-groups: ${(e as Error).message}.`);
    }
    return { name: BOOTSTRAP_USER_PREFIX + parsed.id, groups: [...groups, 'system:authenticated'] };
  };
}

// The join token `rudder token create` prints and `rudder agent --token` takes, in k3s's secure
// format: K10<sha256 of the cluster CA>::<bootstrap token id>.<secret>. The hash lets the agent
// trust the server on first contact without a copy of the CA: it takes the CA the server presents
// and accepts it only when the hash matches (kubeadm's --discovery-token-ca-cert-hash idea). The
// hash is over the DER of the server CA certificate (what `openssl x509 -outform der | sha256sum`
// prints for <data-dir>/server/tls/server-ca.crt).
import { parseBootstrapToken } from '../api/bootstrap-token.ts';

export interface JoinToken {
  /** Lower-case hex sha256 of the server CA certificate's DER. */
  caHash: string;
  /** The bootstrap token, `<id>.<secret>`. */
  bootstrapToken: string;
  id: string;
}

export const JOIN_TOKEN_FORMAT = 'K10<ca-hash>::<id>.<secret>';

export function formatJoinToken(caHash: string, bootstrapToken: string): string {
  return `K10${caHash}::${bootstrapToken}`;
}

/** Parses a join token; throws a one-line error that says what is wrong and where tokens come from. */
export function parseJoinToken(token: string): JoinToken {
  const t = token.trim();
  const m = /^K10([0-9a-fA-F]{64})::(.*)$/.exec(t);
  if (!m) {
    throw new Error(`invalid join token: expected ${JOIN_TOKEN_FORMAT}, as printed by "rudder token create" on a server`);
  }
  const parsed = parseBootstrapToken(m[2]!);
  if (!parsed) throw new Error('invalid join token: the part after "::" must be a bootstrap token <6 characters [a-z0-9]>.<16 characters [a-z0-9]>');
  return { caHash: m[1]!.toLowerCase(), bootstrapToken: m[2]!, id: parsed.id };
}

// rudder token create|list|delete: join tokens, as `kubeadm token` and `k3s token` (on a server
// machine, with the admin kubeconfig). A token is a bootstrap-token Secret in kube-system; what is
// printed also carries the hash of the cluster CA, so an agent can trust the server on first
// contact (see src/agent/join-token.ts).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  BOOTSTRAP_TOKEN_DESCRIPTION_KEY,
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_SECRET_PREFIX,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  bootstrapTokenExpiry,
  bootstrapTokenSecret,
  generateBootstrapToken,
  RUDDER_NODE_TOKEN_GROUP,
  secretValue,
} from '../api/bootstrap-token.ts';
import type { KObject } from '../api/meta.ts';
import { caCertHash } from '../agent/certs.ts';
import { formatJoinToken } from '../agent/join-token.ts';
import { ensureNodeJoinRbac } from '../agent/join-rbac.ts';
import { Client } from '../client/client.ts';
import { httpsTransportFromKubeconfig, loadKubeconfig } from '../client/https.ts';
import type { Command } from './command.ts';
import { UsageError, formatDuration, formatHelp, parseFlags, type FlagSpec } from './flags.ts';
import { defaultDataDir, defaultKubeconfig } from './paths.ts';

const CONNECTION: FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', metavar: 'FILE', help: 'admin kubeconfig of the cluster (default <data-dir>/kubeconfig.yaml)' },
  { name: 'data-dir', type: 'string', metavar: 'DIR', help: "the server's state directory (default /var/lib/rudder as root, ~/.rudder otherwise)" },
];
const CREATE: FlagSpec[] = [
  { name: 'ttl', type: 'duration', default: 86_400_000, help: 'how long the token is valid (0: it never expires)' },
  { name: 'description', type: 'string', metavar: 'TEXT', help: 'a note kept with the token' },
  ...CONNECTION,
];

const USAGE = 'rudder token create|list|delete [flags]';
const SUMMARY = [
  'Manage join tokens (on a server machine, with the admin kubeconfig).',
  '',
  'Subcommands:',
  '  create              make a token and print it: rudder agent --server https://HOST:6443 --token TOKEN',
  '  list                the tokens, with their expiry',
  '  delete TOKEN|ID     revoke a token (agents already joined keep their certificates)',
].join('\n');

function kubeconfigPath(v: Record<string, unknown>): string {
  const file = (v['kubeconfig'] as string | undefined) ?? defaultKubeconfig((v['data-dir'] as string | undefined) ?? defaultDataDir());
  if (!existsSync(file)) throw new Error(`no kubeconfig at ${file}: run this on a server machine, or pass --kubeconfig FILE`);
  return file;
}

function connect(file: string): { client: Client; caPem: string; close(): Promise<void> } {
  const sel = loadKubeconfig(file);
  if (!sel.ca) throw new Error(`${file} names no certificate authority for its cluster: a join token must pin the cluster CA`);
  const { transport } = httpsTransportFromKubeconfig(file, { userAgent: 'rudder-token/v1.33.0' });
  return { client: new Client(transport), caPem: sel.ca.toString('utf8'), close: () => transport.close() };
}

function apiError(what: string, e: unknown): Error {
  return new Error(`${what}: ${(e as Error).message.split('\n')[0]}`);
}

/** kubeadm's TTL column: time left, e.g. 23h, 59m, <forever>, <invalid>. */
function ttlLeft(expiry: number | undefined, now: number): string {
  if (expiry === undefined) return '<forever>';
  if (Number.isNaN(expiry) || expiry <= now) return '<invalid>';
  const ms = expiry - now;
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)}h`;
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)}m`;
  return `${Math.floor(ms / 1000)}s`;
}

async function create(argv: string[]): Promise<number> {
  const { values: v, args } = parseFlags(CREATE, argv);
  if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
  const ttl = v['ttl'] as number;
  if (ttl < 0) throw new UsageError(`invalid value "${formatDuration(ttl)}" for flag --ttl: must not be negative`);
  const file = kubeconfigPath(v);
  const c = connect(file);
  try {
    const hash = caCertHash(c.caPem);
    try {
      await ensureNodeJoinRbac(c.client);
    } catch (e) {
      throw apiError('cannot set up the permissions joining needs', e);
    }
    const t = generateBootstrapToken(randomBytes);
    const secret = bootstrapTokenSecret({
      id: t.id,
      secret: t.secret,
      expires: ttl > 0 ? new Date(Date.now() + ttl) : undefined,
      description: (v['description'] as string | undefined) ?? 'rudder node join token',
      extraGroups: [RUDDER_NODE_TOKEN_GROUP],
    });
    try {
      await c.client.resource('', 'secrets').namespace(BOOTSTRAP_TOKEN_NAMESPACE).create(secret as unknown as KObject);
    } catch (e) {
      throw apiError('cannot create the token', e);
    }
    console.log(formatJoinToken(hash, t.token));
    return 0;
  } finally {
    await c.close();
  }
}

async function list(argv: string[]): Promise<number> {
  const { values: v, args } = parseFlags(CONNECTION, argv);
  if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
  const c = connect(kubeconfigPath(v));
  try {
    let items: (KObject & { type?: string; data?: Record<string, string> })[];
    try {
      items = (await c.client.resource<KObject & { type?: string; data?: Record<string, string> }>('', 'secrets').namespace(BOOTSTRAP_TOKEN_NAMESPACE).list()).items.filter((s) => s.type === BOOTSTRAP_TOKEN_SECRET_TYPE);
    } catch (e) {
      throw apiError('cannot list the tokens', e);
    }
    const now = Date.now();
    const rows = [['ID', 'TTL', 'EXPIRES', 'DESCRIPTION']];
    for (const s of items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
      if (!s.metadata.name?.startsWith(BOOTSTRAP_TOKEN_SECRET_PREFIX)) continue;
      const expiry = bootstrapTokenExpiry(s);
      rows.push([
        s.metadata.name.slice(BOOTSTRAP_TOKEN_SECRET_PREFIX.length),
        ttlLeft(expiry, now),
        expiry === undefined ? '<never>' : Number.isNaN(expiry) ? '<invalid>' : new Date(expiry).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        secretValue(s, BOOTSTRAP_TOKEN_DESCRIPTION_KEY) || '<none>',
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(widths[i]! + 3))).join(''));
    return 0;
  } finally {
    await c.close();
  }
}

async function del(argv: string[]): Promise<number> {
  const { values: v, args } = parseFlags(CONNECTION, argv);
  if (args.length !== 1) throw new UsageError('expected one token (or token id) to delete');
  const m = /(?:^|::)([a-z0-9]{6})(?:\.[a-z0-9]{16})?$/.exec(args[0]!);
  if (!m) throw new UsageError(`"${args[0]}" is not a token or a token id`);
  const c = connect(kubeconfigPath(v));
  try {
    try {
      await c.client.resource('', 'secrets').namespace(BOOTSTRAP_TOKEN_NAMESPACE).delete(BOOTSTRAP_TOKEN_SECRET_PREFIX + m[1]);
    } catch (e) {
      throw apiError(`cannot delete the token ${m[1]}`, e);
    }
    console.log(`bootstrap token "${m[1]}" deleted`);
    return 0;
  } finally {
    await c.close();
  }
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Create, list and delete the tokens agents join with',
  help: () => formatHelp(USAGE, SUMMARY, CREATE),
  async run(argv) {
    // A request on a fresh HTTP/2 session does not always hold the process open by itself.
    const hold = setInterval(() => {}, 3_600_000);
    try {
      return await runSub(argv);
    } finally {
      clearInterval(hold);
    }
  },
};

async function runSub(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create':
      return create(rest);
    case 'list':
      return list(rest);
    case 'delete':
      return del(rest);
    case undefined:
      throw new UsageError('missing subcommand: create, list or delete');
    default:
      throw new UsageError(`unknown subcommand "${sub}": expected create, list or delete`);
  }
}

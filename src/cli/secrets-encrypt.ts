// rudder secrets-encrypt status|prepare|rotate|reencrypt: key rotation for secrets at rest, as
// k3s names the steps, run against the server with the admin kubeconfig.
import { Client } from '../client/client.ts';
import { httpsTransportFromKubeconfig } from '../client/https.ts';
import type { Command } from './command.ts';
import { UsageError, formatHelp, parseFlags, type FlagSpec } from './flags.ts';
import { defaultDataDir, defaultKubeconfig } from './paths.ts';

const FLAGS: FlagSpec[] = [
  { name: 'data-dir', type: 'string', metavar: 'DIR', help: "the server's data dir (its admin kubeconfig is used)" },
  { name: 'kubeconfig', type: 'string', metavar: 'FILE', help: 'an admin kubeconfig (default <data-dir>/kubeconfig.yaml)' },
];

const ACTIONS = ['status', 'prepare', 'rotate', 'reencrypt'];

interface Status {
  enabled: boolean;
  writeKey?: string;
  keys?: { type: string; name: string }[];
  secrets?: { current: number; stale: number };
}

function print(s: Status): void {
  if (!s.enabled) {
    console.log('Encryption Status: Disabled');
    return;
  }
  console.log('Encryption Status: Enabled');
  console.log(`Current Write Key: ${s.writeKey}`);
  console.log(`Secrets: ${s.secrets!.current} with the write key, ${s.secrets!.stale} to re-encrypt`);
  console.log('\nActive  Key Type  Name\n------  --------  ----');
  for (const k of s.keys ?? []) {
    const active = s.writeKey === `${k.type}:${k.name}` ? ' *' : '  ';
    const type = { aescbc: 'AES-CBC', aesgcm: 'AES-GCM', secretbox: 'Secretbox' }[k.type] ?? k.type;
    console.log(`${active.padEnd(8)}${type.padEnd(10)}${k.name}`);
  }
}

export const secretsEncryptCommand: Command = {
  name: 'secrets-encrypt',
  summary: 'Show or rotate the keys that encrypt secrets at rest',
  help: () =>
    formatHelp(
      'rudder secrets-encrypt status|prepare|rotate|reencrypt [flags]',
      'status shows the keys; prepare adds a new key every server can read; rotate makes it the key new writes use; reencrypt rewrites every secret with it and retires the old keys. The server keeps running throughout.',
      FLAGS,
    ),
  async run(argv) {
    const { values: v, args } = parseFlags(FLAGS, argv);
    const action = args[0];
    if (!action || !ACTIONS.includes(action) || args.length > 1) throw new UsageError(`want one of ${ACTIONS.join(', ')}`);
    const kubeconfig = (v['kubeconfig'] as string | undefined) ?? defaultKubeconfig((v['data-dir'] as string | undefined) ?? defaultDataDir());
    const { transport } = httpsTransportFromKubeconfig(kubeconfig, { userAgent: 'rudder-secrets-encrypt' });
    try {
      const client = new Client(transport);
      const s = (await client.request(action === 'status' ? 'GET' : 'POST', `/rudder/v1/secrets-encrypt/${action}`)) as Status;
      print(s);
      return 0;
    } finally {
      await transport.close();
    }
  },
};

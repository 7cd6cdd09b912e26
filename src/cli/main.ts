// rudder: one program, a table of subcommands. Each entry parses its own flags into a typed
// config and hands it to the components it starts; nothing else reads argv or the environment.
//
// RUDDER_COMPILE_ONLY=1 (set by bin/rudder, not a user interface) makes a compile-only pass: load
// the command's modules, all of them (Command.preload), write them to Node's compile cache and
// exit 0 without running anything. A process that then finds every module it loads in the cache
// neither loads nor runs the TypeScript stripper (~13 MiB of a long-lived agent's RSS otherwise).
import { flushCompileCache } from 'node:module';
import { UsageError } from './flags.ts';
import type { CommandEntry } from './command.ts';

const COMMANDS: CommandEntry[] = [
  { name: 'server', summary: 'Run the control plane (API server, controllers, scheduler) on this machine', load: async () => (await import('./server.ts')).serverCommand },
  { name: 'agent', summary: "Join a cluster and run this machine's node (kubelet, containerd)", load: async () => (await import('./agent.ts')).agentCommand },
  { name: 'sim', summary: 'Run many hollow nodes (simulated runtime) in one process', load: async () => (await import('./sim.ts')).simCommand },
  { name: 'token', summary: 'Create, list and delete the tokens agents join with', load: async () => (await import('./token.ts')).tokenCommand },
  { name: 'images', summary: "Import image tarballs into this machine's agent", load: async () => (await import('./images.ts')).imagesCommand },
  { name: 'controller-manager', summary: 'Run the controllers alone against a cluster (leader-elected)', load: async () => (await import('./controller-manager.ts')).controllerManagerCommand },
  { name: 'proxy', summary: 'Run the Service proxy (kube-proxy, nftables mode) for this machine', load: async () => (await import('./proxy.ts')).proxyCommand },
  { name: 'scheduler', summary: 'Run the scheduler alone against a cluster (leader-elected)', load: async () => (await import('./scheduler.ts')).schedulerCommand },
  { name: 'secrets-encrypt', summary: 'Show or rotate the keys that encrypt secrets at rest', load: async () => (await import('./secrets-encrypt.ts')).secretsEncryptCommand },
  { name: 'kubectl', summary: "Run kubectl with this machine's rudder kubeconfig", load: async () => (await import('./kubectl.ts')).kubectlCommand },
  { name: 'version', summary: 'Print the version of rudder and of the Kubernetes API it serves', load: async () => (await import('./version.ts')).versionCommand },
];

function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'rudder: Kubernetes in one program.',
    '',
    'Usage: rudder COMMAND [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
    '',
    'Run "rudder COMMAND --help" for a command\'s flags.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    console.error(`rudder: unknown command "${name}"; run "rudder --help" for the list`);
    return 2;
  }
  const cmd = await entry.load();
  if (process.env.RUDDER_COMPILE_ONLY === '1') {
    await cmd.preload?.();
    flushCompileCache();
    // A module that opened a handle when it loaded must not hold the pass open.
    process.exit(0);
  }
  if (!cmd.passThrough && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(cmd.help());
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`rudder ${cmd.name}: ${e.message} (see "rudder ${cmd.name} --help")`);
      return 2;
    }
    console.error(`rudder ${cmd.name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== 0) process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);

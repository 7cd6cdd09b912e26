import { readFileSync } from 'node:fs';
import { KUBERNETES_VERSION } from '../api/version.ts';
import type { Command } from './command.ts';
import { formatHelp, parseFlags } from './flags.ts';

export function rudderVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the version of rudder and of the Kubernetes API it serves',
  help: () => formatHelp('rudder version', 'Print the version of rudder and of the Kubernetes API it serves.', []),
  async run(argv) {
    parseFlags([], argv);
    console.log(`rudder version v${rudderVersion()} (Kubernetes ${KUBERNETES_VERSION.gitVersion}, Node.js ${process.version})`);
    return 0;
  },
};

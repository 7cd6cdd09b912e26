// rudder images import: offline images into the running agent's containerd (k3s's airgap images).
// Tarballs copied into <data-dir>/agent/images/ are also imported once at the next agent start.
import { importIntoAgent } from '../kubelet/runtime/agent-runtime.ts';
import type { Command } from './command.ts';
import { UsageError, formatHelp, parseFlags, type FlagSpec } from './flags.ts';
import { defaultDataDir } from './paths.ts';

const FLAGS: FlagSpec[] = [{ name: 'data-dir', type: 'string', metavar: 'DIR', help: "the agent's state directory (default /var/lib/rudder as root, ~/.rudder otherwise)" }];

export const imagesCommand: Command = {
  name: 'images',
  summary: "Import image tarballs into this machine's agent",
  help: () =>
    formatHelp(
      'rudder images import [--data-dir DIR] FILE.tar…',
      'Import OCI or Docker image tarballs into the running agent\'s containerd (tarballs in <data-dir>/agent/images/ are imported at agent start).',
      FLAGS,
    ),
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined) throw new UsageError('missing subcommand: import');
    if (sub !== 'import') throw new UsageError(`unknown subcommand "${sub}": expected import`);
    const { values: v, args } = parseFlags(FLAGS, rest);
    if (args.length === 0) throw new UsageError('expected one or more image tarballs');
    const dataDir = (v['data-dir'] as string | undefined) ?? defaultDataDir();
    for (const file of args) {
      const images = await importIntoAgent(dataDir, file);
      for (const i of images) console.log(`imported ${i}`);
      if (images.length === 0) console.log(`${file}: no named images in this tarball`);
    }
    return 0;
  },
};

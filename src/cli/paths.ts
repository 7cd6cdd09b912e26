// Default locations, k3s-style: /var/lib/rudder as root, ~/.rudder otherwise.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/rudder' : join(homedir(), '.rudder');
}

export function defaultKubeconfig(dataDir: string): string {
  return join(dataDir, 'kubeconfig.yaml');
}

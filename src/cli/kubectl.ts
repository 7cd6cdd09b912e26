// rudder kubectl ARGS…: the machine's kubectl with rudder's admin kubeconfig (unless KUBECONFIG
// is set), as `k3s kubectl` does.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Command } from './command.ts';
import { defaultDataDir, defaultKubeconfig } from './paths.ts';

export const kubectlCommand: Command = {
  name: 'kubectl',
  summary: "Run kubectl with this machine's rudder kubeconfig",
  passThrough: true,
  help: () => 'Usage: rudder kubectl ARGS...\n\nRuns the kubectl on PATH with KUBECONFIG set to rudder\'s admin kubeconfig (unless already set).',
  run(argv) {
    const env = { ...process.env };
    if (!env.KUBECONFIG) {
      const kc = defaultKubeconfig(defaultDataDir());
      if (!existsSync(kc)) {
        return Promise.reject(new Error(`no kubeconfig at ${kc}: start "rudder server" first, or set KUBECONFIG`));
      }
      env.KUBECONFIG = kc;
    }
    return new Promise((resolve, reject) => {
      const child = spawn('kubectl', argv, { stdio: 'inherit', env });
      child.on('error', (e) => reject(new Error(`cannot run kubectl: ${e.message}; install kubectl and put it on PATH`)));
      child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 + 1 : 1)));
    });
  },
};

// postStart and preStop hooks (upstream's pkg/kubelet/lifecycle handlers.go): exec in the container,
// an HTTP GET to the pod (or the given host), or a sleep. A failure answers upstream's message for
// the kubelet's log; events carry only "PostStartHook failed"/"PreStopHook failed", so no secret in a
// command line or output reaches the API.
import type { Clock } from '../client/clock.ts';
import type { Container, LifecycleHandler, Pod } from './api-types.ts';
import { formatPod } from './labels.ts';
import { probeHttp } from './probes/prober.ts';
import type { Runtime } from './runtime/runtime.ts';

export interface HookContext {
  runtime: Runtime;
  clock: Clock;
  pod: Pod;
  container: Container;
  containerId: string;
  podIP: string;
  /** Aborts a sleep hook (the grace period ran out). */
  signal?: AbortSignal;
}

/**
 * Runs the handler; resolves undefined on success, or the failure message. With 'skip-http' an
 * httpGet handler succeeds without connecting (simulated pods have no reachable address).
 */
export async function runHook(h: LifecycleHandler, mode: 'skip-http' | undefined, ctx: HookContext): Promise<string | undefined> {
  const p = JSON.stringify(formatPod(ctx.pod));
  const c = JSON.stringify(ctx.container.name);
  if (h.exec) {
    const cmd = h.exec.command ?? [];
    try {
      const r = await ctx.runtime.execSync(ctx.containerId, cmd, 0);
      if (r.exitCode === 0) return undefined;
      const output = Buffer.concat([r.stdout, r.stderr]).toString('utf8');
      return `Exec lifecycle hook ([${cmd.join(' ')}]) for Container ${c} in Pod ${p} failed - error: command '${cmd.join(' ')}' exited with ${r.exitCode}: ${output}, message: ${JSON.stringify(output)}`;
    } catch (e) {
      return `Exec lifecycle hook ([${cmd.join(' ')}]) for Container ${c} in Pod ${p} failed - error: ${(e as Error).message}, message: ""`;
    }
  }
  if (h.httpGet) {
    if (mode === 'skip-http') return undefined;
    const r = await probeHttp(h.httpGet, ctx.container, ctx.podIP, { timeoutMs: 30_000 });
    if (r.result === 'success') return undefined;
    return `HTTP lifecycle hook (${h.httpGet.path ?? ''}) for Container ${c} in Pod ${p} failed - error: ${r.output}`;
  }
  if (h.sleep) {
    try {
      await ctx.clock.after(Math.max(0, h.sleep.seconds) * 1000, ctx.signal);
    } catch {
      // cut short by the grace period: not a failure
    }
    return undefined;
  }
  return `Cannot run handler: invalid handler: ${JSON.stringify(h)}`;
}

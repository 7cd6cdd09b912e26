// Per-pod start-up stage times, for benchmarks (bench/kubelet.ts) and debugging: when the agent
// runs with --pod-startup-trace FILE, the kubelet appends one JSON line per stage a pod passes —
// {"t": <ms since the epoch, sub-millisecond>, "pod": "<namespace>/<name>", "uid": …, "stage": …} —
// so that a burst's slowest pods can be taken apart beside what the API's watch showed. Off (and
// free) otherwise. A mark costs a string: lines are gathered and appended to the file at most every
// 250 ms in one write (a write per mark showed as 2% of the agent's busy time in a burst), and what
// is left when the process exits.
import { appendFile, appendFileSync } from 'node:fs';

/** The stages marked, in the order a starting pod passes them (not every pod passes all). */
export type PodStage =
  | 'informer' // the pod informer delivered the pod (add or update) to the pod workers
  | 'sync' // its worker began a sync
  | 'sandbox-request' // RunPodSandbox sent
  | 'sandbox-ready' // RunPodSandbox answered and the sandbox's status read (its IP known)
  | 'volumes-ready' // every volume set up
  | 'image-ready' // the container's image found present (or pulled)
  | 'create-request' // CreateContainer sent
  | 'create-done'
  | 'start-done' // StartContainer answered
  | 'synced' // the sync's final runtime state read and its status computed
  | 'status-sent' // a status patch sent (detail: the phase it carries)
  | 'status-written'; // that patch answered

export interface PodTracer {
  mark(pod: { metadata: { namespace?: string; name?: string; uid?: string } }, stage: PodStage, detail?: string): void;
}

export const NO_TRACE: PodTracer = { mark() {} };

/** The tracer appending to `file`. */
export function fileTracer(file: string, flushMs = 250): PodTracer & { flush(): void } {
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (!pending) return;
    const text = pending;
    pending = '';
    appendFile(file, text, () => undefined);
  };
  process.once('exit', () => {
    // Best effort: a trace is diagnostics, and its directory may be gone by now (a test's).
    try {
      if (pending) appendFileSync(file, pending);
    } catch {
      // nothing to report to at exit
    }
  });
  return {
    mark(pod, stage, detail) {
      const t = performance.timeOrigin + performance.now();
      const m = pod.metadata;
      pending += `${JSON.stringify({ t, pod: `${m.namespace ?? ''}/${m.name ?? ''}`, uid: m.uid ?? '', stage, ...(detail ? { detail } : {}) })}\n`;
      timer ??= setTimeout(flush, flushMs).unref();
    },
    flush,
  };
}

/** The tracer a configuration asks for: one appending to `file`, or none. */
export function tracerFor(file: string | undefined): PodTracer {
  return file ? fileTracer(file) : NO_TRACE;
}

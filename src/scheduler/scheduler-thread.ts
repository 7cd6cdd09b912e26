// The scheduler on its own thread inside the server process (`rudder server`): a worker thread
// runs startScheduler over a port transport that the main thread answers with the server's
// in-process transport. The API server's event loop then only forwards the scheduler's requests
// and watch events (one structured clone each) instead of also running its filter and score
// loops, informers and event recording; on a machine with two cores or more the two work at
// once. The scheduler in the thread is the same code `rudder scheduler` runs: leader election,
// events, bindings, all through the API.
import { MessageChannel, Worker } from 'node:worker_threads';
import type { Transport } from '../api/transport.ts';
import { loadSchedulerConfig, type SchedulerSettings } from './config.ts';
import { servePort } from './port-transport.ts';

export interface SchedulerThreadOptions {
  /** The in-process transport the scheduler's requests go through (the server's handler chain). */
  transport: Transport;
  /** KubeSchedulerConfiguration file contents (YAML/JSON), if any. */
  config?: string;
  log: (msg: string) => void;
}

export interface SchedulerThread {
  /** Resolves once the scheduler in the thread leads (is scheduling). */
  started(): Promise<void>;
  /** Stops the scheduler (it gives up its lease as `rudder scheduler` does), then the thread. */
  stop(): Promise<void>;
}

/** Messages on the worker's parentPort (its transport has a port of its own). */
export type ThreadControl = { t: 'log'; msg: string } | { t: 'started' } | { t: 'stopped' } | { t: 'stop' };

/** What the worker entry (scheduler-worker.ts) receives as workerData, besides its transferred port. */
export interface SchedulerWorkerData {
  port: import('node:worker_threads').MessagePort;
  settings: SchedulerSettings;
}

const RESTART_DELAY_MS = 1000;

/** Throws (a ConfigError) as startScheduler does when the configuration is invalid: before any thread starts. */
export function startSchedulerThread(o: SchedulerThreadOptions): SchedulerThread {
  const settings = loadSchedulerConfig(o.config);
  let resolveStarted!: () => void;
  const startedP = new Promise<void>((r) => (resolveStarted = r));
  let stopping = false;
  let current: { worker: Worker; serving: { close(): void }; exited: Promise<void>; stopped: Promise<void> } | undefined;
  let restartTimer: NodeJS.Timeout | undefined;

  const spawn = () => {
    const { port1, port2 } = new MessageChannel();
    // Its informers never read managedFields (upstream's kube-scheduler drops them from its pod informer).
    const serving = servePort(port1, o.transport, { dropManagedFields: true });
    const data: SchedulerWorkerData = { port: port2, settings };
    const worker = new Worker(new URL('./scheduler-worker.ts', import.meta.url), { workerData: data, transferList: [port2], stdout: false, stderr: false });
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    worker.on('message', (m: ThreadControl) => {
      if (m.t === 'log') o.log(m.msg);
      else if (m.t === 'started') resolveStarted();
      else if (m.t === 'stopped') resolveStopped();
    });
    worker.on('error', (e) => o.log(`scheduler thread failed: ${e?.stack ?? e}`));
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', (code) => {
        serving.close();
        port1.close();
        resolveStopped();
        resolve();
        if (stopping) return;
        // A scheduler that died must not leave the cluster without one: start it again, as a
        // supervisor restarts kube-scheduler.
        o.log(`scheduler thread exited (code ${code}); restarting it in ${RESTART_DELAY_MS} ms`);
        restartTimer = setTimeout(spawn, RESTART_DELAY_MS);
      }),
    );
    // The scheduler must not keep a stopping server alive by itself.
    worker.unref();
    current = { worker, serving, exited, stopped };
  };
  spawn();

  return {
    started: () => startedP,
    async stop() {
      if (stopping) return;
      stopping = true;
      clearTimeout(restartTimer);
      const c = current;
      if (!c) return;
      c.worker.postMessage({ t: 'stop' } satisfies ThreadControl);
      const grace = new Promise<void>((r) => setTimeout(r, 5000).unref());
      await Promise.race([c.stopped, grace]);
      await c.worker.terminate();
      await c.exited;
    },
  };
}

// The controller-manager's framework: what every controller gets (a client, the shared informers,
// an event recorder, a clock, the manager's configuration) and the one worker loop they all use.
//
// The client-go pattern, as a contract: informer event handlers only enqueue keys; workers take a
// key, call sync(key), and on error requeue it rate-limited (forget on success). sync reads from
// the informers' listers, never mutates an object it read (clone first), computes with pure
// functions, and writes through the client with optimistic concurrency.
import type { Client } from '../client/client.ts';
import type { Clock } from '../client/clock.ts';
import type { EventRecorder } from '../client/events.ts';
import type { SharedInformerFactory } from '../client/informer.ts';
import { WorkQueue } from '../client/workqueue.ts';

export interface ControllerManagerConfig {
  clusterCidr: string;
  nodeCidrMaskSize: number;
  serviceCidr: string;
  nodeMonitorGracePeriodMs: number;
  /** How often node health is evaluated (upstream's --node-monitor-period, 5 s). */
  nodeMonitorPeriodMs: number;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
  /** Terminated pods kept before pod GC deletes the oldest (upstream's default 12500). */
  terminatedPodGCThreshold: number;
  /** Where the built-in local-path provisioner creates volumes on nodes. */
  localPathRoot: string;
  /** The cluster CA bundle published as kube-root-ca.crt in every namespace. */
  rootCaCert: string;
  /** Controllers to run ("*" for all, "-name" to disable one), as upstream's --controllers. */
  controllers: string[];
}

export interface ControllerContext {
  client: Client;
  informers: SharedInformerFactory;
  /** An event recorder reporting as `component` (e.g. "deployment-controller"). */
  recorder(component: string): EventRecorder;
  clock: Clock;
  config: ControllerManagerConfig;
  log(msg: string): void;
}

export interface Controller {
  /** upstream's controller name, e.g. "deployment", "replicaset", "garbage-collector". */
  name: string;
  /**
   * Registers informer handlers (before the informers start) and returns the loop that runs the
   * workers until the signal aborts. Informers are started and synced before `run` is called.
   */
  setup(ctx: ControllerContext): { run(signal: AbortSignal): Promise<void> };
}

/**
 * Runs `workers` loops over a queue of keys, calling sync for each. A sync that throws is retried
 * with the queue's rate limiter; one that resolves is forgotten. Resolves when the signal aborts
 * (the queue is shut down) and every in-flight sync has finished.
 */
export async function runWorkers(
  queue: WorkQueue<string>,
  workers: number,
  sync: (key: string) => Promise<void>,
  signal: AbortSignal,
  log: (msg: string) => void,
  name: string,
): Promise<void> {
  if (signal.aborted) queue.shutDown();
  else signal.addEventListener('abort', () => queue.shutDown(), { once: true });
  const loop = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await sync(key);
        queue.forget(key);
      } catch (e) {
        if (!signal.aborted) {
          log(`${name}: error syncing ${key}: ${(e as Error).message}; requeued`);
          queue.addRateLimited(key);
        }
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

/** namespace/name, or name for cluster-scoped objects: the key every controller queues. */
export function keyOf(o: { metadata: { namespace?: string; name?: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

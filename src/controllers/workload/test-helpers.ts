// Test support shared by the workload controllers' integration tests: polling for a condition,
// reading events, and the pod status writes a kubelet would make (Succeeded/Failed through the
// status subresource).
import type { KObject } from '../../api/meta.ts';
import type { Client } from '../../client/client.ts';
import type { FakeClock } from '../../client/clock.ts';

/** Polls fn (every 20 ms) until it answers a truthy value; fails after timeoutMs with the last error. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Like waitFor, but moves a FakeClock forward by stepMs between polls, so work the controllers
 * delay on that clock (batched syncs, back-offs, schedules) happens in real milliseconds.
 */
export async function pumpUntil<T>(clock: FakeClock, what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, o: { stepMs?: number; timeoutMs?: number } = {}): Promise<T> {
  const end = Date.now() + (o.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await clock.advance(o.stepMs ?? 1000);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface EventLite {
  reason: string;
  message: string;
  type: string;
  involvedObject: { kind?: string; name?: string };
  source?: { component?: string };
  count?: number;
}

/** core/v1 Events in a namespace about the named object. */
export async function eventsFor(client: Client, namespace: string, kind: string, name: string): Promise<EventLite[]> {
  const list = await client.resource('', 'events').namespace(namespace).list();
  return (list.items as unknown as EventLite[]).filter((e) => e.involvedObject?.kind === kind && e.involvedObject?.name === name);
}

/** Marks a pod finished as a kubelet would: phase, terminated container states, Ready=False. */
export async function finishPod(client: Client, namespace: string, name: string, phase: 'Succeeded' | 'Failed', o: { exitCode?: number; at?: number; container?: string } = {}): Promise<KObject> {
  const pods = client.resource('', 'pods').namespace(namespace);
  const pod = (await pods.get(name)) as KObject & { spec: { containers: { name: string }[] } };
  const at = new Date(o.at ?? Date.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  const exitCode = o.exitCode ?? (phase === 'Succeeded' ? 0 : 1);
  return pods.patch(
    name,
    'merge',
    {
      status: {
        phase,
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: at },
          { type: 'Initialized', status: 'True', lastTransitionTime: at },
          { type: 'ContainersReady', status: 'False', lastTransitionTime: at, reason: 'PodCompleted' },
          { type: 'Ready', status: 'False', lastTransitionTime: at, reason: 'PodCompleted' },
        ],
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          image: 'busybox',
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: { terminated: { exitCode: c.name === (o.container ?? c.name) ? exitCode : 0, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: at, finishedAt: at } },
        })),
      },
    },
    { subresource: 'status' },
  );
}

/**
 * A namespace ready for pods: the namespace and its `default` ServiceAccount (which the
 * ServiceAccount admission requires and the service-account controller would create).
 */
export async function createNamespace(client: Client, name: string): Promise<void> {
  await client.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  try {
    await client.resource('', 'serviceaccounts').namespace(name).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
  }
}

// The TTL-after-finished controller (upstream's pkg/controller/ttlafterfinished): a Job with
// spec.ttlSecondsAfterFinished is deleted that many seconds after its Complete or Failed
// condition turned True, with foreground propagation (its pods go first) and a uid precondition,
// after re-reading it from the API so a just-changed TTL or a recreated Job is respected.
import { StatusError } from '../../api/errors.ts';
import type { Lister } from '../../client/store.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { keyOf, runWorkers, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import type { Job } from './job-utils.ts';

/** When the Job finished (its Complete/Failed=True condition's transition), or undefined. */
export function jobFinishTime(job: Job): number | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c?.type === 'Complete' || c?.type === 'Failed') && c?.status === 'True') {
      const t = Date.parse(c.lastTransitionTime ?? '');
      return Number.isFinite(t) ? t : undefined;
    }
  }
  return undefined;
}

export function needsCleanup(job: Job): boolean {
  return job.spec?.ttlSecondsAfterFinished != null && jobFinishTime(job) !== undefined;
}

/** Milliseconds until the Job expires (≤ 0: expired). */
export function timeLeftMs(job: Job, nowMs: number): number | undefined {
  const finish = jobFinishTime(job);
  if (finish === undefined || job.spec?.ttlSecondsAfterFinished == null) return undefined;
  return finish + job.spec.ttlSecondsAfterFinished * 1000 - nowMs;
}

export function ttlAfterFinishedController(): Controller {
  return {
    name: 'ttl-after-finished',
    setup(ctx) {
      const inf = ctx.informers.informerFor<Job>('batch', 'jobs');
      const jobs = inf.lister();
      const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'ttl_jobs_to_delete' });
      const consider = (job: Job) => {
        if (!job.metadata.deletionTimestamp && needsCleanup(job)) queue.add(keyOf(job));
      };
      inf.addEventHandler({ onAdd: consider, onUpdate: (_o, j) => consider(j) });
      return { run: (signal) => runWorkers(queue, 5, (key) => processJob(ctx, jobs, queue, key), signal, ctx.log, 'ttl-after-finished') };
    },
  };
}

async function processJob(ctx: ControllerContext, jobs: Lister<Job>, queue: WorkQueue<string>, key: string): Promise<void> {
  const { namespace, name } = splitKey(key);
  const cached = jobs.namespace(namespace).get(name);
  if (!cached || cached.metadata.deletionTimestamp || !needsCleanup(cached)) return;
  const left = timeLeftMs(cached, ctx.clock.now())!;
  if (left > 0) {
    queue.addAfter(key, left);
    return;
  }
  const client = ctx.client.resource<Job>('batch', 'jobs').namespace(namespace);
  let fresh: Job;
  try {
    fresh = await client.get(name);
  } catch (e) {
    if (e instanceof StatusError && e.code === 404) return;
    throw e;
  }
  if (fresh.metadata.deletionTimestamp || !needsCleanup(fresh)) return;
  const freshLeft = timeLeftMs(fresh, ctx.clock.now())!;
  if (freshLeft > 0) {
    queue.addAfter(key, freshLeft);
    return;
  }
  ctx.log(`ttl-after-finished: cleaning up Job ${key}`);
  try {
    await client.delete(name, { propagationPolicy: 'Foreground', preconditions: { uid: fresh.metadata.uid } });
  } catch (e) {
    if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
  }
}

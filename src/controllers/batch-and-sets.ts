// The workload controllers for stateful sets, daemon sets and batch work, as one list for the
// controller-manager: StatefulSet, DaemonSet, Job, the TTL-after-finished cleaner of Jobs, and
// CronJob (names as upstream's --controllers: statefulset, daemonset, job, ttl-after-finished,
// cronjob).
import type { Controller } from './controller.ts';
import { cronJobController } from './cronjob/cronjob-controller.ts';
import { daemonSetController } from './daemonset/daemonset-controller.ts';
import { jobController } from './job/job-controller.ts';
import { ttlAfterFinishedController } from './job/ttl-after-finished-controller.ts';
import { statefulSetController } from './statefulset/statefulset-controller.ts';

export { cronJobController, daemonSetController, jobController, ttlAfterFinishedController, statefulSetController };

export function setAndBatchControllers(): Controller[] {
  return [statefulSetController(), daemonSetController(), jobController(), ttlAfterFinishedController(), cronJobController()];
}

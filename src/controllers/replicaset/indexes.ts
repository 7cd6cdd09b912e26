// Informer indexes shared by the workload controllers. A shared informer accepts an index name
// once, with one function: every controller that wants these indexes imports these very
// functions (a second function under the same name is an error at setup).
import type { KObject } from '../../api/meta.ts';
import { controllerOf } from './controllerref.ts';

/** Pods (or any children) by the UID of their controller, orphans under orphanKey(namespace). */
export const BY_CONTROLLER_UID = 'workloads.controllerUID';

export function orphanKey(namespace: string | undefined): string {
  return `orphan/${namespace ?? ''}`;
}

export function byControllerUid(o: KObject): readonly string[] {
  const ref = controllerOf(o);
  return [ref ? ref.uid : orphanKey(o.metadata.namespace)];
}

export const controllerUidIndexers = { [BY_CONTROLLER_UID]: byControllerUid };

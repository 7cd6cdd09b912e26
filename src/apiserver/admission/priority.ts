// The Priority admission plugin, as upstream's plugin/pkg/admission/priority (1.33):
// - a new pod's spec.priority (and preemptionPolicy) come from its spec.priorityClassName's
//   PriorityClass; without a class name, from the globalDefault class (whose name is then set
//   on the pod), or priority 0 with PreemptLowerPriority when there is none; an unknown class is
//   refused, and so is a spec.priority or preemptionPolicy that differs from the computed one;
// - an update keeps the priority the pod was admitted with;
// - at most one PriorityClass may be globalDefault.
// Upstream no longer confines system-node-critical / system-cluster-critical to kube-system in
// this plugin (that moved to ResourceQuota's admission configuration in 1.17), so neither do we.
import type { KObject } from '../../api/meta.ts';
import type { AdmissionPlugin, Registry } from '../registry.ts';
import { admissionForbidden, getLive, type Json } from './common.ts';

/** The globalDefault class with the lowest value (upstream's tie-break after a racing create). */
function defaultPriorityClass(reg: Registry): KObject | undefined {
  let best: Json;
  for (const e of reg.must('scheduling.k8s.io', 'priorityclasses').cache.list(undefined)) {
    const pc = e.obj as Json;
    if (pc.globalDefault === true && (best === undefined || best.value > pc.value)) best = pc;
  }
  return best;
}

export function priorityAdmission(): AdmissionPlugin {
  return {
    name: 'Priority',
    async admit(a, reg) {
      if (a.subresource !== '' || !a.object) return;
      const r = a.resource;
      if (r.group === '' && r.plural === 'pods') {
        const pod = a.object as Json;
        const spec = (pod.spec ??= {});
        if (a.operation === 'UPDATE') {
          const old = a.oldObject as Json;
          if (spec.priority == null && old?.spec?.priority != null) spec.priority = old.spec.priority;
          if (spec.preemptionPolicy == null && old?.spec?.preemptionPolicy != null) spec.preemptionPolicy = old.spec.preemptionPolicy;
          return;
        }
        if (a.operation !== 'CREATE') return;
        let priority: number;
        let policy: string | undefined;
        if (!spec.priorityClassName) {
          const dpc = defaultPriorityClass(reg) as Json;
          if (dpc) {
            spec.priorityClassName = dpc.metadata.name;
            priority = dpc.value;
            policy = dpc.preemptionPolicy;
          } else {
            delete spec.priorityClassName;
            priority = 0;
            policy = 'PreemptLowerPriority';
          }
        } else {
          // The cache, then a consistent read: a class created just before the pod is found.
          const pc = (await getLive(reg.must('scheduling.k8s.io', 'priorityclasses'), '', spec.priorityClassName)) as Json;
          if (!pc) throw admissionForbidden(a, `no PriorityClass with name ${spec.priorityClassName} was found`);
          priority = pc.value;
          policy = pc.preemptionPolicy;
        }
        if (spec.priority != null && spec.priority !== priority) {
          throw admissionForbidden(
            a,
            `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
          );
        }
        spec.priority = priority;
        if (policy) {
          if (spec.preemptionPolicy != null && spec.preemptionPolicy !== policy) {
            throw admissionForbidden(
              a,
              `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
            );
          }
          spec.preemptionPolicy = policy;
        }
        return;
      }
      if (r.group === 'scheduling.k8s.io' && r.plural === 'priorityclasses' && (a.operation === 'CREATE' || a.operation === 'UPDATE')) {
        const pc = a.object as Json;
        if (pc.globalDefault !== true) return;
        const dpc = defaultPriorityClass(reg);
        if (dpc && (a.operation === 'CREATE' || dpc.metadata.name !== pc.metadata?.name)) {
          throw admissionForbidden(a, `PriorityClass ${dpc.metadata.name} is already marked as default. Only one default can exist`);
        }
      }
    },
  };
}

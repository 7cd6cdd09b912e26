// TaintToleration: NoSchedule/NoExecute taints the pod does not tolerate rule a node out;
// untolerated PreferNoSchedule taints lower its score.

import { Action } from '../events.ts';
import type { CycleState } from '../framework/cycle-state.ts';
import type { EnqueueExtensions, FilterPlugin, PreScorePlugin, ScorePlugin } from '../framework/interfaces.ts';
import { findUntoleratedTaint, isDoNotScheduleTaint, tolerationsTolerateTaint } from '../nodeaffinity.ts';
import type { NodeInfo } from '../nodeinfo.ts';
import type { PodInfo } from '../podinfo.ts';
import { Code, fixedStatus } from '../status.ts';
import type { Node, Pod, Toleration } from '../types.ts';
import { defaultNormalizeScore } from './helpers.ts';
import { TaintToleration as Name } from './names.ts';

const PRE_SCORE_KEY = 'PreScore' + Name;

export function untoleratedTaintReason(key: string, value: string | undefined): string {
  return `node(s) had untolerated taint {${key}: ${value ?? ''}}`;
}

function preferNoScheduleTolerations(pod: Pod): Toleration[] {
  return (pod.spec.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
}

export function newTaintToleration(): FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  return {
    name: Name,
    filter(_state, pod: PodInfo, ni: NodeInfo) {
      const taints = ni.taints;
      if (!taints) return null;
      const t = findUntoleratedTaint(taints, pod.pod.spec.tolerations, isDoNotScheduleTaint);
      if (!t) return null;
      return fixedStatus(Code.UnschedulableAndUnresolvable, untoleratedTaintReason(t.key, t.value));
    },
    preScore(state: CycleState, pod: PodInfo) {
      state.write(PRE_SCORE_KEY, preferNoScheduleTolerations(pod.pod));
      return null;
    },
    score(state: CycleState, pod: PodInfo, ni: NodeInfo) {
      const taints = ni.taints;
      if (!taints) return 0;
      const tols = state.read<Toleration[]>(PRE_SCORE_KEY) ?? preferNoScheduleTolerations(pod.pod);
      let n = 0;
      for (const t of taints) if (t.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tols, t)) n++;
      return n;
    },
    normalizeScore(_state, _pod, _nodes, scores) {
      defaultNormalizeScore(scores, true);
      return null;
    },
    eventsToRegister() {
      return [
        {
          event: { resource: 'Node', action: Action.Add | Action.UpdateNodeTaint },
          hint: (pod: Pod, _old: unknown, node: unknown) =>
            findUntoleratedTaint((node as Node).spec?.taints, pod.spec.tolerations, isDoNotScheduleTaint) ? 'Skip' : 'Queue',
        },
        { event: { resource: 'UnscheduledPod', action: Action.UpdatePodToleration } },
      ];
    },
  };
}

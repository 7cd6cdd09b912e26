// NodeAffinity: spec.nodeSelector and required node affinity filter nodes; preferred node
// affinity scores them. Args (NodeAffinityArgs.addedAffinity) add a profile-wide affinity every
// pod must also satisfy.

import { Action } from '../events.ts';
import type { CycleState } from '../framework/cycle-state.ts';
import type { EnqueueExtensions, FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../framework/interfaces.ts';
import {
  compileNodeSelector,
  compilePreferredTerms,
  nodeSelectorMatches,
  preferredScore,
  requiredNodeAffinity,
  type CompiledNodeSelector,
  type CompiledPreferredTerm,
} from '../nodeaffinity.ts';
import type { PodInfo } from '../podinfo.ts';
import { Code, fixedStatus, Status } from '../status.ts';
import type { Node, NodeAffinity as NodeAffinitySpec, Pod } from '../types.ts';
import { defaultNormalizeScore } from './helpers.ts';
import { NodeAffinity as Name } from './names.ts';

export const ErrReasonPod = "node(s) didn't match Pod's node affinity/selector";
export const ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity";
export const ErrReasonConflict = 'pod affinity terms conflict';

const POD_MISMATCH = fixedStatus(Code.UnschedulableAndUnresolvable, ErrReasonPod);
const ENFORCED_MISMATCH = fixedStatus(Code.UnschedulableAndUnresolvable, ErrReasonEnforced);

const PRE_SCORE_KEY = 'PreScore' + Name;

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) if (b.has(x)) out.add(x);
  return out;
}

function union(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  const out = new Set<string>(a);
  for (const x of b) out.add(x);
  return out;
}

export interface NodeAffinityArgs {
  addedAffinity?: NodeAffinitySpec;
}

export function newNodeAffinity(rawArgs: unknown): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  const args = (rawArgs ?? {}) as NodeAffinityArgs;
  const addedRequired: CompiledNodeSelector | null = args.addedAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ? compileNodeSelector(args.addedAffinity.requiredDuringSchedulingIgnoredDuringExecution)
    : null;
  const addedPreferred: CompiledPreferredTerm[] = compilePreferredTerms(args.addedAffinity?.preferredDuringSchedulingIgnoredDuringExecution);

  const matchesPod = (pod: Pod, node: Node) => (!addedRequired || nodeSelectorMatches(addedRequired, node)) && requiredNodeAffinity(pod).match(node);

  return {
    name: Name,
    preFilter(_state, pod: PodInfo) {
      const req = pod.pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
      if (!req && !addedRequired && !pod.pod.spec.nodeSelector) return new Status(Code.Skip);
      const terms = req?.nodeSelectorTerms ?? [];
      if (terms.length === 0) return null;
      // Affinity to specific nodes by metadata.name narrows the nodes worth filtering.
      let nodeNames: Set<string> | null = null;
      for (const t of terms) {
        let termNames: Set<string> | null = null;
        for (const r of t.matchFields ?? []) {
          if (r.key === 'metadata.name' && r.operator === 'In') {
            const s = new Set<string>(r.values ?? []);
            termNames = termNames === null ? s : intersect(termNames, s);
          }
        }
        // a term without a name requirement admits every node: the terms are ORed
        if (termNames === null) return null;
        nodeNames = nodeNames === null ? termNames : union(nodeNames, termNames);
      }
      if (nodeNames !== null && nodeNames.size === 0) return fixedStatus(Code.UnschedulableAndUnresolvable, ErrReasonConflict);
      return nodeNames ? { result: { nodeNames } } : null;
    },
    filter(_state, pod, ni) {
      if (addedRequired && !nodeSelectorMatches(addedRequired, ni.node)) return ENFORCED_MISMATCH;
      const req = requiredNodeAffinity(pod.pod);
      if (req.matchesAll || req.match(ni.node)) return null;
      return POD_MISMATCH;
    },
    preScore(state: CycleState, pod: PodInfo) {
      const preferred = compilePreferredTerms(pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
      if (preferred.length === 0 && addedPreferred.length === 0) return new Status(Code.Skip);
      state.write(PRE_SCORE_KEY, preferred);
      return null;
    },
    score(state: CycleState, pod: PodInfo, ni) {
      const preferred =
        state.read<CompiledPreferredTerm[]>(PRE_SCORE_KEY) ?? compilePreferredTerms(pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
      return preferredScore(addedPreferred, ni.node) + preferredScore(preferred, ni.node);
    },
    normalizeScore(_state, _pod, _nodes, scores) {
      defaultNormalizeScore(scores, false);
      return null;
    },
    eventsToRegister() {
      return [
        {
          event: { resource: 'Node', action: Action.Add | Action.UpdateNodeLabel },
          hint: (pod: Pod, oldNode: unknown, node: unknown) => {
            if (!matchesPod(pod, node as Node)) return 'Skip';
            // an update that keeps a node matching was not what rejected the pod
            return oldNode && matchesPod(pod, oldNode as Node) ? 'Skip' : 'Queue';
          },
        },
      ];
    },
  };
}

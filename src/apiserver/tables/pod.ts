// The pod row: upstream's printPod, whose STATUS folds the phase, the pod's reason, init
// container progress and each container's state into one word, and whose RESTARTS tells when
// the most recent restart happened.

import { humanDuration, parseTimestamp } from './duration.ts';
import { arr, conditionStatus, int, obj, str, type Obj } from './format.ts';
import type { RowCondition } from './types.ts';

/** The reason the node lifecycle controller gives pods on a node that stopped reporting. */
const NODE_LOST = 'NodeLost';

function isRestartable(c: Obj | undefined): boolean {
  return c !== undefined && c.restartPolicy === 'Always';
}

/** A container's last termination time in ms, or -Infinity (Go's zero time) when there is none. */
function lastTerminated(status: Obj): number {
  const t = obj(obj(status.lastState).terminated);
  return parseTimestamp(t.finishedAt) ?? -Infinity;
}

/** "Signal:9" / "ExitCode:1" for a terminated state without a reason, else its reason. */
function terminatedReason(t: Obj, prefix: string): string {
  if (str(t.reason)) return prefix + str(t.reason);
  const signal = int(t.signal);
  return signal !== 0 ? `${prefix}Signal:${signal}` : `${prefix}ExitCode:${int(t.exitCode)}`;
}

export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
}

/** The READY, STATUS and RESTARTS cells of a pod. */
export function podSummary(pod: unknown, now: Date): PodSummary {
  const p = obj(pod);
  const spec = obj(p.spec);
  const status = obj(p.status);
  const containers = arr(spec.containers);
  const initSpecs = arr(spec.initContainers);

  let restarts = 0;
  let restartableRestarts = 0;
  let total = containers.length;
  let ready = 0;
  let lastRestart = -Infinity;
  let lastRestartableRestart = -Infinity;

  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  for (const c of arr(status.conditions)) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initByName = new Map<string, Obj>();
  for (const c of initSpecs) {
    initByName.set(str(c.name), c);
    if (isRestartable(c)) total++;
  }

  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]!;
    const state = obj(cs.state);
    const restartable = isRestartable(initByName.get(str(cs.name)));
    restarts += int(cs.restartCount);
    lastRestart = Math.max(lastRestart, lastTerminated(cs));
    if (restartable) {
      restartableRestarts += int(cs.restartCount);
      lastRestartableRestart = Math.max(lastRestartableRestart, lastTerminated(cs));
    }
    const terminated = state.terminated ? obj(state.terminated) : undefined;
    const waiting = state.waiting ? obj(state.waiting) : undefined;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (restartable && cs.started === true) {
      if (cs.ready === true) ready++;
      continue;
    }
    if (terminated) {
      reason = terminatedReason(terminated, 'Init:');
    } else if (waiting && str(waiting.reason) && waiting.reason !== 'PodInitializing') {
      reason = 'Init:' + str(waiting.reason);
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionStatus(status.conditions, 'Initialized') === 'True') {
    restarts = restartableRestarts;
    lastRestart = lastRestartableRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    // Upstream walks the statuses last to first, so the first container's state wins.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      const state = obj(cs.state);
      restarts += int(cs.restartCount);
      lastRestart = Math.max(lastRestart, lastTerminated(cs));
      const waiting = state.waiting ? obj(state.waiting) : undefined;
      const terminated = state.terminated ? obj(state.terminated) : undefined;
      if (waiting && str(waiting.reason)) {
        reason = str(waiting.reason);
      } else if (terminated) {
        reason = terminatedReason(terminated, '');
      } else if (cs.ready === true && state.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = conditionStatus(status.conditions, 'Ready') === 'True' ? 'Running' : 'NotReady';
    }
  }

  const deleting = obj(p.metadata).deletionTimestamp != null;
  if (deleting && status.reason === NODE_LOST) {
    reason = 'Unknown';
  } else if (deleting && phase !== 'Failed' && phase !== 'Succeeded') {
    reason = 'Terminating';
  }

  let restartsText = String(restarts);
  if (restarts !== 0 && lastRestart !== -Infinity) {
    restartsText = `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`;
  }
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsText };
}

/** The IP, NODE, NOMINATED NODE and READINESS GATES cells. */
export function podWideCells(pod: unknown): string[] {
  const p = obj(pod);
  const spec = obj(p.spec);
  const status = obj(p.status);
  const ip = str(arr(status.podIPs)[0]?.ip) || '<none>';
  const node = str(spec.nodeName) || '<none>';
  const nominated = str(status.nominatedNodeName) || '<none>';
  let gates = '<none>';
  const wanted = arr(spec.readinessGates);
  if (wanted.length > 0) {
    let met = 0;
    for (const g of wanted) if (conditionStatus(status.conditions, str(g.conditionType)) === 'True') met++;
    gates = `${met}/${wanted.length}`;
  }
  return [ip, node, nominated, gates];
}

/** Upstream marks rows of finished pods Completed, so clients may tell them apart. */
export function podConditions(pod: unknown): RowCondition[] | undefined {
  switch (obj(obj(pod).status).phase) {
    case 'Succeeded':
      return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
    case 'Failed':
      return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
    default:
      return undefined;
  }
}

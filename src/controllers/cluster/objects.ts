// Small readers over plain API objects that several controllers of this set share: pod phase and
// conditions (upstream's pkg/api/v1/pod helpers), owner references, and timestamps from the
// injected clock. Objects are read-only here.
import { rfc3339, type KObject, type OwnerReference } from '../../api/meta.ts';
import type { Clock } from '../../client/clock.ts';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastHeartbeatTime?: string;
  lastProbeTime?: string | null;
  observedGeneration?: number;
}

/** Any object's status.conditions (empty when absent). */
export function conditionsOf(o: KObject): readonly Condition[] {
  const s = o.status as { conditions?: Condition[] } | undefined;
  return s?.conditions ?? [];
}

export function getCondition(o: KObject, type: string): Condition | undefined {
  return conditionsOf(o).find((c) => c.type === type);
}

/** upstream's IsPodReady: the Ready condition is True. */
export function isPodReady(pod: KObject): boolean {
  return getCondition(pod, 'Ready')?.status === 'True';
}

export function podPhase(pod: KObject): string | undefined {
  return (pod.status as { phase?: string } | undefined)?.phase;
}

/** Succeeded or Failed: the pod's containers are done and will never run again. */
export function isPodTerminal(pod: KObject): boolean {
  const p = podPhase(pod);
  return p === 'Succeeded' || p === 'Failed';
}

export function podNodeName(pod: KObject): string {
  return (pod.spec as { nodeName?: string } | undefined)?.nodeName ?? '';
}

/** The owner reference with controller: true, if any. */
export function controllerRef(o: KObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** metav1.Time (seconds) from the clock. */
export function nowRfc3339(clock: Clock): string {
  return rfc3339(new Date(clock.now()));
}

/** Milliseconds since the epoch of a metav1.Time, or undefined when absent or unparsable. */
export function parseTime(s: string | null | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

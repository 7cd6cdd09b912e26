// autoscaling defaulting: v2's SetDefaults_HorizontalPodAutoscaler (minReplicas 1, a CPU 80%
// utilization metric when none is given, behavior rules filled in when behavior is set) and
// v1's (minReplicas 1 only).

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const DEFAULT_CPU_UTILIZATION = 80;

function scaleUpRules(): Json {
  return {
    stabilizationWindowSeconds: 0,
    selectPolicy: 'Max',
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ],
  };
}

function scaleDownRules(): Json {
  return { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
}

/** Fills unset fields of the given rules from the defaults (upstream's copyHPAScalingRules). */
function fill(from: Json, to: Json): Json {
  if (!isObj(from)) return to;
  for (const k of ['selectPolicy', 'stabilizationWindowSeconds', 'policies', 'tolerance']) if (from[k] != null) to[k] = from[k];
  return to;
}

export function defaultHPAv2(hpa: Json): void {
  if (!isObj(hpa)) return;
  const spec = isObj(hpa.spec) ? hpa.spec : (hpa.spec = {});
  if (spec.minReplicas == null) spec.minReplicas = 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
  }
  if (isObj(spec.behavior)) {
    spec.behavior.scaleUp = fill(spec.behavior.scaleUp, scaleUpRules());
    spec.behavior.scaleDown = fill(spec.behavior.scaleDown, scaleDownRules());
  }
}

export function defaultHPAv1(hpa: Json): void {
  if (!isObj(hpa)) return;
  const spec = isObj(hpa.spec) ? hpa.spec : (hpa.spec = {});
  if (spec.minReplicas == null) spec.minReplicas = 1;
}

export function defaultHPA(hpa: Json, version: string): void {
  if (version === 'v1') defaultHPAv1(hpa);
  else defaultHPAv2(hpa);
}

// HorizontalPodAutoscaler conversion between autoscaling/v2 (the stored form, the same shape as
// upstream's internal type) and autoscaling/v1, as upstream's pkg/apis/autoscaling/v1
// conversion does in 1.33:
//
// - v1 spec.targetCPUUtilizationPercentage <-> a v2 Resource metric for cpu with an
//   averageUtilization target. v1 status.currentCPUUtilizationPercentage <-> the cpu Resource
//   metric status.
// - Everything v1 cannot express travels in annotations on the v1 object, JSON-encoded:
//     autoscaling.alpha.kubernetes.io/metrics          the other metric specs, in v1's
//                                                      (v2beta1-like) MetricSpec form
//     autoscaling.alpha.kubernetes.io/current-metrics  every metric status, v1 MetricStatus form
//     autoscaling.alpha.kubernetes.io/behavior         spec.behavior, encoded from upstream's
//                                                      internal Go type, so with Go field names
//                                                      ({"ScaleUp":{"StabilizationWindowSeconds":…}})
//     autoscaling.alpha.kubernetes.io/conditions       status.conditions
//   Converting to v1 first drops any of these the object already carries, so only freshly
//   produced ones are present; converting back reads them (ignoring any that do not parse, as
//   upstream does) and drops them.
// - A v1 object with neither a CPU target nor other metrics gets the implicit default of
//   80% CPU utilization, which autoscaling/v1 always had.
//
// Contract: pure functions; inputs are not modified and nothing is shared with the output.
// Annotation JSON is byte-compatible with Go's encoding/json (struct field order, HTML-safe
// escaping, zero values of non-omitempty fields) so clients comparing annotations see upstream's.

type Obj = Record<string, unknown>;

export const METRIC_SPECS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';
export const METRIC_STATUSES_ANNOTATION = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const BEHAVIOR_SPECS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/behavior';
export const CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';
export const DEFAULT_CPU_UTILIZATION = 80;

const ROUND_TRIP_ANNOTATIONS = [METRIC_SPECS_ANNOTATION, BEHAVIOR_SPECS_ANNOTATION, METRIC_STATUSES_ANNOTATION, CONDITIONS_ANNOTATION];

export const HPA_V1 = 'autoscaling/v1';
export const HPA_V2 = 'autoscaling/v2';

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function copy<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Builds an object from entries, leaving out undefined values (Go's omitempty on pointers). */
function compact(entries: Array<[string, unknown]>): Obj {
  const o: Obj = {};
  for (const [k, v] of entries) if (v !== undefined) o[k] = v;
  return o;
}

/** Go's encoding/json output for a value already in JSON form: HTML-safe escaping included. */
export function goJSON(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const ZERO_QUANTITY = '0';

function crossVersionRef(r: unknown): Obj {
  const o = isObj(r) ? r : {};
  return compact([
    ['kind', o.kind ?? ''],
    ['name', o.name ?? ''],
    ['apiVersion', o.apiVersion || undefined],
  ]);
}

function isCPUUtilizationMetric(m: Obj): boolean {
  const res = m.resource;
  if (m.type !== 'Resource' || !isObj(res) || res.name !== 'cpu') return false;
  return isObj(res.target) && res.target.averageUtilization != null;
}

// ---------------------------------------------------------------------------------------------
// v2 metric specs/statuses -> v1 (annotation) form

function metricSpecToV1(m: Obj): Obj {
  const out: Obj = { type: m.type ?? '' };
  const ident = (x: Obj) => (isObj(x.metric) ? x.metric : {});
  const target = (x: Obj) => (isObj(x.target) ? x.target : {});
  if (isObj(m.object)) {
    const src = m.object;
    out.object = compact([
      ['target', crossVersionRef(src.describedObject)],
      ['metricName', ident(src).name ?? ''],
      ['targetValue', copy(target(src).value) ?? ZERO_QUANTITY],
      ['selector', copy(ident(src).selector)],
      ['averageValue', copy(target(src).averageValue)],
    ]);
  }
  if (isObj(m.pods)) {
    const src = m.pods;
    out.pods = compact([
      ['metricName', ident(src).name ?? ''],
      ['targetAverageValue', copy(target(src).averageValue) ?? ZERO_QUANTITY],
      ['selector', copy(ident(src).selector)],
    ]);
  }
  if (isObj(m.resource)) {
    const src = m.resource;
    out.resource = compact([
      ['name', src.name ?? ''],
      ['targetAverageUtilization', target(src).averageUtilization ?? undefined],
      ['targetAverageValue', copy(target(src).averageValue)],
    ]);
  }
  if (isObj(m.containerResource)) {
    const src = m.containerResource;
    out.containerResource = compact([
      ['name', src.name ?? ''],
      ['targetAverageUtilization', target(src).averageUtilization ?? undefined],
      ['targetAverageValue', copy(target(src).averageValue)],
      ['container', src.container ?? ''],
    ]);
  }
  if (isObj(m.external)) {
    const src = m.external;
    out.external = compact([
      ['metricName', ident(src).name ?? ''],
      ['metricSelector', copy(ident(src).selector)],
      ['targetValue', copy(target(src).value)],
      ['targetAverageValue', copy(target(src).averageValue)],
    ]);
  }
  return out;
}

function metricStatusToV1(m: Obj): Obj {
  const out: Obj = { type: m.type ?? '' };
  const ident = (x: Obj) => (isObj(x.metric) ? x.metric : {});
  const current = (x: Obj) => (isObj(x.current) ? x.current : {});
  if (isObj(m.object)) {
    const src = m.object;
    out.object = compact([
      ['target', crossVersionRef(src.describedObject)],
      ['metricName', ident(src).name ?? ''],
      ['currentValue', copy(current(src).value) ?? ZERO_QUANTITY],
      ['selector', copy(ident(src).selector)],
      ['averageValue', copy(current(src).averageValue)],
    ]);
  }
  if (isObj(m.pods)) {
    const src = m.pods;
    out.pods = compact([
      ['metricName', ident(src).name ?? ''],
      ['currentAverageValue', copy(current(src).averageValue) ?? ZERO_QUANTITY],
      ['selector', copy(ident(src).selector)],
    ]);
  }
  if (isObj(m.resource)) {
    const src = m.resource;
    out.resource = compact([
      ['name', src.name ?? ''],
      ['currentAverageUtilization', current(src).averageUtilization ?? undefined],
      ['currentAverageValue', copy(current(src).averageValue) ?? ZERO_QUANTITY],
    ]);
  }
  if (isObj(m.containerResource)) {
    const src = m.containerResource;
    out.containerResource = compact([
      ['name', src.name ?? ''],
      ['currentAverageUtilization', current(src).averageUtilization ?? undefined],
      ['currentAverageValue', copy(current(src).averageValue) ?? ZERO_QUANTITY],
      ['container', src.container ?? ''],
    ]);
  }
  if (isObj(m.external)) {
    const src = m.external;
    out.external = compact([
      ['metricName', ident(src).name ?? ''],
      ['metricSelector', copy(ident(src).selector)],
      ['currentValue', copy(current(src).value) ?? ZERO_QUANTITY],
      ['currentAverageValue', copy(current(src).averageValue)],
    ]);
  }
  return out;
}

function conditionToV1(c: Obj): Obj {
  return compact([
    ['type', c.type ?? ''],
    ['status', c.status ?? ''],
    // metav1.Time is a struct: omitempty never drops it, a zero time encodes as null.
    ['lastTransitionTime', c.lastTransitionTime ?? null],
    ['reason', c.reason || undefined],
    ['message', c.message || undefined],
  ]);
}

/** upstream's internal HPAScalingRules, encoded with Go field names (no JSON tags). */
function scalingRulesToGo(r: unknown): Obj | null {
  if (!isObj(r)) return null;
  return {
    StabilizationWindowSeconds: r.stabilizationWindowSeconds ?? null,
    SelectPolicy: r.selectPolicy ?? null,
    Policies: Array.isArray(r.policies)
      ? r.policies.map((p) => {
          const o = isObj(p) ? p : {};
          return { Type: o.type ?? '', Value: o.value ?? 0, PeriodSeconds: o.periodSeconds ?? 0 };
        })
      : null,
    Tolerance: r.tolerance ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// v1 (annotation) metric specs/statuses -> v2 form

function identifier(name: unknown, selector: unknown): Obj {
  return compact([
    ['name', name ?? ''],
    ['selector', copy(selector)],
  ]);
}

function metricSpecFromV1(m: Obj): Obj {
  const out: Obj = { type: m.type ?? '' };
  if (isObj(m.object)) {
    const src = m.object;
    out.object = {
      describedObject: crossVersionRef(src.target),
      target: compact([
        ['type', src.averageValue == null ? 'Value' : 'AverageValue'],
        ['value', copy(src.targetValue) ?? ZERO_QUANTITY],
        ['averageValue', copy(src.averageValue)],
      ]),
      metric: identifier(src.metricName, src.selector),
    };
  }
  if (isObj(m.pods)) {
    const src = m.pods;
    out.pods = {
      metric: identifier(src.metricName, src.selector),
      target: { type: 'AverageValue', averageValue: copy(src.targetAverageValue) ?? ZERO_QUANTITY },
    };
  }
  for (const key of ['resource', 'containerResource'] as const) {
    const src = m[key];
    if (!isObj(src)) continue;
    const util = src.targetAverageUtilization ?? undefined;
    out[key] = compact([
      ['name', src.name ?? ''],
      [
        'target',
        compact([
          ['type', util === undefined ? 'AverageValue' : 'Utilization'],
          ['averageValue', copy(src.targetAverageValue)],
          ['averageUtilization', util],
        ]),
      ],
      ['container', key === 'containerResource' ? (src.container ?? '') : undefined],
    ]);
  }
  if (isObj(m.external)) {
    const src = m.external;
    out.external = {
      metric: identifier(src.metricName, src.metricSelector),
      target: compact([
        ['type', src.targetValue == null ? 'AverageValue' : 'Value'],
        ['value', copy(src.targetValue)],
        ['averageValue', copy(src.targetAverageValue)],
      ]),
    };
  }
  return out;
}

function metricStatusFromV1(m: Obj): Obj {
  const out: Obj = { type: m.type ?? '' };
  if (isObj(m.object)) {
    const src = m.object;
    out.object = {
      metric: identifier(src.metricName, src.selector),
      current: compact([
        ['value', copy(src.currentValue) ?? ZERO_QUANTITY],
        ['averageValue', copy(src.averageValue)],
      ]),
      describedObject: crossVersionRef(src.target),
    };
  }
  if (isObj(m.pods)) {
    const src = m.pods;
    out.pods = {
      metric: identifier(src.metricName, src.selector),
      current: { averageValue: copy(src.currentAverageValue) ?? ZERO_QUANTITY },
    };
  }
  for (const key of ['resource', 'containerResource'] as const) {
    const src = m[key];
    if (!isObj(src)) continue;
    out[key] = compact([
      ['name', src.name ?? ''],
      [
        'current',
        compact([
          ['averageValue', copy(src.currentAverageValue) ?? ZERO_QUANTITY],
          ['averageUtilization', src.currentAverageUtilization ?? undefined],
        ]),
      ],
      ['container', key === 'containerResource' ? (src.container ?? '') : undefined],
    ]);
  }
  if (isObj(m.external)) {
    const src = m.external;
    out.external = {
      metric: identifier(src.metricName, src.metricSelector),
      current: compact([
        ['value', copy(src.currentValue) ?? ZERO_QUANTITY],
        ['averageValue', copy(src.currentAverageValue)],
      ]),
    };
  }
  return out;
}

function conditionFromV1(c: Obj): Obj {
  return compact([
    ['type', c.type ?? ''],
    ['status', c.status ?? ''],
    ['lastTransitionTime', c.lastTransitionTime ?? undefined],
    ['reason', c.reason || undefined],
    ['message', c.message || undefined],
  ]);
}

/** Go's encoding/json matches object keys to struct fields case-insensitively. */
function goField(o: Obj, name: string): unknown {
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function scalingRulesFromGo(r: unknown): Obj | undefined {
  if (!isObj(r)) return undefined;
  const policies = goField(r, 'Policies');
  return compact([
    ['stabilizationWindowSeconds', goField(r, 'StabilizationWindowSeconds') ?? undefined],
    ['selectPolicy', goField(r, 'SelectPolicy') ?? undefined],
    [
      'policies',
      Array.isArray(policies)
        ? policies.map((p) => {
            const o = isObj(p) ? p : {};
            return { type: goField(o, 'Type') ?? '', value: goField(o, 'Value') ?? 0, periodSeconds: goField(o, 'PeriodSeconds') ?? 0 };
          })
        : undefined,
    ],
    ['tolerance', goField(r, 'Tolerance') ?? undefined],
  ]);
}

function parseArray(s: string | undefined): Obj[] | undefined {
  if (s === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    if (v === null) return [];
    if (!Array.isArray(v) || !v.every(isObj)) return undefined;
    return v;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

function annotationsOf(obj: Obj): Record<string, string> | undefined {
  const md = obj.metadata;
  if (!isObj(md) || !isObj(md.annotations)) return undefined;
  return md.annotations as Record<string, string>;
}

function withAnnotations(metadata: unknown, annotations: Record<string, string> | undefined): Obj {
  const md: Obj = isObj(metadata) ? copy(metadata) : {};
  if (annotations && Object.keys(annotations).length > 0) md.annotations = annotations;
  else delete md.annotations;
  return md;
}

/** autoscaling/v2 HorizontalPodAutoscaler -> autoscaling/v1. */
export function hpaV2ToV1(hpa: Obj): Obj {
  const spec = isObj(hpa.spec) ? hpa.spec : {};
  const status = isObj(hpa.status) ? hpa.status : {};
  const metrics = Array.isArray(spec.metrics) ? spec.metrics.filter(isObj) : [];
  const currentMetrics = Array.isArray(status.currentMetrics) ? status.currentMetrics.filter(isObj) : [];
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isObj) : [];

  const annotations: Record<string, string> = { ...(annotationsOf(hpa) ?? {}) };
  for (const k of ROUND_TRIP_ANNOTATIONS) delete annotations[k];

  const otherMetrics = metrics.filter((m) => !isCPUUtilizationMetric(m)).map(metricSpecToV1);
  if (otherMetrics.length > 0) annotations[METRIC_SPECS_ANNOTATION] = goJSON(otherMetrics);
  // Every status goes in, the CPU one too, to keep its raw value.
  if (currentMetrics.length > 0) annotations[METRIC_STATUSES_ANNOTATION] = goJSON(currentMetrics.map(metricStatusToV1));
  if (isObj(spec.behavior)) {
    annotations[BEHAVIOR_SPECS_ANNOTATION] = goJSON({
      ScaleUp: scalingRulesToGo(spec.behavior.scaleUp),
      ScaleDown: scalingRulesToGo(spec.behavior.scaleDown),
    });
  }
  if (conditions.length > 0) annotations[CONDITIONS_ANNOTATION] = goJSON(conditions.map(conditionToV1));

  const cpuTarget = metrics.find(isCPUUtilizationMetric);
  const v1Spec = compact([
    ['scaleTargetRef', crossVersionRef(spec.scaleTargetRef)],
    ['minReplicas', spec.minReplicas ?? undefined],
    ['maxReplicas', spec.maxReplicas ?? 0],
    ['targetCPUUtilizationPercentage', cpuTarget ? ((cpuTarget.resource as Obj).target as Obj).averageUtilization : undefined],
  ]);

  // The last CPU status with a utilization wins, as upstream's loop (which does not break).
  let currentCPU: unknown;
  for (const m of currentMetrics) {
    const res = m.resource;
    if (m.type === 'Resource' && isObj(res) && res.name === 'cpu' && isObj(res.current) && res.current.averageUtilization != null) {
      currentCPU = res.current.averageUtilization;
    }
  }
  const v1Status = compact([
    ['observedGeneration', status.observedGeneration ?? undefined],
    ['lastScaleTime', copy(status.lastScaleTime) ?? undefined],
    ['currentReplicas', status.currentReplicas ?? 0],
    ['desiredReplicas', status.desiredReplicas ?? 0],
    ['currentCPUUtilizationPercentage', currentCPU],
  ]);

  return {
    kind: 'HorizontalPodAutoscaler',
    apiVersion: HPA_V1,
    metadata: withAnnotations(hpa.metadata, annotations),
    spec: v1Spec,
    status: v1Status,
  };
}

/** autoscaling/v1 HorizontalPodAutoscaler -> autoscaling/v2. */
export function hpaV1ToV2(hpa: Obj): Obj {
  const spec = isObj(hpa.spec) ? hpa.spec : {};
  const status = isObj(hpa.status) ? hpa.status : undefined;
  const annotations: Record<string, string> = { ...(annotationsOf(hpa) ?? {}) };

  let metrics: Obj[] = [];
  if (spec.targetCPUUtilizationPercentage != null) {
    metrics = [cpuUtilizationMetric(spec.targetCPUUtilizationPercentage)];
  }
  const other = parseArray(annotations[METRIC_SPECS_ANNOTATION]);
  if (other) metrics = [...other.map(metricSpecFromV1), ...metrics];

  let behavior: Obj | undefined;
  const behaviorEnc = annotations[BEHAVIOR_SPECS_ANNOTATION];
  if (behaviorEnc !== undefined) {
    try {
      const b: unknown = JSON.parse(behaviorEnc);
      if (isObj(b)) {
        const up = scalingRulesFromGo(goField(b, 'ScaleUp'));
        const down = scalingRulesFromGo(goField(b, 'ScaleDown'));
        // Only well-formed, non-empty behavior moves from the annotation to the field.
        if (up || down) behavior = compact([['scaleUp', up], ['scaleDown', down]]);
      }
    } catch {
      // ignored, as upstream ignores an annotation it cannot decode
    }
  }

  let currentMetrics: Obj[] | undefined;
  if (status && status.currentCPUUtilizationPercentage != null) {
    currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } }];
  }
  const statusEnc = parseArray(annotations[METRIC_STATUSES_ANNOTATION]);
  if (statusEnc) currentMetrics = statusEnc.map(metricStatusFromV1);

  // autoscaling/v1 always implied an 80% CPU target when nothing else was asked for.
  if (metrics.length === 0) metrics = [cpuUtilizationMetric(DEFAULT_CPU_UTILIZATION)];

  const conditionsEnc = parseArray(annotations[CONDITIONS_ANNOTATION]);
  const conditions = conditionsEnc?.map(conditionFromV1);

  for (const k of ROUND_TRIP_ANNOTATIONS) delete annotations[k];

  const v2Spec = compact([
    ['scaleTargetRef', crossVersionRef(spec.scaleTargetRef)],
    ['minReplicas', spec.minReplicas ?? undefined],
    ['maxReplicas', spec.maxReplicas ?? 0],
    ['metrics', metrics],
    ['behavior', behavior],
  ]);

  const out: Obj = {
    kind: 'HorizontalPodAutoscaler',
    apiVersion: HPA_V2,
    metadata: withAnnotations(hpa.metadata, annotations),
    spec: v2Spec,
  };
  if (status || currentMetrics || conditions) {
    const s = status ?? {};
    out.status = compact([
      ['observedGeneration', s.observedGeneration ?? undefined],
      ['lastScaleTime', copy(s.lastScaleTime) ?? undefined],
      ['currentReplicas', s.currentReplicas || undefined],
      ['desiredReplicas', s.desiredReplicas ?? 0],
      ['currentMetrics', currentMetrics],
      ['conditions', conditions],
    ]);
  }
  return out;
}

function cpuUtilizationMetric(percent: unknown): Obj {
  return { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: percent } } };
}

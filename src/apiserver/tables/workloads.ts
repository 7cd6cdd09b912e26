// Tables of the workload groups: apps, batch, autoscaling and policy.

import { humanDuration, parseTimestamp, since } from './duration.ts';
import { AGE, col, CONTAINERS, IMAGES, NAME, SELECTOR } from './columns.ts';
import { replicas } from './core.ts';
import {
  arr,
  boolPtr,
  conditionStatus,
  containerCells,
  formatLabels,
  formatLabelSelector,
  int,
  intOrString,
  labelSelectorString,
  obj,
  quantityPtr,
  str,
  type Obj,
} from './format.ts';
import type { TableSpec } from './types.ts';

const name = (o: Obj): string => str(obj(o.metadata).name);
const age = (o: Obj, now: Date): string => since(obj(o.metadata).creationTimestamp, now);
const podSpecOf = (spec: Obj): Obj => obj(obj(spec.template).spec);

export const deployments: TableSpec = {
  columns: [
    NAME,
    col('Ready', 'Ready replicas out of desired replicas.'),
    col('Up-to-date', 'Replicas running the current template.'),
    col('Available', 'Replicas available to serve.'),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const status = obj(x.status);
    return [
      name(x),
      `${int(status.readyReplicas)}/${replicas(spec)}`,
      int(status.updatedReplicas),
      int(status.availableReplicas),
      age(x, now),
      ...containerCells(podSpecOf(spec)),
      labelSelectorString(spec.selector) ?? '<invalid>',
    ];
  },
};

export const replicaSets: TableSpec = {
  columns: [
    NAME,
    col('Desired', 'Replicas wanted.', { type: 'integer' }),
    col('Current', 'Replicas that exist.', { type: 'integer' }),
    col('Ready', 'Replicas that are ready.', { type: 'integer' }),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const status = obj(x.status);
    return [
      name(x),
      replicas(spec),
      int(status.replicas),
      int(status.readyReplicas),
      age(x, now),
      ...containerCells(podSpecOf(spec)),
      formatLabelSelector(spec.selector),
    ];
  },
};

export const statefulSets: TableSpec = {
  columns: [NAME, col('Ready', 'Ready replicas out of desired replicas.'), AGE, CONTAINERS, IMAGES],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    return [
      name(x),
      `${int(obj(x.status).readyReplicas)}/${replicas(spec)}`,
      age(x, now),
      ...containerCells(podSpecOf(spec)),
    ];
  },
};

export const daemonSets: TableSpec = {
  columns: [
    NAME,
    col('Desired', 'Nodes that should run the daemon pod.', { type: 'integer' }),
    col('Current', 'Nodes running the daemon pod.', { type: 'integer' }),
    col('Ready', 'Nodes whose daemon pod is ready.', { type: 'integer' }),
    col('Up-to-date', 'Nodes running the current template.', { type: 'integer' }),
    col('Available', 'Nodes whose daemon pod is available.', { type: 'integer' }),
    col('Node Selector', 'Labels a node needs to run the daemon pod.'),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const status = obj(x.status);
    return [
      name(x),
      int(status.desiredNumberScheduled),
      int(status.currentNumberScheduled),
      int(status.numberReady),
      int(status.updatedNumberScheduled),
      int(status.numberAvailable),
      formatLabels(podSpecOf(spec).nodeSelector),
      age(x, now),
      ...containerCells(podSpecOf(spec)),
      formatLabelSelector(spec.selector),
    ];
  },
};

export const controllerRevisions: TableSpec = {
  columns: [NAME, col('Controller', 'The object that owns the revision.'), col('Revision', 'The revision number.'), AGE],
  cells(o, now) {
    const x = obj(o);
    let controller = '<none>';
    const ref = arr(obj(x.metadata).ownerReferences).find((r) => r.controller === true);
    if (ref) {
      // formatResourceName with the group kind: "statefulset.apps/web".
      const apiVersion = str(ref.apiVersion);
      const slash = apiVersion.indexOf('/');
      const group = slash < 0 ? '' : apiVersion.slice(0, slash);
      const kind = str(ref.kind);
      const gk = group ? `${kind}.${group}` : kind;
      controller = gk ? `${gk.toLowerCase()}/${str(ref.name)}` : str(ref.name);
    }
    return [name(x), controller, int(x.revision), age(x, now)];
  },
};

function jobStatus(x: Obj): string {
  const c = obj(x.status).conditions;
  if (conditionStatus(c, 'Complete') === 'True') return 'Complete';
  if (conditionStatus(c, 'Failed') === 'True') return 'Failed';
  if (obj(x.metadata).deletionTimestamp != null) return 'Terminating';
  if (conditionStatus(c, 'Suspended') === 'True') return 'Suspended';
  if (conditionStatus(c, 'FailureTarget') === 'True') return 'FailureTarget';
  return 'Running';
}

export const jobs: TableSpec = {
  columns: [
    NAME,
    col('Status', 'Running, Complete, Failed, Suspended, Terminating or FailureTarget.'),
    col('Completions', 'Succeeded pods out of required completions.'),
    col('Duration', 'How long the job ran, or has been running.'),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const status = obj(x.status);
    const succeeded = int(status.succeeded);
    let completions: string;
    if (typeof spec.completions === 'number') completions = `${succeeded}/${int(spec.completions)}`;
    else if (int(spec.parallelism) > 1) completions = `${succeeded}/1 of ${int(spec.parallelism)}`;
    else completions = `${succeeded}/1`;
    const start = parseTimestamp(status.startTime);
    const end = parseTimestamp(status.completionTime);
    let duration = '';
    if (start !== undefined) duration = end === undefined ? humanDuration(now.getTime() - start) : humanDuration(end - start);
    return [
      name(x),
      jobStatus(x),
      completions,
      duration,
      age(x, now),
      ...containerCells(podSpecOf(spec)),
      formatLabelSelector(spec.selector),
    ];
  },
};

export const cronJobs: TableSpec = {
  columns: [
    NAME,
    col('Schedule', 'The cron schedule.'),
    col('Timezone', 'The time zone of the schedule.'),
    col('Suspend', 'Whether new runs are suspended.', { type: 'boolean' }),
    col('Active', 'Jobs currently running.', { type: 'integer' }),
    col('Last Schedule', 'Time since a job was last scheduled.'),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const status = obj(x.status);
    const jobSpec = obj(obj(spec.jobTemplate).spec);
    return [
      name(x),
      str(spec.schedule),
      typeof spec.timeZone === 'string' ? spec.timeZone : '<none>',
      boolPtr(spec.suspend),
      arr(status.active).length,
      status.lastScheduleTime != null ? since(status.lastScheduleTime, now) : '<none>',
      age(x, now),
      ...containerCells(podSpecOf(jobSpec)),
      formatLabelSelector(jobSpec.selector),
    ];
  },
};

/** An autoscaling/v1 object's CPU target and reading as the one Resource metric upstream converts them to. */
function hpaMetrics(x: Obj): { specs: Obj[]; statuses: Obj[] } {
  const spec = obj(x.spec);
  const status = obj(x.status);
  if (str(x.apiVersion) !== 'autoscaling/v1') return { specs: arr(spec.metrics), statuses: arr(status.currentMetrics) };
  const specs: Obj[] = [];
  const statuses: Obj[] = [];
  if (typeof spec.targetCPUUtilizationPercentage === 'number') {
    specs.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } });
  }
  if (typeof status.currentCPUUtilizationPercentage === 'number') {
    statuses.push({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } });
  }
  return { specs, statuses };
}

/** upstream's formatHPAMetrics: "cpu: 40%/80%, memory: <unknown>/1Gi + 1 more...". */
function formatHPAMetrics(specs: Obj[], statuses: Obj[]): string {
  if (specs.length === 0) return '<none>';
  const max = 2;
  const list: string[] = [];
  specs.forEach((s, i) => {
    const st = i < statuses.length ? statuses[i]! : undefined;
    const source = (field: string): Obj | undefined => (st && st[field] ? obj(st[field]) : undefined);
    switch (s.type) {
      case 'External':
      case 'Object': {
        const field = s.type === 'External' ? 'external' : 'object';
        const target = obj(obj(s[field]).target);
        const current = source(field);
        if (target.averageValue != null) {
          const cur = current && obj(current.current).averageValue != null ? quantityPtr(obj(current.current).averageValue) : '<unknown>';
          list.push(`${cur}/${quantityPtr(target.averageValue)} (avg)`);
        } else {
          const cur = current ? quantityPtr(obj(current.current).value) : '<unknown>';
          list.push(`${cur}/${quantityPtr(target.value)}`);
        }
        break;
      }
      case 'Pods': {
        const current = source('pods');
        const cur = current ? quantityPtr(obj(current.current).averageValue) : '<unknown>';
        list.push(`${cur}/${quantityPtr(obj(obj(s.pods).target).averageValue)}`);
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const field = s.type === 'Resource' ? 'resource' : 'containerResource';
        const m = obj(s[field]);
        const target = obj(m.target);
        const current = source(field);
        if (target.averageValue != null) {
          const cur = current ? quantityPtr(obj(current.current).averageValue) : '<unknown>';
          list.push(`${str(m.name)}: ${cur}/${quantityPtr(target.averageValue)}`);
        } else {
          const util = current ? obj(current.current).averageUtilization : undefined;
          const cur = typeof util === 'number' ? `${int(util)}%` : '<unknown>';
          const want = typeof target.averageUtilization === 'number' ? `${int(target.averageUtilization)}%` : '<auto>';
          list.push(`${str(m.name)}: ${cur}/${want}`);
        }
        break;
      }
      default:
        list.push('<unknown type>');
    }
  });
  if (list.length > max) return `${list.slice(0, max).join(', ')} + ${list.length - max} more...`;
  return list.join(', ');
}

export const horizontalPodAutoscalers: TableSpec = {
  columns: [
    NAME,
    col('Reference', 'The scaled object, as kind/name.'),
    col('Targets', 'Current out of target value of each metric.'),
    col('MinPods', 'The fewest replicas to scale to.'),
    col('MaxPods', 'The most replicas to scale to.'),
    col('Replicas', 'Replicas the scaled object has now.'),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const ref = obj(spec.scaleTargetRef);
    const { specs, statuses } = hpaMetrics(x);
    return [
      name(x),
      `${str(ref.kind)}/${str(ref.name)}`,
      formatHPAMetrics(specs, statuses),
      typeof spec.minReplicas === 'number' ? String(int(spec.minReplicas)) : '<unset>',
      int(spec.maxReplicas),
      int(obj(x.status).currentReplicas),
      age(x, now),
    ];
  },
};

export const podDisruptionBudgets: TableSpec = {
  columns: [
    NAME,
    col('Min Available', 'Pods that must stay available.'),
    col('Max Unavailable', 'Pods that may be unavailable.'),
    col('Allowed Disruptions', 'Pods that may be disrupted now.', { type: 'integer' }),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    return [
      name(x),
      spec.minAvailable != null ? intOrString(spec.minAvailable) : 'N/A',
      spec.maxUnavailable != null ? intOrString(spec.maxUnavailable) : 'N/A',
      int(obj(x.status).disruptionsAllowed),
      age(x, now),
    ];
  },
};

/** autoscaling/v1 Scale, for tables of the scale subresource. */
export const scales: TableSpec = {
  columns: [
    col('Name', 'Name of the scaled object.'),
    col('Desired', 'Replicas wanted.', { type: 'integer' }),
    col('Available', 'Replicas that exist.', { type: 'integer' }),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    return [name(x), int(obj(x.spec).replicas), int(obj(x.status).replicas), age(x, now)];
  },
};

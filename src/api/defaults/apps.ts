// apps/v1 defaulting: upstream's pkg/apis/apps/v1/defaults.go, plus the core/v1 defaults the
// generated defaulters apply to each kind's pod template (and a StatefulSet's claim templates).

import { defaultPodTemplateSpec, defaultPVCSpec } from './core.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const specOf = (o: Json): Json => (isObj(o.spec) ? o.spec : (o.spec = {}));

export function defaultDeployment(d: Json): void {
  if (!isObj(d)) return;
  const spec = specOf(d);
  if (spec.replicas == null) spec.replicas = 1;
  const strategy = isObj(spec.strategy) ? spec.strategy : (spec.strategy = {});
  if (!strategy.type) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : (strategy.rollingUpdate = {});
    if (ru.maxUnavailable == null) ru.maxUnavailable = '25%';
    if (ru.maxSurge == null) ru.maxSurge = '25%';
  }
  if (spec.revisionHistoryLimit == null) spec.revisionHistoryLimit = 10;
  if (spec.progressDeadlineSeconds == null) spec.progressDeadlineSeconds = 600;
  defaultPodTemplateSpec(spec.template ?? (spec.template = {}));
}

export function defaultReplicaSet(rs: Json): void {
  if (!isObj(rs)) return;
  const spec = specOf(rs);
  if (spec.replicas == null) spec.replicas = 1;
  defaultPodTemplateSpec(spec.template ?? (spec.template = {}));
}

export function defaultDaemonSet(ds: Json): void {
  if (!isObj(ds)) return;
  const spec = specOf(ds);
  const us = isObj(spec.updateStrategy) ? spec.updateStrategy : (spec.updateStrategy = {});
  if (!us.type) us.type = 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = isObj(us.rollingUpdate) ? us.rollingUpdate : (us.rollingUpdate = {});
    if (ru.maxUnavailable == null) ru.maxUnavailable = 1;
    if (ru.maxSurge == null) ru.maxSurge = 0;
  }
  if (spec.revisionHistoryLimit == null) spec.revisionHistoryLimit = 10;
  defaultPodTemplateSpec(spec.template ?? (spec.template = {}));
}

export function defaultStatefulSet(ss: Json): void {
  if (!isObj(ss)) return;
  const spec = specOf(ss);
  if (!spec.podManagementPolicy) spec.podManagementPolicy = 'OrderedReady';
  const us = isObj(spec.updateStrategy) ? spec.updateStrategy : (spec.updateStrategy = {});
  if (!us.type) {
    us.type = 'RollingUpdate';
    if (us.rollingUpdate == null) us.rollingUpdate = {};
  }
  if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate) && us.rollingUpdate.partition == null) us.rollingUpdate.partition = 0;
  const rp = isObj(spec.persistentVolumeClaimRetentionPolicy) ? spec.persistentVolumeClaimRetentionPolicy : (spec.persistentVolumeClaimRetentionPolicy = {});
  if (!rp.whenDeleted) rp.whenDeleted = 'Retain';
  if (!rp.whenScaled) rp.whenScaled = 'Retain';
  if (spec.replicas == null) spec.replicas = 1;
  if (spec.revisionHistoryLimit == null) spec.revisionHistoryLimit = 10;
  defaultPodTemplateSpec(spec.template ?? (spec.template = {}));
  for (const t of Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []) {
    if (!isObj(t)) continue;
    const status = isObj(t.status) ? t.status : (t.status = {});
    if (!status.phase) status.phase = 'Pending';
    defaultPVCSpec(t.spec ?? (t.spec = {}));
  }
}

// The scheduler as a component: informers feed the SchedulerLoop; its decisions go out through
// the API — bindings (POST pods/NAME/binding), the PodScheduled condition and nominatedNodeName
// (status patches), Scheduled/FailedScheduling/Preempted events, evictions of preemption
// victims — while this process holds the kube-system/kube-scheduler Lease.
//
// `rudder server` calls startScheduler with the in-process transport; `rudder scheduler` with
// the HTTPS one. Both run exactly this.

import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { StatusError } from '../api/errors.ts';
import { labelSelectorAsSelector, matchesLabels, selectorFromSet, type Requirement, type Selector } from '../api/labels.ts';
import { rfc3339, type KObject } from '../api/meta.ts';
import type { Transport } from '../api/transport.ts';
import { Client } from '../client/client.ts';
import { realClock, type Clock } from '../client/clock.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, EventBroadcaster, type EventRecorder } from '../client/events.ts';
import { SharedInformer, SharedInformerFactory, type EventHandler } from '../client/informer.ts';
import { LeaderElector, LeaseLock } from '../client/leaderelection.ts';
import type { Lister } from '../client/store.ts';
import { loadSchedulerConfig, type KubeSchedulerConfiguration, type SchedulerSettings } from './config.ts';
import type { EventResource } from './events.ts';
import type { Registry } from './framework/framework.ts';
import type { ClusterListers, PodBinder, PreemptionPlan, VolumeBinderAPI } from './framework/interfaces.ts';
import { ANN_BIND_COMPLETED, ANN_SELECTED_NODE } from './plugins/volume-binding.ts';
import { inTreeRegistry, mergeRegistries } from './plugins/registry.ts';
import { SchedulerLoop, type SchedulingFailure } from './scheduler-loop.ts';
import type { Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodCondition, PodDisruptionBudget, StorageClass } from './types.ts';

export interface StartSchedulerOptions {
  transport: Transport;
  /** The KubeSchedulerConfiguration: file contents (YAML/JSON), decoded, or already resolved settings. */
  config?: string | KubeSchedulerConfiguration | SchedulerSettings;
  /** Out-of-tree plugins, by name. */
  plugins?: Registry;
  clock?: Clock;
  log?: (msg: string) => void;
  /** Overrides leaderElection.leaderElect of the configuration (tests run without). */
  leaderElect?: boolean;
  identity?: string;
  /** [0, 1) for tie-breaking; injectable for tests. */
  random?: () => number;
}

export interface RunningScheduler {
  /** Resolves once the caches synced and this instance leads (is scheduling). */
  started(): Promise<void>;
  stop(): Promise<void>;
  /** The loop, once leading (counters, cache and queue for diagnostics). */
  readonly loop: SchedulerLoop | undefined;
}

type K<T> = T & KObject;

function isSettings(c: unknown): c is SchedulerSettings {
  return typeof c === 'object' && c !== null && Array.isArray((c as SchedulerSettings).profiles) && (c as SchedulerSettings).leaderElection !== undefined;
}

/** upstream's PodScheduled condition update: a changed status moves lastTransitionTime; an unchanged condition is not written. */
export function podScheduledPatch(pod: Pod, f: SchedulingFailure, now: Date): Record<string, unknown> | undefined {
  const old = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
  const status = 'False';
  const lastTransitionTime = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now);
  const same = old && old.status === status && (old.reason ?? '') === f.reason && (old.message ?? '') === f.message && !old.lastProbeTime;
  const nnn = f.nominatingInfo?.mode === 'override' && (pod.status?.nominatedNodeName ?? '') !== f.nominatingInfo.nominatedNodeName ? f.nominatingInfo.nominatedNodeName : undefined;
  if (same && nnn === undefined) return undefined;
  const statusPatch: Record<string, unknown> = {};
  if (!same) {
    const cond: PodCondition = { type: 'PodScheduled', status, lastProbeTime: null, lastTransitionTime, reason: f.reason, message: f.message };
    statusPatch.conditions = [cond];
  }
  if (nnn !== undefined) statusPatch.nominatedNodeName = nnn === '' ? null : nnn;
  return { status: statusPatch };
}

/**
 * The selector that groups a pod for the cluster's default topology spreading (upstream's
 * helper.DefaultSelector): labels of the Services selecting it, and the selector of the
 * ReplicationController, ReplicaSet or StatefulSet controlling it.
 */
export function defaultSelectorOf(
  pod: Pod,
  l: {
    services: (ns: string) => readonly { spec?: { selector?: Record<string, string> | null } }[];
    rc: (ns: string, name: string) => { spec?: { selector?: Record<string, string> | null } } | undefined;
    rs: (ns: string, name: string) => { spec?: { selector?: import('../api/labels.ts').LabelSelectorJSON | null } } | undefined;
    ss: (ns: string, name: string) => { spec?: { selector?: import('../api/labels.ts').LabelSelectorJSON | null } } | undefined;
  },
): Selector | undefined {
  const ns = pod.metadata.namespace ?? '';
  const labels: Record<string, string> = {};
  for (const svc of l.services(ns)) {
    const sel = svc.spec?.selector;
    if (sel == null) continue; // a nil selector matches nothing
    if (matchesLabels(selectorFromSet(sel), pod.metadata.labels)) Object.assign(labels, sel);
  }
  let selector = selectorFromSet(labels);
  const owner = (pod.metadata.ownerReferences ?? []).find((o) => o.controller);
  if (owner) {
    const extra = (s: Selector) => {
      const reqs: Requirement[] = [...selector.requirements, ...s.requirements];
      selector = { requirements: reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) };
    };
    try {
      if (owner.kind === 'ReplicationController' && owner.apiVersion === 'v1') {
        const rc = l.rc(ns, owner.name);
        if (rc) selector = selectorFromSet({ ...labels, ...(rc.spec?.selector ?? {}) });
      } else if (owner.kind === 'ReplicaSet' && owner.apiVersion === 'apps/v1') {
        const rs = l.rs(ns, owner.name);
        if (rs) extra(labelSelectorAsSelector(rs.spec?.selector ?? null));
      } else if (owner.kind === 'StatefulSet' && owner.apiVersion === 'apps/v1') {
        const ss = l.ss(ns, owner.name);
        if (ss) extra(labelSelectorAsSelector(ss.spec?.selector ?? null));
      }
    } catch {
      // an invalid selector does not group anything
    }
  }
  return selector.requirements.length ? selector : undefined;
}

export function startScheduler(o: StartSchedulerOptions): RunningScheduler {
  const log = o.log ?? ((m: string) => console.error(`rudder scheduler: ${m}`));
  const clock = o.clock ?? realClock;
  const settings = isSettings(o.config) ? o.config : loadSchedulerConfig(o.config);
  const client = new Client(o.transport);
  const registry = o.plugins ? mergeRegistries(inTreeRegistry(), o.plugins) : inTreeRegistry();
  const stopAll = new AbortController();
  const factory = new SharedInformerFactory(client, { clock, log });
  // upstream's scheduler pod informer leaves terminated pods out
  const podInformer = new SharedInformer<K<Pod>>(client.resource<K<Pod>>('', 'pods'), {
    clock,
    log,
    name: 'pods',
    fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
  });
  const nodeInformer = factory.informerFor<K<Node>>('', 'nodes');
  const pvcInformer = factory.informerFor<K<PersistentVolumeClaim>>('', 'persistentvolumeclaims');
  const pvInformer = factory.informerFor<K<PersistentVolume>>('', 'persistentvolumes');
  const scInformer = factory.informerFor<K<StorageClass>>('storage.k8s.io', 'storageclasses');
  const nsInformer = factory.informerFor<K<Namespace>>('', 'namespaces');
  const pdbInformer = factory.informerFor<K<PodDisruptionBudget>>('policy', 'poddisruptionbudgets');
  const svcInformer = factory.informerFor<KObject>('', 'services');
  const rsInformer = factory.informerFor<KObject>('apps', 'replicasets');
  const rcInformer = factory.informerFor<KObject>('', 'replicationcontrollers');
  const ssInformer = factory.informerFor<KObject>('apps', 'statefulsets');

  const pods: Lister<K<Pod>> = podInformer.lister();
  const pvcs = pvcInformer.lister();
  const pvs = pvInformer.lister();
  const scs = scInformer.lister();
  const nss = nsInformer.lister();
  const pdbs = pdbInformer.lister();
  const svcs = svcInformer.lister();
  const rss = rsInformer.lister();
  const rcs = rcInformer.lister();
  const sss = ssInformer.lister();

  const listers: ClusterListers = {
    namespaces: { get: (n) => nss.get(n), list: () => nss.list() },
    pvcs: { get: (ns, n) => pvcs.namespace(ns).get(n) },
    pvs: { get: (n) => pvs.get(n), list: () => pvs.list() },
    storageClasses: { get: (n) => scs.get(n) },
    pdbs: { list: () => pdbs.list() },
    defaultSelectors: {
      defaultSelector: (pod) =>
        defaultSelectorOf(pod, {
          services: (ns) => svcs.namespace(ns).list() as never,
          rc: (ns, n) => rcs.namespace(ns).get(n) as never,
          rs: (ns, n) => rss.namespace(ns).get(n) as never,
          ss: (ns, n) => sss.namespace(ns).get(n) as never,
        }),
    },
  };

  const podsApi = client.resource<K<Pod>>('', 'pods');
  const binder: PodBinder = {
    async bind(pod, nodeName, signal) {
      const ns = pod.metadata.namespace ?? '';
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod.metadata.name ?? '')}/binding`, {
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, namespace: ns, uid: pod.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
        },
        ...(signal ? { signal } : {}),
      });
    },
  };

  const volumeBinder: VolumeBinderAPI = {
    async bindVolume(pv, pvc, signal) {
      const claimRef = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid, resourceVersion: pvc.metadata.resourceVersion };
      await client.resource('', 'persistentvolumes').patch(pv.metadata.name ?? '', 'merge', { metadata: { annotations: { 'pv.kubernetes.io/bound-by-controller': 'yes' } }, spec: { claimRef } }, { ...(signal ? { signal } : {}) });
    },
    async selectNode(pvc, nodeName, signal) {
      await client.resource('', 'persistentvolumeclaims').namespace(pvc.metadata.namespace ?? '').patch(pvc.metadata.name ?? '', 'merge', { metadata: { annotations: { [ANN_SELECTED_NODE]: nodeName } } }, { ...(signal ? { signal } : {}) });
    },
    async waitForBound(claims, timeoutMs, signal) {
      const deadline = clock.now() + timeoutMs;
      for (;;) {
        const pending = claims.filter((c) => {
          const cur = pvcs.namespace(c.metadata.namespace ?? '').get(c.metadata.name ?? '');
          return !(cur?.spec?.volumeName && Object.hasOwn(cur.metadata.annotations ?? {}, ANN_BIND_COMPLETED));
        });
        if (pending.length === 0) return;
        if (clock.now() >= deadline) throw new Error('binding volumes: timed out waiting for the condition');
        await clock.after(100, signal);
      }
    },
  };

  let broadcaster: EventBroadcaster | undefined;
  // one recorder per profile: events report the profile's schedulerName, as upstream
  const recorders = new Map<string, EventRecorder>();
  const recorderFor = (schedulerName: string): EventRecorder | undefined => {
    if (!broadcaster) return undefined;
    let r = recorders.get(schedulerName);
    if (!r) recorders.set(schedulerName, (r = broadcaster.newRecorder({ component: schedulerName, host: hostname() })));
    return r;
  };
  const report = (e: unknown, what: string) => {
    if (e instanceof StatusError && e.code === 404) return;
    log(`${what}: ${(e as Error).message}`);
  };

  const effects = {
    scheduled(pod: Pod, nodeName: string, schedulerName: string) {
      recorderFor(schedulerName)?.event(pod as K<Pod>, EVENT_TYPE_NORMAL, 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`);
    },
    failed(pod: Pod, f: SchedulingFailure, schedulerName: string) {
      recorderFor(schedulerName)?.event(pod as K<Pod>, EVENT_TYPE_WARNING, 'FailedScheduling', f.eventMessage);
      const current = pods.namespace(pod.metadata.namespace ?? '').get(pod.metadata.name ?? '') ?? (pod as K<Pod>);
      const patch = podScheduledPatch(current, f, new Date(clock.now()));
      if (!patch) return;
      podsApi
        .namespace(pod.metadata.namespace ?? '')
        .patch(pod.metadata.name ?? '', 'strategic', patch, { subresource: 'status' })
        .catch((e) => report(e, `updating the PodScheduled condition of ${pod.metadata.namespace}/${pod.metadata.name}`));
    },
    preempt(preemptor: Pod, plan: PreemptionPlan, schedulerName: string) {
      void (async () => {
        await Promise.all(
          plan.victims.map(async (v) => {
            const ns = v.metadata.namespace ?? '';
            const api = podsApi.namespace(ns);
            try {
              const cond: PodCondition = {
                type: 'DisruptionTarget',
                status: 'True',
                reason: 'PreemptionByScheduler',
                message: `${schedulerName}: preempting to accommodate a higher priority pod`,
                lastProbeTime: null,
                lastTransitionTime: rfc3339(new Date(clock.now())),
              };
              await api.patch(v.metadata.name ?? '', 'strategic', { status: { conditions: [cond] } }, { subresource: 'status' });
              await api.delete(v.metadata.name ?? '', { preconditions: { uid: v.metadata.uid } });
              recorderFor(schedulerName)?.event(v as K<Pod>, EVENT_TYPE_NORMAL, 'Preempted', `Preempted by pod ${preemptor.metadata.uid} on node ${plan.nodeName}`);
            } catch (e) {
              report(e, `preempting ${ns}/${v.metadata.name}`);
            }
          }),
        );
        await Promise.all(
          plan.nominatedPodsToClear.map((p) =>
            podsApi
              .namespace(p.metadata.namespace ?? '')
              .patch(p.metadata.name ?? '', 'strategic', { status: { nominatedNodeName: null } }, { subresource: 'status' })
              .catch((e) => report(e, `clearing the nomination of ${p.metadata.namespace}/${p.metadata.name}`)),
          ),
        );
      })();
    },
  };

  let loop: SchedulerLoop | undefined;
  let resolveStarted!: () => void;
  const startedP = new Promise<void>((r) => (resolveStarted = r));
  let running: Promise<void> | undefined;

  // Informer events go to whichever loop is current (none while not leading: the informers
  // still keep their caches warm, and a new loop replays them at start).
  const forward = <T>(h: (l: SchedulerLoop) => EventHandler<T>): EventHandler<T> => ({
    onAdd: (obj, initial) => loop && h(loop).onAdd?.(obj, initial),
    onUpdate: (a, b) => loop && h(loop).onUpdate?.(a, b),
    onDelete: (obj, unknown) => loop && h(loop).onDelete?.(obj, unknown),
  });
  podInformer.addEventHandler(
    forward<K<Pod>>((l) => ({
      onAdd: (p) => l.onPodAdd(p),
      onUpdate: (a, b) => l.onPodUpdate(a, b),
      onDelete: (p) => l.onPodDelete(p),
    })),
  );
  nodeInformer.addEventHandler(
    forward<K<Node>>((l) => ({
      onAdd: (n) => l.onNodeAdd(n),
      onUpdate: (a, b) => l.onNodeUpdate(a, b),
      onDelete: (n) => l.onNodeDelete(n),
    })),
  );
  const clusterEvents = (inf: SharedInformer<KObject>, resource: EventResource) =>
    inf.addEventHandler(
      forward<KObject>((l) => ({
        onAdd: (x, initial) => !initial && l.onClusterEvent(resource, 'add', undefined, x),
        onUpdate: (a, b) => l.onClusterEvent(resource, 'update', a, b),
        onDelete: (x) => l.onClusterEvent(resource, 'delete', x, undefined),
      })),
    );
  clusterEvents(pvcInformer as unknown as SharedInformer<KObject>, 'PersistentVolumeClaim');
  clusterEvents(pvInformer as unknown as SharedInformer<KObject>, 'PersistentVolume');
  clusterEvents(scInformer as unknown as SharedInformer<KObject>, 'StorageClass');
  clusterEvents(nsInformer as unknown as SharedInformer<KObject>, 'Namespace');
  clusterEvents(pdbInformer as unknown as SharedInformer<KObject>, 'PodDisruptionBudget');

  podInformer.start();
  factory.start();

  const lead = async (signal: AbortSignal) => {
    const synced = (await factory.waitForCacheSync(signal)) && (await podInformer.waitForSync(signal));
    if (!synced || signal.aborted) return;
    broadcaster = new EventBroadcaster({ client, clock, log });
    const schedulerNames = settings.profiles.map((p) => p.schedulerName);
    const l = new SchedulerLoop({
      settings,
      effects,
      binder,
      volumeBinder,
      listers,
      registry,
      clock,
      ...(o.random ? { random: o.random } : {}),
      podLister: (ns, name) => pods.namespace(ns).get(name),
    });
    // replay the caches into the new loop: nodes first, then assigned pods, then pending ones
    for (const n of nodeInformer.lister().list()) l.onNodeAdd(n);
    const all = pods.list();
    for (const p of all) if (p.spec.nodeName) l.onPodAdd(p);
    for (const p of all) if (!p.spec.nodeName) l.onPodAdd(p);
    loop = l;
    log(`scheduling with profiles ${schedulerNames.join(', ')}`);
    resolveStarted();
    const onAbort = () => void l.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await l.run();
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };

  const stopLeading = async () => {
    const l = loop;
    loop = undefined;
    if (l) await l.stop();
    broadcaster?.shutdown();
    broadcaster = undefined;
    recorders.clear();
  };

  const leaderElect = o.leaderElect ?? settings.leaderElection.leaderElect;
  if (!leaderElect) {
    running = lead(stopAll.signal).finally(stopLeading);
  } else {
    const identity = o.identity ?? `${hostname()}_${randomUUID()}`;
    const le = settings.leaderElection;
    const elector = new LeaderElector({
      lock: new LeaseLock(client, { namespace: le.resourceNamespace, name: le.resourceName, identity }),
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      clock,
      log,
      name: le.resourceName,
      callbacks: {
        onStartedLeading: (signal) => {
          void lead(signal).finally(stopLeading);
        },
        onStoppedLeading: () => void stopLeading(),
        onNewLeader: (id) => {
          if (id !== identity) log(`${id} is the leader`);
        },
      },
    });
    running = elector.run(stopAll.signal);
  }

  return {
    started: () => startedP,
    get loop() {
      return loop;
    },
    async stop() {
      stopAll.abort();
      await running?.catch(() => undefined);
      await stopLeading();
      podInformer.stop();
      factory.shutdown();
    },
  };
}

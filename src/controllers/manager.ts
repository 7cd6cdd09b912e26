// The controller-manager: builds the shared informers once, gives every enabled controller its
// context, and runs them while this process holds the kube-controller-manager Lease (so that
// several servers can run one each, with exactly one active).
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Client } from '../client/client.ts';
import { realClock, type Clock } from '../client/clock.ts';
import { EventBroadcaster } from '../client/events.ts';
import { SharedInformerFactory } from '../client/informer.ts';
import { LeaderElector, LeaseLock } from '../client/leaderelection.ts';
import type { Transport } from '../api/transport.ts';
import type { Controller, ControllerContext, ControllerManagerConfig } from './controller.ts';

export interface ControllerManagerOptions {
  /** The manager's own connection: leader election and the shared informers (list/watch of everything). */
  transport: Transport;
  /**
   * Each controller's own connection, as its kube-system service account (upstream's
   * --use-service-account-credentials, k3s's default): writes are authorized per controller.
   * Absent: every controller uses `transport`.
   */
  transportFor?(serviceAccount: string): Transport;
  config: ControllerManagerConfig;
  controllers: Controller[];
  clock?: Clock;
  log?: (msg: string) => void;
  /** Leader election; off runs the controllers at once (single-process tests). Default on. */
  leaderElect?: boolean;
  identity?: string;
}

export interface ControllerManager {
  /** Resolves when every controller has set up and informers synced (after winning the election). */
  started(): Promise<void>;
  stop(): Promise<void>;
}

/** The kube-system service account each controller acts as (upstream's names, bound by the default RBAC policy). */
export const CONTROLLER_SERVICE_ACCOUNTS: Record<string, string> = {
  deployment: 'deployment-controller',
  replicaset: 'replicaset-controller',
  replicationcontroller: 'replication-controller',
  statefulset: 'statefulset-controller',
  daemonset: 'daemon-set-controller',
  job: 'job-controller',
  cronjob: 'cronjob-controller',
  'ttl-after-finished': 'ttl-after-finished-controller',
  garbagecollector: 'generic-garbage-collector',
  namespace: 'namespace-controller',
  serviceaccount: 'service-account-controller',
  'root-ca-cert-publisher': 'root-ca-cert-publisher',
  podgc: 'pod-garbage-collector',
  nodeipam: 'node-controller',
  nodelifecycle: 'node-controller',
  'taint-eviction-controller': 'node-controller',
  endpoint: 'endpoint-controller',
  endpointslice: 'endpointslice-controller',
  endpointslicemirroring: 'endpointslicemirroring-controller',
  resourcequota: 'resourcequota-controller',
  'persistentvolume-binder': 'persistent-volume-binder',
  'local-path-provisioner': 'local-path-provisioner',
  disruption: 'disruption-controller',
  csrsigning: 'certificate-controller',
  csrapproving: 'certificate-controller',
  csrcleaner: 'certificate-controller',
  tokencleaner: 'token-cleaner',
  'service-lb-controller': 'service-controller',
};

/** Whether a controller is enabled by upstream's --controllers syntax ("*", "name", "-name"). */
export function enabled(name: string, list: string[]): boolean {
  if (list.includes(`-${name}`)) return false;
  return list.includes(name) || list.includes('*');
}

export function startControllerManager(o: ControllerManagerOptions): ControllerManager {
  const log = o.log ?? (() => {});
  const clock = o.clock ?? realClock;
  const client = new Client(o.transport);
  const stopAll = new AbortController();
  let resolveStarted!: () => void;
  const startedP = new Promise<void>((r) => (resolveStarted = r));
  let runs: Promise<void>[] = [];
  let broadcaster: EventBroadcaster | undefined;
  const extraBroadcasters: EventBroadcaster[] = [];
  let informers: SharedInformerFactory | undefined;

  const lead = async (signal: AbortSignal) => {
    informers = new SharedInformerFactory(client, { clock, log });
    broadcaster = new EventBroadcaster({ client, clock, log });
    const host = hostname();
    const ctx: ControllerContext = {
      client,
      informers,
      recorder: (component) => broadcaster!.newRecorder({ component, host }),
      clock,
      config: o.config,
      log,
    };
    const active = o.controllers.filter((c) => enabled(c.name, o.config.controllers));
    const clients = new Map<string, Client>();
    const clientFor = (c: Controller): Client => {
      const sa = CONTROLLER_SERVICE_ACCOUNTS[c.name] ?? c.name;
      if (!o.transportFor) return client;
      let cl = clients.get(sa);
      if (!cl) clients.set(sa, (cl = new Client(o.transportFor(sa))));
      return cl;
    };
    const loops = active.map((c) => {
      const own = clientFor(c);
      // Events are written with the controller's own credentials too.
      const events = own === client ? broadcaster! : new EventBroadcaster({ client: own, clock, log });
      if (events !== broadcaster) extraBroadcasters.push(events);
      return { c, loop: c.setup({ ...ctx, client: own, recorder: (component) => events.newRecorder({ component, host }) }) };
    });
    informers.start();
    if (!(await informers.waitForCacheSync(signal))) return;
    log(`controller-manager: running ${active.map((c) => c.name).join(', ')}`);
    resolveStarted();
    runs = loops.map(({ c, loop }) =>
      loop.run(signal).catch((e) => {
        log(`controller-manager: ${c.name} stopped with an error: ${(e as Error).message}`);
      }),
    );
    await Promise.all(runs);
  };

  const stopLeading = () => {
    informers?.shutdown();
    broadcaster?.shutdown();
    for (const b of extraBroadcasters.splice(0)) b.shutdown();
  };

  let elector: Promise<void>;
  if (o.leaderElect === false) {
    elector = lead(stopAll.signal).finally(stopLeading);
  } else {
    const identity = o.identity ?? `${hostname()}_${randomUUID()}`;
    const e = new LeaderElector({
      lock: new LeaseLock(client, { namespace: 'kube-system', name: 'kube-controller-manager', identity }),
      clock,
      log,
      name: 'kube-controller-manager',
      callbacks: {
        onStartedLeading: (signal) => {
          void lead(signal).finally(stopLeading);
        },
        onStoppedLeading: () => stopLeading(),
        onNewLeader: (id) => {
          if (id !== identity) log(`controller-manager: ${id} is the leader`);
        },
      },
    });
    elector = e.run(stopAll.signal);
  }

  return {
    started: () => startedP,
    async stop() {
      stopAll.abort();
      await elector.catch(() => undefined);
      await Promise.all(runs);
    },
  };
}

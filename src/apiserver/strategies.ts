// The strategies of the kinds whose server behaviour differs from the default: initial status,
// generation tracking, graceful deletion, Service address allocation, Namespace termination.
import type { FieldError } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import type { ResourceDecl } from '../api/resources.ts';
import type { ServiceAllocators } from './allocators.ts';
import { defaultStrategy, type Strategy } from './strategy.ts';

type AnyObj = Record<string, any>;

/** Kinds whose metadata.generation tracks spec changes (upstream sets it in their strategies). */
const GENERATION = new Set([
  'apps/Deployment',
  'apps/ReplicaSet',
  'apps/StatefulSet',
  'apps/DaemonSet',
  '/ReplicationController',
  'batch/Job',
  'batch/CronJob',
  'autoscaling/HorizontalPodAutoscaler',
  'policy/PodDisruptionBudget',
  'networking.k8s.io/Ingress',
  'networking.k8s.io/NetworkPolicy',
  '/Pod',
  '/Service',
  'storage.k8s.io/VolumeAttachment',
  'certificates.k8s.io/CertificateSigningRequest',
]);


/** upstream's GetPodQOS: Guaranteed, Burstable or BestEffort from the containers' requests and limits. */
export function podQOS(pod: AnyObj): string {
  const cs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const names = ['cpu', 'memory'];
  let anyReq = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const n of names) {
      if (req[n] !== undefined && !isZero(req[n])) anyReq = true;
      if (lim[n] !== undefined && !isZero(lim[n])) anyReq = true;
    }
    for (const n of names) {
      if (lim[n] === undefined || isZero(lim[n])) guaranteed = false;
      else if (req[n] !== undefined && req[n] !== lim[n]) guaranteed = false;
    }
  }
  if (!anyReq) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function isZero(q: unknown): boolean {
  return typeof q === 'string' ? /^[+]?0*(\.0*)?[a-zA-Z]*$/.test(q) : q === 0;
}

/**
 * An update that leaves out allocated values keeps them (upstream's patchAllocatedValues): the
 * ClusterIPs, and each port's NodePort matched by port number and protocol, while the type still
 * uses them.
 */
function patchAllocatedValues(obj: AnyObj, old: AnyObj): void {
  const spec = (obj.spec ??= {});
  const os = old.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  if (type !== 'ExternalName' && (os.type ?? 'ClusterIP') !== 'ExternalName') {
    if (!spec.clusterIP && os.clusterIP) spec.clusterIP = os.clusterIP;
    if ((!spec.clusterIPs || spec.clusterIPs.length === 0) && os.clusterIPs && spec.clusterIP === os.clusterIP) spec.clusterIPs = [...os.clusterIPs];
  }
  if (type === 'NodePort' || type === 'LoadBalancer') {
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      const was = (os.ports ?? []).find((q: AnyObj) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (was?.nodePort) p.nodePort = was.nodePort;
    }
    if (!spec.healthCheckNodePort && os.healthCheckNodePort && spec.externalTrafficPolicy === 'Local') spec.healthCheckNodePort = os.healthCheckNodePort;
  }
}

const DS_TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

export function buildStrategy(decl: ResourceDecl, deps: { services?: () => ServiceAllocators }): Strategy {
  const gk = `${decl.group}/${decl.kind}`;
  const base = defaultStrategy(decl, {
    generation: GENERATION.has(gk),
    generationOnAnnotations: gk === 'apps/Deployment',
    statusKeepsAnnotations: decl.group === 'apps',
  });
  base.returnDeletedObject = !!decl.returnsDeletedObject;
  switch (gk) {
    case '/Pod':
      return {
        ...base,
        prepareForCreate(obj, reg) {
          base.prepareForCreate(obj, reg);
          (obj as AnyObj).status = { phase: 'Pending', qosClass: podQOS(obj) };
        },
        gracePeriod(obj, requested) {
          const o = obj as AnyObj;
          // Pods not yet on a node have nothing to stop: they go at once, as upstream.
          if (!o.spec?.nodeName) return 0;
          if (o.status?.phase === 'Succeeded' || o.status?.phase === 'Failed') return 0;
          if (requested !== undefined) return Math.max(0, requested);
          return o.spec?.terminationGracePeriodSeconds ?? 30;
        },
      };
    case '/Namespace':
      return {
        ...base,
        deletionPending: (obj) => (((obj as AnyObj).spec?.finalizers as string[] | undefined) ?? []).length > 0,
        prepareForCreate(obj, reg) {
          base.prepareForCreate(obj, reg);
          const o = obj as AnyObj;
          o.status = { phase: 'Active' };
          o.spec ??= {};
          o.spec.finalizers ??= ['kubernetes'];
        },
        prepareForUpdate(obj, old) {
          base.prepareForUpdate(obj, old);
          // spec.finalizers change only through the finalize subresource
          const o = obj as AnyObj;
          o.spec = structuredClone((old as AnyObj).spec ?? {});
        },
        prepareForDelete(obj) {
          (obj as AnyObj).status = { ...((obj as AnyObj).status ?? {}), phase: 'Terminating' };
        },
      };
    case '/Service': {
      const releases = new WeakMap<KObject, () => void>();
      return {
        ...base,
        prepareForCreate(obj, reg) {
          base.prepareForCreate(obj, reg);
          (obj as AnyObj).status = { loadBalancer: {} };
        },
        prepareForUpdate(obj, old) {
          base.prepareForUpdate(obj, old);
          patchAllocatedValues(obj as AnyObj, old as AnyObj);
        },
        validate(obj, old) {
          const errs: FieldError[] = [];
          const a = deps.services?.();
          if (!a) return errs;
          const r = a.allocate(obj, old);
          if (r.errors.length) return r.errors;
          releases.set(obj, r.release);
          return errs;
        },
        afterCreateFailed(obj) {
          releases.get(obj)?.();
        },
        afterWrite(obj, reg) {
          const rel = releases.get(obj);
          if (!rel) return;
          // Keep the reservation until the cache holds the new object, then let it count.
          const rev = Number(obj.metadata.resourceVersion);
          void reg.watchCache.waitFor(rev, 10_000).then(rel, rel);
        },
      } satisfies Strategy;
    }
    case '/PersistentVolumeClaim':
      return {
        ...base,
        prepareForCreate(obj, reg) {
          base.prepareForCreate(obj, reg);
          (obj as AnyObj).status = { phase: 'Pending' };
        },
      };
    case '/PersistentVolume':
      return {
        ...base,
        prepareForCreate(obj, reg) {
          base.prepareForCreate(obj, reg);
          (obj as AnyObj).status = { phase: 'Pending' };
        },
      };
    case '/Node':
      return {
        ...base,
        prepareForCreate(obj, reg) {
          // Nodes register with their status (the kubelet writes both at once), so it is kept.
          const status = (obj as AnyObj).status;
          base.prepareForCreate(obj, reg);
          if (status !== undefined) (obj as AnyObj).status = status;
        },
      };
    case 'apps/DaemonSet':
      // upstream keeps spec.templateGeneration internally and shows it as this annotation in v1.
      return {
        ...base,
        prepareForCreate(obj, reg) {
          base.prepareForCreate(obj, reg);
          (obj as AnyObj).status = {};
          const m = obj.metadata;
          m.annotations = { ...(m.annotations ?? {}), [DS_TEMPLATE_GENERATION]: '1' };
        },
        prepareForUpdate(obj, old) {
          base.prepareForUpdate(obj, old);
          const prev = Number(old.metadata.annotations?.[DS_TEMPLATE_GENERATION] ?? '1') || 1;
          const changed = JSON.stringify((obj as AnyObj).spec?.template) !== JSON.stringify((old as AnyObj).spec?.template);
          const m = obj.metadata;
          m.annotations = { ...(m.annotations ?? {}), [DS_TEMPLATE_GENERATION]: String(changed ? prev + 1 : prev) };
        },
      };
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/StatefulSet':
    case 'batch/Job':
    case 'batch/CronJob':
    case '/ReplicationController':
    case 'autoscaling/HorizontalPodAutoscaler':
    case 'policy/PodDisruptionBudget':
      return {
        ...base,
        prepareForCreate(obj, reg) {
          base.prepareForCreate(obj, reg);
          (obj as AnyObj).status = {};
        },
      };
    default:
      return base;
  }
}


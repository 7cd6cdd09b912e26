// The built-in `local-path` storage, as k3s ships it: a default StorageClass (provisioner
// rancher.io/local-path, WaitForFirstConsumer, reclaim Delete), created when missing, and its
// provisioner. For a claim the binder hands to rancher.io/local-path (annotation
// volume.kubernetes.io/storage-provisioner) once the scheduler has chosen a node
// (volume.kubernetes.io/selected-node), it creates a hostPath PersistentVolume
// "pvc-<claim uid>" at <config.localPathRoot>/<pv name> on that node (node affinity on
// kubernetes.io/hostname), pre-bound to the claim; the binder finishes the binding. Making the
// directory is the node's business (hostPath type DirectoryOrCreate). Released volumes of the class
// with reclaim policy Delete are deleted.
import type { KObject } from '../../api/meta.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING } from '../../client/events.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { isAlreadyExists, isNotFound } from '../cluster/errors.ts';
import { ANN_BETA_STORAGE_PROVISIONER, ANN_DEFAULT_CLASS, ANN_PROVISIONED_BY, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER, claimClass, pvcSpec, pvPhase, pvSpec } from './matching.ts';

export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
export const LOCAL_PATH_CLASS = 'local-path';
const WORKERS = 2;

export function localPathStorageClass(): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: LOCAL_PATH_CLASS, annotations: { [ANN_DEFAULT_CLASS]: 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

/** The PersistentVolume for a claim on a node (pure). */
export function localPathVolume(claim: KObject, storageClass: KObject, nodeName: string, hostnameLabel: string, root: string): KObject {
  const name = `pvc-${claim.metadata.uid}`;
  const spec = pvcSpec(claim);
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { [ANN_PROVISIONED_BY]: LOCAL_PATH_PROVISIONER, 'local.path.provisioner/selected-node': nodeName } },
    spec: {
      accessModes: spec.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: spec.resources?.requests?.storage ?? '0' },
      claimRef: { kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, apiVersion: 'v1', resourceVersion: claim.metadata.resourceVersion },
      hostPath: { path: `${root.replace(/\/+$/, '')}/${name}`, type: 'DirectoryOrCreate' },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [hostnameLabel] }] }] } },
      persistentVolumeReclaimPolicy: (storageClass.reclaimPolicy as string | undefined) ?? 'Delete',
      storageClassName: storageClass.metadata.name,
      volumeMode: spec.volumeMode ?? 'Filesystem',
      ...(storageClass.mountOptions ? { mountOptions: storageClass.mountOptions } : {}),
    },
  };
}

export const localPathProvisioner: Controller = {
  name: 'local-path-provisioner',
  setup(ctx: ControllerContext) {
    const pvcs = ctx.informers.informerFor('', 'persistentvolumeclaims');
    const pvs = ctx.informers.informerFor('', 'persistentvolumes');
    const classes = ctx.informers.informerFor('storage.k8s.io', 'storageclasses');
    const nodes = ctx.informers.informerFor('', 'nodes');
    const recorder = ctx.recorder(LOCAL_PATH_PROVISIONER);
    const claims = new WorkQueue<string>({ clock: ctx.clock, name: 'local_path_claims' });
    const volumes = new WorkQueue<string>({ clock: ctx.clock, name: 'local_path_volumes' });
    const ours = (c: KObject) => {
      const a = c.metadata.annotations ?? {};
      return a[ANN_STORAGE_PROVISIONER] === LOCAL_PATH_PROVISIONER || a[ANN_BETA_STORAGE_PROVISIONER] === LOCAL_PATH_PROVISIONER;
    };
    pvcs.addEventHandler({
      onAdd: (c) => ours(c) && claims.add(keyOf(c)),
      onUpdate: (_o, c) => ours(c) && claims.add(keyOf(c)),
    });
    pvs.addEventHandler({
      onAdd: (v) => volumes.add(v.metadata.name!),
      onUpdate: (_o, v) => volumes.add(v.metadata.name!),
    });

    const syncClaim = async (key: string): Promise<void> => {
      const { namespace, name } = splitKey(key);
      const claim = pvcs.lister().namespace(namespace).get(name);
      if (!claim || !ours(claim) || pvcSpec(claim).volumeName || claim.metadata.deletionTimestamp) return;
      const sc = classes.lister().get(claimClass(claim));
      if (!sc || sc.provisioner !== LOCAL_PATH_PROVISIONER) return;
      const pvName = `pvc-${claim.metadata.uid}`;
      if (pvs.lister().get(pvName)) return;
      const nodeName = claim.metadata.annotations?.[ANN_SELECTED_NODE];
      if (!nodeName) {
        if (sc.volumeBindingMode === 'WaitForFirstConsumer') return;
        recorder.event(claim, EVENT_TYPE_WARNING, 'ProvisioningFailed', `failed to provision volume with StorageClass "${sc.metadata.name}": configuration error, no node was specified`);
        return;
      }
      recorder.event(claim, EVENT_TYPE_NORMAL, 'Provisioning', `External provisioner is provisioning volume for claim "${namespace}/${name}"`);
      const node = nodes.lister().get(nodeName);
      const hostname = node?.metadata.labels?.['kubernetes.io/hostname'] ?? nodeName;
      try {
        await ctx.client.resource('', 'persistentvolumes').create(localPathVolume(claim, sc, nodeName, hostname, ctx.config.localPathRoot));
      } catch (e) {
        if (!isAlreadyExists(e)) {
          recorder.event(claim, EVENT_TYPE_WARNING, 'ProvisioningFailed', `failed to provision volume with StorageClass "${sc.metadata.name}": ${(e as Error).message}`);
          throw e;
        }
      }
      recorder.event(claim, EVENT_TYPE_NORMAL, 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
    };

    const syncVolume = async (name: string): Promise<void> => {
      const pv = pvs.lister().get(name);
      if (!pv || pv.metadata.annotations?.[ANN_PROVISIONED_BY] !== LOCAL_PATH_PROVISIONER) return;
      if (pvPhase(pv) !== 'Released' || pvSpec(pv).persistentVolumeReclaimPolicy !== 'Delete' || pv.metadata.deletionTimestamp) return;
      try {
        await ctx.client.resource('', 'persistentvolumes').delete(name, { preconditions: { uid: pv.metadata.uid } });
        ctx.log(`local-path-provisioner: deleted volume ${name}`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    };

    return {
      async run(signal) {
        // the workers start at once (runWorkers must see the signal before it aborts)
        const workers = Promise.all([
          runWorkers(claims, WORKERS, syncClaim, signal, ctx.log, 'local-path-provisioner'),
          runWorkers(volumes, WORKERS, syncVolume, signal, ctx.log, 'local-path-provisioner-volumes'),
        ]);
        // the class must exist: retry (every second) until it does or we stop
        while (!signal.aborted && !classes.lister().get(LOCAL_PATH_CLASS)) {
          try {
            await ctx.client.resource('storage.k8s.io', 'storageclasses').create(localPathStorageClass());
            ctx.log(`local-path-provisioner: created StorageClass ${LOCAL_PATH_CLASS}`);
            break;
          } catch (e) {
            if (isAlreadyExists(e)) break;
            ctx.log(`local-path-provisioner: creating StorageClass ${LOCAL_PATH_CLASS}: ${(e as Error).message}`);
            await ctx.clock.after(1000, signal).catch(() => undefined);
          }
        }
        await workers;
      },
    };
  },
};

// The PersistentVolume binder (upstream pkg/controller/volume/persistentvolume, pv_controller):
// binds claims to volumes both ways — pv.spec.claimRef and phase Bound on the volume
// (pv.kubernetes.io/bound-by-controller when the controller chose it), pvc.spec.volumeName, the
// pv.kubernetes.io/bind-completed annotation and phase Bound (with capacity and access modes) on
// the claim. Immediate claims bind to the best matching Available volume; claims of a
// WaitForFirstConsumer class wait until the scheduler pre-binds a volume or names a node
// (volume.kubernetes.io/selected-node), then are provisioned. Provisioning is left to the class's
// (external) provisioner, announced on the claim with volume.kubernetes.io/storage-provisioner.
// A volume whose claim is gone is Released, then Retained, or (Delete) removed by its provisioner.
// A claim without a class gets the default StorageClass (upstream's retroactive default class).
import type { KObject } from '../../api/meta.ts';
import { EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING } from '../../client/events.ts';
import type { SharedInformer } from '../../client/informer.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, keyOf, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { isNotFound } from '../cluster/errors.ts';
import { nowRfc3339 } from '../cluster/objects.ts';
import {
  ANN_BETA_STORAGE_CLASS,
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  claimClass,
  defaultStorageClass,
  findBestMatchForClaim,
  isVolumeBoundToClaim,
  pvcSpec,
  pvPhase,
  pvSpec,
  volumeMismatch,
} from './matching.ts';

export const RESYNC_MS = 15_000;
const WORKERS = 4;

/** The newest of the informer's copy and the copy this controller last wrote (caches lag writes). */
class Fresh {
  private readonly written = new Map<string, KObject>();
  private readonly inf: SharedInformer;
  constructor(inf: SharedInformer) {
    this.inf = inf;
  }
  get(key: string): KObject | undefined {
    const c = this.inf.indexer.get(key);
    const w = this.written.get(key);
    if (!w) return c;
    if (!c) return undefined;
    if (c.metadata.uid !== w.metadata.uid || Number(c.metadata.resourceVersion) >= Number(w.metadata.resourceVersion)) {
      this.written.delete(key);
      return c;
    }
    return w;
  }
  list(): KObject[] {
    return this.inf.indexer.listKeys().map((k) => this.get(k)!).filter(Boolean);
  }
  wrote(o: KObject): void {
    this.written.set(keyOf(o), o);
  }
  forget(key: string): void {
    this.written.delete(key);
  }
}

export const persistentVolumeBinderController: Controller = {
  name: 'persistentvolume-binder',
  setup(ctx: ControllerContext) {
    return new PersistentVolumeController(ctx);
  },
};

export class PersistentVolumeController {
  private readonly ctx: ControllerContext;
  private readonly pvs: Fresh;
  private readonly pvcs: Fresh;
  private readonly classes: SharedInformer;
  private readonly claimQueue: WorkQueue<string>;
  private readonly volumeQueue: WorkQueue<string>;
  private readonly recorder;

  constructor(ctx: ControllerContext) {
    this.ctx = ctx;
    const pvInf = ctx.informers.informerFor('', 'persistentvolumes');
    const pvcInf = ctx.informers.informerFor('', 'persistentvolumeclaims');
    this.classes = ctx.informers.informerFor('storage.k8s.io', 'storageclasses');
    this.pvs = new Fresh(pvInf);
    this.pvcs = new Fresh(pvcInf);
    this.recorder = ctx.recorder('persistentvolume-controller');
    this.claimQueue = new WorkQueue<string>({ clock: ctx.clock, name: 'claims' });
    this.volumeQueue = new WorkQueue<string>({ clock: ctx.clock, name: 'volumes' });
    pvInf.addEventHandler(
      {
        onAdd: (pv) => this.volumeQueue.add(pv.metadata.name!),
        onUpdate: (_o, pv) => this.volumeQueue.add(pv.metadata.name!),
        onDelete: (pv) => {
          this.pvs.forget(pv.metadata.name!);
          const ref = pvSpec(pv).claimRef;
          if (ref?.name) this.claimQueue.add(`${ref.namespace}/${ref.name}`);
        },
      },
      RESYNC_MS,
    );
    pvcInf.addEventHandler(
      {
        onAdd: (c) => this.claimQueue.add(keyOf(c)),
        onUpdate: (_o, c) => this.claimQueue.add(keyOf(c)),
        onDelete: (c) => {
          this.pvcs.forget(keyOf(c));
          const v = pvcSpec(c).volumeName;
          if (v) this.volumeQueue.add(v);
        },
      },
      RESYNC_MS,
    );
    this.classes.addEventHandler({
      onAdd: () => {
        for (const c of this.pvcs.list()) if (!pvcSpec(c).volumeName) this.claimQueue.add(keyOf(c));
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return Promise.all([
      runWorkers(this.claimQueue, WORKERS, (k) => this.syncClaim(k), signal, this.ctx.log, 'persistentvolume-binder-claims'),
      runWorkers(this.volumeQueue, WORKERS, (k) => this.syncVolume(k), signal, this.ctx.log, 'persistentvolume-binder-volumes'),
    ]).then(() => undefined);
  }

  private now(): string {
    return nowRfc3339(this.ctx.clock);
  }

  private storageClass(name: string): KObject | undefined {
    return name ? this.classes.lister().get(name) : undefined;
  }

  private isDelayBinding(claim: KObject): boolean {
    const sc = this.storageClass(claimClass(claim));
    return (sc?.volumeBindingMode as string | undefined) === 'WaitForFirstConsumer';
  }

  // ------------------------------------------------------------------------------ writes

  private async updateClaim(claim: KObject): Promise<KObject> {
    const out = await this.ctx.client.resource('', 'persistentvolumeclaims').namespace(claim.metadata.namespace!).update(claim);
    this.pvcs.wrote(out);
    return out;
  }

  private async updateVolume(pv: KObject): Promise<KObject> {
    const out = await this.ctx.client.resource('', 'persistentvolumes').update(pv);
    this.pvs.wrote(out);
    return out;
  }

  /** Sets the claim's phase (and, when bound, capacity and access modes from the volume). */
  private async updateClaimStatus(claim: KObject, phase: string, volume: KObject | undefined): Promise<KObject> {
    const status = { ...((claim.status ?? {}) as Record<string, unknown>) };
    let dirty = status.phase !== phase;
    status.phase = phase;
    if (volume) {
      const modes = pvSpec(volume).accessModes;
      const cap = pvSpec(volume).capacity;
      if (JSON.stringify(status.accessModes) !== JSON.stringify(modes)) dirty = true;
      if (JSON.stringify(status.capacity) !== JSON.stringify(cap)) dirty = true;
      status.accessModes = modes;
      status.capacity = cap;
    } else if (phase === 'Pending' && (status.accessModes || status.capacity)) {
      delete status.accessModes;
      delete status.capacity;
      dirty = true;
    }
    if (!dirty) return claim;
    const out = await this.ctx.client.resource('', 'persistentvolumeclaims').namespace(claim.metadata.namespace!).updateStatus({ ...claim, status });
    this.pvcs.wrote(out);
    return out;
  }

  private async updateVolumePhase(pv: KObject, phase: string, message?: string): Promise<KObject> {
    const status = { ...((pv.status ?? {}) as Record<string, unknown>) };
    if (status.phase === phase && (status.message ?? undefined) === message) return pv;
    if (status.phase !== phase) status.lastPhaseTransitionTime = this.now();
    status.phase = phase;
    if (message) status.message = message;
    else delete status.message;
    const out = await this.ctx.client.resource('', 'persistentvolumes').updateStatus({ ...pv, status });
    this.pvs.wrote(out);
    return out;
  }

  /** upstream's bind: volume → claim, volume Bound, claim → volume, claim Bound. */
  private async bind(volume: KObject, claim: KObject): Promise<void> {
    let pv = volume;
    const ref = pvSpec(pv).claimRef;
    const setByUs = !isVolumeBoundToClaim(pv, claim);
    if (!ref || ref.name !== claim.metadata.name || ref.namespace !== claim.metadata.namespace || ref.uid !== claim.metadata.uid) {
      const next = structuredClone(pv) as KObject;
      (next.spec as Record<string, unknown>).claimRef = {
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata.namespace,
        name: claim.metadata.name,
        uid: claim.metadata.uid,
        apiVersion: 'v1',
        resourceVersion: claim.metadata.resourceVersion,
      };
      if (setByUs) next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      pv = await this.updateVolume(next);
    }
    pv = await this.updateVolumePhase(pv, 'Bound');
    let c = claim;
    if (pvcSpec(c).volumeName !== pv.metadata.name || !c.metadata.annotations?.[ANN_BIND_COMPLETED]) {
      const next = structuredClone(c) as KObject;
      const ann = { ...(next.metadata.annotations ?? {}) };
      if (pvcSpec(next).volumeName !== pv.metadata.name) {
        (next.spec as Record<string, unknown>).volumeName = pv.metadata.name;
        ann[ANN_BOUND_BY_CONTROLLER] ??= 'yes';
      }
      ann[ANN_BIND_COMPLETED] ??= 'yes';
      next.metadata.annotations = ann;
      c = await this.updateClaim(next);
    }
    await this.updateClaimStatus(c, 'Bound', pv);
  }

  // ------------------------------------------------------------------------------ claims

  private async syncClaim(key: string): Promise<void> {
    const claim = this.pvcs.get(key);
    if (!claim || claim.metadata.deletionTimestamp) return;
    if (claim.metadata.annotations?.[ANN_BIND_COMPLETED]) return this.syncBoundClaim(claim);
    return this.syncUnboundClaim(claim);
  }

  private async syncUnboundClaim(claim: KObject): Promise<void> {
    const volumeName = pvcSpec(claim).volumeName;
    if (!volumeName) {
      const delay = this.isDelayBinding(claim);
      const volume = findBestMatchForClaim(claim, this.pvs.list(), delay);
      if (volume) return this.bind(volume, claim);
      // a claim that never named a class takes the default one
      if ((pvcSpec(claim).storageClassName === undefined || pvcSpec(claim).storageClassName === null) && claim.metadata.annotations?.[ANN_BETA_STORAGE_CLASS] === undefined) {
        const def = defaultStorageClass(this.classes.lister().list());
        if (def) {
          const next = structuredClone(claim) as KObject;
          (next.spec as Record<string, unknown>).storageClassName = def.metadata.name;
          await this.updateClaim(next);
          return;
        }
      }
      const cls = claimClass(claim);
      if (delay && !claim.metadata.annotations?.[ANN_SELECTED_NODE]) {
        this.recorder.event(claim, EVENT_TYPE_NORMAL, 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
      } else if (cls) {
        await this.provisionClaim(claim, cls);
        return;
      } else {
        this.recorder.event(claim, EVENT_TYPE_NORMAL, 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
      }
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }
    const volume = this.pvs.get(volumeName);
    if (!volume) {
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }
    const ref = pvSpec(volume).claimRef;
    if (!ref) {
      const why = volumeMismatch(volume, claim);
      if (why) {
        this.recorder.event(claim, EVENT_TYPE_WARNING, 'VolumeMismatch', `Cannot bind to requested volume "${volumeName}": ${why}`);
        await this.updateClaimStatus(claim, 'Pending', undefined);
        return;
      }
      return this.bind(volume, claim);
    }
    if (isVolumeBoundToClaim(volume, claim)) return this.bind(volume, claim);
    if (!claim.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER]) {
      this.recorder.event(claim, EVENT_TYPE_WARNING, 'FailedBinding', `volume "${volumeName}" already bound to a different claim.`);
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }
    throw new Error(`Invalid binding of claim ${keyOf(claim)} to volume ${volumeName}: volume already claimed by ${ref.namespace}/${ref.name}`);
  }

  /** Announces the claim to its class's provisioner (every provisioner is external here). */
  private async provisionClaim(claim: KObject, cls: string): Promise<void> {
    const sc = this.storageClass(cls);
    if (!sc) {
      this.recorder.event(claim, EVENT_TYPE_WARNING, 'ProvisioningFailed', `storageclass.storage.k8s.io "${cls}" not found`);
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }
    const provisioner = sc.provisioner as string;
    let c = claim;
    const ann = c.metadata.annotations ?? {};
    if (ann[ANN_STORAGE_PROVISIONER] !== provisioner || ann[ANN_BETA_STORAGE_PROVISIONER] !== provisioner) {
      const next = structuredClone(c) as KObject;
      next.metadata.annotations = { ...ann, [ANN_STORAGE_PROVISIONER]: provisioner, [ANN_BETA_STORAGE_PROVISIONER]: provisioner };
      c = await this.updateClaim(next);
      this.recorder.event(
        c,
        EVENT_TYPE_NORMAL,
        'ExternalProvisioning',
        `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
    }
    await this.updateClaimStatus(c, 'Pending', undefined);
  }

  private async syncBoundClaim(claim: KObject): Promise<void> {
    const volumeName = pvcSpec(claim).volumeName;
    if (!volumeName) {
      await this.claimLost(claim, 'ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
      return;
    }
    const volume = this.pvs.get(volumeName);
    if (!volume) {
      await this.claimLost(claim, 'ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      return;
    }
    const ref = pvSpec(volume).claimRef;
    if (!ref || ref.uid === claim.metadata.uid) return this.bind(volume, claim);
    await this.claimLost(claim, 'ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
  }

  private async claimLost(claim: KObject, reason: string, message: string): Promise<void> {
    if ((claim.status as { phase?: string } | undefined)?.phase !== 'Lost') this.recorder.event(claim, EVENT_TYPE_WARNING, reason, message);
    await this.updateClaimStatus(claim, 'Lost', undefined);
  }

  // ------------------------------------------------------------------------------ volumes

  private async syncVolume(name: string): Promise<void> {
    const volume = this.pvs.get(name);
    if (!volume) return;
    const ref = pvSpec(volume).claimRef;
    if (!ref) {
      await this.updateVolumePhase(volume, 'Available');
      return;
    }
    if (!ref.uid) {
      // reserved for a claim that is not bound yet: the claim's sync finishes the job
      await this.updateVolumePhase(volume, 'Available');
      if (ref.name) this.claimQueue.add(`${ref.namespace}/${ref.name}`);
      return;
    }
    let claim = this.pvcs.get(`${ref.namespace}/${ref.name}`);
    if (!claim) {
      // the cache may not have a claim created a moment ago: ask the API before releasing
      try {
        claim = await this.ctx.client.resource('', 'persistentvolumeclaims').namespace(ref.namespace!).get(ref.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (claim && claim.metadata.uid !== ref.uid) claim = undefined;
    if (!claim) {
      let pv = volume;
      if (pvPhase(pv) !== 'Released' && pvPhase(pv) !== 'Failed') pv = await this.updateVolumePhase(pv, 'Released');
      await this.reclaimVolume(pv);
      return;
    }
    const claimVolume = pvcSpec(claim).volumeName;
    if (!claimVolume) {
      this.claimQueue.add(keyOf(claim));
      return;
    }
    if (claimVolume === name) {
      await this.updateVolumePhase(volume, 'Bound');
      return;
    }
    // the claim is bound to another volume
    if (volume.metadata.annotations?.[ANN_PROVISIONED_BY] && pvSpec(volume).persistentVolumeReclaimPolicy === 'Delete') {
      let pv = volume;
      if (pvPhase(pv) !== 'Released' && pvPhase(pv) !== 'Failed') pv = await this.updateVolumePhase(pv, 'Released');
      await this.reclaimVolume(pv);
      return;
    }
    await this.unbindVolume(volume);
  }

  /** Bound by us: forget the claim entirely; pre-bound by the user: keep the name, drop the uid. */
  private async unbindVolume(volume: KObject): Promise<void> {
    const next = structuredClone(volume) as KObject;
    const spec = next.spec as Record<string, unknown>;
    if (next.metadata.annotations?.[ANN_BOUND_BY_CONTROLLER]) {
      delete spec.claimRef;
      const { [ANN_BOUND_BY_CONTROLLER]: _b, ...rest } = next.metadata.annotations;
      next.metadata.annotations = rest;
    } else {
      spec.claimRef = { ...(spec.claimRef as object), uid: '' };
    }
    const out = await this.updateVolume(next);
    await this.updateVolumePhase(out, 'Available');
  }

  /**
   * Retain keeps a Released volume; Delete leaves dynamically provisioned volumes to their
   * provisioner and fails others (only /tmp hostPath volumes can be deleted in-tree).
   */
  private async reclaimVolume(volume: KObject): Promise<void> {
    const policy = pvSpec(volume).persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Retain') return;
    if (policy === 'Recycle') {
      await this.failVolume(volume, 'VolumeFailedRecycle', `No recycler plugin found for the volume!`);
      return;
    }
    if (volume.metadata.annotations?.[ANN_PROVISIONED_BY]) return;
    const hostPath = (volume.spec as { hostPath?: { path?: string } }).hostPath?.path;
    if (hostPath !== undefined) {
      if (/^\/tmp\/.+/.test(hostPath)) {
        try {
          await this.ctx.client.resource('', 'persistentvolumes').delete(volume.metadata.name!);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        return;
      }
      await this.failVolume(volume, 'VolumeFailedDelete', `host_path deleter only supports /tmp/.+ but received provided ${hostPath}`);
      return;
    }
    await this.failVolume(volume, 'VolumeFailedDelete', `error getting deleter volume plugin for volume "${volume.metadata.name}": no deletable volume plugin matched`);
  }

  private async failVolume(volume: KObject, reason: string, message: string): Promise<void> {
    if (pvPhase(volume) !== 'Failed') this.recorder.event(volume, EVENT_TYPE_WARNING, reason, message);
    await this.updateVolumePhase(volume, 'Failed', message);
  }
}

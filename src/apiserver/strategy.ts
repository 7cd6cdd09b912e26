// Per-kind behaviour of the generic registry: upstream's REST strategies (PrepareForCreate,
// PrepareForUpdate, status reset, generation, graceful deletion). Kind-independent rules live in
// registry.ts; defaulting and field validation live in src/api.
import type { FieldError } from '../api/errors.ts';
import { clone, jsonEqual, type KObject } from '../api/meta.ts';
import type { ResourceDecl } from '../api/resources.ts';
import type { Registry } from './registry.ts';

export interface Strategy {
  prepareForCreate(obj: KObject, reg: Registry): void;
  prepareForUpdate(obj: KObject, old: KObject): void;
  prepareForStatusUpdate(obj: KObject, old: KObject): void;
  /** Server-side checks that need the registry (allocations, references); pure validation lives in src/api. */
  validate(obj: KObject, old: KObject | undefined, reg: Registry): FieldError[];
  /** Side effects that must happen before the write (allocations); undone by afterCreateFailed. */
  beforeCreate?(obj: KObject, reg: Registry, dryRun: boolean): Promise<void> | void;
  beforeUpdate?(obj: KObject, old: KObject, reg: Registry, dryRun: boolean): Promise<void> | void;
  /** Undoes beforeCreate/validate side effects when the write did not happen (failure or dry run). */
  afterCreateFailed?(obj: KObject, reg: Registry): void;
  /** After a successful create or update; obj carries its new resourceVersion. */
  afterWrite?(obj: KObject, reg: Registry): void;
  afterDelete?(obj: KObject, reg: Registry): Promise<void> | void;
  /** Seconds of graceful deletion for this object given the request's gracePeriodSeconds (0 = immediate). */
  gracePeriod?(obj: KObject, requested: number | undefined): number;
  /** Changes applied to an object being marked for deletion (e.g. Namespace phase Terminating). */
  prepareForDelete?(obj: KObject): void;
  defaultPropagation?: 'Orphan' | 'Background' | 'Foreground';
  /** Delete answers with the deleted object rather than a Success Status (upstream's ReturnDeletedObject). */
  returnDeletedObject?: boolean;
  allowCreateOnUpdate: boolean;
  allowUnconditionalUpdate: boolean;
  /**
   * Whether deletion must wait beyond metadata.finalizers (a Namespace waits for its
   * spec.finalizers, which the namespace controller clears through the finalize subresource).
   */
  deletionPending?(obj: KObject): boolean;
}

type AnyObj = Record<string, unknown>;

function equalJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Fields other than metadata and status, compared to decide whether generation moves. */
function specPart(o: KObject): AnyObj {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

export interface StrategyOptions {
  /** metadata.generation is 1 on create and grows when anything but metadata and status changes. */
  generation?: boolean;
  /** Annotation changes also move generation (a Deployment's, as upstream). */
  generationOnAnnotations?: boolean;
  /** Status writes may change annotations (upstream's apps/v1 status strategies reset only spec and labels). */
  statusKeepsAnnotations?: boolean;
  /** The status a new object starts with (the status subresource owns it afterwards). */
  initialStatus?: (obj: KObject) => unknown;
}

/** upstream's usual strategy for a kind, shaped by its declaration. */
export function defaultStrategy(decl: ResourceDecl, o: StrategyOptions = {}): Strategy {
  const hasStatus = !!decl.status;
  const tracksGeneration = o.generation ?? false;
  return {
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
    prepareForCreate(obj) {
      if (hasStatus) {
        const s = o.initialStatus?.(obj);
        if (s === undefined) delete obj.status;
        else obj.status = s;
      }
      if (tracksGeneration) obj.metadata.generation = 1;
      else delete obj.metadata.generation;
    },
    prepareForUpdate(obj, old) {
      if (hasStatus) {
        if (old.status === undefined) delete obj.status;
        else obj.status = structuredClone(old.status);
      }
      if (tracksGeneration) {
        const g = old.metadata.generation ?? 1;
        const same = equalJson(specPart(obj), specPart(old)) && (!o.generationOnAnnotations || equalJson(obj.metadata.annotations ?? {}, old.metadata.annotations ?? {}));
        obj.metadata.generation = same && !deletionStarted(obj, old) ? g : g + 1;
      }
    },
    prepareForStatusUpdate(obj, old) {
      // A status write changes status only: everything else comes from the stored object.
      // obj's own parts are private copies (the caller's): one that equals the stored part, key
      // order included, is kept as it is instead of copied again (a pod's spec, on every kubelet
      // status write). The result's members come in the order upstream serializes them:
      // apiVersion, kind, metadata, the rest as stored, status.
      const parts: AnyObj = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata };
      for (const [k, v] of Object.entries(old)) {
        if (k === 'apiVersion' || k === 'kind' || k === 'metadata' || k === 'status') continue;
        parts[k] = jsonEqual(obj[k], v) ? obj[k] : clone(v);
      }
      if (obj.status !== undefined) parts.status = obj.status;
      for (const k of Object.keys(obj)) delete obj[k];
      Object.assign(obj, parts);
      const m = obj.metadata;
      const om = old.metadata;
      // upstream's ResetObjectMetaForStatus
      const reset = o.statusKeepsAnnotations
        ? (['labels', 'finalizers', 'ownerReferences', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const)
        : (['labels', 'annotations', 'finalizers', 'ownerReferences', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const);
      for (const f of reset) {
        if (om[f] === undefined) delete m[f];
        else (m as AnyObj)[f] = structuredClone(om[f]);
      }
    },
    validate: () => [],
  };
}

function deletionStarted(obj: KObject, old: KObject): boolean {
  return !old.metadata.deletionTimestamp && !!obj.metadata.deletionTimestamp;
}

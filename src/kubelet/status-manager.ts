// Writing pod statuses to the API (upstream's pkg/kubelet/status manager): the latest status per pod
// is sent through the status subresource as a two-way strategic merge patch against what the API
// has, one write at a time per pod (a newer status replaces a queued one), skipped when the API
// already shows it. A pod whose deletion was requested is deleted for good (grace 0, with its uid
// as precondition) once its final status is written and the kubelet says its resources are
// reclaimed.
import { StatusError } from '../api/errors.ts';
import type { Client } from '../client/client.ts';
import type { Pod, PodStatus } from './api-types.ts';
import { canonicalJson } from './labels.ts';
import { NO_TRACE, type PodTracer } from './pod-trace.ts';
import { statusPatch } from './status-patch.ts';

const POD_OWNED = new Set(['phase', 'conditions', 'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime', 'initContainerStatuses', 'containerStatuses', 'qosClass']);
const POD_KEYED = { conditions: 'type', podIPs: 'ip', hostIPs: 'ip' };

interface Entry {
  namespace: string;
  name: string;
  uid: string;
  desired?: PodStatus;
  /** canonical JSON of the last status the API accepted from us */
  written?: string;
  /** The status the API answered our last write with, and that object's resourceVersion. */
  base?: PodStatus;
  baseRV?: string;
  writing?: Promise<void>;
  again: boolean;
  deleteWhenWritten: boolean;
  deleted: boolean;
}

export interface StatusManagerOptions {
  client: Client;
  log: (m: string) => void;
  /** The API's current pod (the informer's), for computing the patch. */
  apiPod: (uid: string) => Pod | undefined;
  /** After a write fails, try again this much later (ms). */
  retry: (fn: () => void) => void;
  /** Marks each status patch sent and answered (benchmarks). */
  trace?: PodTracer;
}

export class StatusManager {
  readonly #o: StatusManagerOptions;
  readonly #entries = new Map<string, Entry>();
  /** Counters for tests and metrics. */
  readonly stats = { patches: 0, skipped: 0, deletes: 0, failures: 0 };

  constructor(o: StatusManagerOptions) {
    this.#o = o;
  }

  #entry(pod: Pod): Entry {
    const uid = pod.metadata.uid ?? '';
    let e = this.#entries.get(uid);
    if (!e) {
      e = { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', uid, again: false, deleteWhenWritten: false, deleted: false };
      this.#entries.set(uid, e);
    }
    return e;
  }

  /** Sets the pod's status to write; resolves when it (or a newer one) is written or given up. */
  setStatus(pod: Pod, status: PodStatus): Promise<void> {
    const e = this.#entry(pod);
    e.desired = status;
    return this.#kick(e);
  }

  /** The status last set for the pod. */
  status(uid: string): PodStatus | undefined {
    return this.#entries.get(uid)?.desired;
  }

  /** Deletes the pod object (grace 0) after its final status is written. */
  terminated(pod: Pod): Promise<void> {
    const e = this.#entry(pod);
    if (pod.metadata.deletionTimestamp) e.deleteWhenWritten = true;
    return this.#kick(e);
  }

  forget(uid: string): void {
    this.#entries.delete(uid);
  }

  #kick(e: Entry): Promise<void> {
    if (e.writing) {
      e.again = true;
      return e.writing;
    }
    e.writing = (async () => {
      try {
        do {
          e.again = false;
          await this.#sync(e);
        } while (e.again);
      } finally {
        e.writing = undefined;
      }
    })();
    return e.writing;
  }

  async #sync(e: Entry): Promise<void> {
    if (e.deleted) return;
    const pods = this.#o.client.resource<Pod>('', 'pods').namespace(e.namespace);
    try {
      if (e.desired) {
        const want = canonicalJson(e.desired);
        const api = this.#o.apiPod(e.uid);
        let apiStatus = api?.metadata.uid === e.uid ? api.status : undefined;
        // The informer may not have seen our last write yet: patch against what that write returned.
        if (e.base && (!api || newerOrSame(e.baseRV, api.metadata.resourceVersion))) apiStatus = e.base;
        if (want === e.written || (apiStatus && canonicalJson(apiStatus) === want)) {
          this.stats.skipped++;
          e.written = want;
        } else {
          const patch = statusPatch(apiStatus as Record<string, unknown> | undefined, e.desired as Record<string, unknown>, POD_KEYED, POD_OWNED);
          if (patch) {
            const trace = this.#o.trace ?? NO_TRACE;
            const who = { metadata: { namespace: e.namespace, name: e.name, uid: e.uid } };
            trace.mark(who, 'status-sent', e.desired.phase);
            const saved = await pods.patch(e.name, 'strategic', { metadata: { uid: e.uid }, status: patch }, { subresource: 'status' });
            trace.mark(who, 'status-written', saved.status?.phase);
            e.base = saved.status;
            e.baseRV = saved.metadata.resourceVersion;
            this.stats.patches++;
          }
          e.written = want;
        }
      }
      if (e.deleteWhenWritten) {
        await pods.delete(e.name, { gracePeriodSeconds: 0, preconditions: { uid: e.uid } });
        this.stats.deletes++;
        e.deleted = true;
      }
    } catch (err) {
      if (err instanceof StatusError && (err.code === 404 || (err.code === 409 && e.deleteWhenWritten))) {
        // Gone (or replaced by another pod of the same name): nothing more to write.
        e.deleted = true;
        return;
      }
      this.stats.failures++;
      this.#o.log(`Failed to update status for pod ${e.namespace}/${e.name}: ${(err as Error).message}`);
      e.written = undefined;
      e.base = undefined;
      this.#o.retry(() => void this.#kick(e));
    }
  }
}

/** Whether resourceVersion a is at least b (both decimal, as rudder's storage revisions). */
function newerOrSame(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) >= BigInt(b);
}

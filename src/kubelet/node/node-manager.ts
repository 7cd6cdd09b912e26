// The node's side of the API (upstream's registerWithAPIServer, syncNodeStatus and the node lease
// controller): register the Node (or reconcile the default labels of one that exists), then every
// nodeStatusUpdateFrequency compute the status and send it when it changed or nodeStatusReportFrequency
// passed, and renew the Lease in kube-node-lease every quarter of its duration. The first pod CIDR
// the node gets (from the controller-manager's IPAM) is handed to the runtime.
import { StatusError } from '../../api/errors.ts';
import { rfc3339Micro, type KObject, type OwnerReference } from '../../api/meta.ts';
import type { Client } from '../../client/client.ts';
import type { Clock, Timer } from '../../client/clock.ts';
import type { Node, NodeStatus } from '../api-types.ts';
import type { KubeletEvents } from '../events.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { statusPatch } from '../status-patch.ts';
import type { MachineInfo, MachineUsage } from './machine.ts';
import { computeNodeStatus, initialNode, nodeLabels, shouldReportStatus, type NodeSettings } from './node-status.ts';

export interface NodeManagerOptions {
  client: Client;
  runtime: Runtime;
  clock: Clock;
  log: (m: string) => void;
  events: KubeletEvents;
  machine: MachineInfo;
  settings: NodeSettings;
  usage: () => MachineUsage | undefined;
  statusUpdateFrequencyMs: number;
  statusReportFrequencyMs: number;
  leaseDurationSeconds: number;
  /** Called with the node's pod CIDR when it is first seen or changes. */
  onPodCidr?: (cidr: string) => void;
  /** Called after every status computation (the kubelet's view of its node). */
  onNode?: (node: Node) => void;
  /** Called when the node turns Ready (e.g. the runtime's network came up): pods waiting for a sandbox can retry now. */
  onReady?: () => void;
}

const NODE_OWNED = new Set(['capacity', 'allocatable', 'conditions', 'addresses', 'daemonEndpoints', 'nodeInfo', 'images']);

interface Lease extends KObject {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

export class NodeManager {
  readonly #o: NodeManagerOptions;
  #stopped = false;
  #statusTimer?: Timer;
  #leaseTimer?: Timer;
  #node?: Node;
  #lastReportAt = 0;
  #podCidr = '';
  #lease?: Lease;
  #registered = false;
  #statusRunning?: Promise<void>;

  constructor(o: NodeManagerOptions) {
    this.#o = o;
  }

  /** The Node as last read or written. */
  get node(): Node | undefined {
    return this.#node;
  }

  get registered(): boolean {
    return this.#registered;
  }

  /** Registers (retrying 100 ms doubling to 7 s, as upstream), then starts the status and lease loops. */
  async start(): Promise<void> {
    let step = 100;
    while (!this.#stopped) {
      try {
        await this.#register();
        break;
      } catch (e) {
        this.#o.log(`Unable to register node "${this.#o.settings.nodeName}" with API server: ${(e as Error).message}`);
        await this.#o.clock.after(step).catch(() => undefined);
        step = Math.min(step * 2, 7000);
      }
    }
    if (this.#stopped) return;
    this.#registered = true;
    this.#o.events.node(this.#o.settings.nodeName, undefined, 'Normal', 'Starting', 'Starting kubelet.');
    this.#o.events.node(this.#o.settings.nodeName, undefined, 'Normal', 'NodeAllocatableEnforced', 'Updated Node Allocatable limit across pods');
    await this.#renewLease();
    this.#statusRunning = this.syncStatus();
    await this.#statusRunning;
  }

  stop(): void {
    this.#stopped = true;
    this.#statusTimer?.cancel();
    this.#leaseTimer?.cancel();
  }

  async #status(previous: NodeStatus | undefined): Promise<ReturnType<typeof computeNodeStatus>> {
    const rt = this.#o.runtime;
    const [conds, version, images] = await Promise.all([
      rt.status().catch((e: Error) => e),
      rt.version().catch(() => undefined),
      rt.listImages().catch(() => []),
    ]);
    return computeNodeStatus({
      machine: this.#o.machine,
      usage: this.#o.usage(),
      settings: this.#o.settings,
      runtimeConditions: conds,
      runtimeVersion: version,
      images,
      previous,
      now: this.#o.clock.now(),
    });
  }

  async #register(): Promise<void> {
    const nodes = this.#o.client.resource<Node>('', 'nodes');
    const { status, changes } = await this.#status(undefined);
    const node = initialNode(this.#o.machine, this.#o.settings, status);
    try {
      this.#node = await nodes.create(node);
      this.#lastReportAt = this.#o.clock.now();
      this.#recordChanges(changes);
      this.#o.log(`Successfully registered node "${this.#o.settings.nodeName}"`);
      return;
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409)) throw e;
    }
    // Registered before: keep the default labels right (upstream's updateDefaultLabels).
    const existing = await nodes.get(this.#o.settings.nodeName);
    const want = nodeLabels(this.#o.machine, { ...this.#o.settings, labels: {} });
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(want)) if (existing.metadata.labels?.[k] !== v) labels[k] = v;
    this.#node = Object.keys(labels).length ? await nodes.patch(this.#o.settings.nodeName, 'merge', { metadata: { labels } }) : existing;
  }

  #recordChanges(changes: { type: string; event: string }[]): void {
    for (const c of changes) this.#o.events.node(this.#o.settings.nodeName, undefined, 'Normal', c.event, `Node ${this.#o.settings.nodeName} status is now: ${c.event}`);
  }

  /** Hands a new pod CIDR to the runtime; answers whether it changed. */
  #podCidrOf(node: Node): boolean {
    const cidr = node.spec?.podCIDR ?? '';
    if (!cidr || cidr === this.#podCidr) return false;
    this.#podCidr = cidr;
    this.#o.onPodCidr?.(cidr);
    return true;
  }

  /** The Node as a watch saw it: a new pod CIDR is acted on at once, not at the next status round. */
  observe(node: Node): void {
    if (this.#stopped || !this.#registered) return;
    this.#podCidrOf(node);
  }

  /** Runs the status loop's next round after ms instead of a full period (after a runtime change). */
  syncSoon(ms: number): void {
    if (this.#stopped || !this.#registered) return;
    this.#scheduleStatus(ms, true);
  }

  #statusDue = 0;
  /** Schedules the next status round; a round already due sooner stays unless force. */
  #scheduleStatus(ms: number, force = false): void {
    const due = this.#o.clock.now() + ms;
    if (!force && this.#statusDue > this.#o.clock.now() && this.#statusDue <= due) return;
    this.#statusTimer?.cancel();
    this.#statusDue = due;
    this.#statusTimer = this.#o.clock.setTimeout(() => void this.syncStatus(), ms);
  }

  /** One round of the status loop (also exported for tests and for a prompt update after a runtime change). */
  async syncStatus(): Promise<void> {
    if (this.#stopped) return;
    try {
      const nodes = this.#o.client.resource<Node>('', 'nodes');
      const current = await nodes.get(this.#o.settings.nodeName);
      const cidrChanged = this.#podCidrOf(current);
      // A runtime that just got its network config needs a moment to say so; read after it.
      const { status, changes } = await this.#status(current.status);
      const now = this.#o.clock.now();
      this.#node = current;
      if (cidrChanged || shouldReportStatus(current.status, status, this.#lastReportAt, now, this.#o.statusReportFrequencyMs)) {
        const patch = statusPatch(current.status as Record<string, unknown>, status as Record<string, unknown>, { conditions: 'type', addresses: 'type' }, NODE_OWNED);
        if (patch) this.#node = await nodes.patch(this.#o.settings.nodeName, 'strategic', { status: patch }, { subresource: 'status' });
        this.#lastReportAt = now;
        this.#recordChanges(changes);
        if (changes.some((c) => c.event === 'NodeReady')) this.#o.onReady?.();
      }
      this.#o.onNode?.(this.#node);
    } catch (e) {
      this.#o.log(`Error updating node status, will retry: ${(e as Error).message}`);
    } finally {
      if (!this.#stopped) this.#scheduleStatus(this.#o.statusUpdateFrequencyMs);
    }
  }

  async #renewLease(): Promise<void> {
    if (this.#stopped) return;
    const leases = this.#o.client.resource<Lease>('coordination.k8s.io', 'leases').namespace('kube-node-lease');
    const name = this.#o.settings.nodeName;
    const renewMs = (this.#o.leaseDurationSeconds * 1000) / 4;
    let next = renewMs;
    try {
      const now = rfc3339Micro(new Date(this.#o.clock.now()));
      const owner: OwnerReference[] | undefined = this.#node?.metadata.uid ? [{ apiVersion: 'v1', kind: 'Node', name, uid: this.#node.metadata.uid }] : undefined;
      if (!this.#lease) {
        try {
          this.#lease = await leases.get(name);
        } catch (e) {
          if (!(e instanceof StatusError && e.code === 404)) throw e;
          this.#lease = await leases.create({
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace: 'kube-node-lease', ...(owner ? { ownerReferences: owner } : {}) },
            spec: { holderIdentity: name, leaseDurationSeconds: this.#o.leaseDurationSeconds, renewTime: now },
          });
          return;
        }
      }
      const l = structuredClone(this.#lease) as Lease;
      l.spec = { ...l.spec, holderIdentity: name, leaseDurationSeconds: this.#o.leaseDurationSeconds, renewTime: now };
      if (owner && !l.metadata.ownerReferences?.length) l.metadata.ownerReferences = owner;
      try {
        this.#lease = await leases.update(l);
      } catch (e) {
        // Someone else wrote it (or it is gone): read it again next time, soon.
        this.#lease = undefined;
        next = 200;
        throw e;
      }
    } catch (e) {
      this.#o.log(`failed to renew lease kube-node-lease/${name}: ${(e as Error).message}`);
      if (next === renewMs) next = 1000;
    } finally {
      if (!this.#stopped) {
        this.#leaseTimer?.cancel();
        this.#leaseTimer = this.#o.clock.setTimeout(() => void this.#renewLease(), next);
      }
    }
  }
}

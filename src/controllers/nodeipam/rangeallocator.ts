// The node IPAM controller with upstream's range allocator (pkg/controller/nodeipam/ipam/
// range_allocator.go): every node gets spec.podCIDR and spec.podCIDRs, one subnet of
// config.nodeCidrMaskSize per cluster CIDR (config.clusterCidr, comma-separated for dual stack),
// and its subnets return to the pool when the node is deleted.
//
// State: which subnets are taken lives in memory and is rebuilt from the nodes' own podCIDRs (the
// informer's initial list is applied before any node is served). An allocation is remembered per
// node until the node shows it, so a lagging cache never makes us hand out a second subnet.
import type { KObject } from '../../api/meta.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { runWorkers, type Controller } from '../controller.ts';
import { isNotFound } from '../cluster/errors.ts';
import { recordNodeStatusChange } from '../cluster/nodes.ts';
import { CidrSet } from './cidrset.ts';

function podCIDRsOf(node: KObject): string[] {
  const spec = (node.spec ?? {}) as { podCIDR?: string; podCIDRs?: string[] };
  if (spec.podCIDRs?.length) return spec.podCIDRs;
  return spec.podCIDR ? [spec.podCIDR] : [];
}

const CIDR_UPDATE_RETRIES = 3;

export const nodeIpamController: Controller = {
  name: 'nodeipam',
  setup(ctx) {
    const sets = ctx.config.clusterCidr
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((c) => new CidrSet(c, ctx.config.nodeCidrMaskSize));
    const nodes = ctx.informers.informerFor('', 'nodes');
    const recorder = ctx.recorder('cidrAllocator');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'nodeipam' });
    /** Allocations made for nodes that do not show them yet. */
    const pending = new Map<string, string[]>();

    const setFor = (cidr: string) => sets.find((s) => s.contains(cidr));
    const occupy = (node: KObject) => {
      for (const c of podCIDRsOf(node)) {
        const s = setFor(c);
        if (s) s.occupy(c);
        else ctx.log(`nodeipam: node ${node.metadata.name} has podCIDR ${c} outside the cluster CIDR ${ctx.config.clusterCidr}`);
      }
    };
    const release = (cidrs: readonly string[]) => {
      for (const c of cidrs) setFor(c)?.release(c);
    };
    nodes.addEventHandler({
      onAdd: (n) => {
        if (podCIDRsOf(n).length) occupy(n);
        else queue.add(n.metadata.name!);
      },
      onUpdate: (_o, n) => {
        if (podCIDRsOf(n).length) {
          occupy(n);
          const p = pending.get(n.metadata.name!);
          if (p && p.join() === podCIDRsOf(n).join()) pending.delete(n.metadata.name!);
        } else queue.add(n.metadata.name!);
      },
      onDelete: (n) => {
        const name = n.metadata.name!;
        const p = pending.get(name);
        pending.delete(name);
        release(podCIDRsOf(n).length ? podCIDRsOf(n) : (p ?? []));
      },
    });
    const client = ctx.client.resource('', 'nodes');

    const sync = async (name: string): Promise<void> => {
      const node = nodes.lister().get(name);
      if (!node) {
        const p = pending.get(name);
        if (p) {
          pending.delete(name);
          release(p);
        }
        return;
      }
      if (podCIDRsOf(node).length) return;
      let cidrs = pending.get(name);
      if (!cidrs) {
        const got: string[] = [];
        try {
          for (const s of sets) got.push(s.allocateNext());
        } catch (e) {
          release(got);
          recordNodeStatusChange(recorder, { name, uid: node.metadata.uid }, 'CIDRNotAvailable');
          throw new Error(`failed to allocate cidr from cluster cidr ${ctx.config.clusterCidr}: ${(e as Error).message}`);
        }
        cidrs = got;
        pending.set(name, cidrs);
      }
      let lastErr: unknown;
      for (let i = 0; i < CIDR_UPDATE_RETRIES; i++) {
        try {
          await client.patch(name, 'strategic', { spec: { podCIDR: cidrs[0], podCIDRs: cidrs } });
          ctx.log(`nodeipam: set node ${name} podCIDRs to ${cidrs.join(',')}`);
          return;
        } catch (e) {
          lastErr = e;
          if (isNotFound(e)) break;
        }
      }
      // The node is gone or refused the subnets: give them back and retry from scratch.
      pending.delete(name);
      release(cidrs);
      if (isNotFound(lastErr)) return;
      recordNodeStatusChange(recorder, { name, uid: node.metadata.uid }, 'CIDRAssignmentFailed');
      throw lastErr;
    };
    return { run: (signal) => runWorkers(queue, 1, sync, signal, ctx.log, 'nodeipam') };
  },
};

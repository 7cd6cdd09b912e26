// The CSR approver ("csrapproving"), as upstream's pkg/controller/certificates/approver: a pending
// kubelet client request (signer kubernetes.io/kube-apiserver-client-kubelet, O=system:nodes,
// CN=system:node:<name>, no SANs, client usages) is approved when a SubjectAccessReview says its
// requester may create certificatesigningrequests/selfnodeclient (a node renewing its own, CN equal
// to the requester) or certificatesigningrequests/nodeclient (a bootstrapper joining a node). The
// default policy binds those to system:nodes and to the join tokens' group.
//
// Beyond upstream (which leaves kubelet serving requests to an administrator), a kubelet serving
// request (kubernetes.io/kubelet-serving) is approved when a node asks for itself and every name in
// it is one of the node's addresses as its Node object reports them: the names a client would use
// to reach that kubelet, and nothing else. And a node may get a client certificate
// (kubernetes.io/kube-apiserver-client) for one of its own components' identities
// (NODE_COMPONENT_USERS), as k3s's agents get a kube-proxy certificate. Requests not recognized, or
// whose review says no, are left pending for a person.
import { clone } from '../../api/meta.ts';
import type { KObject } from '../../api/meta.ts';
import { WorkQueue } from '../../client/workqueue.ts';
import { isNotFound } from '../cluster/errors.ts';
import { runWorkers, type Controller } from '../controller.ts';
import { approvalState, CSR_GROUP, CSR_PLURAL, requestPem, type Csr } from './csr.ts';
import {
  KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
  KUBE_APISERVER_CLIENT_SIGNER,
  KUBELET_SERVING_SIGNER,
  parseCsr,
  validateApiServerClientUsages,
  validateKubeletClientCsr,
  validateKubeletServingCsr,
  type ParsedCsr,
} from './x509.ts';

export const SELF_NODE_CLIENT_MESSAGE = 'Auto approving self kubelet client certificate after SubjectAccessReview.';
export const NODE_CLIENT_MESSAGE = 'Auto approving kubelet client certificate after SubjectAccessReview.';
export const KUBELET_SERVING_MESSAGE = "Auto approving kubelet serving certificate: every name is one of the node's addresses.";

/**
 * The identities a node's own components run as, which a node may get client certificates for
 * (k3s likewise gives its agents a kube-proxy certificate): the service proxy as upstream's
 * system:kube-proxy (bound to system:node-proxier by the default policy) and the cluster DNS as
 * system:kube-dns (bound by whoever grants the DNS its permissions).
 */
export const NODE_COMPONENT_USERS: readonly string[] = ['system:kube-proxy', 'system:kube-dns'];

export function nodeComponentMessage(user: string): string {
  return `Auto approving ${user} client certificate for a node's own component.`;
}

interface NodeLike extends KObject {
  status?: { addresses?: { type: string; address: string }[] };
}

/** What the approver decides about one request (pure, given a SubjectAccessReview answer). */
export type Decision = { approve: string } | { pending: string } | { ignore: true };

export interface DecisionInputs {
  csr: Csr;
  parsed: ParsedCsr;
  /** upstream's sarApprover.authorize for a subresource of certificatesigningrequests. */
  allowed(subresource: 'selfnodeclient' | 'nodeclient'): Promise<boolean>;
  /** The Node named in a serving request, when the cache has it. */
  node(name: string): NodeLike | undefined;
}

export async function decide(i: DecisionInputs): Promise<Decision> {
  const { csr, parsed } = i;
  const usages = csr.spec.usages ?? [];
  if (csr.spec.signerName === KUBE_APISERVER_CLIENT_KUBELET_SIGNER && !validateKubeletClientCsr(parsed, usages)) {
    const tried: string[] = [];
    if (csr.spec.username === parsed.commonName) {
      tried.push('selfnodeclient');
      if (await i.allowed('selfnodeclient')) return { approve: SELF_NODE_CLIENT_MESSAGE };
    }
    tried.push('nodeclient');
    if (await i.allowed('nodeclient')) return { approve: NODE_CLIENT_MESSAGE };
    return { pending: `recognized csr "${csr.metadata.name}" as [${tried.join(' ')}] but subject access review was not approved` };
  }
  if (csr.spec.signerName === KUBE_APISERVER_CLIENT_SIGNER && NODE_COMPONENT_USERS.includes(parsed.commonName)) {
    // A node asking for one of its components: no organizations, no names, client usages only.
    const plain = parsed.organizations.length === 0 && parsed.dnsNames.length + parsed.ipAddresses.length + parsed.emailAddresses.length + parsed.uris.length === 0;
    const nodeAsking = (csr.spec.groups ?? []).includes('system:nodes') && (csr.spec.username ?? '').startsWith('system:node:');
    if (!plain || !nodeAsking || validateApiServerClientUsages(usages)) return { ignore: true };
    return { approve: nodeComponentMessage(parsed.commonName) };
  }
  if (csr.spec.signerName === KUBELET_SERVING_SIGNER && !validateKubeletServingCsr(parsed, usages)) {
    if (csr.spec.username !== parsed.commonName || !(csr.spec.groups ?? []).includes('system:nodes')) return { ignore: true };
    const nodeName = parsed.commonName.slice('system:node:'.length);
    const node = i.node(nodeName);
    if (!node) return { pending: `node "${nodeName}" of csr "${csr.metadata.name}" is not registered yet` };
    const addresses = new Set((node.status?.addresses ?? []).map((a) => a.address));
    const names = [...parsed.dnsNames, ...parsed.ipAddresses];
    const foreign = names.filter((n) => !addresses.has(n));
    if (foreign.length) return { pending: `csr "${csr.metadata.name}" names ${foreign.join(', ')}, not addresses of node "${nodeName}"` };
    return { approve: KUBELET_SERVING_MESSAGE };
  }
  return { ignore: true };
}

export const csrApprovingController: Controller = {
  name: 'csrapproving',
  setup(ctx) {
    const csrs = ctx.informers.informerFor<Csr>(CSR_GROUP, CSR_PLURAL);
    const nodes = ctx.informers.informerFor<NodeLike>('', 'nodes');
    const queue = new WorkQueue<string>({ clock: ctx.clock, name: 'certificate' });
    // Serving requests wait for their node's addresses: a node change re-examines its pending ones.
    const pendingServing = new Map<string, Set<string>>();
    const enqueue = (c: Csr) => {
      if (!c.status?.certificate && !approvalState(c).approved && !approvalState(c).denied) queue.add(c.metadata.name!);
    };
    csrs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, c) => enqueue(c), onDelete: (c) => pendingServing.forEach((s) => s.delete(c.metadata.name!)) });
    const nodeChanged = (n: NodeLike) => {
      for (const name of pendingServing.get(n.metadata.name!) ?? []) queue.add(name);
    };
    nodes.addEventHandler({ onAdd: nodeChanged, onUpdate: (_o, n) => nodeChanged(n) });
    const csrClient = ctx.client.resource<Csr>(CSR_GROUP, CSR_PLURAL);
    const sars = ctx.client.resource<KObject>('authorization.k8s.io', 'subjectaccessreviews');

    const sync = async (name: string): Promise<void> => {
      const cur = csrs.lister().get(name);
      if (!cur || cur.status?.certificate) return;
      const st = approvalState(cur);
      if (st.approved || st.denied) return;
      let parsed: ParsedCsr;
      try {
        parsed = await parseCsr(requestPem(cur));
      } catch (e) {
        ctx.log(`csrapproving: unable to parse csr "${name}": ${(e as Error).message}`);
        return;
      }
      const allowed = async (subresource: string) => {
        const review = (await sars.create({
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          metadata: {},
          spec: {
            user: cur.spec.username,
            ...(cur.spec.uid ? { uid: cur.spec.uid } : {}),
            groups: cur.spec.groups,
            ...(cur.spec.extra ? { extra: cur.spec.extra } : {}),
            resourceAttributes: { group: CSR_GROUP, resource: CSR_PLURAL, verb: 'create', subresource },
          },
        } as KObject)) as KObject & { status?: { allowed?: boolean } };
        return review.status?.allowed === true;
      };
      const d = await decide({ csr: cur, parsed, allowed, node: (n) => nodes.lister().get(n) });
      if ('ignore' in d) return;
      if ('pending' in d) {
        if (cur.spec.signerName === KUBELET_SERVING_SIGNER) {
          const nodeName = parsed.commonName.slice('system:node:'.length);
          let s = pendingServing.get(nodeName);
          if (!s) pendingServing.set(nodeName, (s = new Set()));
          s.add(name);
        }
        return;
      }
      pendingServing.forEach((s) => s.delete(name));
      const next = clone(cur) as Csr;
      next.status = { ...(next.status ?? {}), conditions: [...(next.status?.conditions ?? []), { type: 'Approved', status: 'True', reason: 'AutoApproved', message: d.approve }] };
      try {
        await ctx.client.request('PUT', csrClient.path(name, 'approval'), { body: next });
      } catch (e) {
        if (isNotFound(e)) return;
        throw new Error(`error updating approval for csr: ${(e as Error).message}`);
      }
    };
    return { run: (signal) => runWorkers(queue, 1, sync, signal, ctx.log, 'csrapproving') };
  },
};

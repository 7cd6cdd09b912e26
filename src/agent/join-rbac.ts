// The authorization that makes joining work, as kubeadm sets it up at init: the join tokens' group
// may create CertificateSigningRequests (system:node-bootstrapper) and have node client
// certificates auto-approved (…:nodeclient); nodes may have their own renewals auto-approved
// (…:selfnodeclient). The ClusterRoles are upstream's defaults; these are the bindings to them.
// Created by the server at start and by `rudder token create`; creating them again is harmless.
import { RUDDER_NODE_TOKEN_GROUP } from '../api/bootstrap-token.ts';
import { StatusError } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import type { Client } from '../client/client.ts';

interface Binding {
  name: string;
  role: string;
  group: string;
}

export const NODE_JOIN_BINDINGS: readonly Binding[] = [
  { name: 'rudder:kubelet-bootstrap', role: 'system:node-bootstrapper', group: RUDDER_NODE_TOKEN_GROUP },
  { name: 'rudder:node-autoapprove-bootstrap', role: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', group: RUDDER_NODE_TOKEN_GROUP },
  { name: 'rudder:node-autoapprove-certificate-rotation', role: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', group: 'system:nodes' },
];

export function nodeJoinClusterRoleBindings(): KObject[] {
  return NODE_JOIN_BINDINGS.map((b) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: b.name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: b.role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: b.group }],
  }));
}

/** Creates the bindings that are missing (an existing one of the same name is left as it is). */
export async function ensureNodeJoinRbac(client: Client): Promise<void> {
  const crbs = client.resource('rbac.authorization.k8s.io', 'clusterrolebindings');
  for (const b of nodeJoinClusterRoleBindings()) {
    try {
      await crbs.create(b);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409)) throw e;
    }
  }
}

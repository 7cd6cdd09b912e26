// The fields of networking.k8s.io/v1 NetworkPolicy, core/v1 Pod and Namespace that policy
// enforcement reads. Objects come from informer caches: read-only.
import type { KObject } from '../api/meta.ts';
import type { LabelSelectorJSON } from '../api/labels.ts';

export interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string | null;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelectorJSON | null;
  namespaceSelector?: LabelSelectorJSON | null;
  ipBlock?: { cidr: string; except?: string[] } | null;
}

export interface NetworkPolicy extends KObject {
  spec?: {
    podSelector?: LabelSelectorJSON;
    policyTypes?: string[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface Pod extends KObject {
  spec?: {
    nodeName?: string;
    hostNetwork?: boolean;
    containers?: { name: string; ports?: ContainerPort[] }[];
    initContainers?: { name: string; ports?: ContainerPort[] }[];
  };
  status?: { phase?: string; podIP?: string; podIPs?: { ip: string }[] };
}

export type Namespace = KObject;

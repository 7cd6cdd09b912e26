// networking.k8s.io/v1 defaults, as upstream's pkg/apis/networking/v1/defaults.go.

import { register } from '../validation/registry.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);

/**
 * SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort: ports default to TCP; without
 * policyTypes a policy is an Ingress policy, and an Egress one too when it has egress rules.
 */
export function defaultNetworkPolicy(np: Json): void {
  if (np.spec == null || typeof np.spec !== 'object') np.spec = {};
  const spec = np.spec;
  for (const rule of [...arr(spec.ingress), ...arr(spec.egress)]) {
    for (const port of arr(rule?.ports)) {
      if (port && typeof port === 'object' && port.protocol == null) port.protocol = 'TCP';
    }
  }
  if (arr(spec.policyTypes).length === 0) {
    spec.policyTypes = arr(spec.egress).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
}

/** SetDefaults_IngressClass: a parameters reference is cluster-scoped unless it says otherwise. */
export function defaultIngressClass(ic: Json): void {
  const params = ic.spec?.parameters;
  if (params && typeof params === 'object' && params.scope == null) params.scope = 'Cluster';
}

register('networking.k8s.io/NetworkPolicy', { defaults: defaultNetworkPolicy });
register('networking.k8s.io/IngressClass', { defaults: defaultIngressClass });

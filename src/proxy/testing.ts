// Builders for Services and EndpointSlices in the shapes the API serves them, for the proxy's tests
// and benchmark.
import type { Endpoint, EndpointSlice, Service, ServicePort } from './types.ts';

export function service(name: string, spec: NonNullable<Service['spec']>, o: { namespace?: string; lbIngress?: { ip: string; ipMode?: string }[] } = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: o.namespace ?? 'default', name },
    spec: { type: 'ClusterIP', sessionAffinity: 'None', ...spec },
    status: { loadBalancer: o.lbIngress ? { ingress: o.lbIngress } : {} },
  };
}

export function port(p: number, o: Partial<ServicePort> = {}): ServicePort {
  return { name: 'http', protocol: 'TCP', port: p, ...o };
}

export interface EndpointOpts {
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zone?: string;
  zoneHints?: string[];
}

export function endpoint(ip: string, o: EndpointOpts = {}): Endpoint {
  const ready = o.ready ?? true;
  return {
    addresses: [ip],
    conditions: { ready, serving: o.serving ?? ready, terminating: o.terminating ?? false },
    nodeName: o.node,
    zone: o.zone,
    hints: o.zoneHints ? { forZones: o.zoneHints.map((name) => ({ name })) } : undefined,
  };
}

export function slice(serviceName: string, endpoints: Endpoint[], ports: { name?: string; port: number; protocol?: string }[] = [{ name: 'http', port: 8080 }], o: { namespace?: string; name?: string } = {}): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: o.namespace ?? 'default', name: o.name ?? `${serviceName}-abcde`, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints,
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}

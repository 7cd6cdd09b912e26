// discovery.k8s.io/v1 defaults, as upstream's pkg/apis/discovery/v1/defaults.go: every port
// gets a name ("") and a protocol (TCP).

import { register } from '../validation/registry.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export function defaultEndpointSlice(slice: Json): void {
  for (const port of Array.isArray(slice.ports) ? slice.ports : []) {
    if (!port || typeof port !== 'object') continue;
    if (port.name == null) port.name = '';
    if (port.protocol == null) port.protocol = 'TCP';
  }
}

register('discovery.k8s.io/EndpointSlice', { defaults: defaultEndpointSlice });

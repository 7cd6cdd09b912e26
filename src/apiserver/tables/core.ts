// Tables of the core (v1) group, after upstream's pkg/printers/internalversion.

import { parseTimestamp, since } from './duration.ts';
import { AGE, col, CONTAINERS, IMAGES, NAME, SELECTOR, WIDE } from './columns.ts';
import {
  accessModes,
  arr,
  containerCells,
  countKeys,
  formatLabels,
  int,
  obj,
  quantity,
  str,
  strings,
  type Obj,
} from './format.ts';
import { podConditions, podSummary, podWideCells } from './pod.ts';
import type { TableSpec } from './types.ts';

const name = (o: Obj): string => str(obj(o.metadata).name);
const age = (o: Obj, now: Date): string => since(obj(o.metadata).creationTimestamp, now);

export const pods: TableSpec = {
  columns: [
    NAME,
    col('Ready', 'Ready containers out of all containers.'),
    col('Status', 'Summary of the pod phase and the states of its containers.'),
    col('Restarts', 'Container restarts, and how long ago the last one was.'),
    AGE,
    col('IP', "The pod's first IP address.", WIDE),
    col('Node', 'The node the pod is bound to.', WIDE),
    col('Nominated Node', 'The node preemption nominated for the pod.', WIDE),
    col('Readiness Gates', 'Readiness gates met out of all readiness gates.', WIDE),
  ],
  cells(o, now) {
    const s = podSummary(o, now);
    return [name(obj(o)), s.ready, s.status, s.restarts, age(obj(o), now), ...podWideCells(o)];
  },
  conditions: podConditions,
};

export const podTemplates: TableSpec = {
  columns: [
    NAME,
    col('Containers', 'Names of the containers in the template.'),
    col('Images', 'Images of the containers in the template.'),
    col('Pod Labels', 'Labels of the pod template.'),
  ],
  cells(o) {
    const t = obj(obj(o).template);
    return [name(obj(o)), ...containerCells(t.spec), formatLabels(obj(t.metadata).labels)];
  },
};

/** Replicas as upstream's internal objects hold them: defaulted to 1 when unset. */
export function replicas(spec: Obj): number {
  return typeof spec.replicas === 'number' ? Math.trunc(spec.replicas) : 1;
}

export const replicationControllers: TableSpec = {
  columns: [
    NAME,
    col('Desired', 'Replicas wanted.', { type: 'integer' }),
    col('Current', 'Replicas that exist.', { type: 'integer' }),
    col('Ready', 'Replicas that are ready.', { type: 'integer' }),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const status = obj(x.status);
    return [
      name(x),
      replicas(spec),
      int(status.replicas),
      int(status.readyReplicas),
      age(x, now),
      ...containerCells(obj(spec.template).spec),
      formatLabels(spec.selector),
    ];
  },
};

/** net.JoinHostPort: IPv6 addresses in brackets. */
function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** upstream's formatEndpoints with all ports: up to three address:port pairs, then "+ N more...". */
function formatEndpoints(e: Obj): string {
  const subsets = arr(e.subsets);
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addresses = arr(ss.addresses);
    const ports = arr(ss.ports);
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a.ip));
      }
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(hostPort(str(a.ip), int(p.port)));
      }
    }
  }
  const joined = list.join(',');
  return more ? `${joined} + ${count - max} more...` : joined;
}

export const endpoints: TableSpec = {
  columns: [NAME, col('Endpoints', 'Ready and not-ready addresses with their ports.'), AGE],
  cells(o, now) {
    return [name(obj(o)), formatEndpoints(obj(o)), age(obj(o), now)];
  },
};

/** The load balancer's ingress points, sorted and de-duplicated (IP, else hostname). */
export function loadBalancerIngress(lb: unknown): string {
  const seen = new Set<string>();
  for (const i of arr(obj(lb).ingress)) {
    const v = str(i.ip) || str(i.hostname);
    if (v) seen.add(v);
  }
  return [...seen].sort().join(',');
}

/** upstream's getServiceExternalIP, wide (the apiserver always prints wide, so nothing is clipped). */
function serviceExternalIP(svc: Obj): string {
  const spec = obj(svc.spec);
  const externalIPs = strings(spec.externalIPs);
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIngress(obj(svc.status).loadBalancer);
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

function servicePorts(ports: unknown): string {
  return arr(ports)
    .map((p) => {
      const nodePort = int(p.nodePort);
      return nodePort > 0 ? `${int(p.port)}:${nodePort}/${str(p.protocol)}` : `${int(p.port)}/${str(p.protocol)}`;
    })
    .join(',');
}

export const services: TableSpec = {
  columns: [
    NAME,
    col('Type', 'How the service is exposed.'),
    col('Cluster-IP', "The service's cluster IP address."),
    col('External-IP', 'Addresses the service is reachable at from outside the cluster.'),
    col('Port(s)', 'Service ports, with node ports, and protocols.'),
    AGE,
    col('Selector', 'Labels of the pods the service sends traffic to.', WIDE),
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const clusterIPs = strings(spec.clusterIPs);
    return [
      name(x),
      str(spec.type),
      clusterIPs[0] || '<none>',
      serviceExternalIP(x),
      servicePorts(spec.ports) || '<none>',
      age(x, now),
      formatLabels(spec.selector),
    ];
  },
};

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';

/** Roles from node-role.kubernetes.io/<role> label keys and the kubernetes.io/role value, sorted. */
function nodeRoles(labels: unknown): string[] {
  const roles = new Set<string>();
  const l = obj(labels);
  for (const k of Object.keys(l)) {
    if (k.startsWith(NODE_ROLE_PREFIX)) {
      const role = k.slice(NODE_ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && str(l[k])) {
      roles.add(str(l[k]));
    }
  }
  return [...roles].sort();
}

function nodeAddress(status: Obj, type: string): string {
  for (const a of arr(status.addresses)) if (a.type === type) return str(a.address);
  return '<none>';
}

export const nodes: TableSpec = {
  columns: [
    NAME,
    col('Status', 'Readiness, and whether scheduling is disabled.'),
    col('Roles', "Roles from the node's role labels."),
    AGE,
    col('Version', "The kubelet's version."),
    col('Internal-IP', "The node's first internal IP address.", WIDE),
    col('External-IP', "The node's first external IP address.", WIDE),
    col('OS-Image', 'The operating system image.', WIDE),
    col('Kernel-Version', 'The kernel version.', WIDE),
    col('Container-Runtime', 'The container runtime and its version.', WIDE),
  ],
  cells(o, now) {
    const x = obj(o);
    const status = obj(x.status);
    const info = obj(status.nodeInfo);
    // A later condition of the same type replaces an earlier one, as upstream's map does.
    let ready: string | undefined;
    for (const c of arr(status.conditions)) if (c.type === 'Ready') ready = c.status === 'True' ? 'Ready' : 'NotReady';
    const states = [ready ?? 'Unknown'];
    if (obj(x.spec).unschedulable === true) states.push('SchedulingDisabled');
    return [
      name(x),
      states.join(','),
      nodeRoles(obj(x.metadata).labels).join(',') || '<none>',
      age(x, now),
      str(info.kubeletVersion),
      nodeAddress(status, 'InternalIP'),
      nodeAddress(status, 'ExternalIP'),
      str(info.osImage) || '<unknown>',
      str(info.kernelVersion) || '<unknown>',
      str(info.containerRuntimeVersion) || '<unknown>',
    ];
  },
};

/** An events.k8s.io/v1 Event in core/v1 field names, as upstream converts both to one internal type. */
export function coreEvent(o: unknown): Obj {
  const x = obj(o);
  if (!str(x.apiVersion).startsWith('events.k8s.io/')) return x;
  return {
    metadata: x.metadata,
    involvedObject: x.regarding,
    reason: x.reason,
    message: x.note,
    source: x.deprecatedSource,
    firstTimestamp: x.deprecatedFirstTimestamp,
    lastTimestamp: x.deprecatedLastTimestamp,
    count: x.deprecatedCount,
    type: x.type,
    eventTime: x.eventTime,
    series: x.series,
    reportingComponent: x.reportingController,
    reportingInstance: x.reportingInstance,
  };
}

/** upstream's formatEventSource: component (else reporting controller), then ", host" if any. */
function eventSource(e: Obj): string {
  const source = obj(e.source);
  const component = str(source.component) || str(e.reportingComponent);
  const host = str(source.host) || str(e.reportingInstance);
  return host ? `${component}, ${host}` : component;
}

export const events: TableSpec = {
  columns: [
    col('Last Seen', 'Time since the event last occurred.'),
    col('Type', 'Normal or Warning.'),
    col('Reason', 'Why the event happened, in one word.'),
    col('Object', 'The object the event is about.'),
    col('Subobject', 'The part of the object the event is about.', WIDE),
    col('Source', 'The component, and host, that reported the event.', WIDE),
    col('Message', 'What happened.'),
    col('First Seen', 'Time since the event first occurred.', WIDE),
    col('Count', 'How many times the event occurred.', WIDE),
    col('Name', 'Name of the event.', { format: 'name', priority: 1 }),
  ],
  cells(o, now) {
    const e = coreEvent(o);
    const first = parseTimestamp(e.firstTimestamp) !== undefined ? since(e.firstTimestamp, now) : since(e.eventTime, now);
    let last = parseTimestamp(e.lastTimestamp) !== undefined ? since(e.lastTimestamp, now) : first;
    let count = int(e.count);
    const series = e.series ? obj(e.series) : undefined;
    if (series) {
      last = since(series.lastObservedTime, now);
      count = int(series.count);
    } else if (count === 0) {
      // Events of the newer API that happened once carry no count.
      count = 1;
    }
    const involved = obj(e.involvedObject);
    const kind = str(involved.kind).toLowerCase();
    const target = str(involved.name) ? `${kind}/${str(involved.name)}` : kind;
    return [
      last,
      str(e.type),
      str(e.reason),
      target,
      str(involved.fieldPath),
      eventSource(e),
      str(e.message).trim(),
      first,
      count,
      name(e),
    ];
  },
};

export const namespaces: TableSpec = {
  columns: [NAME, col('Status', 'Active or Terminating.'), AGE],
  cells(o, now) {
    const x = obj(o);
    return [name(x), str(obj(x.status).phase), age(x, now)];
  },
};

export const configMaps: TableSpec = {
  columns: [NAME, col('Data', 'Number of keys, text and binary.'), AGE],
  cells(o, now) {
    const x = obj(o);
    return [name(x), countKeys(x.data) + countKeys(x.binaryData), age(x, now)];
  },
};

export const secrets: TableSpec = {
  columns: [NAME, col('Type', "The secret's type."), col('Data', 'Number of keys.'), AGE],
  cells(o, now) {
    const x = obj(o);
    return [name(x), str(x.type), countKeys(x.data), age(x, now)];
  },
};

export const serviceAccounts: TableSpec = {
  columns: [NAME, col('Secrets', 'Number of secrets listed in the account.'), AGE],
  cells(o, now) {
    const x = obj(o);
    return [name(x), arr(x.secrets).length, age(x, now)];
  },
};

/** helper.GetPersistentVolumeClass / GetPersistentVolumeClaimClass: the beta annotation wins. */
function storageClassOf(x: Obj): string {
  const beta = str(obj(obj(x.metadata).annotations)['volume.beta.kubernetes.io/storage-class']);
  return beta || str(obj(x.spec).storageClassName);
}

const terminatingPhase = (x: Obj): string =>
  obj(x.metadata).deletionTimestamp != null ? 'Terminating' : str(obj(x.status).phase);

export const persistentVolumes: TableSpec = {
  columns: [
    NAME,
    col('Capacity', 'Storage capacity.'),
    col('Access Modes', 'RWO, ROX, RWX, RWOP.'),
    col('Reclaim Policy', 'What happens to the volume when its claim goes.'),
    col('Status', "The volume's phase."),
    col('Claim', 'The claim bound to the volume.'),
    col('StorageClass', "The volume's storage class."),
    col('VolumeAttributesClass', "The volume's attributes class."),
    col('Reason', 'Why the volume is in its phase.'),
    AGE,
    col('VolumeMode', 'Filesystem or Block.', WIDE),
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const claim = spec.claimRef ? `${str(obj(spec.claimRef).namespace)}/${str(obj(spec.claimRef).name)}` : '';
    return [
      name(x),
      quantity(obj(spec.capacity).storage),
      accessModes(spec.accessModes),
      str(spec.persistentVolumeReclaimPolicy),
      terminatingPhase(x),
      claim,
      storageClassOf(x),
      typeof spec.volumeAttributesClassName === 'string' ? spec.volumeAttributesClassName : '<unset>',
      str(obj(x.status).reason),
      age(x, now),
      typeof spec.volumeMode === 'string' ? spec.volumeMode : '<unset>',
    ];
  },
};

export const persistentVolumeClaims: TableSpec = {
  columns: [
    NAME,
    col('Status', "The claim's phase."),
    col('Volume', 'The volume bound to the claim.'),
    col('Capacity', 'Capacity of the bound volume.'),
    col('Access Modes', 'Access modes of the bound volume.'),
    col('StorageClass', "The claim's storage class."),
    col('VolumeAttributesClass', "The claim's attributes class."),
    AGE,
    col('VolumeMode', 'Filesystem or Block.', WIDE),
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    const status = obj(x.status);
    const bound = str(spec.volumeName) !== '';
    return [
      name(x),
      terminatingPhase(x),
      str(spec.volumeName),
      bound ? quantity(obj(status.capacity).storage) : '',
      bound ? accessModes(status.accessModes) : '',
      storageClassOf(x),
      typeof spec.volumeAttributesClassName === 'string' ? spec.volumeAttributesClassName : '<unset>',
      age(x, now),
      typeof spec.volumeMode === 'string' ? spec.volumeMode : '<unset>',
    ];
  },
};

export const componentStatuses: TableSpec = {
  columns: [
    NAME,
    col('Status', 'Healthy, Unhealthy or Unknown.'),
    col('Message', "The health check's message."),
    col('Error', "The health check's error."),
  ],
  cells(o) {
    const x = obj(o);
    for (const c of arr(x.conditions)) {
      if (c.type === 'Healthy') {
        return [name(x), c.status === 'True' ? 'Healthy' : 'Unhealthy', str(c.message), str(c.error)];
      }
    }
    return [name(x), 'Unknown', '', ''];
  },
};

/** The quantities of a quota, requests and limits apart: "cpu: 100m/1, pods: 2/10". */
function quotaColumns(status: Obj): [string, string] {
  const hard = obj(status.hard);
  const used = obj(status.used);
  const requests: string[] = [];
  const limits: string[] = [];
  for (const r of Object.keys(hard).sort()) {
    const pieces = r.split('.');
    const text = `${r}: ${quantity(used[r])}/${quantity(hard[r])}`;
    (pieces.length > 1 && pieces[0] === 'limits' ? limits : requests).push(text);
  }
  return [requests.join(', '), limits.join(', ')];
}

export const resourceQuotas: TableSpec = {
  columns: [
    NAME,
    col('Request', 'Used out of hard quota, for all but limits.'),
    col('Limit', 'Used out of hard quota, for limits.'),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    return [name(x), ...quotaColumns(obj(x.status)), age(x, now)];
  },
};

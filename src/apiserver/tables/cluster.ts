// Tables of the networking, discovery, rbac, storage, scheduling, node, certificates and
// coordination groups.

import { humanDuration, since } from './duration.ts';
import { AGE, col, NAME, WIDE } from './columns.ts';
import { loadBalancerIngress } from './core.ts';
import { arr, formatLabelSelector, int, listWithMore, obj, quantity, str, strings, type Obj } from './format.ts';
import type { TableSpec } from './types.ts';

const name = (o: Obj): string => str(obj(o.metadata).name);
const age = (o: Obj, now: Date): string => since(obj(o.metadata).creationTimestamp, now);

/** upstream's formatHosts: up to three rule hosts, "*" when no rule names one. */
function ingressHosts(rules: Obj[]): string {
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const r of rules) {
    if (list.length === max) more = true;
    if (!more && str(r.host)) list.push(str(r.host));
  }
  if (list.length === 0) return '*';
  return more ? `${list.join(',')} + ${rules.length - max} more...` : list.join(',');
}

export const ingresses: TableSpec = {
  columns: [
    NAME,
    col('Class', 'The ingress class.'),
    col('Hosts', 'Hosts the rules match.'),
    col('Address', 'Where the load balancer receives traffic.'),
    col('Ports', 'Ports the ingress serves on.'),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    return [
      name(x),
      typeof spec.ingressClassName === 'string' ? spec.ingressClassName : '<none>',
      ingressHosts(arr(spec.rules)),
      loadBalancerIngress(obj(x.status).loadBalancer),
      arr(spec.tls).length > 0 ? '80, 443' : '80',
      age(x, now),
    ];
  },
};

export const ingressClasses: TableSpec = {
  columns: [NAME, col('Controller', 'The controller that implements the class.'), col('Parameters', "The object holding the class's parameters."), AGE],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    let parameters = '<none>';
    if (spec.parameters) {
      const p = obj(spec.parameters);
      parameters = str(p.kind);
      if (typeof p.apiGroup === 'string') parameters += '.' + p.apiGroup;
      parameters += '/' + str(p.name);
    }
    return [name(x), str(spec.controller), parameters, age(x, now)];
  },
};

export const networkPolicies: TableSpec = {
  columns: [NAME, col('Pod-Selector', 'The pods the policy applies to.'), AGE],
  cells(o, now) {
    const x = obj(o);
    return [name(x), formatLabelSelector(obj(x.spec).podSelector), age(x, now)];
  },
};

export const endpointSlices: TableSpec = {
  columns: [
    NAME,
    col('AddressType', 'IPv4, IPv6 or FQDN.'),
    col('Ports', "The slice's ports."),
    col('Endpoints', "The slice's addresses."),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    const ports = arr(x.ports).map((p) => (typeof p.port === 'number' ? String(int(p.port)) : typeof p.name === 'string' ? p.name : '*'));
    const addresses = arr(x.endpoints).flatMap((e) => strings(e.addresses));
    return [name(x), str(x.addressType), listWithMore(ports), listWithMore(addresses), age(x, now)];
  },
};

/** rbac.SubjectsStrings: users, groups and namespace/name service accounts, each joined by ", ". */
function subjects(x: Obj): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of arr(x.subjects)) {
    if (s.kind === 'User') users.push(str(s.name));
    else if (s.kind === 'Group') groups.push(str(s.name));
    else if (s.kind === 'ServiceAccount') sas.push(`${str(s.namespace)}/${str(s.name)}`);
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}

function bindingTable(what: string): TableSpec {
  return {
    columns: [
      NAME,
      col('Role', 'The bound role, as kind/name.'),
      AGE,
      col('Users', `Users in the ${what}.`, WIDE),
      col('Groups', `Groups in the ${what}.`, WIDE),
      col('ServiceAccounts', `Service accounts in the ${what}.`, WIDE),
    ],
    cells(o, now) {
      const x = obj(o);
      const ref = obj(x.roleRef);
      return [name(x), `${str(ref.kind)}/${str(ref.name)}`, age(x, now), ...subjects(x)];
    },
  };
}

export const roleBindings = bindingTable('binding');
export const clusterRoleBindings = bindingTable('cluster binding');

/** upstream's extractCSRStatus: Denied, Approved or Pending, then ",Failed" and ",Issued". */
function csrCondition(x: Obj): string {
  const status = obj(x.status);
  const types = new Set(arr(status.conditions).map((c) => str(c.type)));
  let s = types.has('Denied') ? 'Denied' : types.has('Approved') ? 'Approved' : 'Pending';
  if (types.has('Failed')) s += ',Failed';
  if (str(status.certificate)) s += ',Issued';
  return s;
}

export const certificateSigningRequests: TableSpec = {
  columns: [
    NAME,
    AGE,
    col('SignerName', 'The signer asked to sign.'),
    col('Requestor', 'The user who made the request.'),
    col('RequestedDuration', 'The validity asked for.'),
    col('Condition', 'Approval state, and whether a certificate was issued.'),
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    return [
      name(x),
      age(x, now),
      str(spec.signerName) || '<none>',
      str(spec.username),
      typeof spec.expirationSeconds === 'number' ? humanDuration(int(spec.expirationSeconds) * 1000) : '<none>',
      csrCondition(x),
    ];
  },
};

export const leases: TableSpec = {
  columns: [NAME, col('Holder', 'Who holds the lease.'), AGE],
  cells(o, now) {
    const x = obj(o);
    return [name(x), str(obj(x.spec).holderIdentity), age(x, now)];
  },
};

function isDefaultClass(x: Obj): boolean {
  const a = obj(obj(x.metadata).annotations);
  return a['storageclass.kubernetes.io/is-default-class'] === 'true' || a['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
}

export const storageClasses: TableSpec = {
  columns: [
    NAME,
    col('Provisioner', 'The volume plugin that provisions volumes.'),
    col('ReclaimPolicy', 'What happens to provisioned volumes when released.'),
    col('VolumeBindingMode', 'When volumes are bound and provisioned.'),
    col('AllowVolumeExpansion', 'Whether volumes may grow.'),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    return [
      name(x) + (isDefaultClass(x) ? ' (default)' : ''),
      str(x.provisioner),
      typeof x.reclaimPolicy === 'string' ? x.reclaimPolicy : 'Delete',
      typeof x.volumeBindingMode === 'string' ? x.volumeBindingMode : 'Immediate',
      x.allowVolumeExpansion === true,
      age(x, now),
    ];
  },
};

export const volumeAttachments: TableSpec = {
  columns: [
    NAME,
    col('Attacher', 'The attaching driver.', { format: 'name' }),
    col('PV', 'The persistent volume to attach.'),
    col('Node', 'The node to attach to.'),
    col('Attached', 'Whether the volume is attached.', { type: 'boolean' }),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    return [
      name(x),
      str(spec.attacher),
      str(obj(spec.source).persistentVolumeName),
      str(spec.nodeName),
      obj(x.status).attached === true,
      age(x, now),
    ];
  },
};

export const csiNodes: TableSpec = {
  columns: [NAME, col('Drivers', 'CSI drivers registered on the node.', { type: 'integer' }), AGE],
  cells(o, now) {
    const x = obj(o);
    return [name(x), arr(obj(x.spec).drivers).length, age(x, now)];
  },
};

const flag = (v: unknown, dflt: boolean): boolean => (typeof v === 'boolean' ? v : dflt);

export const csiDrivers: TableSpec = {
  columns: [
    NAME,
    col('AttachRequired', 'Whether volumes need an attach step.', { type: 'boolean' }),
    col('PodInfoOnMount', 'Whether pod details are passed on mount.', { type: 'boolean' }),
    col('StorageCapacity', 'Whether the driver reports capacity.', { type: 'boolean' }),
    col('TokenRequests', 'Audiences of the service account tokens passed on mount.'),
    col('RequiresRepublish', 'Whether volumes are mounted again periodically.', { type: 'boolean' }),
    col('Modes', 'Persistent and/or Ephemeral.'),
    AGE,
  ],
  cells(o, now) {
    const x = obj(o);
    const spec = obj(x.spec);
    return [
      name(x),
      flag(spec.attachRequired, true),
      flag(spec.podInfoOnMount, false),
      flag(spec.storageCapacity, false),
      Array.isArray(spec.tokenRequests) ? arr(spec.tokenRequests).map((t) => str(t.audience)).join(',') : '<unset>',
      flag(spec.requiresRepublish, false),
      strings(spec.volumeLifecycleModes).join(',') || '<none>',
      age(x, now),
    ];
  },
};

export const csiStorageCapacities: TableSpec = {
  columns: [NAME, col('StorageClassName', 'The storage class the capacity is for.'), col('Capacity', 'The capacity available.')],
  cells(o) {
    const x = obj(o);
    return [name(x), str(x.storageClassName), x.capacity != null ? quantity(x.capacity) : '<unset>'];
  },
};

export const priorityClasses: TableSpec = {
  columns: [
    NAME,
    col('Value', 'The priority.', { type: 'integer' }),
    col('Global-Default', 'Whether pods without a class get this one.', { type: 'boolean' }),
    AGE,
    col('PreemptionPolicy', 'Whether pods of this class preempt others.'),
  ],
  cells(o, now) {
    const x = obj(o);
    return [name(x), int(x.value), x.globalDefault === true, age(x, now), str(x.preemptionPolicy)];
  },
};

export const runtimeClasses: TableSpec = {
  columns: [NAME, col('Handler', 'The container runtime handler.'), AGE],
  cells(o, now) {
    const x = obj(o);
    return [name(x), str(x.handler), age(x, now)];
  },
};

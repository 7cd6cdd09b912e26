// Test and benchmark support: real watch-cache ResourceCaches for the RBAC kinds, fed with
// objects as the store would feed them, so the authorizers run over the same cache code the
// server uses without a store.
import type { KObject } from '../../api/meta.ts';
import { ResourceCache } from '../cache.ts';
import type { RbacCaches } from './rbac.ts';

const decode = (_key: string, value: Uint8Array, rev: number): KObject => {
  const o = JSON.parse(Buffer.from(value).toString('utf8')) as KObject;
  o.metadata.resourceVersion = String(rev);
  return o;
};

export class FedCache extends ResourceCache {
  private fedRev = 0;

  constructor(prefix: string, namespaced: boolean) {
    super(prefix, namespaced, 0, decode);
  }

  keyOf(o: KObject): string {
    return this.namespaced ? `${this.prefix}${o.metadata.namespace}/${o.metadata.name}` : `${this.prefix}${o.metadata.name}`;
  }

  putObject(o: KObject): void {
    const value = Buffer.from(JSON.stringify(o));
    this.apply({ type: 'PUT', kv: { key: this.keyOf(o), value, createRevision: ++this.fedRev, modRevision: this.fedRev } });
  }

  deleteObject(o: KObject): void {
    const key = this.keyOf(o);
    const prev = this.get(key);
    if (!prev) return;
    const value = Buffer.from(JSON.stringify(prev.obj));
    this.apply({ type: 'DELETE', kv: { key, value, createRevision: prev.rev, modRevision: ++this.fedRev }, prevKv: { key, value, createRevision: prev.rev, modRevision: prev.rev } });
  }
}

export interface FedRbacCaches extends RbacCaches {
  roles: FedCache;
  roleBindings: FedCache;
  clusterRoles: FedCache;
  clusterRoleBindings: FedCache;
  /** Puts an object into the cache of its kind. */
  put(o: KObject): void;
  remove(o: KObject): void;
}

export function fedRbacCaches(): FedRbacCaches {
  const c = {
    roles: new FedCache('/registry/roles/', true),
    roleBindings: new FedCache('/registry/rolebindings/', true),
    clusterRoles: new FedCache('/registry/clusterroles/', false),
    clusterRoleBindings: new FedCache('/registry/clusterrolebindings/', false),
  };
  const of = (o: KObject): FedCache => {
    switch (o.kind) {
      case 'Role':
        return c.roles;
      case 'RoleBinding':
        return c.roleBindings;
      case 'ClusterRole':
        return c.clusterRoles;
      case 'ClusterRoleBinding':
        return c.clusterRoleBindings;
    }
    throw new Error(`not an RBAC kind: ${o.kind}`);
  };
  return { ...c, put: (o) => of(o).putObject(o), remove: (o) => of(o).deleteObject(o) };
}

const RBAC = 'rbac.authorization.k8s.io/v1';

export function clusterRole(name: string, rules: unknown[], labels?: Record<string, string>): KObject {
  return { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name, ...(labels ? { labels } : {}) }, rules } as KObject;
}

export function role(namespace: string, name: string, rules: unknown[]): KObject {
  return { apiVersion: RBAC, kind: 'Role', metadata: { name, namespace }, rules } as KObject;
}

export type SubjectSpec = { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string };

export function clusterRoleBinding(name: string, roleName: string, subjects: SubjectSpec[]): KObject {
  return { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName }, subjects } as KObject;
}

export function roleBinding(namespace: string, name: string, roleKind: 'Role' | 'ClusterRole', roleName: string, subjects: SubjectSpec[]): KObject {
  return { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name, namespace }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: roleName }, subjects } as KObject;
}

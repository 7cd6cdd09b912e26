// Test support: objects the API server's admission expects before pods can be created (the
// ServiceAccount admission plugin refuses pods whose service account does not exist yet; in a
// full cluster the serviceaccount controller creates `default`).
import type { Client } from '../../client/client.ts';
import { isAlreadyExists } from './errors.ts';

export async function ensureServiceAccount(client: Client, namespace = 'default', name = 'default'): Promise<void> {
  try {
    await client.resource('', 'serviceaccounts').namespace(namespace).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/**
 * The default RBAC policy does not (yet) let the local-path provisioner's identity create its
 * StorageClass (it runs as kube-system:persistent-volume-binder, whose upstream role only reads
 * classes); tests grant that one verb as the cluster's policy should.
 */
export async function grantLocalPathClassCreation(client: Client): Promise<void> {
  const name = 'rudder:local-path-provisioner:storageclasses';
  try {
    await client.resource('rbac.authorization.k8s.io', 'clusterroles').create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules: [{ apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['create'] }],
    });
    await client.resource('rbac.authorization.k8s.io', 'clusterrolebindings').create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', namespace: 'kube-system', name: 'persistent-volume-binder' }],
    });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

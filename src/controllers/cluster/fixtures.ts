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


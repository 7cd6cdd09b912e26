// Writing a controller's status with optimistic concurrency: PUT the status subresource on the
// object as read, and on a conflict read it again and retry (upstream's RetryOnConflict around
// UpdateStatus), so a status write never clobbers a newer spec.
import { StatusError } from '../../api/errors.ts';
import { clone, type KObject } from '../../api/meta.ts';
import type { ResourceClient } from '../../client/client.ts';

/**
 * Sets `status` (computed by `make` from the object as currently stored) and writes it;
 * answers the stored object. `make` answering undefined means nothing to write.
 */
export async function updateStatusWithRetry<T extends KObject>(client: ResourceClient<T>, obj: T, make: (cur: T) => unknown, attempts = 5): Promise<T> {
  let cur = obj;
  for (let i = 0; ; i++) {
    const status = make(cur);
    if (status === undefined) return cur;
    const body = clone(cur) as T & { status?: unknown };
    body.status = status;
    try {
      return await client.updateStatus(body);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409) || i + 1 >= attempts) throw e;
      cur = await client.get(obj.metadata.name!);
      if (cur.metadata.uid !== obj.metadata.uid) throw e;
    }
  }
}

// DefaultBinder: binds through the API (POST pods/NAME/binding), via the handle's PodBinder.

import type { BindPlugin, Handle } from '../framework/interfaces.ts';
import { Status } from '../status.ts';
import { DefaultBinder as Name } from './names.ts';

export function newDefaultBinder(_args: unknown, handle: Handle): BindPlugin {
  return {
    name: Name,
    async bind(_state, pod, nodeName, signal) {
      if (!handle.binder) return Status.error('no binder configured');
      await handle.binder.bind(pod.pod, nodeName, signal);
      return null;
    },
  };
}

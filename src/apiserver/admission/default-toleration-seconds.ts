// The DefaultTolerationSeconds admission plugin, as upstream's: a pod that does not already
// tolerate the node lifecycle's NoExecute taints gets tolerations for
// node.kubernetes.io/not-ready and node.kubernetes.io/unreachable that last the server's
// --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds (300 each by
// default), so its eviction from a failed node waits that long. On create and update of pods.
import type { AdmissionPlugin } from '../registry.ts';
import { isPodCreateOrUpdate, type Json } from './common.ts';

export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';

export interface DefaultTolerationSecondsOptions {
  notReadySeconds?: number;
  unreachableSeconds?: number;
}

export function defaultTolerationSeconds(opts: DefaultTolerationSecondsOptions = {}): AdmissionPlugin {
  const notReady = opts.notReadySeconds ?? 300;
  const unreachable = opts.unreachableSeconds ?? 300;
  return {
    name: 'DefaultTolerationSeconds',
    admit(a) {
      if ((a.operation !== 'CREATE' && a.operation !== 'UPDATE') || !isPodCreateOrUpdate(a)) return;
      const spec = ((a.object as Json).spec ??= {});
      const tolerations: Json[] = spec.tolerations ?? [];
      // An empty key tolerates every taint, an empty effect every effect.
      const tolerates = (key: string) =>
        tolerations.some((t) => (!t?.key || t.key === key) && (!t?.effect || t.effect === 'NoExecute'));
      const add: Json[] = [];
      if (!tolerates(TAINT_NODE_NOT_READY)) add.push({ key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: notReady });
      if (!tolerates(TAINT_NODE_UNREACHABLE)) add.push({ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: unreachable });
      if (add.length) spec.tolerations = [...tolerations, ...add];
    },
  };
}

// ImageLocality: prefers nodes that already have the pod's images, weighted by image size and
// by how widely the image is spread (so one node holding a popular image does not attract
// everything). Upstream's thresholds: 23 MiB to 1000 MiB per container.

import type { Handle, PreScorePlugin, ScorePlugin } from '../framework/interfaces.ts';
import { Code, Status } from '../status.ts';
import { MAX_NODE_SCORE } from '../framework/interfaces.ts';
import type { NodeInfo } from '../nodeinfo.ts';
import type { Pod } from '../types.ts';
import { ImageLocality as Name } from './names.ts';

const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** An image reference without a tag or digest means :latest (upstream's normalizedImageName). */
export function normalizedImageName(name: string): string {
  if (name.lastIndexOf(':') <= name.lastIndexOf('/')) return name + ':latest';
  return name;
}

function sumImageScores(ni: NodeInfo, pod: Pod, totalNodes: number): number {
  let sum = 0;
  const visit = (image: string | undefined) => {
    if (!image) return;
    const st = ni.imageStates.get(normalizedImageName(image));
    if (st) sum += Math.trunc(st.size * (st.nodes.size / totalNodes));
  };
  for (const c of pod.spec.initContainers ?? []) visit(c.image);
  for (const c of pod.spec.containers ?? []) visit(c.image);
  return sum;
}

function calculatePriority(sum: number, numContainers: number): number {
  const maxThreshold = MAX_CONTAINER_THRESHOLD * numContainers;
  if (sum < MIN_THRESHOLD) sum = MIN_THRESHOLD;
  else if (sum > maxThreshold) sum = maxThreshold;
  return Math.trunc((MAX_NODE_SCORE * (sum - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
}

export function newImageLocality(_args: unknown, handle: Handle): PreScorePlugin & ScorePlugin {
  return {
    name: Name,
    preScore(_state, pod) {
      // No node has any of the pod's images: every score would be 0, so skip scoring (the totals
      // are the same). Upstream has no PreScore here; this only saves the per-node walk.
      const snapshot = handle.snapshot();
      const p = pod.pod;
      for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) {
        if (c.image && snapshot.imageState(normalizedImageName(c.image))) return null;
      }
      return new Status(Code.Skip);
    },
    score(_state, pod, ni) {
      if (ni.imageStates.size === 0) return 0;
      const total = handle.snapshot().list().length;
      const p = pod.pod;
      return calculatePriority(sumImageScores(ni, p, total), (p.spec.initContainers?.length ?? 0) + p.spec.containers.length);
    },
  };
}

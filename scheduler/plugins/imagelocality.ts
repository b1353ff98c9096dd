// ImageLocality (upstream: plugins/imagelocality): nodes that already have the pod's
// images score higher, scaled by how widely each image is spread over the cluster.
import type { CycleState, PreScorePlugin, ScorePlugin, StateData } from '../framework.js';
import { MAX_NODE_SCORE, SKIP } from '../framework.js';
import type { Status } from '../framework.js';
import type { PodInfo } from '../podinfo.js';
import type { NodeInfo, Snapshot } from '../snapshot.js';

export const IMAGE_LOCALITY = 'ImageLocality';
const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;
const KEY = `PreScore${IMAGE_LOCALITY}`;

class State implements StateData {
  constructor(
    /** Image → fraction of nodes that have it. */
    readonly spread: ReadonlyMap<string, number>,
  ) {}
  clone(): StateData {
    return this;
  }
}

/** calculatePriority: the summed image score clamped to [23 MB, 1000 MB × containers], scaled to 0..100. */
export function imageScore(sumScores: number, numContainers: number): number {
  const maxThreshold = MAX_CONTAINER_THRESHOLD * numContainers;
  let s = sumScores;
  if (s < MIN_THRESHOLD) s = MIN_THRESHOLD;
  else if (s > maxThreshold) s = maxThreshold;
  return Math.trunc((MAX_NODE_SCORE * (s - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
}

export class ImageLocality implements PreScorePlugin, ScorePlugin {
  readonly name = IMAGE_LOCALITY;

  preScore(state: CycleState, pod: PodInfo, _nodes: readonly NodeInfo[], snap: Snapshot): Status | null {
    const total = snap.numNodes;
    const spread = new Map<string, number>();
    for (const img of pod.images) {
      const n = snap.imageNodeCount(img);
      if (n > 0) spread.set(img, n / total);
    }
    // No node has any of the images: every node scores 0 — nothing to compute.
    if (spread.size === 0) return SKIP;
    state.write(KEY, new State(spread));
    return null;
  }

  score(state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const spread = state.read<State>(KEY)!.spread;
    let sum = 0;
    for (const img of pod.images) {
      const size = node.images.get(img);
      if (size !== undefined) sum += Math.trunc(size * (spread.get(img) ?? 0));
    }
    return imageScore(sum, pod.images.length);
  }
}

// Score normalization shared by several plugins (upstream's plugins/helper).

import { MAX_NODE_SCORE } from '../framework/interfaces.ts';

/**
 * upstream's DefaultNormalizeScore: scales scores to [0, maxPriority] by the highest one
 * (integer arithmetic, truncating); with reverse, high raw scores become low ones. All zero:
 * everything 0, or maxPriority when reversed.
 */
export function defaultNormalizeScore(scores: number[], reverse: boolean, maxPriority = MAX_NODE_SCORE): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(maxPriority);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc((maxPriority * scores[i]!) / max);
    if (reverse) s = maxPriority - s;
    scores[i] = s;
  }
}

import { logAddExp } from './ctc-prefix-scorer.js';

/**
 * A whole label sequence's probability under a CTC head, and how sure a head is of a chunk: what the
 * fused search of an unsure audio-visual chunk ranks by (phone-search.ts). `ctc_log_likelihoods` and
 * `mean_top_probability` in native-models/nestcap_av/decoding.py are the reference.
 */

/**
 * log P_CTC(labels | logProbs) over the first `frames` frames: the forward algorithm (Graves et al., 2006) over
 * every alignment; -Infinity where the frames are too few for the labels.
 */
export function ctcLogLikelihood(logProbs: Float32Array, frames: number, symbols: number, labels: readonly number[], blank: number): number {
  if (frames === 0) return labels.length === 0 ? 0 : -Infinity;
  // the states: blank, label, blank, ..., blank
  const width = 2 * labels.length + 1;
  const state = (index: number) => (index % 2 === 0 ? blank : labels[(index - 1) / 2]!);
  let alpha = new Float64Array(width).fill(-Infinity);
  let next = new Float64Array(width);
  alpha[0] = logProbs[blank]!;
  if (width > 1) alpha[1] = logProbs[state(1)]!;
  for (let t = 1; t < frames; t += 1) {
    const row = t * symbols;
    for (let index = 0; index < width; index += 1) {
      const symbol = state(index);
      const step = index >= 1 ? alpha[index - 1]! : -Infinity;
      // a label may be reached from two states back, past a blank, unless it repeats the label there
      const jump = index >= 2 && symbol !== blank && symbol !== state(index - 2) ? alpha[index - 2]! : -Infinity;
      next[index] = logAddExp(logAddExp(alpha[index]!, step), jump) + logProbs[row + symbol]!;
    }
    [alpha, next] = [next, alpha];
  }
  return width > 1 ? logAddExp(alpha[width - 1]!, alpha[width - 2]!) : alpha[0]!;
}

/** The mean over frames of the likeliest symbol's probability: near 1 where the head is sure of every frame. */
export function meanTopProbability(logProbs: Float32Array, frames: number, symbols: number): number {
  if (frames === 0) return 1;
  let total = 0;
  for (let t = 0; t < frames; t += 1) {
    let top = -Infinity;
    for (let symbol = 0; symbol < symbols; symbol += 1) top = Math.max(top, logProbs[t * symbols + symbol]!);
    total += Math.exp(top);
  }
  return total / frames;
}

import { logAddExp } from '../../electron/engine/ctc-prefix-scorer.js';

/** Brute force for the CTC tests: every alignment of a few frames, enumerated and summed. Symbol 0 is the blank. */
export const ctcBlank = 0;

/** Deterministic pseudo-random rows of probabilities, as log-softmax output. */
export function seededLogProbabilities(frames: number, symbols: number, seed: number): Float32Array {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const out = new Float32Array(frames * symbols);
  for (let t = 0; t < frames; t += 1) {
    const row = Array.from({ length: symbols }, () => next() ** 2 + 0.01);
    const sum = row.reduce((a, b) => a + b, 0);
    row.forEach((p, s) => (out[t * symbols + s] = Math.log(p / sum)));
  }
  return out;
}

/** The labelling a path spells: repeats merged, blanks dropped, as comma-separated ids. */
function collapse(path: readonly number[]): string {
  const out: number[] = [];
  path.forEach((symbol, t) => {
    if (symbol !== ctcBlank && symbol !== path[t - 1]) out.push(symbol);
  });
  return out.join(',');
}

/** log P(labelling) of every labelling reachable in `frames` frames, keyed as {@link collapse} writes it. */
export function labellingProbabilities(x: Float32Array, frames: number, symbols: number): Map<string, number> {
  const out = new Map<string, number>();
  const path: number[] = [];
  const walk = (t: number, logP: number) => {
    if (t === frames) {
      const key = collapse(path);
      out.set(key, logAddExp(out.get(key) ?? -Infinity, logP));
      return;
    }
    for (let s = 0; s < symbols; s += 1) {
      path.push(s);
      walk(t + 1, logP + x[t * symbols + s]!);
      path.pop();
    }
  };
  walk(0, 0);
  return out;
}

// A label sequence's CTC probability against brute-force enumeration of every alignment, and how sure a head is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ctcLogLikelihood, meanTopProbability } from '../../electron/engine/ctc-likelihood.js';
import { ctcBlank, labellingProbabilities, seededLogProbabilities } from '../support/ctc-alignments.js';

test('each sequence gets its probability summed over every alignment, repeats and too few frames included', () => {
  for (const frames of [1, 2, 4, 6]) {
    const x = seededLogProbabilities(frames, 3, 7 + frames);
    const labels = labellingProbabilities(x, frames, 3);
    for (const sequence of [[], [1], [1, 1], [2, 1, 2], [1, 2, 1, 2]]) {
      const want = labels.get(sequence.join(',')) ?? -Infinity;
      const got = ctcLogLikelihood(x, frames, 3, sequence, ctcBlank);
      if (want === -Infinity) assert.equal(got, -Infinity, `${frames} frames cannot hold ${sequence.join(',')}`);
      else assert.ok(Math.abs(got - want) < 1e-9, `${frames} frames, ${sequence.join(',')}: ${got} vs ${want}`);
    }
  }
});

test('only the given frames count, and none hold only the empty sequence', () => {
  const x = seededLogProbabilities(6, 3, 3);
  const first4 = labellingProbabilities(x, 4, 3);
  assert.ok(Math.abs(ctcLogLikelihood(x, 4, 3, [2, 1], ctcBlank) - first4.get('2,1')!) < 1e-9);
  assert.equal(ctcLogLikelihood(x, 0, 3, [], ctcBlank), 0);
  assert.equal(ctcLogLikelihood(x, 0, 3, [1], ctcBlank), -Infinity);
});

test('the mean top probability is 1 for a certain head and 1/symbols for a uniform one', () => {
  const certain = Float32Array.from([0, -50, -50, -50, 0, -50]);
  assert.ok(Math.abs(meanTopProbability(certain, 2, 3) - 1) < 1e-9);
  const uniform = new Float32Array(8).fill(Math.log(0.25));
  assert.ok(Math.abs(meanTopProbability(uniform, 2, 4) - 0.25) < 1e-6);
});

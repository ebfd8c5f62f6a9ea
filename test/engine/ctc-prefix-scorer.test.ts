// The CTC prefix scorer against brute force: every alignment of a few frames enumerated and summed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CtcPrefixScorer, logAddExp } from '../../electron/engine/ctc-prefix-scorer.js';
import { ctcBlank, labellingProbabilities, seededLogProbabilities } from '../support/ctc-alignments.js';

const BLANK = ctcBlank;

// The prefix score counts every continuation as certain (rows sum to 1); float32 rows sum to 1 only to
// about 1e-7, which the enumeration sees and the recurrence does not.
const TOLERANCE = 1e-6;

test('CTC prefix and final scores equal the sums over every alignment', () => {
  const frames = 6;
  const symbols = 4;
  const x = seededLogProbabilities(frames, symbols, 11);
  const labellings = labellingProbabilities(x, frames, symbols);
  const scorer = new CtcPrefixScorer(x, frames, symbols, BLANK);
  for (const prefix of [[1], [2, 2], [1, 3], [3, 1, 3], [2, 2, 2], [1, 2, 3, 1]]) {
    let state = scorer.initial();
    for (const label of prefix) state = scorer.extend(state, label);
    const key = prefix.join(',');
    let startsWith = -Infinity;
    for (const [labelling, logP] of labellings) if (labelling === key || labelling.startsWith(`${key},`)) startsWith = logAddExp(startsWith, logP);
    assert.ok(Math.abs(state.score - startsWith) < TOLERANCE, `prefix ${key}: ${state.score} vs ${startsWith}`);
    const exact = labellings.get(key) ?? -Infinity;
    assert.ok(exact === -Infinity ? scorer.final(state) === -Infinity : Math.abs(scorer.final(state) - exact) < TOLERANCE, `final ${key}`);
  }
});

test('the empty prefix is certain and ends with the all-blank path', () => {
  const x = seededLogProbabilities(3, 3, 5);
  const scorer = new CtcPrefixScorer(x, 3, 3, BLANK);
  const empty = scorer.initial();
  assert.equal(empty.score, 0);
  assert.ok(Math.abs(scorer.final(empty) - (x[0]! + x[3]! + x[6]!)) < 1e-12);
});

test('a malformed CTC output is refused with its shape', () => {
  assert.throws(() => new CtcPrefixScorer(new Float32Array(10), 3, 4, BLANK), /10 values, not 3 frames x 4 symbols/);
  assert.throws(() => new CtcPrefixScorer(new Float32Array(12), 3, 4, 4), /blank 4 is outside the 4 symbols/);
});

test('the draft reads the best path on from where the prefix ends', () => {
  const path = [1, 1, BLANK, 2, 2, BLANK, 3, 3];
  const symbols = 4;
  const x = new Float32Array(path.length * symbols).fill(Math.log(0.02));
  path.forEach((symbol, t) => (x[t * symbols + symbol] = Math.log(0.94)));
  const scorer = new CtcPrefixScorer(x, path.length, symbols, BLANK);
  const empty = scorer.initial();
  assert.deepEqual(scorer.draft(empty, 8), [1, 2, 3]);
  const one = scorer.extend(empty, 1);
  assert.deepEqual(scorer.draft(one, 8), [2, 3], 'the held 1 is not read again');
  assert.deepEqual(scorer.draft(scorer.extend(one, 2), 8), [3]);
  assert.deepEqual(scorer.draft(empty, 2), [1, 2], 'at most count labels');
});

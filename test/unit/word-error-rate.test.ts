import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeForScoring, wordEditDistance, wordErrorRate } from '../../electron/engine/word-error-rate.js';

test('scoring ignores case and punctuation but keeps words apart', () => {
  assert.deepEqual(normalizeForScoring("Hello, World! It's 9 o'clock—really?"), ['hello', 'world', 'its', '9', 'oclock', 'really']);
});

test('edit distance counts substitutions, insertions and deletions', () => {
  assert.equal(wordEditDistance(['a', 'b', 'c'], ['a', 'b', 'c']), 0);
  assert.equal(wordEditDistance(['a', 'b', 'c'], ['a', 'x', 'c']), 1);
  assert.equal(wordEditDistance(['a', 'b', 'c'], ['a', 'c']), 1);
  assert.equal(wordEditDistance(['a', 'b'], ['a', 'b', 'c', 'd']), 2);
  assert.equal(wordEditDistance([], ['a']), 1);
});

test('WER is pooled over the whole set, not averaged per utterance', () => {
  const result = wordErrorRate([
    { reference: 'one two three four five six seven eight nine ten', hypothesis: 'one two three four five six seven eight nine ten' },
    { reference: 'hi', hypothesis: 'bye' },
  ]);
  assert.deepEqual(result, { errors: 1, referenceWords: 11, rate: 1 / 11 });
});

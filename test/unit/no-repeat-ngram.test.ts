import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bannedNext } from '../../electron/engine/recognizer.js';

test('no-repeat-n-gram blocking bans exactly the tokens that would repeat an n-gram', () => {
  // The same cases as native-models/tests/test_model.py DecodingTests: engine and evaluation decode alike.
  assert.deepEqual([...bannedNext([1, 2, 3, 1, 2], 3)], [3]);
  assert.deepEqual([...bannedNext([5, 5, 5], 2)], [5]);
  assert.deepEqual([...bannedNext([1, 2, 3, 4], 3)], []);
  assert.deepEqual([...bannedNext([1, 2, 1, 2], 0)], []);
});

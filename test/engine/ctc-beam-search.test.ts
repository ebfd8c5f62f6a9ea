// CTC prefix beam search: against brute-force enumeration of every alignment, on a certain output, and
// with the bundle's word LM correcting a spelling the CTC head prefers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBundleJson } from '../../electron/engine/bundle.js';
import { ctcPrefixBeamSearch, searchAlphabet, type SearchAlphabet } from '../../electron/engine/ctc-beam-search.js';
import { CharTokenizer } from '../../electron/engine/tokenizer.js';
import { WordLm } from '../../electron/engine/word-lm.js';
import { testBundleDirectory } from '../support/bundle.js';
import { ctcBlank, labellingProbabilities, seededLogProbabilities } from '../support/ctc-alignments.js';

const BLANK = ctcBlank;

const twoLetters: SearchAlphabet = {
  blank: BLANK,
  characters: [
    { id: 1, symbol: { kind: 'character', character: 'a' } },
    { id: 2, symbol: { kind: 'character', character: 'b' } },
  ],
};

test('with room for every prefix, each transcript gets its probability summed over all alignments', () => {
  const frames = 5;
  const x = seededLogProbabilities(frames, 3, 11);
  const labels = labellingProbabilities(x, frames, 3);
  const nbest = ctcPrefixBeamSearch(x, frames, 3, twoLetters, { beams: 500, ctcWeight: 1, words: undefined });
  assert.equal(nbest.length, labels.size);
  for (const entry of nbest) {
    const want = labels.get(entry.tokens.join(','));
    assert.ok(want !== undefined && Math.abs(entry.ctc - want) < 1e-5, `${entry.tokens.join(',')}: ${entry.ctc} vs ${want}`);
    assert.equal(entry.words, 0);
  }
  assert.deepEqual(nbest.map((entry) => entry.ctc), nbest.map((entry) => entry.ctc).sort((a, b) => b - a), 'best first');
});

/** Frames leaning `share` towards each character of `text` in turn, each followed by a blank frame. */
function leaningTowards(tokenizer: CharTokenizer, vocabSize: number, text: string, share: number) {
  const idOf = new Map<string, number>();
  for (let id = 0; id < vocabSize; id += 1) {
    const character = tokenizer.characterOf(id);
    if (character !== undefined) idOf.set(character, id);
  }
  const path = [...text].flatMap((character) => [idOf.get(character)!, BLANK]).concat([BLANK, BLANK]);
  const x = new Float32Array(path.length * vocabSize).fill(Math.log((1 - share) / (vocabSize - 1)));
  path.forEach((id, t) => (x[t * vocabSize + id] = Math.log(share)));
  return { x, frames: path.length };
}

test('the bundle\'s word LM pulls a likely misspelling onto the word, and a certain output keeps its doubled letters', () => {
  const bundle = testBundleDirectory();
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as {
    lm: { vocab_size: number };
    tokenizer: { file: string };
    decoding: { word_lm?: { file: string } };
  };
  const vocabSize = manifest.lm.vocab_size;
  const tokenizer = CharTokenizer.parse(JSON.parse(readFileSync(join(bundle, manifest.tokenizer.file), 'utf8')), vocabSize);
  const alphabet = searchAlphabet(tokenizer, vocabSize, BLANK);
  assert.equal(alphabet.characters.length, 28, 'space, apostrophe and 26 letters');

  const certain = leaningTowards(tokenizer, vocabSize, 'the apple', 0.999);
  const [best] = ctcPrefixBeamSearch(certain.x, certain.frames, vocabSize, alphabet, { beams: 4, ctcWeight: 0.5, words: undefined });
  assert.equal(tokenizer.decode(best!.tokens), 'the apple');

  if (!manifest.decoding.word_lm) return;
  const lm = WordLm.parse(readBundleJson(bundle, manifest.decoding.word_lm.file));
  const doubtful = leaningTowards(tokenizer, vocabSize, 'you shoud know', 0.8);
  const alone = ctcPrefixBeamSearch(doubtful.x, doubtful.frames, vocabSize, alphabet, { beams: 8, ctcWeight: 0.5, words: undefined });
  assert.equal(tokenizer.decode(alone[0]!.tokens), 'you shoud know');
  const fused = ctcPrefixBeamSearch(doubtful.x, doubtful.frames, vocabSize, alphabet, { beams: 8, ctcWeight: 0.5, words: { lm, weight: 0.5 } });
  assert.equal(tokenizer.decode(fused[0]!.tokens), 'you should know');
});

test('a beam count below 1 or no CTC weight is refused', () => {
  const x = seededLogProbabilities(2, 3, 1);
  assert.throws(() => ctcPrefixBeamSearch(x, 2, 3, twoLetters, { beams: 0, ctcWeight: 0.5, words: undefined }), /beam count 0 is not a positive integer/);
  assert.throws(() => ctcPrefixBeamSearch(x, 2, 3, twoLetters, { beams: 2, ctcWeight: 0, words: undefined }), /needs a CTC weight above 0/);
});

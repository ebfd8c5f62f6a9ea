/**
 * The bundle's look-ahead word LM (word_lm.json.gz): a word bigram over a lexicon, scored one character
 * at a time so that it can join character-by-character decoding. The recognizer spells words, and most
 * of its errors are plausible spellings of the right sound; the word LM knows which spellings are words.
 *
 * For a partial word q after the previous word h, mass(q | h) is the probability of every lexicon word
 * that starts with q. Spelling c next scores log mass(q + c | h) - log mass(q | h); ending the word scores
 * log P(q | h) - log mass(q | h); over a word these add up to log P(word | h). A spelling that leaves the
 * lexicon pays log P(<unk> | h) and a uniform letter cost, so names the lexicon lacks stay possible.
 * native-models/nestcap_av/wordlm.py is the reference; the parity test compares the two.
 */

export const wordLmFormat = 'nestcap-word-bigram-1';

/** Absolute discounting of the bigram counts, and the share of the new-word probability kept for <unk>. */
const discount = 0.75;
const unknownShare = 0.1;
/** Spelling a word the lexicon lacks: uniform over 26 letters, the apostrophe and the word's end. */
const unknownLetter = Math.log(1 / 28);
/** A space with no word before it, or a token that is not text: never a transcript the LM means. */
const notAWordPenalty = -30;
/** Sorts after every lexicon character, so [q, q + "~") is the range of words that start with q. */
const afterAll = '~';

export interface WordState {
  /** The previous word's id; the sentence start, or `unknownHistory` after a word outside the lexicon. */
  readonly history: number;
  readonly partial: string;
  readonly outOfLexicon: boolean;
  /** While in the lexicon, the probability of the words `partial` can become (every candidate extension divides by it). */
  readonly mass: number;
}

/** What the decoder proposes next, as the word LM sees it. */
export type NextSymbol = { readonly kind: 'character'; readonly character: string } | { readonly kind: 'end' } | { readonly kind: 'other' };

export interface Scored {
  readonly score: number;
  readonly state: WordState;
}

export class WordLmError extends Error {
  override readonly name = 'WordLmError';
}

/** The history after a word outside the lexicon. */
export const unknownHistory = -1;
const maxCachedRanges = 65536;

/** Where the tables come from and what a word may be: the bundle's spelled word LM by default. */
export interface WordLmSource {
  /** Names the file in errors. */
  readonly file: string;
  readonly isWord: (word: string) => boolean;
  readonly wordDescription: string;
}

const spelledWords: WordLmSource = { file: 'word LM', isWord: (word) => /^[a-z']+$/.test(word), wordDescription: 'lower-case letters and apostrophes' };

export class WordLm {
  readonly #words: readonly string[];
  readonly #unigram: Float64Array;
  readonly #cumulativeUnigram: Float64Array;
  readonly #unknownProbability: number;
  readonly #historyRow: ReadonlyMap<number, number>;
  readonly #offsets: Int32Array;
  readonly #successors: Int32Array;
  readonly #cumulativeBigram: Float64Array;
  readonly #backoff: Float64Array;
  /** Word ranges of recent partial words: searches ask for the same few spellings over and over. */
  readonly #ranges = new Map<string, [number, number]>();

  /**
   * Every probability derives from the counts by the reference's arithmetic, in the same order, so
   * the two implementations agree up to the rounding of log (the parity test allows 1e-9).
   */
  private constructor(words: readonly string[], counts: Int32Array, histories: Int32Array, offsets: Int32Array, successors: Int32Array, pairCounts: Int32Array, unknownScale: number) {
    this.#words = words;
    const tokenCount = counts.reduce((sum, count) => sum + count, 0);
    let singletons = 0;
    let listOnly = 0;
    for (const count of counts.subarray(0, words.length)) {
      if (count === 1) singletons += 1;
      if (count === 0) listOnly += 1;
    }
    const newWord = singletons / tokenCount;
    const listOnlyProbability = (newWord * (1 - unknownShare)) / listOnly;
    this.#unigram = Float64Array.from(counts, (count, id) => (id < words.length && count === 0 ? listOnlyProbability : ((1 - newWord) * count) / tokenCount));
    this.#unknownProbability = (listOnly > 0 ? newWord * unknownShare : newWord) * unknownScale;
    this.#cumulativeUnigram = cumulative(this.#unigram.subarray(0, words.length));
    this.#historyRow = new Map(Array.from(histories, (history, row) => [history, row]));
    this.#offsets = offsets;
    this.#successors = successors;
    const probabilities = new Float64Array(pairCounts.length);
    this.#backoff = new Float64Array(histories.length);
    for (let row = 0; row < histories.length; row += 1) {
      const [start, stop] = [offsets[row]!, offsets[row + 1]!];
      let total = 0;
      for (let pair = start; pair < stop; pair += 1) total += pairCounts[pair]!;
      for (let pair = start; pair < stop; pair += 1) probabilities[pair] = (pairCounts[pair]! - discount) / total;
      this.#backoff[row] = (discount * (stop - start)) / total;
    }
    this.#cumulativeBigram = cumulative(probabilities);
  }

  /** Checks every table against the others; a malformed file is a specific error, never a wrong score. */
  static parse(raw: unknown, source: WordLmSource = spelledWords): WordLm {
    const { file } = source;
    if (typeof raw !== 'object' || raw === null) throw new WordLmError(`${file} must hold an object`);
    const json = raw as Record<string, unknown>;
    if (json.format !== wordLmFormat) throw new WordLmError(`${file}: format must be "${wordLmFormat}"`);
    if (json.discount !== discount || json.unk_share !== unknownShare) {
      throw new WordLmError(`${file}: discount and unk_share must be ${discount} and ${unknownShare}, as this engine computes them`);
    }
    const words = json.words;
    if (!Array.isArray(words) || words.length === 0) throw new WordLmError(`${file}: words must be a non-empty array`);
    for (let index = 0; index < words.length; index += 1) {
      const word = words[index] as unknown;
      if (typeof word !== 'string' || !source.isWord(word)) throw new WordLmError(`${file}: word ${index} is not ${source.wordDescription}`);
      if (index > 0 && !((words[index - 1] as string) < word)) throw new WordLmError(`${file}: words are not sorted at ${index} ("${word}")`);
    }
    const counts = int32s(json.counts, 'counts', file);
    if (counts.length !== words.length + 1) throw new WordLmError(`${file}: counts has ${counts.length} entries; ${words.length} words and the sentence end need ${words.length + 1}`);
    if (counts.some((count) => count < 0)) throw new WordLmError(`${file}: a negative word count`);
    if (!counts.some((count, id) => id < words.length && count === 1)) throw new WordLmError(`${file}: no word was counted once, so nothing gives the probability of a new word`);
    const histories = int32s(json.histories, 'histories', file);
    const offsets = int32s(json.offsets, 'offsets', file);
    const successors = int32s(json.successors, 'successors', file);
    const pairCounts = int32s(json.pair_counts, 'pair_counts', file);
    if (offsets.length !== histories.length + 1) throw new WordLmError(`${file}: ${histories.length} histories need ${histories.length + 1} offsets`);
    if (offsets[0] !== 0 || offsets.at(-1) !== successors.length || pairCounts.length !== successors.length) {
      throw new WordLmError(`${file}: offsets, successors and pair_counts do not describe the same bigrams`);
    }
    for (let row = 0; row < histories.length; row += 1) {
      if (!(offsets[row + 1]! > offsets[row]!)) throw new WordLmError(`${file}: history ${row} has no successors`);
    }
    for (const id of successors) if (id < 0 || id > words.length) throw new WordLmError(`${file}: successor id ${id} is outside the lexicon`);
    for (const count of pairCounts) if (count < 1) throw new WordLmError(`${file}: a bigram count of ${count}`);
    const unknownScale = json.unknown_scale ?? 1;
    if (typeof unknownScale !== 'number' || !(unknownScale > 0 && unknownScale <= 1)) throw new WordLmError(`${file}: unknown_scale must be a number in (0, 1]`);
    return new WordLm(words as string[], counts, histories, offsets, successors, pairCounts, unknownScale);
  }

  get #end(): number {
    return this.#words.length;
  }

  start(): WordState {
    return { history: this.#words.length + 1, partial: '', outOfLexicon: false, mass: 1 };
  }

  /** The history after `word`: its id, or the unknown word's history where the lexicon lacks it. */
  historyOf(word: string): number {
    const low = lowerBoundWord(this.#words, word);
    return this.#words[low] === word ? low : unknownHistory;
  }

  /** log P(word | history), a word outside the lexicon at its unknown-word price (as `word_logprob`). */
  wordLogProbability(history: number, word: string): number {
    const id = this.historyOf(word);
    if (id !== unknownHistory) return Math.log(this.#mass(history, id, id + 1));
    return Math.log(this.#unknown(history)) + (word.length + 1) * unknownLetter;
  }

  /** The score of `next` after `state`, and the state after it. */
  score(state: WordState, next: NextSymbol): Scored {
    if (next.kind === 'end') return { score: this.#sentenceEnd(state), state };
    if (next.kind === 'other') return { score: notAWordPenalty, state };
    return next.character === ' ' ? this.#wordEnd(state) : this.#character(state, next.character);
  }

  #character(state: WordState, character: string): Scored {
    const partial = state.partial + character;
    const outOfLexicon: WordState = { history: state.history, partial, outOfLexicon: true, mass: 1 };
    if (state.outOfLexicon) return { score: unknownLetter, state: outOfLexicon };
    const [low, high] = this.#wordRange(partial);
    const mass = this.#mass(state.history, low, high);
    if (mass > 0) return { score: Math.log(mass) - Math.log(state.mass), state: { history: state.history, partial, outOfLexicon: false, mass } };
    const unknown = Math.log(this.#unknown(state.history)) + partial.length * unknownLetter;
    return { score: unknown - Math.log(state.mass), state: outOfLexicon };
  }

  #wordEnd(state: WordState): Scored {
    if (state.partial === '') return { score: notAWordPenalty, state };
    const next = (history: number): WordState => ({ history, partial: '', outOfLexicon: false, mass: 1 });
    if (state.outOfLexicon) return { score: unknownLetter, state: next(unknownHistory) };
    const low = lowerBoundWord(this.#words, state.partial);
    if (this.#words[low] === state.partial) {
      return { score: Math.log(this.#mass(state.history, low, low + 1)) - Math.log(state.mass), state: next(low) };
    }
    const unknown = Math.log(this.#unknown(state.history)) + (state.partial.length + 1) * unknownLetter;
    return { score: unknown - Math.log(state.mass), state: next(unknownHistory) };
  }

  /** log P(the sentence ends | history) (as `log(p_end(history))`). */
  endLogProbability(history: number): number {
    const [bigram, backoff] = this.#bigram(history, this.#end, this.#end + 1);
    return Math.log(bigram + backoff * this.#unigram[this.#end]!);
  }

  #sentenceEnd(state: WordState): number {
    const { score, state: after } = state.partial === '' ? { score: 0, state } : this.#wordEnd(state);
    return score + this.endLogProbability(after.history);
  }

  #unknown(history: number): number {
    return this.#bigram(history, 0, 0)[1] * this.#unknownProbability;
  }

  /** P(next word's id in [low, high) | history). */
  #mass(history: number, low: number, high: number): number {
    const [bigram, backoff] = this.#bigram(history, low, high);
    return bigram + backoff * (this.#cumulativeUnigram[high]! - this.#cumulativeUnigram[low]!);
  }

  /** The discounted bigram probability of the successors with ids in [low, high), and the back-off weight. */
  #bigram(history: number, low: number, high: number): [number, number] {
    const row = this.#historyRow.get(history);
    if (row === undefined) return [0, 1];
    const start = this.#offsets[row]!;
    const stop = this.#offsets[row + 1]!;
    const from = lowerBound(this.#successors, start, stop, low);
    const to = lowerBound(this.#successors, start, stop, high);
    return [this.#cumulativeBigram[to]! - this.#cumulativeBigram[from]!, this.#backoff[row]!];
  }

  #wordRange(prefix: string): [number, number] {
    let range = this.#ranges.get(prefix);
    if (range === undefined) {
      // bounded: a long live session keeps spelling new words
      if (this.#ranges.size >= maxCachedRanges) this.#ranges.clear();
      range = [lowerBoundWord(this.#words, prefix), lowerBoundWord(this.#words, prefix + afterAll)];
      this.#ranges.set(prefix, range);
    }
    return range;
  }
}

/** Running sums from 0, added in order, so they equal numpy's cumsum bit for bit. */
function cumulative(values: Float64Array): Float64Array {
  const out = new Float64Array(values.length + 1);
  for (let index = 0; index < values.length; index += 1) out[index + 1] = out[index]! + values[index]!;
  return out;
}

function lowerBound(sorted: Int32Array, start: number, stop: number, value: number): number {
  let low = start;
  let high = stop;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

function lowerBoundWord(sorted: readonly string[], value: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

function int32s(value: unknown, field: string, file: string): Int32Array {
  if (typeof value !== 'string') throw new WordLmError(`${file}: ${field} must be a base64 string`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length % 4 !== 0) throw new WordLmError(`${file}: ${field} has ${bytes.length} bytes, not a whole number of 32-bit integers`);
  const out = new Int32Array(bytes.length / 4);
  for (let index = 0; index < out.length; index += 1) out[index] = bytes.readInt32LE(index * 4);
  return out;
}

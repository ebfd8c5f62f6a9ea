import { ctcPrefixBeamSearch, type NBestEntry, type SearchAlphabet } from './ctc-beam-search.js';
import { ctcLogLikelihood } from './ctc-likelihood.js';
import type { CharTokenizer } from './tokenizer.js';
import { unknownHistory, WordLm, WordLmError } from './word-lm.js';

/**
 * The bundle's phone head and how its output becomes words (phones.json.gz). Most errors of the
 * character head are spellings of the right sounds; the phone head only has to hear, and the lexicon spells.
 * Each phone is one character, so a pronunciation is a string and the word LM's look-ahead works on
 * pronunciations unchanged: the file's word LM is over the lexicon's pronunciations (homophones share
 * one entry), and each pronunciation lists the words it can be, which the bundle's spelled word LM
 * chooses among by the previous word.
 *
 * native-models/nestcap_av/phones.py and `phone_nbest` in decoding.py are the reference; the parity test
 * compares the two on the bundle's fixture.
 */

export const phonesFormat = 'nestcap-phones-1';

const phoneFile = 'phones.json.gz';

export class PhoneLexicon {
  readonly alphabet: SearchAlphabet;
  readonly pronunciations: WordLm;
  readonly #spellings: ReadonlyMap<string, readonly string[]>;
  readonly #symbolOf: ReadonlyMap<number, string>;

  private constructor(blank: number, symbolCount: number, symbols: ReadonlyMap<number, string>, pronunciations: WordLm, spellings: ReadonlyMap<string, readonly string[]>) {
    this.symbolCount = symbolCount;
    this.alphabet = { blank, characters: Array.from(symbols, ([id, character]) => ({ id, symbol: { kind: 'character', character } })) };
    this.pronunciations = pronunciations;
    this.#spellings = spellings;
    this.#symbolOf = symbols;
  }

  /** The file's symbols, which the phone head's output width must match. */
  readonly symbolCount: number;

  /** `blank`: the phone head's blank id (decoding.phones.blank). */
  static parse(raw: unknown, blank: number): PhoneLexicon {
    if (typeof raw !== 'object' || raw === null) throw new WordLmError(`${phoneFile} must hold an object`);
    const json = raw as Record<string, unknown>;
    if (json.format !== phonesFormat) throw new WordLmError(`${phoneFile}: format must be "${phonesFormat}"`);
    const { symbols, first_symbol_id: firstSymbolId } = json;
    if (!Array.isArray(symbols) || !symbols.every((symbol) => typeof symbol === 'string')) throw new WordLmError(`${phoneFile}: symbols must be an array of strings`);
    if (typeof firstSymbolId !== 'number' || !Number.isInteger(firstSymbolId) || firstSymbolId <= blank || firstSymbolId >= symbols.length) {
      throw new WordLmError(`${phoneFile}: first_symbol_id must be an id after the blank and inside the symbols`);
    }
    const spoken = symbols.slice(firstSymbolId);
    if (!spoken.every((symbol) => symbol.length === 1 && symbol !== '~') || spoken.filter((symbol) => symbol === ' ').length !== 1) {
      throw new WordLmError(`${phoneFile}: the symbols from first_symbol_id must be single characters, one of them the word boundary " "`);
    }
    const phones = new Set(spoken.filter((symbol) => symbol !== ' '));
    const pronunciations = WordLm.parse(json.word_lm, {
      file: `${phoneFile} word_lm`,
      isWord: (word) => word.length > 0 && Array.from(word).every((phone) => phones.has(phone)),
      wordDescription: 'a string of the phone symbols',
    });
    const spellingsJson = json.spellings;
    if (typeof spellingsJson !== 'object' || spellingsJson === null || Array.isArray(spellingsJson)) throw new WordLmError(`${phoneFile}: spellings must be an object`);
    const spellings = new Map<string, readonly string[]>();
    for (const [pronunciation, words] of Object.entries(spellingsJson as Record<string, unknown>)) {
      if (!Array.isArray(words) || words.length === 0 || !words.every((word) => typeof word === 'string' && /^[a-z']+$/.test(word))) {
        throw new WordLmError(`${phoneFile}: the spellings of "${pronunciation}" must be a non-empty array of words`);
      }
      spellings.set(pronunciation, words as string[]);
    }
    const symbolOf = new Map(spoken.map((character, index) => [firstSymbolId + index, character]));
    return new PhoneLexicon(blank, symbols.length, symbolOf, pronunciations, spellings);
  }

  /**
   * Words for a phone transcript: of every way to spell its pronunciations, the likeliest sentence under
   * `spelled`, its end included (Viterbi over each pronunciation's spellings; the first listed of equals),
   * so the next word and the sentence's end choose among homophones too. A pronunciation without spellings
   * is left out, and the word after it starts afresh.
   */
  spell(phones: string, spelled: WordLm): string {
    /** The best sentence ending in each spelling of the latest word. */
    let paths: SpellingPath[] = [{ score: 0, history: spelled.start().history, words: [] }];
    for (const pronunciation of phones.split(/\s+/)) {
      if (pronunciation === '') continue;
      const options = this.#spellings.get(pronunciation);
      if (!options) {
        const best = firstBest(paths, (path) => path.score);
        paths = [{ ...best, history: unknownHistory }];
        continue;
      }
      paths = options.map((word) => {
        const from = firstBest(paths, (path) => path.score + spelled.wordLogProbability(path.history, word));
        return { score: from.score + spelled.wordLogProbability(from.history, word), history: spelled.historyOf(word), words: [...from.words, word] };
      });
    }
    return firstBest(paths, (path) => path.score + spelled.endLogProbability(path.history)).words.join(' ');
  }

  /** The phone string of phone-symbol ids (other ids write nothing). */
  phonesOf(ids: readonly number[]): string {
    return ids.map((id) => this.#symbolOf.get(id) ?? '').join('');
  }
}

interface SpellingPath {
  readonly score: number;
  readonly history: number;
  readonly words: readonly string[];
}

/** The first item with the highest `value`. */
function firstBest<T extends object>(items: readonly T[], value: (item: T) => number): T {
  let best = items[0]!;
  let bestValue = value(best);
  for (const item of items.slice(1)) {
    const itemValue = value(item);
    if (itemValue > bestValue) [best, bestValue] = [item, itemValue];
  }
  return best;
}

export interface PhoneSearchOptions {
  readonly beams: number;
  readonly ctcWeight: number;
  /** Of the pronunciation word LM; 0 = off. */
  readonly wordWeight: number;
}

/**
 * The phone head's N best for rescoring: the CTC prefix beam search over its output with the pronunciation
 * word LM, each transcript spelled and written in the character tokenizer's ids, its CTC and word scores
 * the phone search's. Homophone transcripts that spell alike keep the first (best) entry.
 */
export function phoneNBest(logProbs: Float32Array, frames: number, symbols: number, lexicon: PhoneLexicon, spelled: WordLm, tokenizer: CharTokenizer, options: PhoneSearchOptions): NBestEntry[] {
  checkSymbols(symbols, lexicon);
  return spelledNBest(searchPhones(logProbs, frames, symbols, lexicon, options), lexicon, spelled, tokenizer);
}

/** One phone head's output over a chunk: `frames` rows of the lexicon's symbols. */
export interface PhoneHeadOutput {
  readonly logProbs: Float32Array;
  readonly frames: number;
}

/**
 * The N best of an audio-visual chunk the audio-visual phone head is unsure of: its search's N best and the
 * video phone head's, pooled (the first of equal phone transcripts), ranked by
 * `ctcWeight · (log P_AV + videoWeight · log P_video) + wordWeight · log p_words` over the frames the two have
 * in common (each sequence's probability under each head by the forward algorithm, so it does not matter that
 * the two heads' spikes fall at different frames), then spelled as `phoneNBest` spells; each entry's CTC score
 * is that fused sum. `fused_phone_nbest` in native-models/nestcap_av/decoding.py is the reference.
 */
export function fusedPhoneNBest(
  audioVisual: PhoneHeadOutput,
  video: PhoneHeadOutput,
  symbols: number,
  lexicon: PhoneLexicon,
  spelled: WordLm,
  tokenizer: CharTokenizer,
  options: PhoneSearchOptions & { readonly videoWeight: number },
): NBestEntry[] {
  checkSymbols(symbols, lexicon);
  const frames = Math.min(audioVisual.frames, video.frames);
  const heads = [audioVisual, video].map((head) => head.logProbs.subarray(0, frames * symbols));
  const pooled = new Map<string, NBestEntry>();
  for (const head of heads) {
    for (const entry of searchPhones(head, frames, symbols, lexicon, options)) {
      const key = entry.tokens.join(',');
      if (!pooled.has(key)) pooled.set(key, entry);
    }
  }
  const blank = lexicon.alphabet.blank;
  const fused = Array.from(pooled.values(), (entry) => ({
    ...entry,
    ctc: ctcLogLikelihood(heads[0]!, frames, symbols, entry.tokens, blank) + options.videoWeight * ctcLogLikelihood(heads[1]!, frames, symbols, entry.tokens, blank),
  }));
  // a stable sort: equals (two sequences the frames cannot hold among them) keep the pooled order
  const rank = (entry: NBestEntry) => options.ctcWeight * entry.ctc + options.wordWeight * entry.words;
  fused.sort((a, b) => {
    const order = rank(b) - rank(a);
    return Number.isNaN(order) ? 0 : order;
  });
  return spelledNBest(fused, lexicon, spelled, tokenizer);
}

function checkSymbols(symbols: number, lexicon: PhoneLexicon): void {
  if (symbols !== lexicon.symbolCount) throw new RangeError(`the phone head writes ${symbols} symbols; ${phoneFile} has ${lexicon.symbolCount}`);
}

function searchPhones(logProbs: Float32Array, frames: number, symbols: number, lexicon: PhoneLexicon, options: PhoneSearchOptions): NBestEntry[] {
  return ctcPrefixBeamSearch(logProbs, frames, symbols, lexicon.alphabet, {
    beams: options.beams,
    ctcWeight: options.ctcWeight,
    words: options.wordWeight > 0 ? { lm: lexicon.pronunciations, weight: options.wordWeight } : undefined,
  });
}

/** Phone transcripts spelled, in the character tokenizer's ids, in their order; of those that spell alike, the first. */
function spelledNBest(entries: readonly NBestEntry[], lexicon: PhoneLexicon, spelled: WordLm, tokenizer: CharTokenizer): NBestEntry[] {
  const seen = new Set<string>();
  const out: NBestEntry[] = [];
  for (const entry of entries) {
    const text = lexicon.spell(lexicon.phonesOf(entry.tokens), spelled);
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ tokens: tokenizer.encode(text), ctc: entry.ctc, words: entry.words });
  }
  return out;
}

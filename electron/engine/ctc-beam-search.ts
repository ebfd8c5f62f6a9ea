import { logAddExp } from './ctc-prefix-scorer.js';
import type { CharTokenizer } from './tokenizer.js';
import type { NextSymbol, WordLm, WordState } from './word-lm.js';

/**
 * Frame-synchronous CTC prefix beam search (Hannun et al., 2014) over the audio encoder's CTC output,
 * ranked by `ctcWeight · log p_CTC + wordWeight · log p_words` with the look-ahead word LM. The
 * recognizer's default decoding rescores the N best it returns with the LM, batched (attention
 * rescoring), instead of calling the LM once per character.
 *
 * The same algorithm, in the same order, as `ctc_prefix_beam` in native-models/nestcap_av/decoding.py;
 * the parity test compares the two on the bundle's fixture.
 */

/** A character less likely than e^-8 at a frame is not proposed there. */
export const ctcBeamPrune = -8;

export interface CtcBeamOptions {
  readonly beams: number;
  /** > 0: the search is over the CTC output. */
  readonly ctcWeight: number;
  readonly words: { readonly lm: WordLm; readonly weight: number } | undefined;
}

/** The ids the search may spell, with what the word LM makes of each. */
export interface SearchAlphabet {
  readonly blank: number;
  readonly characters: readonly { readonly id: number; readonly symbol: NextSymbol }[];
}

/** Every character id of the tokenizer, the ids the search may spell. */
export function searchAlphabet(tokenizer: CharTokenizer, vocabSize: number, blank: number): SearchAlphabet {
  const characters: SearchAlphabet['characters'][number][] = [];
  for (let id = 0; id < vocabSize; id += 1) {
    const character = tokenizer.characterOf(id);
    if (character !== undefined) characters.push({ id, symbol: { kind: 'character', character } });
  }
  return { blank, characters };
}

export interface NBestEntry {
  readonly tokens: readonly number[];
  /** log P_CTC(transcript). */
  readonly ctc: number;
  /** The word LM's log-score of the transcript, its end included; 0 without the word LM. */
  readonly words: number;
}

interface Prefix {
  /** The prefix one character shorter (undefined for the empty one), and this one's last character. */
  readonly parent: Prefix | undefined;
  readonly last: number | undefined;
  /** The spelling's node in the search's trie: prefixes reached several ways merge on it. */
  readonly node: number;
  /** log P(prefix) over the frames so far, the last frame a blank / the prefix's last character. */
  blank: number;
  label: number;
  readonly wordState: WordState | undefined;
  readonly wordScore: number;
}

function tokensOf(prefix: Prefix): number[] {
  const tokens: number[] = [];
  for (let at: Prefix | undefined = prefix; at?.last !== undefined; at = at.parent) tokens.push(at.last);
  return tokens.reverse();
}

/**
 * The `beams` best transcripts of `logProbs` ([frames, symbols], log-probabilities), best first.
 * At each frame every prefix may stay (a blank, or its last character repeated) or grow by a character
 * more likely there than e^ctcBeamPrune; prefixes reached several ways merge.
 */
export function ctcPrefixBeamSearch(logProbs: Float32Array, frames: number, symbols: number, alphabet: SearchAlphabet, options: CtcBeamOptions): NBestEntry[] {
  if (!(Number.isInteger(options.beams) && options.beams >= 1)) throw new RangeError(`beam count ${options.beams} is not a positive integer`);
  if (!(options.ctcWeight > 0)) throw new RangeError(`CTC prefix beam search needs a CTC weight above 0, not ${options.ctcWeight}`);
  const words = options.words && options.words.weight > 0 ? options.words : undefined;
  const rank = (prefix: Prefix): number => options.ctcWeight * logAddExp(prefix.blank, prefix.label) + (words ? words.weight * prefix.wordScore : 0);
  let live: Prefix[] = [{ parent: undefined, last: undefined, node: 0, blank: 0, label: -Infinity, wordState: words?.lm.start(), wordScore: 0 }];
  // Node numbers of the spellings seen so far (node × symbols + id → the child's node): a prefix is one
  // number to look up, however long it grows.
  const children = new Map<number, number>();
  const childOf = (node: number, id: number): number => {
    const key = node * symbols + id;
    let child = children.get(key);
    if (child === undefined) {
      child = children.size + 1;
      children.set(key, child);
    }
    return child;
  };

  for (let frame = 0; frame < frames; frame += 1) {
    const row = logProbs.subarray(frame * symbols, (frame + 1) * symbols);
    const grown = alphabet.characters.filter(({ id }) => row[id]! > ctcBeamPrune);
    // In insertion order, as the reference's dict.
    const merged = new Map<number, Prefix>();
    for (const prefix of live) {
      // read before the prefix itself becomes the next frame's entry for its node, below
      const { blank, label, last } = prefix;
      const total = logAddExp(blank, label);
      const stayBlank = total + row[alphabet.blank]!;
      const stayLabel = last === undefined ? -Infinity : label + row[last]!;
      const stayed = merged.get(prefix.node);
      if (stayed) {
        stayed.blank = logAddExp(stayed.blank, stayBlank);
        stayed.label = logAddExp(stayed.label, stayLabel);
      } else {
        prefix.blank = stayBlank;
        prefix.label = stayLabel;
        merged.set(prefix.node, prefix);
      }
      for (const { id, symbol } of grown) {
        // A repeated character is a new one only after a blank.
        const via = id === last ? blank : total;
        if (via === -Infinity) continue;
        const node = childOf(prefix.node, id);
        const seen = merged.get(node);
        if (seen) {
          seen.label = logAddExp(seen.label, via + row[id]!);
          continue;
        }
        // a prefix that left the beam and came back is scored again; the word LM caches its ranges
        const step = words ? words.lm.score(prefix.wordState!, symbol) : undefined;
        merged.set(node, { parent: prefix, last: id, node, blank: -Infinity, label: via + row[id]!, wordState: step?.state, wordScore: prefix.wordScore + (step?.score ?? 0) });
      }
    }
    // each prefix ranked once, not once per comparison (a stable sort, as the reference's)
    const ranked = Array.from(merged.values(), (prefix) => ({ prefix, rank: rank(prefix) }));
    ranked.sort((a, b) => b.rank - a.rank);
    live = ranked.slice(0, options.beams).map(({ prefix }) => prefix);
  }
  return live
    .map((prefix): NBestEntry => ({
      tokens: tokensOf(prefix),
      ctc: logAddExp(prefix.blank, prefix.label),
      words: words ? prefix.wordScore + words.lm.score(prefix.wordState!, { kind: 'end' }).score : 0,
    }))
    .sort((a, b) => options.ctcWeight * b.ctc + (words?.weight ?? 0) * b.words - (options.ctcWeight * a.ctc + (words?.weight ?? 0) * a.words));
}

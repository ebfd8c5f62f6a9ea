/**
 * Word error rate as DESIGN.md's measurement protocol defines it: lower-case, punctuation
 * stripped, word-level Levenshtein distance summed over the whole set and divided by the
 * number of reference words (not an average of per-utterance rates).
 */

export function normalizeForScoring(text: string): string[] {
  return text
    .toLowerCase()
    .normalize('NFKC')
    .replace(/[’']/g, '')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter((word) => word.length > 0);
}

export function wordEditDistance(reference: readonly string[], hypothesis: readonly string[]): number {
  let previous = Array.from({ length: hypothesis.length + 1 }, (_, index) => index);
  for (let row = 1; row <= reference.length; row += 1) {
    const current = [row];
    for (let column = 1; column <= hypothesis.length; column += 1) {
      const substitution = previous[column - 1]! + (reference[row - 1] === hypothesis[column - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[column]! + 1, current[column - 1]! + 1));
    }
    previous = current;
  }
  return previous[hypothesis.length]!;
}

export interface WordErrorRate {
  readonly errors: number;
  readonly referenceWords: number;
  /** errors / referenceWords; 0 for an empty reference with an empty hypothesis. */
  readonly rate: number;
}

export function wordErrorRate(pairs: readonly { reference: string; hypothesis: string }[]): WordErrorRate {
  let errors = 0;
  let referenceWords = 0;
  for (const { reference, hypothesis } of pairs) {
    const referenceTokens = normalizeForScoring(reference);
    errors += wordEditDistance(referenceTokens, normalizeForScoring(hypothesis));
    referenceWords += referenceTokens.length;
  }
  return { errors, referenceWords, rate: referenceWords === 0 ? (errors === 0 ? 0 : Infinity) : errors / referenceWords };
}

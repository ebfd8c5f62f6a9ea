/**
 * CTC prefix probabilities for joint CTC + LM decoding (hybrid CTC-attention decoding, Watanabe et
 * al. 2017). The audio encoder's CTC head sees every frame at full rate, before any Matryoshka
 * compression, so it keeps the transcript faithful to the audio when the LM, reading a few
 * compressed tokens, would rather continue fluently. The reference implementation, which the
 * evaluation uses, is native-models/nestcap_av/decoding.py; both compute the same recurrences.
 */

/** Forward variables of one prefix: log P(prefix so far, frame t ends in a non-blank | a blank). */
export interface CtcPrefixState {
  readonly endsInLabel: Float64Array;
  readonly endsInBlank: Float64Array;
  /** log P(the transcript starts with this prefix). */
  readonly score: number;
  /** Last label of the prefix, -1 for the empty prefix. */
  readonly last: number;
}

export class CtcPrefixScorer {
  readonly #logProbs: Float32Array;
  readonly #frames: number;
  readonly #symbols: number;
  readonly #blank: number;

  /** `logProbs`: [frames, symbols] log-softmax rows of the CTC head, row-major. */
  constructor(logProbs: Float32Array, frames: number, symbols: number, blank: number) {
    if (frames < 1 || logProbs.length !== frames * symbols) {
      throw new RangeError(`CTC log-probabilities hold ${logProbs.length} values, not ${frames} frames x ${symbols} symbols`);
    }
    if (!Number.isInteger(blank) || blank < 0 || blank >= symbols) throw new RangeError(`CTC blank ${blank} is outside the ${symbols} symbols`);
    this.#logProbs = logProbs;
    this.#frames = frames;
    this.#symbols = symbols;
    this.#blank = blank;
  }

  initial(): CtcPrefixState {
    const endsInBlank = new Float64Array(this.#frames);
    let total = 0;
    for (let t = 0; t < this.#frames; t += 1) {
      total += this.#at(t, this.#blank);
      endsInBlank[t] = total;
    }
    return { endsInLabel: new Float64Array(this.#frames).fill(-Infinity), endsInBlank, score: 0, last: -1 };
  }

  /** The prefix extended by `label`. */
  extend(prefix: CtcPrefixState, label: number): CtcPrefixState {
    const frames = this.#frames;
    const endsInLabel = new Float64Array(frames);
    const endsInBlank = new Float64Array(frames);
    // A repeated label needs a blank in between, so only the blank-ending paths can continue it.
    const previous = (t: number) =>
      label === prefix.last ? prefix.endsInBlank[t]! : logAddExp(prefix.endsInLabel[t]!, prefix.endsInBlank[t]!);
    endsInLabel[0] = prefix.last < 0 ? this.#at(0, label) : -Infinity;
    endsInBlank[0] = -Infinity;
    let score = endsInLabel[0];
    for (let t = 1; t < frames; t += 1) {
      const entering = previous(t - 1) + this.#at(t, label);
      endsInLabel[t] = logAddExp(endsInLabel[t - 1]! + this.#at(t, label), entering);
      endsInBlank[t] = logAddExp(endsInBlank[t - 1]!, endsInLabel[t - 1]!) + this.#at(t, this.#blank);
      score = logAddExp(score, entering);
    }
    return { endsInLabel, endsInBlank, score, last: label };
  }

  /**
   * The labels the CTC head's best path reads after this prefix: from the frame where the prefix most
   * probably ends, repeats merged and blanks dropped. A cheap guess at what decoding will choose next.
   */
  draft(prefix: CtcPrefixState, count: number): number[] {
    const bestPath = this.#bestPath();
    let frame = 0;
    let previous = this.#blank;
    if (prefix.last >= 0) {
      let best = -Infinity;
      for (let t = 0; t < this.#frames; t += 1) {
        const ending = logAddExp(prefix.endsInLabel[t]!, prefix.endsInBlank[t]!);
        if (ending > best) {
          best = ending;
          frame = t;
        }
      }
      // a label still being held at that frame must not be read again as a new one
      previous = prefix.endsInLabel[frame]! > prefix.endsInBlank[frame]! ? prefix.last : this.#blank;
      frame += 1;
    }
    const out: number[] = [];
    for (let t = frame; t < this.#frames && out.length < count; t += 1) {
      const label = bestPath[t]!;
      if (label !== this.#blank && label !== previous) out.push(label);
      previous = label;
    }
    return out;
  }

  #bestPathCache: Int32Array | undefined;

  #bestPath(): Int32Array {
    if (this.#bestPathCache) return this.#bestPathCache;
    const path = new Int32Array(this.#frames);
    for (let t = 0; t < this.#frames; t += 1) {
      let best = 0;
      for (let symbol = 1; symbol < this.#symbols; symbol += 1) if (this.#at(t, symbol) > this.#at(t, best)) best = symbol;
      path[t] = best;
    }
    this.#bestPathCache = path;
    return path;
  }

  /** log P(the transcript is exactly this prefix): the score of ending here. */
  final(prefix: CtcPrefixState): number {
    const last = this.#frames - 1;
    return logAddExp(prefix.endsInLabel[last]!, prefix.endsInBlank[last]!);
  }

  #at(frame: number, symbol: number): number {
    return this.#logProbs[frame * this.#symbols + symbol]!;
  }
}

export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** The bundle's character tokenizer: ids to caption text, from tokenizer.json alone. */

export class CharTokenizer {
  readonly #vocab: readonly string[];
  readonly #firstCharId: number;
  readonly #eos: number;

  constructor(vocab: readonly string[], firstCharId: number, eos: number) {
    this.#vocab = vocab;
    this.#firstCharId = firstCharId;
    this.#eos = eos;
  }

  static parse(raw: unknown, expectedVocabSize: number): CharTokenizer {
    const json = raw as { type?: unknown; vocab?: unknown; first_char_id?: unknown; special?: { eos?: unknown } };
    if (json?.type !== 'char') throw new Error('tokenizer.json: type must be "char"');
    if (!Array.isArray(json.vocab) || !json.vocab.every((entry) => typeof entry === 'string')) {
      throw new Error('tokenizer.json: vocab must be an array of strings');
    }
    if (json.vocab.length !== expectedVocabSize) {
      throw new Error(`tokenizer.json has ${json.vocab.length} tokens but the decoder expects ${expectedVocabSize}`);
    }
    if (typeof json.first_char_id !== 'number' || typeof json.special?.eos !== 'number') {
      throw new Error('tokenizer.json: first_char_id and special.eos must be numbers');
    }
    return new CharTokenizer(json.vocab, json.first_char_id, json.special.eos);
  }

  get vocabSize(): number {
    return this.#vocab.length;
  }

  /** The text of a character id; undefined for special tokens. */
  characterOf(id: number): string | undefined {
    return id >= this.#firstCharId && id < this.#vocab.length ? this.#vocab[id] : undefined;
  }

  /** The character ids of `text`; a character outside the vocabulary is a RangeError (spelled words never have one). */
  encode(text: string): number[] {
    return Array.from(text, (character) => {
      const id = this.#vocab.indexOf(character, this.#firstCharId);
      if (id < 0) throw new RangeError(`"${character}" is not in the tokenizer's vocabulary`);
      return id;
    });
  }

  decode(ids: readonly number[]): string {
    let text = '';
    for (const id of ids) {
      if (id === this.#eos) break;
      text += this.characterOf(id) ?? '';
    }
    return text.replace(/\s+/g, ' ').trim();
  }
}

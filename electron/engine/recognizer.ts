import type * as Ort from 'onnxruntime-node';
import type { Task } from './bundle-manifest.js';
import type { LoadedBundle } from './bundle.js';

/**
 * One chunk of media in, text out: encoders → the chosen scale's tokens → prefix
 * (BOS, <audio> A </audio>, <video> V </video>, prompt) → autoregressive decoding with a KV
 * cache, greedy or beam search. The layout and every id come from the bundle's manifest.
 */

export interface ChunkInput {
  /** 16 kHz mono samples in [-1, 1]; undefined for video-only. */
  readonly pcm?: Float32Array;
  /** Grayscale mouth crops, `count` frames of roi.width × roi.height bytes; undefined for audio-only. */
  readonly frames?: { readonly pixels: Uint8Array; readonly count: number };
}

export type Decoding = { readonly kind: 'greedy' } | { readonly kind: 'beam'; readonly beams: number };

export interface RecognizeOptions {
  /** Index into the manifest's scale list (0 = finest). */
  readonly scaleIndex: number;
  readonly decoding: Decoding;
}

export interface Recognition {
  readonly text: string;
  readonly task: Task;
  readonly scaleId: string;
  /** Geometric mean of the chosen tokens' probabilities, in [0, 1]. */
  readonly confidence: number;
  /** Tokens the LM consumed as media prefix (the cost the scale controls). */
  readonly prefixTokens: number;
  readonly generatedTokens: number;
  readonly timings: { readonly encodeMs: number; readonly prefillMs: number; readonly decodeMs: number };
}

interface Hypothesis {
  readonly tokens: number[];
  readonly logProbability: number;
  readonly finished: boolean;
}

export class Recognizer {
  readonly #ort: typeof Ort;
  readonly #bundle: LoadedBundle;
  /** Embedding of every vocabulary id, computed once, so decoding never calls token_embed. */
  #embeddingTable: Float32Array | undefined;

  constructor(ort: typeof Ort, bundle: LoadedBundle) {
    this.#ort = ort;
    this.#bundle = bundle;
  }

  get bundle(): LoadedBundle {
    return this.#bundle;
  }

  async #embeddings(): Promise<Float32Array> {
    if (this.#embeddingTable) return this.#embeddingTable;
    const { vocabSize } = this.#bundle.manifest.lm;
    const ids = BigInt64Array.from({ length: vocabSize }, (_, id) => BigInt(id));
    const output = await this.#bundle.sessions.tokenEmbed.run({ input_ids: new this.#ort.Tensor('int64', ids, [1, vocabSize]) });
    this.#embeddingTable = new Float32Array(output.embeds!.data as Float32Array);
    return this.#embeddingTable;
  }

  #embeddingOf(table: Float32Array, id: number): Float32Array {
    const { dim } = this.#bundle.manifest.lm;
    return table.subarray(id * dim, (id + 1) * dim);
  }

  async recognize(input: ChunkInput, options: RecognizeOptions): Promise<Recognition> {
    const { manifest, sessions } = this.#bundle;
    const scale = manifest.scales[options.scaleIndex];
    if (!scale) throw new RangeError(`scale index ${options.scaleIndex} is outside the bundle's ${manifest.scales.length} scales`);
    const hasAudio = input.pcm !== undefined && input.pcm.length >= manifest.minAudioSamples;
    const hasVideo = input.frames !== undefined && input.frames.count >= scale.videoRate;
    if (!hasAudio && !hasVideo) throw new RangeError('a chunk needs audio or video long enough for one token');
    const task: Task = hasAudio && hasVideo ? 'avsr' : hasAudio ? 'asr' : 'vsr';
    const table = await this.#embeddings();
    const { dim } = manifest.lm;

    const encodeStart = performance.now();
    const parts: Float32Array[] = [this.#embeddingOf(table, manifest.specialTokens.bos)];
    if (hasAudio) {
      const pcm = input.pcm;
      const output = await sessions.audioEncoder.run({ pcm: new this.#ort.Tensor('float32', pcm, [1, pcm.length]) }, [scale.audioOutput]);
      parts.push(this.#embeddingOf(table, manifest.specialTokens.audioStart), output[scale.audioOutput]!.data as Float32Array, this.#embeddingOf(table, manifest.specialTokens.audioEnd));
    }
    if (hasVideo) {
      const { pixels, count } = input.frames;
      const frames = Float32Array.from(pixels);
      const output = await sessions.videoEncoder.run(
        { frames: new this.#ort.Tensor('float32', frames, [1, count, manifest.roi.height, manifest.roi.width]) },
        [scale.videoOutput],
      );
      parts.push(this.#embeddingOf(table, manifest.specialTokens.videoStart), output[scale.videoOutput]!.data as Float32Array, this.#embeddingOf(table, manifest.specialTokens.videoEnd));
    }
    for (const id of manifest.prompts[task]) parts.push(this.#embeddingOf(table, id));
    const prefix = concat(parts);
    const prefixTokens = prefix.length / dim;
    const encodeMs = performance.now() - encodeStart;

    const maxTokens = this.#maxTokens(input);
    const decoded =
      options.decoding.kind === 'beam' && options.decoding.beams > 1
        ? await this.#beamSearch(prefix, options.scaleIndex, table, options.decoding.beams, maxTokens)
        : await this.#greedy(prefix, options.scaleIndex, table, maxTokens);
    const generated = decoded.best.tokens.filter((id) => id !== manifest.specialTokens.eos).length;
    const steps = Math.max(1, decoded.best.tokens.length);
    return {
      text: this.#bundle.tokenizer.decode(decoded.best.tokens),
      task,
      scaleId: scale.id,
      confidence: Math.exp(decoded.best.logProbability / steps),
      prefixTokens,
      generatedTokens: generated,
      timings: { encodeMs, prefillMs: decoded.prefillMs, decodeMs: decoded.decodeMs },
    };
  }

  /** A bound on transcript length from the chunk's duration (fast speech is ~20 characters/s). */
  #maxTokens(input: ChunkInput): number {
    const { manifest } = this.#bundle;
    const seconds = input.pcm ? input.pcm.length / manifest.sampleRate : (input.frames?.count ?? 0) / manifest.fps;
    return Math.ceil(seconds * 25) + 16;
  }

  #emptyPast(batch: number): Ort.Tensor {
    const { layers, heads, headDim } = this.#bundle.manifest.kvCache;
    return new this.#ort.Tensor('float32', new Float32Array(0), [layers, 2, batch, heads, 0, headDim]);
  }

  async #step(embeds: Float32Array, batch: number, past: Ort.Tensor, scaleIndex: number) {
    const { dim } = this.#bundle.manifest.lm;
    const sequence = embeds.length / (dim * batch);
    const output = await this.#bundle.sessions.decoder.run({
      inputs_embeds: new this.#ort.Tensor('float32', embeds, [batch, sequence, dim]),
      past_kv: past,
      ...this.#bundle.adapters[scaleIndex],
    });
    return { logits: output.logits!.data as Float32Array, sequence, present: output.present_kv! };
  }

  async #greedy(prefix: Float32Array, scaleIndex: number, table: Float32Array, maxTokens: number) {
    const { vocabSize } = this.#bundle.manifest.lm;
    const { eos } = this.#bundle.manifest.specialTokens;
    const prefillStart = performance.now();
    let { logits, sequence, present } = await this.#step(prefix, 1, this.#emptyPast(1), scaleIndex);
    const prefillMs = performance.now() - prefillStart;
    const decodeStart = performance.now();
    const tokens: number[] = [];
    let logProbability = 0;
    const { noRepeatNgram } = this.#bundle.manifest.decoding;
    for (let step = 0; step < maxTokens; step += 1) {
      const row = logits.subarray((sequence - 1) * vocabSize, sequence * vocabSize);
      const { id, logProb } = argmaxLogSoftmax(row, bannedNext(tokens, noRepeatNgram));
      tokens.push(id);
      logProbability += logProb;
      if (id === eos) break;
      ({ logits, sequence, present } = await this.#step(this.#embeddingOf(table, id), 1, present, scaleIndex));
    }
    return { best: { tokens, logProbability, finished: true }, prefillMs, decodeMs: performance.now() - decodeStart };
  }

  /**
   * Beam search with the beams as the decoder's batch: one run per step for all beams, and the
   * KV cache re-gathered along the batch axis when beams are reordered.
   */
  async #beamSearch(prefix: Float32Array, scaleIndex: number, table: Float32Array, beamCount: number, maxTokens: number) {
    const { vocabSize, dim } = this.#bundle.manifest.lm;
    const { eos } = this.#bundle.manifest.specialTokens;
    const prefillStart = performance.now();
    const first = await this.#step(prefix, 1, this.#emptyPast(1), scaleIndex);
    const prefillMs = performance.now() - prefillStart;
    const decodeStart = performance.now();

    // The prefix was run once; every beam starts from a copy of its cache.
    let beams: Hypothesis[] = [{ tokens: [], logProbability: 0, finished: false }];
    let present = first.present;
    let logits = first.logits;
    let sequence = first.sequence;
    const finished: Hypothesis[] = [];

    for (let step = 0; step < maxTokens && beams.length > 0 && finished.length < beamCount; step += 1) {
      const candidates: { parent: number; id: number; logProbability: number }[] = [];
      beams.forEach((beam, parent) => {
        const rowStart = (parent * sequence + sequence - 1) * vocabSize;
        const row = logSoftmax(logits.subarray(rowStart, rowStart + vocabSize));
        for (const banned of bannedNext(beam.tokens, this.#bundle.manifest.decoding.noRepeatNgram)) row[banned] = -Infinity;
        for (const { id, value } of topK(row, beamCount)) candidates.push({ parent, id, logProbability: beam.logProbability + value });
      });
      candidates.sort((a, b) => b.logProbability - a.logProbability);
      const next: Hypothesis[] = [];
      const parents: number[] = [];
      for (const candidate of candidates) {
        if (next.length === beamCount) break;
        const tokens = [...beams[candidate.parent]!.tokens, candidate.id];
        if (candidate.id === eos) finished.push({ tokens, logProbability: candidate.logProbability, finished: true });
        else {
          next.push({ tokens, logProbability: candidate.logProbability, finished: false });
          parents.push(candidate.parent);
        }
      }
      beams = next;
      if (beams.length === 0 || finished.length >= beamCount) break;
      const embeds = new Float32Array(beams.length * dim);
      beams.forEach((beam, index) => embeds.set(this.#embeddingOf(table, beam.tokens.at(-1)!), index * dim));
      const result = await this.#step(embeds, beams.length, gatherBatch(this.#ort, present, parents), scaleIndex);
      ({ logits, sequence, present } = result);
    }
    const pool = finished.length > 0 ? finished : beams;
    const best = pool.reduce((a, b) => (normalisedScore(b) > normalisedScore(a) ? b : a));
    return { best, prefillMs, decodeMs: performance.now() - decodeStart };
  }
}

/** Length-normalised log probability, so beam search does not favour short transcripts. */
function normalisedScore(hypothesis: Hypothesis): number {
  return hypothesis.logProbability / hypothesis.tokens.length;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function logSoftmax(row: Float32Array): Float32Array {
  let max = -Infinity;
  for (const value of row) max = Math.max(max, value);
  let sum = 0;
  for (const value of row) sum += Math.exp(value - max);
  const logSum = Math.log(sum) + max;
  return row.map((value) => value - logSum);
}

function argmaxLogSoftmax(row: Float32Array, banned: ReadonlySet<number>): { id: number; logProb: number } {
  const logProbs = logSoftmax(row);
  let id = -1;
  for (let index = 0; index < logProbs.length; index += 1) {
    if (!banned.has(index) && (id < 0 || logProbs[index]! > logProbs[id]!)) id = index;
  }
  return { id, logProb: logProbs[id]! };
}

/**
 * Tokens that would repeat an n-gram already in the output (no-repeat-n-gram blocking). A small
 * model stuck in a loop ("for the for the for") otherwise fills the length limit with insertions.
 */
export function bannedNext(tokens: readonly number[], n: number): Set<number> {
  const banned = new Set<number>();
  if (n < 2 || tokens.length < n - 1) return banned;
  const tail = tokens.length - (n - 1);
  for (let start = 0; start + n - 1 < tokens.length; start += 1) {
    let same = true;
    for (let offset = 0; offset < n - 1 && same; offset += 1) same = tokens[start + offset] === tokens[tail + offset];
    if (same) banned.add(tokens[start + n - 1]!);
  }
  return banned;
}

function topK(row: Float32Array, k: number): { id: number; value: number }[] {
  return Array.from(row, (value, id) => ({ id, value }))
    .sort((a, b) => b.value - a.value)
    .slice(0, k);
}

/** Re-orders a [layers, 2, batch, heads, positions, headDim] cache along its batch axis. */
function gatherBatch(ort: typeof Ort, cache: Ort.Tensor, rows: readonly number[]): Ort.Tensor {
  const [layers, pair, batch, heads, positions, headDim] = cache.dims as [number, number, number, number, number, number];
  const source = cache.data as Float32Array;
  const block = heads * positions * headDim;
  const out = new Float32Array(layers * pair * rows.length * block);
  for (let outer = 0; outer < layers * pair; outer += 1) {
    rows.forEach((row, index) => {
      const from = (outer * batch + row) * block;
      out.set(source.subarray(from, from + block), (outer * rows.length + index) * block);
    });
  }
  return new ort.Tensor('float32', out, [layers, pair, rows.length, heads, positions, headDim]);
}

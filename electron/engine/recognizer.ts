import type * as Ort from 'onnxruntime-node';
import type { AudioVisualCtcSpec, BundleManifest, ScaleSearchBudget, SpeedVote, Task, VideoFusion } from './bundle-manifest.js';
import type { LoadedBundle } from './bundle.js';
import { ctcPrefixBeamSearch, searchAlphabet, type NBestEntry, type SearchAlphabet } from './ctc-beam-search.js';
import { meanTopProbability } from './ctc-likelihood.js';
import { CtcPrefixScorer, type CtcPrefixState } from './ctc-prefix-scorer.js';
import { fusedPhoneNBest, phoneNBest } from './phone-search.js';
import { framesAt, playAt, voteWords, wordsOf } from './speed-vote.js';
import type { NextSymbol, Scored, WordLm, WordState } from './word-lm.js';

/**
 * One chunk of media in, text out: encoders → the chosen scale's tokens → prefix
 * (BOS, <audio> A </audio>, <video> V </video>, prompt) → autoregressive decoding with a KV
 * cache, greedy or beam search. The layout and every id come from the bundle's manifest.
 * Wherever the chunk has audio and the bundle exports its CTC head, each step scores the LM's best
 * next tokens jointly with the CTC prefix probability (see ctc-prefix-scorer.ts); where the bundle has
 * a word LM, they also get its look-ahead score (see word-lm.ts). A chunk with video too takes its CTC
 * log-probabilities from the bundle's audio-visual CTC head where it has one, so that lip video reaches
 * the search; partial captions (`ctc-search`) stay with the audio head and skip the video encoder. Where
 * the bundle has phone heads, the searches use them instead, their transcripts spelled by the lexicon
 * (see phone-search.ts); a chunk without audio then searches the video encoder's phone head, where the bundle
 * has one, and the LM rescores its N best as it does the audio's.
 */

export interface ChunkInput {
  /** 16 kHz mono samples in [-1, 1]; undefined for video-only. */
  readonly pcm?: Float32Array;
  /** Grayscale mouth crops, `count` frames of roi.width × roi.height bytes; undefined for audio-only. */
  readonly frames?: { readonly pixels: Uint8Array; readonly count: number };
}

export type Decoding = (
  | {
      readonly kind: 'greedy';
      /** One decoder call per token even where joint decoding could draft ahead: the same transcript, for measuring what drafting saves. */
      readonly stepByStep?: boolean;
    }
  | { readonly kind: 'beam'; readonly beams: number }
  /**
   * CTC prefix beam search with the word LM over `searchBeams` prefixes (default `beams`), its `beams` best
   * rescored by the LM, batched (see ctc-beam-search.ts and #rescore). A wide search is cheap beside the LM,
   * and finds the words a narrow one prunes early. Needs the CTC head and audio; a chunk without them
   * decodes greedily.
   */
  | {
      readonly kind: 'rescore';
      readonly beams: number;
      readonly searchBeams?: number;
      /** The scales that search narrower and rescore fewer, by id (the bundle's `decoding.default.scale_search`). */
      readonly scaleSearch?: ReadonlyMap<string, ScaleSearchBudget>;
      /**
       * Also search the chunk played at these speeds, and vote the rescored transcript word by word with their
       * bests, at the vote's scales (see speed-vote.ts; the bundle's `decoding.default.speed_vote`). Needs the search's audio.
       */
      readonly speedVote?: SpeedVote;
      /** Where an unsure audio-visual chunk's search also takes the lip reader's (the bundle's `decoding.default.video_fusion`). */
      readonly videoFusion?: VideoFusion;
    }
  /**
   * The same CTC search with the word LM, its best taken as it is: no LM call, and a chunk with audio skips
   * the video. For partial captions, which the final caption replaces; a chunk without audio searches the video
   * phone head where the bundle has one, and decodes greedily where it has neither that nor the CTC head.
   */
  | { readonly kind: 'ctc-search'; readonly beams: number; readonly scaleSearch?: ReadonlyMap<string, ScaleSearchBudget> }
) & {
  /** Weight of the CTC prefix score; undefined = the bundle's, 0 = the LM alone. */
  readonly ctcWeight?: number;
  /** Weight of the word LM's score; undefined = the bundle's, 0 = off. */
  readonly wordWeight?: number;
};

/** The decoding the bundle was evaluated with (its manifest's `decoding.default`). */
export function defaultDecoding(manifest: BundleManifest): Decoding {
  // the manifest's rescoring fields are the decoding's, those it omits left out
  const { method, ...search } = manifest.decoding.defaultSearch;
  if (method === 'greedy') return { kind: 'greedy' };
  if (method === 'beam') return { kind: method, beams: search.beams };
  return { kind: method, ...search };
}

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
  /**
   * Positions the decoder computed after the prefix, over every batch row: the generated tokens, drafts
   * it checked and rejected, every beam's, every rescored transcript's (what the LM's time is spent on).
   */
  readonly decodedPositions: number;
  /**
   * `decodeMs` includes `ctcMs`, the CTC prefix scoring of joint decoding, and `wordLmMs`, the word LM's scoring
   * (0 without them). Under rescoring, `ctcMs` is the CTC prefix beam search, its word-LM steps included,
   * and `prefillMs` covers the N best's common beginning too, which the same decoder call computes.
   * `voteMs` is the speed vote's encoding, searches and vote, in none of the others (0 without it).
   */
  readonly timings: {
    readonly encodeMs: number;
    readonly prefillMs: number;
    readonly decodeMs: number;
    readonly ctcMs: number;
    readonly wordLmMs: number;
    readonly voteMs: number;
  };
}

interface Hypothesis {
  readonly tokens: number[];
  /** Sum of the LM's log-probabilities of the tokens (the confidence). */
  readonly logProbability: number;
  /** What search ranks by: the sum of the steps' gains (the LM's log-probability, or the joint score). */
  readonly score: number;
  readonly ctc: CtcPrefixState | undefined;
  readonly words: WordState | undefined;
}

/** Tokens drafted from the CTC best path per decoder call in joint greedy decoding. */
const draftTokens = 12;

/** One chunk's decoder calls: the scale's adapters, and the positions computed (for `decodedPositions`). */
interface DecoderRun {
  readonly scaleIndex: number;
  positions: number;
}

interface JointScoring {
  readonly scorer: CtcPrefixScorer;
  readonly weight: number;
  readonly candidates: number;
  /** Time spent scoring, accumulated over the chunk. */
  elapsedMs: number;
}

interface WordFusion {
  readonly lm: WordLm;
  readonly weight: number;
  readonly candidates: number;
  elapsedMs: number;
}

/** The weights of a CTC prefix beam search with the word LM (the word LM itself where the character search fuses it). */
interface SearchWeights {
  readonly ctcWeight: number;
  readonly wordWeight: number;
  readonly words: WordFusion | undefined;
}

/** What ranks the LM's candidates besides the LM itself; either part may be absent. */
interface Scoring {
  readonly ctc: JointScoring | undefined;
  readonly words: WordFusion | undefined;
}

interface Candidate {
  readonly id: number;
  readonly lmLogProbability: number;
  /** This step's term of the ranking score. */
  readonly gain: number;
  readonly ctc: CtcPrefixState | undefined;
  readonly words: WordState | undefined;
}

export class Recognizer {
  readonly #ort: typeof Ort;
  readonly #bundle: LoadedBundle;
  /** Embedding of every vocabulary id, computed once, so decoding never calls token_embed. */
  #embeddingTable: Float32Array | undefined;
  #alphabet: SearchAlphabet | undefined;

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
    const ctcSpec = manifest.decoding.ctc;
    const ctcWeight = options.decoding.ctcWeight ?? ctcSpec?.weight ?? 0;
    if (!(ctcWeight >= 0 && ctcWeight < 1)) throw new RangeError(`CTC weight ${ctcWeight} is outside [0, 1)`);
    const wordWeight = options.decoding.wordWeight ?? manifest.decoding.wordLm?.weight ?? 0;
    if (!(wordWeight >= 0 && Number.isFinite(wordWeight))) throw new RangeError(`word-LM weight ${wordWeight} is not a number of at least 0`);
    const wordLm = this.#bundle.wordLm;
    const words: WordFusion | undefined =
      wordLm && wordWeight > 0 ? { lm: wordLm, weight: wordWeight, candidates: manifest.decoding.wordLm!.candidates, elapsedMs: 0 } : undefined;
    let joint: JointScoring | undefined;
    let nbest: NBestEntry[] | undefined;
    let searchMs = 0;
    const withCtc = hasAudio && ctcSpec !== undefined && ctcWeight > 0;
    const decoding = options.decoding;
    if (decoding.kind === 'rescore' && !(Number.isInteger(decoding.beams) && decoding.beams >= 1)) throw new RangeError(`beam count ${decoding.beams} is not a positive integer`);
    if (decoding.kind === 'rescore' && decoding.videoFusion) {
      const { weight, belowConfidence } = decoding.videoFusion;
      if (!(weight > 0 && Number.isFinite(weight) && belowConfidence > 0 && belowConfidence <= 1)) throw new RangeError(`video fusion weight ${weight} must be above 0 and its confidence ${belowConfidence} in (0, 1]`);
    }
    // a scale with a budget of its own searches and rescores that many (coarser scales spend less)
    const budget = decoding.kind === 'rescore' || decoding.kind === 'ctc-search' ? decoding.scaleSearch?.get(scale.id) : undefined;
    const searchBeams = decoding.kind === 'rescore' ? (budget?.searchBeams ?? decoding.searchBeams ?? decoding.beams) : decoding.kind === 'ctc-search' ? (budget?.searchBeams ?? decoding.beams) : undefined;
    const rescoredBeams = decoding.kind === 'rescore' ? (budget?.beams ?? decoding.beams) : undefined;
    const searchWeights = { ctcWeight, wordWeight, words };
    const search = (logProbs: Ort.Tensor) => {
      const [, frames, symbols] = logProbs.dims as [number, number, number];
      if (searchBeams !== undefined) {
        const searchStart = performance.now();
        nbest = this.#nbestOf(logProbs, false, searchBeams, searchWeights);
        searchMs = performance.now() - searchStart;
      } else {
        const scorer = new CtcPrefixScorer(logProbs.data as Float32Array, frames, symbols, ctcSpec!.blank);
        joint = { scorer, weight: ctcWeight, candidates: ctcSpec!.candidates, elapsedMs: 0 };
      }
    };
    // Partials search the audio alone; a final caption with the face in view searches the audio-visual head.
    const partial = options.decoding.kind === 'ctc-search';
    const audioVisual = withCtc && hasVideo && !partial && sessions.avCtc ? ctcSpec.audioVisual : undefined;
    // The searches take the phone heads where the bundle has them (audio alone, and audio-visual where it has
    // that one too); joint decoding scores characters, so it keeps the character heads.
    const phoneSpec = this.#bundle.phones && searchBeams !== undefined ? manifest.decoding.phones : undefined;
    const audioHead = phoneSpec?.output ?? ctcSpec?.output;
    const searchPhones = (logProbs: Ort.Tensor) => {
      const searchStart = performance.now();
      nbest = this.#nbestOf(logProbs, true, searchBeams!, searchWeights);
      searchMs = performance.now() - searchStart;
    };
    const searchAudio = (output: Ort.InferenceSession.OnnxValueMapType) => (phoneSpec ? searchPhones(output[phoneSpec.output]!) : search(output[ctcSpec!.output]!));
    // an audio-visual chunk its own phone head is unsure of also takes the lip reader's search (VideoFusion)
    const videoFusion = audioVisual && phoneSpec?.audioVisualOutput && decoding.kind === 'rescore' ? decoding.videoFusion : undefined;
    const searchFused = (audioVisualLogProbs: Ort.Tensor, videoLogProbs: Ort.Tensor, videoWeight: number) => {
      const searchStart = performance.now();
      const [, audioVisualFrames, symbols] = audioVisualLogProbs.dims as [number, number, number];
      const [, videoFrames] = videoLogProbs.dims as [number, number, number];
      nbest = fusedPhoneNBest(
        { logProbs: audioVisualLogProbs.data as Float32Array, frames: audioVisualFrames },
        { logProbs: videoLogProbs.data as Float32Array, frames: videoFrames },
        symbols,
        this.#bundle.phones!,
        this.#bundle.wordLm!,
        this.#bundle.tokenizer,
        { beams: searchBeams!, ctcWeight, wordWeight, videoWeight },
      );
      searchMs = performance.now() - searchStart;
    };
    let audioOutput: Ort.InferenceSession.OnnxValueMapType | undefined;
    if (hasAudio) {
      const pcm = input.pcm;
      const wanted = [scale.audioOutput, ...(withCtc ? [audioVisual?.audioFeatures ?? audioHead!] : [])];
      audioOutput = await sessions.audioEncoder.run({ pcm: new this.#ort.Tensor('float32', pcm, [1, pcm.length]) }, wanted);
      parts.push(this.#embeddingOf(table, manifest.specialTokens.audioStart), audioOutput[scale.audioOutput]!.data as Float32Array, this.#embeddingOf(table, manifest.specialTokens.audioEnd));
      if (withCtc && partial) {
        searchAudio(audioOutput);
        return this.#searched(nbest!, 'asr', scale.id, performance.now() - encodeStart - searchMs, searchMs);
      }
    }
    if (hasVideo) {
      const { pixels, count } = input.frames;
      const frames = Float32Array.from(pixels);
      // a chunk without audio searches the lip reader's phone head where the bundle has one, and so may an unsure audio-visual one
      const videoPhones = task === 'vsr' || videoFusion ? phoneSpec?.videoOutput : undefined;
      const output = await sessions.videoEncoder.run(
        { frames: new this.#ort.Tensor('float32', frames, [1, count, manifest.roi.height, manifest.roi.width]) },
        [scale.videoOutput, ...(audioVisual ? [audioVisual.videoFeatures] : []), ...(videoPhones ? [videoPhones] : [])],
      );
      parts.push(this.#embeddingOf(table, manifest.specialTokens.videoStart), output[scale.videoOutput]!.data as Float32Array, this.#embeddingOf(table, manifest.specialTokens.videoEnd));
      if (videoPhones && task === 'vsr') {
        searchPhones(output[videoPhones]!);
        if (partial) return this.#searched(nbest!, task, scale.id, performance.now() - encodeStart - searchMs, searchMs);
      }
      if (audioVisual) {
        const heads = await this.#audioVisualCtc(audioVisual, audioOutput![audioVisual.audioFeatures]!, output[audioVisual.videoFeatures]!);
        if (phoneSpec?.audioVisualOutput) {
          const audioVisualPhones = heads[phoneSpec.audioVisualOutput]!;
          const [, phoneFrames, symbols] = audioVisualPhones.dims as [number, number, number];
          const unsure = videoFusion && videoPhones && meanTopProbability(audioVisualPhones.data as Float32Array, phoneFrames, symbols) < videoFusion.belowConfidence;
          if (unsure) searchFused(audioVisualPhones, output[videoPhones]!, videoFusion.weight);
          else searchPhones(audioVisualPhones);
        } else search(heads[audioVisual.output]!);
      }
    }
    if (withCtc && !audioVisual) searchAudio(audioOutput!);
    for (const id of manifest.prompts[task]) parts.push(this.#embeddingOf(table, id));
    const scoring: Scoring = { ctc: joint, words };
    const prefix = concat(parts);
    const prefixTokens = prefix.length / dim;
    const encodeMs = performance.now() - encodeStart - searchMs;

    const maxTokens = this.#maxTokens(input);
    const run: DecoderRun = { scaleIndex: options.scaleIndex, positions: 0 };
    const decoded = nbest
      ? await this.#rescore(prefix, run, table, rescoredBeams === undefined ? nbest : nbest.slice(0, rescoredBeams), ctcWeight, words?.weight ?? 0)
      : options.decoding.kind === 'beam' && options.decoding.beams > 1
        ? await this.#beamSearch(prefix, run, table, options.decoding.beams, maxTokens, scoring)
        : joint && !(options.decoding.kind === 'greedy' && options.decoding.stepByStep === true)
          ? await this.#draftedGreedy(prefix, run, table, maxTokens, { ctc: joint, words })
          : await this.#greedy(prefix, run, table, maxTokens, scoring);
    const generated = decoded.best.tokens.filter((id) => id !== manifest.specialTokens.eos).length;
    const steps = Math.max(1, decoded.best.tokens.length);
    let text = this.#bundle.tokenizer.decode(decoded.best.tokens);
    let voteMs = 0;
    // the vote plays the audio at other speeds: a chunk without audio has none to play
    if (nbest && hasAudio && decoding.kind === 'rescore' && decoding.speedVote && (decoding.speedVote.scales?.includes(scale.id) ?? true)) {
      const voteStart = performance.now();
      const ballots = await this.#ballotsAtSpeeds(input, decoding.speedVote, { audioVisual, phoneSpec, audioHead: audioHead!, videoRate: scale.videoRate }, searchWeights);
      const pivot = wordsOf(text);
      const voted = voteWords(pivot, ballots);
      // unchanged words keep the transcript exactly as the tokenizer wrote it
      if (voted.join(' ') !== pivot.join(' ')) text = voted.join(' ');
      voteMs = performance.now() - voteStart;
    }
    return {
      text,
      task,
      scaleId: scale.id,
      confidence: Math.exp(decoded.best.logProbability / steps),
      prefixTokens,
      generatedTokens: generated,
      decodedPositions: run.positions - prefixTokens,
      timings: {
        encodeMs,
        prefillMs: decoded.prefillMs,
        decodeMs: decoded.decodeMs + searchMs,
        ctcMs: (joint?.elapsedMs ?? 0) + searchMs,
        wordLmMs: words?.elapsedMs ?? 0,
        voteMs,
      },
    };
  }

  /** The N best of the CTC prefix beam search with the word LM: over the phone head (spelled) or the character head. */
  #nbestOf(logProbs: Ort.Tensor, phones: boolean, beams: number, weights: SearchWeights): NBestEntry[] {
    const [, frames, symbols] = logProbs.dims as [number, number, number];
    const { manifest, tokenizer } = this.#bundle;
    const data = logProbs.data as Float32Array;
    if (phones) return phoneNBest(data, frames, symbols, this.#bundle.phones!, this.#bundle.wordLm!, tokenizer, { beams, ctcWeight: weights.ctcWeight, wordWeight: weights.wordWeight });
    return ctcPrefixBeamSearch(data, frames, symbols, (this.#alphabet ??= searchAlphabet(tokenizer, manifest.lm.vocabSize, manifest.decoding.ctc!.blank)), {
      beams,
      ctcWeight: weights.ctcWeight,
      words: weights.words && { lm: weights.words.lm, weight: weights.words.weight },
    });
  }

  /**
   * The speed vote's ballots: the words of the search's best with the chunk played at each of the vote's speeds,
   * searched on the head the chunk's own search took (audio-visual where it had the face, phones where the bundle has them).
   * A speed that leaves too little audio, or too few frames for the face, or whose search finds nothing, casts no ballot.
   */
  async #ballotsAtSpeeds(
    input: ChunkInput,
    vote: SpeedVote,
    heads: { readonly audioVisual: AudioVisualCtcSpec | undefined; readonly phoneSpec: BundleManifest['decoding']['phones']; readonly audioHead: string; readonly videoRate: number },
    weights: SearchWeights,
  ): Promise<string[][]> {
    const { manifest, sessions, tokenizer } = this.#bundle;
    const ballots: string[][] = [];
    for (const speed of vote.speeds) {
      const pcm = playAt(input.pcm!, speed);
      if (pcm.length < manifest.minAudioSamples) continue;
      const audioTensor = { pcm: new this.#ort.Tensor('float32', pcm, [1, pcm.length]) };
      let logProbs: Ort.Tensor;
      let phones: boolean;
      if (heads.audioVisual && input.frames) {
        const frames = framesAt(input.frames, speed);
        if (frames.count < heads.videoRate) continue;
        const audio = await sessions.audioEncoder.run(audioTensor, [heads.audioVisual.audioFeatures]);
        const video = await sessions.videoEncoder.run(
          { frames: new this.#ort.Tensor('float32', Float32Array.from(frames.pixels), [1, frames.count, manifest.roi.height, manifest.roi.width]) },
          [heads.audioVisual.videoFeatures],
        );
        const output = await this.#audioVisualCtc(heads.audioVisual, audio[heads.audioVisual.audioFeatures]!, video[heads.audioVisual.videoFeatures]!);
        phones = heads.phoneSpec?.audioVisualOutput !== undefined;
        logProbs = output[phones ? heads.phoneSpec!.audioVisualOutput! : heads.audioVisual.output]!;
      } else {
        const output = await sessions.audioEncoder.run(audioTensor, [heads.audioHead]);
        phones = heads.phoneSpec !== undefined;
        logProbs = output[heads.audioHead]!;
      }
      const [best] = this.#nbestOf(logProbs, phones, vote.searchBeams, weights);
      if (best) ballots.push(wordsOf(tokenizer.decode(best.tokens)));
    }
    return ballots;
  }

  /** The audio-visual CTC heads' log-probabilities over the two streams' common length, by output name. */
  async #audioVisualCtc(spec: AudioVisualCtcSpec, audio: Ort.Tensor, video: Ort.Tensor): Promise<Ort.InferenceSession.OnnxValueMapType> {
    const [, audioFrames, audioDim] = audio.dims as [number, number, number];
    const [, videoFrames, videoDim] = video.dims as [number, number, number];
    const frames = Math.min(audioFrames, videoFrames);
    const output = await this.#bundle.sessions.avCtc!.run({
      [spec.audioFeatures]: new this.#ort.Tensor('float32', (audio.data as Float32Array).subarray(0, frames * audioDim), [1, frames, audioDim]),
      [spec.videoFeatures]: new this.#ort.Tensor('float32', (video.data as Float32Array).subarray(0, frames * videoDim), [1, frames, videoDim]),
    });
    return output;
  }

  /** The CTC search's best as the transcript; its confidence is the CTC probability per character. */
  #searched(nbest: readonly NBestEntry[], task: Task, scaleId: string, encodeMs: number, searchMs: number): Recognition {
    const [best] = nbest;
    const characters = best!.tokens.length;
    return {
      text: this.#bundle.tokenizer.decode(best!.tokens),
      task,
      scaleId,
      confidence: Math.min(1, Math.exp(best!.ctc / Math.max(1, characters))),
      prefixTokens: 0,
      generatedTokens: characters,
      decodedPositions: 0,
      timings: { encodeMs, prefillMs: 0, decodeMs: searchMs, ctcMs: searchMs, wordLmMs: 0, voteMs: 0 },
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

  async #step(embeds: Float32Array, batch: number, past: Ort.Tensor, run: DecoderRun) {
    const { dim } = this.#bundle.manifest.lm;
    const sequence = embeds.length / (dim * batch);
    run.positions += batch * sequence;
    const output = await this.#bundle.sessions.decoder.run({
      inputs_embeds: new this.#ort.Tensor('float32', embeds, [batch, sequence, dim]),
      past_kv: past,
      ...this.#bundle.adapters[run.scaleIndex],
    });
    return { logits: output.logits!.data as Float32Array, sequence, present: output.present_kv! };
  }

  /** The media prefix through the decoder once, with an empty cache. */
  async #prefill(prefix: Float32Array, run: DecoderRun) {
    const started = performance.now();
    const first = await this.#step(prefix, 1, this.#emptyPast(1), run);
    return { first, prefillMs: performance.now() - started };
  }

  async #greedy(prefix: Float32Array, run: DecoderRun, table: Float32Array, maxTokens: number, scoring: Scoring) {
    const { vocabSize } = this.#bundle.manifest.lm;
    const { eos } = this.#bundle.manifest.specialTokens;
    const { first, prefillMs } = await this.#prefill(prefix, run);
    let { logits, sequence, present } = first;
    const decodeStart = performance.now();
    let best = initialHypothesis(scoring);
    for (let step = 0; step < maxTokens; step += 1) {
      const row = logits.subarray((sequence - 1) * vocabSize, sequence * vocabSize);
      const [choice] = this.#candidates(row, best, 1, scoring);
      if (!choice) break;
      best = extended(best, choice);
      if (choice.id === eos) break;
      ({ logits, sequence, present } = await this.#step(this.#embeddingOf(table, choice.id), 1, present, run));
    }
    return { best, prefillMs, decodeMs: performance.now() - decodeStart };
  }

  /**
   * Joint greedy decoding that drafts ahead from the CTC head's best path and checks the draft in one
   * decoder call: each drafted token that the joint choice agrees with is accepted without a call of
   * its own, and at the first disagreement the cache is cut back to the agreed prefix. The transcript
   * is the one step-by-step joint greedy decoding gives (a test compares them); the decoder calls are
   * fewer, and a call's cost is mostly per call, not per token, on this small LM.
   */
  async #draftedGreedy(prefix: Float32Array, run: DecoderRun, table: Float32Array, maxTokens: number, scoring: Scoring & { readonly ctc: JointScoring }) {
    const joint = scoring.ctc;
    const { vocabSize, dim } = this.#bundle.manifest.lm;
    const { eos } = this.#bundle.manifest.specialTokens;
    const { first, prefillMs } = await this.#prefill(prefix, run);
    const decodeStart = performance.now();
    let next = first.logits.subarray((first.sequence - 1) * vocabSize, first.sequence * vocabSize);
    let cache = first.present;
    let best = initialHypothesis(scoring);
    // The choice after `next` when checking the draft already scored it (the token that disagreed).
    let decided: Candidate[] | undefined;
    while (best.tokens.length < maxTokens) {
      const [choice] = decided ?? this.#candidates(next, best, 1, scoring);
      decided = undefined;
      if (!choice) break;
      best = extended(best, choice);
      if (choice.id === eos || best.tokens.length >= maxTokens) break;
      const draftStart = performance.now();
      const draft = joint.scorer.draft(best.ctc!, Math.min(draftTokens, maxTokens - best.tokens.length));
      joint.elapsedMs += performance.now() - draftStart;
      const eosAt = draft.indexOf(eos);
      if (eosAt >= 0) draft.length = eosAt;
      const fed = [choice.id, ...draft];
      const embeds = new Float32Array(fed.length * dim);
      fed.forEach((id, index) => embeds.set(this.#embeddingOf(table, id), index * dim));
      const pastLength = cache.dims[4] as number;
      const checked = await this.#step(embeds, 1, cache, run);
      let agreed = 0;
      while (agreed < draft.length && best.tokens.length < maxTokens) {
        const verdict = this.#candidates(checked.logits.subarray(agreed * vocabSize, (agreed + 1) * vocabSize), best, 1, scoring);
        if (verdict[0]?.id !== draft[agreed]) {
          decided = verdict;
          break;
        }
        best = extended(best, verdict[0]!);
        agreed += 1;
      }
      next = checked.logits.subarray(agreed * vocabSize, (agreed + 1) * vocabSize);
      cache = agreed === draft.length ? checked.present : keepPositions(this.#ort, checked.present, pastLength + 1 + agreed);
    }
    return { best, prefillMs, decodeMs: performance.now() - decodeStart };
  }

  /**
   * The best `count` next tokens after `hypothesis`, by this step's gain: the LM's log-probability, or
   * with joint scoring (1 - w) log p_LM + w (its change in log p_CTC) over the LM's top candidates; with
   * the word LM, plus its weight times the candidate's word score.
   */
  #candidates(logits: Float32Array, hypothesis: Hypothesis, count: number, scoring: Scoring): Candidate[] {
    const { eos } = this.#bundle.manifest.specialTokens;
    const row = logSoftmax(logits);
    for (const banned of bannedNext(hypothesis.tokens, this.#bundle.manifest.decoding.noRepeatNgram)) row[banned] = -Infinity;
    const joint = hypothesis.ctc ? scoring.ctc : undefined;
    const words = hypothesis.words ? scoring.words : undefined;
    const pool = Math.max(count, joint?.candidates ?? 0, words?.candidates ?? 0);
    const top = topK(row, pool).filter(({ value }) => value > -Infinity);
    // Each part is scored in a pass of its own, so that its time is measured apart.
    let ctcNext: { state: CtcPrefixState | undefined; gain: number }[] | undefined;
    if (joint) {
      const started = performance.now();
      const prefixState = hypothesis.ctc!;
      ctcNext = top.map(({ id }) => {
        const state = id === eos ? undefined : joint.scorer.extend(prefixState, id);
        return { state, gain: (state ? state.score : joint.scorer.final(prefixState)) - prefixState.score };
      });
      joint.elapsedMs += performance.now() - started;
    }
    let wordNext: Scored[] | undefined;
    if (words) {
      const started = performance.now();
      wordNext = top.map(({ id }) => words.lm.score(hypothesis.words!, this.#symbolOf(id)));
      words.elapsedMs += performance.now() - started;
    }
    const scored = top.map(({ id, value }, index): Candidate => {
      const ctc = ctcNext?.[index];
      const word = wordNext?.[index];
      const lmAndCtc = ctc ? (1 - joint!.weight) * value + joint!.weight * ctc.gain : value;
      return { id, lmLogProbability: value, gain: lmAndCtc + (word ? words!.weight * word.score : 0), ctc: ctc?.state, words: word?.state };
    });
    return scored.sort((a, b) => b.gain - a.gain).slice(0, count);
  }

  #symbolOf(id: number): NextSymbol {
    if (id === this.#bundle.manifest.specialTokens.eos) return { kind: 'end' };
    const character = this.#bundle.tokenizer.characterOf(id);
    return character === undefined ? { kind: 'other' } : { kind: 'character', character };
  }

  /**
   * The N-best entry with the best (1 - w) log p_LM + w log p_CTC + λ log p_words (the first of equals).
   * The LM scores come from two decoder calls: the media prefix followed by the entries' common beginning,
   * then what follows it with the entries as the batch, right-padded (a causal LM's score of a position
   * never sees the positions after it). The N best mostly share their first half, which this computes
   * once; it rides with the prefix because a call on this small LM costs mostly per call, not per position.
   */
  async #rescore(prefix: Float32Array, run: DecoderRun, table: Float32Array, nbest: readonly NBestEntry[], ctcWeight: number, wordWeight: number) {
    const { vocabSize, dim } = this.#bundle.manifest.lm;
    const { eos } = this.#bundle.manifest.specialTokens;
    const rowOf = (logits: Float32Array, index: number) => logSoftmax(logits.subarray(index * vocabSize, (index + 1) * vocabSize));
    const embed = (ids: readonly number[]) => {
      const embeds = new Float32Array(ids.length * dim);
      ids.forEach((id, index) => embeds.set(this.#embeddingOf(table, id), index * dim));
      return embeds;
    };
    const common = commonPrefixLength(nbest.map((entry) => entry.tokens));
    const sharedTokens = nbest[0]!.tokens.slice(0, common);
    const { first, prefillMs } = await this.#prefill(common > 0 ? concat([prefix, embed(sharedTokens)]) : prefix, run);
    const decodeStart = performance.now();
    // Row `prefixEnd + k` predicts the token after the k-th shared one; `prefixEnd` the first.
    const prefixEnd = first.sequence - common - 1;
    let shared = 0;
    sharedTokens.forEach((token, position) => {
      shared += rowOf(first.logits, prefixEnd + position)[token]!;
    });
    const next = rowOf(first.logits, first.sequence - 1);
    const cache = first.present;
    const suffixes = nbest.map((entry) => entry.tokens.slice(common));
    const longest = Math.max(...suffixes.map((suffix) => suffix.length));
    const lmScores = suffixes.map((suffix) => shared + next[suffix[0] ?? eos]!);
    if (longest > 0) {
      const padded = suffixes.flatMap((suffix) => Array.from({ length: longest }, (_, position) => suffix[position] ?? eos));
      const out = await this.#step(embed(padded), nbest.length, gatherBatch(this.#ort, cache, nbest.map(() => 0)), run);
      suffixes.forEach((suffix, row) => {
        const targets = [...suffix, eos];
        for (let position = 0; position + 1 < targets.length; position += 1) lmScores[row]! += rowOf(out.logits, row * longest + position)[targets[position + 1]!]!;
      });
    }
    const totals = nbest.map((entry, index) => (1 - ctcWeight) * lmScores[index]! + ctcWeight * entry.ctc + wordWeight * entry.words);
    const chosen = totals.reduce((bestIndex, total, index) => (total > totals[bestIndex]! ? index : bestIndex), 0);
    const best: Hypothesis = { tokens: [...nbest[chosen]!.tokens, eos], logProbability: lmScores[chosen]!, score: totals[chosen]!, ctc: undefined, words: undefined };
    return { best, prefillMs, decodeMs: performance.now() - decodeStart };
  }

  /**
   * Beam search with the beams as the decoder's batch: one run per step for all beams, and the
   * KV cache re-gathered along the batch axis when beams are reordered.
   */
  async #beamSearch(prefix: Float32Array, run: DecoderRun, table: Float32Array, beamCount: number, maxTokens: number, scoring: Scoring) {
    const { vocabSize, dim } = this.#bundle.manifest.lm;
    const { eos } = this.#bundle.manifest.specialTokens;
    const { first, prefillMs } = await this.#prefill(prefix, run);
    const decodeStart = performance.now();

    // The prefix was run once; every beam starts from a copy of its cache.
    let beams: Hypothesis[] = [initialHypothesis(scoring)];
    let present = first.present;
    let logits = first.logits;
    let sequence = first.sequence;
    const finished: Hypothesis[] = [];

    for (let step = 0; step < maxTokens && beams.length > 0 && finished.length < beamCount; step += 1) {
      const candidates: { parent: number; hypothesis: Hypothesis }[] = [];
      beams.forEach((beam, parent) => {
        const rowStart = (parent * sequence + sequence - 1) * vocabSize;
        for (const candidate of this.#candidates(logits.subarray(rowStart, rowStart + vocabSize), beam, beamCount, scoring)) {
          candidates.push({ parent, hypothesis: extended(beam, candidate) });
        }
      });
      candidates.sort((a, b) => b.hypothesis.score - a.hypothesis.score);
      const next: Hypothesis[] = [];
      const parents: number[] = [];
      for (const { parent, hypothesis } of candidates) {
        if (next.length === beamCount) break;
        if (hypothesis.tokens.at(-1) === eos) finished.push(hypothesis);
        else {
          next.push(hypothesis);
          parents.push(parent);
        }
      }
      beams = next;
      if (beams.length === 0 || finished.length >= beamCount) break;
      const embeds = new Float32Array(beams.length * dim);
      beams.forEach((beam, index) => embeds.set(this.#embeddingOf(table, beam.tokens.at(-1)!), index * dim));
      const result = await this.#step(embeds, beams.length, gatherBatch(this.#ort, present, parents), run);
      ({ logits, sequence, present } = result);
    }
    const pool = finished.length > 0 ? finished : beams;
    const best = pool.reduce((a, b) => (normalisedScore(b) > normalisedScore(a) ? b : a));
    return { best, prefillMs, decodeMs: performance.now() - decodeStart };
  }
}

/** Length-normalised score, so beam search does not favour short transcripts. */
function normalisedScore(hypothesis: Hypothesis): number {
  return hypothesis.score / hypothesis.tokens.length;
}

function initialHypothesis(scoring: Scoring): Hypothesis {
  return { tokens: [], logProbability: 0, score: 0, ctc: scoring.ctc?.scorer.initial(), words: scoring.words?.lm.start() };
}

function extended(hypothesis: Hypothesis, candidate: Candidate): Hypothesis {
  return {
    tokens: [...hypothesis.tokens, candidate.id],
    logProbability: hypothesis.logProbability + candidate.lmLogProbability,
    score: hypothesis.score + candidate.gain,
    ctc: candidate.ctc,
    words: candidate.words,
  };
}

function commonPrefixLength(sequences: readonly (readonly number[])[]): number {
  const [first, ...rest] = sequences;
  let length = 0;
  while (first !== undefined && length < first.length && rest.every((sequence) => sequence[length] === first[length])) length += 1;
  return length;
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

/** Cuts a [layers, 2, batch, heads, positions, headDim] cache back to its first `keep` positions. */
function keepPositions(ort: typeof Ort, cache: Ort.Tensor, keep: number): Ort.Tensor {
  const [layers, pair, batch, heads, positions, headDim] = cache.dims as [number, number, number, number, number, number];
  const source = cache.data as Float32Array;
  const rows = layers * pair * batch * heads;
  const out = new Float32Array(rows * keep * headDim);
  for (let row = 0; row < rows; row += 1) {
    out.set(source.subarray(row * positions * headDim, (row * positions + keep) * headDim), row * keep * headDim);
  }
  return new ort.Tensor('float32', out, [layers, pair, batch, heads, keep, headDim]);
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

/**
 * The model bundle's manifest, read into typed values with a specific error for every field
 * that is missing or of the wrong kind. Everything the engine knows about shapes, scales,
 * tokens and prompts comes from here; nothing about the model is hard-coded in TypeScript.
 */

import { phonesFormat } from './phone-search.js';
import { wordLmFormat } from './word-lm.js';

export type Task = 'asr' | 'vsr' | 'avsr';
export const tasks: readonly Task[] = ['asr', 'vsr', 'avsr'];

export interface AdapterTensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface ScaleSpec {
  readonly id: string;
  readonly audioRate: number;
  readonly videoRate: number;
  readonly lmTokensPerSecond: Readonly<Record<Task, number>>;
  readonly audioOutput: string;
  readonly videoOutput: string;
  readonly adapterFile: string;
  readonly adapterTensors: readonly AdapterTensorSpec[];
  /** Measured figures as the bundle reports them (evaluation, cost); shown to the user as-is. */
  readonly accuracy: unknown;
  readonly cost: unknown;
}

export interface GraphSpec {
  readonly file: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** Joint CTC + LM decoding: the audio encoder output that holds CTC log-probabilities, and how to weigh it. */
export interface CtcDecodingSpec {
  readonly output: string;
  readonly blank: number;
  /** In [0, 1): each prefix scores (1 - weight) log p_LM + weight log p_CTC. */
  readonly weight: number;
  /** How many of the LM's best next tokens get a CTC score at each step. */
  readonly candidates: number;
  /** Where a chunk with audio and video takes its CTC log-probabilities instead; undefined = the audio head's. */
  readonly audioVisual: AudioVisualCtcSpec | undefined;
}

/**
 * The audio-visual CTC head (graphs.av_ctc): it reads the audio encoder's `audioFeatures` and the video
 * encoder's `videoFeatures` output, cut to the same length, and writes log-probabilities to `output`.
 */
export interface AudioVisualCtcSpec {
  readonly output: string;
  readonly audioFeatures: string;
  readonly videoFeatures: string;
}

/** Look-ahead word LM fusion: the file with its tables, and how to weigh its score. */
export interface WordLmSpec {
  /** JSON, gzipped where the name ends in .gz (word_lm.json.gz; word_lm.json in bundles before 2026-12-03). */
  readonly file: string;
  /** At least 0: each candidate also scores weight × its change in log P(words); 0 = off. */
  readonly weight: number;
  /** How many of the LM's best next tokens it scores at each step (with CTC too, the larger of the two counts). */
  readonly candidates: number;
}

/**
 * The phone head (phones.json.gz, see phone-search.ts): chunks with audio and no video, and partial captions,
 * search its `output` instead of the character head's, at decoding.ctc's and decoding.word_lm's weights;
 * chunks with video too search graphs.av_ctc's `audioVisualOutput` where the bundle has it, and chunks with video
 * and no audio the video encoder's `videoOutput` where the bundle has that (else the LM reads them greedily).
 */
export interface PhoneDecodingSpec {
  readonly output: string;
  readonly blank: number;
  readonly file: string;
  readonly audioVisualOutput: string | undefined;
  readonly videoOutput: string | undefined;
}

export const searchMethods = ['rescore', 'greedy', 'beam'] as const;
export type SearchMethod = (typeof searchMethods)[number];

/**
 * How the bundle was evaluated and decodes unless the caller chooses: 'rescore' = CTC prefix beam search
 * with the word LM over `searchBeams` prefixes (undefined: `beams`), its `beams` best rescored by the LM;
 * 'greedy' / 'beam' = the LM's own search.
 */
export interface DefaultSearch {
  readonly method: SearchMethod;
  readonly beams: number;
  readonly searchBeams?: number;
  /** 'rescore' only: the scales (by id) that search narrower and rescore fewer, so that a coarser scale costs less. */
  readonly scaleSearch?: ReadonlyMap<string, ScaleSearchBudget>;
  /** 'rescore' only: the other playback speeds a final caption is searched at and voted with (see speed-vote.ts). */
  readonly speedVote?: SpeedVote;
  /** 'rescore' only: where an audio-visual chunk's phone search also takes the lip reader's (see VideoFusion). */
  readonly videoFusion?: VideoFusion;
}

/**
 * An audio-visual chunk whose audio-visual phone head is unsure of it (the mean over its frames of the likeliest
 * symbol's probability below `belowConfidence`) pools that head's N best with the video phone head's, ranked by
 * log P_AV + `weight` · log P_video of each pronunciation sequence (phone-search.ts `fusedPhoneNBest`). Clean
 * audio keeps the audio-visual head alone, where the lip reader, a far worse recogniser, only adds errors.
 */
export interface VideoFusion {
  readonly weight: number;
  readonly belowConfidence: number;
}

/**
 * The extra playback speeds of the speed vote (1 is the rescored transcript itself), each searched over
 * `searchBeams` prefixes, at the scales (by id) in `scales` (undefined: every scale): its searches cost the
 * same at every scale, and the coarser scales are there to cost less.
 */
export interface SpeedVote {
  readonly speeds: readonly number[];
  readonly searchBeams: number;
  readonly scales?: readonly string[];
}

/** One scale's share of the rescoring search: the prefixes it keeps and the transcripts the LM rescores. */
export interface ScaleSearchBudget {
  readonly searchBeams: number;
  readonly beams: number;
}

export interface BundleManifest {
  readonly id: string;
  readonly formatVersion: number;
  readonly description: string;
  readonly sampleRate: number;
  readonly fps: number;
  readonly roi: { readonly width: number; readonly height: number };
  readonly minAudioSamples: number;
  readonly graphs: {
    readonly audioEncoder: GraphSpec;
    readonly videoEncoder: GraphSpec;
    readonly tokenEmbed: GraphSpec;
    readonly decoder: GraphSpec;
    /** Bundles from before the audio-visual CTC head have none. */
    readonly avCtc: GraphSpec | undefined;
  };
  readonly kvCache: { readonly layers: number; readonly heads: number; readonly headDim: number };
  readonly lm: { readonly dim: number; readonly layers: number; readonly ff: number; readonly vocabSize: number };
  readonly tokenizerFile: string;
  readonly specialTokens: { readonly bos: number; readonly eos: number; readonly audioStart: number; readonly audioEnd: number; readonly videoStart: number; readonly videoEnd: number };
  readonly prompts: Readonly<Record<Task, readonly number[]>>;
  /** Decoding rules the model was evaluated with, so the app decodes the same way. */
  readonly decoding: {
    readonly noRepeatNgram: number;
    readonly ctc: CtcDecodingSpec | undefined;
    readonly wordLm: WordLmSpec | undefined;
    /** Bundles from before the phone head have none. */
    readonly phones: PhoneDecodingSpec | undefined;
    readonly defaultSearch: DefaultSearch;
  };
  /** Finest first, as the manifest lists them. */
  readonly scales: readonly ScaleSpec[];
  readonly evaluationReport: string | undefined;
  readonly provenance: unknown;
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`manifest.json: ${field} ${problem}`);
  }
}

type Json = Record<string, unknown>;

function object(value: unknown, field: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ManifestError(field, 'must be an object');
  return value as Json;
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ManifestError(field, 'must be a non-empty string');
  return value;
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new ManifestError(field, 'must be a positive integer');
  return value;
}

function nonNegativeInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ManifestError(field, 'must be a non-negative integer');
  return value;
}

function positiveNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ManifestError(field, 'must be a positive number');
  return value;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new ManifestError(field, 'must be an array');
  return value;
}

/** A bundle file name: relative, inside the bundle, no parent references. */
function bundlePath(value: unknown, field: string): string {
  const path = string(value, field);
  if (path.startsWith('/') || path.includes('\\') || path.split('/').includes('..')) {
    throw new ManifestError(field, `must be a path inside the bundle, got "${path}"`);
  }
  return path;
}

function graph(value: unknown, field: string): GraphSpec {
  const spec = object(value, field);
  const names = (key: 'inputs' | 'outputs') =>
    array(spec[key], `${field}.${key}`).map((entry, index) => string(object(entry, `${field}.${key}[${index}]`).name, `${field}.${key}[${index}].name`));
  return { file: bundlePath(spec.file, `${field}.file`), inputs: names('inputs'), outputs: names('outputs') };
}

function perTask<T>(value: unknown, field: string, read: (item: unknown, itemField: string) => T): Record<Task, T> {
  const source = object(value, field);
  return { asr: read(source.asr, `${field}.asr`), vsr: read(source.vsr, `${field}.vsr`), avsr: read(source.avsr, `${field}.avsr`) };
}

function tokenIds(value: unknown, field: string): number[] {
  return array(value, field).map((id, index) => nonNegativeInteger(id, `${field}[${index}]`));
}

function scale(value: unknown, field: string): ScaleSpec {
  const spec = object(value, field);
  const outputs = object(spec.encoder_outputs, `${field}.encoder_outputs`);
  const adapter = object(spec.adapter, `${field}.adapter`);
  return {
    id: string(spec.id, `${field}.id`),
    audioRate: positiveInteger(spec.audio_rate, `${field}.audio_rate`),
    videoRate: positiveInteger(spec.video_rate, `${field}.video_rate`),
    lmTokensPerSecond: perTask(spec.lm_tokens_per_second, `${field}.lm_tokens_per_second`, positiveNumber),
    audioOutput: string(outputs.audio, `${field}.encoder_outputs.audio`),
    videoOutput: string(outputs.video, `${field}.encoder_outputs.video`),
    adapterFile: bundlePath(adapter.file, `${field}.adapter.file`),
    adapterTensors: array(adapter.tensors, `${field}.adapter.tensors`).map((entry, index) => {
      const tensorField = `${field}.adapter.tensors[${index}]`;
      const tensor = object(entry, tensorField);
      if (tensor.dtype !== 'float32') throw new ManifestError(`${tensorField}.dtype`, 'must be "float32"');
      return {
        name: string(tensor.name, `${tensorField}.name`),
        shape: array(tensor.shape, `${tensorField}.shape`).map((size, axis) => positiveInteger(size, `${tensorField}.shape[${axis}]`)),
        byteOffset: nonNegativeInteger(tensor.byte_offset, `${tensorField}.byte_offset`),
        byteLength: positiveInteger(tensor.byte_length, `${tensorField}.byte_length`),
      };
    }),
    accuracy: spec.accuracy,
    cost: spec.cost,
  };
}

const greedySearch: DefaultSearch = { method: 'greedy', beams: 1 };

/**
 * Bundles from before joint decoding have no `decoding.ctc` (nor `decoding.word_lm`); they decode with the LM
 * alone. Bundles from before CTC rescoring have no `decoding.default`; they decode greedily.
 */
function decodingRules(value: unknown, graphs: BundleManifest['graphs'], vocabSize: number, scaleIds: readonly string[]): BundleManifest['decoding'] {
  if (value === undefined) return { noRepeatNgram: 0, ctc: undefined, wordLm: undefined, phones: undefined, defaultSearch: greedySearch };
  const rules = object(value, 'decoding');
  const noRepeatNgram = nonNegativeInteger(rules.no_repeat_ngram, 'decoding.no_repeat_ngram');
  const ctc = ctcRules(rules.ctc, graphs, vocabSize);
  const wordLm = wordLmRules(rules.word_lm);
  const phones = phoneRules(rules.phones, graphs);
  const defaultSearch = defaultSearchRules(rules.default, ctc, phones, scaleIds);
  if (phones && !(ctc && wordLm)) throw new ManifestError('decoding.phones', 'needs decoding.ctc and decoding.word_lm: their weights weigh the phone search, and the word LM spells it');
  return { noRepeatNgram, ctc, wordLm, phones, defaultSearch };
}

function phoneRules(value: unknown, graphs: BundleManifest['graphs']): PhoneDecodingSpec | undefined {
  if (value === undefined) return undefined;
  const rules = object(value, 'decoding.phones');
  if (rules.format !== phonesFormat) throw new ManifestError('decoding.phones.format', `must be "${phonesFormat}"`);
  const output = string(rules.output, 'decoding.phones.output');
  if (!graphs.audioEncoder.outputs.includes(output)) throw new ManifestError('decoding.phones.output', `"${output}" is not an output of graphs.audio_encoder`);
  // the other phone heads are optional, each an output of the graph that computes it
  const optionalOutput = (value: unknown, field: string, graph: GraphSpec | undefined, graphName: string): string | undefined => {
    if (value === undefined) return undefined;
    const name = string(value, field);
    if (!graph?.outputs.includes(name)) throw new ManifestError(field, `"${name}" is not an output of ${graphName}`);
    return name;
  };
  return {
    output,
    blank: nonNegativeInteger(rules.blank, 'decoding.phones.blank'),
    file: bundlePath(rules.file, 'decoding.phones.file'),
    audioVisualOutput: optionalOutput(rules.audio_visual_output, 'decoding.phones.audio_visual_output', graphs.avCtc, 'graphs.av_ctc'),
    videoOutput: optionalOutput(rules.video_output, 'decoding.phones.video_output', graphs.videoEncoder, 'graphs.video_encoder'),
  };
}

function defaultSearchRules(value: unknown, ctc: CtcDecodingSpec | undefined, phones: PhoneDecodingSpec | undefined, scaleIds: readonly string[]): DefaultSearch {
  if (value === undefined) return greedySearch;
  const rules = object(value, 'decoding.default');
  const method = rules.method;
  if (!searchMethods.includes(method as SearchMethod)) throw new ManifestError('decoding.default.method', `must be one of ${searchMethods.join(', ')}`);
  if (method === 'rescore' && !ctc) throw new ManifestError('decoding.default.method', '"rescore" needs the CTC head of decoding.ctc');
  const beams = positiveInteger(rules.beams, 'decoding.default.beams');
  if (method !== 'rescore') {
    for (const field of ['search_beams', 'scale_search', 'speed_vote', 'video_fusion'] as const) {
      if (rules[field] !== undefined) throw new ManifestError(`decoding.default.${field}`, 'applies to "rescore" only');
    }
    return { method: method as SearchMethod, beams };
  }
  const searchBeams = rules.search_beams === undefined ? undefined : positiveInteger(rules.search_beams, 'decoding.default.search_beams');
  if (searchBeams !== undefined && searchBeams < beams) {
    throw new ManifestError('decoding.default.search_beams', `must be at least decoding.default.beams (${beams}): the search finds the transcripts the LM rescores`);
  }
  const scaleSearch = rules.scale_search === undefined ? undefined : scaleSearchRules(rules.scale_search, scaleIds);
  const speedVote = rules.speed_vote === undefined ? undefined : speedVoteRules(rules.speed_vote, scaleIds);
  const videoFusion = rules.video_fusion === undefined ? undefined : videoFusionRules(rules.video_fusion, phones);
  return {
    method: 'rescore',
    beams,
    ...(searchBeams === undefined ? {} : { searchBeams }),
    ...(scaleSearch ? { scaleSearch } : {}),
    ...(speedVote ? { speedVote } : {}),
    ...(videoFusion ? { videoFusion } : {}),
  };
}

function videoFusionRules(value: unknown, phones: PhoneDecodingSpec | undefined): VideoFusion {
  const field = 'decoding.default.video_fusion';
  if (phones?.audioVisualOutput === undefined || phones.videoOutput === undefined) {
    throw new ManifestError(field, 'needs decoding.phones with audio_visual_output and video_output: it pools those two heads\' searches');
  }
  const rules = object(value, field);
  const { weight, below_confidence: belowConfidence } = rules;
  if (typeof weight !== 'number' || !(weight > 0 && Number.isFinite(weight))) throw new ManifestError(`${field}.weight`, 'must be a number above 0');
  if (typeof belowConfidence !== 'number' || !(belowConfidence > 0 && belowConfidence <= 1)) throw new ManifestError(`${field}.below_confidence`, 'must be a probability in (0, 1]');
  return { weight, belowConfidence };
}

function speedVoteRules(value: unknown, scaleIds: readonly string[]): SpeedVote {
  const field = 'decoding.default.speed_vote';
  const rules = object(value, field);
  const speeds = rules.speeds;
  if (!Array.isArray(speeds) || speeds.length === 0) throw new ManifestError(`${field}.speeds`, 'must be a non-empty list of playback speeds');
  speeds.forEach((speed: unknown, index) => {
    // a chunk resampled beyond these is no longer speech the encoder can read, and 1 is the pivot itself
    if (typeof speed !== 'number' || !(speed >= 0.5 && speed <= 2) || speed === 1) throw new ManifestError(`${field}.speeds[${index}]`, 'must be a speed in [0.5, 2] other than 1');
    if (speeds.indexOf(speed) !== index) throw new ManifestError(`${field}.speeds[${index}]`, `repeats ${speed}`);
  });
  const searchBeams = positiveInteger(rules.search_beams, `${field}.search_beams`);
  if (rules.scales === undefined) return { speeds: speeds as number[], searchBeams };
  const scales = rules.scales;
  if (!Array.isArray(scales) || scales.length === 0) throw new ManifestError(`${field}.scales`, 'must be a non-empty list of scale ids');
  scales.forEach((id: unknown, index) => {
    if (typeof id !== 'string' || !scaleIds.includes(id)) throw new ManifestError(`${field}.scales[${index}]`, `is not one of the bundle's scales (${scaleIds.join(', ')})`);
    if (scales.indexOf(id) !== index) throw new ManifestError(`${field}.scales[${index}]`, `repeats ${id}`);
  });
  return { speeds: speeds as number[], searchBeams, scales: scales as string[] };
}

function scaleSearchRules(value: unknown, scaleIds: readonly string[]): ReadonlyMap<string, ScaleSearchBudget> {
  const field = 'decoding.default.scale_search';
  const budgets = new Map<string, ScaleSearchBudget>();
  for (const [id, entry] of Object.entries(object(value, field))) {
    if (!scaleIds.includes(id)) throw new ManifestError(`${field}.${id}`, `is not one of the bundle's scales (${scaleIds.join(', ')})`);
    const budget = object(entry, `${field}.${id}`);
    const searchBeams = positiveInteger(budget.search_beams, `${field}.${id}.search_beams`);
    const beams = positiveInteger(budget.beams, `${field}.${id}.beams`);
    if (beams > searchBeams) throw new ManifestError(`${field}.${id}.beams`, `must be at most its search_beams (${searchBeams}): the search finds the transcripts the LM rescores`);
    budgets.set(id, { searchBeams, beams });
  }
  return budgets;
}

function wordLmRules(value: unknown): WordLmSpec | undefined {
  if (value === undefined) return undefined;
  const rules = object(value, 'decoding.word_lm');
  if (rules.format !== wordLmFormat) throw new ManifestError('decoding.word_lm.format', `must be "${wordLmFormat}"`);
  const weight = rules.weight;
  if (typeof weight !== 'number' || !(weight >= 0 && Number.isFinite(weight))) throw new ManifestError('decoding.word_lm.weight', 'must be a number of at least 0');
  return { file: bundlePath(rules.file, 'decoding.word_lm.file'), weight, candidates: positiveInteger(rules.candidates, 'decoding.word_lm.candidates') };
}

function ctcRules(value: unknown, graphs: BundleManifest['graphs'], vocabSize: number): CtcDecodingSpec | undefined {
  if (value === undefined) return undefined;
  const ctc = object(value, 'decoding.ctc');
  const output = string(ctc.output, 'decoding.ctc.output');
  if (!graphs.audioEncoder.outputs.includes(output)) throw new ManifestError('decoding.ctc.output', `"${output}" is not an output of graphs.audio_encoder`);
  const blank = nonNegativeInteger(ctc.blank, 'decoding.ctc.blank');
  if (blank >= vocabSize) throw new ManifestError('decoding.ctc.blank', `is ${blank}, outside the vocabulary of ${vocabSize}`);
  const weight = ctc.weight;
  if (typeof weight !== 'number' || !(weight >= 0 && weight < 1)) throw new ManifestError('decoding.ctc.weight', 'must be a number in [0, 1)');
  return {
    output,
    blank,
    weight,
    candidates: positiveInteger(ctc.candidates, 'decoding.ctc.candidates'),
    audioVisual: audioVisualCtcRules(ctc.audio_visual_output, graphs),
  };
}

function audioVisualCtcRules(value: unknown, graphs: BundleManifest['graphs']): AudioVisualCtcSpec | undefined {
  if (value === undefined) return undefined;
  const field = 'decoding.ctc.audio_visual_output';
  const output = string(value, field);
  const head = graphs.avCtc;
  if (!head) throw new ManifestError(field, 'needs graphs.av_ctc');
  if (!head.outputs.includes(output)) throw new ManifestError(field, `"${output}" is not an output of graphs.av_ctc`);
  const [audioFeatures, videoFeatures] = head.inputs;
  if (head.inputs.length !== 2 || !graphs.audioEncoder.outputs.includes(audioFeatures!) || !graphs.videoEncoder.outputs.includes(videoFeatures!)) {
    throw new ManifestError('graphs.av_ctc.inputs', 'must be an output of graphs.audio_encoder, then one of graphs.video_encoder');
  }
  return { output, audioFeatures: audioFeatures!, videoFeatures: videoFeatures! };
}

export const supportedFormatVersion = 1;

export function parseManifest(raw: unknown): BundleManifest {
  const root = object(raw, 'manifest');
  if (root.format !== 'nestcap-av-bundle') throw new ManifestError('format', 'must be "nestcap-av-bundle"');
  const formatVersion = positiveInteger(root.format_version, 'format_version');
  if (formatVersion !== supportedFormatVersion) {
    throw new ManifestError('format_version', `is ${formatVersion}; this app reads version ${supportedFormatVersion}`);
  }
  const roi = object(root.roi, 'roi');
  const audio = object(root.audio, 'audio');
  const graphs = object(root.graphs, 'graphs');
  const decoder = object(graphs.decoder, 'graphs.decoder');
  const kvCache = object(decoder.kv_cache, 'graphs.decoder.kv_cache');
  const lm = object(root.lm, 'lm');
  const special = object(root.special_tokens, 'special_tokens');
  const tokenizer = object(root.tokenizer, 'tokenizer');
  const evaluation = root.evaluation === undefined ? undefined : object(root.evaluation, 'evaluation');
  const scales = array(root.scales, 'scales').map((entry, index) => scale(entry, `scales[${index}]`));
  const graphSpecs: BundleManifest['graphs'] = {
    audioEncoder: graph(graphs.audio_encoder, 'graphs.audio_encoder'),
    videoEncoder: graph(graphs.video_encoder, 'graphs.video_encoder'),
    tokenEmbed: graph(graphs.token_embed, 'graphs.token_embed'),
    decoder: graph(decoder, 'graphs.decoder'),
    avCtc: graphs.av_ctc === undefined ? undefined : graph(graphs.av_ctc, 'graphs.av_ctc'),
  };
  const vocabSize = positiveInteger(lm.vocab_size, 'lm.vocab_size');
  if (scales.length === 0) throw new ManifestError('scales', 'must list at least one scale');
  const ids = new Set(scales.map((entry) => entry.id));
  if (ids.size !== scales.length) throw new ManifestError('scales', 'must have unique ids');
  return {
    id: string(root.id, 'id'),
    formatVersion,
    description: typeof root.description === 'string' ? root.description : '',
    sampleRate: positiveInteger(root.sample_rate, 'sample_rate'),
    fps: positiveInteger(root.fps, 'fps'),
    roi: { width: positiveInteger(roi.width, 'roi.width'), height: positiveInteger(roi.height, 'roi.height') },
    minAudioSamples: positiveInteger(audio.min_samples, 'audio.min_samples'),
    graphs: graphSpecs,
    kvCache: {
      layers: positiveInteger(kvCache.layers, 'graphs.decoder.kv_cache.layers'),
      heads: positiveInteger(kvCache.heads, 'graphs.decoder.kv_cache.heads'),
      headDim: positiveInteger(kvCache.head_dim, 'graphs.decoder.kv_cache.head_dim'),
    },
    lm: {
      dim: positiveInteger(lm.dim, 'lm.dim'),
      layers: positiveInteger(lm.layers, 'lm.layers'),
      ff: positiveInteger(lm.ff, 'lm.ff'),
      vocabSize,
    },
    tokenizerFile: bundlePath(tokenizer.file, 'tokenizer.file'),
    specialTokens: {
      bos: nonNegativeInteger(special.bos, 'special_tokens.bos'),
      eos: nonNegativeInteger(special.eos, 'special_tokens.eos'),
      audioStart: nonNegativeInteger(special.audio_start, 'special_tokens.audio_start'),
      audioEnd: nonNegativeInteger(special.audio_end, 'special_tokens.audio_end'),
      videoStart: nonNegativeInteger(special.video_start, 'special_tokens.video_start'),
      videoEnd: nonNegativeInteger(special.video_end, 'special_tokens.video_end'),
    },
    prompts: perTask(root.prompts, 'prompts', tokenIds),
    decoding: decodingRules(root.decoding, graphSpecs, vocabSize, scales.map((entry) => entry.id)),
    scales,
    evaluationReport: evaluation && typeof evaluation.report === 'string' ? evaluation.report : undefined,
    provenance: root.provenance,
  };
}

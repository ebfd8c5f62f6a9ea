import type * as Ort from 'onnxruntime-node';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ExecutionProviderName } from '../ipc/contract.js';
import { BundleUnavailableError, readBundleManifest } from './bundle-location.js';
import { ManifestError, parseManifest, type BundleManifest, type GraphSpec } from './bundle-manifest.js';
import { missingProviderLibrary } from './execution-providers.js';
import { PhoneLexicon } from './phone-search.js';
import { CharTokenizer } from './tokenizer.js';
import { WordLm, WordLmError } from './word-lm.js';

/**
 * A loaded model bundle: its manifest, one ONNX session per graph and every scale's adapter
 * tensors, all created once. Switching scale between chunks only changes which adapter
 * tensors and which encoder output are used, so it costs no reload and no allocation spike.
 */

export type BundleProblem = 'missing-file' | 'truncated-file' | 'mismatch' | 'malformed-manifest' | 'corrupt-graph';

export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    readonly problem: BundleProblem,
    message: string,
  ) {
    super(message);
  }
}

export type DevicePreference = 'auto' | ExecutionProviderName;

export interface ProviderChoice {
  readonly used: ExecutionProviderName;
  /** Providers tried before the one used, each with ONNX Runtime's reason for refusing. */
  readonly fallbacks: readonly { readonly provider: ExecutionProviderName; readonly reason: string }[];
}

export interface LoadOptions {
  readonly device: DevicePreference;
  /** Candidates for `auto`, best first (see candidateProviders). */
  readonly autoCandidates: readonly ExecutionProviderName[];
  /** Threads for one operator; the default leaves a core for decoding media and the UI. */
  readonly intraOpThreads?: number;
}

export interface LoadedBundle {
  readonly directory: string;
  readonly manifest: BundleManifest;
  readonly tokenizer: CharTokenizer;
  /** The look-ahead word LM, where the manifest has one. */
  readonly wordLm: WordLm | undefined;
  /** The phone head's lexicon and pronunciation word LM, where the manifest has them. */
  readonly phones: PhoneLexicon | undefined;
  readonly sessions: {
    readonly audioEncoder: Ort.InferenceSession;
    readonly videoEncoder: Ort.InferenceSession;
    readonly tokenEmbed: Ort.InferenceSession;
    readonly decoder: Ort.InferenceSession;
    /** The audio-visual CTC head, where the bundle has one. */
    readonly avCtc: Ort.InferenceSession | undefined;
  };
  /** Per scale, the decoder's adapter inputs by name. */
  readonly adapters: readonly Readonly<Record<string, Ort.Tensor>>[];
  readonly provider: ProviderChoice;
  release(): Promise<void>;
}

function fileSize(directory: string, file: string): number {
  try {
    return statSync(join(directory, file)).size;
  } catch {
    throw new BundleError('missing-file', `The model bundle at ${directory} is missing ${file}.`);
  }
}

function checkFiles(directory: string, manifest: BundleManifest): void {
  for (const spec of Object.values(manifest.graphs)) {
    if (spec === undefined) continue;
    if (fileSize(directory, spec.file) === 0) throw new BundleError('truncated-file', `${spec.file} in ${directory} is empty.`);
  }
  fileSize(directory, manifest.tokenizerFile);
  for (const spec of [manifest.decoding.wordLm, manifest.decoding.phones]) {
    if (spec && fileSize(directory, spec.file) === 0) throw new BundleError('truncated-file', `${spec.file} in ${directory} is empty.`);
  }
  for (const scale of manifest.scales) {
    const expected = Math.max(...scale.adapterTensors.map((tensor) => tensor.byteOffset + tensor.byteLength));
    const actual = fileSize(directory, scale.adapterFile);
    if (actual < expected) {
      throw new BundleError('truncated-file', `${scale.adapterFile} has ${actual} bytes; scale ${scale.id} needs ${expected}.`);
    }
    if (actual > expected) {
      throw new BundleError('mismatch', `${scale.adapterFile} has ${actual} bytes; the manifest describes ${expected}.`);
    }
    for (const tensor of scale.adapterTensors) {
      const elements = tensor.shape.reduce((product, size) => product * size, 1);
      if (elements * 4 !== tensor.byteLength) {
        throw new BundleError('mismatch', `adapter ${tensor.name} of scale ${scale.id}: shape ${tensor.shape.join('x')} does not fill ${tensor.byteLength} bytes.`);
      }
    }
  }
}

function readAdapters(ort: typeof Ort, directory: string, manifest: BundleManifest): Record<string, Ort.Tensor>[] {
  return manifest.scales.map((scale) => {
    const bytes = readFileSync(join(directory, scale.adapterFile));
    const tensors: Record<string, Ort.Tensor> = {};
    for (const spec of scale.adapterTensors) {
      // Copy into an aligned buffer: the file's bytes may not start on a 4-byte boundary.
      const data = new Float32Array(spec.byteLength / 4);
      new Uint8Array(data.buffer).set(bytes.subarray(spec.byteOffset, spec.byteOffset + spec.byteLength));
      tensors[spec.name] = new ort.Tensor('float32', data, spec.shape);
    }
    return tensors;
  });
}

function sessionOptions(provider: ExecutionProviderName, intraOpThreads: number): Ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: 3,
  };
}

async function createSession(ort: typeof Ort, directory: string, spec: GraphSpec, options: Ort.InferenceSession.SessionOptions) {
  const path = join(directory, spec.file);
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, options);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new BundleError('corrupt-graph', `${spec.file} could not be loaded (truncated or corrupt?): ${reason}`);
  }
  for (const [kind, expected, actual] of [
    ['input', spec.inputs, session.inputNames],
    ['output', spec.outputs, session.outputNames],
  ] as const) {
    const missing = expected.filter((name) => !actual.includes(name));
    if (missing.length > 0) {
      await session.release();
      throw new BundleError('mismatch', `${spec.file} has no ${kind} named ${missing.join(', ')} although the manifest lists it.`);
    }
  }
  return session;
}

/** A JSON file of the bundle, gunzipped first where its name ends in .gz (the word LM and the phone lexicon). */
export function readBundleJson(directory: string, file: string): unknown {
  const gzipped = file.endsWith('.gz');
  try {
    const bytes = readFileSync(join(directory, file));
    return JSON.parse((gzipped ? gunzipSync(bytes) : bytes).toString('utf8'));
  } catch (error) {
    throw new BundleError('truncated-file', `${file} in ${directory} is not complete ${gzipped ? 'gzipped ' : ''}JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Parses one of the bundle's decoding tables, naming the file in a mismatch. */
function parseTable<T>(directory: string, file: string, parse: (raw: unknown) => T): T {
  const raw = readBundleJson(directory, file);
  try {
    return parse(raw);
  } catch (error) {
    if (error instanceof WordLmError) throw new BundleError('mismatch', `${file} in ${directory}: ${error.message}`);
    throw error;
  }
}

function readWordLm(directory: string, manifest: BundleManifest): WordLm | undefined {
  const spec = manifest.decoding.wordLm;
  return spec && parseTable(directory, spec.file, (raw) => WordLm.parse(raw));
}

function readPhones(directory: string, manifest: BundleManifest): PhoneLexicon | undefined {
  const spec = manifest.decoding.phones;
  return spec && parseTable(directory, spec.file, (raw) => PhoneLexicon.parse(raw, spec.blank));
}

export async function loadBundle(ort: typeof Ort, directory: string, options: LoadOptions): Promise<LoadedBundle> {
  let manifest: BundleManifest;
  try {
    manifest = parseManifest(readBundleManifest(directory));
  } catch (error) {
    if (error instanceof ManifestError || error instanceof BundleUnavailableError) {
      throw new BundleError(error instanceof ManifestError ? 'malformed-manifest' : 'missing-file', error.message);
    }
    throw error;
  }
  checkFiles(directory, manifest);
  let tokenizer: CharTokenizer;
  try {
    tokenizer = CharTokenizer.parse(JSON.parse(readFileSync(join(directory, manifest.tokenizerFile), 'utf8')), manifest.lm.vocabSize);
  } catch (error) {
    throw new BundleError('mismatch', error instanceof Error ? error.message : String(error));
  }
  const wordLm = readWordLm(directory, manifest);
  const phones = readPhones(directory, manifest);
  const adapters = readAdapters(ort, directory, manifest);

  const candidates = options.device === 'auto' ? options.autoCandidates : [options.device];
  const fallbacks: { provider: ExecutionProviderName; reason: string }[] = [];
  const threads = options.intraOpThreads ?? 2;
  for (const provider of candidates) {
    const missing = missingProviderLibrary(provider, process.platform, process.arch);
    if (missing !== undefined) {
      fallbacks.push({ provider, reason: missing });
      continue;
    }
    // The decoder is the largest graph and the first to fail on a provider that cannot run it.
    let decoder: Ort.InferenceSession;
    try {
      decoder = await ort.InferenceSession.create(join(directory, manifest.graphs.decoder.file), sessionOptions(provider, threads));
      await decoder.release();
    } catch (error) {
      fallbacks.push({ provider, reason: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error) });
      continue;
    }
    const sessionOpts = sessionOptions(provider, threads);
    const { avCtc: avCtcGraph } = manifest.graphs;
    const [audioEncoder, videoEncoder, tokenEmbed, decoderSession, avCtc] = await Promise.all([
      createSession(ort, directory, manifest.graphs.audioEncoder, sessionOpts),
      createSession(ort, directory, manifest.graphs.videoEncoder, sessionOpts),
      createSession(ort, directory, manifest.graphs.tokenEmbed, sessionOpts),
      createSession(ort, directory, manifest.graphs.decoder, sessionOpts),
      avCtcGraph ? createSession(ort, directory, avCtcGraph, sessionOpts) : undefined,
    ]);
    const sessions = { audioEncoder, videoEncoder, tokenEmbed, decoder: decoderSession, avCtc };
    return {
      directory,
      manifest,
      tokenizer,
      wordLm,
      phones,
      sessions,
      adapters,
      provider: { used: provider, fallbacks },
      async release() {
        await Promise.all(Object.values(sessions).flatMap((session) => (session ? [session.release()] : [])));
      },
    };
  }
  if (options.device !== 'auto') {
    throw new BundleError('corrupt-graph', `The ${options.device} execution provider could not run the model: ${fallbacks[0]?.reason ?? 'unknown reason'}`);
  }
  throw new BundleError('corrupt-graph', `No execution provider could run the model: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
}

import type * as Ort from 'onnxruntime-node';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Silero VAD (v5), the graph shipped inside the @ricky0123/vad-web npm package, run with
 * onnxruntime-node. It scores 32 ms frames of 16 kHz audio; the model expects the last 64
 * samples of the previous frame in front of each frame and carries an LSTM state.
 */

export const vadSampleRate = 16000;
export const vadFrameSamples = 512;
const contextSamples = 64;

export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@ricky0123/vad-web/package.json')), 'dist', 'silero_vad_v5.onnx');
}

export class VoiceActivityDetector {
  readonly #ort: typeof Ort;
  readonly #session: Ort.InferenceSession;
  readonly #sampleRate: Ort.Tensor;
  #state: Ort.Tensor;
  #context = new Float32Array(contextSamples);
  readonly #input = new Float32Array(contextSamples + vadFrameSamples);

  private constructor(ort: typeof Ort, session: Ort.InferenceSession) {
    this.#ort = ort;
    this.#session = session;
    this.#sampleRate = new ort.Tensor('int64', BigInt64Array.from([BigInt(vadSampleRate)]), []);
    this.#state = VoiceActivityDetector.#zeroState(ort);
  }

  static async create(ort: typeof Ort, modelPath = sileroModelPath()): Promise<VoiceActivityDetector> {
    // One thread: VAD frames are tiny, and the recognizer needs the cores.
    const session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    return new VoiceActivityDetector(ort, session);
  }

  static #zeroState(ort: typeof Ort): Ort.Tensor {
    return new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
  }

  /** Speech probability of one frame of exactly {@link vadFrameSamples} samples. */
  async score(frame: Float32Array): Promise<number> {
    if (frame.length !== vadFrameSamples) throw new RangeError(`VAD frames must have ${vadFrameSamples} samples, got ${frame.length}`);
    this.#input.set(this.#context, 0);
    this.#input.set(frame, contextSamples);
    this.#context = frame.slice(vadFrameSamples - contextSamples);
    const output = await this.#session.run({
      input: new this.#ort.Tensor('float32', this.#input, [1, this.#input.length]),
      state: this.#state,
      sr: this.#sampleRate,
    });
    this.#state = output.stateN!;
    return (output.output!.data as Float32Array)[0]!;
  }

  reset(): void {
    this.#state = VoiceActivityDetector.#zeroState(this.#ort);
    this.#context = new Float32Array(contextSamples);
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

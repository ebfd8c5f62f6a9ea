import type { MouthFrame } from './caption-engine.js';

/** Audio and mouth-frame bookkeeping shared by the file engine and the live captioner. */

/** The last few seconds of audio, addressable by absolute sample index. */
export class AudioHistory {
  readonly #buffer: Float32Array;
  #end = 0;

  constructor(capacitySamples: number) {
    this.#buffer = new Float32Array(capacitySamples);
  }

  get endSample(): number {
    return this.#end;
  }

  append(samples: Float32Array): void {
    const capacity = this.#buffer.length;
    for (let index = 0; index < samples.length; index += 1) this.#buffer[(this.#end + index) % capacity] = samples[index]!;
    this.#end += samples.length;
  }

  /** Moves the end forward over a stretch with no audio, which reads back as silence. */
  skipTo(endSample: number): void {
    if (endSample <= this.#end) return;
    const silent = Math.min(endSample - this.#end, this.#buffer.length);
    this.append(new Float32Array(silent));
    this.#end = endSample;
  }

  slice(startSample: number, endSample: number): Float32Array {
    const start = Math.max(startSample, this.#end - this.#buffer.length, 0);
    const end = Math.min(endSample, this.#end);
    const out = new Float32Array(Math.max(0, end - start));
    for (let index = 0; index < out.length; index += 1) out[index] = this.#buffer[(start + index) % this.#buffer.length]!;
    return out;
  }
}

/** Frames without a face reuse the previous face so the video stays evenly timed. */
export function packFrames(frames: readonly MouthFrame[], frameBytes: number): { pixels: Uint8Array; count: number } {
  const pixels = new Uint8Array(frames.length * frameBytes);
  let last = frames.find((frame) => frame.roi !== undefined)!.roi!;
  frames.forEach((frame, index) => {
    if (frame.roi) last = frame.roi;
    pixels.set(last, index * frameBytes);
  });
  return { pixels, count: frames.length };
}

/** Two runs of samples as one (the carried remainder of the last VAD frame, then new audio). */
export function concatSamples(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

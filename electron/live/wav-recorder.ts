import { open, type FileHandle } from 'node:fs/promises';

/**
 * Records a live session's audio as 16-bit mono WAV while it is captioned, so the transcript
 * can be played back and re-run later. The header's sizes are rewritten every few seconds, so
 * a crash leaves a playable file missing at most those seconds; `repairWavHeader` fixes even
 * that from the file's length.
 */

const headerBytes = 44;

function header(sampleRate: number, dataBytes: number): Buffer {
  const buffer = Buffer.alloc(headerBytes);
  buffer.write('RIFF', 0, 'ascii');
  buffer.writeUInt32LE(36 + dataBytes, 4);
  buffer.write('WAVE', 8, 'ascii');
  buffer.write('fmt ', 12, 'ascii');
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20); // PCM
  buffer.writeUInt16LE(1, 22); // mono
  buffer.writeUInt32LE(sampleRate, 24);
  buffer.writeUInt32LE(sampleRate * 2, 28);
  buffer.writeUInt16LE(2, 32);
  buffer.writeUInt16LE(16, 34);
  buffer.write('data', 36, 'ascii');
  buffer.writeUInt32LE(dataBytes, 40);
  return buffer;
}

export class WavRecorder {
  readonly path: string;
  readonly #file: FileHandle;
  readonly #sampleRate: number;
  readonly #headerEverySamples: number;
  #samples = 0;
  #samplesAtHeader = 0;
  /** Writes run one after another; a failure stops recording and is kept for the caller. */
  #chain: Promise<void> = Promise.resolve();
  #failure: Error | undefined;

  private constructor(path: string, file: FileHandle, sampleRate: number) {
    this.path = path;
    this.#file = file;
    this.#sampleRate = sampleRate;
    this.#headerEverySamples = sampleRate * 5;
  }

  static async create(path: string, sampleRate: number): Promise<WavRecorder> {
    // 'wx': never overwrite an earlier recording.
    const file = await open(path, 'wx');
    try {
      await file.write(header(sampleRate, 0), 0, headerBytes, 0);
    } catch (error) {
      await file.close();
      throw error;
    }
    return new WavRecorder(path, file, sampleRate);
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  get durationSeconds(): number {
    return this.#samples / this.#sampleRate;
  }

  get sizeBytes(): number {
    return headerBytes + this.#samples * 2;
  }

  /** Samples at `startSample`; a gap since the last write is recorded as silence. */
  write(startSample: number, samples: Float32Array): void {
    if (this.#failure) return;
    const skip = Math.max(0, this.#samples - startSample);
    const gap = Math.max(0, startSample - this.#samples);
    const count = samples.length - Math.min(skip, samples.length);
    if (count === 0 && gap === 0) return;
    const pcm = Buffer.alloc((gap + count) * 2);
    for (let index = 0; index < count; index += 1) {
      const value = Math.max(-1, Math.min(1, samples[skip + index]!));
      pcm.writeInt16LE(Math.round(value * 32767), (gap + index) * 2);
    }
    const position = headerBytes + this.#samples * 2;
    this.#samples += gap + count;
    const rewriteHeader = this.#samples - this.#samplesAtHeader >= this.#headerEverySamples;
    if (rewriteHeader) this.#samplesAtHeader = this.#samples;
    const dataBytes = this.#samples * 2;
    this.#enqueue(async () => {
      await this.#file.write(pcm, 0, pcm.length, position);
      if (rewriteHeader) await this.#file.write(header(this.#sampleRate, dataBytes), 0, headerBytes, 0);
    });
  }

  /** Finishes the header and closes the file; reports a write failure if there was one. */
  async close(): Promise<Error | undefined> {
    const dataBytes = this.#samples * 2;
    this.#enqueue(() => this.#file.write(header(this.#sampleRate, dataBytes), 0, headerBytes, 0).then(() => undefined));
    await this.#chain;
    await this.#file.close().catch(() => undefined);
    return this.#failure;
  }

  #enqueue(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#failure) return;
      try {
        await work();
      } catch (error) {
        this.#failure = error instanceof Error ? error : new Error(String(error));
      }
    });
  }
}

/** Rewrites the sizes in a recording's header from its length (after a crash). */
export async function repairWavHeader(path: string, sampleRate: number): Promise<number> {
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    const dataBytes = Math.max(0, size - headerBytes) & ~1;
    await file.write(header(sampleRate, dataBytes), 0, headerBytes, 0);
    return dataBytes / 2 / sampleRate;
  } finally {
    await file.close();
  }
}

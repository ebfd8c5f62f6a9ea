import { encodeLiveAudioFrame } from '../../../electron/ipc/contract.js';

/**
 * Runs on the audio rendering thread: collects the microphone's 128-sample render quanta into
 * 100 ms frames of 16 kHz audio (the AudioContext runs at 16 kHz, so the browser has already
 * resampled) and posts each frame straight to the main process over the media port, with its
 * buffer transferred. The page's main thread never touches the audio.
 */

declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new (options: { processorOptions: CaptureOptions }) => AudioWorkletProcessor): void;

export interface CaptureOptions {
  readonly sessionId: number;
  /** Index in the session's timeline of the first sample this capture produces. */
  readonly startSample: number;
  readonly frameSamples: number;
}

/** Messages to the page: levels for the meter, a few times a second. */
export interface CaptureLevel {
  readonly type: 'level';
  readonly rms: number;
  readonly peak: number;
  readonly samples: number;
}

class CaptureProcessor extends AudioWorkletProcessor {
  readonly #sessionId: number;
  readonly #frame: Float32Array;
  #filled = 0;
  #nextStart: number;
  #mediaPort: MessagePort | undefined;
  #stopped = false;

  constructor(options: { processorOptions: CaptureOptions }) {
    super();
    const { sessionId, startSample, frameSamples } = options.processorOptions;
    if (sampleRate !== 16000) throw new Error(`the capture context must run at 16 kHz, not ${sampleRate} Hz`);
    this.#sessionId = sessionId;
    this.#nextStart = startSample;
    this.#frame = new Float32Array(frameSamples);
    this.port.onmessage = (event: MessageEvent<{ type: 'media-port'; port: MessagePort } | { type: 'stop' }>) => {
      if (event.data.type === 'media-port') this.#mediaPort = event.data.port;
      else this.#flushAndStop();
    };
  }

  process(inputs: Float32Array[][]): boolean {
    if (this.#stopped) return false;
    // Mono: the first channel (getUserMedia asks for one; a stereo monitor source is downmixed by the node).
    const channel = inputs[0]?.[0];
    if (channel === undefined) return true;
    let offset = 0;
    while (offset < channel.length) {
      const take = Math.min(channel.length - offset, this.#frame.length - this.#filled);
      this.#frame.set(channel.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === this.#frame.length) this.#send();
    }
    return true;
  }

  #send(): void {
    const samples = this.#frame.subarray(0, this.#filled);
    if (samples.length > 0 && this.#mediaPort) {
      const frame = encodeLiveAudioFrame(this.#sessionId, this.#nextStart, samples);
      this.#mediaPort.postMessage(frame, [frame]);
    }
    let sum = 0;
    let peak = 0;
    for (const sample of samples) {
      sum += sample * sample;
      peak = Math.max(peak, Math.abs(sample));
    }
    const level: CaptureLevel = { type: 'level', rms: Math.sqrt(sum / Math.max(1, samples.length)), peak, samples: samples.length };
    this.port.postMessage(level);
    this.#nextStart += samples.length;
    this.#filled = 0;
  }

  #flushAndStop(): void {
    this.#send();
    this.#stopped = true;
    this.#mediaPort?.close();
  }
}

registerProcessor('nestcap-capture', CaptureProcessor);

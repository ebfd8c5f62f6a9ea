import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const sampleRate = 16000;

/** Real TTS speech from espeak-ng, resampled by ffmpeg to 16 kHz mono float samples. */
export function synthesizeSpeech(text: string, voice = 'en-us', wordsPerMinute = 160): Float32Array {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-tts-'));
  try {
    const wav = join(directory, 'speech.wav');
    const raw = join(directory, 'speech.f32');
    execFileSync('espeak-ng', ['-v', voice, '-s', String(wordsPerMinute), '-w', wav, text]);
    execFileSync('ffmpeg', ['-loglevel', 'error', '-i', wav, '-ac', '1', '-ar', String(sampleRate), '-f', 'f32le', raw]);
    const bytes = readFileSync(raw);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Where the waveform really has sound, ignoring the TTS engine's own leading/trailing silence. */
export function audibleRange(samples: Float32Array, threshold = 0.01): { start: number; end: number } {
  let start = 0;
  while (start < samples.length && Math.abs(samples[start]!) < threshold) start += 1;
  let end = samples.length;
  while (end > start && Math.abs(samples[end - 1]!) < threshold) end -= 1;
  return { start, end };
}

export interface Placed {
  readonly audio: Float32Array;
  /** True speech start/end of each phrase, in seconds of the combined audio. */
  readonly phrases: { start: number; end: number }[];
}

/** Lays phrases out on a timeline with silence (optionally low noise) between them. */
export function layOut(parts: readonly (Float32Array | number)[], noiseAmplitude = 0, seed = 1): Placed {
  const total = parts.reduce<number>((sum, part) => sum + (typeof part === 'number' ? Math.round(part * sampleRate) : part.length), 0);
  const audio = new Float32Array(total);
  let random = seed;
  for (let index = 0; index < total; index += 1) {
    random = (random * 1103515245 + 12345) % 2147483648;
    audio[index] = noiseAmplitude * (random / 1073741824 - 1);
  }
  const phrases: { start: number; end: number }[] = [];
  let offset = 0;
  for (const part of parts) {
    if (typeof part === 'number') {
      offset += Math.round(part * sampleRate);
      continue;
    }
    for (let index = 0; index < part.length; index += 1) audio[offset + index]! += part[index]!;
    const range = audibleRange(part);
    phrases.push({ start: (offset + range.start) / sampleRate, end: (offset + range.end) / sampleRate });
    offset += part.length;
  }
  return { audio, phrases };
}

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './browser.js';

/**
 * Generated audio-visual utterances from the model package's own corpus generator (TTS speech,
 * phone timings, rendered mouth video), read back for engine tests and benchmarks.
 */

export interface Phone {
  readonly phone: string;
  readonly start: number;
  readonly end: number;
}

export interface Utterance {
  readonly transcript: string;
  readonly family: string;
  readonly voice: string;
  /** 16 kHz mono. */
  readonly pcm: Float32Array;
  /** 25 fps grayscale ROI frames, `frameCount` × roi × roi bytes. */
  readonly frames: Uint8Array;
  readonly frameCount: number;
  readonly roi: number;
  readonly phones: readonly Phone[];
}

interface IndexRow {
  transcript: string;
  family: string;
  voice: string;
  audio_off: number;
  audio_len: number;
  video_off: number;
  n_frames: number;
  phones: [string, number, number][];
}

/** Runs `python -m nestcap_av.corpus` for evaluation splits only, unless `directory` already has them. */
export function generateEvaluationCorpus(directory: string, options: { seed: number; seen: number; heldout: number; roi: number }): void {
  if (existsSync(join(directory, 'manifest.json'))) return;
  execFileSync(
    process.env.NESTCAP_PYTHON ?? '/usr/bin/python3',
    ['-m', 'nestcap_av.corpus', '--out', directory, '--seed', String(options.seed), '--n-train', '0',
      '--n-eval-seen', String(options.seen), '--n-eval-heldout', String(options.heldout), '--roi', String(options.roi), '--workers', '2'],
    { cwd: join(projectRoot, 'native-models'), stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

export function readCorpusSplit(directory: string, split: string, roi: number): Utterance[] {
  const folder = join(directory, split);
  const rows = readFileSync(join(folder, 'index.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as IndexRow);
  const audioBytes = readFileSync(join(folder, 'audio.i16'));
  const audio = new Int16Array(audioBytes.buffer, audioBytes.byteOffset, audioBytes.byteLength / 2);
  const video = readFileSync(join(folder, 'video.u8'));
  return rows.map((row) => ({
    transcript: row.transcript,
    family: row.family,
    voice: row.voice,
    pcm: Float32Array.from(audio.subarray(row.audio_off, row.audio_off + row.audio_len), (sample) => sample / 32768),
    frames: new Uint8Array(video.subarray(row.video_off, row.video_off + row.n_frames * roi * roi)),
    frameCount: row.n_frames,
    roi,
    phones: row.phones.map(([phone, start, end]) => ({ phone, start, end })),
  }));
}

export interface Timeline {
  readonly pcm: Float32Array;
  /** One ROI per 25 fps frame over the whole timeline. */
  readonly frames: Uint8Array[];
  /**
   * Where each utterance's speech really is, in seconds: from the first non-pause phone to the
   * last, except that speech ends no later than the waveform's audible end. espeak-ng reports
   * its final phoneme event at the end of its output buffer, up to 0.4 s after the sound stops;
   * festival's segment times already agree with the waveform.
   */
  readonly speech: { start: number; end: number; transcript: string }[];
  readonly durationSeconds: number;
}

const pausePhones = new Set(['pau', 'sil', 'h#', '_', '']);

/** Utterances one after another with `gapSeconds` of silence (mouth at rest) between them. */
export function layOutTimeline(utterances: readonly Utterance[], gapSeconds: number): Timeline {
  const sampleRate = 16000;
  const fps = 25;
  const gapFrames = Math.round(gapSeconds * fps);
  const gapSamples = (gapFrames * sampleRate) / fps;
  const pieces: Float32Array[] = [];
  const frames: Uint8Array[] = [];
  const speech: Timeline['speech'] = [];
  let frameCursor = 0;
  for (const utterance of utterances) {
    const frameBytes = utterance.roi * utterance.roi;
    const rest = utterance.frames.subarray(0, frameBytes);
    pieces.push(new Float32Array(gapSamples));
    for (let index = 0; index < gapFrames; index += 1) frames.push(rest);
    frameCursor += gapFrames;
    const offset = frameCursor / fps;
    const spoken = utterance.phones.filter((phone) => !pausePhones.has(phone.phone));
    const audibleEnd = lastAudibleSample(utterance.pcm) / sampleRate;
    speech.push({ start: offset + (spoken[0]?.start ?? 0), end: offset + Math.min(spoken.at(-1)?.end ?? 0, audibleEnd), transcript: utterance.transcript });
    // Pad the utterance's audio to a whole number of frames so audio and video stay aligned.
    const padded = new Float32Array(utterance.frameCount * (sampleRate / fps));
    padded.set(utterance.pcm.subarray(0, padded.length));
    pieces.push(padded);
    for (let index = 0; index < utterance.frameCount; index += 1) frames.push(utterance.frames.subarray(index * frameBytes, (index + 1) * frameBytes));
    frameCursor += utterance.frameCount;
  }
  pieces.push(new Float32Array(gapSamples));
  for (let index = 0; index < gapFrames; index += 1) frames.push(frames.at(-1)!);
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const pcm = new Float32Array(total);
  let offset = 0;
  for (const piece of pieces) {
    pcm.set(piece, offset);
    offset += piece.length;
  }
  return { pcm, frames, speech, durationSeconds: total / sampleRate };
}

/** Index after the last sample louder than -40 dBFS. */
function lastAudibleSample(pcm: Float32Array, threshold = 0.01): number {
  let end = pcm.length;
  while (end > 0 && Math.abs(pcm[end - 1]!) < threshold) end -= 1;
  return end;
}

/** The eight seen-voice utterances the engine and live tests share (generated once, then reused). */
export function engineTestUtterances(roi: number): Utterance[] {
  const corpus = join(projectRoot, 'test-output', 'engine-corpus', `roi${roi}`);
  mkdirSync(join(corpus, '..'), { recursive: true });
  generateEvaluationCorpus(corpus, { seed: 777, seen: 8, heldout: 0, roi });
  return readCorpusSplit(corpus, 'eval_seen', roi);
}

/**
 * `target` with babble at `snrDb`, as the evaluation makes it (nestcap_av/data.py): other utterances, each at
 * unit power and repeated to the target's length, summed and scaled so that target power / babble power is
 * the SNR. The evaluation draws 3 to 6 talkers at random offsets; this takes the ones given, from their start.
 */
export function withBabble(target: Float32Array, talkers: readonly Float32Array[], snrDb: number): Float32Array {
  const power = (signal: Float32Array) => signal.reduce((sum, sample) => sum + sample * sample, 0) / Math.max(1, signal.length);
  const babble = new Float32Array(target.length);
  for (const talker of talkers) {
    const unit = 1 / Math.sqrt(Math.max(power(talker), 1e-12));
    for (let i = 0; i < babble.length; i += 1) babble[i]! += unit * talker[i % talker.length]!;
  }
  const gain = Math.sqrt(power(target) / (Math.max(power(babble), 1e-12) * 10 ** (snrDb / 10)));
  const mixed = Float32Array.from(target, (sample, i) => sample + gain * babble[i]!);
  const peak = mixed.reduce((max, sample) => Math.max(max, Math.abs(sample)), 0);
  return peak > 1 ? mixed.map((sample) => sample / peak) : mixed;
}

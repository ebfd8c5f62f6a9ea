import { checkMediaFile, ffmpegInputUrl, streamFfmpeg, type FfmpegBinary } from './ffmpeg-process.js';
import { mediaError } from './media-error.js';

/** What the recognizer takes: 16 kHz mono 32-bit float, as the model bundle's graphs expect. */
export const pcmSampleRate = 16000;

export interface AudioDecodeOptions {
  /** Samples per chunk; every chunk but the last has exactly this many. Default one second. */
  readonly chunkSamples?: number;
  /** Where to start, in seconds of the file. */
  readonly startSeconds?: number;
  readonly signal?: AbortSignal;
  /**
   * The duration the probe reported. Formats that are plain frame streams (MP3, ADTS AAC) end
   * silently when cut short; with this, audio that stops well before it is reported as damage.
   */
  readonly expectedDurationSeconds?: number | undefined;
  /** Damage ffmpeg decoded past (a broken packet), as ffmpeg words it. */
  readonly onWarning?: (message: string) => void;
}

export interface PcmChunk {
  /** Time of the chunk's first sample, in seconds of the file. */
  readonly startSeconds: number;
  readonly samples: Float32Array;
}

/**
 * Decodes the file's first audio track to 16 kHz mono float PCM as it streams out of ffmpeg.
 * Memory stays bounded whatever the file's length (see streamFfmpeg). Errors are MediaErrors:
 * 'no-audio-track' before any chunk; damage found mid-file after the chunks that did decode.
 */
export async function* decodeAudio(ffmpeg: FfmpegBinary, path: string, options: AudioDecodeOptions = {}): AsyncGenerator<PcmChunk, void, undefined> {
  const chunkSamples = options.chunkSamples ?? pcmSampleRate;
  if (!Number.isInteger(chunkSamples) || chunkSamples <= 0) throw new RangeError(`chunkSamples must be a positive integer, got ${chunkSamples}`);
  const startSeconds = options.startSeconds ?? 0;
  if (!(startSeconds >= 0)) throw new RangeError(`startSeconds must be 0 or more, got ${startSeconds}`);
  const file = await checkMediaFile(path);
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error',
    // Before -i: seek in the demuxer, then decode accurately to the exact sample.
    ...(startSeconds > 0 ? ['-ss', String(startSeconds)] : []),
    '-i', ffmpegInputUrl(path),
    '-map', '0:a:0', '-vn', '-sn', '-dn',
    '-ac', '1', '-ar', String(pcmSampleRate), '-c:a', 'pcm_f32le', '-f', 'f32le', 'pipe:1',
  ];
  let emitted = 0;
  const stream = streamFfmpeg({ ffmpeg, path, args, chunkBytes: chunkSamples * 4, unitBytes: 4, signal: options.signal, header: file.header, onWarning: options.onWarning });
  for await (const bytes of stream) {
    // streamFfmpeg hands out fresh, 4-byte-aligned buffers, so the view needs no copy.
    const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    yield { startSeconds: startSeconds + emitted / pcmSampleRate, samples };
    emitted += samples.length;
  }
  const expected = options.expectedDurationSeconds;
  if (expected !== undefined) {
    const endedAt = startSeconds + emitted / pcmSampleRate;
    // Probed durations of some formats are estimates; a cut file falls far shorter than this.
    if (endedAt < expected - Math.max(2, 0.05 * expected)) {
      throw mediaError('corrupt', path, `its audio ends after ${formatTime(endedAt)} of ${formatTime(expected)}`);
    }
  }
}

function formatTime(seconds: number): string {
  const whole = Math.round(seconds);
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}

import { execFile } from 'node:child_process';
import { checkMediaFile, classifyFfmpegFailure, ffmpegInputUrl, type FfmpegBinary } from './ffmpeg-process.js';
import { mediaError } from './media-error.js';

export interface AudioStreamInfo {
  /** Index among all the file's streams. */
  readonly index: number;
  readonly codec: string;
  readonly sampleRate: number;
  readonly channels: number;
}

export interface VideoStreamInfo {
  readonly index: number;
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  /** Average frame rate; undefined where the container does not say (a single image, some streams). */
  readonly fps: number | undefined;
}

export interface MediaInfo {
  readonly path: string;
  readonly sizeBytes: number;
  /** Undefined where the container does not say (a raw stream, a live capture). */
  readonly durationSeconds: number | undefined;
  /** ffmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "wav". */
  readonly container: string;
  /** The first audio stream, which the decoders read. */
  readonly audio: AudioStreamInfo | undefined;
  /** The first real video stream; cover art (an attached picture) does not count. */
  readonly video: VideoStreamInfo | undefined;
  readonly probedWith: 'ffprobe' | 'ffmpeg';
}

export interface ProbeOptions {
  /** ffprobe to use; null reads `ffmpeg -i` instead (ffmpeg-static ships no ffprobe). See locateFfprobe. */
  readonly ffprobePath: string | null;
  readonly timeoutMs?: number;
}

/**
 * Describes a media file, or throws a {@link MediaError} saying why it cannot be used: missing,
 * unreadable, not media, damaged, or an audio codec this ffmpeg cannot decode. A file without
 * audio is described (audio: undefined); {@link requireAudio} turns that into an error.
 */
export async function probeMedia(ffmpeg: FfmpegBinary, path: string, options: ProbeOptions): Promise<MediaInfo> {
  const file = await checkMediaFile(path);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const described =
    options.ffprobePath === null
      ? parseFfmpegBanner(await runForStderr(ffmpeg.path, ['-hide_banner', '-nostdin', '-i', ffmpegInputUrl(path)], timeoutMs), path, file.header)
      : await runFfprobe(options.ffprobePath, path, timeoutMs, file.header);
  const info: MediaInfo = { path, sizeBytes: file.sizeBytes, ...described };
  if (info.audio?.codec === 'none') {
    throw mediaError('unsupported-codec', path, 'its audio codec is unknown to this ffmpeg');
  }
  return info;
}

/** The audio stream, or the error captioning gives for a file that has none. */
export function requireAudio(info: MediaInfo): AudioStreamInfo {
  if (info.audio === undefined) throw mediaError('no-audio-track', info.path);
  return info.audio;
}

type Described = Omit<MediaInfo, 'path' | 'sizeBytes'>;

interface FfprobeJson {
  format?: { format_name?: string; duration?: string };
  streams?: {
    index?: number;
    codec_type?: string;
    codec_name?: string;
    sample_rate?: string;
    channels?: number;
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    disposition?: { attached_pic?: number };
  }[];
}

async function runFfprobe(ffprobePath: string, path: string, timeoutMs: number, header: Uint8Array): Promise<Described> {
  const args = ['-v', 'error', '-hide_banner', '-print_format', 'json', '-show_format', '-show_streams', ffmpegInputUrl(path)];
  const { stdout, stderr, code } = await run(ffprobePath, args, timeoutMs, path);
  if (code !== 0) throw classifyFfmpegFailure(stderr, path, header);
  const parsed = JSON.parse(stdout) as FfprobeJson;
  const streams = parsed.streams ?? [];
  const audio = streams.find((stream) => stream.codec_type === 'audio');
  const video = streams.find((stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1);
  const duration = Number.parseFloat(parsed.format?.duration ?? '');
  return {
    durationSeconds: Number.isFinite(duration) ? duration : undefined,
    container: parsed.format?.format_name ?? 'unknown',
    audio:
      audio === undefined
        ? undefined
        : {
            index: audio.index ?? 0,
            codec: audio.codec_name ?? 'none',
            sampleRate: Number.parseInt(audio.sample_rate ?? '0', 10),
            channels: audio.channels ?? 0,
          },
    video:
      video === undefined
        ? undefined
        : {
            index: video.index ?? 0,
            codec: video.codec_name ?? 'none',
            width: video.width ?? 0,
            height: video.height ?? 0,
            fps: parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate),
          },
    probedWith: 'ffprobe',
  };
}

function parseRate(rate: string | undefined): number | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(rate ?? '');
  if (!match) return undefined;
  const value = Number(match[1]) / Number(match[2]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** `ffmpeg -i` with no output always exits 1; its stderr is the description (or the error). */
async function runForStderr(binary: string, args: string[], timeoutMs: number): Promise<string> {
  return (await run(binary, args, timeoutMs, args.at(-1) ?? '')).stderr;
}

function run(binary: string, args: string[], timeoutMs: number, path: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        const reason = error.killed ? `it took longer than ${timeoutMs / 1000} s to read` : `could not run ${binary}: ${error.message}`;
        reject(mediaError('ffmpeg-failed', path, reason, { cause: error }));
        return;
      }
      resolve({ stdout, stderr, code: typeof error?.code === 'number' ? error.code : 0 });
    });
  });
}

/**
 * Reads the "Input #0 ..." block ffmpeg prints for `-i`. Its layout has been stable for over a
 * decade; only the fields the app needs are read.
 */
export function parseFfmpegBanner(stderr: string, path: string, header: Uint8Array | undefined): Described {
  const input = /^Input #0, (.+?), from '/m.exec(stderr);
  if (!input?.[1]) throw classifyFfmpegFailure(stderr, path, header);
  const duration = /^\s*Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/m.exec(stderr);
  let audio: AudioStreamInfo | undefined;
  let video: VideoStreamInfo | undefined;
  for (const match of stderr.matchAll(/^\s*Stream #0:(\d+)\S*: (Audio|Video): (.*)$/gm)) {
    const [, index, type, rest] = match as unknown as [string, string, string, string];
    const codec = /^([\w-]+)/.exec(rest)?.[1] ?? 'none';
    if (type === 'Audio' && audio === undefined) {
      audio = {
        index: Number(index),
        codec,
        sampleRate: Number(/(\d+) Hz/.exec(rest)?.[1] ?? 0),
        channels: parseChannels(rest),
      };
    }
    if (type === 'Video' && video === undefined && !rest.includes('(attached pic)')) {
      const size = /\b(\d{1,5})x(\d{1,5})\b/.exec(rest);
      const fps = /([\d.]+)(k?) fps/.exec(rest);
      video = {
        index: Number(index),
        codec,
        width: Number(size?.[1] ?? 0),
        height: Number(size?.[2] ?? 0),
        fps: fps?.[1] ? Number(fps[1]) * (fps[2] === 'k' ? 1000 : 1) : undefined,
      };
    }
  }
  return {
    durationSeconds: duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : undefined,
    container: input[1],
    audio,
    video,
    probedWith: 'ffmpeg',
  };
}

function parseChannels(description: string): number {
  const named: Record<string, number> = { mono: 1, stereo: 2, '2.1': 3, quad: 4, '4.0': 4, '5.0': 5, '5.1': 6, '6.1': 7, '7.1': 8 };
  for (const part of description.split(', ')) {
    const word = part.replace(/\(.*\)$/, '').trim();
    if (word in named) return named[word]!;
    const count = /^(\d+) channels$/.exec(word);
    if (count?.[1]) return Number(count[1]);
  }
  return 0;
}

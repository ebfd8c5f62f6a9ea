import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { locateFfmpeg, locateFfprobe, type FfmpegLocation } from '../../electron/media/ffmpeg-locator.js';

/** The real ffmpeg the app would use here (Debian's, on PATH), and the ffprobe beside it. */
export const ffmpeg: FfmpegLocation = locateFfmpeg({ env: process.env, platform: process.platform, bundledPath: undefined });
export const ffprobePath = locateFfprobe(ffmpeg, process.env, process.platform) ?? null;

/** A fresh folder under the OS temp dir, removed when the test ends. */
export function scratchFolder(t: TestContext, prefix = 'nestcap-media-'): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** Runs real ffmpeg to make a fixture; `inputs` are lavfi graphs or files, `output` the remaining args. */
export function generate(path: string, inputs: readonly string[], output: readonly string[]): string {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'];
  for (const input of inputs) args.push(...(input.includes('=') ? ['-f', 'lavfi', '-i', input] : ['-i', input]));
  execFileSync(ffmpeg.path, [...args, ...output, path], { stdio: ['ignore', 'ignore', 'pipe'] });
  return path;
}

export const tone = (seconds: number, frequency = 440, rate = 44100) => `sine=frequency=${frequency}:sample_rate=${rate}:duration=${seconds}`;
export const pattern = (seconds: number, size = '320x240', rate = 25) => `testsrc=size=${size}:rate=${rate}:duration=${seconds}`;

/** The common files a user drops in: each with what it should probe as. */
export function commonFormats(directory: string): { name: string; path: string; container: RegExp; audio: string; video: string | undefined }[] {
  return [
    {
      name: 'MP4 (H.264 + AAC)',
      path: generate(join(directory, 'clip.mp4'), [pattern(3), tone(3)], ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']),
      container: /mp4/,
      audio: 'aac',
      video: 'h264',
    },
    {
      name: 'Matroska (H.264 + Vorbis)',
      path: generate(join(directory, 'clip.mkv'), [pattern(3), tone(3)], ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'libvorbis', '-shortest']),
      container: /matroska/,
      audio: 'vorbis',
      video: 'h264',
    },
    {
      name: 'WebM (VP8 + Opus)',
      path: generate(join(directory, 'clip.webm'), [pattern(3, '160x120'), tone(3, 440, 48000)], ['-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '200k', '-c:a', 'libopus', '-shortest']),
      container: /webm/,
      audio: 'opus',
      video: 'vp8',
    },
    {
      name: 'MP3',
      path: generate(join(directory, 'clip.mp3'), [tone(3)], ['-c:a', 'libmp3lame', '-b:a', '64k']),
      container: /^mp3$/,
      audio: 'mp3',
      video: undefined,
    },
    {
      name: 'WAV',
      path: generate(join(directory, 'clip.wav'), [tone(3)], ['-c:a', 'pcm_s16le']),
      container: /^wav$/,
      audio: 'pcm_s16le',
      video: undefined,
    },
  ];
}

/** The first half of a file's bytes: what an interrupted download or copy leaves. */
export function truncate(source: string, destination: string): string {
  const bytes = readFileSync(source);
  writeFileSync(destination, bytes.subarray(0, Math.floor(bytes.length / 2)));
  return destination;
}

/** A WAV whose format tag names no codec ffmpeg knows. */
export function unknownCodecWav(path: string): string {
  const data = Buffer.alloc(16000 * 2);
  const format = Buffer.alloc(16);
  format.writeUInt16LE(0x5555, 0); // the format tag: not a codec anyone registered
  format.writeUInt16LE(1, 2);
  format.writeUInt32LE(16000, 4);
  format.writeUInt32LE(32000, 8);
  format.writeUInt16LE(2, 12);
  format.writeUInt16LE(16, 14);
  const chunk = (id: string, body: Buffer) => Buffer.concat([Buffer.from(id, 'ascii'), u32(body.length), body]);
  const wave = Buffer.concat([Buffer.from('WAVE', 'ascii'), chunk('fmt ', format), chunk('data', data)]);
  writeFileSync(path, Buffer.concat([Buffer.from('RIFF', 'ascii'), u32(wave.length), wave]));
  return path;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value, 0);
  return buffer;
}

/** ffmpeg processes this test process started that are still alive, read from Linux's /proc. */
export function liveFfmpegChildren(): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (comm === 'ffmpeg' && Number(ppid) === process.pid && state !== 'Z') count += 1;
  }
  return count;
}

export const runsAsRoot = process.getuid?.() === 0;

import type { FfmpegBinary } from '../media/ffmpeg-process.js';
import { probeMedia } from '../media/probe.js';
import type { Prober } from './library-scan.js';

/** The real prober for folder scans: ffprobe (or ffmpeg) facts in the form the store keeps. */
export function mediaProber(ffmpeg: FfmpegBinary, ffprobePath: string | null): Prober {
  return async (path) => {
    const info = await probeMedia(ffmpeg, path, { ffprobePath });
    return {
      durationSeconds: info.durationSeconds,
      container: info.container,
      audio: info.audio && { codec: info.audio.codec, sampleRate: info.audio.sampleRate, channels: info.audio.channels },
      video: info.video && { codec: info.video.codec, width: info.video.width, height: info.video.height, fps: info.video.fps },
    };
  };
}

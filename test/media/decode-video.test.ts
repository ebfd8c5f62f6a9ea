import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { decodeVideoFrames, fitWithin, type GrayFrame } from '../../electron/media/decode-video.js';
import { MediaError } from '../../electron/media/media-error.js';
import { probeMedia } from '../../electron/media/probe.js';
import { ffmpeg, ffprobePath, generate, liveFfmpegChildren, pattern, scratchFolder, tone, truncate } from './fixtures.js';

async function collect(frames: AsyncIterable<GrayFrame>): Promise<GrayFrame[]> {
  const all: GrayFrame[] = [];
  for await (const frame of frames) all.push(frame);
  return all;
}

test('any frame rate comes out as 25 fps grayscale frames of the size asked for', async (t) => {
  const directory = scratchFolder(t);
  for (const sourceRate of [10, 25, 30, 60]) {
    const path = generate(join(directory, `camera ${sourceRate} fps.mp4`), [pattern(2, '320x240', sourceRate), tone(2)], ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac']);
    const started = performance.now();
    const frames = await collect(decodeVideoFrames(ffmpeg, path, { size: { width: 160, height: 120 } }));
    t.diagnostic(`${sourceRate} fps source: ${frames.length} frames in ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(frames.length, 50, `${sourceRate} fps source`);
    assert.deepEqual(frames.slice(0, 3).map((frame) => frame.timeSeconds), [0, 0.04, 0.08]);
    assert.ok(frames.every((frame) => frame.width === 160 && frame.height === 120 && frame.pixels.length === 160 * 120));
  }
});

test('pixels are the picture: a mid-gray clip decodes to mid-gray, and a start offset skips ahead', async (t) => {
  const directory = scratchFolder(t);
  const gray = generate(join(directory, 'gray.mkv'), ['color=c=0x808080:size=96x64:rate=25:duration=2'], ['-c:v', 'libx264', '-preset', 'ultrafast']);
  const frames = await collect(decodeVideoFrames(ffmpeg, gray, { size: { width: 48, height: 32 }, startSeconds: 1 }));
  assert.equal(frames.length, 25);
  assert.equal(frames[0]!.timeSeconds, 1);
  const mean = frames[0]!.pixels.reduce((sum, value) => sum + value, 0) / frames[0]!.pixels.length;
  assert.ok(Math.abs(mean - 128) < 4, `mean luma ${mean}`);
});

test('a size that keeps the aspect ratio is derived from the probe', async (t) => {
  const path = generate(join(scratchFolder(t), 'wide.webm'), [pattern(1, '1280x720')], ['-c:v', 'libvpx', '-deadline', 'realtime']);
  const info = await probeMedia(ffmpeg, path, { ffprobePath });
  const size = fitWithin(info.video!, 640, 640);
  assert.deepEqual(size, { width: 640, height: 360 });
  assert.deepEqual(fitWithin({ width: 320, height: 240 }, 640, 640), { width: 320, height: 240 }, 'never upscaled');
  const [first] = await collect(decodeVideoFrames(ffmpeg, path, { size }));
  assert.deepEqual([first?.width, first?.height], [640, 360]);
});

test('an audio file asked for video says it has none', async (t) => {
  const path = generate(join(scratchFolder(t), 'podcast.mp3'), [tone(1)], []);
  await assert.rejects(collect(decodeVideoFrames(ffmpeg, path, { size: { width: 88, height: 88 } })), (error: unknown) => error instanceof MediaError && error.kind === 'no-video-track');
});

test('a cut-off video yields the frames that exist, then reports the damage', async (t) => {
  const directory = scratchFolder(t);
  const whole = generate(join(directory, 'talk.mkv'), [pattern(6, '320x240'), tone(6)], ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'libopus']);
  const frames: GrayFrame[] = [];
  await assert.rejects(
    (async () => {
      for await (const frame of decodeVideoFrames(ffmpeg, truncate(whole, join(directory, 'talk-half.mkv')), { size: { width: 160, height: 120 } })) frames.push(frame);
    })(),
    (error: unknown) => error instanceof MediaError && error.kind === 'corrupt',
  );
  t.diagnostic(`${frames.length} frames before the damage was reported`);
  assert.ok(frames.length > 25 && frames.length < 150);
});

test('aborting a video decode stops ffmpeg', async (t) => {
  const path = generate(join(scratchFolder(t), 'long.mp4'), [pattern(60, '320x240')], ['-c:v', 'libx264', '-preset', 'ultrafast']);
  const controller = new AbortController();
  let frames = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of decodeVideoFrames(ffmpeg, path, { size: { width: 320, height: 240 }, signal: controller.signal })) {
        frames += 1;
        if (frames === 10) controller.abort();
      }
    })(),
    { name: 'AbortError' },
  );
  assert.equal(frames, 10);
  assert.equal(liveFfmpegChildren(), 0);
});

test('a slow consumer of video holds ffmpeg back', async (t) => {
  const path = generate(join(scratchFolder(t), 'minute.mp4'), [pattern(60, '320x240')], ['-c:v', 'libx264', '-preset', 'ultrafast']);
  const baseline = process.memoryUsage.rss();
  const frames = decodeVideoFrames(ffmpeg, path, { size: { width: 320, height: 240 } });
  await frames.next();
  await sleep(1500); // time enough to decode the whole minute: 1,500 frames, 115 MB
  const grown = process.memoryUsage.rss() - baseline;
  t.diagnostic(`RSS grew ${(grown / 1e6).toFixed(1)} MB while the consumer stalled`);
  assert.ok(grown < 20e6);
  await frames.return();
  assert.equal(liveFfmpegChildren(), 0);
});

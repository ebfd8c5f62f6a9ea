import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { decodeAudio, pcmSampleRate, type PcmChunk } from '../../electron/media/decode-audio.js';
import { MediaError } from '../../electron/media/media-error.js';
import { probeMedia } from '../../electron/media/probe.js';
import { commonFormats, ffmpeg, ffprobePath, generate, liveFfmpegChildren, pattern, scratchFolder, tone, truncate, unknownCodecWav } from './fixtures.js';

async function collect(chunks: AsyncIterable<PcmChunk>): Promise<{ chunks: PcmChunk[]; samples: Float32Array }> {
  const all: PcmChunk[] = [];
  for await (const chunk of chunks) all.push(chunk);
  const samples = new Float32Array(all.reduce((sum, chunk) => sum + chunk.samples.length, 0));
  let offset = 0;
  for (const chunk of all) {
    samples.set(chunk.samples, offset);
    offset += chunk.samples.length;
  }
  return { chunks: all, samples };
}

/** Frequency from rising zero crossings: enough to tell a 440 Hz tone from a resampling mistake. */
function dominantFrequency(samples: Float32Array): number {
  let crossings = 0;
  for (let index = 1; index < samples.length; index += 1) if (samples[index - 1]! < 0 && samples[index]! >= 0) crossings += 1;
  return crossings / (samples.length / pcmSampleRate);
}

test('every common format decodes to 16 kHz mono float PCM of the right length and pitch', async (t) => {
  for (const format of commonFormats(scratchFolder(t))) {
    const started = performance.now();
    const { samples } = await collect(decodeAudio(ffmpeg, format.path));
    t.diagnostic(`${format.name}: 3 s decoded in ${(performance.now() - started).toFixed(0)} ms`);
    // Lossy codecs pad or trim a frame or two at the ends.
    assert.ok(Math.abs(samples.length / pcmSampleRate - 3) < 0.08, `${format.name}: ${samples.length / pcmSampleRate} s`);
    assert.ok(Math.abs(dominantFrequency(samples.subarray(8000, -8000)) - 440) < 3, `${format.name}: ${dominantFrequency(samples)} Hz`);
  }
});

test('chunks have the size asked for, carry their time, and a start offset skips ahead exactly', async (t) => {
  const path = generate(join(scratchFolder(t), 'two tones.wav'), ['sine=frequency=300:duration=2', 'sine=frequency=900:duration=2'], [
    '-filter_complex', '[0][1]concat=n=2:v=0:a=1', '-ar', '48000',
  ]);
  const whole = await collect(decodeAudio(ffmpeg, path, { chunkSamples: 1000 }));
  assert.equal(whole.samples.length, 4 * pcmSampleRate);
  assert.ok(whole.chunks.every((chunk) => chunk.samples.length === 1000));
  assert.deepEqual(whole.chunks.slice(0, 3).map((chunk) => chunk.startSeconds), [0, 1000 / pcmSampleRate, 2000 / pcmSampleRate]);

  const tail = await collect(decodeAudio(ffmpeg, path, { chunkSamples: 4096, startSeconds: 2.5 }));
  assert.equal(tail.chunks[0]!.startSeconds, 2.5);
  assert.equal(tail.samples.length, 1.5 * pcmSampleRate);
  assert.equal(tail.chunks.at(-1)!.samples.length, (1.5 * pcmSampleRate) % 4096, 'only the last chunk is short');
  assert.ok(Math.abs(dominantFrequency(tail.samples) - 900) < 3);
});

test('real speech and a silent recording decode as they sound', async (t) => {
  const directory = scratchFolder(t);
  const wav = join(directory, 'speech.wav');
  execFileSync('espeak-ng', ['-w', wav, 'Please send the slides before noon tomorrow.']);
  const speech = (await collect(decodeAudio(ffmpeg, generate(join(directory, 'speech.ogg'), [wav], ['-c:a', 'libopus'])))).samples;
  const peak = speech.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
  assert.ok(peak > 0.1, `speech peaks at ${peak}`);

  const silent = generate(join(directory, 'silent.m4a'), ['anullsrc=r=44100:cl=stereo'], ['-t', '5', '-c:a', 'aac']);
  const quiet = (await collect(decodeAudio(ffmpeg, silent))).samples;
  assert.ok(Math.abs(quiet.length / pcmSampleRate - 5) < 0.1);
  assert.ok(quiet.every((value) => Math.abs(value) < 1e-4), 'silence stays silent: no dither, no noise');
});

test('a video without sound fails with no-audio-track before any chunk', async (t) => {
  const path = generate(join(scratchFolder(t), 'slides.mkv'), [pattern(2)], ['-c:v', 'libx264', '-preset', 'ultrafast']);
  let chunks = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of decodeAudio(ffmpeg, path)) chunks += 1;
    })(),
    (error: unknown) => error instanceof MediaError && error.kind === 'no-audio-track' && /"slides.mkv" has no audio track/.test(error.message),
  );
  assert.equal(chunks, 0);
});

test('a file cut in half decodes what is there, then reports the damage', async (t) => {
  const directory = scratchFolder(t);
  // Matroska and a fast-start MP4 keep their index at the front, so the first half is playable;
  // an MP3 is a bare stream of frames that just stops, so only the probed duration gives it away.
  const cases = [
    generate(join(directory, 'lecture.mkv'), [pattern(8, '160x120'), tone(8)], ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'libopus']),
    generate(join(directory, 'lecture.mp4'), [pattern(8, '160x120'), tone(8)], ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-movflags', '+faststart']),
    generate(join(directory, 'lecture.mp3'), [tone(8)], ['-c:a', 'libmp3lame', '-b:a', '64k']),
  ];
  for (const whole of cases) {
    const half = truncate(whole, whole.replace('lecture', 'lecture-half'));
    const info = await probeMedia(ffmpeg, half, { ffprobePath });
    let decodedSeconds = 0;
    const failure = await (async () => {
      for await (const chunk of decodeAudio(ffmpeg, half, { expectedDurationSeconds: info.durationSeconds })) decodedSeconds += chunk.samples.length / pcmSampleRate;
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    t.diagnostic(`${basename(half)}: ${decodedSeconds.toFixed(2)} s decoded, then: ${failure instanceof Error ? failure.message : 'no error'}`);
    assert.ok(decodedSeconds > 1 && decodedSeconds < 7, `${decodedSeconds} s decoded`);
    assert.ok(failure instanceof MediaError && failure.kind === 'corrupt', `got ${String(failure)}`);
    assert.match(failure.message, /is damaged or incomplete/);
  }
});

test('a few damaged packets are reported as warnings and decoding goes on', async (t) => {
  const directory = scratchFolder(t);
  const clean = generate(join(directory, 'interview.mp4'), [tone(6)], ['-c:a', 'aac']);
  const bytes = readFileSync(clean);
  // Flip bytes through the middle of the media data; the index (moov) sits at the end of the file.
  for (let offset = Math.floor(bytes.length * 0.3); offset < bytes.length * 0.6; offset += 997) bytes[offset]! ^= 0xff;
  const damaged = join(directory, 'interview-damaged.mp4');
  writeFileSync(damaged, bytes);
  const warnings: string[] = [];
  const { samples } = await collect(decodeAudio(ffmpeg, damaged, { onWarning: (message) => warnings.push(message) }));
  t.diagnostic(`${warnings.length} warnings, first: ${warnings[0]}`);
  assert.ok(warnings.length > 0, 'the damage is not hidden');
  assert.ok(samples.length / pcmSampleRate > 5, `${samples.length / pcmSampleRate} s decoded`);
});

test('an unknown codec, or a start past the end, are told apart from a good file', async (t) => {
  const directory = scratchFolder(t);
  await assert.rejects(collect(decodeAudio(ffmpeg, unknownCodecWav(join(directory, 'dictaphone.wav')))), (error: unknown) => error instanceof MediaError && error.kind === 'unsupported-codec');
  const short = generate(join(directory, 'short.wav'), [tone(2)], []);
  assert.equal((await collect(decodeAudio(ffmpeg, short, { startSeconds: 10 }))).samples.length, 0, 'nothing left to decode is not an error');
});

test('odd file names decode like any other', async (t) => {
  const directory = scratchFolder(t);
  const source = generate(join(directory, 'source.wav'), [tone(1)], []);
  for (const name of ['-i.wav', 'réunion 会議 🎤.wav', 'file:name.wav', `${'long name '.repeat(24)}.wav`]) {
    copyFileSync(source, join(directory, name));
    assert.equal((await collect(decodeAudio(ffmpeg, join(directory, name)))).samples.length, pcmSampleRate, name);
  }
});

test('stopping early or aborting ends ffmpeg at once', async (t) => {
  const path = generate(join(scratchFolder(t), 'long.wav'), ['anoisesrc=r=16000:a=0.1'], ['-t', '600']);
  for await (const chunk of decodeAudio(ffmpeg, path)) {
    assert.equal(chunk.startSeconds, 0);
    break;
  }
  assert.equal(liveFfmpegChildren(), 0, 'leaving the loop kills ffmpeg');

  const controller = new AbortController();
  let chunks = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of decodeAudio(ffmpeg, path, { signal: controller.signal })) {
        chunks += 1;
        if (chunks === 1) assert.equal(liveFfmpegChildren(), 1, 'ffmpeg runs while chunks flow');
        if (chunks === 3) controller.abort();
      }
    })(),
    { name: 'AbortError' },
  );
  assert.equal(chunks, 3);
  assert.equal(liveFfmpegChildren(), 0, 'aborting kills ffmpeg');
});

test('an ffmpeg that cannot start is reported, not a silent empty stream', async (t) => {
  const path = generate(join(scratchFolder(t), 'memo.wav'), [tone(1)], []);
  await assert.rejects(
    collect(decodeAudio({ path: '/nonexistent/ffmpeg' }, path)),
    (error: unknown) => error instanceof MediaError && error.kind === 'ffmpeg-failed' && /could not start \/nonexistent\/ffmpeg/.test(error.message),
  );
});

test('a slow consumer holds ffmpeg back instead of buffering the file', async (t) => {
  const path = generate(join(scratchFolder(t), 'hour.wav'), ['anoisesrc=r=16000:a=0.1'], ['-t', '1200']);
  const baseline = process.memoryUsage.rss();
  const decoder = decodeAudio(ffmpeg, path, { chunkSamples: 1600 });
  await decoder.next();
  await sleep(1500); // ffmpeg could decode the whole 20 minutes (77 MB of float) in this time
  const grown = process.memoryUsage.rss() - baseline;
  t.diagnostic(`RSS grew ${(grown / 1e6).toFixed(1)} MB while the consumer stalled`);
  assert.ok(grown < 20e6, `RSS grew ${grown} bytes`);
  await decoder.return();
});

test('a three-hour recording streams through with bounded memory', async (t) => {
  const directory = scratchFolder(t);
  const started = performance.now();
  const path = generate(join(directory, 'three hours.mp3'), ['sine=frequency=220:sample_rate=16000'], ['-t', '10800', '-ac', '1', '-c:a', 'libmp3lame', '-b:a', '8k']);
  t.diagnostic(`generated 3 h of MP3 in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const info = await probeMedia(ffmpeg, path, { ffprobePath });
  assert.ok(Math.abs(info.durationSeconds! - 10800) < 1, `probed ${info.durationSeconds} s`);

  const decodeStarted = performance.now();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  let samples = 0;
  // One-minute chunks keep the per-chunk overhead of this test low; the bound holds for any size.
  for await (const chunk of decodeAudio(ffmpeg, path, { chunkSamples: 60 * pcmSampleRate })) {
    samples += chunk.samples.length;
    peak = Math.max(peak, process.memoryUsage.rss());
  }
  const seconds = (performance.now() - decodeStarted) / 1000;
  t.diagnostic(`decoded ${(samples / pcmSampleRate / 3600).toFixed(3)} h in ${seconds.toFixed(1)} s (${(samples / pcmSampleRate / seconds).toFixed(0)}x real time); RSS peak ${((peak - baseline) / 1e6).toFixed(1)} MB above baseline`);
  assert.ok(Math.abs(samples / pcmSampleRate - 10800) < 1, `${samples / pcmSampleRate} s decoded`);
  assert.ok(peak - baseline < 100e6, `RSS grew ${((peak - baseline) / 1e6).toFixed(1)} MB`);
});

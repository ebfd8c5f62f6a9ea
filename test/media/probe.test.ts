import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, closeSync, openSync, ftruncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { locateFfprobe } from '../../electron/media/ffmpeg-locator.js';
import { MediaError, type MediaErrorKind } from '../../electron/media/media-error.js';
import { probeMedia, requireAudio } from '../../electron/media/probe.js';
import { commonFormats, ffmpeg, ffprobePath, generate, pattern, runsAsRoot, scratchFolder, tone, truncate, unknownCodecWav } from './fixtures.js';

const probers = [
  { name: 'ffprobe', ffprobePath },
  { name: 'ffmpeg -i (no ffprobe, as with ffmpeg-static)', ffprobePath: null },
] as const;

function isMediaError(kind: MediaErrorKind, mentions?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof MediaError, `expected a MediaError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    if (mentions) assert.match(error.message, mentions);
    return true;
  };
}

test('ffprobe is found beside ffmpeg, and its absence is an ordinary answer', (t) => {
  assert.ok(ffprobePath, 'Debian ships ffprobe with ffmpeg');
  const lonely = scratchFolder(t);
  copyFileSync(ffmpeg.path, join(lonely, 'ffmpeg'));
  chmodSync(join(lonely, 'ffmpeg'), 0o755);
  assert.equal(locateFfprobe({ path: join(lonely, 'ffmpeg'), source: 'ffmpeg-static' }, { PATH: lonely }, 'linux'), undefined);
});

/**
 * Arbitrary bytes from a fixed seed: truly random bytes now and then hold an MPEG audio frame
 * sync that ffprobe accepts, which made this test flaky.
 */
function seededNoise(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

for (const prober of probers) {
  test(`a user adds the common formats and each is described (${prober.name})`, async (t) => {
    const directory = scratchFolder(t);
    for (const format of commonFormats(directory)) {
      const started = performance.now();
      const info = await probeMedia(ffmpeg, format.path, { ffprobePath: prober.ffprobePath });
      t.diagnostic(`${format.name}: probed in ${(performance.now() - started).toFixed(0)} ms`);
      assert.equal(info.probedWith, prober.ffprobePath === null ? 'ffmpeg' : 'ffprobe');
      assert.match(info.container, format.container, format.name);
      assert.ok(Math.abs(info.durationSeconds! - 3) < 0.1, `${format.name} lasts ${info.durationSeconds} s`);
      assert.equal(info.audio?.codec, format.audio, format.name);
      assert.ok(info.audio.sampleRate === 44100 || info.audio.sampleRate === 48000, `${format.name} sample rate ${info.audio.sampleRate}`);
      assert.equal(info.audio.channels, 1);
      assert.ok(info.sizeBytes > 1000);
      if (format.video === undefined) {
        assert.equal(info.video, undefined, format.name);
      } else {
        assert.equal(info.video?.codec, format.video, format.name);
        assert.deepEqual([info.video.width > 0, info.video.fps], [true, 25]);
      }
    }
  });

  test(`a video without sound is described, and asking it for audio says so (${prober.name})`, async (t) => {
    const path = generate(join(scratchFolder(t), 'screen recording.mp4'), [pattern(2)], ['-c:v', 'libx264', '-preset', 'ultrafast']);
    const info = await probeMedia(ffmpeg, path, { ffprobePath: prober.ffprobePath });
    assert.equal(info.audio, undefined);
    assert.deepEqual({ width: info.video?.width, height: info.video?.height }, { width: 320, height: 240 });
    assert.throws(() => requireAudio(info), isMediaError('no-audio-track', /"screen recording.mp4" has no audio track/));
  });

  test(`broken inputs get a specific, readable error (${prober.name})`, async (t) => {
    const directory = scratchFolder(t);
    const probe = (path: string) => probeMedia(ffmpeg, path, { ffprobePath: prober.ffprobePath });

    await assert.rejects(probe(join(directory, 'gone.mp4')), isMediaError('not-found', /"gone.mp4" was not found/));

    const noise = join(directory, 'holiday.mp4');
    writeFileSync(noise, seededNoise(200_000, 1));
    await assert.rejects(probe(noise), isMediaError('not-media', /"holiday.mp4" is not an audio or video file/));

    const whole = generate(join(directory, 'whole.mp4'), [pattern(4), tone(4)], ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac']);
    await assert.rejects(probe(truncate(whole, join(directory, 'half.mp4'))), isMediaError('corrupt', /"half.mp4" is damaged or incomplete \(moov atom not found\)/));

    writeFileSync(join(directory, 'empty.wav'), '');
    await assert.rejects(probe(join(directory, 'empty.wav')), isMediaError('not-media', /empty/));
    mkdirSync(join(directory, 'folder.mp4'));
    await assert.rejects(probe(join(directory, 'folder.mp4')), isMediaError('not-media', /folder/));

    await assert.rejects(probe(unknownCodecWav(join(directory, 'odd codec.wav'))), isMediaError('unsupported-codec', /"odd codec.wav" uses a codec this ffmpeg cannot decode/));
  });
}

test('an unreadable file is reported as such, not as broken media', async (t) => {
  const directory = scratchFolder(t);
  chmodSync(directory, 0o755);
  const path = generate(join(directory, 'private.wav'), [tone(1)], []);
  chmodSync(path, 0o000);
  if (!runsAsRoot) {
    await assert.rejects(probeMedia(ffmpeg, path, { ffprobePath }), isMediaError('permission-denied', /"private.wav" cannot be read: permission denied/));
    return;
  }
  // Root reads any file, so ask as an ordinary user: 'nobody' runs the same probe.
  const probeModule = new URL('../../electron/media/probe.ts', import.meta.url).href;
  const script = `import { probeMedia } from ${JSON.stringify(probeModule)};
    probeMedia({ path: ${JSON.stringify(ffmpeg.path)} }, ${JSON.stringify(path)}, { ffprobePath: ${JSON.stringify(ffprobePath)} })
      .then(() => console.log('read'), (error) => console.log(JSON.stringify({ kind: error.kind, message: error.message })));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { uid: 65534, gid: 65534, cwd: process.cwd(), encoding: 'utf8' });
  const answer = /^\{.*\}$|^read$/m.exec(child.stdout ?? '')?.[0];
  if (answer === undefined) {
    t.skip(`running as root and user 'nobody' cannot run the test code here: ${(child.stderr ?? String(child.error)).slice(0, 200)}`);
    return;
  }
  assert.deepEqual(JSON.parse(answer === 'read' ? '{}' : answer), { kind: 'permission-denied', message: '"private.wav" cannot be read: permission denied. Check the file\'s permissions.' });
});

test('a huge file of garbage is refused quickly, without reading it all', async (t) => {
  const path = join(scratchFolder(t), 'huge.mkv');
  const handle = openSync(path, 'w');
  ftruncateSync(handle, 6 * 1024 ** 3); // sparse: 6 GiB of zeros that take no disk
  closeSync(handle);
  const started = performance.now();
  await assert.rejects(probeMedia(ffmpeg, path, { ffprobePath }), isMediaError('not-media'));
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(`6 GiB of zeros refused in ${seconds.toFixed(2)} s`);
  assert.ok(seconds < 10);
});

test('odd names work: spaces, unicode, a leading dash, protocol-like and very long names', async (t) => {
  const directory = scratchFolder(t);
  const source = generate(join(directory, 'source.wav'), [tone(1)], []);
  const names = ['team meeting (final) v2.wav', 'réunion 会議 🎤.wav', '-i.wav', '-y', 'concat:a.wav', `${'long name '.repeat(24)}.wav`];
  for (const name of names) {
    const path = join(directory, name);
    copyFileSync(source, path);
    for (const prober of probers) {
      const info = await probeMedia(ffmpeg, path, { ffprobePath: prober.ffprobePath });
      assert.equal(info.audio?.codec, 'pcm_s16le', `${name} via ${prober.name}`);
      assert.equal(info.path, path);
    }
  }
  // Relative paths starting with a dash are the classic trap for command lines.
  const relative = await probeMedia(ffmpeg, '-i.wav', { ffprobePath }).catch((error: unknown) => error);
  assert.ok(relative instanceof MediaError && relative.kind === 'not-found', 'resolved against the working folder, not read as an option');

  await assert.rejects(probeMedia(ffmpeg, join(directory, `${'x'.repeat(300)}.wav`), { ffprobePath }), isMediaError('not-found', /longer than the file system allows/));
});

test('ffprobe and the ffmpeg -i fallback agree on a real speech file', async (t) => {
  const directory = scratchFolder(t);
  const wav = join(directory, 'speech.wav');
  execFileSync('espeak-ng', ['-w', wav, 'Welcome to the quarterly review.']);
  const m4a = generate(join(directory, 'speech.m4a'), [wav], ['-c:a', 'aac']);
  const [viaProbe, viaFfmpeg] = await Promise.all([probeMedia(ffmpeg, m4a, { ffprobePath }), probeMedia(ffmpeg, m4a, { ffprobePath: null })]);
  assert.deepEqual({ ...viaFfmpeg, durationSeconds: undefined, probedWith: undefined }, { ...viaProbe, durationSeconds: undefined, probedWith: undefined });
  assert.ok(Math.abs(viaProbe.durationSeconds! - viaFfmpeg.durationSeconds!) < 0.01);
});

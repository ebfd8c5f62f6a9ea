import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FfmpegNotFoundError, locateFfmpeg, readFfmpegVersion } from '../../electron/media/ffmpeg-locator.js';

function fakeExecutable(directory: string, name: string, script: string): string {
  const path = join(directory, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('FFMPEG_PATH wins, then ffmpeg-static, then PATH', () => {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-ffmpeg-'));
  const explicit = fakeExecutable(directory, 'my-ffmpeg', 'exit 0');
  const bundled = fakeExecutable(directory, 'bundled-ffmpeg', 'exit 0');
  const onPath = fakeExecutable(directory, 'ffmpeg', 'exit 0');
  const platform = 'linux' as const;

  assert.deepEqual(locateFfmpeg({ env: { FFMPEG_PATH: explicit, PATH: directory }, platform, bundledPath: bundled }), {
    path: explicit,
    source: 'FFMPEG_PATH',
  });
  assert.deepEqual(locateFfmpeg({ env: { PATH: directory }, platform, bundledPath: bundled }), {
    path: bundled,
    source: 'ffmpeg-static',
  });
  assert.deepEqual(locateFfmpeg({ env: { PATH: `/nonexistent:${directory}` }, platform, bundledPath: join(directory, 'missing') }), {
    path: onPath,
    source: 'PATH',
  });
});

test('a wrong FFMPEG_PATH is an error, not a silent fallback', () => {
  assert.throws(
    () => locateFfmpeg({ env: { FFMPEG_PATH: '/no/such/ffmpeg', PATH: '/usr/bin' }, platform: 'linux', bundledPath: undefined }),
    (error: unknown) => error instanceof FfmpegNotFoundError && error.message.includes('/no/such/ffmpeg'),
  );
});

test('no ffmpeg anywhere says how to get one', () => {
  assert.throws(
    () => locateFfmpeg({ env: { PATH: mkdtempSync(join(tmpdir(), 'empty-')) }, platform: 'linux', bundledPath: undefined }),
    /set FFMPEG_PATH.+apt-get install ffmpeg/,
  );
});

test('the version is read from the binary, and a broken binary is reported', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-ffmpeg-'));
  const good = fakeExecutable(directory, 'good', 'echo "ffmpeg version 9.9-test Copyright (c) the FFmpeg developers"');
  const broken = fakeExecutable(directory, 'broken', 'echo "segfault" >&2; exit 139');
  assert.equal((await readFfmpegVersion({ path: good, source: 'PATH' })).version, '9.9-test');
  await assert.rejects(readFfmpegVersion({ path: broken, source: 'PATH' }), /could not run/);
});

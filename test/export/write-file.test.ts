import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OutputExistsError, OutputWriteError, safeCaptionFileName, writeFileAtomically } from '../../electron/export/write-file.js';

test('an existing file is never replaced unless overwriting is allowed', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-write-'));
  const target = join(directory, 'talk.srt');
  writeFileSync(target, 'the user edited this');
  await assert.rejects(writeFileAtomically(target, 'new', false), OutputExistsError);
  assert.equal(readFileSync(target, 'utf8'), 'the user edited this');
  await writeFileAtomically(target, 'new', true);
  assert.equal(readFileSync(target, 'utf8'), 'new');
  assert.deepEqual(readdirSync(directory), ['talk.srt'], 'no temporary files left behind');
});

/** A real 64 KiB filesystem, so ENOSPC comes from the kernel; needs root (CI and this workplace). */
function mountTinyFilesystem(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', directory], { stdio: 'ignore' });
    return directory;
  } catch {
    return undefined;
  }
}

test('a disk that fills during export leaves the old file intact and no temporary file', async (t) => {
  const directory = mountTinyFilesystem();
  if (directory === undefined) {
    t.skip('needs root to mount a tiny tmpfs');
    return;
  }
  t.after(() => execFileSync('umount', [directory]));
  const target = join(directory, 'talk.srt');
  writeFileSync(target, 'previous captions');
  await assert.rejects(writeFileAtomically(target, 'x'.repeat(200_000), true), (thrown: unknown) => {
    assert.ok(thrown instanceof OutputWriteError);
    assert.equal(thrown.code, 'ENOSPC');
    assert.match(thrown.message, /disk is full/);
    return true;
  });
  assert.equal(readFileSync(target, 'utf8'), 'previous captions');
  assert.deepEqual(readdirSync(directory), ['talk.srt']);
});

test('a missing folder is a named write error', async () => {
  await assert.rejects(writeFileAtomically('/nonexistent-folder/a.srt', 'x', false), (thrown: unknown) => {
    assert.ok(thrown instanceof OutputWriteError);
    assert.equal(thrown.code, 'ENOENT');
    return true;
  });
});

test('caption file names are safe everywhere and keep the media name recognisable', () => {
  assert.equal(safeCaptionFileName('/v/Quarterly review: Q3?.mp4', 'srt'), 'Quarterly review_ Q3_.srt');
  assert.equal(safeCaptionFileName('/v/-i.wav', 'vtt'), '_i.vtt');
  assert.equal(safeCaptionFileName('/v/CON.mkv', 'srt'), '_CON.srt');
  assert.equal(safeCaptionFileName('/v/réunion d’équipe.webm', 'txt'), 'réunion d’équipe.txt');
  const long = safeCaptionFileName(`/v/${'ü'.repeat(300)}.mp4`, 'json');
  assert.ok(Buffer.byteLength(long) <= 200);
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExitCode } from '../../electron/cli/exit-codes.js';
import { projectRoot } from '../support/browser.js';

const cli = join(projectRoot, 'dist', 'electron', 'cli', 'nestcap.js');

function nestcap(...args: string[]) {
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const workspace = mkdtempSync(join(tmpdir(), 'nestcap-cli-'));
const media = join(workspace, 'talk ünïcode.wav');
writeFileSync(media, 'not really audio');

test('usage mistakes exit with the usage code and say what is wrong', () => {
  assert.equal(nestcap().code, ExitCode.usage);
  const noInputs = nestcap('caption');
  assert.equal(noInputs.code, ExitCode.usage);
  assert.match(noInputs.stderr, /name at least one media file/);
  const badFormat = nestcap('caption', media, '--format', 'srt,docx');
  assert.equal(badFormat.code, ExitCode.usage);
  assert.match(badFormat.stderr, /unknown format "docx"/);
  assert.equal(nestcap('caption', media, '--jobs', '0').code, ExitCode.usage);
  assert.equal(nestcap('transcribe').code, ExitCode.usage);
  assert.equal(nestcap('caption', '--help').code, ExitCode.success);
});

test('an input that does not exist is named', () => {
  const run = nestcap('caption', join(workspace, 'missing.mp4'));
  assert.equal(run.code, ExitCode.inputUnreadable);
  assert.match(run.stderr, /missing\.mp4: no such file or folder/);
});

test('an output folder that does not exist is refused before any work', () => {
  const run = nestcap('caption', media, '--out', join(workspace, 'nowhere'));
  assert.equal(run.code, ExitCode.outputUnwritable);
  assert.match(run.stderr, /does not exist/);
});

test('without a model bundle the command fails clearly instead of pretending', () => {
  const run = nestcap('caption', media, '--model', join(workspace, 'no-bundle'));
  assert.equal(run.code, ExitCode.modelUnavailable);
  assert.match(run.stderr, /No model bundle at .+no-bundle/);

  const broken = join(workspace, 'broken-bundle');
  mkdirSync(broken);
  writeFileSync(join(broken, 'manifest.json'), '{"scales": [');
  const malformed = nestcap('caption', media, '--model', broken);
  assert.equal(malformed.code, ExitCode.modelUnavailable);
  assert.match(malformed.stderr, /manifest\.json is not valid JSON/);
});

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chosenDecoding } from '../../electron/cli/caption-command.js';
import { ExitCode } from '../../electron/cli/exit-codes.js';
import type { BundleManifest, SearchMethod } from '../../electron/engine/bundle-manifest.js';
import { projectRoot } from '../support/browser.js';
import { testBundleDirectory } from '../support/bundle.js';

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
  const badWeight = nestcap('caption', media, '--ctc-weight', '1');
  assert.equal(badWeight.code, ExitCode.usage);
  assert.match(badWeight.stderr, /--ctc-weight must be a number from 0 to below 1/);
  const badWordWeight = nestcap('caption', media, '--word-weight=-0.5');
  assert.equal(badWordWeight.code, ExitCode.usage);
  assert.match(badWordWeight.stderr, /--word-weight must be a number of at least 0/);
  const badDecoding = nestcap('caption', media, '--decoding', 'fastest');
  assert.equal(badDecoding.code, ExitCode.usage);
  assert.match(badDecoding.stderr, /--decoding must be auto, rescore, greedy, beam, got "fastest"/);
  const greedyBeams = nestcap('caption', media, '--decoding', 'greedy', '--beams', '4');
  assert.equal(greedyBeams.code, ExitCode.usage);
  assert.match(greedyBeams.stderr, /--beams does not apply to --decoding greedy/);
  assert.match(nestcap('caption', media, '--beams', '17').stderr, /--beams must be an integer from 1 to 16/);
  assert.match(nestcap('caption', media, '--beams', '8', '--search-beams', '4').stderr, /--search-beams must be an integer from 8 \(--beams\) to 256/);
  assert.match(nestcap('caption', media, '--decoding', 'beam', '--search-beams', '32').stderr, /--search-beams applies to --decoding rescore only/);
  assert.match(nestcap('caption', media, '--decoding', 'greedy', '--no-speed-vote').stderr, /--no-speed-vote applies to --decoding rescore only/);
  assert.equal(nestcap('transcribe').code, ExitCode.usage);
  assert.equal(nestcap('caption', '--help').code, ExitCode.success);
});

test('the search is the bundle\'s unless the command names one, with the bundle\'s beams unless it gives a count', () => {
  const manifest = (method: SearchMethod, beams: number, searchBeams?: number) =>
    ({ decoding: { defaultSearch: { method, beams, ...(searchBeams === undefined ? {} : { searchBeams }) } } }) as unknown as BundleManifest;
  const rescoring = manifest('rescore', 6);
  const none = { beams: undefined, searchBeams: undefined, speedVote: true };
  assert.deepEqual(chosenDecoding(rescoring, { ...none, decoding: 'auto' }), { kind: 'rescore', beams: 6 });
  assert.deepEqual(chosenDecoding(rescoring, { ...none, decoding: 'auto', beams: 3 }), { kind: 'rescore', beams: 3 });
  assert.deepEqual(chosenDecoding(rescoring, { ...none, decoding: 'greedy' }), { kind: 'greedy' });
  assert.deepEqual(chosenDecoding(rescoring, { ...none, decoding: 'beam' }), { kind: 'beam', beams: 6 });
  // a bundle that decodes greedily has no beam count of its own
  assert.deepEqual(chosenDecoding(manifest('greedy', 1), { ...none, decoding: 'rescore' }), { kind: 'rescore', beams: 8 });
  // the bundle's wide search stays unless the command asks the LM to rescore more than it finds
  const wide = manifest('rescore', 8, 64);
  assert.deepEqual(chosenDecoding(wide, { ...none, decoding: 'auto' }), { kind: 'rescore', beams: 8, searchBeams: 64 });
  assert.deepEqual(chosenDecoding(wide, { ...none, decoding: 'auto', searchBeams: 16 }), { kind: 'rescore', beams: 8, searchBeams: 16 });
  assert.deepEqual(chosenDecoding(manifest('rescore', 8, 12), { ...none, decoding: 'auto', beams: 16 }), { kind: 'rescore', beams: 16 });
  assert.deepEqual(chosenDecoding(wide, { ...none, decoding: 'beam' }), { kind: 'beam', beams: 8 });
  // the bundle's coarser scales keep their smaller budgets; widths the command gives apply at every scale
  const scaleSearch = new Map([['s3', { searchBeams: 16, beams: 2 }]]);
  const laddered = { decoding: { defaultSearch: { method: 'rescore', beams: 8, searchBeams: 64, scaleSearch } } } as unknown as BundleManifest;
  assert.deepEqual(chosenDecoding(laddered, { ...none, decoding: 'auto' }), { kind: 'rescore', beams: 8, searchBeams: 64, scaleSearch });
  assert.deepEqual(chosenDecoding(laddered, { ...none, decoding: 'auto', searchBeams: 32 }), { kind: 'rescore', beams: 8, searchBeams: 32 });
  assert.deepEqual(chosenDecoding(laddered, { ...none, decoding: 'auto', beams: 4 }), { kind: 'rescore', beams: 4, searchBeams: 64 });
  // the bundle's speed vote stays with any widths, unless the command turns it off
  const speedVote = { speeds: [0.95, 1.05], searchBeams: 16 };
  const voting = { decoding: { defaultSearch: { method: 'rescore', beams: 8, searchBeams: 64, speedVote } } } as unknown as BundleManifest;
  assert.deepEqual(chosenDecoding(voting, { ...none, decoding: 'auto', beams: 4 }), { kind: 'rescore', beams: 4, searchBeams: 64, speedVote });
  assert.deepEqual(chosenDecoding(voting, { ...none, decoding: 'auto', speedVote: false }), { kind: 'rescore', beams: 8, searchBeams: 64 });
  assert.deepEqual(chosenDecoding(voting, { ...none, decoding: 'greedy' }), { kind: 'greedy' });
  // the bundle's video fusion stays with any widths, and only under rescoring
  const videoFusion = { weight: 0.5, belowConfidence: 0.92 };
  const fusing = { decoding: { defaultSearch: { method: 'rescore', beams: 8, videoFusion } } } as unknown as BundleManifest;
  assert.deepEqual(chosenDecoding(fusing, { ...none, decoding: 'auto', searchBeams: 32 }), { kind: 'rescore', beams: 8, searchBeams: 32, videoFusion });
  assert.deepEqual(chosenDecoding(fusing, { ...none, decoding: 'beam' }), { kind: 'beam', beams: 8 });
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

test('a folder is captioned end to end: good files get captions, bad ones are named, the exit code says so', () => {
  const folder = join(workspace, 'library');
  mkdirSync(join(folder, 'nested'), { recursive: true });
  const speech = join(workspace, 'speech.wav');
  execFileSync('espeak-ng', ['-w', speech, 'the budget review starts now. we will discuss hiring next quarter.']);
  execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-i', speech, '-shortest', '-c:v', 'libx264', '-c:a', 'aac', join(folder, 'nested', 'team meeting.mp4')]);
  execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25:duration=1', join(folder, 'silent film.mp4')]);
  writeFileSync(join(folder, 'broken.mkv'), Buffer.from('definitely not matroska'));
  writeFileSync(join(folder, 'notes.txt'), 'not media, not picked up from a folder');
  const out = join(workspace, 'captions');
  mkdirSync(out);

  const run = nestcap('caption', folder, '--out', out, '--format', 'srt,json', '--model', testBundleDirectory());
  assert.equal(run.code, ExitCode.someInputsFailed, run.stderr);
  assert.match(run.stderr, /silent film\.mp4.+no audio track/);
  assert.match(run.stderr, /broken\.mkv.+not an audio or video file/);
  assert.doesNotMatch(run.stderr, /notes\.txt/);
  assert.match(run.stderr, /Captioned 1 of 3 files/);

  const srt = join(out, 'team meeting.srt');
  assert.ok(existsSync(srt), run.stdout);
  const cues = execFileSync('ffmpeg', ['-loglevel', 'error', '-i', srt, '-f', 'srt', '-'], { encoding: 'utf8' });
  assert.match(cues, /-->/);
  const json = JSON.parse(readFileSync(join(out, 'team meeting.json'), 'utf8')) as { segments: { modality: string; videoMissing?: string }[] };
  assert.ok(json.segments.length > 0);
  assert.ok(json.segments.every((segment) => segment.modality === 'audio' && segment.videoMissing === 'no-face'), 'testsrc shows no face');

  const again = nestcap('caption', join(folder, 'nested'), '--out', out, '--model', testBundleDirectory());
  assert.equal(again.code, ExitCode.someInputsFailed);
  assert.match(again.stderr, /already exists.+--overwrite/);
  assert.equal(nestcap('caption', join(folder, 'nested'), '--out', out, '--model', testBundleDirectory(), '--overwrite').code, ExitCode.success);
});

test('an unknown scale name lists the bundle\'s scales', () => {
  const run = nestcap('caption', media, '--model', testBundleDirectory(), '--scale', 'ultra');
  assert.equal(run.code, ExitCode.usage);
  assert.match(run.stderr, /unknown scale "ultra"; this bundle has s0, /);
});

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { parseManifest } from '../../electron/engine/bundle-manifest.js';
import { readBundleManifest } from '../../electron/engine/bundle-location.js';
import { recoverInterruptedLiveSessions } from '../../electron/live/live-service.js';
import { openDatabase } from '../../electron/store/database.js';
import { getMedia } from '../../electron/store/library.js';
import { getRun } from '../../electron/store/runs.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { generateEvaluationCorpus } from '../support/av-corpus.js';
import { projectRoot } from '../support/browser.js';
import { testBundleDirectory } from '../support/bundle.js';

/** Closing the app mid-meeting (here: SIGKILL) loses nothing already captioned. */
test('a live session killed mid-meeting keeps every stored final, and the next start closes it cleanly', async (t) => {
  const roi = parseManifest(readBundleManifest(testBundleDirectory())).roi.width;
  const corpus = join(projectRoot, 'test-output', 'engine-corpus', `roi${roi}`);
  mkdirSync(join(corpus, '..'), { recursive: true });
  generateEvaluationCorpus(corpus, { seed: 777, seen: 8, heldout: 0, roi });
  const dataDirectory = mkdtempSync(join(tmpdir(), 'nestcap-live-crash-'));
  t.after(() => rmSync(dataDirectory, { recursive: true, force: true }));

  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'test', 'live', 'live-session-child.ts'), dataDirectory, corpus], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before storing two finals`)));
  });
  const report = JSON.parse(firstLine) as { sessionId: number; finals: string[] };
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));

  const database = openDatabase(join(dataDirectory, 'nestcap.sqlite'));
  t.after(() => database.close());
  assert.equal(getRun(database, report.sessionId).state, 'running', 'the kill left the run open');
  const mediaId = getRun(database, report.sessionId).mediaId;
  const stored = transcriptSegments(database, mediaId).map((segment) => segment.text);
  assert.deepEqual(stored.slice(0, report.finals.length), report.finals, 'every final reported before the kill is stored');

  const recovered = await recoverInterruptedLiveSessions(database, { warn() {}, error() {} });
  assert.equal(recovered, 1);
  assert.equal(getRun(database, report.sessionId).state, 'finished');
  assert.deepEqual(transcriptSegments(database, mediaId).map((segment) => segment.text), stored, 'recovery keeps the captions');
  const media = getMedia(database, mediaId);
  const probed = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', media.path], { encoding: 'utf8' }));
  const lastEnd = transcriptSegments(database, mediaId).at(-1)!.endSeconds;
  assert.ok(probed >= lastEnd, `the repaired recording (${probed} s) covers the stored captions (to ${lastEnd} s)`);
  assert.ok(Math.abs((media.durationSeconds ?? 0) - probed) < 0.01);
  assert.equal(await recoverInterruptedLiveSessions(database, { warn() {}, error() {} }), 0, 'nothing left to recover');
});

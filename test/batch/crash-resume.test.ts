import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { addLibraryFolder } from '../../electron/batch/library-scan.js';
import { openStore } from '../../electron/store/database.js';
import { attemptsOf, listJobs } from '../../electron/store/jobs.js';
import { createLibrary, listMedia } from '../../electron/store/library.js';
import { runsOf } from '../../electron/store/runs.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { projectRoot } from '../support/browser.js';
import { scratchFolder } from '../media/fixtures.js';
import { phrases, prober, speechFile } from './fixtures.js';

/**
 * The promise that matters most for a batch of long recordings: pull the plug (here, kill -9 on
 * the process doing the work) and nothing committed is lost, nothing is captioned twice, and the
 * job picks up where it stopped when the app starts again.
 */

const worker = join(projectRoot, 'test', 'batch', 'batch-worker.ts');

async function libraryWithFolder(databasePath: string, folder: string): Promise<void> {
  const { db } = openStore(databasePath);
  const library = createLibrary(db, 'Meetings');
  const scan = await addLibraryFolder(db, library.id, { path: folder }, { probe: prober });
  assert.equal(scan.jobs.length, 1);
  db.close();
}

interface WorkerRun {
  readonly commits: number;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stderr: string;
}

/** Runs the batch in a child process; with `killAfter`, kill -9 it right after that many commits. */
function runWorker(databasePath: string, killAfter?: number): Promise<WorkerRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, databasePath], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let commits = 0;
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('segment ')) continue;
      commits += 1;
      if (commits === killAfter) child.kill('SIGKILL');
    }
  });
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ commits, signal, code, stderr })));
}

const key = (segment: { startSeconds: number; endSeconds: number; text: string }) => `${segment.startSeconds.toFixed(3)}-${segment.endSeconds.toFixed(3)} ${segment.text}`;

test('a batch killed with kill -9 resumes where it stopped, with no segment lost and none doubled', async (t) => {
  const folder = scratchFolder(t, 'nestcap-crash-');
  const media = join(folder, 'media');
  mkdirSync(media);
  speechFile(join(media, 'all hands.wav'), phrases);

  // What an uninterrupted run produces (the engine is deterministic on the same input).
  const referencePath = join(folder, 'reference.sqlite');
  await libraryWithFolder(referencePath, media);
  const clean = await runWorker(referencePath);
  assert.equal(clean.code, 0, clean.stderr);
  const reference = openStore(referencePath).db;
  const expected = transcriptSegments(reference, listMedia(reference, 1)[0]!.id).map(key);
  reference.close();
  assert.ok(expected.length >= 6, `the reference run made ${expected.length} segments`);

  const crashedPath = join(folder, 'crashed.sqlite');
  await libraryWithFolder(crashedPath, media);
  const killed = await runWorker(crashedPath, 3);
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);

  // What the crash left: a job still marked running, part of the transcript, readable as is.
  const { db: afterCrash } = openStore(crashedPath);
  const [stale] = listJobs(afterCrash);
  assert.equal(stale!.state, 'running');
  const partial = transcriptSegments(afterCrash, stale!.mediaId).map(key);
  assert.ok(partial.length >= 3 && partial.length < expected.length, `${partial.length} of ${expected.length} segments committed before the kill`);
  assert.deepEqual(partial, expected.slice(0, partial.length), 'what was committed is exactly the start of the transcript');
  const resumeFrom = runsOf(afterCrash, stale!.mediaId)[0]!.committedSeconds;
  afterCrash.close();

  t.diagnostic(`killed after ${partial.length} of ${expected.length} segments; resume point ${resumeFrom.toFixed(2)} s`);
  const resumed = await runWorker(crashedPath);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(resumed.commits, expected.length - partial.length, 'the restart committed only the segments that were missing');

  const { db } = openStore(crashedPath);
  t.after(() => db.close());
  const [job] = listJobs(db);
  assert.equal(job!.state, 'finished');
  const segments = transcriptSegments(db, job!.mediaId);
  assert.deepEqual(segments.map(key), expected, 'no segment lost, none doubled');
  assert.equal(new Set(segments.map((segment) => segment.startSeconds)).size, segments.length);
  const runs = runsOf(db, job!.mediaId);
  assert.equal(runs.length, 1, 'the same run was resumed, not a new one started');
  assert.equal(runs[0]!.state, 'finished');
  assert.ok(resumeFrom > 0 && resumeFrom <= segments[partial.length]!.startSeconds, `resumed from ${resumeFrom} s`);
  const attempts = attemptsOf(db, job!.id);
  assert.deepEqual(attempts.map((attempt) => attempt.outcome), [undefined, 'finished'], 'the killed attempt never ended; the second finished');
});

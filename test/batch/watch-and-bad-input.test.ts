import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BatchQueue, type BatchEvent } from '../../electron/batch/batch-queue.js';
import { FolderWatcher } from '../../electron/batch/folder-watcher.js';
import { addLibraryFolder, scanFolder, type ScanResult } from '../../electron/batch/library-scan.js';
import { discoverMedia, type Discovery } from '../../electron/batch/media-discovery.js';
import { OutputWriteError } from '../../electron/export/write-file.js';
import { exportTranscript } from '../../electron/export/transcript-export.js';
import { getJob, listJobs } from '../../electron/store/jobs.js';
import { addFolder, createLibrary, getMedia } from '../../electron/store/library.js';
import { runsOf } from '../../electron/store/runs.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { projectRoot } from '../support/browser.js';
import { scratchFolder } from '../media/fixtures.js';
import { scratchStore } from '../store/support.js';
import { phrases, prober, realCaptioner, speechFile } from './fixtures.js';
import { waitUntil } from '../support/wait.js';

test('a file dropped into a watched folder becomes a job, and so does a change to it', async (t) => {
  const watched = scratchFolder(t, 'nestcap-watched-');
  const elsewhere = scratchFolder(t, 'nestcap-source-');
  const first = speechFile(join(elsewhere, 'first.wav'), phrases.slice(0, 2));
  const second = speechFile(join(elsewhere, 'second.wav'), phrases.slice(2, 4));
  const { db } = scratchStore(t);
  const library = createLibrary(db, 'Inbox');
  await addLibraryFolder(db, library.id, { path: watched, watched: true });
  const { captioner, run } = await realCaptioner(t);
  const queue = new BatchQueue({ db, captioner, run });
  const changes: ScanResult[] = [];
  const watcher = new FolderWatcher({ db, intervalMs: 100, probe: prober, onChange: (result) => {
    changes.push(result);
    queue.poke();
  } });
  t.after(async () => {
    await watcher.stop();
    await queue.stop();
  });
  queue.start();
  watcher.start();

  copyFileSync(first, join(watched, 'recording.wav'));
  await waitUntil(() => listJobs(db).some((job) => job.state === 'finished'), 'the new file to be captioned');
  assert.equal(changes[0]!.added[0]!.path, join(watched, 'recording.wav'));
  const [job] = listJobs(db);
  const before = transcriptSegments(db, job!.mediaId).map((segment) => segment.text);
  assert.ok(before.length >= 1);

  // The recording is replaced by a new version: a new job, a new run that supersedes the old one.
  copyFileSync(second, join(watched, 'recording.wav'));
  await waitUntil(() => listJobs(db).filter((entry) => entry.state === 'finished').length === 2, 'the changed file to be captioned again');
  assert.equal(changes.at(-1)!.changed[0]!.id, job!.mediaId, 'the same media, changed');
  assert.deepEqual(runsOf(db, job!.mediaId).map((entry) => entry.state), ['superseded', 'finished']);
  assert.equal(getMedia(db, job!.mediaId).contentHash, changes.at(-1)!.changed[0]!.contentHash);
});

test('a file replaced while it is being captioned is captioned again afterwards, never twice at once', async (t) => {
  const folder = scratchFolder(t, 'nestcap-replaced-');
  const elsewhere = scratchFolder(t, 'nestcap-newer-');
  const path = speechFile(join(folder, 'draft.wav'), phrases.slice(0, 6));
  const newer = speechFile(join(elsewhere, 'newer.wav'), phrases.slice(6, 8));
  const { db } = scratchStore(t);
  const library = createLibrary(db, 'Drafts');
  const { folder: stored } = await addLibraryFolder(db, library.id, { path: folder }, { probe: prober });
  const { captioner, run } = await realCaptioner(t);
  let rescan: Promise<ScanResult> | undefined;
  const history: string[] = [];
  const queue = new BatchQueue({
    db,
    captioner,
    run,
    concurrency: 2,
    onEvent: (event) => {
      if (event.type === 'job' && (event.job.state === 'running' || event.job.state === 'finished')) history.push(`${event.job.id} ${event.job.state}`);
      if (event.type === 'segment' && rescan === undefined) {
        // Saved over by an editor: a new file renamed into place while ffmpeg still reads the old one.
        copyFileSync(newer, join(elsewhere, 'tmp.wav'));
        renameSync(join(elsewhere, 'tmp.wav'), path);
        rescan = scanFolder(db, stored, { probe: prober });
      }
    },
  });
  t.after(() => queue.stop());
  queue.start();
  await queue.whenIdle();
  const result = await rescan!;
  assert.equal(result.changed.length, 1);
  queue.poke();
  await queue.whenIdle();
  const jobs = listJobs(db);
  assert.deepEqual(jobs.map((job) => job.state), ['finished', 'finished']);
  const [first, second] = jobs.map((job) => job.id);
  assert.deepEqual(history, [`${first} running`, `${first} finished`, `${second} running`, `${second} finished`], 'one after the other, though two could run');
  const media = getMedia(db, jobs[0]!.mediaId);
  const runs = runsOf(db, media.id);
  assert.deepEqual(runs.map((entry) => entry.state), ['superseded', 'finished']);
  assert.equal(runs[1]!.contentHash, media.contentHash, 'the transcript is of the file as it is now');
  assert.ok(transcriptSegments(db, media.id).every((segment) => segment.runId === runs[1]!.id));
});

test('a file still being copied in is taken only once it stops changing', async (t) => {
  const watched = scratchFolder(t, 'nestcap-growing-');
  const { db } = scratchStore(t);
  const library = createLibrary(db, 'Inbox');
  addFolder(db, library.id, { path: watched, watched: true });
  const watcher = new FolderWatcher({ db });
  const growing = join(watched, 'upload.mp4');
  writeFileSync(growing, Buffer.alloc(1000, 1));
  await watcher.scanOnce();
  appendFileSync(growing, Buffer.alloc(1000, 2));
  await watcher.scanOnce();
  assert.deepEqual(listJobs(db), [], 'still growing: not taken');
  await watcher.scanOnce();
  assert.equal(listJobs(db).length, 1, 'unchanged between two looks: taken');
});

test('a file that vanished fails its job as not found, is marked missing, and keeps its transcript', async (t) => {
  const folder = scratchFolder(t, 'nestcap-vanish-');
  const path = speechFile(join(folder, 'gone.wav'), phrases.slice(0, 2));
  const { db } = scratchStore(t);
  const library = createLibrary(db, 'Lost');
  await addLibraryFolder(db, library.id, { path: folder }, { probe: prober });
  const { captioner, run } = await realCaptioner(t);
  const queue = new BatchQueue({ db, captioner, run });
  queue.start();
  await queue.whenIdle();
  const [job] = listJobs(db);
  const transcript = transcriptSegments(db, job!.mediaId);
  assert.ok(transcript.length > 0);

  execFileSync('rm', [path]);
  const rerun = queue.enqueue(job!.mediaId);
  await queue.whenIdle();
  const failed = getJob(db, rerun.id);
  assert.equal(failed.state, 'failed');
  assert.equal(failed.errorKind, 'not-found');
  assert.match(failed.errorMessage!, /"gone\.wav" was not found/);
  assert.ok(getMedia(db, job!.mediaId).missingSince);
  assert.deepEqual(transcriptSegments(db, job!.mediaId), transcript, 'the transcript made earlier is untouched');
  await queue.stop();
});

test('odd names and paths are listed with a reason, and the rest of the folder is still found', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'nestcap-odd-'));
  t.after(() => execFileSync('rm', ['-rf', folder]));
  writeFileSync(join(folder, 'fine.wav'), 'x');
  // A name in Latin-1 bytes, as old Windows shares and cameras write them.
  writeFileSync(Buffer.concat([Buffer.from(`${folder}/caf`), Buffer.from([0xe9]), Buffer.from('.wav')]), 'x');
  // A long but valid path: 6 folders of 200 characters and a 240-byte file name.
  const deepButValid = join(folder, ...Array.from({ length: 6 }, (_, index) => `${index}`.padEnd(200, 'd')));
  mkdirSync(deepButValid, { recursive: true });
  const longName = join(deepButValid, `${'ü'.repeat(118)}.wav`);
  writeFileSync(longName, 'x');
  // Deeper than the system allows a path to be (PATH_MAX is 4096 bytes on Linux): made one
  // relative step at a time, as a copy tool would.
  const tooDeep = Array.from({ length: 18 }, (_, index) => `${index}`.padEnd(250, 'x'));
  execFileSync(process.execPath, ['-e', `const fs = require('node:fs'); process.chdir(process.argv[1]); for (const d of JSON.parse(process.argv[2])) { fs.mkdirSync(d); process.chdir(d); } fs.writeFileSync('lost.wav', 'x');`, folder, JSON.stringify(tooDeep)]);

  const found = await discoverMedia(folder);
  assert.deepEqual(found.files.map((file) => file.path).sort(), [join(folder, 'fine.wav'), longName].sort());
  const reasons = found.skipped.map((entry) => entry.reason).sort();
  assert.deepEqual(reasons, ['name-not-utf8', 'path-too-long']);
  assert.match(found.skipped.find((entry) => entry.reason === 'name-not-utf8')!.message, /caf.\.wav: the name is not valid UTF-8.+rename it/);
  assert.match(found.skipped.find((entry) => entry.reason === 'path-too-long')!.message, /too long a path for this system/);

  // Exporting next to the long-named file gives a name the filesystem accepts.
  const result = await exportTranscript({ mediaPath: longName, segments: [{ startSeconds: 1, endSeconds: 2, text: 'hello' }], formats: ['srt'], overwrite: false });
  assert.deepEqual(result.failed, []);
  assert.ok(Buffer.byteLength(readdirSync(deepButValid).find((name) => name.endsWith('.srt'))!) <= 200);
});

test('files and folders a user may not read are listed as permission problems, not fatal', { skip: process.getuid?.() !== 0 && 'needs root to act as another user' }, async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'nestcap-perm-'));
  t.after(() => execFileSync('rm', ['-rf', folder]));
  chmodSync(folder, 0o755);
  writeFileSync(join(folder, 'open.wav'), 'x');
  const secret = join(folder, 'secret.wav');
  speechFile(secret, phrases.slice(0, 1));
  chmodSync(secret, 0o600);
  mkdirSync(join(folder, 'private'), { mode: 0o700 });
  writeFileSync(join(folder, 'private', 'hidden.wav'), 'x');
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'test', 'batch', 'discovery-as-user.ts'), folder, secret], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise((resolve) => child.once('close', resolve));
  assert.equal(code, 0, stderr);
  const found = JSON.parse(stdout) as Discovery & { probe: { kind: string; message: string } };
  // Listing a file needs no read permission; hashing and probing it does.
  assert.deepEqual(found.files.map((file) => file.path).sort(), [join(folder, 'open.wav'), secret]);
  assert.deepEqual(found.skipped.map((entry) => [entry.path, entry.reason]), [[join(folder, 'private'), 'permission-denied']]);
  assert.equal(found.probe.kind, 'permission-denied');
  assert.match(found.probe.message, /"secret\.wav" cannot be read: permission denied/);
});

test('a database locked by another program mid-job stalls the queue; after release the job resumes without loss', async (t) => {
  const folder = scratchFolder(t, 'nestcap-locked-');
  speechFile(join(folder, 'talk.wav'), phrases.slice(0, 6));
  const { db, path } = scratchStore(t, { busyTimeoutMs: 200 });
  const library = createLibrary(db, 'Shared');
  await addLibraryFolder(db, library.id, { path: folder }, { probe: prober });
  // Another program that takes the write lock when told to, and gives it back when told again.
  const holder = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import Database from 'better-sqlite3'; import { createInterface } from 'node:readline';
      const db = new Database(process.argv[1]);
      for await (const line of createInterface({ input: process.stdin })) {
        if (line === 'lock') { db.exec('begin exclusive'); process.stdout.write('locked\\n'); }
        else { db.exec('commit'); db.close(); process.exit(0); }
      }`, path],
    { cwd: projectRoot, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.after(() => holder.kill('SIGKILL'));
  const holderLocked = new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));

  const events: BatchEvent[] = [];
  const { captioner, run } = await realCaptioner(t);
  const queue = new BatchQueue({
    db,
    captioner,
    run,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'segment' && events.filter((entry) => entry.type === 'segment').length === 1) holder.stdin.write('lock\n');
    },
  });
  t.after(() => queue.stop());
  queue.start();
  await holderLocked;
  await queue.whenIdle();
  const stalled = events.find((event) => event.type === 'stalled');
  assert.ok(stalled, 'the queue said why it stopped');
  assert.equal(stalled.errorKind, 'store-locked');
  assert.match(stalled.message, /in use by another program/);
  assert.ok(queue.paused);
  const [interrupted] = listJobs(db);
  assert.equal(interrupted!.state, 'running', 'not failed: the media is fine, the store was busy');
  const committed = transcriptSegments(db, interrupted!.mediaId).length;
  assert.ok(committed >= 1);

  holder.stdin.write('release\n');
  await new Promise((resolve) => holder.once('exit', resolve));
  queue.resume();
  await queue.whenIdle();
  const [job] = listJobs(db);
  assert.equal(job!.state, 'finished');
  const segments = transcriptSegments(db, job!.mediaId);
  assert.ok(segments.length > committed, `${segments.length} segments after resuming from ${committed}`);
  assert.equal(new Set(segments.map((segment) => segment.startSeconds)).size, segments.length, 'none doubled');
  assert.equal(runsOf(db, job!.mediaId).length, 1, 'the same run continued');
});

/** A real small filesystem, so ENOSPC comes from the kernel; needs root. */
test('a disk that fills during export fails each format by name and leaves the old files whole', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a tiny tmpfs');
    return;
  }
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-exportfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', directory]);
  t.after(() => execFileSync('umount', [directory]));
  const media = join(directory, 'talk.mp4');
  writeFileSync(join(directory, 'talk.srt'), 'previous captions');
  const segments = Array.from({ length: 2000 }, (_, index) => ({ startSeconds: index * 2, endSeconds: index * 2 + 1, text: `phrase ${index} of a very long meeting` }));
  const result = await exportTranscript({ mediaPath: media, segments, formats: ['srt', 'vtt'], overwrite: true });
  assert.deepEqual(result.written, []);
  assert.deepEqual(result.failed.map((failure) => [failure.format, failure.error instanceof OutputWriteError && failure.error.code]), [['srt', 'ENOSPC'], ['vtt', 'ENOSPC']]);
  assert.equal(readFileSync(join(directory, 'talk.srt'), 'utf8'), 'previous captions');
  assert.deepEqual(readdirSync(directory), ['talk.srt'], 'no temporary or half-written file');
});

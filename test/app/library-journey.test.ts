import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BatchView, RequestChannel, RequestOf, ResponseOf } from '../../electron/ipc/contract.js';
import Database from 'better-sqlite3';
import { startBrowserHost } from '../../electron/host/browser-host.js';
import { phrases, speechFile } from '../batch/fixtures.js';
import { projectRoot } from '../support/browser.js';
import { createServicesFixture } from '../support/services.js';

/**
 * The library journey through the real services and the contract, as the UI drives it: add a
 * folder → the queue captions it with the real engine → open the transcript → edit, split,
 * undo → search → export. The browser-host part checks the editor's media URL.
 */
test('add a folder, caption it, edit, search and export through the contract', async (t) => {
  const fixture = createServicesFixture();
  t.after(() => fixture.dispose());
  const folder = mkdtempSync(join(tmpdir(), 'nestcap library é '));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  speechFile(join(folder, 'standup.mp4'), phrases.slice(0, 3), { video: true });
  speechFile(join(folder, 'notes.wav'), phrases.slice(3, 5));
  writeFileSync(join(folder, 'broken.mp3'), Buffer.from('ID3 this is not an mp3 at all'));

  const call = async <C extends RequestChannel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> => {
    const result = await fixture.services.dispatch(channel, request);
    if (!result.ok) assert.fail(`${channel}: ${result.error.message}`);
    return result.value as ResponseOf<C>;
  };
  const batchEvents: BatchView[] = [];
  fixture.services.events.subscribe((event, payload) => {
    if (event === 'batch.changed') batchEvents.push(payload as BatchView);
  });

  const added = await call('library.addFolder', { path: folder, watch: false });
  assert.equal(added.added, 3, 'the broken file is in the library too, marked unreadable');
  const badFolder = await fixture.services.dispatch('library.addFolder', { path: join(folder, 'no such folder'), watch: false });
  assert.ok(!badFolder.ok, 'a folder that does not exist is refused with a reason');

  await t.test('the queue captions every readable file, with progress and an ETA on the way', async () => {
    const deadline = Date.now() + 240_000;
    let batch = await call('batch.get', {});
    while (batch.jobs.some((job) => job.state === 'queued' || job.state === 'running') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      batch = await call('batch.get', {});
    }
    const states = Object.fromEntries(batch.jobs.map((job) => [job.name, job.state]));
    assert.equal(states['standup.mp4'], 'finished');
    assert.equal(states['notes.wav'], 'finished');
    assert.equal(states['broken.mp3'], 'failed');
    assert.ok(batch.jobs.find((job) => job.name === 'broken.mp3')?.error, 'a failed job says why');
    assert.ok(batchEvents.some((view) => view.jobs.some((job) => job.state === 'running' && job.processedSeconds > 0)), 'progress arrived while running');
    const library = await call('library.get', {});
    const standup = library.media.find((media) => media.name === 'standup.mp4')!;
    assert.equal(standup.status, 'captioned');
    assert.ok(standup.segments >= 2 && standup.scaleIds.length > 0 && standup.hasVideo);
    assert.equal(library.media.find((media) => media.name === 'broken.mp3')!.status, 'unreadable');
  });

  await t.test('each run records the provider that really ran it and the policy mode of the moment', async () => {
    const settings = await call('settings.get', {});
    const database = new Database(settings.storage.databasePath, { readonly: true });
    t.after(() => database.close());
    const runs = database.prepare('select device, policy from runs').all() as { device: string; policy: string }[];
    assert.ok(runs.length >= 2);
    for (const run of runs) {
      assert.equal(run.device, settings.device.used, 'the provider in use, not the preference "auto"');
      assert.equal((JSON.parse(run.policy) as { mode: string }).mode, 'balanced');
    }
  });

  const mediaId = (await call('library.get', {})).media.find((media) => media.name === 'standup.mp4')!.id;

  await t.test('edit, split, undo and redo change the transcript as a person expects', async () => {
    const before = await call('transcript.get', { mediaId });
    const first = before.segments[0]!;
    const edited = await call('transcript.edit', { mediaId, edit: { kind: 'text', segmentId: first.id, text: 'the budget review starts now' } });
    assert.equal(edited.segments[0]!.text, 'the budget review starts now');
    assert.ok(edited.segments[0]!.edited && edited.canUndo);
    const split = await call('transcript.edit', { mediaId, edit: { kind: 'split', segmentId: first.id, atSeconds: (first.startSeconds + first.endSeconds) / 2, textIndex: 10 } });
    assert.equal(split.segments.length, before.segments.length + 1);
    assert.deepEqual([split.segments[0]!.text, split.segments[1]!.text], ['the budget', 'review starts now']);
    const undone = await call('transcript.edit', { mediaId, edit: { kind: 'undo' } });
    assert.equal(undone.segments.length, before.segments.length);
    assert.ok(undone.canRedo);
    const redone = await call('transcript.edit', { mediaId, edit: { kind: 'redo' } });
    assert.equal(redone.segments.length, before.segments.length + 1);
    const replaced = await call('transcript.edit', { mediaId, edit: { kind: 'replace-all', find: 'BUDGET', replace: 'finance', matchCase: false } });
    assert.equal(replaced.segments[0]!.text, 'the finance');
    const outside = await fixture.services.dispatch('transcript.edit', { mediaId: mediaId + 1000, edit: { kind: 'merge', segmentId: first.id } });
    assert.ok(!outside.ok && outside.error.code === 'not-found');
    const badTimes = await fixture.services.dispatch('transcript.edit', { mediaId, edit: { kind: 'times', segmentId: first.id, startSeconds: 5, endSeconds: 4 } });
    assert.ok(!badTimes.ok && badTimes.error.field === 'request.edit.endSeconds');
  });

  await t.test('search finds the edited words and says where', async () => {
    const hits = await call('search.run', { text: 'financ' });
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!.mediaName, 'standup.mp4');
    assert.match(hits[0]!.snippet, /\[finance\]/);
  });

  await t.test('export previews the first cues and writes an SRT a parser can read', async () => {
    const cues = { maxLineLength: 32, maxLines: 2, maxCharactersPerSecond: 17 };
    const preview = await call('export.preview', { mediaId, format: 'srt', cues, overwrite: false });
    assert.match(preview.text, /^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\nThe finance\n/, 'cues are presented capitalised');
    const out = mkdtempSync(join(tmpdir(), 'nestcap-export-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const written = await call('export.write', { mediaId, format: 'srt', cues, directory: out, overwrite: false });
    const text = readFileSync(written.path, 'utf8');
    assert.ok(text.startsWith(preview.text.split('\n\n')[0]!));
    const again = await fixture.services.dispatch('export.write', { mediaId, format: 'srt', cues, directory: out, overwrite: false });
    assert.ok(!again.ok && /already exists/.test(again.error.message), 'an existing file is not replaced unless asked');
  });

  await t.test('the browser host serves the media to the editor by its keyed URL, with ranges', async () => {
    const host = await startBrowserHost({ services: fixture.services, rendererDirectory: join(projectRoot, 'dist', 'renderer'), logger: { info() {}, warn() {}, error() {} } });
    t.after(() => host.close());
    const { mediaUrl } = await call('transcript.get', { mediaId });
    const size = readFileSync(join(folder, 'standup.mp4')).length;
    const ranged = await get(`${host.origin}${mediaUrl}`, { Range: 'bytes=10-19' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers['content-range'], `bytes 10-19/${size}`);
    assert.deepEqual(ranged.body, readFileSync(join(folder, 'standup.mp4')).subarray(10, 20));
    assert.equal((await get(`${host.origin}${mediaUrl.replace(/key=[^&]+/, 'key=forged')}`)).status, 403);
    const otherId = mediaUrl.replace(`/media/${mediaId}?`, `/media/${mediaId + 1}?`);
    assert.equal((await get(`${host.origin}${otherId}`)).status, 403, 'a key opens only its own media');
  });
});

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end();
  });
}

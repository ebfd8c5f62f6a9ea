import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../../electron/store/database.js';
import { createLibrary, listLibraries } from '../../electron/store/library.js';
import { migrate } from '../../electron/store/migrate.js';
import { migrations } from '../../electron/store/migrations/index.js';
import { commitSegments, startRun } from '../../electron/store/runs.js';
import { transcriptSegments } from '../../electron/store/segments.js';
import { StoreError } from '../../electron/store/store-error.js';
import { projectRoot } from '../support/browser.js';
import { scratchStore, someMedia } from './support.js';

const latestVersion = migrations.at(-1)?.version ?? 0;

test('a new library database is created migrated, in WAL mode, with foreign keys and full-text search', (t) => {
  const { db, path } = scratchStore(t);
  assert.equal(db.pragma('user_version', { simple: true }), latestVersion);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  const tables = (db.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[]).map((row) => row.name);
  for (const table of ['libraries', 'folders', 'media', 'runs', 'segments', 'segments_fts', 'revisions', 'jobs', 'job_attempts', 'migrations']) assert.ok(tables.includes(table), table);
  createLibrary(db, 'Lectures');
  db.close();

  // Opening again migrates nothing and keeps the data.
  const again = openStore(path);
  assert.equal(again.recovery, undefined);
  assert.deepEqual(listLibraries(again.db).map((library) => library.name), ['Lectures']);
  assert.equal((again.db.prepare('select count(*) as n from migrations').get() as { n: number }).n, migrations.length);
  // Foreign keys are enforced: a segment for media that does not exist is refused.
  assert.throws(() => again.db.prepare("insert into segments (media_id, start_seconds, end_seconds, text) values (999, 0, 1, 'x')").run(), /FOREIGN KEY/);
  again.db.close();
});

test('a database from a newer Nestcap is refused and left untouched', (t) => {
  const { db, path } = scratchStore(t);
  db.pragma('user_version = 99');
  db.close();
  const before = readFileSync(path);
  assert.throws(() => openStore(path), (error: unknown) => error instanceof StoreError && error.kind === 'newer-schema' && /newer Nestcap/.test(error.message));
  assert.deepEqual(readFileSync(path), before);
});

test('a damaged database is moved aside with a clear message and a fresh one is started, never overwritten', (t) => {
  const { db, path, directory } = scratchStore(t);
  const media = someMedia(db);
  const run = startRun(db, media.id, { bundleId: 'b', device: 'cpu', policy: {} });
  commitSegments(db, run.id, Array.from({ length: 400 }, (_, index) => ({ startSeconds: index, endSeconds: index + 0.5, text: `phrase number ${index} of the meeting` })));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  // Scribble over a page in the middle of the file, as a failing disk or a bad copy would.
  const size = readFileSync(path).length;
  assert.ok(size > 5 * 4096, `database is ${size} bytes`);
  const handle = openSync(path, 'r+');
  writeSync(handle, Buffer.alloc(4096, 0x5a), 0, 4096, 3 * 4096);
  closeSync(handle);
  const damaged = readFileSync(path);

  const recoveries: string[] = [];
  const reopened = openStore(path, { onRecovery: (recovery) => recoveries.push(recovery.message) });
  t.after(() => reopened.db.close());
  assert.ok(reopened.recovery, 'the damage was noticed');
  assert.match(reopened.recovery.message, /damaged.+moved to .+nestcap\.sqlite\.corrupt-.+new, empty library/);
  assert.deepEqual(recoveries, [reopened.recovery.message]);
  assert.deepEqual(readFileSync(reopened.recovery.movedTo), damaged, 'the damaged file is kept byte for byte');
  assert.deepEqual(listLibraries(reopened.db), [], 'the new database is fresh');
  assert.ok(readdirSync(directory).some((name) => name.startsWith('nestcap.sqlite.corrupt-')));
});

test('a file that is not a database at all is moved aside too', (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-store-'));
  const path = join(directory, 'nestcap.sqlite');
  writeFileSync(path, 'these are my notes, not a database '.repeat(200));
  const { db, recovery } = openStore(path);
  t.after(() => db.close());
  assert.ok(recovery);
  assert.match(recovery.reason, /not a database/);
  assert.match(readFileSync(recovery.movedTo, 'utf8'), /^these are my notes/);
  assert.equal(db.pragma('user_version', { simple: true }), latestVersion);
});

test('a database locked by another process gives a specific error after the busy timeout, and nothing is lost', async (t) => {
  const { db, path } = scratchStore(t, { busyTimeoutMs: 300 });
  createLibrary(db, 'Mine');
  // Another process takes the write lock and holds it until told to commit.
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import Database from 'better-sqlite3';
       const db = new Database(process.argv[1]);
       db.exec("begin exclusive");
       db.prepare("insert into libraries (name, created_at) values ('Theirs', '2026-01-01')").run();
       process.stdout.write('locked\\n');
       process.stdin.once('data', () => { db.exec('commit'); db.close(); process.exit(0); });`,
      path,
    ],
    { cwd: projectRoot, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));

  const started = performance.now();
  assert.throws(() => createLibrary(db, 'Blocked'), (error: unknown) => {
    assert.ok(error instanceof StoreError);
    assert.equal(error.kind, 'locked');
    assert.match(error.message, /in use by another program.+nothing was changed/);
    return true;
  });
  const waited = performance.now() - started;
  assert.ok(waited >= 250, `waited ${waited.toFixed(0)} ms for the lock`);
  // Reads still work while the other process writes (WAL).
  assert.deepEqual(listLibraries(db).map((library) => library.name), ['Mine']);

  holder.stdin.write('release\n');
  await new Promise((resolve) => holder.once('exit', resolve));
  createLibrary(db, 'After');
  assert.deepEqual(listLibraries(db).map((library) => library.name), ['Mine', 'Theirs', 'After']);
});

/** A real small filesystem, so SQLITE_FULL comes from the kernel's ENOSPC; needs root. */
function mountTinyFilesystem(size: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const directory = mkdtempSync(join(tmpdir(), 'nestcap-dbfull-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', directory], { stdio: 'ignore' });
    return directory;
  } catch {
    return undefined;
  }
}

test('a disk that fills while segments are committed fails with disk-full and keeps every earlier commit', (t) => {
  const directory = mountTinyFilesystem('1m');
  if (directory === undefined) {
    t.skip('needs root to mount a tiny tmpfs');
    return;
  }
  const path = join(directory, 'nestcap.sqlite');
  const { db } = openStore(path);
  const connections = [db];
  t.after(() => {
    for (const connection of connections) if (connection.open) connection.close();
    execFileSync('umount', [directory]);
  });
  const media = someMedia(db);
  const run = startRun(db, media.id, { bundleId: 'b', device: 'cpu', policy: {} });
  let committed = 0;
  let failure: unknown;
  for (let index = 0; index < 10_000; index += 1) {
    try {
      commitSegments(db, run.id, [{ startSeconds: index, endSeconds: index + 0.5, text: `segment ${index} `.repeat(10) }]);
      committed += 1;
    } catch (error) {
      failure = error;
      break;
    }
  }
  assert.ok(failure instanceof StoreError, String(failure));
  assert.equal(failure.kind, 'disk-full');
  assert.match(failure.message, /disk .+ is full/);
  assert.ok(committed > 10, `${committed} segments fitted`);
  db.close();
  const reopened = openStore(path).db;
  connections.push(reopened);
  const segments = transcriptSegments(reopened, media.id);
  assert.equal(segments.length, committed, 'every committed segment is there, nothing half-written');
  assert.equal(segments.at(-1)!.startSeconds, committed - 1);
  assert.ok(existsSync(path));
});

test('a later migration runs once, in order, and one that fails leaves the database at the last good version', (t) => {
  const { db } = scratchStore(t);
  const addNotes = { version: latestVersion + 1, name: 'media notes', sql: 'alter table media add column notes text;' };
  assert.equal(migrate(db, [...migrations, addNotes]), latestVersion + 1);
  assert.equal(db.pragma('user_version', { simple: true }), latestVersion + 1);
  assert.equal(migrate(db, [...migrations, addNotes]), latestVersion + 1, 'running it again is a no-op');
  assert.ok((db.prepare('pragma table_info(media)').all() as { name: string }[]).some((column) => column.name === 'notes'));

  const broken = { version: latestVersion + 2, name: 'half done', sql: 'create table extra (id integer primary key); insert into no_such_table values (1);' };
  assert.throws(() => migrate(db, [...migrations, addNotes, broken]), /no such table/);
  assert.equal(db.pragma('user_version', { simple: true }), latestVersion + 1);
  assert.equal(db.prepare("select name from sqlite_master where name = 'extra'").get(), undefined, 'the failed step left nothing behind');
});

import { stamp } from './clock.js';
import type { SqliteDatabase } from './database.js';
import { read, StoreError, writeTransaction } from './store-error.js';

/** Libraries, the folders they hold, and the media files found in them. */

export interface Library {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
}

export interface Folder {
  readonly id: number;
  readonly libraryId: number;
  readonly path: string;
  readonly recursive: boolean;
  readonly watched: boolean;
  /** Lower-case, with the dot; undefined means the default media extensions. */
  readonly extensions: readonly string[] | undefined;
}

export interface StreamSummary {
  readonly codec: string;
  readonly [detail: string]: string | number | undefined;
}

export interface Media {
  readonly id: number;
  readonly libraryId: number | undefined;
  readonly folderId: number | undefined;
  readonly path: string;
  readonly contentHash: string;
  readonly sizeBytes: number;
  readonly modifiedMs: number;
  readonly durationSeconds: number | undefined;
  readonly container: string | undefined;
  readonly audio: StreamSummary | undefined;
  readonly video: StreamSummary | undefined;
  /** Why probing failed at discovery; the job will fail with the same reason. */
  readonly probeError: string | undefined;
  readonly missingSince: string | undefined;
}

interface MediaRow {
  id: number;
  library_id: number | null;
  folder_id: number | null;
  path: string;
  content_hash: string;
  size_bytes: number;
  modified_ms: number;
  duration_seconds: number | null;
  container: string | null;
  audio_stream: string | null;
  video_stream: string | null;
  probe_error: string | null;
  missing_since: string | null;
}

const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

function toMedia(row: MediaRow): Media {
  return {
    id: row.id,
    libraryId: orUndefined(row.library_id),
    folderId: orUndefined(row.folder_id),
    path: row.path,
    contentHash: row.content_hash,
    sizeBytes: row.size_bytes,
    modifiedMs: row.modified_ms,
    durationSeconds: orUndefined(row.duration_seconds),
    container: orUndefined(row.container),
    audio: row.audio_stream === null ? undefined : (JSON.parse(row.audio_stream) as StreamSummary),
    video: row.video_stream === null ? undefined : (JSON.parse(row.video_stream) as StreamSummary),
    probeError: orUndefined(row.probe_error),
    missingSince: orUndefined(row.missing_since),
  };
}

interface FolderRow {
  id: number;
  library_id: number;
  path: string;
  recursive: number;
  watched: number;
  extensions: string | null;
}

function toFolder(row: FolderRow): Folder {
  return {
    id: row.id,
    libraryId: row.library_id,
    path: row.path,
    recursive: row.recursive === 1,
    watched: row.watched === 1,
    extensions: row.extensions === null ? undefined : (JSON.parse(row.extensions) as string[]),
  };
}

export function createLibrary(db: SqliteDatabase, name: string, now?: () => Date): Library {
  return writeTransaction(db, () => {
    const createdAt = stamp(now);
    const { lastInsertRowid } = db.prepare('insert into libraries (name, created_at) values (?, ?)').run(name, createdAt);
    return { id: Number(lastInsertRowid), name, createdAt };
  });
}

export function listLibraries(db: SqliteDatabase): Library[] {
  return read(db, () =>
    (db.prepare('select id, name, created_at as createdAt from libraries order by id').all() as Library[]),
  );
}

export interface FolderSettings {
  readonly path: string;
  readonly recursive?: boolean;
  readonly watched?: boolean;
  readonly extensions?: readonly string[];
}

/** Adds a folder to a library, or updates its settings when it is already there. */
export function addFolder(db: SqliteDatabase, libraryId: number, settings: FolderSettings, now?: () => Date): Folder {
  return writeTransaction(db, () => {
    if (db.prepare('select 1 from libraries where id = ?').get(libraryId) === undefined) {
      throw new StoreError('not-found', `Library ${libraryId} does not exist.`);
    }
    const extensions = settings.extensions ? JSON.stringify(settings.extensions.map((extension) => extension.toLowerCase())) : null;
    db.prepare(
      `insert into folders (library_id, path, recursive, watched, extensions, added_at) values (?, ?, ?, ?, ?, ?)
       on conflict (library_id, path) do update set recursive = excluded.recursive, watched = excluded.watched, extensions = excluded.extensions`,
    ).run(libraryId, settings.path, settings.recursive === false ? 0 : 1, settings.watched ? 1 : 0, extensions, stamp(now));
    return toFolder(db.prepare('select * from folders where library_id = ? and path = ?').get(libraryId, settings.path) as FolderRow);
  });
}

export function listFolders(db: SqliteDatabase, options: { libraryId?: number; watchedOnly?: boolean } = {}): Folder[] {
  return read(db, () =>
    (db.prepare('select * from folders where (? is null or library_id = ?) and (? = 0 or watched = 1) order by id')
      .all(options.libraryId ?? null, options.libraryId ?? null, options.watchedOnly ? 1 : 0) as FolderRow[]).map(toFolder),
  );
}

export function getMedia(db: SqliteDatabase, mediaId: number): Media {
  const row = read(db, () => db.prepare('select * from media where id = ?').get(mediaId) as MediaRow | undefined);
  if (row === undefined) throw new StoreError('not-found', `Media ${mediaId} is not in the library.`);
  return toMedia(row);
}

export function listMedia(db: SqliteDatabase, libraryId: number): Media[] {
  return read(db, () => (db.prepare('select * from media where library_id = ? order by path').all(libraryId) as MediaRow[]).map(toMedia));
}

export function findMediaByPath(db: SqliteDatabase, libraryId: number | undefined, path: string): Media | undefined {
  const row = read(db, () => db.prepare('select * from media where library_id is ? and path = ?').get(libraryId ?? null, path) as MediaRow | undefined);
  return row && toMedia(row);
}

export function findMediaByHash(db: SqliteDatabase, libraryId: number | undefined, contentHash: string): Media | undefined {
  const row = read(db, () =>
    db.prepare('select * from media where library_id is ? and content_hash = ? order by id limit 1').get(libraryId ?? null, contentHash) as MediaRow | undefined,
  );
  return row && toMedia(row);
}

export interface MediaFacts {
  readonly path: string;
  readonly contentHash: string;
  readonly sizeBytes: number;
  readonly modifiedMs: number;
  readonly durationSeconds?: number | undefined;
  readonly container?: string | undefined;
  readonly audio?: StreamSummary | undefined;
  readonly video?: StreamSummary | undefined;
  readonly probeError?: string | undefined;
}

const factColumns = (facts: MediaFacts) => [
  facts.path,
  facts.contentHash,
  facts.sizeBytes,
  facts.modifiedMs,
  facts.durationSeconds ?? null,
  facts.container ?? null,
  facts.audio ? JSON.stringify(facts.audio) : null,
  facts.video ? JSON.stringify(facts.video) : null,
  facts.probeError ?? null,
];

export function insertMedia(db: SqliteDatabase, place: { libraryId?: number; folderId?: number }, facts: MediaFacts, now?: () => Date): Media {
  return writeTransaction(db, () => {
    const { lastInsertRowid } = db
      .prepare(
        `insert into media (library_id, folder_id, path, content_hash, size_bytes, modified_ms, duration_seconds, container, audio_stream, video_stream, probe_error, added_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(place.libraryId ?? null, place.folderId ?? null, ...factColumns(facts), stamp(now));
    return getMedia(db, Number(lastInsertRowid));
  });
}

/** New content or a new place for a known media file (changed in place, or moved). */
export function updateMediaFacts(db: SqliteDatabase, mediaId: number, facts: MediaFacts): Media {
  return writeTransaction(db, () => {
    db.prepare(
      `update media set path = ?, content_hash = ?, size_bytes = ?, modified_ms = ?, duration_seconds = ?, container = ?, audio_stream = ?, video_stream = ?, probe_error = ?, missing_since = null
       where id = ?`,
    ).run(...factColumns(facts), mediaId);
    return getMedia(db, mediaId);
  });
}

/** The file vanished from disk; its transcript stays, and so does the record of where it was. */
export function markMediaMissing(db: SqliteDatabase, mediaId: number, now?: () => Date): void {
  writeTransaction(db, () => db.prepare('update media set missing_since = coalesce(missing_since, ?) where id = ?').run(stamp(now), mediaId));
}

/** Media added outside any library (a file opened on its own, e.g. to import captions for). */
export function mediaForFile(db: SqliteDatabase, facts: MediaFacts, now?: () => Date): Media {
  return findMediaByPath(db, undefined, facts.path) ?? insertMedia(db, {}, facts, now);
}

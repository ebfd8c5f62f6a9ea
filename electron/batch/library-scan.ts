import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { SqliteDatabase } from '../store/database.js';
import { enqueueJob, type Job } from '../store/jobs.js';
import {
  addFolder,
  findMediaByHash,
  findMediaByPath,
  insertMedia,
  listMedia,
  markMediaMissing,
  updateMediaFacts,
  type Folder,
  type FolderSettings,
  type Media,
  type MediaFacts,
  type StreamSummary,
} from '../store/library.js';
import { discoverMedia, hashFile, mediaExtensions, skipFor, type DiscoveredFile, type SkippedEntry } from './media-discovery.js';

/**
 * A library folder against the store: new files become media with a queued job, files whose
 * content changed get a new job, identical content under another name is reported as a
 * duplicate (or followed, when the original moved), and vanished files are marked missing.
 */

export interface ProbedFacts {
  readonly durationSeconds: number | undefined;
  readonly container: string | undefined;
  readonly audio: StreamSummary | undefined;
  readonly video: StreamSummary | undefined;
}

/** Reads a file's duration and streams; throws when it is not usable media (kept as probeError). */
export type Prober = (path: string) => Promise<ProbedFacts>;

export interface ScanResult {
  readonly folder: Folder;
  readonly added: readonly Media[];
  readonly changed: readonly Media[];
  readonly moved: readonly Media[];
  readonly duplicates: readonly { path: string; sameAs: string }[];
  readonly missing: readonly Media[];
  readonly skipped: readonly SkippedEntry[];
  readonly jobs: readonly Job[];
  readonly unchanged: number;
}

export interface ScanOptions {
  readonly probe?: Prober;
  /** Only take files this accepts (the watcher passes files that stopped growing). */
  readonly accept?: (file: DiscoveredFile) => boolean;
  readonly priority?: number;
  readonly now?: () => Date;
}

async function factsOf(file: DiscoveredFile, contentHash: string, probe: Prober | undefined): Promise<MediaFacts> {
  const base = { path: file.path, contentHash, sizeBytes: file.sizeBytes, modifiedMs: file.modifiedMs };
  if (probe === undefined) return base;
  try {
    return { ...base, ...(await probe(file.path)) };
  } catch (error) {
    return { ...base, probeError: error instanceof Error ? error.message : String(error) };
  }
}

export async function scanFolder(db: SqliteDatabase, folder: Folder, options: ScanOptions = {}): Promise<ScanResult> {
  const extensions = folder.extensions ? new Set(folder.extensions) : mediaExtensions;
  const discovery = await discoverMedia(folder.path, { recursive: folder.recursive, extensions });
  const added: Media[] = [];
  const changed: Media[] = [];
  const moved: Media[] = [];
  const duplicates: { path: string; sameAs: string }[] = [];
  const skipped: SkippedEntry[] = [...discovery.skipped];
  const jobs: Job[] = [];
  let unchanged = 0;
  const queue = (media: Media) => jobs.push(enqueueJob(db, media.id, { priority: options.priority ?? 0, durationSeconds: media.durationSeconds }, options.now));

  for (const file of discovery.files) {
    if (options.accept && !options.accept(file)) continue;
    const known = findMediaByPath(db, folder.libraryId, file.path);
    if (known && known.sizeBytes === file.sizeBytes && known.modifiedMs === file.modifiedMs && known.missingSince === undefined) {
      unchanged += 1;
      continue;
    }
    let contentHash: string;
    try {
      contentHash = await hashFile(file.path);
    } catch (error) {
      skipped.push(skipFor(file.path, error));
      continue;
    }
    if (known) {
      if (known.contentHash === contentHash) {
        updateMediaFacts(db, known.id, { ...known, ...file, contentHash });
        unchanged += 1;
      } else {
        const media = updateMediaFacts(db, known.id, await factsOf(file, contentHash, options.probe));
        changed.push(media);
        queue(media);
      }
      continue;
    }
    const same = findMediaByHash(db, folder.libraryId, contentHash);
    if (same) {
      if (existsSync(same.path)) duplicates.push({ path: file.path, sameAs: same.path });
      else moved.push(updateMediaFacts(db, same.id, { ...same, ...file, contentHash }));
      continue;
    }
    const media = insertMedia(db, { libraryId: folder.libraryId, folderId: folder.id }, await factsOf(file, contentHash, options.probe), options.now);
    added.push(media);
    queue(media);
  }

  const missing: Media[] = [];
  for (const media of listMedia(db, folder.libraryId)) {
    if (media.folderId !== folder.id || media.missingSince !== undefined) continue;
    try {
      await stat(media.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') continue;
      markMediaMissing(db, media.id, options.now);
      missing.push(media);
    }
  }
  return { folder, added, changed, moved, duplicates, missing, skipped, jobs, unchanged };
}

/** Adds a folder to a library and scans it at once. */
export async function addLibraryFolder(db: SqliteDatabase, libraryId: number, settings: FolderSettings, options: ScanOptions = {}): Promise<ScanResult> {
  return scanFolder(db, addFolder(db, libraryId, settings, options.now), options);
}

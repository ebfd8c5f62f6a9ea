import { basename } from 'node:path';
import { BatchQueue, type BatchEvent, type Captioner } from '../batch/batch-queue.js';
import { FolderWatcher } from '../batch/folder-watcher.js';
import { addLibraryFolder, type Prober } from '../batch/library-scan.js';
import { defaultCueOptions, buildCues } from '../export/cues.js';
import { renderCaptions } from '../export/formats.js';
import { exportStoredTranscript } from '../export/stored-transcript.js';
import {
  fail,
  ok,
  type AddFolderResult,
  type BatchView,
  type EventChannels,
  type ExportRequestView,
  type JobAction,
  type JobView,
  type LibraryMediaView,
  type LibraryView,
  type MediaStatus,
  type Result,
  type SearchHitView,
  type TranscriptEdit,
  type TranscriptView,
} from '../ipc/contract.js';
import type { SqliteDatabase } from '../store/database.js';
import { deleteSegment, editText, editTimes, mergeWithNext, redo, replaceText, revisionsOf, splitSegment, undo } from '../store/editing.js';
import { listJobs, type Job } from '../store/jobs.js';
import { createLibrary, listFolders, listLibraries, type Folder } from '../store/library.js';
import { mediaOverview, type MediaOverview } from '../store/overview.js';
import type { RunSettings } from '../store/runs.js';
import { searchTranscripts } from '../store/search.js';
import { transcriptSegments } from '../store/segments.js';
import { StoreError } from '../store/store-error.js';

/**
 * The library as the UI sees it: folders and media with their status, the batch queue with
 * progress and ETA, search, the transcript editor and export, over the store, the batch queue
 * and the exporters. Store errors come back as typed error values, never thrown strings.
 */

export interface LibraryServiceDependencies {
  readonly database: SqliteDatabase;
  readonly captioner: Captioner;
  readonly runSettings: RunSettings | (() => Promise<RunSettings>);
  /** Probing at scan time (duration, streams); undefined when ffmpeg is missing. */
  readonly probe: Prober | undefined;
  /** A same-origin URL the host serves the media file at, for the editor's player. */
  readonly mediaUrl: (mediaId: number) => string;
  readonly emit: <E extends 'batch.changed' | 'library.changed'>(event: E, payload: EventChannels[E]) => void;
  readonly logger: { warn(message: string, details?: Record<string, unknown>): void };
  readonly concurrency?: number;
  readonly watchIntervalMs?: number;
}

interface Progress {
  processedSeconds: number;
  durationSeconds: number | undefined;
  startedAtMs: number;
  startedFromSeconds: number;
}

const libraryName = 'My library';

export class LibraryService {
  readonly #deps: LibraryServiceDependencies;
  readonly #queue: BatchQueue;
  readonly #watcher: FolderWatcher;
  readonly #progress = new Map<number, Progress>();
  #overall: BatchView['overall'] = { processedSeconds: 0, totalSeconds: 0, etaSeconds: undefined };
  #emitTimer: NodeJS.Timeout | undefined;

  constructor(dependencies: LibraryServiceDependencies) {
    this.#deps = dependencies;
    this.#queue = new BatchQueue({
      db: dependencies.database,
      captioner: dependencies.captioner,
      run: dependencies.runSettings,
      concurrency: dependencies.concurrency ?? 1,
      onEvent: (event) => this.#onBatchEvent(event),
      overallIntervalMs: 250,
    });
    this.#watcher = new FolderWatcher({
      db: dependencies.database,
      intervalMs: dependencies.watchIntervalMs ?? 5000,
      ...(dependencies.probe ? { probe: dependencies.probe } : {}),
      onChange: (result) => {
        this.#queue.poke();
        this.#deps.emit('library.changed', { mediaIds: [...result.added, ...result.changed, ...result.moved, ...result.missing].map((media) => media.id) });
      },
      onError: (folder, error) => this.#deps.logger.warn('a watched folder could not be scanned', { path: folder.path, error: String(error) }),
    });
  }

  start(): void {
    this.#queue.start();
    this.#watcher.start();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#emitTimer);
    await this.#watcher.stop();
    await this.#queue.stop();
  }

  library(): Result<LibraryView> {
    return guard(() => ({
      folders: listFolders(this.#deps.database).map((folder) => ({ id: folder.id, path: folder.path, watched: folder.watched })),
      media: mediaOverview(this.#deps.database).map((entry) => this.#mediaView(entry)),
    }));
  }

  async addFolder(path: string, watch: boolean): Promise<Result<AddFolderResult>> {
    try {
      const { database } = this.#deps;
      const library = listLibraries(database)[0] ?? createLibrary(database, libraryName);
      const result = await addLibraryFolder(database, library.id, { path, recursive: true, watched: watch }, this.#deps.probe ? { probe: this.#deps.probe } : {});
      this.#queue.poke();
      this.#deps.emit('library.changed', { mediaIds: result.added.map((media) => media.id) });
      this.#scheduleBatchEvent();
      return ok({
        folder: folderView(result.folder),
        added: result.added.length,
        duplicates: result.duplicates.length,
        skipped: result.skipped.map((entry) => ({ path: entry.path, reason: entry.reason })),
        queued: result.jobs.length,
      });
    } catch (error) {
      return asError(error, 'the folder could not be added');
    }
  }

  batch(): Result<BatchView> {
    return guard(() => this.#batchView());
  }

  setPaused(paused: boolean): Result<BatchView> {
    return guard(() => {
      if (paused) this.#queue.pause();
      else this.#queue.resume();
      return this.#batchView();
    });
  }

  jobAction(jobId: number, action: JobAction): Result<BatchView> {
    return guard(() => {
      const actions = { pause: () => this.#queue.pauseJob(jobId), resume: () => this.#queue.resumeJob(jobId), cancel: () => this.#queue.cancelJob(jobId), retry: () => this.#queue.retryJob(jobId) };
      actions[action]();
      return this.#batchView();
    });
  }

  search(text: string): Result<SearchHitView[]> {
    return guard(() =>
      searchTranscripts(this.#deps.database, text, { limit: 50 }).map((hit) => ({
        segmentId: hit.segmentId,
        mediaId: hit.mediaId,
        mediaName: basename(hit.mediaPath),
        startSeconds: hit.startSeconds,
        snippet: hit.snippet,
      })),
    );
  }

  transcript(mediaId: number): Result<TranscriptView> {
    return guard(() => this.#transcriptView(mediaId));
  }

  edit(mediaId: number, change: TranscriptEdit): Result<TranscriptView> {
    return guard(() => {
      const db = this.#deps.database;
      this.#requireSegmentOf(mediaId, change);
      switch (change.kind) {
        case 'text':
          editText(db, change.segmentId, change.text);
          break;
        case 'times':
          editTimes(db, change.segmentId, change.startSeconds, change.endSeconds);
          break;
        case 'split':
          splitSegment(db, change.segmentId, change.atSeconds, change.textIndex);
          break;
        case 'merge':
          mergeWithNext(db, change.segmentId);
          break;
        case 'delete':
          deleteSegment(db, change.segmentId);
          break;
        case 'replace-all':
          replaceText(db, mediaId, change.find, change.replace, change.matchCase);
          break;
        case 'undo':
          undo(db, mediaId);
          break;
        case 'redo':
          redo(db, mediaId);
          break;
      }
      this.#deps.emit('library.changed', { mediaIds: [mediaId] });
      return this.#transcriptView(mediaId);
    });
  }

  exportPreview(request: ExportRequestView): Result<{ text: string; cueCount: number }> {
    return guard(() => {
      const segments = transcriptSegments(this.#deps.database, request.mediaId);
      const cueOptions = { ...defaultCueOptions, ...request.cues };
      const head = segments.slice(0, 6).map((segment) => ({ startSeconds: segment.startSeconds, endSeconds: segment.endSeconds, text: segment.text }));
      return { text: renderCaptions(request.format, head, { preview: true }, cueOptions), cueCount: buildCues(segments, cueOptions).length };
    });
  }

  async exportWrite(request: ExportRequestView): Promise<Result<{ path: string }>> {
    try {
      const result = await exportStoredTranscript(this.#deps.database, request.mediaId, {
        formats: [request.format],
        outputDirectory: request.directory,
        overwrite: request.overwrite,
        cueOptions: { ...defaultCueOptions, ...request.cues },
      });
      const failure = result.failed[0];
      if (failure) return fail(failure.error.name === 'OutputExistsError' ? 'invalid-request' : 'unavailable', failure.error.message, 'request.directory');
      return ok({ path: result.written[0]!.path });
    } catch (error) {
      return asError(error, 'the export failed');
    }
  }

  #requireSegmentOf(mediaId: number, change: TranscriptEdit): void {
    if (!('segmentId' in change)) return;
    const belongs = transcriptSegments(this.#deps.database, mediaId).some((segment) => segment.id === change.segmentId);
    if (!belongs) throw new StoreError('not-found', `Segment ${change.segmentId} is not in this transcript.`);
  }

  #mediaView(entry: MediaOverview): LibraryMediaView {
    const { media } = entry;
    return {
      id: media.id,
      path: media.path,
      name: basename(media.path),
      folderId: media.folderId,
      durationSeconds: media.durationSeconds,
      status: statusOf(entry),
      problem: media.missingSince ? 'the file is no longer where it was' : (media.probeError ?? (entry.jobState === 'failed' ? entry.jobError : undefined)),
      segments: entry.segments,
      scaleIds: entry.scaleIds,
      live: entry.live,
      hasVideo: media.video !== undefined,
    };
  }

  #transcriptView(mediaId: number): TranscriptView {
    const db = this.#deps.database;
    const [entry] = mediaOverview(db, [mediaId]);
    if (!entry) throw new StoreError('not-found', `Media ${mediaId} is not in the library.`);
    const revisions = revisionsOf(db, mediaId);
    return {
      media: this.#mediaView(entry),
      segments: transcriptSegments(db, mediaId).map((segment) => ({
        id: segment.id,
        startSeconds: segment.startSeconds,
        endSeconds: segment.endSeconds,
        text: segment.text,
        scaleId: segment.scaleId,
        modality: segment.modality,
        videoMissing: segment.videoMissing,
        edited: segment.edited,
      })),
      canUndo: revisions.some((revision) => revision.state === 'applied'),
      canRedo: revisions.some((revision) => revision.state === 'undone'),
      mediaUrl: this.#deps.mediaUrl(mediaId),
    };
  }

  #batchView(): BatchView {
    const jobs = listJobs(this.#deps.database);
    return { paused: this.#queue.paused, jobs: jobs.map((job) => this.#jobView(job)), overall: this.#overall };
  }

  #jobView(job: Job): JobView {
    const progress = this.#progress.get(job.id);
    const processedSeconds = progress?.processedSeconds ?? job.processedSeconds;
    const durationSeconds = progress?.durationSeconds ?? job.durationSeconds;
    let etaSeconds: number | undefined;
    if (job.state === 'running' && progress && durationSeconds !== undefined) {
      const elapsed = (performance.now() - progress.startedAtMs) / 1000;
      const done = progress.processedSeconds - progress.startedFromSeconds;
      if (elapsed > 1 && done > 0) etaSeconds = ((durationSeconds - progress.processedSeconds) * elapsed) / done;
    }
    return {
      jobId: job.id,
      mediaId: job.mediaId,
      name: basename(job.mediaPath),
      state: job.state,
      processedSeconds,
      durationSeconds,
      etaSeconds,
      error: job.state === 'failed' ? job.errorMessage : undefined,
    };
  }

  #onBatchEvent(event: BatchEvent): void {
    switch (event.type) {
      case 'file-progress': {
        const known = this.#progress.get(event.jobId);
        this.#progress.set(event.jobId, {
          processedSeconds: event.processedSeconds,
          durationSeconds: event.durationSeconds,
          startedAtMs: known?.startedAtMs ?? performance.now(),
          startedFromSeconds: known?.startedFromSeconds ?? event.processedSeconds,
        });
        break;
      }
      case 'overall':
        this.#overall = { processedSeconds: event.processedSeconds, totalSeconds: event.totalSeconds, etaSeconds: event.etaSeconds };
        break;
      case 'job':
        if (event.job.state !== 'running') this.#progress.delete(event.job.id);
        if (event.job.state === 'finished' || event.job.state === 'failed') this.#deps.emit('library.changed', { mediaIds: [event.job.mediaId] });
        break;
      case 'stalled':
        this.#deps.logger.warn('the batch queue paused itself: the library could not record progress', { message: event.message });
        break;
      case 'segment':
        break;
    }
    this.#scheduleBatchEvent();
  }

  /** Progress arrives many times a second; the UI gets at most four updates a second. */
  #scheduleBatchEvent(): void {
    if (this.#emitTimer) return;
    this.#emitTimer = setTimeout(() => {
      this.#emitTimer = undefined;
      try {
        this.#deps.emit('batch.changed', this.#batchView());
      } catch (error) {
        this.#deps.logger.warn('could not read the batch queue', { error: String(error) });
      }
    }, 250);
  }
}

function folderView(folder: Folder) {
  return { id: folder.id, path: folder.path, watched: folder.watched };
}

function statusOf(entry: MediaOverview): MediaStatus {
  if (entry.media.missingSince) return 'missing';
  if (entry.media.probeError) return 'unreadable';
  if (entry.jobState === 'finished' || (entry.jobState === undefined && entry.segments > 0)) return 'captioned';
  return entry.jobState ?? 'new';
}

function guard<T>(work: () => T): Result<T> {
  try {
    return ok(work());
  } catch (error) {
    return asError(error, 'the library could not do that');
  }
}

function asError<T>(error: unknown, context: string): Result<T> {
  if (error instanceof StoreError) {
    const code = error.kind === 'not-found' ? 'not-found' : error.kind === 'invalid-edit' ? 'invalid-request' : 'unavailable';
    return fail(code, error.message);
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('E')) {
    return fail('invalid-request', `${context}: ${error.message}`);
  }
  throw error;
}

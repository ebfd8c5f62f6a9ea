import type { SqliteDatabase } from '../store/database.js';
import { importTranscript, type Revision } from '../store/editing.js';
import { getMedia } from '../store/library.js';
import { runsOf } from '../store/runs.js';
import { transcriptSegments } from '../store/segments.js';
import { readSubtitleFile, type SubtitleFile } from './subtitle-import.js';
import { exportTranscript, type ExportRequest, type ExportResult } from './transcript-export.js';

/** Caption files to and from a media file's transcript in the library. */

export type StoredExportOptions = Omit<ExportRequest, 'mediaPath' | 'segments' | 'metadata'>;

/** Writes the transcript as it stands (edits included), with where it came from in the JSON. */
export async function exportStoredTranscript(db: SqliteDatabase, mediaId: number, options: StoredExportOptions): Promise<ExportResult> {
  const media = getMedia(db, mediaId);
  const segments = transcriptSegments(db, mediaId).map((segment) => ({
    startSeconds: segment.startSeconds,
    endSeconds: segment.endSeconds,
    text: segment.text,
    ...(segment.scaleId === undefined ? {} : { scaleId: segment.scaleId }),
    ...(segment.modality === undefined ? {} : { modality: segment.modality }),
    ...(segment.confidence === undefined ? {} : { confidence: segment.confidence }),
    ...(segment.edited ? { edited: true } : {}),
  }));
  const run = runsOf(db, mediaId).filter((entry) => entry.state === 'finished').at(-1);
  const metadata = {
    media: media.path,
    durationSeconds: media.durationSeconds,
    ...(run ? { model: run.bundleId, device: run.device, policy: run.policy } : {}),
    createdBy: 'Nestcap',
  };
  return exportTranscript({ ...options, mediaPath: media.path, segments, metadata });
}

/**
 * Reads an SRT/VTT file into a media file's transcript as one undoable edit. Malformed files
 * throw SubtitleParseError (line-numbered) before anything in the library changes.
 */
export async function importCaptionFile(db: SqliteDatabase, mediaId: number, path: string): Promise<{ file: SubtitleFile; revision: Revision }> {
  getMedia(db, mediaId);
  const file = await readSubtitleFile(path);
  return { file, revision: importTranscript(db, mediaId, file.cues) };
}

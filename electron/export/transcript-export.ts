import { defaultCueOptions, type CueOptions, type TimedText } from './cues.js';
import { renderCaptions, toJson, type CaptionFormat, type JsonSegment } from './formats.js';
import { captionPathFor, OutputExistsError, OutputWriteError, writeFileAtomically } from './write-file.js';

/**
 * A transcript out to caption files: each format written atomically next to the media or into
 * a chosen folder, under a safe name, never replacing a file unless asked. One format failing
 * (the file exists, the disk is full) does not stop the others; the result says which did.
 */

export interface ExportRequest {
  readonly mediaPath: string;
  readonly segments: readonly JsonSegment[];
  readonly formats: readonly CaptionFormat[];
  /** Undefined: next to the media file. */
  readonly outputDirectory?: string | undefined;
  readonly overwrite: boolean;
  readonly cueOptions?: CueOptions;
  /** JSON only: add per-word times (estimated within each segment) to every segment. */
  readonly timing?: 'segment' | 'word';
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface ExportFailure {
  readonly format: CaptionFormat;
  readonly path: string;
  readonly error: OutputExistsError | OutputWriteError;
}

export interface ExportResult {
  readonly written: readonly { format: CaptionFormat; path: string }[];
  readonly failed: readonly ExportFailure[];
}

export interface TimedWord {
  readonly text: string;
  readonly startSeconds: number;
  readonly endSeconds: number;
}

/**
 * The recognizer gives times per phrase, not per word; words share the phrase's time in
 * proportion to their length (plus one for the gap), which is close enough to seek by.
 */
export function estimateWordTimes(segment: TimedText): TimedWord[] {
  const words = segment.text.split(/\s+/).filter((word) => word.length > 0);
  const weights = words.map((word) => word.length + 1);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const duration = segment.endSeconds - segment.startSeconds;
  let cursor = segment.startSeconds;
  return words.map((text, index) => {
    const end = index === words.length - 1 ? segment.endSeconds : cursor + (weights[index]! / total) * duration;
    const word = { text, startSeconds: round(cursor), endSeconds: round(end) };
    cursor = end;
    return word;
  });
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

export function renderExport(format: CaptionFormat, request: Pick<ExportRequest, 'segments' | 'cueOptions' | 'timing' | 'metadata'>): string {
  const metadata = request.metadata ?? {};
  if (format === 'json' && request.timing === 'word') {
    return toJson(request.segments.map((segment) => ({ ...segment, words: estimateWordTimes(segment) })), { ...metadata, wordTimes: 'estimated within each segment' });
  }
  return renderCaptions(format, request.segments, metadata, request.cueOptions ?? defaultCueOptions);
}

export async function exportTranscript(request: ExportRequest): Promise<ExportResult> {
  const written: { format: CaptionFormat; path: string }[] = [];
  const failed: ExportFailure[] = [];
  for (const format of request.formats) {
    const path = captionPathFor(request.mediaPath, format, request.outputDirectory);
    try {
      await writeFileAtomically(path, renderExport(format, request), request.overwrite);
      written.push({ format, path });
    } catch (error) {
      if (!(error instanceof OutputExistsError || error instanceof OutputWriteError)) throw error;
      failed.push({ format, path, error });
    }
  }
  return { written, failed };
}

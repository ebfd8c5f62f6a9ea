import { buildCues, defaultCueOptions, presentText, type Cue, type CueOptions, type TimedText } from './cues.js';

/** Writers for the caption formats the app exports. All return text; files are written elsewhere. */

export type CaptionFormat = 'srt' | 'vtt' | 'txt' | 'json';
export const captionFormats: readonly CaptionFormat[] = ['srt', 'vtt', 'txt', 'json'];

export function formatTimestamp(seconds: number, decimalSeparator: ',' | '.'): string {
  const totalMilliseconds = Math.max(0, Math.round(seconds * 1000));
  const hours = Math.floor(totalMilliseconds / 3_600_000);
  const minutes = Math.floor((totalMilliseconds % 3_600_000) / 60_000);
  const secs = Math.floor((totalMilliseconds % 60_000) / 1000);
  const millis = totalMilliseconds % 1000;
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(hours)}:${pad(minutes)}:${pad(secs)}${decimalSeparator}${pad(millis, 3)}`;
}

/** SRT and VTT treat a blank line as the end of a cue, and VTT reserves "-->" and "<" and "&". */
function cueLine(line: string, format: 'srt' | 'vtt'): string {
  // "--->" must not collapse into a new "-->": every run of dashes before ">" becomes one.
  const flat = line.replace(/\s+/g, ' ').replace(/--+>/g, '->');
  return format === 'vtt' ? flat.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : flat;
}

export function toSrt(cues: readonly Cue[]): string {
  return cues
    .map((cue, index) =>
      [String(index + 1), `${formatTimestamp(cue.startSeconds, ',')} --> ${formatTimestamp(cue.endSeconds, ',')}`, ...cue.lines.map((line) => cueLine(line, 'srt'))].join('\n'),
    )
    .map((block) => `${block}\n`)
    .join('\n');
}

export function toVtt(cues: readonly Cue[]): string {
  const blocks = cues.map((cue) =>
    [`${formatTimestamp(cue.startSeconds, '.')} --> ${formatTimestamp(cue.endSeconds, '.')}`, ...cue.lines.map((line) => cueLine(line, 'vtt'))].join('\n'),
  );
  return ['WEBVTT', ...blocks].join('\n\n') + '\n';
}

/** Plain transcript: one paragraph per segment, with its start time. */
export function toTxt(segments: readonly TimedText[]): string {
  return segments
    .filter((segment) => segment.text.trim().length > 0)
    .map((segment) => `[${formatTimestamp(segment.startSeconds, '.').slice(0, 8)}] ${presentText(segment.text)}`)
    .join('\n') + '\n';
}

export interface JsonSegment extends TimedText {
  readonly scaleId?: string;
  readonly modality?: string;
  readonly confidence?: number;
}

export function toJson(segments: readonly JsonSegment[], metadata: Record<string, unknown>): string {
  return `${JSON.stringify({ ...metadata, segments: segments.map((segment) => ({ ...segment, text: presentText(segment.text) })) }, null, 2)}\n`;
}

export function renderCaptions(format: CaptionFormat, segments: readonly JsonSegment[], metadata: Record<string, unknown>, cueOptions: CueOptions = defaultCueOptions): string {
  switch (format) {
    case 'srt':
      return toSrt(buildCues(segments, cueOptions));
    case 'vtt':
      return toVtt(buildCues(segments, cueOptions));
    case 'txt':
      return toTxt(segments);
    case 'json':
      return toJson(segments, metadata);
  }
}

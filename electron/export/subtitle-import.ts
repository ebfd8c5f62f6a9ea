import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Cue } from './cues.js';

/**
 * Reads existing SRT and WebVTT files for editing. Lenient where players are (hour-less VTT
 * times, a "." in SRT times, missing SRT numbers, styling tags), strict where guessing would
 * lose or misplace text; every problem is reported with its line number, all at once.
 */

export type SubtitleFormat = 'srt' | 'vtt';

export interface ImportedCue extends Cue {
  /** The cue's lines joined by a space: what a transcript segment holds. */
  readonly text: string;
  /** 1-based line of the cue's timing line in the file. */
  readonly line: number;
}

export interface SubtitleProblem {
  readonly line: number;
  readonly message: string;
}

export class SubtitleParseError extends Error {
  override readonly name = 'SubtitleParseError';
  constructor(
    readonly format: SubtitleFormat,
    readonly problems: readonly SubtitleProblem[],
    source = 'the file',
  ) {
    super(`${source} is not a valid ${format === 'srt' ? 'SRT' : 'WebVTT'} file:\n${problems.map((problem) => `  line ${problem.line}: ${problem.message}`).join('\n')}`);
  }
}

export interface DecodedText {
  readonly text: string;
  /** What the bytes were read as; anything but utf-8 is worth telling the user. */
  readonly encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';
}

/**
 * Subtitle files in the wild are UTF-8, UTF-16 with a BOM, or (older SRT) Windows-1252. Bytes
 * that are not valid UTF-8 are read as Windows-1252 rather than turned into replacement marks.
 */
export function decodeSubtitleBytes(bytes: Uint8Array): DecodedText {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)), encoding: 'utf-16le' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)), encoding: 'utf-16be' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'windows-1252' };
  }
}

export function detectSubtitleFormat(text: string, fileName?: string): SubtitleFormat {
  if (/^\uFEFF?WEBVTT(?:[ \t]|$)/m.test(text.slice(0, 20))) return 'vtt';
  if (fileName !== undefined && /\.vtt$/i.test(fileName)) return 'vtt';
  return 'srt';
}

const timing = /^\s*(\S+)\s+-->\s+(\S+)(?:\s+(.*))?$/;

/** Seconds, or a description of what is wrong with the timestamp. */
function parseTimestamp(value: string, format: SubtitleFormat): number | string {
  const match = format === 'srt' ? /^(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})$/.exec(value) : /^(?:(\d{1,3}):)?(\d{2}):(\d{2})\.(\d{3})$/.exec(value);
  const example = format === 'srt' ? '00:01:02,500' : '00:01:02.500';
  if (match === null) return `"${value}" is not a time like ${example}`;
  const [hours, minutes, seconds] = [Number(match[1] ?? 0), Number(match[2]), Number(match[3])];
  if (minutes > 59 || seconds > 59) return `"${value}" has ${minutes > 59 ? 'minutes' : 'seconds'} above 59`;
  return hours * 3600 + minutes * 60 + seconds + Number(match[4]!.padEnd(3, '0')) / 1000;
}

const entities: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', nbsp: '\u00a0', lrm: '\u200e', rlm: '\u200f', quot: '"', apos: "'" };

/** One pass, so "&amp;lt;" becomes "&lt;" and not "<". */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith('#')) {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return entities[name.toLowerCase()] ?? whole;
  });
}

/** Styling markup is dropped; in SRT only the tags players know, so a literal "<3" survives. */
function cueText(line: string, format: SubtitleFormat): string {
  if (format === 'vtt') return decodeEntities(line.replace(/<[^>]*>/g, '')).trim();
  return line.replace(/<\/?(?:i|b|u|s)>|<font\b[^>]*>|<\/font>|\{\\[^}]*\}/gi, '').trim();
}

interface Block {
  readonly firstLine: number;
  readonly lines: readonly string[];
}

function blocksOf(lines: readonly string[], from: number): Block[] {
  const blocks: Block[] = [];
  let current: string[] = [];
  let firstLine = 0;
  for (let index = from; index <= lines.length; index += 1) {
    const line = lines[index];
    if (line === undefined || line.trim().length === 0) {
      if (current.length > 0) blocks.push({ firstLine, lines: current });
      current = [];
    } else {
      if (current.length === 0) firstLine = index + 1;
      current.push(line);
    }
  }
  return blocks;
}

export function parseSubtitles(text: string, format: SubtitleFormat, source?: string): ImportedCue[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const problems: SubtitleProblem[] = [];
  const cues: ImportedCue[] = [];
  let start = 0;
  if (format === 'vtt') {
    if (!/^WEBVTT(?:[ \t]|$)/.test(lines[0] ?? '')) problems.push({ line: 1, message: 'a WebVTT file must start with "WEBVTT"' });
    // The header runs to the first blank line.
    while (start < lines.length && (lines[start] ?? '').trim().length > 0) start += 1;
  }
  for (const block of blocksOf(lines, start)) {
    const head = block.lines[0]!;
    if (format === 'vtt' && /^(NOTE|STYLE|REGION)(?:[ \t]|$)/.test(head)) continue;
    // The cue number (SRT) or identifier (VTT) is optional: the timing line is what counts.
    const timingAt = timing.test(head) ? 0 : 1;
    const timingLine = block.lines[timingAt];
    const lineNumber = block.firstLine + timingAt;
    const match = timingLine === undefined ? null : timing.exec(timingLine);
    if (match === null) {
      const example = format === 'srt' ? '00:00:01,000 --> 00:00:02,500' : '00:00:01.000 --> 00:00:02.500';
      problems.push({ line: lineNumber, message: `expected a time line like "${example}", found ${timingLine === undefined ? 'the end of the cue' : `"${timingLine.slice(0, 60)}"`}` });
      continue;
    }
    if (format === 'srt' && match[3] !== undefined && match[3].trim().length > 0 && !/^X1:/i.test(match[3])) {
      problems.push({ line: lineNumber, message: `unexpected text after the end time: "${match[3].slice(0, 40)}"` });
      continue;
    }
    const startSeconds = parseTimestamp(match[1]!, format);
    const endSeconds = parseTimestamp(match[2]!, format);
    if (typeof startSeconds === 'string' || typeof endSeconds === 'string') {
      for (const problem of [startSeconds, endSeconds]) if (typeof problem === 'string') problems.push({ line: lineNumber, message: problem });
      continue;
    }
    if (endSeconds <= startSeconds) {
      problems.push({ line: lineNumber, message: `the cue ends (${match[2]}) before or when it starts (${match[1]})` });
      continue;
    }
    const body = block.lines.slice(timingAt + 1);
    const stray = body.findIndex((line) => timing.test(line));
    if (stray >= 0) {
      problems.push({ line: lineNumber + 1 + stray, message: 'a time line inside a cue; is the blank line before it missing?' });
      continue;
    }
    const cueLines = body.map((line) => cueText(line, format)).filter((line) => line.length > 0);
    if (cueLines.length === 0) continue; // an empty cue shows nothing; there is nothing to edit
    cues.push({ startSeconds, endSeconds, lines: cueLines, text: cueLines.join(' '), line: lineNumber });
  }
  if (problems.length > 0) throw new SubtitleParseError(format, problems.slice(0, 50), source);
  return cues;
}

export interface SubtitleFile {
  readonly format: SubtitleFormat;
  readonly encoding: DecodedText['encoding'];
  readonly cues: readonly ImportedCue[];
}

/** Reads and parses a subtitle file; throws SubtitleParseError with line numbers when it is malformed. */
export async function readSubtitleFile(path: string): Promise<SubtitleFile> {
  const decoded = decodeSubtitleBytes(await readFile(path));
  const format = detectSubtitleFormat(decoded.text, path);
  return { format, encoding: decoded.encoding, cues: parseSubtitles(decoded.text, format, basename(path)) };
}

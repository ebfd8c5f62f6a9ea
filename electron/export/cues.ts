/**
 * Subtitle cues from caption segments, following broadcast conventions unless the user changes
 * them: at most two lines of at most 42 characters, 1 to 7 seconds on screen, a reading speed
 * the viewer can follow, a small gap between cues, and line breaks at phrase boundaries.
 */

export interface CueOptions {
  readonly maxLineLength: number;
  readonly maxLines: number;
  readonly minDurationSeconds: number;
  readonly maxDurationSeconds: number;
  /** Characters per second above which a cue is lengthened when there is room. */
  readonly maxCharactersPerSecond: number;
  readonly minGapSeconds: number;
}

export const defaultCueOptions: CueOptions = {
  maxLineLength: 42,
  maxLines: 2,
  minDurationSeconds: 1,
  maxDurationSeconds: 7,
  maxCharactersPerSecond: 17,
  minGapSeconds: 0.08,
};

export interface TimedText {
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly text: string;
}

export interface Cue {
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly lines: readonly string[];
}

/** Words a line should rather start with than end with. */
const phraseStarters = new Set([
  'and', 'but', 'or', 'nor', 'so', 'yet', 'because', 'although', 'though', 'while', 'if', 'when', 'where', 'which', 'who',
  'that', 'to', 'of', 'in', 'on', 'at', 'for', 'with', 'from', 'about', 'into', 'than', 'the', 'a', 'an',
]);

/** Cost of breaking a line before `words[index]`; lower is a better place. */
function breakCost(words: readonly string[], index: number): number {
  const previous = words[index - 1] ?? '';
  if (/[.!?]$/.test(previous)) return 0;
  if (/[,;:]$/.test(previous)) return 1;
  if (phraseStarters.has((words[index] ?? '').toLowerCase())) return 2;
  return 4;
}

/** Splits words into lines of at most `maxLength`, preferring phrase boundaries and even lengths. */
export function breakLines(text: string, maxLength: number): string[] {
  const words = text.split(/\s+/).filter((word) => word.length > 0);
  const lines: string[] = [];
  let start = 0;
  while (start < words.length) {
    let end = start;
    let length = -1;
    while (end < words.length && length + 1 + words[end]!.length <= maxLength) {
      length += 1 + words[end]!.length;
      end += 1;
    }
    if (end === start) end = start + 1; // a single word longer than a line stands alone
    if (end < words.length) {
      // Pull the break back to a better boundary if it does not leave the line too short.
      let bestEnd = end;
      let bestScore = breakCost(words, end) * 6;
      for (let candidate = end - 1; candidate > start; candidate -= 1) {
        const lineLength = words.slice(start, candidate).join(' ').length;
        if (lineLength < maxLength * 0.5) break;
        const score = breakCost(words, candidate) * 6 + (maxLength - lineLength) / 4;
        if (score < bestScore) {
          bestScore = score;
          bestEnd = candidate;
        }
      }
      end = bestEnd;
    }
    lines.push(words.slice(start, end).join(' '));
    start = end;
  }
  return lines;
}

/** Balances a two-line cue so the lines are of similar length, breaking at the best boundary. */
function balance(lines: readonly string[], maxLength: number): string[] {
  if (lines.length !== 2) return [...lines];
  const words = lines.join(' ').split(' ');
  let best = [...lines];
  let bestScore = Infinity;
  for (let index = 1; index < words.length; index += 1) {
    const first = words.slice(0, index).join(' ');
    const second = words.slice(index).join(' ');
    if (first.length > maxLength || second.length > maxLength) continue;
    const score = Math.abs(first.length - second.length) / 6 + breakCost(words, index) * 2;
    if (score < bestScore) {
      bestScore = score;
      best = [first, second];
    }
  }
  return best;
}

/** Capitalises the start of a sentence and the pronoun "I" in lower-case recognizer output. */
export function presentText(text: string): string {
  if (text !== text.toLowerCase()) return text.trim();
  return text
    .trim()
    .replace(/\bi\b/g, 'I')
    .replace(/\bi'(m|ll|ve|d)\b/g, "I'$1")
    .replace(/^\p{Ll}/u, (letter) => letter.toUpperCase());
}

export function buildCues(segments: readonly TimedText[], options: CueOptions = defaultCueOptions): Cue[] {
  const raw: Cue[] = [];
  for (const segment of segments) {
    const text = presentText(segment.text);
    if (text.length === 0) continue;
    const lines = breakLines(text, options.maxLineLength);
    const duration = Math.max(0.001, segment.endSeconds - segment.startSeconds);
    const groups: string[][] = [];
    for (let index = 0; index < lines.length; index += options.maxLines) groups.push(lines.slice(index, index + options.maxLines));
    // Too long for one screen: more cues, each at most maxDuration, time shared by characters.
    while (groups.length * options.maxDurationSeconds < duration && groups.some((group) => group.length > 1)) {
      const longest = groups.reduce((a, b) => (b.join(' ').length > a.join(' ').length ? b : a));
      const at = groups.indexOf(longest);
      groups.splice(at, 1, ...longest.map((line) => [line]));
    }
    const totalCharacters = groups.reduce((sum, group) => sum + group.join(' ').length, 0);
    let cursor = segment.startSeconds;
    for (const group of groups) {
      const share = (group.join(' ').length / totalCharacters) * duration;
      const end = group === groups.at(-1) ? segment.endSeconds : cursor + share;
      raw.push({ startSeconds: cursor, endSeconds: end, lines: balance(group, options.maxLineLength) });
      cursor = end;
    }
  }
  return fitTiming(raw, options);
}

/** Lengthens short or fast cues into free time, caps long ones, and keeps the gap. */
function fitTiming(cues: readonly Cue[], options: CueOptions): Cue[] {
  const fitted: Cue[] = [];
  cues.forEach((cue, index) => {
    const next = cues[index + 1];
    const characters = cue.lines.join(' ').length;
    const wanted = Math.min(options.maxDurationSeconds, Math.max(options.minDurationSeconds, characters / options.maxCharactersPerSecond));
    const latestEnd = next ? next.startSeconds - options.minGapSeconds : Infinity;
    let end = Math.max(cue.endSeconds, cue.startSeconds + wanted);
    end = Math.min(end, latestEnd, cue.startSeconds + options.maxDurationSeconds);
    // Never shorter than the speech allows (within the cap), and never ending before it starts.
    end = Math.max(end, Math.min(cue.endSeconds, latestEnd, cue.startSeconds + options.maxDurationSeconds), cue.startSeconds + 0.001);
    fitted.push({ startSeconds: cue.startSeconds, endSeconds: end, lines: cue.lines });
  });
  return fitted;
}

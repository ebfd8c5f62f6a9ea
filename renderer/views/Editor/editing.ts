import type { SegmentView } from '../../../electron/ipc/contract.js';

/** The segment playing at `time`: the last one that has started, if it has not ended. */
export function currentSegmentIndex(segments: readonly SegmentView[], time: number): number {
  let index = -1;
  for (let candidate = 0; candidate < segments.length; candidate += 1) {
    if (segments[candidate]!.startSeconds <= time) index = candidate;
    else break;
  }
  return index >= 0 && time <= segments[index]!.endSeconds + 0.05 ? index : -1;
}

/**
 * Where to split a segment for a cursor at `textIndex`: at a word boundary near it, and at the
 * time that share of the text suggests (speech rate is roughly even within a phrase).
 */
export function splitPoint(segment: Pick<SegmentView, 'text' | 'startSeconds' | 'endSeconds'>, textIndex: number): { atSeconds: number; index: number } {
  const text = segment.text;
  let index = Math.min(Math.max(1, textIndex), Math.max(1, text.length - 1));
  const space = text.lastIndexOf(' ', index);
  if (space > 0) index = space;
  const share = index / Math.max(1, text.length);
  const duration = segment.endSeconds - segment.startSeconds;
  const atSeconds = Math.round((segment.startSeconds + duration * Math.min(0.95, Math.max(0.05, share))) * 1000) / 1000;
  return { atSeconds, index };
}

export function countMatches(segments: readonly SegmentView[], find: string, matchCase: boolean): number {
  if (find.length === 0) return 0;
  const needle = matchCase ? find : find.toLowerCase();
  let count = 0;
  for (const segment of segments) {
    const haystack = matchCase ? segment.text : segment.text.toLowerCase();
    for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) count += 1;
  }
  return count;
}

export const shortcuts: readonly { keys: string; action: string }[] = [
  { keys: 'Space', action: 'Play or pause (outside a text field)' },
  { keys: 'Enter', action: 'Finish editing a segment’s text' },
  { keys: 'Ctrl+Enter', action: 'Split the segment at the cursor' },
  { keys: 'Ctrl+M', action: 'Merge the selected segment with the next' },
  { keys: 'Alt+← / Alt+→', action: 'Move the selected segment’s start by 0.1 s' },
  { keys: 'Alt+Shift+← / →', action: 'Move its end by 0.1 s' },
  { keys: 'Ctrl+Z / Ctrl+Shift+Z', action: 'Undo / redo' },
  { keys: 'Ctrl+F', action: 'Find and replace' },
  { keys: '?', action: 'Show or hide these shortcuts' },
  { keys: 'Esc', action: 'Close panels' },
];

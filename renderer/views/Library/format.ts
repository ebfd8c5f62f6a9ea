import type { JobView, MediaStatus } from '../../../electron/ipc/contract.js';

export const statusLabels: Readonly<Record<MediaStatus, string>> = {
  new: 'Not captioned',
  queued: 'Queued',
  running: 'Captioning',
  paused: 'Paused',
  captioned: 'Captioned',
  failed: 'Failed',
  cancelled: 'Cancelled',
  missing: 'Missing',
  unreadable: 'Unreadable',
};

/** 0–100 for a progress bar, or undefined when the length is unknown. */
export function jobPercent(job: Pick<JobView, 'processedSeconds' | 'durationSeconds' | 'state'>): number | undefined {
  if (job.state === 'finished') return 100;
  if (job.durationSeconds === undefined || job.durationSeconds <= 0) return undefined;
  return Math.min(100, Math.round((job.processedSeconds / job.durationSeconds) * 100));
}

/** "about 3 min left", for progress bars. */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '';
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s left`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min left`;
  return `about ${(seconds / 3600).toFixed(1)} h left`;
}

/** Splits a search snippet ("a [word] here") into plain and highlighted parts. */
export function snippetParts(snippet: string): { text: string; hit: boolean }[] {
  return snippet
    .split(/(\[[^\]]*\])/)
    .filter((part) => part.length > 0)
    .map((part) => (part.startsWith('[') && part.endsWith(']') ? { text: part.slice(1, -1), hit: true } : { text: part, hit: false }));
}

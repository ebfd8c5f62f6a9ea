import type { LiveStatus } from '../../../electron/ipc/contract.js';

/** Seconds as m:ss or h:mm:ss, for caption times and session lengths. */
export function formatClock(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/** A microphone's RMS level as a meter width: -60 dBFS is empty, 0 dBFS full. */
export function levelPercent(rms: number): number {
  if (rms <= 0) return 0;
  const decibels = 20 * Math.log10(rms);
  return Math.round(Math.min(100, Math.max(0, ((decibels + 60) / 60) * 100)));
}

export function describeLiveState(status: LiveStatus | undefined): string {
  if (!status) return 'Listening';
  const scale = status.scaleId ? ` · scale ${status.scaleId}` : '';
  const backlog = status.backlogSeconds >= 0.5 ? ` · ${status.backlogSeconds.toFixed(1)} s behind` : '';
  switch (status.state) {
    case 'speaking':
      return `Hearing speech${scale}${backlog}`;
    case 'listening':
      return `Listening${scale}${backlog}`;
    case 'stopped':
      return 'Stopped';
    case 'failed':
      return 'Stopped by an error';
  }
}

import type { ResourceSnapshot } from '../../../electron/ipc/contract.js';

export function percentOrUnknown(fraction: number | undefined): string {
  return fraction === undefined ? 'unknown' : `${Math.round(fraction * 100)}%`;
}

export function describePower(sample: ResourceSnapshot | undefined): string {
  if (!sample) return 'unknown';
  const { source, batteryPercent, batteryTrendPerHour } = sample.power;
  const parts = [source === 'ac' ? 'on AC' : source === 'battery' ? 'on battery' : 'power source unknown'];
  if (batteryPercent !== undefined) parts.push(`battery ${Math.round(batteryPercent)}%`);
  if (batteryTrendPerHour !== undefined) parts.push(`${batteryTrendPerHour >= 0 ? '+' : ''}${batteryTrendPerHour.toFixed(0)}%/h`);
  return parts.join(' · ');
}

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

export interface ScaleSteps {
  readonly start: number;
  readonly end: number;
  /** Stretches of time at one scale. */
  readonly segments: readonly { from: number; to: number; scaleIndex: number }[];
  readonly changes: readonly { at: number; fromIndex: number; toIndex: number; reason: string }[];
}

/** The decision log as a step function of scale index over time, for the chart. */
export function scaleSteps(decisions: readonly { at: number; scaleId: string; previousScaleId: string; changed: boolean; reason: string }[], scaleIds: readonly string[], now: number): ScaleSteps {
  if (decisions.length === 0) return { start: now - 60_000, end: now, segments: [], changes: [] };
  const indexOf = (id: string) => Math.max(0, scaleIds.indexOf(id));
  const start = decisions[0]!.at;
  const segments: { from: number; to: number; scaleIndex: number }[] = [];
  const changes: { at: number; fromIndex: number; toIndex: number; reason: string }[] = [];
  let from = start;
  let current = indexOf(decisions[0]!.changed ? decisions[0]!.previousScaleId : decisions[0]!.scaleId);
  for (const decision of decisions) {
    if (!decision.changed) continue;
    segments.push({ from, to: decision.at, scaleIndex: current });
    changes.push({ at: decision.at, fromIndex: current, toIndex: indexOf(decision.scaleId), reason: decision.reason });
    current = indexOf(decision.scaleId);
    from = decision.at;
  }
  const end = Math.max(now, decisions.at(-1)!.at);
  segments.push({ from, to: end, scaleIndex: current });
  return { start, end, segments, changes };
}

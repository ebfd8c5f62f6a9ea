/**
 * One reading of everything the scale policy looks at. A signal the platform does not give is
 * `undefined` (shown as unknown), never a guessed value.
 */

export type PowerSource = 'ac' | 'battery';
export type ThermalState = 'nominal' | 'fair' | 'serious' | 'critical';

export interface PowerReading {
  readonly source: PowerSource | undefined;
  /** 0–100. */
  readonly batteryPercent: number | undefined;
  /** Percent per hour; negative while draining. Needs a few minutes of readings. */
  readonly batteryTrendPerHour: number | undefined;
}

export interface GpuReading {
  /** 0–1 over all GPUs the tool reports. */
  readonly utilization: number | undefined;
  /** Used / total memory, 0–1. */
  readonly memoryFraction: number | undefined;
  readonly name: string | undefined;
}

export interface EngineReading {
  /** Processing time / media time over the last chunks. */
  readonly realTimeFactor: number | undefined;
  /** Seconds of captured media waiting to be captioned (live only). */
  readonly backlogSeconds: number | undefined;
}

export interface ResourceSample {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly power: PowerReading;
  readonly thermal: ThermalState | undefined;
  readonly gpu: GpuReading;
  /** 0–1, all cores. */
  readonly cpuLoad: number | undefined;
  readonly engine: EngineReading;
}

export const unknownPower: PowerReading = { source: undefined, batteryPercent: undefined, batteryTrendPerHour: undefined };
export const unknownGpu: GpuReading = { utilization: undefined, memoryFraction: undefined, name: undefined };
export const unknownEngine: EngineReading = { realTimeFactor: undefined, backlogSeconds: undefined };

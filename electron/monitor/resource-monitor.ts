import { cpus } from 'node:os';
import { BatteryTrend } from './sources/battery-trend.js';
import { CpuLoadMeter } from './sources/cpu-load.js';
import { readLinuxPower, type PowerState } from './sources/linux-power.js';
import { readNvidiaGpu, type GpuState } from './sources/nvidia-smi.js';
import { readSysteminformationPower } from './sources/systeminformation-power.js';
import { unknownEngine, type EngineReading, type ResourceSample, type ThermalState } from './resource-sample.js';

/**
 * Samples the machine at a modest rate and hands each sample to its listeners (the policy, the
 * UI's monitor panel). Sources are injected, so the Electron shell can use powerMonitor while
 * the browser host and the CLI read the OS directly.
 */

export interface MonitorSources {
  readonly power: () => Promise<PowerState>;
  readonly gpu: () => Promise<GpuState>;
  readonly cpuLoad: () => number | undefined;
  /** Only some platforms say (Electron's powerMonitor on macOS). */
  readonly thermal?: () => ThermalState | undefined;
}

export function nodeMonitorSources(platform: NodeJS.Platform): MonitorSources {
  const meter = new CpuLoadMeter(cpus);
  return {
    power: platform === 'linux' ? () => readLinuxPower() : readSysteminformationPower,
    gpu: () => (platform === 'darwin' ? Promise.resolve({ utilization: undefined, memoryFraction: undefined, name: undefined }) : readNvidiaGpu()),
    cpuLoad: () => meter.read(),
  };
}

export interface MonitorOptions {
  readonly intervalMs: number;
  /** GPU queries spawn a process: read them every Nth sample only. */
  readonly gpuEvery: number;
  readonly now?: () => number;
}

export class ResourceMonitor {
  readonly #sources: MonitorSources;
  readonly #options: MonitorOptions;
  readonly #listeners = new Set<(sample: ResourceSample) => void>();
  readonly #trend = new BatteryTrend();
  #engine: EngineReading = unknownEngine;
  #gpu: GpuState = { utilization: undefined, memoryFraction: undefined, name: undefined };
  #count = 0;
  #timer: NodeJS.Timeout | undefined;
  #latest: ResourceSample | undefined;

  constructor(sources: MonitorSources, options: MonitorOptions) {
    this.#sources = sources;
    this.#options = options;
  }

  get latest(): ResourceSample | undefined {
    return this.#latest;
  }

  /** The engine's own figures, pushed as it works: the most direct signal there is. */
  reportEngine(reading: EngineReading): void {
    this.#engine = reading;
  }

  subscribe(listener: (sample: ResourceSample) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async sample(): Promise<ResourceSample> {
    const at = (this.#options.now ?? Date.now)();
    if (this.#count % this.#options.gpuEvery === 0) this.#gpu = await this.#sources.gpu();
    this.#count += 1;
    const power = await this.#sources.power();
    const sample: ResourceSample = {
      at,
      power: { ...power, batteryTrendPerHour: this.#trend.add(at, power.batteryPercent) },
      thermal: this.#sources.thermal?.(),
      gpu: this.#gpu,
      cpuLoad: this.#sources.cpuLoad(),
      engine: this.#engine,
    };
    this.#latest = sample;
    for (const listener of this.#listeners) listener(sample);
    return sample;
  }

  start(): void {
    if (this.#timer) return;
    const tick = () => {
      void this.sample().finally(() => {
        if (this.#timer) this.#timer = setTimeout(tick, this.#options.intervalMs).unref();
      });
    };
    this.#timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

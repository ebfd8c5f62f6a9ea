import type { PolicyMode } from '../ipc/contract.js';
import type { ResourceSample } from './resource-sample.js';

/**
 * Chooses a compression scale from the bundle's ladder (index 0 = finest) given the latest
 * resource sample. Each pressure (battery, heat, GPU, CPU, the engine falling behind) is a
 * Schmitt trigger: it switches on above one threshold and off only below a lower one, so a
 * signal hovering at a threshold cannot flip the scale back and forth. The scale then moves
 * one rung at a time and only after a minimum dwell, except when the live backlog is about to
 * break its bound: that drops straight to the coarsest rung.
 */

export type { PolicyMode };

export interface PolicyOptions {
  readonly mode: PolicyMode;
  readonly ladderSize: number;
  /** The rung used in fixed mode. */
  readonly fixedScale?: number;
  /** Minimum time between two changes, except the backlog emergency. */
  readonly minDwellMs: number;
  /** Live backlog the policy must keep under. */
  readonly backlogBoundSeconds: number;
}

export const defaultPolicyOptions = { minDwellMs: 10_000, backlogBoundSeconds: 4 } as const;

export interface PolicyDecision {
  readonly at: number;
  readonly scaleIndex: number;
  readonly previousScaleIndex: number;
  /** Why this scale: the pressures that are on, or what kept the scale where it is. */
  readonly reason: string;
  readonly changed: boolean;
  readonly pressures: readonly Pressure[];
}

export type Pressure = 'engine-behind' | 'backlog-critical' | 'battery-low' | 'battery-critical' | 'on-battery' | 'thermal' | 'gpu-busy' | 'cpu-busy';

interface Trigger {
  readonly name: Pressure;
  readonly on: (sample: ResourceSample, bound: number) => boolean;
  readonly off: (sample: ResourceSample, bound: number) => boolean;
  /** Rungs below the finest this pressure asks for (Infinity: the coarsest). */
  readonly rungs: number;
  readonly describe: (sample: ResourceSample) => string;
}

const percent = (value: number | undefined) => (value === undefined ? 'unknown' : `${Math.round(value * 100)}%`);
const onBattery = (sample: ResourceSample) => sample.power.source === 'battery';

const triggers: readonly Trigger[] = [
  {
    name: 'backlog-critical',
    on: (sample, bound) => (sample.engine.backlogSeconds ?? 0) > bound * 0.75,
    off: (sample, bound) => (sample.engine.backlogSeconds ?? 0) < bound * 0.25,
    rungs: Infinity,
    describe: (sample) => `live backlog ${sample.engine.backlogSeconds?.toFixed(1)} s is near its bound`,
  },
  {
    name: 'engine-behind',
    on: (sample, bound) => (sample.engine.realTimeFactor ?? 0) > 0.8 || (sample.engine.backlogSeconds ?? 0) > bound * 0.3,
    off: (sample, bound) => (sample.engine.realTimeFactor ?? 0) < 0.5 && (sample.engine.backlogSeconds ?? 0) < bound * 0.1,
    rungs: 1,
    describe: (sample) => `engine real-time factor ${sample.engine.realTimeFactor?.toFixed(2) ?? 'unknown'}, backlog ${sample.engine.backlogSeconds?.toFixed(1) ?? 'unknown'} s`,
  },
  {
    name: 'battery-critical',
    on: (sample) => onBattery(sample) && (sample.power.batteryPercent ?? 100) <= 10,
    off: (sample) => !onBattery(sample) || (sample.power.batteryPercent ?? 100) >= 15,
    rungs: Infinity,
    describe: (sample) => `battery at ${Math.round(sample.power.batteryPercent ?? 0)}% and discharging`,
  },
  {
    name: 'battery-low',
    on: (sample) => onBattery(sample) && (sample.power.batteryPercent ?? 100) <= 30,
    off: (sample) => !onBattery(sample) || (sample.power.batteryPercent ?? 100) >= 35,
    rungs: 2,
    describe: (sample) => `battery at ${Math.round(sample.power.batteryPercent ?? 0)}%`,
  },
  {
    name: 'on-battery',
    on: onBattery,
    off: (sample) => !onBattery(sample),
    rungs: 1,
    describe: () => 'running on battery',
  },
  {
    name: 'thermal',
    on: (sample) => sample.thermal === 'serious' || sample.thermal === 'critical',
    off: (sample) => sample.thermal === 'nominal' || sample.thermal === 'fair' || sample.thermal === undefined,
    rungs: 2,
    describe: (sample) => `thermal state ${sample.thermal}`,
  },
  {
    name: 'gpu-busy',
    on: (sample) => (sample.gpu.utilization ?? 0) > 0.9 || (sample.gpu.memoryFraction ?? 0) > 0.92,
    off: (sample) => (sample.gpu.utilization ?? 0) < 0.7 && (sample.gpu.memoryFraction ?? 0) < 0.85,
    rungs: 1,
    describe: (sample) => `GPU ${percent(sample.gpu.utilization)} busy, ${percent(sample.gpu.memoryFraction)} memory used`,
  },
  {
    name: 'cpu-busy',
    on: (sample) => (sample.cpuLoad ?? 0) > 0.9,
    off: (sample) => (sample.cpuLoad ?? 0) < 0.7,
    rungs: 1,
    describe: (sample) => `CPU ${percent(sample.cpuLoad)} busy`,
  },
];

/** Which pressures each mode listens to. Best quality gives way only when captions would fall behind. */
const modePressures: Readonly<Record<Exclude<PolicyMode, 'fixed'>, ReadonlySet<Pressure>>> = {
  best: new Set(['backlog-critical', 'engine-behind']),
  balanced: new Set(['backlog-critical', 'engine-behind', 'battery-critical', 'battery-low', 'thermal', 'gpu-busy', 'cpu-busy']),
  saver: new Set(['backlog-critical', 'engine-behind', 'battery-critical', 'battery-low', 'on-battery', 'thermal', 'gpu-busy', 'cpu-busy']),
};

/** Where each mode starts when nothing presses: saver sits mid-ladder even on AC. */
function baseRung(mode: Exclude<PolicyMode, 'fixed'>, ladderSize: number): number {
  return mode === 'saver' ? Math.floor((ladderSize - 1) / 2) : 0;
}

export class ScalePolicy {
  readonly #options: PolicyOptions;
  readonly #active = new Set<Pressure>();
  #scaleIndex: number;
  #lastChangeAt = -Infinity;

  constructor(options: PolicyOptions) {
    if (options.ladderSize < 1) throw new RangeError('the scale ladder is empty');
    this.#options = options;
    this.#scaleIndex = options.mode === 'fixed' ? this.#fixedIndex() : baseRung(options.mode, options.ladderSize);
  }

  get scaleIndex(): number {
    return this.#scaleIndex;
  }

  #fixedIndex(): number {
    return Math.min(Math.max(this.#options.fixedScale ?? 0, 0), this.#options.ladderSize - 1);
  }

  decide(sample: ResourceSample): PolicyDecision {
    const previous = this.#scaleIndex;
    const { mode, ladderSize } = this.#options;
    if (mode === 'fixed') {
      return { at: sample.at, scaleIndex: previous, previousScaleIndex: previous, reason: 'fixed scale chosen by the user', changed: false, pressures: [] };
    }
    const listened = modePressures[mode];
    const bound = this.#options.backlogBoundSeconds;
    for (const trigger of triggers) {
      if (!listened.has(trigger.name)) continue;
      if (this.#active.has(trigger.name)) {
        if (trigger.off(sample, bound)) this.#active.delete(trigger.name);
      } else if (trigger.on(sample, bound)) {
        this.#active.add(trigger.name);
      }
    }
    const active = triggers.filter((trigger) => this.#active.has(trigger.name));
    const coarsest = ladderSize - 1;
    const rungsDown = active.reduce((sum, trigger) => sum + trigger.rungs, 0);
    const target = Math.min(coarsest, baseRung(mode, ladderSize) + rungsDown);
    const reasons = active.map((trigger) => trigger.describe(sample));
    const pressures = active.map((trigger) => trigger.name);
    const dwellOver = sample.at - this.#lastChangeAt >= this.#options.minDwellMs;

    let next = previous;
    let reason: string;
    if (this.#active.has('backlog-critical') && previous !== coarsest) {
      next = coarsest; // the bound is the promise: no dwell, straight to the cheapest rung
      reason = `coarsest at once: ${reasons.join('; ')}`;
    } else if (target === previous) {
      reason = reasons.length > 0 ? `holding: ${reasons.join('; ')}` : `holding: no pressure (${mode})`;
    } else if (!dwellOver) {
      reason = `holding for the minimum dwell before moving ${target > previous ? 'down' : 'up'}`;
    } else if (target > previous) {
      next = previous + 1;
      reason = `one rung coarser: ${reasons.join('; ')}`;
    } else {
      next = previous - 1;
      reason = reasons.length > 0 ? `one rung finer, still: ${reasons.join('; ')}` : 'one rung finer: resources are back';
    }
    if (next !== previous) {
      this.#scaleIndex = next;
      this.#lastChangeAt = sample.at;
    }
    return { at: sample.at, scaleIndex: next, previousScaleIndex: previous, reason, changed: next !== previous, pressures };
  }
}

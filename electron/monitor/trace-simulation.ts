import { unknownGpu, unknownPower, type GpuReading, type PowerReading, type ResourceSample, type ThermalState } from './resource-sample.js';
import type { PolicyDecision, ScalePolicy } from './scale-policy.js';

/**
 * Replays a resource trace (recorded or scripted) through a policy against a simple live engine:
 * media arrives in real time, each rung costs its real-time factor (times any contention from
 * other programs, plus any disk stall), and what cannot be processed queues as backlog. The
 * policy sees what it would see live: the signals, the measured real-time factor and the backlog.
 */

export interface TraceConditions {
  readonly power?: Partial<PowerReading>;
  readonly thermal?: ThermalState;
  readonly gpu?: Partial<GpuReading>;
  readonly cpuLoad?: number;
  /** How much slower the engine runs because of other load (1 = alone). */
  readonly contention?: number;
  /** Seconds per second lost waiting for a slow disk. */
  readonly diskStallPerSecond?: number;
}

export type Trace = (atSeconds: number) => TraceConditions;

export interface EngineModel {
  /** Processing seconds per media second at each rung, finest first, on an idle machine. */
  readonly realTimeFactorPerRung: readonly number[];
}

export interface SimulationStep {
  readonly atSeconds: number;
  readonly scaleIndex: number;
  readonly backlogSeconds: number;
  readonly realTimeFactor: number;
  readonly decision: PolicyDecision;
}

export function simulate(trace: Trace, policy: ScalePolicy, engine: EngineModel, durationSeconds: number, stepSeconds = 1): SimulationStep[] {
  const steps: SimulationStep[] = [];
  let backlog = 0;
  let measuredRtf: number | undefined;
  for (let at = 0; at < durationSeconds; at += stepSeconds) {
    const conditions = trace(at);
    const sample: ResourceSample = {
      at: at * 1000,
      power: { ...unknownPower, ...conditions.power },
      thermal: conditions.thermal,
      gpu: { ...unknownGpu, ...conditions.gpu },
      cpuLoad: conditions.cpuLoad,
      engine: { realTimeFactor: measuredRtf, backlogSeconds: backlog },
    };
    const decision = policy.decide(sample);
    const rtf = engine.realTimeFactorPerRung[decision.scaleIndex]! * (conditions.contention ?? 1) + (conditions.diskStallPerSecond ?? 0);
    backlog += stepSeconds;
    const processed = Math.min(backlog, stepSeconds / rtf);
    backlog -= processed;
    measuredRtf = rtf;
    steps.push({ atSeconds: at, scaleIndex: decision.scaleIndex, backlogSeconds: backlog, realTimeFactor: rtf, decision });
  }
  return steps;
}

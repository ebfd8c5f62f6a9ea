import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultPolicyOptions, ScalePolicy, type PolicyMode } from '../../electron/monitor/scale-policy.js';
import { simulate, type EngineModel, type SimulationStep, type Trace } from '../../electron/monitor/trace-simulation.js';

const ladderSize = 4;
/** Real-time factors shaped like the built-in bundle's ladder on a slow laptop core. */
const engine: EngineModel = { realTimeFactorPerRung: [0.45, 0.32, 0.22, 0.15] };
const policy = (mode: PolicyMode, fixedScale?: number) =>
  new ScalePolicy({ mode, ladderSize, ...defaultPolicyOptions, ...(fixedScale === undefined ? {} : { fixedScale }) });

function changes(steps: readonly SimulationStep[]) {
  return steps.filter((step) => step.decision.changed);
}

/** No two changes closer than the dwell, except a backlog emergency. */
function assertNoOscillation(steps: readonly SimulationStep[]) {
  const moves = changes(steps);
  moves.forEach((move, index) => {
    const previous = moves[index - 1];
    if (!previous || move.decision.pressures.includes('backlog-critical')) return;
    assert.ok(move.atSeconds - previous.atSeconds >= defaultPolicyOptions.minDwellMs / 1000, `changes at ${previous.atSeconds} s and ${move.atSeconds} s`);
  });
}

test('a draining battery degrades the scale monotonically, and AC brings it back', () => {
  const drainSeconds = 7200;
  const trace: Trace = (at) =>
    at < drainSeconds
      ? { power: { source: 'battery', batteryPercent: 100 - (95 * at) / drainSeconds }, cpuLoad: 0.3 }
      : { power: { source: 'ac', batteryPercent: 5 + (at - drainSeconds) / 60 }, cpuLoad: 0.3 };
  const steps = simulate(trace, policy('balanced'), engine, drainSeconds + 1200);
  const draining = steps.filter((step) => step.atSeconds < drainSeconds);
  draining.forEach((step, index) => {
    if (index > 0) assert.ok(step.scaleIndex >= draining[index - 1]!.scaleIndex, `scale went finer at ${step.atSeconds} s while draining`);
  });
  const at = (seconds: number) => steps.find((step) => step.atSeconds === seconds)!;
  assert.equal(at(600).scaleIndex, 0, 'full battery: finest');
  assert.ok(at(5800).scaleIndex >= 2, 'below 30 %: at least two rungs down');
  assert.equal(at(drainSeconds - 1).scaleIndex, ladderSize - 1, 'critical battery: coarsest');
  assert.match(at(drainSeconds - 1).decision.reason, /battery at \d+%/);
  assert.equal(steps.at(-1)!.scaleIndex, 0, 'on AC again: back to the finest');
  assertNoOscillation(steps);
});

test('battery saver goes coarse on battery and sits mid-ladder on AC', () => {
  const steps = simulate((at) => ({ power: { source: at < 300 ? 'ac' : 'battery', batteryPercent: 80 } }), policy('saver'), engine, 600);
  assert.equal(steps[10]!.scaleIndex, 1);
  assert.equal(steps.at(-1)!.scaleIndex, 2);
});

test('GPU contention spikes step the scale down and back without flapping', () => {
  // 95 % busy for a minute every five minutes; hovering values in between must not flip the scale.
  const trace: Trace = (at) => ({ gpu: { utilization: at % 300 < 60 ? 0.95 : 0.8 + 0.05 * Math.sin(at) } });
  const steps = simulate(trace, policy('balanced'), engine, 1500);
  assert.ok(steps.some((step) => step.scaleIndex === 1 && step.decision.pressures.includes('gpu-busy')));
  assert.equal(Math.max(...steps.map((step) => step.scaleIndex)), 1, 'one pressure, one rung');
  // While utilisation hovers at 75–85 %, between the thresholds, the pressure stays as it was.
  assertNoOscillation(steps);
  const calm = simulate(() => ({ gpu: { utilization: 0.5 } }), policy('balanced'), engine, 300);
  assert.ok(calm.every((step) => step.scaleIndex === 0));
});

test('CPU saturation: the policy keeps the live backlog bounded where a fixed finest scale cannot', () => {
  const hog: Trace = (at) => (at >= 60 && at < 360 ? { cpuLoad: 1, contention: 2.6 } : { cpuLoad: 0.35 });
  const adaptive = simulate(hog, policy('best'), engine, 600);
  const fixed = simulate(hog, policy('fixed', 0), engine, 600);
  const worstAdaptive = Math.max(...adaptive.map((step) => step.backlogSeconds));
  const worstFixed = Math.max(...fixed.map((step) => step.backlogSeconds));
  assert.ok(worstAdaptive < defaultPolicyOptions.backlogBoundSeconds, `adaptive backlog peaked at ${worstAdaptive.toFixed(1)} s`);
  assert.ok(worstFixed > 5 * defaultPolicyOptions.backlogBoundSeconds, `fixed finest backlog peaked at only ${worstFixed.toFixed(1)} s`);
  assert.ok(adaptive.some((step) => step.atSeconds > 60 && step.atSeconds < 360 && step.scaleIndex > 0), 'it stepped down under load');
  assert.equal(adaptive.at(-1)!.scaleIndex, 0, 'and came back when the hog stopped');
  assertNoOscillation(adaptive);
});

test('a slow disk that stalls the engine is met the same way', () => {
  const stall: Trace = (at) => (at >= 100 && at < 160 ? { diskStallPerSecond: 0.7 } : {});
  const steps = simulate(stall, policy('balanced'), engine, 400);
  assert.ok(Math.max(...steps.map((step) => step.backlogSeconds)) < defaultPolicyOptions.backlogBoundSeconds);
  assert.ok(steps.some((step) => step.decision.pressures.includes('engine-behind')));
});

test('fixed mode never moves and says why', () => {
  const steps = simulate(() => ({ power: { source: 'battery', batteryPercent: 3 }, cpuLoad: 1 }), policy('fixed', 2), engine, 60);
  assert.ok(steps.every((step) => step.scaleIndex === 2 && step.decision.reason === 'fixed scale chosen by the user'));
});

test('unknown signals press nothing', () => {
  const steps = simulate(() => ({}), policy('balanced'), engine, 120);
  assert.ok(steps.every((step) => step.scaleIndex === 0 && step.decision.pressures.length === 0));
  assert.match(steps[0]!.decision.reason, /no pressure/);
});

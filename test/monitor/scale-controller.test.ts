import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResourceMonitor, type MonitorSources } from '../../electron/monitor/resource-monitor.js';
import { ScaleController } from '../../electron/monitor/scale-controller.js';

/** Sources whose readings the test scripts, as a machine's would change. */
function scriptedSources(cpu: number[]): MonitorSources {
  return {
    power: () => Promise.resolve({ source: 'ac', batteryPercent: undefined }),
    gpu: () => Promise.resolve({ utilization: undefined, memoryFraction: undefined, name: undefined }),
    cpuLoad: () => cpu.shift(),
  };
}

test('the controller logs changes, folds repeated holds, and refuses unknown scales', async () => {
  let clock = 0;
  const monitor = new ResourceMonitor(scriptedSources([0.2, 0.2, 0.95, 0.99, 1, 0.2]), { intervalMs: 1000, gpuEvery: 1, now: () => (clock += 20_000) });
  const controller = new ScaleController(monitor, ['s0', 's1', 's2', 's3']);
  const seen: boolean[] = [];
  controller.onDecision((decision) => seen.push(decision.replacesLast));
  for (let index = 0; index < 5; index += 1) await monitor.sample();
  const log = controller.state().decisions;
  assert.deepEqual(
    log.map((decision) => [decision.scaleId, decision.changed]),
    [['s0', false], ['s1', true], ['s1', false]],
    JSON.stringify(log),
  );
  assert.match(log[2]!.reason, /CPU 100% busy/, 'the folded hold shows the newest reading');
  assert.deepEqual(seen, [false, true, false, false, true]);
  assert.equal(controller.state().currentScaleId, 's1');
  assert.match(controller.setMode('fixed', 's9') ?? '', /unknown scale "s9"/);
  assert.equal(controller.setMode('fixed', 's2'), undefined);
  assert.equal(controller.state().currentScaleId, 's2');
  controller.dispose();
});

test('without a bundle there is no ladder, and the state says why', () => {
  const controller = new ScaleController(new ResourceMonitor(scriptedSources([]), { intervalMs: 1000, gpuEvery: 1 }), []);
  assert.equal(controller.state().currentScaleId, undefined);
  assert.match(controller.state().unavailableReason ?? '', /no model bundle/);
});

test('the controller starts in the saved mode, and a saved scale the bundle lacks falls back to balanced', () => {
  const monitor = new ResourceMonitor(scriptedSources([]), { intervalMs: 1000, gpuEvery: 1 });
  const fixed = new ScaleController(monitor, ['s0', 's1', 's2'], undefined, { mode: 'fixed', fixedScaleId: 's2' });
  assert.deepEqual([fixed.state().mode, fixed.state().currentScaleId], ['fixed', 's2']);
  const stale = new ScaleController(monitor, ['s0', 's1'], undefined, { mode: 'fixed', fixedScaleId: 's7' });
  assert.deepEqual([stale.state().mode, stale.state().currentScaleId], ['balanced', 's0']);
  fixed.dispose();
  stale.dispose();
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeMonitorSources, ResourceMonitor } from '../../electron/monitor/resource-monitor.js';
import { BatteryTrend } from '../../electron/monitor/sources/battery-trend.js';
import { CpuLoadMeter } from '../../electron/monitor/sources/cpu-load.js';
import { readLinuxPower } from '../../electron/monitor/sources/linux-power.js';
import { parseNvidiaSmi, readNvidiaGpu } from '../../electron/monitor/sources/nvidia-smi.js';

function supply(root: string, name: string, files: Record<string, string>) {
  mkdirSync(join(root, name), { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(root, name, file), `${content}\n`);
}

test('Linux power supplies: laptop on battery, on AC, and a machine with none', async () => {
  const laptop = mkdtempSync(join(tmpdir(), 'sysfs-'));
  supply(laptop, 'AC', { type: 'Mains', online: '0' });
  supply(laptop, 'BAT0', { type: 'Battery', capacity: '42', status: 'Discharging' });
  assert.deepEqual(await readLinuxPower(laptop), { source: 'battery', batteryPercent: 42 });
  supply(laptop, 'AC', { type: 'Mains', online: '1' });
  supply(laptop, 'BAT0', { type: 'Battery', capacity: '43', status: 'Charging' });
  assert.deepEqual(await readLinuxPower(laptop), { source: 'ac', batteryPercent: 43 });
  assert.deepEqual(await readLinuxPower(mkdtempSync(join(tmpdir(), 'sysfs-empty-'))), { source: undefined, batteryPercent: undefined });
  assert.deepEqual(await readLinuxPower('/no/such/sysfs'), { source: undefined, batteryPercent: undefined });
});

test('nvidia-smi output is parsed, and a missing tool means unknown', async () => {
  assert.deepEqual(parseNvidiaSmi('NVIDIA RTX 4070, 37, 2048, 8192\nNVIDIA T4, 91, 1000, 16000\n'), {
    name: 'NVIDIA T4',
    utilization: 0.91,
    memoryFraction: 0.0625,
  });
  assert.deepEqual(parseNvidiaSmi('No devices were found'), { utilization: undefined, memoryFraction: undefined, name: undefined });
  assert.deepEqual(await readNvidiaGpu('/no/such/nvidia-smi'), { utilization: undefined, memoryFraction: undefined, name: undefined });
});

test('CPU load comes from tick deltas, unknown on the first reading', () => {
  const tick = (busy: number, idle: number) => [{ model: 'x', speed: 1, times: { user: busy, nice: 0, sys: 0, irq: 0, idle } }];
  let readings = [tick(100, 100), tick(175, 125)];
  const meter = new CpuLoadMeter(() => readings.shift()!);
  assert.equal(meter.read(), undefined);
  assert.equal(meter.read(), 0.75);
  readings = [];
});

test('battery trend is the slope over the window, after enough minutes', () => {
  const trend = new BatteryTrend(10 * 60_000, 3 * 60_000);
  assert.equal(trend.add(0, 80), undefined);
  assert.equal(trend.add(60_000, 79.5), undefined);
  const slope = trend.add(4 * 60_000, 78);
  assert.ok(slope !== undefined && Math.abs(slope - -30) < 1, `slope ${slope}`);
  assert.equal(trend.add(5 * 60_000, undefined), undefined, 'battery gone: trend unknown');
});

test('the monitor samples this machine: real CPU load, unknowns stay unknown, engine figures pass through', async () => {
  const monitor = new ResourceMonitor(nodeMonitorSources(process.platform), { intervalMs: 50, gpuEvery: 5 });
  const seen: number[] = [];
  monitor.subscribe((sample) => seen.push(sample.at));
  monitor.reportEngine({ realTimeFactor: 0.4, backlogSeconds: 1.5 });
  monitor.start();
  await new Promise((resolve) => setTimeout(resolve, 400));
  monitor.stop();
  assert.ok(seen.length >= 3, `${seen.length} samples`);
  const latest = monitor.latest!;
  assert.ok(latest.cpuLoad !== undefined && latest.cpuLoad >= 0 && latest.cpuLoad <= 1);
  assert.deepEqual(latest.engine, { realTimeFactor: 0.4, backlogSeconds: 1.5 });
  if (process.platform === 'linux') {
    // Whatever this machine has (a VM has no supplies at all) is reported as read, not filled in.
    const direct = await readLinuxPower();
    assert.deepEqual({ source: latest.power.source, batteryPercent: latest.power.batteryPercent }, direct);
  }
  assert.deepEqual(latest.gpu, await readNvidiaGpu());
});

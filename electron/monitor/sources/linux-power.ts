import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PowerSource } from '../resource-sample.js';

/**
 * AC and battery from Linux's /sys/class/power_supply: plain file reads, cheap enough to poll.
 * A machine with no supply entries (a VM, some desktops) reports both as unknown.
 */

export interface PowerState {
  readonly source: PowerSource | undefined;
  readonly batteryPercent: number | undefined;
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export async function readLinuxPower(root = '/sys/class/power_supply'): Promise<PowerState> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return { source: undefined, batteryPercent: undefined };
  }
  let mainsOnline: boolean | undefined;
  let batteryDischarging = false;
  const percents: number[] = [];
  for (const name of names) {
    const type = await readTrimmed(join(root, name, 'type'));
    if (type === 'Mains' || type === 'USB') {
      const online = await readTrimmed(join(root, name, 'online'));
      if (online !== undefined) mainsOnline = (mainsOnline ?? false) || online === '1';
    } else if (type === 'Battery') {
      const capacity = Number(await readTrimmed(join(root, name, 'capacity')));
      if (Number.isFinite(capacity)) percents.push(Math.min(100, Math.max(0, capacity)));
      if ((await readTrimmed(join(root, name, 'status'))) === 'Discharging') batteryDischarging = true;
    }
  }
  const source: PowerSource | undefined =
    mainsOnline === true ? 'ac' : batteryDischarging || mainsOnline === false ? (percents.length > 0 ? 'battery' : undefined) : percents.length > 0 ? 'ac' : undefined;
  const batteryPercent = percents.length > 0 ? percents.reduce((sum, value) => sum + value, 0) / percents.length : undefined;
  return { source, batteryPercent };
}

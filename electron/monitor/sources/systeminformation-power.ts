import type { PowerState } from './linux-power.js';

/** Battery and AC on macOS and Windows through systeminformation (pmset / WMI under the hood). */
export async function readSysteminformationPower(): Promise<PowerState> {
  const { battery } = await import('systeminformation');
  try {
    const reading = await battery();
    // Without a battery the library still says "AC connected"; that is its default, not a reading.
    if (!reading.hasBattery) return { source: undefined, batteryPercent: undefined };
    return { source: reading.acConnected ? 'ac' : 'battery', batteryPercent: reading.percent };
  } catch {
    return { source: undefined, batteryPercent: undefined };
  }
}

import { execFile } from 'node:child_process';

/**
 * NVIDIA GPU load and memory from `nvidia-smi --query-gpu`, the cheap and stable interface the
 * driver ships on Linux and Windows. No nvidia-smi (no NVIDIA GPU) means unknown.
 */

export interface GpuState {
  readonly utilization: number | undefined;
  readonly memoryFraction: number | undefined;
  readonly name: string | undefined;
}

export const unknownGpuState: GpuState = { utilization: undefined, memoryFraction: undefined, name: undefined };

/** Parses `name, utilization.gpu, memory.used, memory.total` CSV rows; the busiest GPU wins. */
export function parseNvidiaSmi(csv: string): GpuState {
  const gpus = csv
    .split('\n')
    .map((line) => line.split(',').map((cell) => cell.trim()))
    .filter((cells) => cells.length === 4)
    .map(([name, utilization, used, total]) => ({
      name,
      utilization: Number(utilization) / 100,
      memoryFraction: Number(used) / Number(total),
    }))
    .filter((gpu) => Number.isFinite(gpu.utilization) && Number.isFinite(gpu.memoryFraction));
  if (gpus.length === 0) return unknownGpuState;
  return gpus.reduce((a, b) => (b.utilization > a.utilization ? b : a));
}

export function readNvidiaGpu(executable = 'nvidia-smi', timeoutMs = 2000): Promise<GpuState> {
  return new Promise((resolve) => {
    execFile(
      executable,
      ['--query-gpu=name,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'],
      { timeout: timeoutMs, windowsHide: true },
      (error, stdout) => resolve(error ? unknownGpuState : parseNvidiaSmi(stdout)),
    );
  });
}

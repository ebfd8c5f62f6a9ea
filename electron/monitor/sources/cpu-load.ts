import type { CpuInfo } from 'node:os';

/**
 * Share of CPU time spent busy since the previous reading, over all cores. Computed from
 * os.cpus() tick counters, which every platform has (load average is 0 on Windows).
 */
export class CpuLoadMeter {
  readonly #readCpus: () => readonly CpuInfo[];
  #previous: { busy: number; total: number } | undefined;

  constructor(readCpus: () => readonly CpuInfo[]) {
    this.#readCpus = readCpus;
  }

  read(): number | undefined {
    let busy = 0;
    let total = 0;
    for (const { times } of this.#readCpus()) {
      const all = times.user + times.nice + times.sys + times.irq + times.idle;
      total += all;
      busy += all - times.idle;
    }
    const previous = this.#previous;
    this.#previous = { busy, total };
    if (previous === undefined || total <= previous.total) return undefined;
    return Math.min(1, Math.max(0, (busy - previous.busy) / (total - previous.total)));
  }
}

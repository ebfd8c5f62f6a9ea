/**
 * Battery trend in percent per hour: the least-squares slope over the last minutes of readings.
 * Unknown until the window spans long enough for a 1 % step to mean something.
 */
export class BatteryTrend {
  readonly #windowMs: number;
  readonly #minimumSpanMs: number;
  #readings: { at: number; percent: number }[] = [];

  constructor(windowMs = 10 * 60_000, minimumSpanMs = 3 * 60_000) {
    this.#windowMs = windowMs;
    this.#minimumSpanMs = minimumSpanMs;
  }

  add(at: number, percent: number | undefined): number | undefined {
    if (percent === undefined) {
      this.#readings = [];
      return undefined;
    }
    this.#readings.push({ at, percent });
    this.#readings = this.#readings.filter((reading) => at - reading.at <= this.#windowMs);
    const first = this.#readings[0]!;
    if (at - first.at < this.#minimumSpanMs) return undefined;
    const n = this.#readings.length;
    const meanT = this.#readings.reduce((sum, reading) => sum + reading.at, 0) / n;
    const meanP = this.#readings.reduce((sum, reading) => sum + reading.percent, 0) / n;
    let covariance = 0;
    let variance = 0;
    for (const reading of this.#readings) {
      covariance += (reading.at - meanT) * (reading.percent - meanP);
      variance += (reading.at - meanT) ** 2;
    }
    return variance === 0 ? undefined : (covariance / variance) * 3_600_000;
  }
}

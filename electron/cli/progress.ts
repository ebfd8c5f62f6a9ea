/**
 * A terminal progress bar with an ETA, redrawn in place on a TTY and printed as occasional
 * plain lines otherwise (CI logs, pipes), so scripts never see a flood of carriage returns.
 */

export interface ProgressSnapshot {
  readonly label: string;
  /** Work done and total, in any unit (seconds of media here). */
  readonly done: number;
  readonly total: number;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const rounded = Math.round(seconds);
  const hours = Math.floor(rounded / 3600);
  const minutes = Math.floor((rounded % 3600) / 60);
  const rest = rounded % 60;
  const pad = (value: number) => String(value).padStart(2, '0');
  return hours > 0 ? `${hours}:${pad(minutes)}:${pad(rest)}` : `${pad(minutes)}:${pad(rest)}`;
}

/** ETA from the average rate so far; undefined until there is something to extrapolate from. */
export function estimateRemainingSeconds(done: number, total: number, elapsedSeconds: number): number | undefined {
  if (done <= 0 || elapsedSeconds <= 0 || total <= done) return done >= total && total > 0 ? 0 : undefined;
  return ((total - done) * elapsedSeconds) / done;
}

export function renderBar(snapshot: ProgressSnapshot, elapsedSeconds: number, width = 28): string {
  const fraction = snapshot.total > 0 ? Math.min(1, Math.max(0, snapshot.done / snapshot.total)) : 0;
  const filled = Math.round(fraction * width);
  const eta = estimateRemainingSeconds(snapshot.done, snapshot.total, elapsedSeconds);
  const percent = `${Math.floor(fraction * 100)}`.padStart(3);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}%  ETA ${eta === undefined ? '--:--' : formatEta(eta)}  ${snapshot.label}`;
}

export interface ProgressOutput {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

export class ProgressReporter {
  readonly #output: ProgressOutput;
  readonly #now: () => number;
  readonly #startedAt: number;
  #lastPlainLineAt = -Infinity;
  #lastPlainPercent = -1;

  constructor(output: ProgressOutput, now: () => number = () => performance.now() / 1000) {
    this.#output = output;
    this.#now = now;
    this.#startedAt = now();
  }

  update(snapshot: ProgressSnapshot): void {
    const elapsed = this.#now() - this.#startedAt;
    const line = renderBar(snapshot, elapsed);
    if (this.#output.isTTY) {
      const columns = this.#output.columns ?? 100;
      this.#output.write(`\r${line.slice(0, columns - 1).padEnd(columns - 1)}`);
      return;
    }
    // Plain output: a line every 10 % or 30 s, whichever comes first.
    const percent = snapshot.total > 0 ? Math.floor((snapshot.done / snapshot.total) * 10) : 0;
    if (percent !== this.#lastPlainPercent || elapsed - this.#lastPlainLineAt >= 30) {
      this.#lastPlainPercent = percent;
      this.#lastPlainLineAt = elapsed;
      this.#output.write(`${line}\n`);
    }
  }

  finish(message: string): void {
    this.#output.write(this.#output.isTTY ? `\r${message.padEnd((this.#output.columns ?? 100) - 1)}\n` : `${message}\n`);
  }
}

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly details?: Record<string, unknown>;
  readonly at: string;
}

export interface Logger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** A logger that hands structured entries to a sink (stderr as JSON lines, a test's array, ...). */
export function createLogger(sink: (entry: LogEntry) => void, now: () => Date = () => new Date()): Logger {
  const write = (level: LogLevel) => (message: string, details?: Record<string, unknown>) => {
    sink(details === undefined ? { level, message, at: now().toISOString() } : { level, message, details, at: now().toISOString() });
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
}

export function jsonLinesSink(stream: NodeJS.WritableStream): (entry: LogEntry) => void {
  return (entry) => {
    stream.write(`${JSON.stringify(entry)}\n`);
  };
}

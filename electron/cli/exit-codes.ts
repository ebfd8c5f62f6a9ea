/** Exit codes scripts can rely on; documented in the README. */
export const ExitCode = {
  success: 0,
  someInputsFailed: 1,
  usage: 2,
  modelUnavailable: 3,
  inputUnreadable: 4,
  outputUnwritable: 5,
  lipReadingUnavailable: 6,
  mediaToolMissing: 7,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

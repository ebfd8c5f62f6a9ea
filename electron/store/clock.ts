/** Wall-clock stamps as stored: ISO-8601 UTC text, so they sort and read the same everywhere. */
export function stamp(now: () => Date = () => new Date()): string {
  return now().toISOString();
}

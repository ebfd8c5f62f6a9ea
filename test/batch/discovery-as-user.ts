/**
 * Folder discovery as an unprivileged user (root reads everything, so permission errors need
 * one): drops to uid/gid 65534, then prints what discoverMedia found and skipped as JSON.
 */
process.setgid!(65534);
process.setuid!(65534);
const { discoverMedia } = await import('../../electron/batch/media-discovery.js');
const { prober } = await import('./fixtures.js');
const found = await discoverMedia(process.argv[2]!);
let probe: unknown;
try {
  await prober(process.argv[3]!);
} catch (error) {
  probe = { kind: (error as { kind?: string }).kind, message: (error as Error).message };
}
process.stdout.write(JSON.stringify({ ...found, probe }));

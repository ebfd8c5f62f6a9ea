import type { ExecutionProviderProbe, SystemStatus } from '../ipc/contract.js';
import { candidateProviders, probeExecutionProviders, type OrtLike } from '../engine/execution-providers.js';
import { readFfmpegVersion, locateFfmpeg, type LocatorInputs } from '../media/ffmpeg-locator.js';
import { sqliteVersion, type SqliteDatabase } from '../store/database.js';

export interface SystemStatusInputs {
  readonly app: SystemStatus['app'];
  readonly host: SystemStatus['host'];
  readonly ort: OrtLike;
  readonly database: SqliteDatabase;
  readonly databasePath: string;
  readonly ffmpeg: LocatorInputs;
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly nodeVersion: string;
}

/**
 * Reports what the services really have: probing is done once and then cached, because
 * provider availability and the ffmpeg binary do not change while the app runs.
 */
export function createSystemStatus(inputs: SystemStatusInputs): () => Promise<SystemStatus> {
  let cached: Promise<SystemStatus> | undefined;
  return () => (cached ??= collect(inputs));
}

async function collect(inputs: SystemStatusInputs): Promise<SystemStatus> {
  const [onnxRuntime, ffmpeg] = await Promise.all([onnxRuntimeStatus(inputs), ffmpegStatus(inputs)]);
  return {
    app: inputs.app,
    host: inputs.host,
    platform: { os: inputs.platform, arch: inputs.arch, node: inputs.nodeVersion },
    onnxRuntime,
    sqlite: sqliteStatus(inputs),
    ffmpeg,
  };
}

async function onnxRuntimeStatus(inputs: SystemStatusInputs): Promise<SystemStatus['onnxRuntime']> {
  const version = inputs.ort.env.versions.node ?? inputs.ort.env.versions.common;
  if (version === undefined) return { available: false, reason: 'onnxruntime-node reported no version' };
  const executionProviders: ExecutionProviderProbe[] = await probeExecutionProviders(
    inputs.ort,
    candidateProviders(inputs.platform),
  );
  return { available: true, version, executionProviders };
}

function sqliteStatus(inputs: SystemStatusInputs): SystemStatus['sqlite'] {
  try {
    return { available: true, version: sqliteVersion(inputs.database), databasePath: inputs.databasePath };
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

async function ffmpegStatus(inputs: SystemStatusInputs): Promise<SystemStatus['ffmpeg']> {
  try {
    const info = await readFfmpegVersion(locateFfmpeg(inputs.ffmpeg));
    return { available: true, version: info.version, path: info.path, source: info.source };
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

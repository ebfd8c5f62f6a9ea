import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ExecutionProviderName, ExecutionProviderProbe } from '../ipc/contract.js';
import { singleNodeModel } from './onnx-builder.js';

/**
 * Which execution providers can really run here.
 *
 * ONNX Runtime lists providers it was built with, not ones that will initialise (the CUDA
 * add-on may be missing, the driver too old). So each candidate is probed by creating and
 * running a one-node session on it; only a run that succeeds counts as usable.
 */

export interface OrtLike {
  readonly env: { readonly versions: { readonly node?: string; readonly common?: string } };
  readonly InferenceSession: {
    create(model: Uint8Array, options: { executionProviders: string[]; logSeverityLevel?: 0 | 1 | 2 | 3 | 4 }): Promise<{
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
      release(): Promise<void>;
    }>;
  };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

/** Providers worth trying on a platform, best first; CPU always last. */
export function candidateProviders(platform: NodeJS.Platform): ExecutionProviderName[] {
  switch (platform) {
    case 'win32':
      return ['cuda', 'dml', 'cpu'];
    case 'darwin':
      return ['coreml', 'cpu'];
    default:
      return ['cuda', 'cpu'];
  }
}

export async function probeExecutionProviders(
  ort: OrtLike,
  providers: readonly ExecutionProviderName[],
): Promise<ExecutionProviderProbe[]> {
  const probes: ExecutionProviderProbe[] = [];
  for (const name of providers) probes.push(await probeOne(ort, name));
  return probes;
}

/**
 * onnxruntime-node downloads its CUDA add-on at install time (Linux x64) or ships it (Windows);
 * when the library file is absent, say so plainly instead of letting ONNX Runtime fail loudly.
 */
export function missingProviderLibrary(name: ExecutionProviderName, platform: NodeJS.Platform, arch: string): string | undefined {
  if (name !== 'cuda') return undefined;
  const fileName = platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  let binaryDirectory: string;
  try {
    const packageJson = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    binaryDirectory = join(dirname(packageJson), 'bin', 'napi-v6', platform, arch);
  } catch {
    return undefined;
  }
  if (existsSync(join(binaryDirectory, fileName))) return undefined;
  return `the CUDA add-on (${fileName}) is not installed; onnxruntime-node downloads it during a normal install with internet`;
}

async function probeOne(ort: OrtLike, name: ExecutionProviderName): Promise<ExecutionProviderProbe> {
  const missing = missingProviderLibrary(name, process.platform, process.arch);
  if (missing !== undefined) return { name, usable: false, reason: missing };
  try {
    // Severity 3 (error) keeps ORT's own warnings about unavailable providers off the console;
    // the reason is reported through the probe instead.
    const session = await ort.InferenceSession.create(identityModel(), {
      executionProviders: [name],
      logSeverityLevel: 3,
    });
    try {
      const input = new ort.Tensor('float32', Float32Array.from([0.5]), [1]);
      const output = await session.run({ x: input });
      const data = output.y?.data;
      if (!(data instanceof Float32Array) || data[0] !== 0.5) {
        return { name, usable: false, reason: 'probe session returned a wrong result' };
      }
    } finally {
      await session.release();
    }
    return { name, usable: true };
  } catch (error) {
    return { name, usable: false, reason: firstLine(error) };
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]?.trim() || 'unknown error';
}

/** `y = Identity(x)`, x and y float32[1]: the smallest model that proves a provider runs. */
export function identityModel(): Uint8Array {
  return singleNodeModel('Identity', [{ name: 'x', dims: [1] }], { name: 'y', dims: [1] });
}

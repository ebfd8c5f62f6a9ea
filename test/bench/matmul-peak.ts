import type * as Ort from 'onnxruntime-node';
import { singleNodeModel } from '../../electron/engine/onnx-builder.js';

/**
 * The machine's practical float32 matmul throughput through ONNX Runtime with the engine's
 * thread count: the ceiling that "achieved FLOP/s" is compared against.
 */
export async function measureMatmulPeak(ort: typeof Ort, threads: number, size = 768, seconds = 2): Promise<number> {
  const model = singleNodeModel('MatMul', [{ name: 'a', dims: [size, size] }, { name: 'b', dims: [size, size] }], { name: 'c', dims: [size, size] });
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  const data = Float32Array.from({ length: size * size }, (_, index) => ((index * 7919) % 1000) / 1000 - 0.5);
  const feeds = { a: new ort.Tensor('float32', data, [size, size]), b: new ort.Tensor('float32', data, [size, size]) };
  await session.run(feeds); // warm-up
  let runs = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await session.run(feeds);
    runs += 1;
  }
  const elapsed = (performance.now() - started) / 1000;
  await session.release();
  return (runs * 2 * size ** 3) / elapsed;
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { candidateProviders, probeExecutionProviders } from '../../electron/engine/execution-providers.js';

test('CPU is always a candidate, and last', () => {
  for (const platform of ['linux', 'win32', 'darwin'] as const) assert.equal(candidateProviders(platform).at(-1), 'cpu');
  assert.deepEqual(candidateProviders('win32'), ['cuda', 'dml', 'cpu']);
  assert.deepEqual(candidateProviders('darwin'), ['coreml', 'cpu']);
});

test('the probe runs a real session: CPU works, a provider missing from this build says why', async () => {
  const probes = await probeExecutionProviders(ort, ['coreml', 'cpu']);
  assert.deepEqual(probes[1], { name: 'cpu', usable: true });
  if (process.platform !== 'darwin') {
    assert.equal(probes[0]?.usable, false);
    assert.match(probes[0]?.reason ?? '', /coreml/i);
  }
});

import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { expect, it } from 'vitest';
import { logisticModel, writeModelFile } from '../../../server/src/testing/onnx-builder.js';
import { defaultRuntimes } from '../index.js';

/**
 * onnxruntime-node is CommonJS, so even imported from ESM it lands in the CommonJS module cache; this
 * test file runs in its own process (vitest's forks pool isolates files), so nothing else loaded it.
 */
function onnxruntimeLoaded(): boolean {
  const cache = createRequire(import.meta.url).cache;
  return Object.keys(cache).some((path) => path.includes(`${sep}onnxruntime-node${sep}`));
}

it('loads onnxruntime only when the first ONNX model is loaded', async () => {
  const registry = defaultRuntimes();
  expect(registry.formats).toContain('onnx');
  expect(registry.isLoaded('onnx')).toBe(false);
  expect(onnxruntimeLoaded()).toBe(false);

  const root = await mkdtemp(join(tmpdir(), 'cairn-lazy-'));
  try {
    await writeModelFile(join(root, 'model.onnx'), logisticModel());
    const files = { digest: 'sha256:lazy', format: 'onnx', root, paths: ['model.onnx'] };
    const runtime = await registry.load(files, {
      batching: { maxBatchSize: 8, maxBatchWaitMs: 0 },
      maxQueue: 10,
      threads: 1,
    });
    // The check above could only pass vacuously if it could not see onnxruntime: now it must.
    expect(registry.isLoaded('onnx')).toBe(true);
    expect(onnxruntimeLoaded()).toBe(true);
    await runtime.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

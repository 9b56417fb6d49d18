import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearModel, writeModelFile } from '../../../testing/onnx-builder.js';
import { readOnnxInfo } from './onnx-signature.js';

// Collecting garbage before each sample measures what is still referenced, not what V8 has yet to free:
// without it, dead 64 KiB chunks pile up until V8's external-memory threshold (64 MB), which is larger
// than the model and would hide the difference between streaming and buffering.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;
const SAMPLE_EVERY = 16;

interface Peak {
  arrayBuffers: number;
  rss: number;
}

/** Streams the file in 64 KiB chunks, sampling memory (after a collection) every 1 MiB. */
async function* sampled(path: string, peak: Peak): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
    yield chunk as Buffer;
    if (++n % SAMPLE_EVERY === 0) {
      gc();
      const usage = process.memoryUsage();
      peak.arrayBuffers = Math.max(peak.arrayBuffers, usage.arrayBuffers);
      peak.rss = Math.max(peak.rss, usage.rss);
    }
  }
}

function baseline(): Peak {
  gc();
  const { arrayBuffers, rss } = process.memoryUsage();
  return { arrayBuffers, rss };
}

describe('readOnnxInfo memory', () => {
  let dir: string;
  let path: string;
  let size: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-onnx-'));
    path = join(dir, 'large.onnx');
    // W is 1024 × 12800 float32 = 50 MiB of raw_data, written without being held in memory.
    await writeModelFile(path, linearModel({ inputs: 1024, outputs: 12_800 }));
    size = (await stat(path)).size;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stays bounded on a 50 MiB model streamed in 64 KiB chunks', async () => {
    expect(size).toBeGreaterThan(50 * MIB);
    const start = baseline();
    const peak = { ...start };
    const began = performance.now();
    const info = await readOnnxInfo(sampled(path, peak), { sizeBytes: size });
    const ms = performance.now() - began;
    expect(info.inputs).toEqual([
      { name: 'X', datatype: 'FP32', shape: [-1, 1024], dimNames: ['N', null], onnxType: 'tensor(float)' },
    ]);
    expect(info.outputs[0]?.shape).toEqual([-1, 12_800]);
    const growth = { arrayBuffers: peak.arrayBuffers - start.arrayBuffers, rss: peak.rss - start.rss };
    console.log(
      `streamed ${(size / MIB).toFixed(1)} MiB in ${ms.toFixed(0)} ms; peak growth: ` +
        `arrayBuffers ${(growth.arrayBuffers / MIB).toFixed(2)} MiB (baseline ${(start.arrayBuffers / MIB).toFixed(2)}), ` +
        `rss ${(growth.rss / MIB).toFixed(2)} MiB (baseline ${(start.rss / MIB).toFixed(0)})`,
    );
    expect(growth.arrayBuffers).toBeLessThan(4 * MIB);
    expect(growth.rss).toBeLessThan(20 * MIB);
  });

  it('would see a reader that buffers the file (the measurement can fail)', async () => {
    const start = baseline();
    const peak = { ...start };
    const kept: Uint8Array[] = [];
    for await (const chunk of sampled(path, peak)) kept.push(chunk);
    const growth = peak.arrayBuffers - start.arrayBuffers;
    console.log(`buffering the same file: arrayBuffers growth ${(growth / MIB).toFixed(2)} MiB`);
    expect(growth).toBeGreaterThan(45 * MIB);
    expect(kept.length).toBeGreaterThan(0);
  });
});

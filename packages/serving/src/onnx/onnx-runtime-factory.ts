/**
 * Loads ONNX model versions into onnxruntime-node. This module (and so onnxruntime's native code) is
 * imported by the runtime registry only when the first ONNX model is loaded.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { CairnError } from '@cairn/contract';
import { InferenceSession } from 'onnxruntime-node';
import type { ModelFiles, ModelRuntime, RuntimeFactory, RuntimeSettings } from '../runtime.js';
import { pickModelFile } from './model-file.js';
import { OnnxModelRuntime } from './onnx-model-runtime.js';
import { OnnxSessionModel } from './onnx-session-model.js';
import { sessionMetadata } from './onnx-types.js';
import { SessionCache, type Lease } from './session-cache.js';

export class OnnxRuntimeFactory implements RuntimeFactory {
  /** Sessions by version digest and threads; shared by every runtime this factory loads. */
  readonly sessions = new SessionCache<InferenceSession>();

  async load(files: ModelFiles, settings: RuntimeSettings): Promise<ModelRuntime> {
    const file = pickModelFile(files.paths);
    const path = modelPath(files.root, file);
    const threads = settings.threads ?? availableParallelism();
    const lease = await this.sessions.acquire(`${files.digest} threads=${threads}`, () =>
      createSession({ path, file, threads }),
    );
    const label = files.name ?? shortDigest(files.digest);
    try {
      const metadata = sessionMetadata(lease.session, files.metadata);
      const model = new OnnxSessionModel({ session: lease.session, metadata, label });
      return new OnnxModelRuntime({ model, settings, label, release: () => lease.release() });
    } catch (error) {
      await releaseQuietly(lease);
      throw error;
    }
  }
}

async function createSession(options: {
  path: string;
  file: string;
  threads: number;
}): Promise<InferenceSession> {
  try {
    return await InferenceSession.create(options.path, {
      // One run spreads each operator over every core it is given; running two at once would only make
      // them fight over the same cores (and onnxruntime-node computes on the JavaScript thread, so runs of
      // a session do not overlap anyway). Batching, not parallel runs, is what raises throughput; so: all
      // the threads inside a run, one operator at a time, and every graph optimisation, paid once at load.
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Idle pool threads sleep instead of spinning. With spinning, the MLP run in batches of 16–64 rows
      // once a millisecond kept a whole second core busy between runs (86–100 % against 16–19 %), the
      // core the HTTP server, the kernel and GC need: over HTTP the server spent 160–180 µs of CPU per
      // request instead of 60–125, and served about half as many. Runs back to back were no slower; a run
      // after an idle gap pays some tens of microseconds to wake the pool.
      extra: { 'session.intra_op.allow_spinning': '0' },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CairnError('FAILED_PRECONDITION', `onnxruntime cannot load ${options.file}: ${message}`, {
      cause: error,
    });
  }
}

/** `file` under `root`, refusing a path that climbs out of it. */
function modelPath(root: string, file: string): string {
  const path = resolve(root, file);
  const inside = relative(resolve(root), path);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    throw new CairnError(
      'FAILED_PRECONDITION',
      `the model file ${JSON.stringify(file)} is outside the version's folder`,
    );
  }
  return path;
}

function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.includes(':') ? digest.split(':', 2) : ['', digest];
  return algorithm === '' ? (hex ?? digest).slice(0, 12) : `${algorithm}:${(hex ?? '').slice(0, 12)}`;
}

async function releaseQuietly(lease: Lease<InferenceSession>): Promise<void> {
  await lease.release().catch(() => undefined);
}

import { CairnError } from '@cairn/contract';
import type { ModelFiles, ModelRuntime, RuntimeFactory, RuntimeSettings } from './runtime.js';

/** Loads a runtime's code on first use. */
export type RuntimeLoader = () => Promise<RuntimeFactory>;

/**
 * Which runtime serves which model format. Runtimes are imported on first
 * use, so a process that never serves an ONNX model never loads
 * onnxruntime (tens of MB of native code and threads).
 */
export class RuntimeRegistry {
  readonly #loaders = new Map<string, RuntimeLoader>();
  readonly #factories = new Map<string, Promise<RuntimeFactory>>();

  register(format: string, loader: RuntimeLoader): this {
    this.#loaders.set(format, loader);
    this.#factories.delete(format);
    return this;
  }

  get formats(): string[] {
    return [...this.#loaders.keys()].sort();
  }

  /** Whether the format's runtime code has been imported (for tests of the laziness). */
  isLoaded(format: string): boolean {
    return this.#factories.has(format);
  }

  async load(files: ModelFiles, settings: RuntimeSettings): Promise<ModelRuntime> {
    return (await this.#factory(files.format)).load(files, settings);
  }

  #factory(format: string): Promise<RuntimeFactory> {
    const known = this.#factories.get(format);
    if (known !== undefined) return known;
    const loader = this.#loaders.get(format);
    if (loader === undefined) {
      return Promise.reject(
        new CairnError(
          'FAILED_PRECONDITION',
          `no runtime serves models of format ${JSON.stringify(format)}; served formats: ${this.formats.join(', ')}`,
        ),
      );
    }
    const loading = loader();
    // A failed import (a missing native binary) is tried again next time rather than remembered.
    loading.catch(() => this.#factories.delete(format));
    this.#factories.set(format, loading);
    return loading;
  }
}

/** The runtimes Cairn ships: ONNX in process, and any program speaking JSON Lines. */
export function defaultRuntimes(): RuntimeRegistry {
  return new RuntimeRegistry()
    .register('onnx', async () => new (await import('./onnx/onnx-runtime-factory.js')).OnnxRuntimeFactory())
    .register(
      'command',
      async () => new (await import('./command/command-runtime-factory.js')).CommandRuntimeFactory(),
    );
}

import type { ModelRuntime, RuntimeRegistry } from '@cairn/serving';
import type { DeploymentSettings, LiveRoute } from './entities.js';
import type { ModelFileCache } from './model-files.js';
import type { ServingObserver } from './serving-observer.js';

export interface RuntimeLease {
  runtime: ModelRuntime;
  release(): void;
}

interface Entry {
  loading: Promise<ModelRuntime>;
  holders: number;
}

type RouteFiles = Pick<LiveRoute, 'model' | 'version' | 'digest' | 'format'>;

/**
 * Loaded runtimes by deployment, content digest and settings: two revisions
 * of a deployment serving the same version with the same batching (a weight
 * change, a rollback) share one runtime and one batch queue, so a roll never
 * reloads what stays. Deployments get their own runtimes — their own queues
 * and metrics — while the ONNX sessions underneath are shared by digest. A
 * runtime is closed when its last holder lets go; closing waits for the work
 * it holds.
 */
export class RuntimePool {
  readonly #entries = new Map<string, Entry>();
  /** Runtimes let go of and still closing: shutdown waits for them (a command model's process must exit). */
  readonly #closing = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      runtimes: RuntimeRegistry;
      files: ModelFileCache;
      /** Settings the runtime takes beyond the deployment's (threads). */
      threads?: number;
      observer?: ServingObserver;
    },
  ) {}

  async acquire(input: {
    deployment: string;
    route: RouteFiles;
    settings: DeploymentSettings;
  }): Promise<RuntimeLease> {
    const { route, settings } = input;
    const key = [
      input.deployment,
      route.digest,
      route.format,
      settings.maxBatchSize,
      settings.maxBatchWaitMs,
      settings.maxQueue,
    ].join('|');
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const created: Entry = { loading: this.#load(input), holders: 0 };
      entry = created;
      this.#entries.set(key, created);
      // A failed load is not remembered: the next acquire tries again.
      created.loading.catch(() => {
        if (this.#entries.get(key) === created) this.#entries.delete(key);
      });
    }
    entry.holders++;
    let runtime: ModelRuntime;
    try {
      runtime = await entry.loading;
    } catch (error) {
      entry.holders--;
      throw error;
    }
    const held = entry;
    let released = false;
    return {
      runtime,
      release: () => {
        if (released) return;
        released = true;
        held.holders--;
        if (held.holders > 0 || this.#entries.get(key) !== held) return;
        this.#entries.delete(key);
        const closing = runtime.close().catch(() => undefined);
        this.#closing.add(closing);
        void closing.finally(() => this.#closing.delete(closing));
      },
    };
  }

  /** Closes every runtime, whoever holds it (shutdown). */
  async closeAll(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled([...entries.map(async (e) => (await e.loading).close()), ...this.#closing]);
  }

  async #load(input: {
    deployment: string;
    route: RouteFiles;
    settings: DeploymentSettings;
  }): Promise<ModelRuntime> {
    const { deployment, route, settings } = input;
    const files = await this.deps.files.materialize(route);
    const runtime = await this.deps.runtimes.load(
      { ...files, name: `${route.model}/${route.version}` },
      {
        batching: { maxBatchSize: settings.maxBatchSize, maxBatchWaitMs: settings.maxBatchWaitMs },
        maxQueue: settings.maxQueue,
        ...(this.deps.threads === undefined ? {} : { threads: this.deps.threads }),
      },
    );
    const observer = this.deps.observer;
    if (observer !== undefined) {
      const version = String(route.version);
      runtime.observer = {
        onBatch: (rows, requests, runMs) =>
          observer.batch({ deployment, version, rows, requests, seconds: runMs / 1000 }),
      };
    }
    return runtime;
  }
}

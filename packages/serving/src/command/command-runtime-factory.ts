import type { ModelFiles, RuntimeFactory, RuntimeSettings } from '../runtime.js';
import { readCommandManifest } from './command-manifest.js';
import { CommandRuntime } from './command-runtime.js';
import type { LogFn } from './process-supervisor.js';
import { programEnv } from './program-env.js';
import { DEFAULT_BACKOFF, RestartBackoff } from './restart-backoff.js';
import type { BackoffPolicy } from './restart-backoff.js';

export interface CommandRuntimeFactoryOptions {
  /** Where the programs' stderr, ignored lines and restarts are reported; warnings and errors go to stderr by default. */
  onLog?: LogFn;
  /** The environment PATH, HOME and LANG are taken from; the server's by default. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** The longest line a program may write on stdout before it counts as broken; 64 MiB by default. */
  maxLineBytes?: number;
  restartBackoff?: Partial<BackoffPolicy>;
  /** How long close() waits for requests in flight (10 s), then for the program to exit at each step (5 s). */
  shutdown?: { drainMs?: number; exitMs?: number };
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

const logToStderr: LogFn = (level, message) => {
  if (level !== 'info') console.error(`[${level}] ${message}`);
};

/**
 * Serves `command` models: any program speaking JSON Lines on stdin/stdout,
 * described by the `cairn-model.json` of its version (see command-runtime.ts).
 */
export class CommandRuntimeFactory implements RuntimeFactory {
  readonly #options: CommandRuntimeFactoryOptions;

  constructor(options: CommandRuntimeFactoryOptions = {}) {
    this.#options = options;
  }

  async load(files: ModelFiles, settings: RuntimeSettings): Promise<CommandRuntime> {
    const manifest = await readCommandManifest(files.root);
    const options = this.#options;
    const onLog = options.onLog ?? logToStderr;
    const label = `command model ${shortDigest(files.digest)}`;
    return CommandRuntime.start({
      metadata: manifest.metadata,
      requestTimeoutMs: manifest.requestTimeoutMs,
      maxQueue: settings.maxQueue,
      drainTimeoutMs: options.shutdown?.drainMs ?? 10_000,
      supervisor: {
        program: {
          command: manifest.command,
          cwd: files.root,
          env: programEnv(options.baseEnv ?? process.env, manifest.env),
          maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
        },
        startupTimeoutMs: manifest.startupTimeoutMs,
        backoff: new RestartBackoff({ ...DEFAULT_BACKOFF, ...options.restartBackoff }),
        shutdown: { exitMs: options.shutdown?.exitMs ?? 5_000 },
        log: (level, message) => onLog(level, `${label}: ${message}`),
      },
    });
  }
}

function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// What the end-to-end tests share: the built CLI (`npm run build` first), run
// once per command or started as `cairn server`.

/** The repository root. */
export const REPO = fileURLToPath(new URL('..', import.meta.url));
/** The built `cairn` binary. */
export const CLI = path.join(REPO, 'packages/cli/bin/cairn.js');

const execFileAsync = promisify(execFile);

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * This process's environment without `names`, plus `extra`: for a CLI or
 * server that must see only the CAIRN_* settings a test gives it.
 */
export function envWithout(names: readonly string[], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of names) delete env[name];
  return { ...env, ...extra };
}

export interface CairnResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunCairnOptions {
  /** The whole environment of the CLI; this process's by default. */
  env?: NodeJS.ProcessEnv;
  /** The repository root by default. */
  cwd?: string;
  /** 30 s by default. */
  timeoutMs?: number;
}

/** Runs `cairn …args` to the end; a failure is an exit code, never a throw. */
export async function runCairn(args: readonly string[], options: RunCairnOptions = {}): Promise<CairnResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface CairnServer {
  url: string;
  child: ChildProcess;
  /** What the server has written to stderr so far. */
  stderr(): string;
  /** Stops the server (SIGTERM) and waits for it to close. */
  stop(): Promise<void>;
}

export interface StartCairnServerOptions {
  /** Flags after `cairn server`; the helper adds `--port` (and `--data-dir` when given). */
  args?: readonly string[];
  /** The server's environment, this process's by default; CAIRN_LOG_LEVEL is always `warn`. */
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
}

/**
 * Starts `cairn server` on a free port; resolves once /readyz answers, or
 * rejects with the server's own words if it exits or is not ready in 30 s.
 */
export async function startCairnServer(options: StartCairnServerOptions = {}): Promise<CairnServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDirArgs = options.dataDir === undefined ? [] : ['--data-dir', options.dataDir];
  const child = spawn(
    process.execPath,
    [CLI, 'server', ...(options.args ?? []), '--port', String(port), ...dataDirArgs],
    {
      env: { ...(options.env ?? process.env), CAIRN_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let exited = false;
  const closed = new Promise((resolve) => child.once('close', resolve));
  child.once('exit', () => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGTERM');
    await closed;
  };
  for (let i = 0; i < 300 && !exited; i++) {
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, child, stderr: () => stderr, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`server did not start:\n${stderr}`);
}

/** Polls `check` until it gives a value; fails naming `what` (and the last error) after the timeout. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs} ms ${String(last ?? '')}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** `cairn …` and what it printed, for a failed expectation's message. */
export const explain = (args: readonly string[], r: CairnResult): string =>
  `cairn ${args.join(' ')} → exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

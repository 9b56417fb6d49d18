import { spawn, type ChildProcess } from 'node:child_process';
import { open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PIPELINE_LIMITS } from '@cairn/contract';
import type { BlobStore } from '../../modules/artifacts/blob.store.js';
import type { StepOutput, StepResult, StepTask, StoredLog } from '../../modules/pipelines/index.js';
import { paramText, renderCommand, TemplateError } from './command-template.js';
import {
  OutputError,
  prepareWorkspace,
  readMetrics,
  readTail,
  storeOutput,
  workspaceLayout,
  type DatasetFiles,
  type WorkspaceLayout,
} from './step-workspace.js';

/**
 * Runs one attempt of one step: lays out its workspace, runs the rendered
 * command with `/bin/sh -c` in its own process group, stores its logs and
 * outputs, and reports how it went. The result never rejects, and no process
 * of the attempt is left running once it resolves.
 */

export interface StepRunnerDeps {
  blobs: BlobStore;
  datasets: DatasetFiles;
  /** Workspaces are made under it, one per attempt: `<workRoot>/<stepRunId>-<attempt>/`. */
  workRoot: string;
  clock?: () => number;
  /** The base environment of every command (PATH, HOME, …); nothing else of the server's leaks in. */
  env?: Readonly<Record<string, string>>;
  /** Given to the command as MLFLOW_TRACKING_URI and CAIRN_URL. */
  trackingUri?: string;
  /** Keep each workspace after its attempt, for debugging (CAIRN_KEEP_WORKSPACES). */
  keepWorkspace?: boolean;
  /** How long a stopped command has between SIGTERM and SIGKILL; 5 s by default. */
  killGraceMs?: number;
}

export interface StepRunHooks {
  /** The command's process started; `pid` is also its process group. */
  onStarted?: (info: { pid: number }) => void;
}

const DEFAULT_GRACE_MS = 5000;
const STEP_RUN_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

type Exit =
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'not-started'; error: Error };

type Ending = Pick<StepResult, 'outcome' | 'error' | 'userFault'> & Partial<StepResult>;

/** The log files, open for as long as the attempt: read back through these handles, whatever the command did to the paths. */
interface Logs {
  stdout: FileHandle;
  stderr: FileHandle;
}

const ours = (error: string): Ending => ({ outcome: 'failed', userFault: false, error });
const theirs = (error: string): Ending => ({ outcome: 'failed', userFault: true, error });
const CANCELLED: Ending = { outcome: 'cancelled', userFault: false, error: 'cancelled' };

/** Runs an attempt to its end. */
export function runCommandStep(task: StepTask, deps: StepRunnerDeps): Promise<StepResult> {
  return new CommandStepRun(task, deps).result;
}

/** One attempt, started on construction; `cancel()` stops it and it ends `cancelled`. */
export class CommandStepRun {
  readonly result: Promise<StepResult>;
  readonly #task: StepTask;
  readonly #deps: StepRunnerDeps;
  readonly #hooks: StepRunHooks;
  readonly #clock: () => number;
  readonly #graceMs: number;
  #stopped: 'cancel' | 'timeout' | null = null;
  #child: ChildProcess | null = null;
  #termSentAt: number | null = null;
  #killTimer: NodeJS.Timeout | null = null;

  /** `deps` is read as the attempt goes (a tracking URI set later still reaches it). */
  constructor(task: StepTask, deps: StepRunnerDeps, hooks: StepRunHooks = {}) {
    this.#task = task;
    this.#deps = deps;
    this.#hooks = hooks;
    this.#clock = deps.clock ?? Date.now;
    this.#graceMs = deps.killGraceMs ?? DEFAULT_GRACE_MS;
    const startedAt = this.#clock();
    this.result = this.#run(startedAt).catch((error: unknown) =>
      this.#result(startedAt, ours(`the step runner broke: ${message(error)}`)),
    );
  }

  /** Stops the attempt (its whole process group); it ends `cancelled` whatever its command did. */
  cancel(): void {
    this.#stop('cancel');
  }

  async #run(startedAt: number): Promise<StepResult> {
    const task = this.#task;
    const end = (ending: Ending): StepResult => this.#result(startedAt, ending);
    let layout: WorkspaceLayout;
    let command: string;
    try {
      if (!STEP_RUN_ID.test(task.stepRunId)) {
        throw new Error(`step run id ${JSON.stringify(task.stepRunId)} is not a file name`);
      }
      layout = workspaceLayout(join(this.#deps.workRoot, `${task.stepRunId}-${task.attempt}`), task);
    } catch (error) {
      return end(ours(`could not set up the workspace: ${message(error)}`));
    }
    try {
      const { params, item } = task;
      command = renderCommand(task.run, { inputs: layout.inputs, outputs: layout.outputs, params, item });
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      return end(theirs(`the command cannot be rendered: ${error.message}`));
    }
    let stdout: FileHandle | undefined;
    let stderr: FileHandle | undefined;
    try {
      try {
        await prepareWorkspace({ layout, task, blobs: this.#deps.blobs, datasets: this.#deps.datasets });
        stdout = await open(layout.stdoutFile, 'w+');
        stderr = await open(layout.stderrFile, 'w+');
      } catch (error) {
        return end(ours(`could not set up the workspace: ${message(error)}`));
      }
      if (this.#stopped === 'cancel') return end(CANCELLED);
      const logs = { stdout, stderr };
      const exit = await this.#execute(command, layout, logs);
      return end(await this.#conclude(exit, layout, logs));
    } finally {
      await Promise.allSettled([stdout?.close(), stderr?.close()]);
      if (this.#deps.keepWorkspace !== true) {
        await rm(layout.root, { recursive: true, force: true }).catch(() => {});
      }
    }
  }

  #result(startedAt: number, ending: Ending): StepResult {
    return {
      stepRunId: this.#task.stepRunId,
      attempt: this.#task.attempt,
      exitCode: null,
      signal: null,
      outputs: {},
      stdout: null,
      stderr: null,
      stderrTail: '',
      metrics: [],
      ...ending,
      startedAt,
      endedAt: this.#clock(),
    };
  }

  /** Runs the command to its end, and until no process of its group is left. */
  async #execute(command: string, layout: WorkspaceLayout, logs: Logs): Promise<Exit> {
    let child: ChildProcess;
    try {
      // The child writes straight into the log files: nothing of its output passes through this process.
      child = spawn('/bin/sh', ['-c', command], {
        cwd: layout.codeDir,
        detached: true,
        stdio: ['ignore', logs.stdout.fd, logs.stderr.fd],
        env: this.#environment(layout),
      });
    } catch (error) {
      return { kind: 'not-started', error: error as Error };
    }
    this.#child = child;
    const exited = new Promise<Exit>((resolve) => {
      child.once('error', (error) => resolve({ kind: 'not-started', error }));
      child.once('exit', (code, signal) => resolve({ kind: 'exited', code, signal }));
    });
    const pid = child.pid;
    let timer: NodeJS.Timeout | undefined;
    if (pid !== undefined) {
      const timeoutMs = this.#task.timeoutMs;
      if (timeoutMs !== null) timer = setTimeout(() => this.#stop('timeout'), timeoutMs);
      if (this.#stopped !== null) this.#terminate();
      try {
        this.#hooks.onStarted?.({ pid });
      } catch {
        // The hook's trouble is its own: the attempt still runs to its end, and is still stopped on time.
      }
    }
    const exit = await exited;
    clearTimeout(timer);
    if (pid !== undefined) await this.#reap(pid);
    if (this.#killTimer !== null) clearTimeout(this.#killTimer);
    return exit;
  }

  #environment(layout: WorkspaceLayout): Record<string, string> {
    const task = this.#task;
    const env: Record<string, string> = { ...this.#deps.env, ...task.env };
    for (const [name, text] of Object.entries(layout.inputs)) env[`CAIRN_INPUT_${envName(name)}`] = text;
    for (const [name, path] of Object.entries(layout.outputs)) env[`CAIRN_OUTPUT_${envName(name)}`] = path;
    for (const [name, value] of Object.entries(task.params)) {
      env[`CAIRN_PARAM_${envName(name)}`] = paramText(value);
    }
    if (task.item !== null) {
      env.CAIRN_ITEM = paramText(task.item.value);
      env.CAIRN_INDEX = String(task.item.index);
    }
    env.CAIRN_RUN_ID = task.runId;
    env.MLFLOW_RUN_ID = task.runId;
    if (this.#deps.trackingUri !== undefined) {
      env.MLFLOW_TRACKING_URI = this.#deps.trackingUri;
      env.CAIRN_URL = this.#deps.trackingUri;
    }
    env.CAIRN_METRICS_FILE = layout.metricsFile;
    env.CAIRN_STEP = task.label;
    env.CAIRN_ATTEMPT = String(task.attempt);
    return env;
  }

  /** Asked to stop at any point before the result: the attempt ends with that outcome, whatever its command did. */
  #stop(reason: 'cancel' | 'timeout'): void {
    if (this.#stopped !== null) return;
    this.#stopped = reason;
    this.#terminate();
  }

  /** SIGTERM to the whole group now, SIGKILL after the grace. */
  #terminate(): void {
    const child = this.#child;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    if (this.#killTimer !== null) return;
    this.#signal('SIGTERM');
    this.#killTimer = setTimeout(() => this.#signal('SIGKILL'), this.#graceMs);
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    if (signal === 'SIGTERM') this.#termSentAt ??= Date.now();
    signalGroup(pid, signal);
  }

  /** After the shell has exited: whatever it left in its group gets SIGTERM, then SIGKILL after the grace. */
  async #reap(pgid: number): Promise<void> {
    if (!(await groupAlive(pgid))) return;
    this.#signal('SIGTERM');
    const left = (this.#termSentAt ?? Date.now()) + this.#graceMs - Date.now();
    if (await waitGroupGone(pgid, left)) return;
    signalGroup(pgid, 'SIGKILL');
    await waitGroupGone(pgid, 2000);
  }

  async #conclude(exit: Exit, layout: WorkspaceLayout, logs: Logs): Promise<Ending> {
    const blobs = this.#deps.blobs;
    const seen: Partial<StepResult> = {
      stderrTail: await readTail(logs.stderr, PIPELINE_LIMITS.stderrTailLines),
      metrics: await readMetrics(layout.metricsFile, this.#clock()),
      ...(exit.kind === 'exited' ? { exitCode: exit.code, signal: exit.signal } : {}),
    };
    try {
      seen.stdout = await storeLog(blobs, logs.stdout);
      seen.stderr = await storeLog(blobs, logs.stderr);
    } catch (error) {
      return {
        ...seen,
        ...(this.#stopped === 'cancel' ? CANCELLED : ours(`could not store the logs: ${message(error)}`)),
      };
    }
    if (this.#stopped === 'cancel') return { ...seen, ...CANCELLED };
    if (this.#stopped === 'timeout') {
      return {
        ...seen,
        ...theirs(`timed out after ${formatDuration(this.#task.timeoutMs ?? 0)}`),
        outcome: 'timed_out',
      };
    }
    if (exit.kind === 'not-started') {
      // Too long a command, or a NUL in it or its environment, is the step's doing; anything else is ours.
      const code = (exit.error as NodeJS.ErrnoException).code;
      const ending = code === 'E2BIG' || code === 'ERR_INVALID_ARG_VALUE' ? theirs : ours;
      return { ...seen, ...ending(`the command could not start: ${exit.error.message}`) };
    }
    if (exit.code !== 0) {
      return {
        ...seen,
        ...theirs(
          exit.code === null ? `was killed by signal ${exit.signal}` : `exited with code ${exit.code}`,
        ),
      };
    }
    const outputs: Record<string, StepOutput> = {};
    for (const name of this.#task.outputs) {
      let stored: StepOutput | null;
      try {
        stored = await storeOutput(blobs, layout.outputs[name] as string, name);
      } catch (error) {
        if (error instanceof OutputError) return { ...seen, ...theirs(error.message) };
        return { ...seen, ...ours(`could not store output "${name}": ${message(error)}`) };
      }
      if (stored === null) {
        return {
          ...seen,
          ...theirs(`step wrote no output "${name}" (expected at $CAIRN_OUTPUT_${envName(name)})`),
        };
      }
      outputs[name] = stored;
    }
    if (this.#stopped === 'cancel') return { ...seen, ...CANCELLED };
    return { ...seen, outputs, outcome: 'succeeded', userFault: false, error: null };
  }
}

/** `model-v2` → `MODEL_V2`. */
export function envName(name: string): string {
  return name.toUpperCase().replaceAll('-', '_');
}

async function storeLog(blobs: BlobStore, handle: FileHandle): Promise<StoredLog> {
  const stored = await blobs.put(handle.createReadStream({ start: 0, autoClose: false }));
  return { digest: stored.digest, sizeBytes: stored.sizeBytes };
}

/** `30 s`, `1.5 s`, `250 ms`, `10 min`, `2 h`. */
export function formatDuration(ms: number): string {
  const round = (n: number): string => String(Math.round(n * 10) / 10);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${round(ms / 60_000)} min`;
  return `${round(ms / 3_600_000)} h`;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Whether any process of the group is still running (zombies waiting for their reaper do not count). */
async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  const members = await liveMembers(pgid);
  return members === null || members.length > 0; // No /proc: trust kill(0).
}

/** The group's running processes, from /proc; null where there is no /proc to read. */
async function liveMembers(pgid: number): Promise<string[] | null> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const stats = await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')));
  return pids.filter((_, i) => {
    const stat = stats[i] as string;
    // `pid (comm) state ppid pgrp …` — comm may hold spaces and parentheses, so read after the last `)`.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return pgrp === String(pgid) && state !== 'Z' && state !== 'X';
  });
}

/**
 * Stops a process group that an attempt started by another server (now gone)
 * may have left running: only when one of its processes still has that
 * attempt's workspace in its environment, so a reused pid is never touched.
 * True when it stopped something.
 */
export async function stopAbandonedGroup(options: {
  pgid: number;
  workRoot: string;
  stepRunId: string;
  graceMs?: number;
}): Promise<boolean> {
  const { pgid } = options;
  if (!Number.isSafeInteger(pgid) || pgid <= 1) return false;
  const marker = `CAIRN_METRICS_FILE=${resolve(options.workRoot, `${options.stepRunId}-`)}`;
  let ours = false;
  for (const pid of (await liveMembers(pgid)) ?? []) {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').some((entry) => entry.startsWith(marker))) ours = true;
  }
  if (!ours) return false;
  signalGroup(pgid, 'SIGTERM');
  if (!(await waitGroupGone(pgid, options.graceMs ?? DEFAULT_GRACE_MS))) {
    signalGroup(pgid, 'SIGKILL');
    await waitGroupGone(pgid, 2000);
  }
  return true;
}

async function waitGroupGone(pgid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + Math.max(0, withinMs);
  for (;;) {
    if (!(await groupAlive(pgid))) return true;
    if (Date.now() >= until) return false;
    await sleep(25);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

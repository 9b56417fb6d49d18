import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { LineSplitter } from './line-splitter.js';

/** How to run a model program. */
export interface ProgramSpec {
  command: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** A longer stdout line means the program is broken. */
  maxLineBytes: number;
}

/** How a process ended. */
export interface ProcessEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all (ENOENT, EACCES…). */
  spawnError?: NodeJS.ErrnoException;
}

export interface ModelProcessEvents {
  /** A line of stdout. */
  onLine(line: string): void;
  /** A line of stderr. */
  onStderr(line: string): void;
  /** The process cannot be used any more though it may still run (an over-long line, a closed stdin). */
  onBroken(reason: string): void;
  /** Called once, when the process is gone and its output read. */
  onEnd(end: ProcessEnd): void;
}

const STDERR_MAX_LINE_BYTES = 64 * 1024;
const STDERR_TAIL_LINES = 20;
/** After 'exit', how long to wait for the pipes to close (a grandchild may hold them open). */
const PIPE_CLOSE_GRACE_MS = 2_000;

/**
 * One run of a model program: spawns it, cuts its stdout and stderr into
 * lines, writes to its stdin in order while respecting backpressure, and
 * reports its end exactly once. Errors of the pipes never escape as
 * unhandled 'error' events.
 */
export class ModelProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #events: ModelProcessEvents;
  readonly #stderrTail: string[] = [];
  readonly #waiting: string[] = [];
  #draining = false;
  #broken = false;
  #end: ProcessEnd | undefined;
  readonly ended: Promise<ProcessEnd>;
  #resolveEnded!: (end: ProcessEnd) => void;

  constructor(spec: ProgramSpec, events: ModelProcessEvents) {
    this.#events = events;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    const [program, ...args] = spec.command as [string, ...string[]];
    this.#child = spawn(program, args, { cwd: spec.cwd, env: spec.env, stdio: 'pipe', windowsHide: true });
    this.#wireOutput(spec.maxLineBytes);
    this.#wireLifecycle();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get hasEnded(): boolean {
    return this.#end !== undefined;
  }

  /** The last lines the program wrote on stderr, for error messages. */
  get stderrTail(): readonly string[] {
    return this.#stderrTail;
  }

  /** Queues one line for stdin; lines wait in order while the pipe is full. */
  write(line: string): void {
    if (this.#end !== undefined || this.#broken) return;
    if (this.#draining) {
      this.#waiting.push(line);
      return;
    }
    if (!this.#child.stdin.write(line)) this.#waitForDrain();
  }

  /** Ends stdin: a well-behaved program exits when its input ends. */
  closeInput(): void {
    this.#waiting.length = 0;
    this.#child.stdin.end();
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#end === undefined) this.#child.kill(signal);
  }

  #waitForDrain(): void {
    this.#draining = true;
    this.#child.stdin.once('drain', () => {
      this.#draining = false;
      while (this.#waiting.length > 0 && !this.#draining) this.write(this.#waiting.shift()!);
    });
  }

  #wireOutput(maxLineBytes: number): void {
    const stdout = new LineSplitter({
      maxLineBytes,
      onLine: (line) => {
        if (!this.#broken) this.#events.onLine(line);
      },
      onOverflow: () => this.#break(`wrote a line longer than ${maxLineBytes} bytes on stdout`),
    });
    const stderr = new LineSplitter({
      maxLineBytes: STDERR_MAX_LINE_BYTES,
      onLine: (line) => this.#stderrLine(line),
      onOverflow: () =>
        this.#stderrLine(`(a stderr line longer than ${STDERR_MAX_LINE_BYTES} bytes was dropped)`),
    });
    this.#child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    this.#child.stdout.on('end', () => stdout.end());
    this.#child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    this.#child.stderr.on('end', () => stderr.end());
  }

  #wireLifecycle(): void {
    const child = this.#child;
    // EPIPE and friends: the program closed its stdin or died; 'exit' reports the death.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      this.#break(`closed its stdin (${error.code ?? error.message})`);
    });
    child.stdout.on('error', () => this.#break('broke its stdout'));
    child.stderr.on('error', () => {});
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) this.#finish({ code: null, signal: null, spawnError: error });
    });
    child.on('exit', (code, signal) => {
      setTimeout(() => this.#finish({ code, signal }), PIPE_CLOSE_GRACE_MS).unref();
    });
    child.on('close', (code, signal) => this.#finish({ code, signal }));
  }

  #break(reason: string): void {
    if (this.#broken || this.#end !== undefined) return;
    this.#broken = true;
    this.#waiting.length = 0;
    this.#events.onBroken(reason);
  }

  #stderrLine(line: string): void {
    this.#stderrTail.push(line.length > 1_000 ? `${line.slice(0, 1_000)}…` : line);
    if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
    this.#events.onStderr(line);
  }

  #finish(end: ProcessEnd): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    this.#waiting.length = 0;
    this.#child.stdout.destroy();
    this.#child.stderr.destroy();
    this.#child.stdin.destroy();
    this.#events.onEnd(end);
    this.#resolveEnded(end);
  }
}

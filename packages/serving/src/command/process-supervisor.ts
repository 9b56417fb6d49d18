import { CairnError } from '@cairn/contract';
import { parseProgramLine } from './jsonl-protocol.js';
import type { ProgramLine } from './jsonl-protocol.js';
import { ModelProcess } from './model-process.js';
import type { ProcessEnd, ProgramSpec } from './model-process.js';
import type { RestartBackoff } from './restart-backoff.js';

export type SupervisorState = 'starting' | 'ready' | 'restarting' | 'closed';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevel, message: string) => void;

export interface ShutdownTimeouts {
  /** After stdin is closed, how long the program may take to exit before SIGTERM; SIGKILL after as long again. */
  exitMs: number;
}

export interface SupervisorOptions {
  program: ProgramSpec;
  startupTimeoutMs: number;
  backoff: RestartBackoff;
  shutdown: ShutdownTimeouts;
  log: LogFn;
}

export interface SupervisorEvents {
  /** A line of the ready process other than {"ready": true}. */
  onMessage(line: Exclude<ProgramLine, { kind: 'blank' | 'ready' }>): void;
  /** The process went away: everything sent to it has failed with this message. */
  onDown(message: string): void;
}

/** Why a process is being given up on. */
type Loss = { end: ProcessEnd } | { reason: string };

/**
 * Keeps one model program running: starts it, waits for its
 * {"ready": true}, and when it exits or is found broken, reports it down and
 * starts it again after an exponential backoff. The first start is special:
 * its failure is the caller's to see (`start()` rejects) and nothing restarts.
 */
export class ProcessSupervisor {
  readonly #options: SupervisorOptions;
  readonly #events: SupervisorEvents;
  #state: SupervisorState = 'starting';
  #restarts = 0;
  #current: ModelProcess | undefined;
  /** When the current process wrote {"ready": true}; undefined until then. */
  #readyAt: number | undefined;
  #startupTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #firstStart: { resolve: () => void; reject: (error: CairnError) => void } | undefined;
  /** The last process given up on, which may still be dying. */
  #previous: ModelProcess | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SupervisorOptions, events: SupervisorEvents) {
    this.#options = options;
    this.#events = events;
  }

  get state(): SupervisorState {
    return this.#state;
  }

  /** How many times the program has been started again after the first start. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts the program; resolves once it is ready, rejects (FAILED_PRECONDITION) when it cannot get there. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#firstStart = { resolve, reject };
      this.#spawn();
    });
  }

  /** Writes a line to the ready program. */
  write(line: string): void {
    if (this.#state === 'ready') this.#current?.write(line);
  }

  /** Gives up on the running program (it stopped answering): kills it and starts another. */
  restart(reason: string): void {
    if (this.#current !== undefined && this.#state === 'ready') this.#lose(this.#current, { reason });
  }

  /**
   * Stops for good: from now on nothing restarts. Waits for `drain` (the
   * requests in flight), then closes the program's stdin so it can exit on
   * its own, then sends SIGTERM, then SIGKILL.
   */
  close(drain?: () => Promise<void>): Promise<void> {
    this.#closing ??= this.#shutDown(drain);
    return this.#closing;
  }

  async #shutDown(drain: (() => Promise<void>) | undefined): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#restartTimer);
    await drain?.();
    clearTimeout(this.#startupTimer);
    const { exitMs } = this.#options.shutdown;
    const process = this.#current ?? this.#previous;
    if (process === undefined || process.hasEnded) return;
    if (process === this.#current) process.closeInput();
    if (await exitsWithin(process, exitMs)) return;
    this.#options.log('warn', `model process did not exit within ${exitMs} ms of its input closing; SIGTERM`);
    process.kill('SIGTERM');
    if (await exitsWithin(process, exitMs)) return;
    this.#options.log('warn', `model process did not exit within ${exitMs} ms of SIGTERM; SIGKILL`);
    process.kill('SIGKILL');
    await process.ended;
  }

  #spawn(): void {
    const { program, startupTimeoutMs, log } = this.#options;
    this.#readyAt = undefined;
    let process: ModelProcess;
    try {
      process = new ModelProcess(program, {
        onLine: (line) => {
          if (process === this.#current) this.#onLine(process, line);
        },
        onStderr: (line) => log('info', `stderr: ${line}`),
        onBroken: (reason) => {
          if (process === this.#current) this.#lose(process, { reason });
        },
        onEnd: (end) => this.#onEnd(process, end),
      });
    } catch (error) {
      // spawn() throws at once for some errors (E2BIG, EINVAL…) rather than emitting them.
      this.#cannotSpawn(error);
      return;
    }
    this.#current = process;
    this.#startupTimer = setTimeout(() => {
      this.#lose(process, {
        reason: `did not write {"ready": true} within ${startupTimeoutMs} ms (startupTimeoutMs)`,
      });
    }, startupTimeoutMs);
  }

  #onLine(process: ModelProcess, text: string): void {
    const line = parseProgramLine(text);
    if (line.kind === 'blank') return;
    if (this.#readyAt !== undefined) {
      // Answers still count while closing: close() waits for them.
      if (line.kind !== 'ready') this.#events.onMessage(line);
      return;
    }
    if (line.kind !== 'ready') {
      this.#options.log('warn', `ignored a line written before {"ready": true}: ${text.slice(0, 200)}`);
      return;
    }
    if (this.#state === 'closed') return;
    clearTimeout(this.#startupTimer);
    this.#state = 'ready';
    this.#readyAt = Date.now();
    this.#options.log('info', `model process ${process.pid ?? '?'} is ready`);
    this.#firstStart?.resolve();
    this.#firstStart = undefined;
  }

  #onEnd(process: ModelProcess, end: ProcessEnd): void {
    if (process === this.#current) this.#lose(process, { end });
  }

  #lose(process: ModelProcess, loss: Loss): void {
    if (process !== this.#current) return;
    clearTimeout(this.#startupTimer);
    const wasReady = this.#readyAt !== undefined;
    const readyForMs = this.#readyAt === undefined ? undefined : Date.now() - this.#readyAt;
    process.kill('SIGKILL');
    if (this.#firstStart !== undefined) {
      this.#current = undefined;
      this.#state = 'closed';
      this.#firstStart.reject(firstStartError(this.#options.program.command, { process, loss }));
      this.#firstStart = undefined;
      return;
    }
    if (this.#state === 'closed') {
      // Closing: the program died or broke while draining; no restart, and close() still awaits its end.
      this.#events.onDown(`model process ${describe(loss)}`);
      return;
    }
    this.#current = undefined;
    this.#previous = process;
    this.#state = 'restarting';
    const delay = this.#options.backoff.next(readyForMs);
    const stage = wasReady ? '' : ' before it was ready';
    this.#options.log(
      'warn',
      `model process ${describe(loss)}${stage}; restarting in ${delay} ms${stderrTail(process, '; stderr: ')}`,
    );
    this.#events.onDown(`model process ${describe(loss)}; restarting`);
    this.#restartAfter(delay, process.ended);
  }

  #cannotSpawn(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    const message = `program ${JSON.stringify(this.#options.program.command[0])} could not be run (${reason})`;
    if (this.#firstStart !== undefined) {
      this.#state = 'closed';
      this.#firstStart.reject(
        new CairnError('FAILED_PRECONDITION', `cannot start the model: ${message}`, { cause: error }),
      );
      this.#firstStart = undefined;
      return;
    }
    if (this.#state === 'closed') return;
    const delay = this.#options.backoff.next(undefined);
    this.#options.log('error', `model ${message}; trying again in ${delay} ms`);
    this.#restartAfter(delay, Promise.resolve());
  }

  /** Starts the program again after `delay` ms, once `previousEnded` (the old process is gone). */
  #restartAfter(delay: number, previousEnded: Promise<unknown>): void {
    this.#restartTimer = setTimeout(() => {
      void previousEnded.then(() => {
        if (this.#state !== 'restarting') return;
        this.#restarts += 1;
        this.#spawn();
      });
    }, delay);
  }
}

function describe(loss: Loss): string {
  if ('reason' in loss) return loss.reason;
  const { code, signal, spawnError } = loss.end;
  if (spawnError !== undefined) return `could not be started (${spawnError.code ?? spawnError.message})`;
  return signal === null ? `exited (code ${code})` : `was killed (signal ${signal})`;
}

function firstStartError(
  command: readonly string[],
  failed: { process: ModelProcess; loss: Loss },
): CairnError {
  const { process, loss } = failed;
  const program = JSON.stringify(command[0]);
  const spawnError = 'end' in loss ? loss.end.spawnError : undefined;
  if (spawnError?.code === 'ENOENT') {
    return new CairnError(
      'FAILED_PRECONDITION',
      `cannot start the model: program ${program} was not found (command ${JSON.stringify(command)}); ` +
        `install it, or give its path relative to the model's files`,
      { cause: spawnError },
    );
  }
  if (spawnError !== undefined) {
    return new CairnError(
      'FAILED_PRECONDITION',
      `cannot start the model: program ${program} could not be run (${spawnError.code ?? spawnError.message})`,
      { cause: spawnError },
    );
  }
  const what = 'end' in loss ? `${describe(loss)} before it was ready` : describe(loss);
  const tail = stderrTail(process, '; the last lines of its stderr:\n') || '; it wrote nothing on stderr';
  return new CairnError('FAILED_PRECONDITION', `cannot start the model: program ${program} ${what}${tail}`);
}

function stderrTail(process: ModelProcess, lead: string): string {
  return process.stderrTail.length === 0 ? '' : `${lead}${process.stderrTail.join('\n')}`;
}

async function exitsWithin(process: ModelProcess, ms: number): Promise<boolean> {
  if (process.hasEnded) return true;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const exited = await Promise.race([process.ended.then(() => true), timedOut]);
  clearTimeout(timer);
  return exited;
}

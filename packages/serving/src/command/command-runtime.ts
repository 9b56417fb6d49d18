/**
 * The `command` runtime: a model in any language, run as a long-lived child
 * process that speaks JSON Lines (one UTF-8 JSON object per line).
 *
 * - The program runs in the model version's folder with PATH, HOME, LANG,
 *   PYTHONUNBUFFERED=1 and the manifest's `env` as its whole environment.
 * - Once its model is loaded it writes `{"ready": true}` on stdout. Until
 *   then requests are refused at once (503).
 * - Each request is one line on its stdin:
 *   `{"id": "17", "inputs": [{"name", "datatype", "shape", "data"}], "outputs"?: ["y"]}`
 *   with `data` flat and row-major; `outputs` names the outputs wanted.
 * - Each answer is one line on stdout: `{"id": "17", "outputs": [tensors]}`
 *   or `{"id": "17", "error": "message", "code"?: "invalid_argument"}`
 *   (invalid_argument → 400, any other error → 500). Answers may come in
 *   any order; the program may work on several requests at once.
 * - stderr is logged. Other stdout lines are logged and ignored; a line over
 *   the size limit means the program is broken and it is restarted.
 * - When its stdin ends the program should exit; SIGTERM and then SIGKILL
 *   follow if it does not.
 *
 * When the program exits, breaks or stops answering within the request
 * timeout, every request in flight fails with UNAVAILABLE (retryable) and it
 * is restarted with exponential backoff.
 */
import { CairnError, isCairnError } from '@cairn/contract';
import type { InferOptions, ModelRuntime } from '../runtime.js';
import { tensorFromJson } from '../tensors/tensor-json.js';
import type { ModelMetadata, Tensor } from '../tensors/tensor.js';
import { encodeRequest } from './jsonl-protocol.js';
import type { ProgramLine } from './jsonl-protocol.js';
import { ProcessSupervisor } from './process-supervisor.js';
import type { LogFn, SupervisorOptions, SupervisorState } from './process-supervisor.js';

export interface CommandRuntimeOptions {
  metadata: ModelMetadata;
  supervisor: SupervisorOptions;
  requestTimeoutMs: number;
  /** Requests in flight at most; more are refused with UNAVAILABLE. */
  maxQueue: number;
  /** How long close() waits for requests in flight. */
  drainTimeoutMs: number;
}

interface PendingRequest {
  resolve: (outputs: Tensor[]) => void;
  reject: (error: CairnError) => void;
  timer: NodeJS.Timeout;
  outputs: readonly string[] | undefined;
}

type Answer = Exclude<ProgramLine, { kind: 'blank' | 'ready' }>;

export class CommandRuntime implements ModelRuntime {
  readonly metadata: ModelMetadata;
  readonly #options: CommandRuntimeOptions;
  readonly #supervisor: ProcessSupervisor;
  readonly #log: LogFn;
  readonly #pending = new Map<string, PendingRequest>();
  #nextId = 1;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  /** Starts the program; resolves once it is ready. */
  static async start(options: CommandRuntimeOptions): Promise<CommandRuntime> {
    const runtime = new CommandRuntime(options);
    await runtime.#supervisor.start();
    return runtime;
  }

  private constructor(options: CommandRuntimeOptions) {
    this.metadata = options.metadata;
    this.#options = options;
    this.#log = options.supervisor.log;
    this.#supervisor = new ProcessSupervisor(options.supervisor, {
      onMessage: (line) => this.#answer(line),
      onDown: (message) => this.#failAll(message),
    });
  }

  /** For readiness and metrics: only `ready` takes requests. */
  get state(): SupervisorState {
    return this.#closing === undefined ? this.#supervisor.state : 'closed';
  }

  /** How many times the program has been restarted. */
  get restarts(): number {
    return this.#supervisor.restarts;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  infer(inputs: readonly Tensor[], options: InferOptions = {}): Promise<Tensor[]> {
    const refusal = this.#refusal();
    if (refusal !== undefined) return Promise.reject(unavailable(refusal));
    const id = String(this.#nextId++);
    let line: string;
    try {
      line = encodeRequest({ id, inputs, outputs: options.outputs });
    } catch (error) {
      return Promise.reject(isCairnError(error) ? error : new CairnError('INTERNAL', String(error)));
    }
    return new Promise<Tensor[]>((resolve, reject) => {
      const timer = setTimeout(() => this.#timeOut(id), this.#options.requestTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer, outputs: options.outputs });
      this.#supervisor.write(line);
    });
  }

  /** Stops taking requests, waits (bounded) for those in flight, then stops the program. */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    await this.#supervisor.close(() => this.#drain());
    this.#failAll('model closed');
  }

  #refusal(): string | undefined {
    if (this.#closing !== undefined) return 'model is closed';
    switch (this.#supervisor.state) {
      case 'starting':
      case 'restarting':
        return 'model process is restarting; retry shortly';
      case 'closed':
        return 'model is closed';
      case 'ready':
        break;
    }
    if (this.#pending.size >= this.#options.maxQueue) {
      return `model is overloaded (${this.#options.maxQueue} requests in flight); retry shortly`;
    }
    return undefined;
  }

  async #drain(): Promise<void> {
    if (this.#pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#drained = resolve;
      timer = setTimeout(resolve, this.#options.drainTimeoutMs);
    });
    clearTimeout(timer);
    this.#drained = undefined;
    if (this.#pending.size > 0) {
      this.#log(
        'warn',
        `closing with ${this.#pending.size} requests unanswered after ${this.#options.drainTimeoutMs} ms`,
      );
    }
  }

  #answer(line: Answer): void {
    const { id } = line;
    const request = id === undefined ? undefined : this.#pending.get(id);
    if (id === undefined || request === undefined) {
      const what =
        line.kind === 'invalid' ? line.reason : `an answer to unknown request ${JSON.stringify(id)}`;
      this.#log('warn', `ignored a line from the model program: ${what}`);
      return;
    }
    this.#settle(id, outcome(line, request));
  }

  #timeOut(id: string): void {
    const { requestTimeoutMs } = this.#options;
    const message = `model did not answer within ${requestTimeoutMs} ms; restarting the model process`;
    if (!this.#settle(id, unavailable(message))) return;
    this.#supervisor.restart(`stopped answering (a request took longer than ${requestTimeoutMs} ms)`);
  }

  #failAll(message: string): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, unavailable(message));
  }

  /** Ends a request with its outputs or an error; false when it had already ended. */
  #settle(id: string, result: Tensor[] | CairnError): boolean {
    const request = this.#pending.get(id);
    if (request === undefined) return false;
    this.#pending.delete(id);
    clearTimeout(request.timer);
    if (Array.isArray(result)) request.resolve(result);
    else request.reject(result);
    if (this.#pending.size === 0) this.#drained?.();
    return true;
  }
}

function outcome(line: Answer, request: PendingRequest): Tensor[] | CairnError {
  switch (line.kind) {
    case 'failure':
      return line.invalidArgument
        ? new CairnError('INVALID_ARGUMENT', line.message)
        : new CairnError('INTERNAL', `model program failed: ${line.message}`);
    case 'invalid':
      return new CairnError('INTERNAL', `model program answered with an invalid line: ${line.reason}`);
    case 'result':
      return outputs(line.outputs, request.outputs);
  }
}

function outputs(values: unknown[], wanted: readonly string[] | undefined): Tensor[] | CairnError {
  try {
    const tensors = values.map((value, index) => tensorFromJson(value, { where: `outputs[${index}]` }));
    return wanted === undefined ? tensors : tensors.filter((tensor) => wanted.includes(tensor.name));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return new CairnError('INTERNAL', `model program answered with an invalid output: ${reason}`, {
      cause: error,
    });
  }
}

function unavailable(message: string): CairnError {
  return new CairnError('UNAVAILABLE', message);
}

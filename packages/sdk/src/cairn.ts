import { CairnError, isCairnError, RUN_TAGS } from '@cairn/contract';
import { ActiveRun, type ParamValue } from './active-run.js';
import { ExperimentsResource } from './experiments.js';
import { RunsResource } from './runs.js';
import { HttpTransport, readJson, type Transport } from './transport.js';

export interface CairnOptions {
  /** Server URL; `CAIRN_URL`, else http://127.0.0.1:5000. */
  url?: string;
  /** Bearer token; `CAIRN_TOKEN` when not given. */
  token?: string;
  /** A fetch to use instead of the global one (tests, proxies, tracing). */
  fetch?: typeof fetch;
  /** Per-attempt request timeout; 30 s by default. */
  timeoutMs?: number;
  /** Retries on network errors, 429 and 5xx; 3 by default. */
  retries?: number;
  /** Replaces the HTTP transport entirely (url/token/fetch/retries are then unused). */
  transport?: Transport;
}

export interface StartRunOptions {
  /** Experiment name; created when missing. */
  experiment?: string;
  experimentId?: string;
  runName?: string;
  tags?: Record<string, string>;
  parentRunId?: string;
  params?: Record<string, ParamValue>;
}

export const DEFAULT_URL = 'http://127.0.0.1:5000';

function env(name: string): string | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Tags MLflow's client sets on a new run, so both clients' runs look alike. */
function defaultRunTags(): Record<string, string> {
  if (typeof process === 'undefined') return {};
  const tags: Record<string, string> = {};
  const user = env('USER') ?? env('LOGNAME') ?? env('USERNAME');
  if (user !== undefined) tags[RUN_TAGS.user] = user;
  const script = process.argv[1];
  if (script !== undefined && script !== '') tags[RUN_TAGS.sourceName] = script;
  return tags;
}

/**
 * The Cairn client.
 *
 * ```ts
 * const cairn = new Cairn();
 * const run = await cairn.startRun({ experiment: 'churn', params: { lr: 0.01 } });
 * run.logMetric('loss', 0.42, { step: 1 });
 * await run.end();
 * ```
 */
export class Cairn {
  readonly url: string;
  readonly experiments: ExperimentsResource;
  readonly runs: RunsResource;
  private readonly transport: Transport;

  constructor(options: CairnOptions = {}) {
    const url = (options.transport?.url ?? options.url ?? env('CAIRN_URL') ?? DEFAULT_URL).replace(
      /\/+$/,
      '',
    );
    try {
      new URL(url);
    } catch {
      throw new CairnError('INVALID_ARGUMENT', `"${url}" is not a URL (expected e.g. ${DEFAULT_URL})`, {
        field: 'url',
      });
    }
    this.url = url;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const token = options.token ?? env('CAIRN_TOKEN');
    this.transport =
      options.transport ??
      new HttpTransport({
        url,
        timeoutMs,
        ...(token === undefined ? {} : { token }),
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        ...(options.retries === undefined ? {} : { retries: options.retries }),
      });
    this.experiments = new ExperimentsResource(this.transport);
    this.runs = new RunsResource(this.transport, timeoutMs);
  }

  /**
   * Starts a run and returns the handle to log to. The experiment is found
   * (or created) by name, or given by id; without either the run goes to the
   * default experiment. `params` are logged before this resolves, so a bad one
   * fails here.
   */
  async startRun(options: StartRunOptions = {}): Promise<ActiveRun> {
    if (options.experiment !== undefined && options.experimentId !== undefined) {
      throw new CairnError('INVALID_ARGUMENT', 'Give either experiment (a name) or experimentId, not both.', {
        field: 'experiment',
      });
    }
    const experimentId =
      options.experimentId ??
      (options.experiment === undefined ? undefined : await this.experimentIdFor(options.experiment));
    const run = await this.runs.create({
      ...(experimentId === undefined ? {} : { experimentId }),
      ...(options.runName === undefined ? {} : { runName: options.runName }),
      ...(options.parentRunId === undefined ? {} : { parentRunId: options.parentRunId }),
      tags: { ...defaultRunTags(), ...options.tags },
    });
    const active = new ActiveRun(this.runs, run);
    if (options.params !== undefined) {
      active.logParams(options.params);
      await active.flush();
    }
    return active;
  }

  /** GET /healthz: `{ status: 'ok' }` when the server is up. */
  async health(): Promise<{ status: string }> {
    return readJson(await this.transport.send({ method: 'GET', path: '/healthz' }));
  }

  private async experimentIdFor(name: string): Promise<string> {
    const found = await this.experiments.getByName(name);
    if (found !== undefined) return found.experimentId;
    try {
      return (await this.experiments.create({ name })).experimentId;
    } catch (error) {
      // Another process created it first.
      if (!isCairnError(error) || error.code !== 'ALREADY_EXISTS') throw error;
      const raced = await this.experiments.getByName(name);
      if (raced === undefined) throw error;
      return raced.experimentId;
    }
  }
}

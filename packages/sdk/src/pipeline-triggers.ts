import type {
  ParamValue,
  PipelineExecutorName,
  PipelineRunDetailJson,
  PipelineTriggerJson,
} from '@cairn/contract';
import type { PackCodeOptions, SkippedEntry } from './code-package.js';
import { checkPipeline } from './pipeline-builder.js';
import { pathOf, readJson, type Transport } from './transport.js';

export interface CreatePipelineTriggerInput {
  /** The trigger's name, unique in its project: 1–128 letters, digits, `.`, `_` or `-`. */
  name: string;
  project?: string;
  /** A definition from `pipeline()`, or a raw one (a parsed YAML or JSON file). */
  definition: unknown;
  /** Overrides of the pipeline's parameter defaults, for every run the trigger starts. */
  params?: Record<string, ParamValue>;
  executor?: PipelineExecutorName;
  /** From `cairn.pipelines.uploadCode()`: the folder the steps run in. */
  codeDigest?: string;
  /** Fire on a five-field cron (`0 3 * * *`), in UTC or an IANA time zone. Give this or `dataset`. */
  schedule?: { cron: string; timezone?: string };
  /** Fire on each new version of the dataset, or each time `alias` moves. Give this or `schedule`. */
  dataset?: { name: string; alias?: string };
}

/** What `schedule` and `onDataset` share: the pipeline's settings and the code folder to upload. */
export interface TriggerPipelineOptions {
  /** The trigger's name; the pipeline's name when not given. */
  name?: string;
  project?: string;
  params?: Record<string, ParamValue>;
  executor?: PipelineExecutorName;
  /** The folder the steps run in, uploaded first (see `cairn.pipelines.uploadCode`). */
  codeDir?: string;
  /** Globs to leave out of the code package besides `.cairnignore`. */
  exclude?: readonly string[];
  /** Files to leave out (the pipeline's own file, say). */
  skip?: readonly string[];
  /** Told what was uploaded before the trigger is saved. */
  onCodeUploaded?: (code: TriggerCodeUpload) => void;
}

export interface SchedulePipelineOptions extends TriggerPipelineOptions {
  /** Five fields: minute hour day-of-month month day-of-week, e.g. `0 3 * * *` for 03:00 daily. */
  cron: string;
  /** An IANA zone such as `Europe/Paris`; UTC when not given. */
  timezone?: string;
}

export interface OnDatasetOptions extends TriggerPipelineOptions {
  /** The dataset watched. */
  dataset: string;
  /** Fire when this alias moves rather than on every new version. */
  alias?: string;
}

export interface TriggerProjectOptions {
  /** The trigger's project (`default` when not given). */
  project?: string;
}

/** What `cairn.pipelines.uploadCode` answers (its `UploadedCode`, restated here to keep the modules acyclic). */
export interface TriggerCodeUpload {
  /** Null when the folder held no files (nothing was sent). */
  digest: string | null;
  files: number;
  sizeBytes: number;
  skipped: SkippedEntry[];
}

/** What the triggers resource needs of `cairn.pipelines`. */
export interface CodeUploader {
  uploadCode(dir: string, options?: PackCodeOptions & { project?: string }): Promise<TriggerCodeUpload>;
}

const API = '/api/v1';
const triggerPath = (name: string, ...rest: string[]): string =>
  `${API}/pipeline-triggers${pathOf(name, ...rest)}`;
const projectQuery = (options: TriggerProjectOptions) => ({ project: options.project });

/**
 * `cairn.pipelines.triggers` — saved ways to start a pipeline: on a cron
 * schedule, or when a dataset gets a new version (or one of its aliases
 * moves). The server looks at them every couple of seconds and starts each
 * due run once, whatever the number of servers.
 *
 * ```ts
 * await cairn.pipelines.triggers.schedule(definition, { cron: '0 3 * * *', timezone: 'Europe/Paris', codeDir: '.' });
 * await cairn.pipelines.triggers.onDataset(definition, { dataset: 'churn', alias: 'golden', codeDir: '.' });
 * const run = await cairn.pipelines.triggers.fire('nightly');
 * ```
 */
export class PipelineTriggersResource {
  constructor(
    private readonly transport: Transport,
    private readonly code: CodeUploader,
  ) {}

  /** Saves a trigger as given (upload the code first, or use `schedule` / `onDataset`). */
  async create(input: CreatePipelineTriggerInput): Promise<PipelineTriggerJson> {
    const answer = await readJson<{ trigger: PipelineTriggerJson }>(
      await this.transport.send({ method: 'POST', path: `${API}/pipeline-triggers`, json: input }),
    );
    return answer.trigger;
  }

  /**
   * Checks the definition here (a mistake throws PipelineDefinitionError
   * before anything is sent), uploads `codeDir` when given and not empty,
   * then saves a trigger that starts the pipeline on `cron`.
   */
  async schedule(definition: unknown, options: SchedulePipelineOptions): Promise<PipelineTriggerJson> {
    const { cron, timezone, ...rest } = options;
    return this.createFor(definition, rest, {
      schedule: { cron, ...(timezone === undefined ? {} : { timezone }) },
    });
  }

  /** Like `schedule`, for a trigger that starts the pipeline on each new version of `dataset` (or move of `alias`). */
  async onDataset(definition: unknown, options: OnDatasetOptions): Promise<PipelineTriggerJson> {
    const { dataset, alias, ...rest } = options;
    return this.createFor(definition, rest, {
      dataset: { name: dataset, ...(alias === undefined ? {} : { alias }) },
    });
  }

  /** Every trigger the caller may read, of one project when given. */
  async list(options: TriggerProjectOptions = {}): Promise<PipelineTriggerJson[]> {
    const answer = await readJson<{ triggers: PipelineTriggerJson[] }>(
      await this.transport.send({
        method: 'GET',
        path: `${API}/pipeline-triggers`,
        query: projectQuery(options),
      }),
    );
    return answer.triggers;
  }

  async get(name: string, options: TriggerProjectOptions = {}): Promise<PipelineTriggerJson> {
    return this.answer({ method: 'GET', path: triggerPath(name), query: projectQuery(options) });
  }

  /** Stops the trigger firing until `resume`; runs it started go on. */
  async pause(name: string, options: TriggerProjectOptions = {}): Promise<PipelineTriggerJson> {
    return this.setEnabled(name, { ...options, enabled: false });
  }

  /** Fires again: a schedule from its next time after now (paused times are not made up). */
  async resume(name: string, options: TriggerProjectOptions = {}): Promise<PipelineTriggerJson> {
    return this.setEnabled(name, { ...options, enabled: true });
  }

  async delete(name: string, options: TriggerProjectOptions = {}): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: triggerPath(name), query: projectQuery(options) });
  }

  /** Starts the trigger's pipeline now; follow the run with `cairn.pipelines.wait(run.id)`. */
  async fire(name: string, options: TriggerProjectOptions = {}): Promise<PipelineRunDetailJson> {
    const answer = await readJson<{ run: PipelineRunDetailJson }>(
      await this.transport.send({
        method: 'POST',
        path: triggerPath(name, 'fire'),
        query: projectQuery(options),
      }),
    );
    return answer.run;
  }

  private async setEnabled(
    name: string,
    options: TriggerProjectOptions & { enabled: boolean },
  ): Promise<PipelineTriggerJson> {
    return this.answer({
      method: 'PATCH',
      path: triggerPath(name),
      query: projectQuery(options),
      json: { enabled: options.enabled },
    });
  }

  private async answer(request: Parameters<Transport['send']>[0]): Promise<PipelineTriggerJson> {
    return (await readJson<{ trigger: PipelineTriggerJson }>(await this.transport.send(request))).trigger;
  }

  private async createFor(
    definition: unknown,
    options: TriggerPipelineOptions,
    when: Pick<CreatePipelineTriggerInput, 'schedule' | 'dataset'>,
  ): Promise<PipelineTriggerJson> {
    const spec = checkPipeline(definition);
    const { name, codeDir, exclude, skip, onCodeUploaded, ...settings } = options;
    let codeDigest: string | undefined;
    if (codeDir !== undefined) {
      const code = await this.code.uploadCode(codeDir, {
        ...(exclude === undefined ? {} : { exclude }),
        ...(skip === undefined ? {} : { skip }),
        ...(settings.project === undefined ? {} : { project: settings.project }),
      });
      onCodeUploaded?.(code);
      codeDigest = code.digest ?? undefined;
    }
    return this.create({
      name: name ?? spec.name,
      ...settings,
      definition,
      ...(codeDigest === undefined ? {} : { codeDigest }),
      ...when,
    });
  }
}

import {
  CairnError,
  isCairnError,
  RUN_TAGS,
  type DatasetVersionJson,
  type LabelHistory,
  type LabelKind,
  type LineageGraph,
  type ModelCard,
  type ModelCardPatch,
  type ModelVersion,
  type ModelVersionList,
  type PinnedFile,
  type RegisteredModel,
  type RegisteredModelList,
  type WhoAmI,
} from '@cairn/contract';
import { ActiveRun, type ParamValue } from './active-run.js';
import { AuditResource } from './audit.js';
import { codeCaptureEnabled, recordCodeVersion, startCodeCapture } from './code-version.js';
import type { AddDatasetOptions } from './dataset-add.js';
import type { CheckoutOptions, CheckoutResult } from './dataset-checkout.js';
import { addDataset, checkoutDataset, DatasetHandle } from './dataset-handles.js';
import { DatasetsResource, type DatasetReference } from './datasets.js';
import { DeploymentsResource } from './deployments.js';
import { ExperimentsResource } from './experiments.js';
import type { ProgressListener } from './local-model-files.js';
import { registerModel, versionOf, type RegisterModelOptions } from './model-registration.js';
import { ModelsResource, type ListModelsOptions, type ListVersionsOptions } from './models.js';
import { PipelinesResource } from './pipelines.js';
import { RunsResource } from './runs.js';
import { HttpTransport, readJson, type Transport } from './transport.js';
import { ProjectsResource } from './projects.js';
import { PoliciesResource, PromotionsResource } from './promotions.js';
import { TokensResource } from './tokens.js';
import { UsersResource } from './users.js';

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
  /**
   * Record the git commit, branch, remote and uncommitted changes of the
   * working directory on the run (`cairn runs code` rebuilds them). On by
   * default (unless `tags` name a `mlflow.source.git.commit`); `CAIRN_CAPTURE_CODE=0` turns it off too.
   */
  captureCode?: boolean;
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
  readonly models: ModelsResource;
  readonly users: UsersResource;
  readonly tokens: TokensResource;
  readonly projects: ProjectsResource;
  readonly policies: PoliciesResource;
  readonly promotions: PromotionsResource;
  readonly audit: AuditResource;
  readonly datasets: DatasetsResource;
  readonly deployments: DeploymentsResource;
  readonly pipelines: PipelinesResource;
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
    this.models = new ModelsResource(this.transport, timeoutMs);
    this.users = new UsersResource(this.transport);
    this.tokens = new TokensResource(this.transport);
    this.projects = new ProjectsResource(this.transport);
    this.policies = new PoliciesResource(this.transport);
    this.promotions = new PromotionsResource(this.transport);
    this.audit = new AuditResource(this.transport);
    this.datasets = new DatasetsResource(this.transport, timeoutMs);
    this.deployments = new DeploymentsResource(this.transport);
    this.pipelines = new PipelinesResource(this.transport, timeoutMs);
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
    // A commit the caller names is theirs to state; the working directory may not be the code that ran.
    const named = options.tags?.[RUN_TAGS.gitCommit] !== undefined;
    const capture = !named && codeCaptureEnabled(options.captureCode) ? startCodeCapture() : undefined;
    const experimentId =
      options.experimentId ??
      (options.experiment === undefined ? undefined : await this.experimentIdFor(options.experiment));
    const run = await this.runs.create({
      ...(experimentId === undefined ? {} : { experimentId }),
      ...(options.runName === undefined ? {} : { runName: options.runName }),
      ...(options.parentRunId === undefined ? {} : { parentRunId: options.parentRunId }),
      tags: { ...defaultRunTags(), ...options.tags },
    });
    if (capture !== undefined) await recordCodeVersion(this.runs, run.info.runId, capture);
    const active = new ActiveRun(this.runs, run);
    if (options.params !== undefined) {
      active.logParams(options.params);
      await active.flush();
    }
    return active;
  }

  // ── datasets ──

  /** One dataset to navigate from: `cairn.dataset('churn').version(3).checkout('data')`. */
  dataset(name: string): DatasetHandle {
    return new DatasetHandle(this.datasets, name);
  }

  /**
   * Adds files, folders (recursively) and globs as the next version of
   * `name`, created when missing. Files equal (size and sha256) to the parent
   * version's file at the same path are not sent again.
   */
  async addDataset(
    name: string,
    paths: readonly string[],
    options: AddDatasetOptions,
  ): Promise<DatasetVersionJson> {
    return addDataset(this.datasets, { ...options, name, paths });
  }

  /**
   * Writes a version (`churn`, `churn@3`, `churn@champion`) into `dir`,
   * fetching only the files missing or changed there; each is verified
   * against its sha256 and renamed into place whole.
   */
  async checkoutDataset(
    at: string | DatasetReference,
    dir: string,
    options: CheckoutOptions = {},
  ): Promise<CheckoutResult> {
    return checkoutDataset(this.datasets, { ...options, at, dir });
  }

  // ── model registry ──

  /**
   * Registers a new version of `name` (created when missing) from a local file
   * or folder (`path`, uploaded streaming), from a run's artifacts (`runId` +
   * `artifactPath`), or from any `source` URI. Resolves with the new version,
   * its digest and, for ONNX and MLmodel files, its signature.
   */
  async registerModel(options: RegisterModelOptions): Promise<ModelVersion> {
    return registerModel(this.models, options);
  }

  /** `name@alias`, `name/3` (or `name@3`), `name/Production`, or `name` for the newest version. */
  async resolveModel(reference: string): Promise<ModelVersion> {
    return this.models.resolve(reference);
  }

  async getModel(name: string): Promise<RegisteredModel> {
    return this.models.get(name);
  }

  async listModels(options: ListModelsOptions = {}): Promise<RegisteredModelList> {
    return this.models.list(options);
  }

  /** Newest first. */
  async listVersions(name: string, options: ListVersionsOptions = {}): Promise<ModelVersionList> {
    return this.models.listVersions(name, options);
  }

  async setAlias(name: string, alias: string, version: number): Promise<ModelVersion> {
    return this.models.setAlias(name, alias, version);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    return this.models.deleteAlias(name, alias);
  }

  /**
   * Which version each alias (and stage) pointed at, from when to when.
   * `{ alias: 'champion', at: '2026-03-03' }` answers "which version was champion on 3 March".
   */
  async aliasHistory(
    name: string,
    options: { alias?: string; kind?: LabelKind; at?: Date | number | string; maxResults?: number } = {},
  ): Promise<LabelHistory> {
    const { alias, kind, ...rest } = options;
    return this.models.history(name, {
      ...rest,
      ...(alias === undefined
        ? kind === undefined
          ? {}
          : { kind }
        : { kind: kind ?? 'alias', label: alias }),
    });
  }

  /** The model card of a version (`name/3`, `name@champion`…), with its generated sections. */
  async getCard(reference: string): Promise<ModelCard> {
    const { name, version } = await versionOf(this.models, reference);
    return this.models.getCard(name, version);
  }

  /** Changes card sections from an object, or replaces them from an edited Markdown export (a string). */
  async updateCard(reference: string, change: ModelCardPatch | string): Promise<ModelCard> {
    const { name, version } = await versionOf(this.models, reference);
    return typeof change === 'string'
      ? this.models.replaceCardMarkdown(name, version, change)
      : this.models.updateCard(name, version, change);
  }

  /** The provenance of a version: its run, the run's datasets, parent runs and code versions. */
  async modelLineage(reference: string): Promise<LineageGraph> {
    const { name, version } = await versionOf(this.models, reference);
    return this.models.lineage(name, version);
  }

  /**
   * Downloads every file of a version into `dir`, checking each against the
   * sha256 pinned at registration (and the list against the version digest);
   * a file that does not match is removed and the call fails with DATA_LOSS.
   */
  async downloadModel(
    reference: string,
    dir: string,
    options: { onProgress?: ProgressListener } = {},
  ): Promise<{ version: ModelVersion; files: PinnedFile[] }> {
    const version = await this.models.resolve(reference);
    const { downloadVersionFiles } = await import('./local-model-files.js');
    const files = await downloadVersionFiles(this.models, version, { dir, ...options });
    return { version, files };
  }

  /** Who this client is signed in as (CAIRN_TOKEN or the `token` option), and its roles per project. */
  async whoami(): Promise<WhoAmI> {
    return readJson(await this.transport.send({ method: 'GET', path: '/api/v1/whoami' }));
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

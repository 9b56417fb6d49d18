import { createHash, randomBytes } from 'node:crypto';
import {
  CairnError,
  formatProblems,
  isCairnError,
  PIPELINE_EXECUTORS,
  validatePipelineDefinition,
  type ParamValue,
  type PipelineExecutorName,
  type PipelineSpec,
} from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import { checkLimit, decodeCursor, encodeCursor } from '../../kernel/page-cursor.js';
import type { Transactor } from '../../kernel/transactor.js';
import { canonicalJson, currentCaller, type AccessControl, type Permission } from '../governance/index.js';
import { recordEdges } from '../lineage/index.js';
import type { CodeTrees } from './code-trees.js';
import {
  ENDED_RUN_STATUSES,
  type PipelineRunRecord,
  type PipelineTrigger,
  type StepRunRecord,
} from './entities.js';
import type { PipelineScheduler } from './pipeline-scheduler.js';
import type { PipelineStore, PipelineStores } from './pipelines.store.js';
import type { StepTracking } from './step-tracking.js';

/** How pipelines find dataset versions named as inputs (`churn@latest`), read-checked for the caller. */
export interface PipelineDatasets {
  /** NOT_FOUND when the dataset or the version/alias does not exist. */
  resolve(name: string, ref: string): Promise<{ versionId: string; version: number }>;
}

export interface PipelineRunsServiceDeps {
  store: PipelineStore;
  transactor: Transactor<PipelineStores>;
  access: AccessControl;
  clock: Clock;
  scheduler: PipelineScheduler;
  tracking: StepTracking;
  codeTrees: CodeTrees;
  datasets: PipelineDatasets;
}

export interface StartInput {
  definition: unknown;
  params?: unknown;
  executor?: unknown;
  noCache?: unknown;
  project?: unknown;
  codeDigest?: unknown;
}

/** What `check` found: a start's validated parts. */
export interface CheckedStart {
  spec: PipelineSpec;
  projectId: string;
  executor: PipelineExecutorName;
  params: Record<string, ParamValue>;
  codeDigest: string | null;
  definitionDigest: string;
}

/** A dataset version a trigger fired for: inputs naming that dataset by `ref` read this version. */
export interface DatasetPin {
  dataset: string;
  ref: string;
  versionId: string;
}

export interface RunView {
  run: PipelineRunRecord;
  steps: StepRunRecord[];
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

const PROJECT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const RUN_ID = /^pr_[0-9a-z]{8,64}$/;
const invalid = (message: string, field: string): CairnError =>
  new CairnError('INVALID_ARGUMENT', message, { field });

/**
 * Pipeline runs as use cases: start one (validated and pinned before
 * anything is written: definition, parameters, dataset versions, code
 * package), read, list, cancel and resume. The scheduler does the running;
 * this only writes what it should do and wakes it.
 */
export class PipelineRunsService {
  constructor(private readonly deps: PipelineRunsServiceDeps) {}

  /**
   * Everything `start` checks, with nothing written: the definition, project and permission,
   * executor, parameters and code package. Triggers check with it when they are saved.
   */
  async check(input: StartInput, action = 'pipelines.run'): Promise<CheckedStart> {
    const checked = validatePipelineDefinition(input.definition);
    if (!checked.ok) {
      throw invalid(
        `The pipeline definition has problems:\n${formatProblems(checked.problems)}`,
        'definition',
      );
    }
    const projectId = checkProject(input.project);
    this.authorize('write', { projectId, action });
    return {
      spec: checked.spec,
      projectId,
      executor: this.checkExecutor(input.executor),
      params: checkParams(checked.spec, input.params),
      codeDigest: await this.checkCode(input.codeDigest),
      definitionDigest: digestOf(checked.spec),
    };
  }

  async start(
    input: StartInput,
    how: { trigger?: PipelineTrigger; triggerKey?: string | null; pin?: DatasetPin } = {},
  ): Promise<RunView> {
    const trigger = how.trigger ?? { kind: 'manual' };
    const triggerKey = how.triggerKey ?? null;
    const { projectId, executor, params, codeDigest, definitionDigest, ...checked } = await this.check(input);
    const spec = await this.pinDatasets(checked.spec, how.pin);
    const experimentId = await this.deps.tracking.experimentFor(projectId, spec.name);
    const now = this.deps.clock.now();
    const run: PipelineRunRecord = {
      pipelineRunId: `pr_${randomBytes(10).toString('hex')}`,
      projectId,
      pipelineName: spec.name,
      spec,
      definitionDigest,
      codeDigest,
      params,
      executor,
      useCache: input.noCache !== true && input.noCache !== 'true',
      status: 'running',
      trigger,
      triggerKey,
      error: null,
      experimentId,
      owner: null,
      leaseUntil: null,
      createdAt: now,
      startedAt: now,
      endedAt: null,
      createdBy: currentCaller()?.actor ?? 'local',
    };
    const steps = spec.steps.map((step, i) => newStepRow(run, step.name, i));
    await this.deps.transactor.run(async (stores) => {
      await stores.pipelines.insertRun(run, steps);
      const versions = new Set(
        spec.steps.flatMap((step) =>
          Object.values(step.inputs).flatMap((ref) => (ref.kind === 'dataset' ? [ref.ref] : [])),
        ),
      );
      await recordEdges(
        stores,
        [...versions].map((id) => ({
          from: { kind: 'dataset_version', id },
          to: { kind: 'pipeline_run', id: run.pipelineRunId },
          relation: 'input',
          createdAt: now,
        })),
      );
      stores.audit.record({
        action: 'pipelines.run',
        target: { kind: 'pipeline_run', id: run.pipelineRunId },
        projectId,
        details: {
          pipeline: spec.name,
          executor,
          params,
          useCache: run.useCache,
          trigger: trigger.kind,
          codeDigest,
        },
      });
    });
    this.deps.scheduler.wake();
    return { run, steps };
  }

  /** The run with its step runs in pipeline order (a step after those it needs; items by index). */
  async get(rawId: unknown): Promise<RunView> {
    const run = await this.load(rawId, 'read', 'pipelines.get');
    const position = new Map(run.spec.steps.map((step, i) => [step.name, i]));
    const steps = (await this.deps.store.listSteps(run.pipelineRunId)).sort(
      (a, b) =>
        (position.get(a.stepName) ?? 0) - (position.get(b.stepName) ?? 0) || a.itemIndex - b.itemIndex,
    );
    return { run, steps };
  }

  /** The run alone (no steps): cheap enough to poll. */
  async getRun(rawId: unknown): Promise<PipelineRunRecord> {
    return this.load(rawId, 'read', 'pipelines.get');
  }

  /** Step rows per status of a run the caller has already loaded. */
  async counts(run: PipelineRunRecord): Promise<Record<string, number>> {
    return (await this.deps.store.countSteps([run.pipelineRunId])).get(run.pipelineRunId) ?? {};
  }

  async steps(run: PipelineRunRecord): Promise<StepRunRecord[]> {
    return this.deps.store.listSteps(run.pipelineRunId);
  }

  async list(input: {
    project?: unknown;
    pipeline?: unknown;
    status?: unknown;
    maxResults?: unknown;
    pageToken?: unknown;
  }): Promise<Page<{ run: PipelineRunRecord; counts: Record<string, number> }>> {
    const limit = checkLimit(input.maxResults, { max: 1_000, fallback: 50 });
    const offset = decodeCursor(input.pageToken);
    const readable = this.deps.access.readableProjects();
    let projectIds = readable === 'all' ? undefined : [...readable];
    if (input.project !== undefined && input.project !== '') {
      const wanted = checkProject(input.project);
      projectIds = projectIds === undefined || projectIds.includes(wanted) ? [wanted] : [];
    }
    const pipelineName = optionalText(input.pipeline, 'pipeline');
    const status = optionalText(input.status, 'status');
    if (
      status !== undefined &&
      !['running', 'succeeded', 'failed', 'cancelling', 'cancelled'].includes(status)
    ) {
      throw invalid('status must be running, succeeded, failed, cancelling or cancelled', 'status');
    }
    const rows = await this.deps.store.listRuns({
      ...(projectIds === undefined ? {} : { projectIds }),
      ...(pipelineName === undefined ? {} : { pipelineName }),
      ...(status === undefined ? {} : { status: status as PipelineRunRecord['status'] }),
      offset,
      limit,
    });
    const items = rows.slice(0, limit);
    const counts = await this.deps.store.countSteps(items.map((run) => run.pipelineRunId));
    const page = items.map((run) => ({ run, counts: counts.get(run.pipelineRunId) ?? {} }));
    return rows.length > limit
      ? { items: page, nextPageToken: encodeCursor(offset + limit) }
      : { items: page };
  }

  /** Stops a running run: steps not started are cancelled, running ones are stopped. */
  async cancel(rawId: unknown): Promise<PipelineRunRecord> {
    const run = await this.load(rawId, 'write', 'pipelines.cancel');
    if (ENDED_RUN_STATUSES.has(run.status)) {
      throw new CairnError('FAILED_PRECONDITION', `Run ${run.pipelineRunId} already ended (${run.status}).`);
    }
    const moved = await this.deps.transactor.run(async (stores) => {
      const changed = await stores.pipelines.updateRun(run.pipelineRunId, { status: 'cancelling' }, [
        'running',
      ]);
      if (changed) {
        stores.audit.record({
          action: 'pipelines.cancel',
          target: { kind: 'pipeline_run', id: run.pipelineRunId },
          projectId: run.projectId,
          details: {},
        });
      }
      return changed;
    });
    this.deps.scheduler.wake();
    return moved
      ? { ...run, status: 'cancelling' }
      : await this.load(run.pipelineRunId, 'read', 'pipelines.get');
  }

  /**
   * Runs a failed or cancelled run again in place: finished steps are kept,
   * failed, skipped and cancelled ones (and so everything downstream) run again.
   */
  async resume(rawId: unknown): Promise<RunView> {
    const run = await this.load(rawId, 'write', 'pipelines.resume');
    if (run.status !== 'failed' && run.status !== 'cancelled') {
      throw new CairnError(
        'FAILED_PRECONDITION',
        `Run ${run.pipelineRunId} is ${run.status}; only a failed or cancelled run can be resumed.`,
      );
    }
    const steps = await this.deps.store.listSteps(run.pipelineRunId);
    const again = steps.filter(
      (row) => row.status === 'failed' || row.status === 'skipped' || row.status === 'cancelled',
    );
    const now = this.deps.clock.now();
    await this.deps.transactor.run(async (stores) => {
      if (
        !(await stores.pipelines.updateRun(
          run.pipelineRunId,
          { status: 'running', error: null, endedAt: null },
          [run.status],
        ))
      ) {
        throw new CairnError(
          'FAILED_PRECONDITION',
          `Run ${run.pipelineRunId} changed while resuming; try again.`,
        );
      }
      // A foreach step that broke is laid out again from its list (which may have changed upstream).
      const foreachSteps = new Set(run.spec.steps.filter((s) => s.foreach !== null).map((s) => s.name));
      const reexpand = new Set(
        again.filter((row) => foreachSteps.has(row.stepName)).map((row) => row.stepName),
      );
      for (const name of reexpand) {
        await stores.pipelines.deleteItems(run.pipelineRunId, name);
        const index = run.spec.steps.findIndex((s) => s.name === name);
        await stores.pipelines.insertSteps([{ ...newStepRow(run, name, index), createdAt: now }]);
      }
      const reset = again.filter((row) => !reexpand.has(row.stepName)).map((row) => row.stepRunId);
      await stores.pipelines.updateSteps(reset, {
        status: 'pending',
        attempt: 0,
        error: null,
        exitCode: null,
        stderrTail: null,
        notBefore: null,
        endedAt: null,
        reason: 'resumed',
      });
      stores.audit.record({
        action: 'pipelines.resume',
        target: { kind: 'pipeline_run', id: run.pipelineRunId },
        projectId: run.projectId,
        details: { steps: again.length },
      });
    });
    this.deps.scheduler.wake();
    return this.get(run.pipelineRunId);
  }

  private async load(rawId: unknown, permission: Permission, action: string): Promise<PipelineRunRecord> {
    if (typeof rawId !== 'string' || !RUN_ID.test(rawId)) {
      throw invalid('a pipeline run id looks like pr_ followed by letters and digits', 'run');
    }
    const run = await this.deps.store.getRun(rawId);
    if (run === undefined) {
      throw new CairnError('NOT_FOUND', `No pipeline run ${rawId}.`);
    }
    this.authorize(permission, { projectId: run.projectId, action, runId: rawId });
    return run;
  }

  private authorize(
    permission: Permission,
    attempt: { projectId: string; action: string; runId?: string },
  ): void {
    const { projectId, action, runId } = attempt;
    this.deps.access.require(permission, projectId, {
      action,
      target: runId === undefined ? { kind: 'project', id: projectId } : { kind: 'pipeline_run', id: runId },
    });
  }

  private checkExecutor(raw: unknown): PipelineExecutorName {
    const name = raw === undefined || raw === null || raw === '' ? 'local' : raw;
    if (typeof name !== 'string' || !(PIPELINE_EXECUTORS as readonly string[]).includes(name)) {
      throw invalid(`executor must be one of: ${PIPELINE_EXECUTORS.join(', ')}`, 'executor');
    }
    const executor = name as PipelineExecutorName;
    if (!this.deps.scheduler.hasExecutor(executor)) {
      throw new CairnError(
        'FAILED_PRECONDITION',
        executor === 'queue'
          ? 'The queue executor is not set up on this server: start it with CAIRN_QUEUE_URL=redis://host:6379.'
          : `The ${executor} executor is not available on this server.`,
        { field: 'executor' },
      );
    }
    return executor;
  }

  private async checkCode(raw: unknown): Promise<string | null> {
    if (raw === undefined || raw === null || raw === '') return null;
    if (typeof raw !== 'string') throw invalid('codeDigest must be a digest string', 'codeDigest');
    await this.deps.codeTrees.tree(raw);
    return raw;
  }

  /** Dataset inputs name a version or alias; the run pins the version it found, so a resume reads the same data. */
  private async pinDatasets(spec: PipelineSpec, pin?: DatasetPin): Promise<PipelineSpec> {
    const pinned = new Map<string, string>();
    const steps = [];
    for (const step of spec.steps) {
      const inputs = { ...step.inputs };
      for (const [name, ref] of Object.entries(step.inputs)) {
        if (ref.kind !== 'dataset') continue;
        const key = `${ref.dataset}@${ref.ref}`;
        let versionId = pinned.get(key);
        if (pin !== undefined && pin.dataset === ref.dataset && pin.ref === ref.ref)
          versionId = pin.versionId;
        if (versionId === undefined) {
          try {
            versionId = (await this.deps.datasets.resolve(ref.dataset, ref.ref)).versionId;
          } catch (error) {
            if (!isCairnError(error)) throw error;
            throw new CairnError(error.code, `step "${step.name}", input ${name}: ${error.message}`, {
              field: `steps.${step.name}.inputs.${name}`,
            });
          }
          pinned.set(key, versionId);
        }
        inputs[name] = { ...ref, ref: versionId };
      }
      steps.push({ ...step, inputs });
    }
    return { ...spec, steps };
  }
}

export function newStepRow(run: PipelineRunRecord, stepName: string, position: number): StepRunRecord {
  return {
    stepRunId: `${run.pipelineRunId}-s${position}`,
    pipelineRunId: run.pipelineRunId,
    stepName,
    itemIndex: -1,
    item: null,
    status: 'pending',
    attempt: 0,
    cacheKey: null,
    cachedFrom: null,
    reason: null,
    runId: null,
    outputs: {},
    exitCode: null,
    error: null,
    stderrTail: null,
    notBefore: null,
    leaseOwner: null,
    leaseUntil: null,
    pid: null,
    createdAt: run.createdAt,
    startedAt: null,
    endedAt: null,
  };
}

function checkProject(raw: unknown): string {
  if (raw === undefined || raw === null || raw === '') return 'default';
  if (typeof raw !== 'string' || !PROJECT.test(raw)) {
    throw invalid('project must be 1–128 letters, digits, ".", "_" or "-"', 'project');
  }
  return raw;
}

/** The spec's defaults with the caller's overrides; an override must name a declared parameter. */
function checkParams(spec: PipelineSpec, raw: unknown): Record<string, ParamValue> {
  if (raw === undefined || raw === null) return { ...spec.params };
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalid('params must be an object of name → value', 'params');
  const params: Record<string, ParamValue> = { ...spec.params };
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!Object.hasOwn(spec.params, name)) {
      const declared = Object.keys(spec.params);
      throw invalid(
        `unknown parameter "${name}"; the pipeline declares ${declared.length === 0 ? 'none' : declared.join(', ')}`,
        `params.${name}`,
      );
    }
    params[name] = value as ParamValue;
  }
  for (const step of spec.steps) {
    if (step.foreach?.kind === 'param' && !Array.isArray(params[step.foreach.param])) {
      throw invalid(
        `parameter ${step.foreach.param} must be a list: step "${step.name}" runs once per item`,
        `params.${step.foreach.param}`,
      );
    }
  }
  return params;
}

function optionalText(raw: unknown, field: string): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > 256) throw invalid(`${field} must be a short string`, field);
  return raw;
}

function digestOf(spec: PipelineSpec): string {
  return `sha256:${createHash('sha256').update(canonicalJson(spec)).digest('hex')}`;
}

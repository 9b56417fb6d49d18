import { CairnError, isCairnError, TRACKING_LIMITS, type ParamValue } from '@cairn/contract';
import type { Clock } from '../../kernel/clock.js';
import type { Transactor } from '../../kernel/transactor.js';
import type { ArtifactService, Digest } from '../artifacts/index.js';
import { recordEdges, type LineageEdge } from '../lineage/index.js';
import type { ExperimentService, TrackingService } from '../tracking/index.js';
import type { PipelineStores } from './pipelines.store.js';
import type { StepResult } from './step-executor.js';

/** Tags every step's tracking run carries, so runs can be searched by pipeline. */
export const STEP_RUN_TAGS = {
  pipeline: 'cairn.pipeline',
  pipelineRun: 'cairn.pipeline.run',
  step: 'cairn.pipeline.step',
  index: 'cairn.pipeline.index',
  attempt: 'cairn.pipeline.attempt',
  cacheKey: 'cairn.pipeline.cache_key',
} as const;

export interface StepTrackingDeps {
  experiments: ExperimentService;
  tracking: TrackingService;
  artifacts: ArtifactService;
  transactor: Transactor<PipelineStores>;
  clock: Clock;
}

export interface AttemptStart {
  experimentId: string;
  pipelineName: string;
  pipelineRunId: string;
  stepName: string;
  itemIndex: number;
  label: string;
  attempt: number;
  cacheKey: string;
  params: Record<string, ParamValue>;
  /** Where its inputs came from, for lineage: dataset versions and upstream steps' tracking runs. */
  sources: { datasetVersions: string[]; runs: string[] };
}

const STATUS_OF: Record<StepResult['outcome'], string> = {
  succeeded: 'FINISHED',
  failed: 'FAILED',
  timed_out: 'FAILED',
  cancelled: 'KILLED',
};

/**
 * Every attempt of a step is a tracking run: started before the process,
 * given the step's parameters, and finished with its metrics, its stdout and
 * stderr as artifacts and its status — so pipeline steps show up beside
 * hand-made runs, with lineage from the data they read.
 */
export class StepTracking {
  private readonly experimentIds = new Map<string, string>();

  constructor(private readonly deps: StepTrackingDeps) {}

  /** The experiment a pipeline's step runs go to: `pipelines/<project>/<pipeline>`, made on first use. */
  async experimentFor(projectId: string, pipelineName: string): Promise<string> {
    const name = `pipelines/${projectId}/${pipelineName}`;
    const known = this.experimentIds.get(name);
    if (known !== undefined) return known;
    const id = await this.findOrCreate(name, projectId);
    this.experimentIds.set(name, id);
    return id;
  }

  /**
   * Creates the attempt's tracking run and returns its id at once; its parameters and lineage
   * edges are written by `settled`, which the step need not wait for.
   */
  async startAttempt(start: AttemptStart): Promise<{ runId: string; settled: Promise<void> }> {
    const tags = [
      { key: STEP_RUN_TAGS.pipeline, value: start.pipelineName },
      { key: STEP_RUN_TAGS.pipelineRun, value: start.pipelineRunId },
      { key: STEP_RUN_TAGS.step, value: start.stepName },
      { key: STEP_RUN_TAGS.attempt, value: String(start.attempt) },
      { key: STEP_RUN_TAGS.cacheKey, value: start.cacheKey },
      ...(start.itemIndex < 0 ? [] : [{ key: STEP_RUN_TAGS.index, value: String(start.itemIndex) }]),
    ];
    const run = await this.deps.tracking.createRun({
      experimentId: start.experimentId,
      runName: `${start.pipelineName}.${start.label}`,
      tags,
    });
    const runId = run.info.runId;
    return { runId, settled: this.describeAttempt(runId, start) };
  }

  private async describeAttempt(runId: string, start: AttemptStart): Promise<void> {
    const params = Object.entries(start.params).map(([key, value]) => ({ key, value: paramText(value) }));
    for (let i = 0; i < params.length; i += TRACKING_LIMITS.batchParams) {
      await this.deps.tracking.logBatch(runId, { params: params.slice(i, i + TRACKING_LIMITS.batchParams) });
    }
    const at = this.deps.clock.now();
    const edges: LineageEdge[] = [
      {
        from: { kind: 'pipeline_run', id: start.pipelineRunId },
        to: { kind: 'run', id: runId },
        relation: 'step',
        createdAt: at,
      },
      ...start.sources.datasetVersions.map((id): LineageEdge => ({
        from: { kind: 'dataset_version', id },
        to: { kind: 'run', id: runId },
        relation: 'input',
        createdAt: at,
      })),
      ...start.sources.runs.map((id): LineageEdge => ({
        from: { kind: 'run', id },
        to: { kind: 'run', id: runId },
        relation: 'input',
        createdAt: at,
      })),
    ];
    await this.deps.transactor.run((stores) => recordEdges(stores, edges));
  }

  /** Logs what the attempt left behind and ends its run. */
  async finishAttempt(runId: string, result: StepResult): Promise<void> {
    const metrics = result.metrics;
    for (let i = 0; i < metrics.length; i += TRACKING_LIMITS.batchMetrics) {
      await this.deps.tracking.logBatch(runId, {
        metrics: metrics.slice(i, i + TRACKING_LIMITS.batchMetrics),
      });
    }
    const info = await this.deps.tracking.getRunInfo(runId);
    const root = this.deps.tracking.artifactRootOf(info);
    for (const [name, log] of [
      ['stdout.txt', result.stdout],
      ['stderr.txt', result.stderr],
    ] as const) {
      if (log !== null)
        await this.deps.artifacts.attach(`${root}/logs/${name}`, { digest: log.digest as Digest });
    }
    await this.endRun(runId, result.outcome);
  }

  /** Ends a run whose attempt will never report (its server stopped, or it was cancelled before starting). */
  async endRun(runId: string, outcome: StepResult['outcome']): Promise<void> {
    await this.deps.tracking.updateRun(runId, { status: STATUS_OF[outcome], endTime: this.deps.clock.now() });
  }

  private async findOrCreate(name: string, projectId: string): Promise<string> {
    for (let tries = 0; ; tries += 1) {
      try {
        const existing = await this.deps.experiments.getExperimentByName(name);
        if (existing.projectId !== projectId) {
          throw new CairnError(
            'FAILED_PRECONDITION',
            `The experiment "${name}" belongs to project ${existing.projectId}; rename it to run this pipeline.`,
          );
        }
        return existing.experimentId;
      } catch (error) {
        if (!isCairnError(error) || error.code !== 'NOT_FOUND' || tries > 0) throw error;
      }
      try {
        return (await this.deps.experiments.createExperiment({ name, project: projectId })).experimentId;
      } catch (error) {
        // Another scheduler made it first: read it on the next turn.
        if (!isCairnError(error) || error.code !== 'ALREADY_EXISTS') throw error;
      }
    }
  }
}

function paramText(value: ParamValue): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > TRACKING_LIMITS.maxParamValueLength
    ? `${text.slice(0, TRACKING_LIMITS.maxParamValueLength - 1)}…`
    : text;
}

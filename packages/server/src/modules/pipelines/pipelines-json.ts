import type {
  PipelineRunDetailJson,
  PipelineRunJson,
  PipelineTriggerJson,
  StepRunJson,
} from '@cairn/contract';
import {
  stepRunLabel,
  type PipelineRunRecord,
  type PipelineTriggerRecord,
  type StepRunRecord,
} from './entities.js';

export function stepRunJson(row: StepRunRecord): StepRunJson {
  return {
    id: row.stepRunId,
    name: stepRunLabel(row),
    step: row.stepName,
    index: row.itemIndex < 0 ? null : row.itemIndex,
    item: row.item,
    status: row.status,
    cached: row.status === 'cached',
    reason: row.reason,
    attempt: row.attempt,
    cacheKey: row.cacheKey,
    cachedFrom: row.cachedFrom,
    runId: row.runId,
    outputs: row.outputs,
    exitCode: row.exitCode,
    error: row.error,
    stderrTail: row.stderrTail,
    startedAt: row.startedAt,
    endedAt: row.endedAt,
  };
}

export function pipelineRunJson(
  run: PipelineRunRecord,
  steps?: readonly StepRunRecord[] | Record<string, number>,
): PipelineRunJson {
  let counts: Record<string, number> = {};
  if (isStepList(steps)) for (const row of steps) counts[row.status] = (counts[row.status] ?? 0) + 1;
  else if (steps !== undefined) counts = { ...steps };
  return {
    id: run.pipelineRunId,
    pipeline: run.pipelineName,
    project: run.projectId,
    status: run.status,
    executor: run.executor,
    useCache: run.useCache,
    params: run.params,
    trigger: run.trigger,
    error: run.error,
    experimentId: run.experimentId,
    definitionDigest: run.definitionDigest,
    codeDigest: run.codeDigest,
    counts,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    createdBy: run.createdBy,
  };
}

export function pipelineRunDetailJson(
  run: PipelineRunRecord,
  steps: readonly StepRunRecord[],
): PipelineRunDetailJson {
  return { ...pipelineRunJson(run, steps), steps: steps.map(stepRunJson) };
}

export function pipelineTriggerJson(trigger: PipelineTriggerRecord): PipelineTriggerJson {
  return {
    id: trigger.triggerId,
    name: trigger.name,
    project: trigger.projectId,
    kind: trigger.kind,
    cron: trigger.cron,
    timezone: trigger.timezone,
    dataset: trigger.dataset,
    alias: trigger.alias,
    pipeline: trigger.spec.name,
    params: trigger.params,
    executor: trigger.executor,
    enabled: trigger.enabled,
    nextAt: trigger.nextAt,
    lastSeen: trigger.lastSeen,
    createdAt: trigger.createdAt,
    createdBy: trigger.createdBy,
  };
}

function isStepList(
  value: readonly StepRunRecord[] | Record<string, number> | undefined,
): value is readonly StepRunRecord[] {
  return Array.isArray(value);
}
